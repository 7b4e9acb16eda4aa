//! Resume: `qcbackup backup` of a 2,000-message mailbox is killed with SIGKILL halfway; the
//! next run downloads only what the first did not, and its snapshot is complete.

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::*;
use qcb_graph_sim::TenantSpec;

/// Downloads of each message's MIME, by message id.
fn downloads(env: &Env) -> HashMap<String, usize> {
    let mut n = HashMap::new();
    for r in env.sim.admin().request_log() {
        if r.method == "GET"
            && let Some(rest) = r.path.strip_suffix("/$value")
            && let Some((_, id)) = rest.rsplit_once("/messages/")
        {
            *n.entry(id.to_string()).or_default() += 1;
        }
    }
    n
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_backup_resumes_without_downloading_again() {
    let env = Env::with(TenantSpec {
        seed: 21,
        users: 1,
        messages_per_user: 2000,
        shared_mailboxes: None,
    })
    .await;
    let init = run(&env, "pw", &["repo", "init"]).await;
    assert!(init.status.success(), "{}", stderr(&init));
    let admin = env.sim.admin();
    let user = admin.users()[0].id.clone();
    let total: usize = admin
        .folders(&user)
        .iter()
        .map(|f| admin.messages(&user, &f.id).len())
        .sum();
    assert!(total >= 2000, "{total}");
    admin.clear_request_log();

    let mut child = env.cmd("pw");
    child
        .args(["backup", "--categories", "mail"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut child = child.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let done: usize = downloads(&env).len();
        if done >= total / 2 {
            break;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "the backup finished before it could be killed ({done} downloads)"
        );
        assert!(
            Instant::now() < deadline,
            "only {done} downloads in two minutes"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let first = downloads(&env);
    assert!(first.len() < total, "killed before the end");

    let second = run(&env, "pw", &["--json", "backup", "--categories", "mail"]).await;
    let report = json(&second);
    assert_eq!(report["items"], total, "the snapshot holds every message");
    assert!(report["failed"].as_array().unwrap().is_empty());
    let all = downloads(&env);
    assert_eq!(all.len(), total, "every message downloaded at least once");
    let twice: Vec<_> = all.iter().filter(|(_, n)| **n > 1).collect();
    // Only downloads in flight at the moment of the kill (at most 4 per mailbox: Exchange's
    // concurrency limit) can have reached the emulator without reaching the spool.
    assert!(
        twice.len() <= 4,
        "{} messages downloaded twice after {} before the kill",
        twice.len(),
        first.len()
    );
    assert_eq!(
        report["itemsFetched"].as_u64().unwrap() as usize,
        total - first.len() + twice.len(),
        "the second run downloaded only what the first had not"
    );

    // The snapshot reads back whole, and a third run downloads nothing.
    let check = run(&env, "pw", &["check", "--read-data"]).await;
    assert!(check.status.success(), "{}", stderr(&check));
    env.sim.admin().clear_request_log();
    let third = json(&run(&env, "pw", &["--json", "backup", "--categories", "mail"]).await);
    assert_eq!(third["itemsFetched"], 0);
    assert!(downloads(&env).is_empty());
}
