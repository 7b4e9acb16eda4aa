//! Black-box tests of the `qcbackup` binary against the emulator.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;

#[tokio::test(flavor = "multi_thread")]
async fn init_backup_list_browse_restore_check() {
    let env = Env::new().await;
    let init = run(&env, "pw", &["--json", "repo", "init"]).await;
    assert_eq!(
        json(&init)["location"].as_str().unwrap(),
        env.repo().to_str().unwrap()
    );

    // Every mailbox of the tenant, two at a time.
    let backup = run(
        &env,
        "pw",
        &["--json", "backup", "--mailbox-concurrency", "2"],
    )
    .await;
    let report = json(&backup);
    assert!(report["items"].as_u64().unwrap() > 0);
    assert_eq!(report["mailboxes"], env.sim.admin().users().len());
    assert!(
        stderr(&backup)
            .lines()
            .any(|l| l.starts_with("{\"progress\"")),
        "progress as JSON lines on stderr"
    );

    let snaps = json(&run(&env, "pw", &["--json", "snapshots"]).await);
    assert_eq!(snaps.as_array().unwrap().len(), 1);
    let id = snaps[0]["id"].as_str().unwrap().to_string();
    assert_eq!(id, report["snapshotId"].as_str().unwrap());

    let top = json(&run(&env, "pw", &["--json", "ls", &id[..8]]).await);
    let mailboxes: Vec<&str> = top["folders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert!(
        mailboxes.contains(&"alice@contoso.example"),
        "{mailboxes:?}"
    );
    let inbox = json(
        &run(
            &env,
            "pw",
            &[
                "--json",
                "ls",
                "latest",
                "/alice@contoso.example/Mail/Inbox",
            ],
        )
        .await,
    );
    assert!(!inbox["items"].as_array().unwrap().is_empty());

    let human = run(&env, "pw", &["ls", "latest", "/alice@contoso.example/Mail"]).await;
    assert!(String::from_utf8_lossy(&human.stdout).contains("/alice@contoso.example/Mail/Inbox/"));

    let restored = json(
        &run(
            &env,
            "pw",
            &[
                "--json",
                "restore",
                "latest",
                "/alice@contoso.example/Mail/Inbox",
                "--to-folder",
                "CLI restore",
            ],
        )
        .await,
    );
    assert_eq!(
        restored["itemsRestored"].as_u64().unwrap() as usize,
        inbox_total(&env)
    );
    // The same restore again (`--to folder NAME`) skips everything.
    let again = json(
        &run(
            &env,
            "pw",
            &[
                "--json",
                "restore",
                "latest",
                "/alice@contoso.example/Mail/Inbox",
                "--to",
                "folder",
                "CLI restore",
            ],
        )
        .await,
    );
    assert_eq!(again["itemsRestored"], 0);
    assert_eq!(
        again["itemsSkipped"].as_u64().unwrap() as usize,
        inbox_total(&env)
    );
    // A dry run of keeping both copies of Alice's contacts in place lists one write per contact
    // and writes nothing.
    let admin = env.sim.admin();
    let alice = admin
        .users()
        .into_iter()
        .find(|u| u.user_principal_name.starts_with("alice"))
        .unwrap();
    let contacts = || -> usize {
        admin
            .contact_folders(&alice.id)
            .iter()
            .map(|f| admin.contacts(&alice.id, &f.id).len())
            .sum()
    };
    let before = contacts();
    let dry = json(
        &run(
            &env,
            "pw",
            &[
                "--json",
                "restore",
                "latest",
                "/alice@contoso.example/Contacts",
                "--to",
                "original",
                "--on-conflict",
                "keep-both",
                "--dry-run",
            ],
        )
        .await,
    );
    assert_eq!(dry["dryRun"], true);
    assert_eq!(dry["targetFolder"], "");
    assert_eq!(dry["planned"].as_array().unwrap().len(), before);
    assert_eq!(contacts(), before);
    let bad = run(
        &env,
        "pw",
        &[
            "restore",
            "latest",
            "/alice@contoso.example",
            "--to",
            "elsewhere",
        ],
    )
    .await;
    assert_eq!(bad.status.code(), Some(1));
    // No snapshot is that old.
    let old = run(
        &env,
        "pw",
        &[
            "restore",
            "latest",
            "/alice@contoso.example/Contacts",
            "--at-or-before",
            "2000-01-01",
            "--no-recursive",
            "--dry-run",
        ],
    )
    .await;
    assert_eq!(old.status.code(), Some(5), "{}", stderr(&old));
    assert!(stderr(&bad).contains("use `original` or `folder NAME`"));
    // `/`: every mailbox of the snapshot, each into itself, one report each.
    let all = json(
        &run(
            &env,
            "pw",
            &[
                "--json",
                "restore",
                "latest",
                "/",
                "--to",
                "original",
                "--mailbox-concurrency",
                "2",
                "--dry-run",
            ],
        )
        .await,
    );
    let names: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["mailbox"].as_str().unwrap())
        .collect();
    assert_eq!(
        names, mailboxes,
        "one report per mailbox, in snapshot order"
    );
    assert!(all.as_array().unwrap().iter().all(|r| r["dryRun"] == true));
    let into_one = run(
        &env,
        "pw",
        &[
            "restore",
            "latest",
            "/",
            "--to-mailbox",
            "bob@contoso.example",
        ],
    )
    .await;
    assert_eq!(into_one.status.code(), Some(1), "{}", stderr(&into_one));
    assert!(stderr(&into_one).contains("each back into itself"));
    let check = json(&run(&env, "pw", &["--json", "check"]).await);
    assert_eq!(check["ok"], true);
}

fn inbox_total(env: &Env) -> usize {
    let admin = env.sim.admin();
    let alice = admin
        .users()
        .into_iter()
        .find(|u| u.user_principal_name.starts_with("alice"))
        .unwrap();
    admin
        .folders(&alice.id)
        .iter()
        .filter(|f| f.path == "Inbox" || f.path.starts_with("Inbox/"))
        .map(|f| admin.messages(&alice.id, &f.id).len())
        .sum()
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_gives_clear_messages_and_documented_exit_codes() {
    let env = Env::new().await;
    // Not a repository yet.
    let o = run(&env, "pw", &["snapshots"]).await;
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("is not a QCBackup repository"),
        "{}",
        stderr(&o)
    );

    assert!(run(&env, "pw", &["repo", "init"]).await.status.success());
    // Init twice refuses and keeps the repository.
    let o = run(&env, "other", &["repo", "init"]).await;
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("already contains a repository"),
        "{}",
        stderr(&o)
    );

    let o = run(&env, "wrong", &["snapshots"]).await;
    assert_eq!(o.status.code(), Some(4));
    assert!(stderr(&o).contains("wrong password"), "{}", stderr(&o));

    let o = run(&env, "pw", &["ls", "0123abcd"]).await;
    assert_eq!(o.status.code(), Some(5));
    assert!(stderr(&o).contains("no snapshot matches"), "{}", stderr(&o));

    let o = run(&env, "pw", &["--json", "ls", "nothex!"]).await;
    assert_eq!(o.status.code(), Some(5));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["error"]["code"], "not_found");

    let mut cmd = env.cmd("pw");
    cmd.env("QCBACKUP_GRAPH_URL", "http://127.0.0.1:9/v1.0")
        .env("QCBACKUP_AUTHORITY", "http://127.0.0.1:9")
        .arg("backup");
    let o = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("cannot reach"), "{}", stderr(&o));

    let mut cmd = env.cmd("pw");
    cmd.env_remove("QCBACKUP_PASSWORD").arg("snapshots");
    let o = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("QCBACKUP_PASSWORD"), "{}", stderr(&o));

    // Usage errors are clap's exit status 2.
    let o = run(&env, "pw", &["restore", "latest"]).await;
    assert_eq!(o.status.code(), Some(2));
    for n in ["0", "65", "many"] {
        let o = run(&env, "pw", &["backup", "--mailbox-concurrency", n]).await;
        assert_eq!(o.status.code(), Some(2), "{n}");
        assert!(
            stderr(&o).contains("--mailbox-concurrency"),
            "{}",
            stderr(&o)
        );
    }
    assert!(
        Path::new(&env.repo()).join("config").exists(),
        "nothing stored was lost"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn demo_backs_up_and_restores_the_demo_tenant() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_qcbackup"));
    cmd.env_clear().env("TMPDIR", dir.path()).arg("demo");
    let o = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{out}\n{}", stderr(&o));
    assert!(out.contains("snapshot "), "{out}");
    assert!(
        out.contains("(2 downloaded"),
        "the incremental run downloads the added and the changed message: {out}"
    );
    let verified = out
        .lines()
        .find(|l| l.starts_with("verified: "))
        .unwrap_or_else(|| panic!("{out}"));
    let words: Vec<&str> = verified.split_whitespace().collect();
    assert_eq!(
        words[1], words[3],
        "all restored messages verified: {verified}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn versions_retention_prune_keys_and_catalog_through_the_cli() {
    let env = Env::new().await;
    json(&run(&env, "pw", &["--json", "repo", "init"]).await);
    json(&run(&env, "pw", &["--json", "backup", "--tag", "set-a"]).await);

    // Delete one message from the mailbox, then back up twice more.
    let admin = env.sim.admin();
    let alice = admin
        .users()
        .into_iter()
        .find(|u| u.user_principal_name.starts_with("alice"))
        .unwrap();
    let inbox = admin
        .folders(&alice.id)
        .into_iter()
        .find(|f| f.path == "Inbox")
        .unwrap();
    let victim = admin.messages(&alice.id, &inbox.id)[0].id.clone();
    assert!(admin.delete_message(&alice.id, &victim));
    json(&run(&env, "pw", &["--json", "backup", "--tag", "set-a"]).await);
    json(&run(&env, "pw", &["--json", "backup", "--tag", "set-a"]).await);

    let versions = json(&run(&env, "pw", &["--json", "versions", &victim]).await);
    assert_eq!(versions.as_array().unwrap().len(), 1, "{versions}");
    assert!(
        versions[0]["path"]
            .as_str()
            .unwrap()
            .contains("/Mail/Inbox/")
    );

    // A dry run says what would go and why, and changes nothing.
    let dry = json(
        &run(
            &env,
            "pw",
            &["--json", "forget", "--keep-last", "1", "--dry-run"],
        )
        .await,
    );
    let gone: Vec<_> = dry["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["keep"] == false)
        .collect();
    assert_eq!(gone.len(), 2, "{dry}");
    let snaps = json(&run(&env, "pw", &["--json", "snapshots"]).await);
    assert_eq!(snaps.as_array().unwrap().len(), 3);
    let human = run(&env, "pw", &["forget", "--keep-last", "1", "--dry-run"]).await;
    assert!(String::from_utf8_lossy(&human.stdout).contains("would remove"));

    // With a deleted-item retention the first snapshot (the last one holding the deleted
    // message) stays; the middle one goes. Prune frees its data; check reads everything back.
    let forget = json(
        &run(
            &env,
            "pw",
            &[
                "--json",
                "forget",
                "--keep-last",
                "1",
                "--keep-deleted",
                "30d",
                "--prune",
            ],
        )
        .await,
    );
    assert_eq!(forget["removed"], 1, "{forget}");
    // The prune's report, in the same camelCase as every other report.
    let prune = &forget["prune"];
    assert_eq!(prune["dryRun"], false, "{prune}");
    assert!(prune["packsBefore"].as_u64().unwrap() > 0, "{prune}");
    assert!(prune["bytesRemoved"].is_u64(), "{prune}");
    assert!(prune.get("packs_before").is_none(), "{prune}");
    let kept_first = &forget["entries"][0];
    assert_eq!(kept_first["keep"], true);
    assert!(
        kept_first["reasons"][0]
            .as_str()
            .unwrap()
            .contains("deleted-item retention"),
        "{kept_first}"
    );
    let check = json(&run(&env, "pw", &["--json", "check", "--read-data"]).await);
    assert_eq!(check["ok"], true, "{check}");
    assert!(check["report"]["blobsVerified"].as_u64().unwrap() > 0);
    let versions = json(&run(&env, "pw", &["--json", "versions", &victim]).await);
    assert_eq!(versions.as_array().unwrap().len(), 1);
    let bad = run(&env, "pw", &["forget"]).await;
    assert_eq!(bad.status.code(), Some(1), "{}", stderr(&bad));
    assert!(stderr(&bad).contains("no keep rule"), "{}", stderr(&bad));

    // Keys: add a second password, change it, remove nothing that would lock us out.
    json(
        &run_env(
            &env,
            "pw",
            &[("QCBACKUP_NEW_PASSWORD", "second")],
            &["--json", "repo", "key", "add"],
        )
        .await,
    );
    let keys = json(&run(&env, "second", &["--json", "repo", "key", "list"]).await);
    assert_eq!(keys.as_array().unwrap().len(), 2);
    json(
        &run_env(
            &env,
            "second",
            &[("QCBACKUP_NEW_PASSWORD", "third")],
            &["--json", "repo", "key", "passwd"],
        )
        .await,
    );
    let old = run(&env, "second", &["snapshots"]).await;
    assert_eq!(old.status.code(), Some(4), "{}", stderr(&old));
    json(&run(&env, "third", &["--json", "snapshots"]).await);
    let first_key = keys
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["current"] == false)
        .map(|k| k["id"].as_str().unwrap().to_string())
        .unwrap();
    json(
        &run(
            &env,
            "third",
            &["--json", "repo", "key", "remove", &first_key[..10]],
        )
        .await,
    );
    assert_eq!(run(&env, "pw", &["snapshots"]).await.status.code(), Some(4));

    // The catalog is a cache: rebuilt from the repository alone.
    std::fs::remove_dir_all(env.dir.path().join("cache")).unwrap();
    let rebuilt = json(&run(&env, "third", &["--json", "repo", "rebuild-catalog"]).await);
    assert_eq!(rebuilt["snapshots"], 2);
    let top = json(&run(&env, "third", &["--json", "ls", "latest"]).await);
    assert_eq!(top["folders"].as_array().unwrap().len(), 2);
    let locks = json(&run(&env, "third", &["--json", "repo", "locks"]).await);
    assert_eq!(
        locks.as_array().unwrap().len(),
        0,
        "no lock outlives its command"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_app_signs_in_with_a_certificate_instead_of_a_secret() {
    let env = Env::new().await;
    json(&run(&env, "pw", &["--json", "repo", "init"]).await);
    let fixtures =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../qcb-graph-sim/tests/fixtures");
    let cert = std::fs::read_to_string(fixtures.join("app-cert.pem")).unwrap();
    let key = std::fs::read_to_string(fixtures.join("app-key.pem")).unwrap();
    let pem = env.dir.path().join("app.pem");
    std::fs::write(&pem, format!("{cert}\n{key}")).unwrap();
    let backup = || {
        let mut cmd = env.cmd("pw");
        cmd.env_remove("QCBACKUP_CLIENT_SECRET")
            .env("QCBACKUP_CLIENT_CERTIFICATE", &pem)
            .args(["backup", "--categories", "mail"]);
        tokio::task::spawn_blocking(move || cmd.output().unwrap())
    };

    // A certificate the app registration does not have is refused at sign-in: exit 4.
    let refused = backup().await.unwrap();
    assert_eq!(refused.status.code(), Some(4), "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains("AADSTS700027"),
        "{}",
        stderr(&refused)
    );

    // Registered on the app, it signs in and the backup runs.
    let client_id = env.sim.credentials().client_id;
    env.sim
        .admin()
        .add_app_certificate(&client_id, &cert, None)
        .unwrap();
    let ok = backup().await.unwrap();
    assert!(ok.status.success(), "{}", stderr(&ok));
    let out = format!("{}{}", String::from_utf8_lossy(&ok.stdout), stderr(&ok));
    assert!(out.contains("snapshot "), "{out}");
    assert!(!out.contains("PRIVATE KEY"), "the key is never printed");

    // Without a secret or a certificate, the message says how to sign in.
    let mut cmd = env.cmd("pw");
    cmd.env_remove("QCBACKUP_CLIENT_SECRET").arg("backup");
    let none = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    assert!(
        stderr(&none).contains("--client-certificate"),
        "{}",
        stderr(&none)
    );
}
