//! Crash safety: `qcbackup backup`, `restore`, `forget` and `prune` are killed with SIGKILL at
//! random points, again and again. After every kill the repository must pass
//! `check --read-data` and every snapshot that must survive is still there and whole; in the
//! end the interrupted command, run once more, finishes and leaves exactly what it should: a
//! backup holds what the mailboxes hold, a restore has written every item once, forget keeps
//! what the policy keeps, prune leaves no unused data.
//!
//! `QCB_CRASH_TRIALS` sets the number of kills per command (the long run uses 50) and
//! `QCB_CRASH_SEED` replays a run.

mod common;

use std::collections::BTreeSet;
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use qcb_graph_sim::{NewAttachment, NewMessage, TenantSpec};
use rand::{Rng, RngCore, SeedableRng};

/// Kills per command in `make test`, unless `QCB_CRASH_TRIALS` says otherwise.
fn trials(default: usize) -> usize {
    std::env::var("QCB_CRASH_TRIALS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

fn seeded_rng() -> (u64, rand::rngs::StdRng) {
    let seed = std::env::var("QCB_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random::<u64>);
    eprintln!("crash trials with QCB_CRASH_SEED={seed}");
    (seed, rand::rngs::StdRng::seed_from_u64(seed))
}

/// Runs `cmd` and kills it (SIGKILL) after `after`, unless it finished before: then how long it
/// took.
async fn kill_after(mut cmd: Command, after: Duration) -> Option<Duration> {
    cmd.stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        let mut child = cmd.spawn().unwrap();
        let deadline = started + after;
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                assert!(status.success(), "the command failed on its own: {status}");
                return Some(started.elapsed());
            }
            let now = Instant::now();
            if now >= deadline {
                child.kill().unwrap(); // SIGKILL
                child.wait().unwrap();
                return None;
            }
            std::thread::sleep((deadline - now).min(Duration::from_millis(5)));
        }
    })
    .await
    .unwrap()
}

/// How long an uninterrupted run of `cmd` takes (it must succeed).
async fn timed(mut cmd: Command) -> Duration {
    tokio::task::spawn_blocking(move || {
        let t = Instant::now();
        let o = cmd.output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        t.elapsed()
    })
    .await
    .unwrap()
}

async fn assert_clean(env: &Env, what: &str) {
    let check = run(env, "pw", &["--json", "check", "--read-data"]).await;
    let report = json(&check);
    assert_eq!(report["ok"], true, "{what}: {report}");
}

async fn snapshots(env: &Env) -> BTreeSet<String> {
    snapshot_ids(&json(&run(env, "pw", &["--json", "snapshots"]).await))
}

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
    let (seed, mut rng) = seeded_rng();
    let trials = trials(32);

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
    for trial in 0..trials {
        // New mail between runs, so every run has something to fetch and store.
        for k in 0..4u64 {
            let u = &users[rng.gen_range(0..users.len())];
            let inbox = inbox_of(&admin, &u.id);
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
        cmd.arg("backup");
        match self::kill_after(cmd, kill_after).await {
            None => killed_midway += 1,
            // Finished before the kill: the next runs are incrementals of about this length.
            Some(took) => typical = took.max(std::time::Duration::from_millis(100)),
        }

        assert_clean(&env, &format!("trial {trial} (seed {seed})")).await;
        let now = snapshots(&env).await;
        assert!(
            committed.is_subset(&now),
            "trial {trial} (seed {seed}): a committed snapshot disappeared"
        );
        committed = now;
    }
    eprintln!("{killed_midway} of {trials} backups were killed before they finished");
    assert!(
        killed_midway >= trials / 3,
        "only {killed_midway} of {trials} runs were killed before finishing"
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

/// Messages, contacts, events and tasks of one mailbox.
fn counts(env: &Env, user: &str) -> [usize; 4] {
    let admin = env.sim.admin();
    [
        admin
            .folders(user)
            .iter()
            .map(|f| admin.messages(user, &f.id).len())
            .sum(),
        admin
            .contact_folders(user)
            .iter()
            .map(|f| admin.contacts(user, &f.id).len())
            .sum(),
        admin
            .calendars(user)
            .iter()
            .map(|c| admin.events(user, &c.id).len())
            .sum(),
        admin
            .todo_lists(user)
            .iter()
            .map(|l| admin.tasks(user, &l.id).len())
            .sum(),
    ]
}

/// Names and sizes of a message's attachments, sorted.
fn attachment_list(env: &Env, user: &str, message: &str) -> Vec<(String, usize)> {
    let mut v: Vec<_> = env
        .sim
        .admin()
        .attachments(user, message)
        .into_iter()
        .map(|a| (a.name, a.size))
        .collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread")]
async fn restores_killed_at_random_points_finish_with_every_item_once_and_whole() {
    let env = Env::with(TenantSpec {
        seed: 12,
        users: 2,
        messages_per_user: 30,
        shared_mailboxes: None,
    })
    .await;
    let admin = env.sim.admin();
    let users = admin.users();
    let (user, spare) = (&users[0], &users[1]);
    // Messages too large for one create request: each is created first and its attachments
    // are added one by one after it, the window in which a kill leaves a half message.
    let inbox = inbox_of(&admin, &user.id);
    let mut bytes = rand::rngs::StdRng::seed_from_u64(12);
    for k in 0..4u64 {
        let mut m = NewMessage::generated(900 + k);
        m.subject = format!("Large report {k}");
        m.attachments = (0..2)
            .map(|j| {
                let mut content = vec![0u8; 2_500_000];
                bytes.fill_bytes(&mut content);
                NewAttachment {
                    name: format!("part-{j}.bin"),
                    content_type: "application/octet-stream".into(),
                    content,
                    is_inline: false,
                    content_id: None,
                }
            })
            .collect();
        admin.add_message(&user.id, &inbox.id, m);
    }
    json(&run(&env, "pw", &["--json", "repo", "init"]).await);
    json(
        &run(
            &env,
            "pw",
            &["--json", "backup", "-m", &user.user_principal_name],
        )
        .await,
    );
    let before = counts(&env, &user.id);
    let originals: Vec<_> = admin
        .folders(&user.id)
        .iter()
        .flat_map(|f| admin.messages(&user.id, &f.id))
        .collect();
    let (seed, mut rng) = seeded_rng();
    let trials = trials(8);
    let path = format!("/{}", user.user_principal_name);
    let restore = |target: &str| {
        let mut c = env.cmd("pw");
        c.args([
            "--json", "restore", "latest", &path, "--to", "folder", target,
        ]);
        c
    };
    // An uninterrupted restore of the same mailbox into the spare one sets the kill range.
    let mut timing = restore("Timing");
    timing.args(["--to-mailbox", &spare.user_principal_name]);
    let typical = timed(timing).await;
    eprintln!("an uninterrupted restore takes {typical:?}");

    // Each trial kills a restore into a folder of its own at a random point, then runs it
    // again to the end: the folder then holds every message of the mailbox once and whole, and
    // each category of the mailbox has grown by exactly the mailbox's own count.
    let mut killed_midway = 0;
    for trial in 0..trials {
        let target = format!("Crash restore {trial}");
        let after = typical.mul_f64(rng.gen_range(0.0..1.1));
        if kill_after(restore(&target), after).await.is_none() {
            killed_midway += 1;
        }
        let finished = json(&run_cmd(restore(&target)).await);
        assert!(
            finished["failed"].as_array().unwrap().is_empty(),
            "{finished}"
        );
        let now = counts(&env, &user.id);
        let want = before.map(|n| n * (trial + 2));
        assert_eq!(
            now, want,
            "trial {trial} (seed {seed}): [messages, contacts, events, tasks] of the mailbox"
        );
        let restored: Vec<_> = admin
            .folders(&user.id)
            .iter()
            .filter(|f| f.path.starts_with(&format!("{target}/")))
            .flat_map(|f| admin.messages(&user.id, &f.id))
            .collect();
        assert_eq!(restored.len(), originals.len());
        for m in &originals {
            let copies: Vec<_> = restored
                .iter()
                .filter(|r| r.internet_message_id == m.internet_message_id)
                .collect();
            assert_eq!(
                copies.len(),
                1,
                "trial {trial} (seed {seed}): {:?}",
                m.subject
            );
            assert_eq!(
                attachment_list(&env, &user.id, &copies[0].id),
                attachment_list(&env, &user.id, &m.id),
                "trial {trial} (seed {seed}): the restored copy of {:?} is not whole",
                m.subject
            );
        }
    }
    eprintln!("{killed_midway} of {trials} restores were killed before they finished");
    assert!(killed_midway >= trials / 3, "only {killed_midway} killed");
    assert_clean(&env, "after the restores").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn forgets_killed_at_random_points_keep_what_the_policy_keeps() {
    let env = Env::with(TenantSpec {
        seed: 13,
        users: 2,
        messages_per_user: 40,
        shared_mailboxes: None,
    })
    .await;
    json(&run(&env, "pw", &["--json", "repo", "init"]).await);
    for _ in 0..2 {
        json(&run(&env, "pw", &["--json", "backup"]).await);
    }
    let (seed, mut rng) = seeded_rng();
    let trials = trials(8);
    let policy = ["--keep-last", "3"];
    let forget = || {
        let mut c = env.cmd("pw");
        c.args(["--json", "forget"]).args(policy);
        c
    };
    let mut killed_midway = 0;
    for trial in 0..trials {
        // Two more snapshots each time, with mail added and deleted between them, so that
        // every forget has snapshots to remove.
        for k in 0..2u64 {
            change_mail(&env, &mut rng, seed ^ (trial as u64 * 2 + k));
            json(&run(&env, "pw", &["--json", "backup"]).await);
        }
        let before = snapshots(&env).await;
        let kept = kept_by_plan(forget()).await;
        assert!(kept.len() < before.len());
        let range = timed_on_copy(&env, forget()).await;
        if kill_after(forget(), range.mul_f64(rng.gen_range(0.0..1.1)))
            .await
            .is_none()
        {
            killed_midway += 1;
        }
        assert_clean(&env, &format!("trial {trial} (seed {seed})")).await;
        let now = snapshots(&env).await;
        assert!(
            kept.is_subset(&now) && now.is_subset(&before),
            "trial {trial} (seed {seed}): kept {kept:?}, before {before:?}, now {now:?}"
        );
    }
    eprintln!("{killed_midway} of {trials} forgets were killed before they finished");
    assert!(killed_midway >= trials / 3, "only {killed_midway} killed");

    // Once more to the end: exactly what the policy keeps is left, and it is whole.
    let kept = kept_by_plan(forget()).await;
    json(&run_cmd(forget()).await);
    assert_eq!(snapshots(&env).await, kept);
    json(&run(&env, "pw", &["--json", "prune"]).await);
    assert_clean(&env, "after the forgets").await;
    let last = json(&run(&env, "pw", &["--json", "backup"]).await);
    assert_eq!(last["items"].as_u64().unwrap(), ground_truth(&env));
}

/// The snapshots a forget would keep (its dry run).
async fn kept_by_plan(mut forget: Command) -> BTreeSet<String> {
    forget.arg("--dry-run");
    let plan = json(&run_cmd(forget).await);
    plan["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["keep"] == true)
        .map(|e| e["snapshotId"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn prunes_killed_at_random_points_lose_nothing_and_the_next_one_finishes() {
    let env = Env::with(TenantSpec {
        seed: 14,
        users: 2,
        messages_per_user: 60,
        shared_mailboxes: None,
    })
    .await;
    json(&run(&env, "pw", &["--json", "repo", "init"]).await);
    json(&run(&env, "pw", &["--json", "backup"]).await);
    let (seed, mut rng) = seeded_rng();
    let trials = trials(8);
    let prune = || {
        let mut c = env.cmd("pw");
        // Every pack with anything unused is rewritten: the longest prune there is.
        c.args(["--json", "prune", "--max-unused", "0%"]);
        c
    };
    let mut killed_midway = 0;
    for trial in 0..trials {
        // New and deleted mail, a backup, and the oldest snapshots forgotten: data to prune.
        change_mail(&env, &mut rng, seed ^ trial as u64);
        json(&run(&env, "pw", &["--json", "backup"]).await);
        json(&run(&env, "pw", &["--json", "forget", "--keep-last", "2"]).await);
        let before = snapshots(&env).await;
        let range = timed_on_copy(&env, prune()).await;
        if kill_after(prune(), range.mul_f64(rng.gen_range(0.0..1.1)))
            .await
            .is_none()
        {
            killed_midway += 1;
        }
        assert_clean(&env, &format!("trial {trial} (seed {seed})")).await;
        assert_eq!(
            snapshots(&env).await,
            before,
            "trial {trial} (seed {seed}): prune changed the snapshots"
        );
    }
    eprintln!("{killed_midway} of {trials} prunes were killed before they finished");
    assert!(killed_midway >= trials / 3, "only {killed_midway} killed");

    // Once more to the end: nothing unused or orphaned is left, and the repository still holds
    // what the mailboxes hold.
    json(&run_cmd(prune()).await);
    let mut c = prune();
    c.arg("--dry-run");
    let left = json(&run_cmd(c).await);
    for field in [
        "packsUnused",
        "packsRepacked",
        "packsOrphaned",
        "blobsRemoved",
    ] {
        assert_eq!(left[field], 0, "{field} after a finished prune: {left}");
    }
    assert_clean(&env, "after the prunes").await;
    let last = json(&run(&env, "pw", &["--json", "backup"]).await);
    assert_eq!(last["items"].as_u64().unwrap(), ground_truth(&env));
}

/// A user's Inbox.
fn inbox_of(admin: &qcb_graph_sim::Admin, user: &str) -> qcb_graph_sim::FolderInfo {
    admin
        .folders(user)
        .into_iter()
        .find(|f| f.path == "Inbox")
        .expect("every mailbox has an Inbox")
}

/// Adds two generated messages and deletes one, in random mailboxes.
fn change_mail(env: &Env, rng: &mut rand::rngs::StdRng, seed: u64) {
    let admin = env.sim.admin();
    let users = admin.users();
    for k in 0..2 {
        let u = &users[rng.gen_range(0..users.len())];
        let inbox = inbox_of(&admin, &u.id);
        admin.add_message(
            &u.id,
            &inbox.id,
            NewMessage::generated(seed.wrapping_mul(4).wrapping_add(k)),
        );
    }
    let u = &users[rng.gen_range(0..users.len())];
    let inbox = inbox_of(&admin, &u.id);
    let messages = admin.messages(&u.id, &inbox.id);
    if !messages.is_empty() {
        let m = &messages[rng.gen_range(0..messages.len())];
        admin.delete_message(&u.id, &m.id);
    }
}

async fn run_cmd(mut cmd: Command) -> std::process::Output {
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

/// How long `cmd` takes, uninterrupted, on a copy of the repository (which it then drops).
async fn timed_on_copy(env: &Env, mut cmd: Command) -> Duration {
    let scratch = env.dir.path().join("scratch");
    copy_dir(&env.repo(), &scratch);
    cmd.env("QCBACKUP_REPO", &scratch);
    let took = timed(cmd).await;
    std::fs::remove_dir_all(&scratch).unwrap();
    took
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}
