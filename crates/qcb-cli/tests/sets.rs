//! Backup sets through the `qcbackup` binary: create one for several mailboxes, keep its
//! secrets in a secrets folder, run it, read the history, move it to another machine as TOML,
//! and let `qcbackup daemon` run it on schedule until SIGTERM.

mod common;

use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::{Env, json, stderr};

/// The binary with the emulator's endpoints but no secret in the environment: secrets come
/// from the secrets folder.
fn qcb(env: &Env, state: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_qcbackup"));
    cmd.env_clear()
        .env("QCBACKUP_CACHE_DIR", env.dir.path().join("cache"))
        .env(
            "QCBACKUP_STATE_DB",
            env.dir.path().join(state).join("state.db"),
        )
        .env(
            "QCBACKUP_SECRETS_DIR",
            env.dir.path().join(state).join("secrets"),
        )
        .args(args);
    cmd
}

async fn run(env: &Env, state: &str, args: &[&str]) -> Output {
    run_with(env, state, &[], args).await
}

async fn run_with(env: &Env, state: &str, vars: &[(&str, &str)], args: &[&str]) -> Output {
    let mut cmd = qcb(env, state, args);
    for (k, v) in vars {
        cmd.env(k, v);
    }
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "status {:?}\nstdout {}\nstderr {}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        stderr(o)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_newcomer_creates_runs_and_moves_a_backup_set() {
    let env = Env::new().await;
    let c = env.sim.credentials();
    let repo = env.repo().display().to_string();
    // A repository to back up into.
    ok(&common::run(&env, "set-pw", &["repo", "init"]).await);
    let users: Vec<String> = env
        .sim
        .admin()
        .users()
        .into_iter()
        .map(|u| u.user_principal_name)
        .collect();
    let (graph_url, authority) = (env.sim.graph_url(), env.sim.base_url());
    let mut args = vec![
        "set",
        "create",
        "Office",
        "--repo",
        &repo,
        "--tenant",
        &c.tenant_id,
        "--client-id",
        &c.client_id,
        "--graph-url",
        &graph_url,
        "--authority",
        &authority,
        "--categories",
        "mail,contacts",
        "--exclude-folder",
        "Junk Email",
        "--keep-last",
        "3",
    ];
    for u in &users {
        args.extend(["--mailbox", u.as_str()]);
    }
    ok(&run(&env, "a", &args).await);
    // The same name again is refused without --replace.
    let again = run(&env, "a", &args).await;
    assert_eq!(again.status.code(), Some(1), "{}", stderr(&again));
    assert!(
        stderr(&again).contains("already exists"),
        "{}",
        stderr(&again)
    );

    // Without its secrets the run fails and says how to store them (exit 4).
    let missing = run(&env, "a", &["set", "run", "Office"]).await;
    assert_eq!(missing.status.code(), Some(4), "{}", stderr(&missing));
    assert!(
        stderr(&missing).contains("qcbackup set secret"),
        "{}",
        stderr(&missing)
    );

    let pw_file = env.dir.path().join("pw.txt");
    std::fs::write(&pw_file, "set-pw\n").unwrap();
    ok(&run(
        &env,
        "a",
        &[
            "set",
            "secret",
            "Office",
            "repository-password",
            "--from-file",
            pw_file.to_str().unwrap(),
        ],
    )
    .await);
    ok(&run_with(
        &env,
        "a",
        &[("APP_SECRET", c.client_secret.as_str())],
        &[
            "set",
            "secret",
            "Office",
            "client-secret",
            "--from-env",
            "APP_SECRET",
        ],
    )
    .await);
    let report = json(&run(&env, "a", &["--json", "set", "run", "Office"]).await);
    assert_eq!(report["mailboxes"], users.len());
    assert!(report["items"].as_u64().unwrap() > 30);

    let list = json(&run(&env, "a", &["--json", "set", "list"]).await);
    assert_eq!(list[0]["name"], "Office");
    assert_eq!(list[0]["lastRun"]["status"], "succeeded");
    let history = json(&run(&env, "a", &["--json", "history", "--set", "office"]).await);
    assert_eq!(
        history.as_array().unwrap().len(),
        2,
        "the failed run is history too"
    );
    assert_eq!(history[0]["status"], "succeeded");
    assert_eq!(history[0]["snapshotId"], report["snapshotId"]);
    assert_eq!(history[1]["status"], "failed");
    let text = ok(&run(&env, "a", &["history"]).await);
    assert!(
        text.contains("Office (succeeded)") && text.contains("(failed)"),
        "{text}"
    );

    // Secrets never reach the set file; the set moves to another machine as TOML.
    let toml_file = env.dir.path().join("office.toml");
    ok(&run(
        &env,
        "a",
        &["set", "export", "Office", "-o", toml_file.to_str().unwrap()],
    )
    .await);
    let toml_text = std::fs::read_to_string(&toml_file).unwrap();
    assert!(!toml_text.contains(&c.client_secret) && !toml_text.contains("set-pw"));
    assert!(
        toml_text.contains("exclude = [\"Junk Email\"]"),
        "{toml_text}"
    );
    ok(&run(&env, "b", &["set", "import", toml_file.to_str().unwrap()]).await);
    let shown = ok(&run(&env, "b", &["set", "show", "Office"]).await);
    assert_eq!(shown, toml_text);
    // A broken file is refused with the reason and nothing is stored.
    std::fs::write(
        &toml_file,
        toml_text.replace("keep-last = 3", "keep-last = \"x\""),
    )
    .unwrap();
    let bad = run(&env, "c", &["set", "import", toml_file.to_str().unwrap()]).await;
    assert_eq!(bad.status.code(), Some(1), "{}", stderr(&bad));
    assert!(stderr(&bad).contains("keep-last"), "{}", stderr(&bad));
    assert!(ok(&run(&env, "c", &["set", "list"]).await).contains("no backup sets"));

    ok(&run(&env, "a", &["set", "remove", "Office"]).await);
    let gone = run(&env, "a", &["set", "run", "Office"]).await;
    assert_eq!(gone.status.code(), Some(5), "{}", stderr(&gone));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_daemon_runs_server_sets_on_schedule_logs_to_files_and_stops_on_sigterm() {
    let env = Env::new().await;
    let c = env.sim.credentials();
    let repo = env.repo().display().to_string();
    ok(&common::run(&env, "daemon-pw", &["repo", "init"]).await);
    let (graph_url, authority) = (env.sim.graph_url(), env.sim.base_url());
    ok(&run(
        &env,
        "d",
        &[
            "set",
            "create",
            "Nightly",
            "--repo",
            &repo,
            "--tenant",
            &c.tenant_id,
            "--client-id",
            &c.client_id,
            "--graph-url",
            &graph_url,
            "--authority",
            &authority,
            "--categories",
            "mail",
            "--schedule",
            "every 2s",
            "--run-on",
            "server",
        ],
    )
    .await);
    let secret_file = env.dir.path().join("secret.txt");
    std::fs::write(&secret_file, &c.client_secret).unwrap();
    std::fs::write(env.dir.path().join("pw.txt"), "daemon-pw").unwrap();
    for (kind, file) in [
        ("client-secret", secret_file.clone()),
        ("repository-password", env.dir.path().join("pw.txt")),
    ] {
        ok(&run(
            &env,
            "d",
            &[
                "set",
                "secret",
                "Nightly",
                kind,
                "--from-file",
                file.to_str().unwrap(),
            ],
        )
        .await);
    }
    let logs = env.dir.path().join("logs");
    let mut daemon = qcb(
        &env,
        "d",
        &[
            "--log",
            "info",
            "daemon",
            "--poll",
            "1",
            "--log-dir",
            logs.to_str().unwrap(),
        ],
    )
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    loop {
        let h = json(&run(&env, "d", &["--json", "history"]).await);
        let done = h
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["status"] == "succeeded")
            .count();
        if done >= 2 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no two scheduled runs: {h}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let pid = daemon.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = tokio::task::spawn_blocking(move || daemon.wait().unwrap())
        .await
        .unwrap();
    assert!(
        status.success(),
        "the daemon ends cleanly on SIGTERM: {status:?}"
    );
    let h = json(&run(&env, "d", &["--json", "history"]).await);
    for r in h.as_array().unwrap() {
        assert_eq!(r["trigger"], "schedule");
        assert_ne!(r["status"], "running", "{r}");
    }
    // Logs went to a dated file, with the runs in them and no secret.
    let files: Vec<_> = std::fs::read_dir(&logs)
        .unwrap()
        .map(|f| f.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let name = files[0].file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.starts_with("qcbackup.") && name.ends_with(".log"),
        "{name}"
    );
    let log = std::fs::read_to_string(&files[0]).unwrap();
    assert!(log.contains("backup set run finished"), "{log}");
    assert!(!log.contains(&c.client_secret) && !log.contains("daemon-pw"));
    // Each run has its own log, which `history --show-log` prints.
    let first = h.as_array().unwrap().last().unwrap()["id"]
        .as_i64()
        .unwrap();
    let shown = run(
        &env,
        "d",
        &[
            "history",
            "--show-log",
            &first.to_string(),
            "--log-dir",
            logs.to_str().unwrap(),
        ],
    )
    .await;
    let text = String::from_utf8_lossy(&shown.stdout).into_owned();
    assert!(text.contains("backup finished"), "{text}");
    assert!(!text.contains(&c.client_secret) && !text.contains("daemon-pw"));
    let runs_dir = logs.join("runs");
    for r in h.as_array().unwrap() {
        if r["status"] == "succeeded" {
            let id = r["id"].as_i64().unwrap();
            let own = std::fs::read_to_string(runs_dir.join(format!("{id}.log"))).unwrap();
            assert!(own.contains("backup finished"), "run {id}: {own}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn test_connection_names_missing_permissions_and_sets_are_tested_the_way_they_sign_in() {
    let env = Env::new().await;
    let c = env.sim.credentials();
    let ok_run = common::run(&env, "pw", &["--json", "test-connection"]).await;
    let report = json(&ok_run);
    assert_eq!(report["directory"]["read"], "ok");
    assert_eq!(report["mailboxes"].as_array().unwrap().len(), 2);
    let text = String::from_utf8_lossy(&common::run(&env, "pw", &["test-connection"]).await.stdout)
        .into_owned();
    assert!(
        text.contains("MailboxSettings.ReadWrite") && text.contains("fix:"),
        "{text}"
    );

    env.sim
        .admin()
        .set_app_permissions(&c.client_id, &["User.Read.All", "Mail.ReadWrite"], &[])
        .unwrap();
    let refused = common::run(
        &env,
        "pw",
        &["--json", "test-connection", "--categories", "mail,contacts"],
    )
    .await;
    assert_eq!(refused.status.code(), Some(4), "{}", stderr(&refused));
    let r: serde_json::Value = serde_json::from_slice(&refused.stdout).unwrap();
    let contacts = &r["mailboxes"][0]["categories"][1];
    assert_eq!(contacts["category"], "contacts");
    assert_eq!(contacts["read"], "missing");
    assert_eq!(contacts["missing"][0], "Contacts.Read");

    // A saved set is tested with its own sign-in and selection.
    let repo = env.repo().display().to_string();
    let (graph_url, authority) = (env.sim.graph_url(), env.sim.base_url());
    let first = env.sim.admin().users()[0].user_principal_name.clone();
    ok(&run(
        &env,
        "t",
        &[
            "set",
            "create",
            "One",
            "--repo",
            &repo,
            "--tenant",
            &c.tenant_id,
            "--client-id",
            &c.client_id,
            "--graph-url",
            &graph_url,
            "--authority",
            &authority,
            "--categories",
            "mail",
            "--mailbox",
            &first,
        ],
    )
    .await);
    let tested = run_with(
        &env,
        "t",
        &[("QCBACKUP_CLIENT_SECRET", c.client_secret.as_str())],
        &["--json", "set", "test", "One"],
    )
    .await;
    let r: serde_json::Value = serde_json::from_slice(&tested.stdout).unwrap();
    assert_eq!(tested.status.code(), Some(0), "{}", stderr(&tested));
    assert_eq!(r["mailboxes"].as_array().unwrap().len(), 1);
    assert_eq!(r["mailboxes"][0]["mailbox"], first.as_str());
    assert_eq!(r["mailboxes"][0]["categories"][0]["write"], "ok");
}
