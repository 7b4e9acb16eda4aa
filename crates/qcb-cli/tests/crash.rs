//! Crash safety: `qcbackup backup` is killed with SIGKILL at random points, again and again.
//! After every kill the repository must pass `check --read-data`, every snapshot committed
//! before must still be there and whole, and in the end a backup must finish and hold exactly
//! what the mailboxes hold.

mod common;

use std::collections::BTreeSet;
use std::time::Instant;

use common::*;
use qcb_graph_sim::{NewMessage, TenantSpec};
use rand::{Rng, SeedableRng};

const TRIALS: usize = 32;

fn snapshot_ids(v: &serde_json::Value) -> BTreeSet<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect()
}

/// Every item the emulator holds, over all users and categories (each mailbox's settings and
/// inbox rules count as two items).
fn ground_truth(env: &Env) -> u64 {
    let admin = env.sim.admin();
    admin
        .users()
        .iter()
        .map(|u| {
            let mail: usize = admin
                .folders(&u.id)
                .iter()
                .map(|f| admin.messages(&u.id, &f.id).len())
                .sum();
            let contacts: usize = admin
                .contact_folders(&u.id)
                .iter()
                .map(|f| admin.contacts(&u.id, &f.id).len())
                .sum();
            let events: usize = admin
                .calendars(&u.id)
                .iter()
                .map(|c| admin.events(&u.id, &c.id).len())
                .sum();
            let tasks: usize = admin
                .todo_lists(&u.id)
                .iter()
                .map(|l| admin.tasks(&u.id, &l.id).len())
                .sum();
            (mail + contacts + events + tasks + 2) as u64
        })
        .sum()
}

#[tokio::test(flavor = "multi_thread")]
async fn backups_killed_at_random_points_never_damage_the_repository() {
    let env = Env::with(TenantSpec {
        seed: 11,
        users: 3,
        messages_per_user: 80,
        shared_mailboxes: None,
    })
    .await;
    json(&run(&env, "pw", &["--json", "repo", "init"]).await);
    let seed = std::env::var("QCB_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random::<u64>);
    eprintln!("crash trials with QCB_CRASH_SEED={seed}");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);

    // How long an uninterrupted first backup takes here sets the range of kill points; it runs
    // in a scratch repository so that the trials start from an empty one.
    let scratch = env.dir.path().join("scratch");
    let timing = {
        let mut init = env.cmd("pw");
        let mut backup = env.cmd("pw");
        init.env("QCBACKUP_REPO", &scratch).args(["repo", "init"]);
        backup.env("QCBACKUP_REPO", &scratch).arg("backup");
        tokio::task::spawn_blocking(move || {
            assert!(init.status().unwrap().success());
            let t = Instant::now();
            assert!(backup.output().unwrap().status.success());
            t.elapsed()
        })
        .await
        .unwrap()
    };
    eprintln!("an uninterrupted backup takes {timing:?}");

    let admin = env.sim.admin();
    let users = admin.users();
    let mut committed = BTreeSet::new();
    let mut killed_midway = 0;
    let mut typical = timing;
    for trial in 0..TRIALS {
        // New mail between runs, so every run has something to fetch and store.
        for k in 0..4u64 {
            let u = &users[rng.gen_range(0..users.len())];
            let inbox = admin
                .folders(&u.id)
                .into_iter()
                .find(|f| f.path == "Inbox")
                .unwrap();
            admin.add_message(
                &u.id,
                &inbox.id,
                NewMessage::generated(seed ^ (trial as u64 * 16 + k)),
            );
        }
        // Kill points spread over the length of a run like this one: a full backup until one
        // completes, then incrementals, which are shorter.
        let kill_after = typical.mul_f64(rng.gen_range(0.0..1.1));
        let mut cmd = env.cmd("pw");
        cmd.arg("backup")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        let finished = tokio::task::spawn_blocking(move || {
            let started = Instant::now();
            let mut child = cmd.spawn().unwrap();
            std::thread::sleep(kill_after);
            match child.try_wait().unwrap() {
                Some(_) => Some(started.elapsed()),
                None => {
                    child.kill().unwrap(); // SIGKILL
                    child.wait().unwrap();
                    None
                }
            }
        })
        .await
        .unwrap();
        match finished {
            None => killed_midway += 1,
            // Finished before the kill: the next runs are incrementals of about this length.
            Some(took) => typical = took.max(std::time::Duration::from_millis(100)),
        }

        let check = run(&env, "pw", &["--json", "check", "--read-data"]).await;
        let report = json(&check);
        assert_eq!(report["ok"], true, "trial {trial} (seed {seed}): {report}");
        let now = snapshot_ids(&json(&run(&env, "pw", &["--json", "snapshots"]).await));
        assert!(
            committed.is_subset(&now),
            "trial {trial} (seed {seed}): a committed snapshot disappeared"
        );
        committed = now;
    }
    eprintln!("{killed_midway} of {TRIALS} backups were killed before they finished");
    assert!(
        killed_midway >= TRIALS / 3,
        "only {killed_midway} of {TRIALS} runs were killed before finishing"
    );

    // The locks the killed processes left block nothing; a final backup finishes and holds
    // exactly what the mailboxes hold; prune and a last full check are clean.
    let last = json(&run(&env, "pw", &["--json", "backup"]).await);
    assert_eq!(last["items"].as_u64().unwrap(), ground_truth(&env));
    assert!(last["failed"].as_array().unwrap().is_empty(), "{last}");
    json(&run(&env, "pw", &["--json", "prune"]).await);
    let check = json(&run(&env, "pw", &["--json", "check", "--read-data"]).await);
    assert_eq!(check["ok"], true, "{check}");
    let locks = json(&run(&env, "pw", &["--json", "repo", "unlock"]).await);
    assert!(locks["removed"].as_u64().unwrap() <= killed_midway as u64);
}
