//! `qcbackup export` against the emulator: a dry run, a folder of .eml files, a zip of .mbox
//! files read back by Python's `mailbox`, icalendar and vobject, and the exit codes.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use serde_json::json;

const ALICE: &str = "alice@contoso.example";

/// The parsers' venv (scripts/bootstrap.sh makes it). Missing is a failure, not a skip.
fn checker_python() -> PathBuf {
    let venv = std::env::var_os("QCB_EXPORT_CHECK_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            std::env::var_os("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cache"))
                .join("qcbackup/export-check-venv")
        });
    let python = venv.join("bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/bootstrap.sh test",
        python.display()
    );
    python
}

fn check(target: &Path, expected: &serde_json::Value) -> serde_json::Value {
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../qcb-engine/tests/export/check_export.py");
    let exp = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(exp.path(), serde_json::to_vec(expected).unwrap()).unwrap();
    let out = std::process::Command::new(checker_python())
        .arg(&script)
        .arg(target)
        .arg(exp.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn export_dry_run_eml_folder_and_mbox_zip() {
    let env = Env::new().await;
    json(&run(&env, "pw", &["--json", "repo", "init"]).await);
    json(&run(&env, "pw", &["--json", "backup"]).await);
    let admin = env.sim.admin();
    let alice = admin
        .users()
        .into_iter()
        .find(|u| u.user_principal_name == ALICE)
        .unwrap();
    let subjects: Vec<String> = admin
        .folders(&alice.id)
        .iter()
        .flat_map(|f| admin.messages(&alice.id, &f.id))
        .map(|m| m.subject)
        .collect();
    let out_dir = env.dir.path().join("export");
    let out = out_dir.to_str().unwrap();
    let mailbox = format!("/{ALICE}");

    // A dry run lists the files and writes nothing.
    let dry = json(
        &run(
            &env,
            "pw",
            &[
                "--json",
                "export",
                "latest",
                &mailbox,
                "--to",
                out,
                "--dry-run",
            ],
        )
        .await,
    );
    assert_eq!(dry["dryRun"], json!(true));
    assert_eq!(dry["messages"].as_u64().unwrap() as usize, subjects.len());
    assert!(!out_dir.exists());
    let human = run(
        &env,
        "pw",
        &["export", "latest", &mailbox, "--to", out, "--dry-run"],
    )
    .await;
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(text.contains("would export"), "{text}");
    assert!(text.contains(&format!("{ALICE}/Mail/Inbox/")), "{text}");

    // The real thing: .eml files, .ics and .vcf.
    let report = json(
        &run(
            &env,
            "pw",
            &["--json", "export", "latest", &mailbox, "--to", out],
        )
        .await,
    );
    assert_eq!(report["files"], dry["files"]);
    assert!(report["failed"].as_array().unwrap().is_empty());
    let summary = check(
        &out_dir,
        &json!({"subjects": subjects, "eml_files": subjects.len()}),
    );
    assert!(summary["events"].as_u64().unwrap() > 0);
    assert!(summary["contacts"].as_u64().unwrap() > 0);

    // Again into the same folder: refused (exit 1, invalid_input).
    let again = run(
        &env,
        "pw",
        &["--json", "export", "latest", &mailbox, "--to", out],
    )
    .await;
    assert_eq!(again.status.code(), Some(1));
    assert_eq!(json_err(&again)["code"], json!("invalid_input"));

    // Mail as .mbox, in a zip.
    let zip = env.dir.path().join("mail.zip");
    let report = json(
        &run(
            &env,
            "pw",
            &[
                "--json",
                "export",
                "latest",
                &format!("{mailbox}/Mail"),
                "--to",
                zip.to_str().unwrap(),
                "--format",
                "mbox",
                "--zip",
            ],
        )
        .await,
    );
    assert_eq!(report["zip"], json!(true));
    check(
        &zip,
        &json!({"subjects": subjects, "mbox_files": report["files"], "eml_files": 0}),
    );

    // A path that is not in the snapshot: exit 5.
    let missing = run(
        &env,
        "pw",
        &[
            "export",
            "latest",
            &format!("{mailbox}/Mail/Nope"),
            "--to",
            env.dir.path().join("x").to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(missing.status.code(), Some(5), "{}", stderr(&missing));
    // An unknown format is bad usage: exit 2.
    let bad = run(
        &env,
        "pw",
        &["export", "latest", &mailbox, "--to", out, "--format", "pst"],
    )
    .await;
    assert_eq!(bad.status.code(), Some(2));
}

fn json_err(o: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap()["error"].clone()
}
