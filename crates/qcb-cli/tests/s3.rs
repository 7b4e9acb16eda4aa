//! The `qcbackup` binary with an `s3:` repository on a real S3-compatible server (SeaweedFS on
//! 127.0.0.1, started per test), backing up from the Graph emulator.

mod common;

#[path = "../../qcb-repo/tests/support/seaweedfs.rs"]
mod seaweedfs;

use common::*;
use seaweedfs::SeaweedFs;

async fn start_s3() -> SeaweedFs {
    tokio::task::spawn_blocking(SeaweedFs::start).await.unwrap()
}

fn s3_env<'a>(url: &'a str, secret: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("QCBACKUP_REPO", url),
        ("QCBACKUP_S3_ACCESS_KEY_ID", seaweedfs::ACCESS_KEY),
        ("QCBACKUP_S3_SECRET_ACCESS_KEY", secret),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn init_backup_snapshots_and_check_read_data_on_s3() {
    let env = Env::new().await;
    let server = start_s3().await;
    let url = server.url("cli/repo");
    let vars = s3_env(&url, seaweedfs::SECRET_KEY);

    let init = json(&run_env(&env, "pw", &vars, &["--json", "repo", "init"]).await);
    assert_eq!(init["location"].as_str().unwrap(), url);
    // A second init into the same prefix is refused.
    let again = run_env(&env, "pw", &vars, &["repo", "init"]).await;
    assert_eq!(again.status.code(), Some(1), "{}", stderr(&again));
    assert!(
        stderr(&again).contains("already contains"),
        "{}",
        stderr(&again)
    );

    let report = json(&run_env(&env, "pw", &vars, &["--json", "backup"]).await);
    assert!(report["items"].as_u64().unwrap() > 0);
    let snaps = json(&run_env(&env, "pw", &vars, &["--json", "snapshots"]).await);
    assert_eq!(snaps.as_array().unwrap().len(), 1);
    assert_eq!(snaps[0]["id"], report["snapshotId"]);
    let inbox = json(
        &run_env(
            &env,
            "pw",
            &vars,
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
    let check = json(&run_env(&env, "pw", &vars, &["--json", "check", "--read-data"]).await);
    assert_eq!(check["ok"], true, "{check}");
    // The human form too, and the keys never show anywhere.
    let human = run_env(&env, "pw", &vars, &["check", "--read-data"]).await;
    assert!(human.status.success(), "{}", stderr(&human));
    for o in [
        &human,
        &run_env(&env, "pw", &vars, &["--log", "debug", "snapshots"]).await,
    ] {
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(!all.contains(seaweedfs::SECRET_KEY), "{all}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_s3_locations_and_refused_keys_give_clear_errors() {
    let env = Env::new().await;
    let server = start_s3().await;
    let url = server.url("cli/denied");
    assert!(
        run_env(
            &env,
            "pw",
            &s3_env(&url, seaweedfs::SECRET_KEY),
            &["repo", "init"]
        )
        .await
        .status
        .success()
    );

    // A wrong secret: exit 4 (refused), naming the bucket and endpoint, never the secret.
    let o = run_env(
        &env,
        "pw",
        &s3_env(&url, "wrong-secret-value"),
        &["snapshots"],
    )
    .await;
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(4), "{err}");
    assert!(
        err.contains("access denied") && err.contains("\"qcb-test\""),
        "{err}"
    );
    assert!(err.contains(&server.endpoint), "{err}");
    assert!(!err.contains("wrong-secret-value"), "{err}");

    // Malformed locations and missing keys are usage errors (exit 2) that say what to fix.
    for (repo, vars, expect) in [
        (
            "s3:http://127.0.0.1:1",
            s3_env("", seaweedfs::SECRET_KEY),
            "no bucket",
        ),
        (
            "s3:ftp://127.0.0.1/bucket",
            s3_env("", seaweedfs::SECRET_KEY),
            "http or https",
        ),
        (url.as_str(), vec![], "QCBACKUP_S3_ACCESS_KEY_ID"),
    ] {
        let mut vars: Vec<(&str, &str)> = vars
            .into_iter()
            .filter(|(k, _)| *k != "QCBACKUP_REPO")
            .collect();
        vars.push(("QCBACKUP_REPO", repo));
        let o = run_env(&env, "pw", &vars, &["snapshots"]).await;
        assert_eq!(o.status.code(), Some(2), "{repo}: {}", stderr(&o));
        assert!(stderr(&o).contains(expect), "{repo}: {}", stderr(&o));
    }
}
