//! `qcb-bench-engine`: the backup engine against the emulator with Exchange Online's
//! per-mailbox throttling, time-scaled (issue 5, "Fast, within Microsoft's rules").
//!
//! Starts `qcb-graph-sim` in this process on 127.0.0.1 with a generated tenant, runs a full
//! `qcb_engine::backup` of the chosen mailboxes into a fresh repository, then a no-change
//! incremental backup, then a restore of every mailbox into a new folder of its own
//! (`qcb_engine::restore_mailboxes`, issue 6), and computes from the emulator's request log
//! (Admin API): requests and uploaded bytes per mailbox per second against the throttle's
//! ceilings, the share answered 429,
//! items per second, what the incremental run sent, and what the simplest correct approach
//! (list every folder, GET every item, GET the attachments of those that have some) would
//! have sent. Writes one JSON document (`--out`).
//!
//! ```text
//! qcb-bench-engine --out bench/results/engine.json [--users 20] [--messages 1500]
//!     [--scale 1] [--window-div 60] [--categories mail|all] [--page-size 50]
//!     [--mailbox-concurrency 20] [--work DIR] [--seed 1] [--latency-ms 0]
//! ```
//!
//! `--latency-ms` delays every answer about a mailbox by that much (the emulator's `Slow`
//! fault), as Exchange's own latency would: without it the emulator answers in well under a
//! millisecond and only the machine's CPU limits the engine.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use qcb_bench_engine::{loadavg, machine_jiffies, process_cpu_s};
use qcb_engine::{
    BackupOptions, Categories, Connection, KdfParams, NoProgress, OnConflict, RepoHandle,
    RestoreOptions, RestoreTarget,
};
use qcb_graph_sim::{
    Fault, FaultConfig, FaultRule, LoggedRequest, SimOptions, SimServer, TenantSpec, ThrottleConfig,
};
use serde_json::{Value, json};

/// The emulator keeps this many log entries (`routes::MAX_LOG`); a run must stay below it
/// or the oldest entries are dropped and the counts are wrong.
const SIM_LOG_LIMIT: usize = 100_000;

struct Args {
    out: PathBuf,
    work: PathBuf,
    seed: u64,
    users: usize,
    messages: usize,
    scale: f64,
    window_div: u64,
    categories: String,
    page_size: u32,
    mailbox_concurrency: usize,
    latency_ms: u64,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        out: PathBuf::from("bench/results/engine.json"),
        work: std::env::temp_dir().join("qcb-bench-engine"),
        seed: 1,
        users: 20,
        messages: 1500,
        scale: 1.0,
        window_div: 60,
        categories: "mail".into(),
        page_size: 50,
        mailbox_concurrency: 20,
        latency_ms: 0,
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let mut v = || it.next().ok_or_else(|| format!("{k} needs a value"));
        let num = |s: String| s.parse::<f64>().map_err(|e| format!("{k}: {e}"));
        match k.as_str() {
            "--out" => a.out = v()?.into(),
            "--work" => a.work = v()?.into(),
            "--seed" => a.seed = num(v()?)? as u64,
            "--users" => a.users = num(v()?)? as usize,
            "--messages" => a.messages = num(v()?)? as usize,
            "--scale" => a.scale = num(v()?)?,
            "--window-div" => a.window_div = (num(v()?)? as u64).max(1),
            "--categories" => a.categories = v()?,
            "--page-size" => a.page_size = num(v()?)? as u32,
            "--mailbox-concurrency" => a.mailbox_concurrency = num(v()?)? as usize,
            "--latency-ms" => a.latency_ms = num(v()?)? as u64,
            "-h" | "--help" => {
                return Err(
                    "usage: qcb-bench-engine [--out F] [--work DIR] [--seed N] [--users N] \
                     [--messages N] [--scale F] [--window-div N] [--categories mail|all] \
                     [--page-size N] [--mailbox-concurrency N] [--latency-ms N]"
                        .into(),
                );
            }
            _ => return Err(format!("unknown argument {k}")),
        }
    }
    if a.scale.is_nan() || a.scale <= 0.0 {
        return Err("--scale must be > 0".into());
    }
    Ok(a)
}

/// What a request was for, from its path.
fn class(r: &LoggedRequest) -> &'static str {
    let p = r.path.to_ascii_lowercase();
    let write = r.method != "GET";
    if p.contains("/oauth2/") {
        "token"
    } else if write && p.contains("createuploadsession") {
        "upload_session"
    } else if write && p.contains("attachmentsessions") {
        "upload_chunk"
    } else if write && p.ends_with("/attachments") {
        "attachment_add"
    } else if write && p.ends_with("/messages") {
        "message_create"
    } else if write && (p.ends_with("/childfolders") || p.ends_with("/mailfolders")) {
        "folder_create"
    } else if p.contains("$batch") {
        "batch"
    } else if p.contains("/messages/delta") {
        "mail_delta"
    } else if p.ends_with("/$value") {
        "mail_mime"
    } else if p.ends_with("/mailfolders/delta") {
        "folder_delta"
    } else if p.contains("/mailfolders") {
        "mail_folders"
    } else if p.contains("/messages/") && p.ends_with("/attachments") {
        "mail_attachments"
    } else if p.contains("/messages/") {
        "mail_get"
    } else if p.contains("contactfolders") || p.contains("/contacts") {
        "contacts"
    } else if p.contains("/calendar") || p.contains("/events") {
        "calendars"
    } else if p.contains("/todo/") {
        "tasks"
    } else if p.contains("mailboxsettings") || p.contains("messagerules") {
        "settings"
    } else if p.starts_with("/v1.0/users") {
        "users"
    } else {
        "other"
    }
}

/// Seconds since the epoch of the log's RFC 3339 time (the emulator logs whole seconds).
fn secs(r: &LoggedRequest) -> i64 {
    chrono::DateTime::parse_from_rfc3339(&r.time)
        .map(|t| t.timestamp())
        .unwrap_or(0)
}

/// Wall time, CPU and machine load around one run.
struct Meter {
    start: Instant,
    cpu: f64,
    jiffies: (u64, u64),
    load: String,
}

impl Meter {
    fn start() -> Self {
        Meter {
            start: Instant::now(),
            cpu: process_cpu_s("self"),
            jiffies: machine_jiffies(),
            load: loadavg(),
        }
    }

    fn stop(&self) -> Value {
        let wall = self.start.elapsed().as_secs_f64();
        let (b, t) = machine_jiffies();
        let busy = (b - self.jiffies.0) as f64 / (t - self.jiffies.1).max(1) as f64;
        json!({
            "wall_s": wall,
            "process_cpu_s": process_cpu_s("self") - self.cpu,
            "machine_busy_fraction": busy,
            "loadavg_before": self.load,
            "loadavg_after": loadavg(),
        })
    }
}

/// Per-mailbox and overall figures of one run's request log.
fn analyse(
    log: &[LoggedRequest],
    mailbox_ids: &[String],
    ceiling_per_s: f64,
    window_real_s: f64,
    upload_ceiling_per_s: f64,
) -> Value {
    let mut by_class: BTreeMap<&str, u64> = BTreeMap::new();
    let mut status: BTreeMap<u16, u64> = BTreeMap::new();
    for r in log {
        *by_class.entry(class(r)).or_default() += 1;
        *status.entry(r.status).or_default() += 1;
    }
    let t0 = log.iter().map(secs).min().unwrap_or(0);
    let mut per = Vec::new();
    for id in mailbox_ids {
        let rs: Vec<&LoggedRequest> = log
            .iter()
            .filter(|r| {
                r.mailbox
                    .as_deref()
                    .is_some_and(|m| m.eq_ignore_ascii_case(id))
            })
            .collect();
        let admitted: Vec<&&LoggedRequest> = rs.iter().filter(|r| r.status != 429).collect();
        let throttled = rs.len() - admitted.len();
        let mut classes: BTreeMap<&str, u64> = BTreeMap::new();
        for r in &rs {
            *classes.entry(class(r)).or_default() += 1;
        }
        let first = rs.iter().map(|r| secs(r)).min().unwrap_or(0);
        let last = rs.iter().map(|r| secs(r)).max().unwrap_or(0);
        // The log has whole seconds: the span counts the first and last second whole
        // (an upper bound of the active time, so the rate below is a lower bound); the
        // inner rate leaves out the two partly active edge seconds.
        let span = (last - first + 1) as f64;
        let inner: Vec<_> = admitted
            .iter()
            .filter(|r| secs(r) > first && secs(r) < last)
            .collect();
        let inner_span = (last - first - 1).max(0) as f64;
        let rate = admitted.len() as f64 / span;
        let inner_rate = if inner_span >= 1.0 {
            Some(inner.len() as f64 / inner_span)
        } else {
            None
        };
        // After the first window the budget a run starts with is spent: the rate from then on
        // (to the last whole second) is what the sliding window lets through in the long run.
        let steady_from = first + window_real_s.ceil() as i64;
        let steady_span = (last - steady_from).max(0) as f64;
        let steady = admitted
            .iter()
            .filter(|r| secs(r) >= steady_from && secs(r) < last)
            .count();
        let steady_rate = (steady_span >= 1.0).then(|| steady as f64 / steady_span);
        let server_ms: u64 = admitted.iter().map(|r| r.duration_ms).sum();
        // Request bodies count against the upload limit (150 MB per 5 minutes in Exchange):
        // for a restore it, not the request count, may be the limit that binds.
        let upload_bytes: u64 = admitted.iter().map(|r| r.request_bytes).sum();
        let upload_fraction = upload_bytes as f64 / span / upload_ceiling_per_s;
        // Admitted requests in each second from the mailbox's first to its last.
        let mut per_second = vec![0u64; (last - first + 1).max(0) as usize];
        for r in &admitted {
            if let Some(n) = per_second.get_mut((secs(r) - first) as usize) {
                *n += 1;
            }
        }
        per.push(json!({
            "mailbox_id": id,
            "requests": rs.len(),
            "admitted": admitted.len(),
            "throttled_429": throttled,
            "by_class": classes,
            "first_s": first - t0,
            "last_s": last - t0,
            "span_s": span,
            "rate_per_s": rate,
            "inner_rate_per_s": inner_rate,
            "fraction_of_ceiling": rate / ceiling_per_s,
            "inner_fraction_of_ceiling": inner_rate.map(|r| r / ceiling_per_s),
            "steady_from_s": steady_from - t0,
            "steady_rate_per_s": steady_rate,
            "steady_fraction_of_ceiling": steady_rate.map(|r| r / ceiling_per_s),
            "mean_in_server": server_ms as f64 / 1000.0 / span,
            "upload_bytes": upload_bytes,
            "upload_bytes_per_s": upload_bytes as f64 / span,
            "upload_fraction_of_ceiling": upload_fraction,
            "binding_fraction_of_ceiling": (rate / ceiling_per_s).max(upload_fraction),
            "per_second": per_second,
        }));
    }
    let total = log.len() as u64;
    let t429 = status.get(&429).copied().unwrap_or(0);
    let mut timeline: BTreeMap<i64, (u64, u64)> = BTreeMap::new();
    for r in log {
        let e = timeline.entry(secs(r) - t0).or_default();
        e.0 += 1;
        if r.status == 429 {
            e.1 += 1;
        }
    }
    json!({
        "requests": total,
        "status": status.iter().map(|(k, v)| (k.to_string(), *v)).collect::<BTreeMap<_, _>>(),
        "throttled_429": t429,
        "share_429": if total > 0 { t429 as f64 / total as f64 } else { 0.0 },
        "by_class": by_class,
        "mailboxes": per,
        "timeline_requests_and_429_per_s": timeline.values().map(|(a, b)| [*a, *b]).collect::<Vec<_>>(),
    })
}

fn backup_opts(a: &Args, upns: &[String], hour: i64, spool: PathBuf) -> BackupOptions {
    let time = chrono::DateTime::from_timestamp(1_795_000_000 + hour * 3600, 0).expect("time");
    let mut o = BackupOptions::new(time, "qcb-bench-engine");
    o.mailboxes = upns.to_vec();
    o.mailbox_concurrency = a.mailbox_concurrency;
    o.requests_per_mailbox = 4;
    o.page_size = a.page_size;
    o.categories = if a.categories == "all" {
        Categories::default()
    } else {
        Categories::parse(&a.categories).unwrap_or_default()
    };
    o.spool_dir = Some(spool);
    o
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
    let err = |what: &str| {
        let what = what.to_string();
        move |e: &dyn std::fmt::Display| format!("{what}: {e}")
    };
    // Exchange: 10,000 requests per 600 s per mailbox, 4 in flight. The window is shortened
    // `window_div` times with the budget (same long-run rate), then all of time `scale` times.
    let ex = ThrottleConfig::exchange();
    // The upload window (150 MB per 300 s) is shortened the same way, but never so far that
    // it holds fewer than 8 MiB: an upload session's chunk (3.75 MB) must fit in it, or a
    // large attachment could never be written (Exchange's own window holds 40 of them).
    let upload_div = a
        .window_div
        .min(ex.upload_bytes_per_window / (8 * 1024 * 1024))
        .max(1);
    let throttle = ThrottleConfig {
        requests_per_window: ex.requests_per_window / a.window_div,
        window_secs: ex.window_secs / a.window_div,
        upload_bytes_per_window: ex.upload_bytes_per_window / upload_div,
        upload_window_secs: ex.upload_window_secs / upload_div,
        ..ex.clone().scaled(a.scale)
    };
    let window_real_s = throttle.window_secs as f64 / a.scale;
    let ceiling = throttle.requests_per_window as f64 / window_real_s;
    let upload_window_real_s = throttle.upload_window_secs as f64 / a.scale;
    let upload_ceiling = throttle.upload_bytes_per_window as f64 / upload_window_real_s;
    eprintln!(
        "throttle: {} requests per {} s (nominal), time x{}, i.e. {:.1} s real window, ceiling {:.2} requests/s per mailbox, {} in flight",
        throttle.requests_per_window,
        throttle.window_secs,
        a.scale,
        window_real_s,
        ceiling,
        throttle.max_concurrent
    );

    let spec = TenantSpec {
        seed: a.seed,
        users: a.users,
        messages_per_user: a.messages,
        shared_mailboxes: None,
    };
    let generating = Instant::now();
    let sim = SimServer::start_with(
        spec,
        SimOptions {
            throttle: throttle.clone(),
            faults: FaultConfig {
                rules: (a.latency_ms > 0)
                    .then(|| FaultRule {
                        method: None,
                        path_contains: "/users/".into(),
                        query_contains: None,
                        nth: 1,
                        times: 0,
                        fault: Fault::Slow {
                            millis: a.latency_ms,
                        },
                    })
                    .into_iter()
                    .collect(),
                ..Default::default()
            },
            ..Default::default()
        },
        "127.0.0.1:0".parse().expect("addr"),
    )
    .await
    .map_err(|e| err("start emulator")(&e))?;
    let generate_s = generating.elapsed().as_secs_f64();
    let admin = sim.admin();
    // The users come first in the directory, then the shared mailboxes.
    let users: Vec<_> = admin.users().into_iter().take(a.users).collect();
    let upns: Vec<String> = users
        .iter()
        .map(|u| u.user_principal_name.clone())
        .collect();
    let ids: Vec<String> = users.iter().map(|u| u.id.clone()).collect();

    // Ground truth and the simplest correct approach, from the tenant itself.
    let page = a.page_size.max(1) as usize;
    let mut truth = Vec::new();
    let (mut t_items, mut t_attach) = (0u64, 0u64);
    for u in &users {
        let folders = admin.folders(&u.id);
        let (mut items, mut with_att, mut list_pages) = (0usize, 0usize, 0usize);
        // Walking the tree by listing: the top level, then the children of every folder that
        // has some (one page of up to 100 each).
        let listed: std::collections::HashSet<&str> = folders
            .iter()
            .filter(|f| f.parent_id.is_some())
            .map(|f| f.id.as_str())
            .collect();
        let parents: std::collections::HashSet<&str> = folders
            .iter()
            .filter_map(|f| f.parent_id.as_deref())
            .filter(|p| listed.contains(p))
            .collect();
        let folder_listing = 1 + parents.len();
        for f in &folders {
            let ms = admin.messages(&u.id, &f.id);
            items += ms.len();
            with_att += ms.iter().filter(|m| m.has_attachments).count();
            list_pages += ms.len().div_ceil(page).max(1);
        }
        t_items += items as u64;
        t_attach += with_att as u64;
        truth.push(json!({
            "mailbox_id": u.id, "folders": folders.len(), "messages": items,
            "with_attachments": with_att, "list_pages": list_pages,
            "folder_listing": folder_listing,
        }));
    }
    eprintln!(
        "tenant: {} mailboxes, {t_items} messages ({t_attach} with attachments), generated in {generate_s:.1} s",
        users.len()
    );

    let _ = std::fs::remove_dir_all(&a.work);
    std::fs::create_dir_all(&a.work).map_err(|e| err("work dir")(&e))?;
    let cache = a.work.join("cache");
    let handle = RepoHandle::create(&a.work.join("repo"), "bench", KdfParams::default(), &cache)
        .map_err(|e| err("create repository")(&e))?;
    let c = sim.credentials();
    let conn = Connection {
        graph_url: sim.graph_url(),
        authority: sim.base_url(),
        tenant_id: c.tenant_id,
        client_id: c.client_id,
        client_secret: c.client_secret,
    };
    // The client keeps the same budget Exchange enforces (less 2%, as for the real limit),
    // over the shortened window in real time.
    let budget = qcb_engine::MailboxBudget {
        requests: (throttle.requests_per_window as f64 * 0.98) as u32,
        window: std::time::Duration::from_secs_f64(window_real_s),
    };
    let graph = Arc::new(
        conn.client()
            .map_err(|e| err("client")(&e))?
            .with_mailbox_budget(Some(budget)),
    );
    admin.clear_request_log();
    admin.reset_throttle();

    let mut runs = Vec::new();
    for (name, hour) in [("full", 0), ("no_change", 1)] {
        eprintln!("{name} backup ...");
        let m = Meter::start();
        let report = qcb_engine::backup(
            graph.clone(),
            handle.repository().clone(),
            backup_opts(&a, &upns, hour, cache.join("spool")),
            Arc::new(NoProgress),
        )
        .await
        .map_err(|e| err("backup")(&e))?;
        let meter = m.stop();
        let log = admin.request_log();
        admin.clear_request_log();
        if log.len() >= SIM_LOG_LIMIT * 9 / 10 {
            return Err(format!(
                "{} requests logged: the emulator's log keeps {SIM_LOG_LIMIT}; use fewer messages",
                log.len()
            ));
        }
        let wall = meter["wall_s"].as_f64().unwrap_or(1.0);
        eprintln!(
            "{name}: {} items, {} downloaded, {} failed, {} requests, {:.1} s",
            report.items,
            report.items_fetched,
            report.failed.len(),
            log.len(),
            wall
        );
        runs.push(json!({
            "name": name,
            "meter": meter,
            "report": {
                "mailboxes": report.mailboxes, "folders": report.folders, "items": report.items,
                "items_fetched": report.items_fetched, "bytes_added": report.bytes_added,
                "failed": report.failed.len(), "duration_ms": report.duration_ms,
            },
            "items_per_s": report.items as f64 / wall,
            "items_fetched_per_s": report.items_fetched as f64 / wall,
            "log": analyse(&log, &ids, ceiling, window_real_s, upload_ceiling),
        }));
    }

    // Restore every mailbox into a new folder of its own, as after a loss: all messages are
    // written again, under the same per-mailbox limits (fresh windows, as on another day).
    eprintln!("restore ...");
    admin.reset_throttle();
    let m = Meter::start();
    let reports = qcb_engine::restore_mailboxes(
        graph.clone(),
        handle.repository().clone(),
        RestoreOptions {
            snapshot: "latest".into(),
            at_or_before: None,
            path: "/".into(),
            target_mailbox: None,
            target: RestoreTarget::Folder("Restored by qcb-bench-engine".into()),
            recursive: true,
            on_conflict: OnConflict::Skip,
            dry_run: false,
            requests_per_mailbox: 4,
        },
        Vec::new(),
        a.mailbox_concurrency,
        Arc::new(NoProgress),
    )
    .await
    .map_err(|e| err("restore")(&e))?;
    let meter = m.stop();
    let log = admin.request_log();
    admin.clear_request_log();
    let wall = meter["wall_s"].as_f64().unwrap_or(1.0);
    let restored: u64 = reports.iter().map(|r| r.items_restored).sum();
    let failed: usize = reports.iter().map(|r| r.failed.len()).sum();
    let failures: Vec<Value> = reports
        .iter()
        .flat_map(|r| &r.failed)
        .map(|f| json!({ "mailbox": f.mailbox, "folder": f.folder, "reason": f.reason }))
        .collect();
    for f in &failures {
        eprintln!("restore failure: {f}");
    }
    eprintln!(
        "restore: {restored} items, {failed} failed, {} requests, {wall:.1} s",
        log.len()
    );
    runs.push(json!({
        "name": "restore",
        "meter": meter,
        "report": {
            "mailboxes": reports.len(), "items_restored": restored, "failed": failed,
            "failures": failures,
            "folders_created": reports.iter().map(|r| r.folders_created).sum::<u64>(),
        },
        "items_per_s": restored as f64 / wall,
        "log": analyse(&log, &ids, ceiling, window_real_s, upload_ceiling),
    }));
    sim.shutdown().await;
    let _ = std::fs::remove_dir_all(&a.work);

    let doc = json!({
        "generated": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "tenant": {
            "seed": a.seed, "users": a.users, "messages_per_user": a.messages,
            "mailboxes_backed_up": upns.len(), "messages": t_items,
            "with_attachments": t_attach, "generate_s": generate_s, "per_mailbox": truth,
        },
        "throttle": {
            "config": throttle,
            "window_div": a.window_div,
            "upload_window_div": upload_div,
            "window_real_s": window_real_s,
            "ceiling_per_mailbox_per_s": ceiling,
            "upload_window_real_s": upload_window_real_s,
            "upload_ceiling_per_mailbox_bytes_per_s": upload_ceiling,
            "exchange_nominal_per_s": ex.requests_per_window as f64 / ex.window_secs as f64,
        },
        "engine": {
            "mailbox_concurrency": a.mailbox_concurrency, "requests_per_mailbox": 4,
            "page_size": a.page_size, "categories": a.categories, "spool": true,
            "kdf": "default (Argon2id 64 MiB, 3 passes)",
            "latency_ms": a.latency_ms,
        },
        "naive_page_size": page,
        "runs": runs,
    });
    if let Some(dir) = a.out.parent() {
        std::fs::create_dir_all(dir).map_err(|e| err("results dir")(&e))?;
    }
    let text = serde_json::to_string_pretty(&doc).expect("json");
    std::fs::write(&a.out, text + "\n").map_err(|e| err("write results")(&e))?;
    eprintln!("wrote {}", a.out.display());
    Ok(())
}
