//! `qcb-bench-load`: the load run of issue 8 — an organisation's backup with the real
//! `qcbackup` CLI against the emulator under Exchange Online's real throttling, with the CLI's
//! memory, threads and open files sampled every second, and proof that nothing was lost.
//!
//! ```text
//! qcb-bench-load --qcbackup target/release/qcbackup --out bench/results/load.json
//!     [--users 100] [--items 10000] [--mailbox-concurrency 32] [--no-change-concurrency N]
//!     [--resident N]
//!     [--work DIR] [--seed 1] [--check read-data|structure] [--keep]
//! ```
//!
//! The emulator runs in this process (on 127.0.0.1, every mailbox generated on first touch
//! and, by default, kept); the CLI is a child process, so the figures are the CLI's alone.
//! Phases: a full backup of every mailbox (mail, contacts, calendars, tasks, settings), the
//! comparison of the snapshot with the emulator's ground truth (every item id of every
//! mailbox must be in it), a second, no-change backup, and `check` (by default
//! `--read-data`: every pack read back and every blob decrypted and verified). Writes one
//! JSON document (`--out`); exits non-zero when any phase fails or an item is missing.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use qcb_bench_engine::{ProcSample, loadavg};
use qcb_engine::RepoHandle;
use qcb_graph_sim::{Admin, MemoryConfig, SimOptions, SimServer, TenantSpec, ThrottleConfig};
use serde_json::{Value, json};

const PASSWORD: &str = "load-run-password";

struct Args {
    qcbackup: PathBuf,
    out: PathBuf,
    work: PathBuf,
    seed: u64,
    users: usize,
    items: usize,
    mailbox_concurrency: u16,
    /// For the no-change run; default: `mailbox_concurrency`.
    no_change_concurrency: Option<u16>,
    resident: Option<usize>,
    read_data: bool,
    keep: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        qcbackup: PathBuf::new(),
        out: PathBuf::from("bench/results/load.json"),
        work: std::env::temp_dir().join("qcb-bench-load"),
        seed: 1,
        users: 100,
        items: 10_000,
        mailbox_concurrency: 32,
        no_change_concurrency: None,
        resident: None,
        read_data: true,
        keep: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let mut v = || it.next().ok_or_else(|| format!("{k} needs a value"));
        let num = |s: String| s.parse::<u64>().map_err(|e| format!("{k}: {e}"));
        match k.as_str() {
            "--qcbackup" => a.qcbackup = v()?.into(),
            "--out" => a.out = v()?.into(),
            "--work" => a.work = v()?.into(),
            "--seed" => a.seed = num(v()?)?,
            "--users" => a.users = num(v()?)? as usize,
            "--items" => a.items = num(v()?)? as usize,
            "--mailbox-concurrency" => {
                a.mailbox_concurrency = u16::try_from(num(v()?)?).map_err(|e| e.to_string())?
            }
            "--no-change-concurrency" => {
                a.no_change_concurrency =
                    Some(u16::try_from(num(v()?)?).map_err(|e| e.to_string())?)
            }
            "--resident" => a.resident = Some(num(v()?)? as usize),
            "--check" => {
                a.read_data = match v()?.as_str() {
                    "read-data" => true,
                    "structure" => false,
                    o => return Err(format!("--check: read-data or structure, not '{o}'")),
                }
            }
            "--keep" => a.keep = true,
            "-h" | "--help" => {
                return Err(
                    "usage: qcb-bench-load --qcbackup PATH [--out F] [--work DIR] \
                     [--seed N] [--users N] [--items N] [--mailbox-concurrency N] \
                     [--no-change-concurrency N] [--resident N] [--check read-data|structure] [--keep]"
                        .into(),
                );
            }
            _ => return Err(format!("unknown argument {k}")),
        }
    }
    if a.qcbackup.as_os_str().is_empty() {
        return Err("--qcbackup PATH (the CLI binary to run) is required".into());
    }
    if a.users == 0 {
        return Err("--users must be at least 1".into());
    }
    Ok(a)
}

/// The CLI, with the repository, its password and the emulator's app registration in its
/// environment (as a server's service unit would set them).
struct Cli {
    bin: PathBuf,
    env: Vec<(&'static str, String)>,
    logs: PathBuf,
}

/// What one phase's sampling saw of the CLI process (and of this one, the emulator).
#[derive(Default)]
struct Samples {
    n: u64,
    max_rss_kib: u64,
    peak_rss_kib: u64,
    max_fds: u64,
    max_threads: u64,
    cpu_s: f64,
    emulator_max_rss_kib: u64,
    /// Every 10th sample: [seconds, rss KiB, fds, threads].
    timeline: Vec<[u64; 4]>,
}

impl Samples {
    fn add(&mut self, at: Duration, s: ProcSample) {
        if self.n.is_multiple_of(10) {
            self.timeline
                .push([at.as_secs(), s.rss_kib, s.fds, s.threads]);
        }
        self.n += 1;
        self.max_rss_kib = self.max_rss_kib.max(s.rss_kib);
        self.peak_rss_kib = self.peak_rss_kib.max(s.peak_rss_kib);
        self.max_fds = self.max_fds.max(s.fds);
        self.max_threads = self.max_threads.max(s.threads);
        self.cpu_s = self.cpu_s.max(s.cpu_s);
        if let Some(me) = ProcSample::read("self") {
            self.emulator_max_rss_kib = self.emulator_max_rss_kib.max(me.rss_kib);
        }
    }

    fn json(&self) -> Value {
        json!({
            "samples": self.n,
            "max_rss_mib": self.max_rss_kib as f64 / 1024.0,
            "peak_rss_mib": self.peak_rss_kib as f64 / 1024.0,
            "max_open_fds": self.max_fds,
            "max_threads": self.max_threads,
            "cpu_s": self.cpu_s,
            "emulator_max_rss_mib": self.emulator_max_rss_kib as f64 / 1024.0,
            "timeline_s_rss_kib_fds_threads": self.timeline,
        })
    }
}

/// One finished CLI run: exit code, stdout, wall time and samples.
struct Run {
    code: Option<i32>,
    stdout: String,
    wall_s: f64,
    samples: Samples,
}

impl Cli {
    /// Runs `qcbackup ARGS` to its end, sampling it every second (without blocking the
    /// emulator, which shares this process's runtime).
    async fn run(&self, phase: &str, args: &[&str]) -> Result<Run, String> {
        let stdout_path = self.logs.join(format!("{phase}.out"));
        let stderr_path = self.logs.join(format!("{phase}.err"));
        let file = |p: &Path| std::fs::File::create(p).map_err(|e| format!("{}: {e}", p.display()));
        let mut child = Command::new(&self.bin)
            .args(args)
            .envs(self.env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(Stdio::null())
            .stdout(file(&stdout_path)?)
            .stderr(file(&stderr_path)?)
            .spawn()
            .map_err(|e| format!("{}: {e}", self.bin.display()))?;
        let pid = child.id().to_string();
        let start = Instant::now();
        let mut samples = Samples::default();
        let status = loop {
            if let Some(s) = ProcSample::read(&pid) {
                samples.add(start.elapsed(), s);
            }
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) => tokio::time::sleep(Duration::from_secs(1)).await,
                Err(e) => return Err(format!("waiting for {phase}: {e}")),
            }
            if samples.n.is_multiple_of(60) {
                eprintln!(
                    "  {phase}: {:.0} s, CLI {:.0} MiB, {} fds, {} threads",
                    start.elapsed().as_secs_f64(),
                    samples.max_rss_kib as f64 / 1024.0,
                    samples.max_fds,
                    samples.max_threads
                );
            }
        };
        let stdout = std::fs::read_to_string(&stdout_path).unwrap_or_default();
        if !status.success() {
            let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
            let tail: String = stderr.lines().rev().take(5).collect::<Vec<_>>().join(" | ");
            eprintln!("{phase} exited with {status}: {stdout} {tail}");
        }
        Ok(Run {
            code: status.code(),
            stdout,
            wall_s: start.elapsed().as_secs_f64(),
            samples,
        })
    }
}

/// Every item id the emulator holds for one mailbox (messages of every folder, contacts,
/// events, tasks).
fn ground_truth(admin: &Admin, user_id: &str) -> BTreeMap<&'static str, HashSet<String>> {
    let mut t: BTreeMap<&'static str, HashSet<String>> = BTreeMap::new();
    for f in admin.folders(user_id) {
        t.entry("mail")
            .or_default()
            .extend(admin.messages(user_id, &f.id).into_iter().map(|m| m.id));
    }
    for f in admin.contact_folders(user_id) {
        t.entry("contacts")
            .or_default()
            .extend(admin.contacts(user_id, &f.id).into_iter().map(|c| c.id));
    }
    for c in admin.calendars(user_id) {
        t.entry("events")
            .or_default()
            .extend(admin.events(user_id, &c.id).into_iter().map(|e| e.id));
    }
    for l in admin.todo_lists(user_id) {
        t.entry("tasks")
            .or_default()
            .extend(admin.tasks(user_id, &l.id).into_iter().map(|x| x.id));
    }
    t
}

/// Every item name under `path` of the snapshot, recursively.
fn snapshot_items(
    h: &RepoHandle,
    snap: &str,
    path: &str,
    out: &mut HashSet<String>,
) -> Result<(), String> {
    let b = h
        .browse(snap, path)
        .map_err(|e| format!("browse {path}: {e}"))?;
    out.extend(b.items.into_iter().map(|i| i.id));
    for f in b.folders {
        snapshot_items(h, snap, &f.path, out)?;
    }
    Ok(())
}

/// Compares the latest snapshot with the emulator, mailbox by mailbox: every item id the
/// emulator holds must be in the mailbox's part of the snapshot.
fn verify(repo: &Path, admin: &Admin, cache: &Path) -> Result<Value, String> {
    let h = RepoHandle::open(repo, PASSWORD, cache).map_err(|e| format!("open repository: {e}"))?;
    let t = Instant::now();
    let top = h.browse("latest", "").map_err(|e| format!("browse: {e}"))?;
    let catalog_s = t.elapsed().as_secs_f64();
    let users = admin.users();
    let mut expected_total = 0usize;
    let mut found_total = 0usize;
    let mut missing_total = 0usize;
    let mut extra_total = 0usize;
    let mut by_category: BTreeMap<&str, usize> = BTreeMap::new();
    let mut problems = Vec::new();
    for u in &users {
        let Some(dir) = top
            .folders
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(&u.user_principal_name) || f.name == u.id)
        else {
            problems.push(format!("{}: not in the snapshot", u.user_principal_name));
            continue;
        };
        let mut found = HashSet::new();
        snapshot_items(&h, "latest", &dir.path, &mut found)?;
        let truth = ground_truth(admin, &u.id);
        let mut expected: HashSet<&String> = HashSet::new();
        for (cat, ids) in &truth {
            *by_category.entry(cat).or_default() += ids.len();
            let missing = ids.iter().filter(|id| !found.contains(*id)).count();
            if missing > 0 {
                problems.push(format!(
                    "{}: {missing} of {} {cat} missing",
                    u.user_principal_name,
                    ids.len()
                ));
            }
            missing_total += missing;
            expected.extend(ids);
        }
        // Beyond the emulator's items a mailbox holds its settings and its inbox rules.
        let extra = found.iter().filter(|id| !expected.contains(id)).count();
        extra_total += extra;
        expected_total += expected.len();
        found_total += found.len();
    }
    Ok(json!({
        "mailboxes": users.len(),
        "items_expected": expected_total,
        "items_expected_by_category": by_category,
        "items_in_snapshot": found_total,
        "items_missing": missing_total,
        "other_items_in_snapshot": extra_total,
        "catalog_build_s": catalog_s,
        "verify_s": t.elapsed().as_secs_f64(),
        "problems": problems,
    }))
}

fn parse_json(run: &Run, phase: &str) -> Result<Value, String> {
    serde_json::from_str(run.stdout.trim()).map_err(|e| {
        format!(
            "{phase}: its --json output does not parse ({e}): {}",
            run.stdout
        )
    })
}

fn dir_bytes(p: &Path) -> u64 {
    let Ok(rd) = std::fs::read_dir(p) else {
        return 0;
    };
    rd.flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_bytes(&e.path()),
            Ok(_) => e.metadata().map(|m| m.len()).unwrap_or(0),
            Err(_) => 0,
        })
        .sum()
}

fn main() -> Result<(), String> {
    let a = parse_args()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(run(a))
}

async fn run(a: Args) -> Result<(), String> {
    let started = chrono::Utc::now();
    let load_before = loadavg();
    let _ = std::fs::remove_dir_all(&a.work);
    let logs = a.work.join("logs");
    std::fs::create_dir_all(&logs).map_err(|e| format!("{}: {e}", logs.display()))?;
    let cache = a.work.join("cache");

    // Exchange Online's own limits, unscaled: 10,000 requests per 10 minutes and 4 in flight
    // per app and mailbox, 150 MB of uploads per 5 minutes.
    let throttle = ThrottleConfig::exchange();
    let resident = a.resident.unwrap_or(a.users);
    let spec = TenantSpec {
        seed: a.seed,
        users: a.users,
        messages_per_user: a.items,
        shared_mailboxes: Some(0),
    };
    let sim = SimServer::start_with(
        spec,
        SimOptions {
            throttle: throttle.clone(),
            memory: MemoryConfig {
                resident_mailboxes: Some(resident),
            },
            ..Default::default()
        },
        "127.0.0.1:0".parse().expect("addr"),
    )
    .await
    .map_err(|e| format!("start emulator: {e}"))?;
    let admin = sim.admin();
    let c = sim.credentials();
    let cli = Cli {
        bin: a.qcbackup.clone(),
        env: vec![
            ("QCBACKUP_PASSWORD", PASSWORD.into()),
            ("QCBACKUP_REPO", a.work.join("repo").display().to_string()),
            ("QCBACKUP_CACHE_DIR", cache.display().to_string()),
            ("QCBACKUP_GRAPH_URL", sim.graph_url()),
            ("QCBACKUP_AUTHORITY", sim.base_url()),
            ("QCBACKUP_TENANT_ID", c.tenant_id.clone()),
            ("QCBACKUP_CLIENT_ID", c.client_id.clone()),
            ("QCBACKUP_CLIENT_SECRET", c.client_secret.clone()),
        ],
        logs,
    };
    eprintln!(
        "tenant: {} mailboxes x {} messages (plus contacts, events, tasks), Exchange's real throttling, {} resident; {} mailboxes at a time",
        a.users, a.items, resident, a.mailbox_concurrency
    );

    let init = cli.run("init", &["repo", "init"]).await?;
    if init.code != Some(0) {
        return Err(format!("repo init failed: {}", init.stdout));
    }
    let concurrency = a.mailbox_concurrency.to_string();
    let backup_args = [
        "--json",
        "backup",
        "--categories",
        "all",
        "--mailbox-concurrency",
        &concurrency,
    ];
    let mut phases = Vec::new();
    let mut ok = true;

    eprintln!("full backup ...");
    let full = cli.run("full", &backup_args).await?;
    let full_report = parse_json(&full, "full backup")?;
    ok &= full.code == Some(0);
    eprintln!(
        "full backup: exit {:?}, {} items, {} failed, {:.0} s, CLI peak {:.0} MiB, {} fds at most",
        full.code,
        full_report["items"],
        full_report["failed"].as_array().map_or(0, Vec::len),
        full.wall_s,
        full.samples.peak_rss_kib as f64 / 1024.0,
        full.samples.max_fds
    );
    phases.push(phase_json("full_backup", &full, full_report.clone()));
    let repo_bytes = dir_bytes(&a.work.join("repo"));

    eprintln!("comparing the snapshot with the emulator ...");
    let verify_admin = admin.clone();
    let (repo, verify_cache) = (a.work.join("repo"), a.work.join("verify-cache"));
    let verified = tokio::task::spawn_blocking(move || verify(&repo, &verify_admin, &verify_cache))
        .await
        .map_err(|e| e.to_string())??;
    let missing = verified["items_missing"].as_u64().unwrap_or(u64::MAX);
    // Each mailbox adds exactly two items of its own (settings, inbox rules): more would be
    // items twice or from nowhere.
    ok &= missing == 0
        && verified["problems"].as_array().is_some_and(Vec::is_empty)
        && verified["other_items_in_snapshot"].as_u64() == Some(2 * a.users as u64);
    eprintln!(
        "snapshot: {} items expected, {} missing, {} more (settings, rules)",
        verified["items_expected"], missing, verified["other_items_in_snapshot"]
    );

    eprintln!("no-change backup ...");
    let again_concurrency = a
        .no_change_concurrency
        .unwrap_or(a.mailbox_concurrency)
        .to_string();
    let mut again_args = backup_args;
    again_args[5] = &again_concurrency;
    let again = cli.run("no_change", &again_args).await?;
    let again_report = parse_json(&again, "no-change backup")?;
    ok &= again.code == Some(0) && again_report["items"] == full_report["items"];
    eprintln!(
        "no-change backup: exit {:?}, {} items, {} downloaded, {:.0} s",
        again.code, again_report["items"], again_report["itemsFetched"], again.wall_s
    );
    phases.push(phase_json("no_change_backup", &again, again_report));

    eprintln!("check ...");
    let check_args: &[&str] = if a.read_data {
        &["--json", "check", "--read-data"]
    } else {
        &["--json", "check"]
    };
    let check = cli.run("check", check_args).await?;
    let check_report = parse_json(&check, "check")?;
    ok &= check.code == Some(0) && check_report["ok"] == true;
    eprintln!(
        "check: {} ({:.0} s)",
        if check_report["ok"] == true {
            "clean"
        } else {
            "PROBLEMS"
        },
        check.wall_s
    );
    phases.push(phase_json("check", &check, check_report));
    let residency = admin.residency();
    sim.shutdown().await;

    let doc = json!({
        "started": started.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "finished": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "machine": { "cpus": std::thread::available_parallelism().map_or(0, |n| n.get()),
                     "loadavg_before": load_before, "loadavg_after": loadavg() },
        "tenant": { "seed": a.seed, "users": a.users, "messages_per_user": a.items,
                    "resident_mailboxes": resident, "residency": residency },
        "throttle": throttle,
        "cli": { "mailbox_concurrency": a.mailbox_concurrency,
                 "no_change_concurrency": a.no_change_concurrency.unwrap_or(a.mailbox_concurrency),
                 "categories": "all",
                 "check": if a.read_data { "read-data" } else { "structure" } },
        "repository_bytes_after_full": repo_bytes,
        "phases": phases,
        "verify": verified,
        "passed": ok,
    });
    if let Some(dir) = a.out.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let text = serde_json::to_string_pretty(&doc).expect("json");
    std::fs::write(&a.out, text + "\n").map_err(|e| format!("{}: {e}", a.out.display()))?;
    eprintln!("wrote {}", a.out.display());
    if !a.keep {
        let _ = std::fs::remove_dir_all(&a.work);
    }
    if ok {
        Ok(())
    } else {
        Err("the load run failed: see the phases and `verify` in the results".into())
    }
}

fn phase_json(name: &str, run: &Run, report: Value) -> Value {
    // The backup report lists failed items one by one: keep the count and the first few.
    let mut report = report;
    if let Some(failed) = report.get_mut("failed").and_then(Value::as_array_mut) {
        let n = failed.len();
        failed.truncate(5);
        report["failed_count"] = json!(n);
    }
    json!({
        "name": name,
        "exit_code": run.code,
        "wall_s": run.wall_s,
        "cli": run.samples.json(),
        "report": report,
    })
}
