//! Peak memory of the emulator serving a full delta enumeration of a large
//! tenant (100 users x 10,000 messages and its 10 shared mailboxes:
//! 1,100,000 messages). Ignored by default (minutes of CPU); run it against
//! a release build of the binary:
//!
//! ```text
//! cargo build -p qcb-graph-sim --release --bin qcb-graph-sim
//! QCB_SIM_BIN=target/release/qcb-graph-sim \
//!   cargo nextest run -p qcb-graph-sim --run-ignored only --no-capture large_tenant
//! ```
//!
//! `QCB_RSS_USERS`, `QCB_RSS_ITEMS`, `QCB_RSS_CONCURRENCY` (mailboxes
//! enumerated at once, default 4 like the engine) and
//! `QCB_RSS_RESIDENT` (`--resident-mailboxes`) change the run. It prints
//! the emulator's peak RSS (VmHWM) and, with the default resident limit,
//! fails above 1 GiB.

use std::collections::HashSet;
use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

use futures_util::StreamExt as _;
use serde::Deserialize;
use serde::de::IgnoredAny;

/// Kills the server when the test ends, even by a panic.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The engine's `$select` for message delta (qcb-graph's MESSAGE_SELECT).
const SELECT: &str = "id,changeKey,parentFolderId,subject,from,sender,toRecipients,ccRecipients,bccRecipients,replyTo,receivedDateTime,sentDateTime,createdDateTime,lastModifiedDateTime,isRead,isDraft,importance,flag,categories,hasAttachments,internetMessageId,conversationId,inferenceClassification";

#[derive(Deserialize)]
struct Page<T> {
    value: Vec<T>,
    #[serde(rename = "@odata.nextLink")]
    next: Option<String>,
    #[serde(rename = "@odata.deltaLink")]
    delta: Option<String>,
}

#[derive(Deserialize)]
struct Id {
    id: String,
    #[serde(rename = "changeKey")]
    _change_key: Option<IgnoredAny>,
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `VmHWM` (peak resident set) of a process, in KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

struct Client {
    http: reqwest::Client,
    graph: String,
    token: String,
}

impl Client {
    async fn page<T: for<'de> Deserialize<'de>>(&self, url: &str) -> Page<T> {
        let url = if url.starts_with("http") {
            url.to_string()
        } else {
            format!("{}{url}", self.graph)
        };
        let resp = self
            .http
            .get(&url)
            .bearer_auth(&self.token)
            .header("Prefer", "IdType=\"ImmutableId\"")
            .header("Prefer", "odata.maxpagesize=50")
            .send()
            .await
            .expect("send");
        assert!(resp.status().is_success(), "{url}: {}", resp.status());
        let bytes = resp.bytes().await.expect("body");
        serde_json::from_slice(&bytes).expect("page json")
    }

    /// Every id of a delta round.
    async fn round(&self, first: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut url = first.to_string();
        loop {
            let p: Page<Id> = self.page(&url).await;
            out.extend(p.value.into_iter().map(|i| i.id));
            match (p.next, p.delta) {
                (Some(n), _) => url = n,
                (None, Some(_)) => return out,
                (None, None) => panic!("page without nextLink or deltaLink"),
            }
        }
    }

    /// Unique messages of a mailbox, through folder and message delta.
    async fn mailbox(&self, user: &str) -> usize {
        let folders = self
            .round(&format!("/users/{user}/mailFolders/delta?$select=id"))
            .await;
        let mut total = 0;
        for f in folders {
            let ids = self
                .round(&format!(
                    "/users/{user}/mailFolders/{f}/messages/delta?$select={SELECT}"
                ))
                .await;
            total += ids.into_iter().collect::<HashSet<_>>().len();
        }
        total
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "minutes of CPU; run with a release binary (see the module doc)"]
async fn large_tenant_full_delta_enumeration_peak_rss() {
    let users = env_usize("QCB_RSS_USERS", 100);
    let items = env_usize("QCB_RSS_ITEMS", 10_000);
    let concurrency = env_usize("QCB_RSS_CONCURRENCY", 4).max(1);
    let bin = std::env::var("QCB_SIM_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_qcb-graph-sim").to_string());
    let mut args = vec![
        "--seed".to_string(),
        "1".into(),
        "--users".into(),
        users.to_string(),
        "--items".into(),
        items.to_string(),
        "--port".into(),
        "0".into(),
    ];
    if let Ok(r) = std::env::var("QCB_RSS_RESIDENT") {
        args.extend(["--resident-mailboxes".to_string(), r]);
    }
    let started = Instant::now();
    let child = Command::new(&bin)
        .args(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn the emulator");
    let mut child = Running(child);
    let pid = child.0.id();
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
    let startup_rss = peak_rss_kib(pid);
    let http = reqwest::Client::new();
    let token: serde_json::Value = http
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
        .expect("token json");
    let client = Arc::new(Client {
        http,
        graph: get("graph_url"),
        token: token["access_token"].as_str().expect("token").to_string(),
    });
    let mut mailboxes = Vec::new();
    let mut url = "/users?$select=id&$top=999".to_string();
    loop {
        let p: Page<Id> = client.page(&url).await;
        mailboxes.extend(p.value.into_iter().map(|u| u.id));
        match p.next {
            Some(n) => url = n,
            None => break,
        }
    }
    let expected_mailboxes = users + users / 10;
    assert_eq!(mailboxes.len(), expected_mailboxes);

    let counts: Vec<usize> = futures_util::stream::iter(mailboxes.clone())
        .map(|u| {
            let c = client.clone();
            async move { c.mailbox(&u).await }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let total: usize = counts.iter().sum();
    let elapsed = started.elapsed();
    let peak = peak_rss_kib(pid);
    let info: serde_json::Value = client
        .http
        .get(format!("{}/_sim/info", get("base_url")))
        .send()
        .await
        .expect("info")
        .json()
        .await
        .expect("info json");
    println!(
        "large tenant: {} mailboxes x {items} messages = {total} messages enumerated by delta \
         ({concurrency} mailboxes at a time) in {:.0} s; emulator peak RSS {} MiB \
         (after start {} MiB); resident mailboxes at the end {}, mailbox generations {}",
        mailboxes.len(),
        elapsed.as_secs_f64(),
        peak / 1024,
        startup_rss / 1024,
        info["resident_mailboxes"],
        info["mailbox_generations"],
    );
    assert!(counts.iter().all(|&c| c == items), "{counts:?}");
    assert_eq!(total, expected_mailboxes * items);
    if std::env::var("QCB_RSS_RESIDENT").is_err() {
        // The default resident limit (4 mailboxes).
        assert!(peak < 1024 * 1024, "peak RSS {peak} KiB is above 1 GiB");
    }
}
