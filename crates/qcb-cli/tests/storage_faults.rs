//! The repository's storage refusing writes: a full disk, a read-only one, and folders the
//! process may not write to. The repository is a tmpfs of a few megabytes mounted in a private
//! mount namespace (`unshare -Urm`, which needs no root), so writes fail with the kernel's own
//! ENOSPC, EROFS and EACCES. Each failed run must end with
//! an error that names the cause and the file, commit no snapshot, leave no partial file
//! behind, and leave earlier snapshots whole; once space is back, the next run completes.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};

use common::*;
use qcb_graph_sim::{NewAttachment, NewMessage, TenantSpec};
use rand::{RngCore, SeedableRng};

/// A private user and mount namespace kept alive by a sleeping process; commands run inside it
/// through `nsenter`.
struct MountNamespace {
    holder: Child,
}

impl MountNamespace {
    fn new() -> MountNamespace {
        let holder = Command::new("unshare")
            .args(["-Urm", "--propagation", "private", "sleep", "3600"])
            .spawn()
            .expect("unshare (util-linux) starts");
        // Dropped (killed and waited for) if the namespace never appears.
        let ns = MountNamespace { holder };
        let ours = std::fs::read_link("/proc/self/ns/mnt").unwrap();
        let theirs = format!("/proc/{}/ns/mnt", ns.holder.id());
        for _ in 0..200 {
            if std::fs::read_link(&theirs).is_ok_and(|l| l != ours) {
                return ns;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        panic!("unshare -Urm did not make a mount namespace (user namespaces disabled?)");
    }

    /// `cmd`, run inside the namespace (same environment and arguments).
    fn wrap(&self, cmd: &Command) -> Command {
        let mut inner = Command::new("nsenter");
        inner
            .args(["-t", &self.holder.id().to_string(), "-U", "-m"])
            .args(["--preserve-credentials", "--"])
            .arg(cmd.get_program())
            .args(cmd.get_args())
            .env_clear();
        for (k, v) in cmd.get_envs() {
            if let Some(v) = v {
                inner.env(k, v);
            }
        }
        inner.env("PATH", std::env::var_os("PATH").unwrap_or_default());
        inner
    }

    fn sh(&self, script: &str) -> Output {
        let mut c = Command::new("sh");
        c.args(["-c", script]);
        self.wrap(&c).output().unwrap()
    }

    fn sh_ok(&self, script: &str) -> String {
        let o = self.sh(script);
        assert!(
            o.status.success(),
            "{script}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }
}

impl Drop for MountNamespace {
    fn drop(&mut self) {
        let _ = self.holder.kill();
        let _ = self.holder.wait();
    }
}

async fn run_in(ns: &MountNamespace, env: &Env, args: &[&str]) -> Output {
    let mut cmd = env.cmd("pw");
    cmd.args(args);
    let mut cmd = ns.wrap(&cmd);
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

/// Every file under the repository whose name is not a repository file (a temporary file
/// left by a failed write).
fn leftovers(ns: &MountNamespace, repo: &Path) -> String {
    ns.sh_ok(&format!("find '{}' -type f -name '.*'", repo.display()))
}

fn add_mail(env: &Env, seed: u64, attachment_bytes: usize) {
    let admin = env.sim.admin();
    let user = &admin.users()[0];
    let inbox = admin
        .folders(&user.id)
        .into_iter()
        .find(|f| f.path == "Inbox")
        .unwrap();
    let mut content = vec![0u8; attachment_bytes];
    rand::rngs::StdRng::seed_from_u64(seed).fill_bytes(&mut content);
    let mut m = NewMessage::generated(seed);
    m.attachments = vec![NewAttachment {
        name: format!("scan-{seed}.bin"),
        content_type: "application/octet-stream".into(),
        content,
        is_inline: false,
        content_id: None,
    }];
    admin.add_message(&user.id, &inbox.id, m);
}

/// The message of a failed `--json` run (`{"error": {"code", "message"}}` on stdout).
fn failure(o: &Output) -> String {
    assert!(!o.status.success(), "the run succeeded");
    let v: serde_json::Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stdout)));
    v["error"]["message"].as_str().unwrap().to_string()
}

fn snapshot_count(o: &Output) -> usize {
    json(o).as_array().unwrap().len()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_read_only_or_forbidden_disk_fails_the_run_cleanly_and_the_next_run_completes() {
    let env = Env::with(TenantSpec {
        seed: 21,
        users: 2,
        messages_per_user: 20,
        shared_mailboxes: None,
    })
    .await;
    add_mail(&env, 1, 3_000_000);
    let repo: PathBuf = env.repo();
    std::fs::create_dir_all(&repo).unwrap();
    let ns = MountNamespace::new();
    ns.sh_ok(&format!(
        "mount -t tmpfs -o size=1m tmpfs '{}'",
        repo.display()
    ));
    json(&run_in(&ns, &env, &["--json", "repo", "init"]).await);

    // 1. The first backup does not fit in 1 MB.
    let o = run_in(&ns, &env, &["--json", "backup"]).await;
    let err = failure(&o);
    assert!(err.contains("No space left on device"), "{err}");
    assert!(
        err.contains(&repo.display().to_string()),
        "the error names no file: {err}"
    );
    assert_eq!(
        snapshot_count(&run_in(&ns, &env, &["--json", "snapshots"]).await),
        0
    );
    assert_eq!(leftovers(&ns, &repo), "", "partial files left behind");
    let check = json(&run_in(&ns, &env, &["--json", "check", "--read-data"]).await);
    assert_eq!(check["ok"], true, "{check}");

    // 2. With room, it completes.
    ns.sh_ok(&format!("mount -o remount,size=64m '{}'", repo.display()));
    let first = json(&run_in(&ns, &env, &["--json", "backup"]).await);
    assert!(first["failed"].as_array().unwrap().is_empty(), "{first}");

    // 3. The disk fills up (all but 300 KB taken); new mail with a 3 MB attachment does not
    //    fit. The run fails, the snapshot before it stays whole.
    add_mail(&env, 2, 3_000_000);
    ns.sh_ok(&format!(
        "avail=$(df --output=avail -B1 '{0}' | tail -1); head -c $((avail - 300000)) /dev/zero > '{0}/filler'",
        repo.display()
    ));
    let o = run_in(&ns, &env, &["--json", "backup"]).await;
    let err = failure(&o);
    assert!(err.contains("No space left on device"), "{err}");
    assert_eq!(
        snapshot_count(&run_in(&ns, &env, &["--json", "snapshots"]).await),
        1
    );
    assert_eq!(leftovers(&ns, &repo), "", "partial files left behind");
    let check = json(&run_in(&ns, &env, &["--json", "check", "--read-data"]).await);
    assert_eq!(check["ok"], true, "{check}");

    // 4. Read-only storage: the same, with the kernel's EROFS.
    ns.sh_ok(&format!(
        "rm '{0}/filler' && mount -o remount,ro '{0}'",
        repo.display()
    ));
    let o = run_in(&ns, &env, &["--json", "backup"]).await;
    let err = failure(&o);
    assert!(err.contains("Read-only file system"), "{err}");
    ns.sh_ok(&format!("mount -o remount,rw '{}'", repo.display()));
    assert_eq!(
        snapshot_count(&run_in(&ns, &env, &["--json", "snapshots"]).await),
        1
    );

    // 5. Permission denied: the data folders are made read-only for their owner, and the
    //    backup runs without the capabilities that override file modes (as any process but
    //    root's would), so writing a pack fails with the kernel's EACCES.
    add_mail(&env, 3, 100_000);
    ns.sh_ok(&format!(
        "find '{}/data' -type d -exec chmod a-w {{}} +",
        repo.display()
    ));
    let mut backup = env.cmd("pw");
    backup.args(["--json", "backup"]);
    let mut cmd = Command::new("setpriv");
    cmd.args([
        "--bounding-set=-dac_override,-dac_read_search,-fowner",
        "--",
    ])
    .arg(backup.get_program())
    .args(backup.get_args());
    for (k, v) in backup.get_envs() {
        if let Some(v) = v {
            cmd.env(k, v);
        }
    }
    let mut cmd = ns.wrap(&cmd);
    let o = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    let err = failure(&o);
    assert!(err.contains("Permission denied"), "{err}");
    assert!(err.contains(&repo.display().to_string()), "{err}");
    ns.sh_ok(&format!(
        "find '{}/data' -type d -exec chmod u+w {{}} +",
        repo.display()
    ));
    assert_eq!(
        snapshot_count(&run_in(&ns, &env, &["--json", "snapshots"]).await),
        1
    );
    assert_eq!(leftovers(&ns, &repo), "", "partial files left behind");

    // 6. Space is back: the next run completes and holds everything; the repository is clean.
    let last = json(&run_in(&ns, &env, &["--json", "backup"]).await);
    assert!(last["failed"].as_array().unwrap().is_empty(), "{last}");
    let admin = env.sim.admin();
    let messages: usize = admin
        .users()
        .iter()
        .flat_map(|u| {
            admin
                .folders(&u.id)
                .into_iter()
                .map(move |f| (u.id.clone(), f.id))
        })
        .map(|(u, f)| admin.messages(&u, &f).len())
        .sum();
    let mail = json(&run_in(&ns, &env, &["--json", "backup", "--categories", "mail"]).await);
    assert_eq!(mail["items"].as_u64().unwrap() as usize, messages, "{mail}");
    let check = json(&run_in(&ns, &env, &["--json", "check", "--read-data"]).await);
    assert_eq!(check["ok"], true, "{check}");
    assert_eq!(leftovers(&ns, &repo), "");
}
