//! Microsoft's own Graph SDK for Python (`msgraph-sdk` from PyPI) against
//! the emulator: `tests/sdk/graph_sdk_check.py` lists users, mail folders,
//! the inbox through messages/delta (nextLinks to the deltaLink), contacts
//! and events, with the SDK's request adapter pointed at the emulator; once
//! as is and once with throttling on, where the SDK's RetryHandler must get
//! through the 429s.
//!
//! The Python venv comes from `scripts/bootstrap.sh test` (at
//! `$QCB_GRAPH_SDK_VENV`, default `${XDG_CACHE_HOME:-~/.cache}/qcbackup/graph-sdk-venv`);
//! nothing is downloaded here. Without it these tests fail, saying so.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use qcb_graph_sim::{SimOptions, ThrottleConfig};
use serde_json::Value;

use super::common::{self, Harness};

const ALICE: &str = "alice@contoso.example";

fn venv_python() -> PathBuf {
    let venv = std::env::var_os("QCB_GRAPH_SDK_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let cache = std::env::var_os("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .unwrap_or_else(|| {
                    PathBuf::from(std::env::var_os("HOME").expect("HOME is set")).join(".cache")
                });
            cache.join("qcbackup/graph-sdk-venv")
        });
    let python = venv.join("bin/python");
    assert!(
        python.exists(),
        "the msgraph-sdk Python venv is missing at {}: run `scripts/bootstrap.sh test` \
         (it creates the venv and pip-installs crates/qcb-graph-sim/tests/sdk/requirements.txt), \
         or point QCB_GRAPH_SDK_VENV at such a venv",
        venv.display()
    );
    python
}

/// Runs the SDK script against `h` and returns what it printed.
async fn run_sdk(h: &Harness) -> Value {
    let python = venv_python();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/sdk/graph_sdk_check.py");
    let c = h.sim.credentials();
    let args = [
        h.sim.graph_url(),
        h.sim.token_url(),
        c.client_id,
        c.client_secret,
        ALICE.to_string(),
    ];
    let out = tokio::task::spawn_blocking(move || {
        let dir = std::env::temp_dir();
        static RUN: AtomicUsize = AtomicUsize::new(0);
        let tag = format!(
            "qcb-sdk-{}-{}",
            std::process::id(),
            RUN.fetch_add(1, Ordering::Relaxed)
        );
        let stdout_path = dir.join(format!("{tag}.out"));
        let stderr_path = dir.join(format!("{tag}.err"));
        let mut child = Command::new(&python)
            .arg(&script)
            .args(&args)
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env("PYTHONUNBUFFERED", "1")
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&stdout_path).expect("stdout file"))
            .stderr(std::fs::File::create(&stderr_path).expect("stderr file"))
            .spawn()
            .unwrap_or_else(|e| {
                panic!("run {}: {e} (scripts/bootstrap.sh test)", python.display())
            });
        let deadline = Instant::now() + Duration::from_secs(180);
        let status = loop {
            if let Some(s) = child.try_wait().expect("wait") {
                break Some(s);
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let stdout = std::fs::read_to_string(&stdout_path).unwrap_or_default();
        let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
        let _ = std::fs::remove_file(&stdout_path);
        let _ = std::fs::remove_file(&stderr_path);
        (status, stdout, stderr)
    })
    .await
    .expect("join");
    let (status, stdout, stderr) = out;
    let status = status.unwrap_or_else(|| panic!("the SDK script ran over 180 s\n{stderr}"));
    assert!(
        status.success(),
        "the SDK script failed ({status}):\nstdout: {stdout}\nstderr: {stderr}"
    );
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

/// Checks what the SDK saw against the emulator's own answers.
async fn check_against_emulator(h: &Harness, v: &Value) {
    let users: Vec<String> = h.sim.admin().users().into_iter().map(|u| u.mail).collect();
    let seen: Vec<String> = v["users"]
        .as_array()
        .expect("users")
        .iter()
        .map(|u| u.as_str().expect("upn").to_string())
        .collect();
    assert_eq!(seen, users);
    assert!(v["user_pages"].as_u64().expect("pages") >= 2, "{v}");

    let folders: Vec<String> = h
        .get_all(&format!("/users/{ALICE}/mailFolders"))
        .await
        .iter()
        .map(|f| f["displayName"].as_str().expect("name").to_string())
        .collect();
    let seen: Vec<&str> = v["folders"]
        .as_array()
        .expect("folders")
        .iter()
        .map(|f| f.as_str().expect("name"))
        .collect();
    assert_eq!(seen, folders);
    assert_eq!(v["folder_pages"], 2, "11 root folders, pages of 10");

    let alice = h.alice().id;
    let inbox = h.folder(&alice, "Inbox").id;
    let mut ids: Vec<String> = h
        .sim
        .admin()
        .messages(&alice, &inbox)
        .into_iter()
        .map(|m| m.regular_id)
        .collect();
    ids.sort();
    let seen: Vec<String> = v["inbox_delta_ids"]
        .as_array()
        .expect("ids")
        .iter()
        .map(|i| i.as_str().expect("id").to_string())
        .collect();
    assert!(!ids.is_empty());
    assert_eq!(seen, ids, "every inbox message, through delta");
    let pages = v["inbox_delta_pages"].as_u64().expect("pages") as usize;
    assert!(pages >= ids.len().div_ceil(7), "{pages} pages of 7");
    assert_eq!(
        v["inbox_delta_again"], 0,
        "nothing changed since the deltaLink"
    );
    assert_eq!(v["inbox_delta_link_is_absolute"], true);

    let contacts = h.get_all(&format!("/users/{ALICE}/contacts")).await.len();
    assert!(contacts > 0);
    assert_eq!(v["contacts"], contacts);
    let events = h.get_all(&format!("/users/{ALICE}/events")).await;
    assert!(!events.is_empty());
    assert_eq!(v["events"], events.len());
    let subjects: Vec<&Value> = events.iter().map(|e| &e["subject"]).collect();
    assert_eq!(
        v["event_subjects"].as_array().expect("subjects").len(),
        subjects.len()
    );
    assert_eq!(v["token_requests"], 1);
}

#[tokio::test]
async fn msgraph_sdk_lists_users_folders_delta_messages_contacts_and_events() {
    let h = common::start(common::small()).await;
    let v = run_sdk(&h).await;
    check_against_emulator(&h, &v).await;
    // The SDK called delta as a function (`delta()`), which Graph accepts.
    let log = h.sim.admin().request_log();
    assert!(
        log.iter()
            .any(|r| r.path.ends_with("/messages/delta()") && r.status == 200),
        "{log:?}"
    );
    assert!(log.iter().all(|r| r.status == 200), "{log:?}");
    h.sim.shutdown().await;
}

#[tokio::test]
async fn msgraph_sdk_retry_handler_gets_through_throttling() {
    // 6 requests per 10 minutes per mailbox, 10 minutes lasting 1.5 s: the
    // SDK's requests for alice's mailbox get 429 with Retry-After 1 or 2.
    let mut throttle = ThrottleConfig::exchange().scaled(400.0);
    throttle.requests_per_window = 6;
    let h = common::start_with(
        common::small(),
        SimOptions {
            throttle,
            ..SimOptions::default()
        },
    )
    .await;
    let v = run_sdk(&h).await;
    let log = h.sim.admin().request_log();
    let throttled = log.iter().filter(|r| r.status == 429).count();
    assert!(throttled >= 1, "no 429 in {log:?}");
    // Every 429 was retried until it succeeded: the SDK finished, and each
    // throttled path was later answered 200.
    for r in log.iter().filter(|r| r.status == 429) {
        assert!(
            log.iter()
                .any(|o| o.status == 200 && o.path == r.path && o.query == r.query),
            "{} {}?{} was never retried successfully",
            r.method,
            r.path,
            r.query
        );
    }
    // Compare with the emulator's own answers, without throttling.
    h.sim.admin().set_throttle(ThrottleConfig::off());
    check_against_emulator(&h, &v).await;
    h.sim.shutdown().await;
}
