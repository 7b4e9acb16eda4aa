//! The standalone binary: flags, the printed base URL and credentials, and
//! that `--throttle` takes effect.

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};

use serde_json::Value;

/// Kills the server when the test ends, even by a panic.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn binary_prints_its_url_and_credentials_and_throttles() {
    let child = Command::new(env!("CARGO_BIN_EXE_qcb-graph-sim"))
        .args([
            "--seed",
            "1",
            "--users",
            "3",
            "--items",
            "20",
            "--throttle",
            "real",
            "--port",
            "0",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let mut child = Running(child);
    let stdout = child.0.stdout.take().expect("stdout");
    let lines: Vec<(String, String)> = tokio::task::spawn_blocking(move || {
        BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .take(7)
            .filter_map(|l| {
                l.split_once(": ")
                    .map(|(k, v)| (k.to_string(), v.to_string()))
            })
            .collect()
    })
    .await
    .expect("read");
    let get = |k: &str| {
        lines
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("no {k} in {lines:?}"))
    };
    assert_eq!(lines[0].0, "base_url");
    let base = get("base_url");
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    assert_eq!(get("throttle"), "real");
    let http = reqwest::Client::new();
    let token: Value = http
        .post(get("token_url"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", get("client_id").as_str()),
            ("client_secret", get("client_secret").as_str()),
            ("scope", "https://graph.microsoft.com/.default"),
        ])
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("json");
    let users: Value = http
        .get(format!("{}/users", get("graph_url")))
        .bearer_auth(token["access_token"].as_str().expect("token"))
        .send()
        .await
        .expect("users")
        .json()
        .await
        .expect("json");
    assert_eq!(users["value"].as_array().map(Vec::len), Some(3));
    let throttle: Value = http
        .get(format!("{base}/_sim/throttle"))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_eq!(throttle["enabled"], true);
    assert_eq!(throttle["requests_per_window"], 10_000);
    assert_eq!(throttle["time_scale"], 1.0);

    // `qcb-graph-sim activity`: user activity between two backups
    let out = tokio::task::spawn_blocking({
        let base = base.clone();
        move || {
            Command::new(env!("CARGO_BIN_EXE_qcb-graph-sim"))
                .args([
                    "activity",
                    "--url",
                    &base,
                    "--user",
                    "alice@contoso.example",
                    "--new-mail",
                    "4",
                    "--moves",
                    "2",
                    "--flag-changes",
                    "3",
                    "--deletions",
                    "2",
                    "--event-edits",
                    "1",
                ])
                .output()
                .expect("run")
        }
    })
    .await
    .expect("join");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).expect("report");
    assert_eq!(report["mailboxes"], 1, "{report}");
    assert_eq!(report["new_mail"], 4);
    assert_eq!(report["moves"], 2);
    assert_eq!(report["flag_changes"], 3);
    assert_eq!(report["deletions"], 2);
    assert_eq!(report["event_edits"], 1);
    let users: Value = http
        .get(format!("{base}/_sim/users"))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    let alice = users[0]["id"].as_str().expect("alice").to_string();
    let deleted: Value = http
        .get(format!(
            "{base}/_sim/users/{alice}/mailFolders/recoverableitemsdeletions/messages"
        ))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_eq!(deleted.as_array().map(Vec::len), Some(2), "{deleted}");
    drop(child);
}

#[test]
fn binary_refuses_a_bad_throttle() {
    let out = Command::new(env!("CARGO_BIN_EXE_qcb-graph-sim"))
        .args(["--throttle", "sometimes", "--users", "1", "--items", "1"])
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--throttle"));
}
