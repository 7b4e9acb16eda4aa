//! Exchange's per-app-per-mailbox throttling: request window, concurrency
//! of 4, upload bytes; 429 with Retry-After and Graph's body; isolation
//! between mailboxes; off by default; changeable through `/_sim/throttle`.

use std::time::{Duration, Instant};

use qcb_graph_sim::{Fault, FaultConfig, FaultRule, SimOptions, ThrottleConfig};
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::common::{self, Harness, graph_error_code, send};

const ALICE_INBOX: &str = "/users/alice@contoso.example/mailFolders/inbox";
const BOB_INBOX: &str = "/users/bob@contoso.example/mailFolders/inbox";

fn limits(f: impl FnOnce(&mut ThrottleConfig)) -> SimOptions {
    let mut throttle = ThrottleConfig::exchange();
    f(&mut throttle);
    SimOptions {
        throttle,
        ..SimOptions::default()
    }
}

async fn status_and_retry(h: &Harness, path: &str) -> (StatusCode, Option<String>, Value) {
    let resp = h.get(path).send().await.expect("send");
    let status = resp.status();
    let retry = resp
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().expect("ascii").to_string());
    let text = resp.text().await.expect("text");
    (
        status,
        retry,
        serde_json::from_str(&text).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn request_window_is_per_mailbox_and_slides() {
    // 5 requests per 10 minutes, 10 minutes compressed into 5 s.
    let h = common::start_with(
        common::small(),
        limits(|t| {
            t.requests_per_window = 5;
            t.time_scale = 120.0;
        }),
    )
    .await;
    for _ in 0..5 {
        assert_eq!(status_and_retry(&h, ALICE_INBOX).await.0, StatusCode::OK);
    }
    let (status, retry, v) = status_and_retry(&h, ALICE_INBOX).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = retry.expect("Retry-After").parse().expect("seconds");
    assert!((1..=5).contains(&wait), "{wait}");
    assert_eq!(graph_error_code(&v), "TooManyRequests");
    assert_eq!(v["error"]["innerError"]["code"], "429");
    // another mailbox, and the directory, are not affected
    assert_eq!(status_and_retry(&h, BOB_INBOX).await.0, StatusCode::OK);
    assert_eq!(status_and_retry(&h, "/users").await.0, StatusCode::OK);
    // the window slides: after Retry-After, alice is served again
    tokio::time::sleep(Duration::from_millis(wait * 1000 + 100)).await;
    assert_eq!(status_and_retry(&h, ALICE_INBOX).await.0, StatusCode::OK);
    // the throttled request is in the log as a 429 for alice
    let alice = h.alice().id;
    assert!(
        h.sim
            .admin()
            .request_log()
            .iter()
            .any(|r| r.status == 429 && r.mailbox.as_deref() == Some(alice.as_str()))
    );
    h.sim.shutdown().await;
}

#[tokio::test]
async fn real_limits_use_the_documented_retry_after() {
    let h = common::start_with(common::small(), limits(|t| t.requests_per_window = 2)).await;
    for _ in 0..2 {
        assert_eq!(status_and_retry(&h, ALICE_INBOX).await.0, StatusCode::OK);
    }
    let (status, retry, _) = status_and_retry(&h, ALICE_INBOX).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    let secs: u64 = retry.expect("Retry-After").parse().expect("seconds");
    assert!((590..=600).contains(&secs), "{secs}");
    h.sim.shutdown().await;
}

#[tokio::test]
async fn four_concurrent_requests_per_mailbox_and_others_are_not_slowed() {
    let mut options = limits(|_| {});
    options.faults = FaultConfig {
        rules: vec![FaultRule {
            times: 0,
            ..FaultRule::nth(
                1,
                "/users/alice@contoso.example/mailFolders",
                Fault::Slow { millis: 1500 },
            )
        }],
        ..FaultConfig::default()
    };
    let h = common::start_with(common::small(), options).await;
    let alice = async {
        futures_util::future::join_all(
            (0..6).map(|_| async { h.get(ALICE_INBOX).send().await.expect("send").status() }),
        )
        .await
    };
    let bob = async {
        tokio::time::sleep(Duration::from_millis(150)).await;
        let t = Instant::now();
        let s = h.get(BOB_INBOX).send().await.expect("send").status();
        (s, t.elapsed())
    };
    let (statuses, (bob_status, bob_took)) = tokio::join!(alice, bob);
    let ok = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    let throttled = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!((ok, throttled), (4, 2), "{statuses:?}");
    assert_eq!(bob_status, StatusCode::OK);
    assert!(bob_took < Duration::from_millis(1200), "{bob_took:?}");
    h.sim.shutdown().await;
}

#[tokio::test]
async fn upload_bytes_per_window() {
    let h = common::start_with(
        common::small(),
        limits(|t| t.upload_bytes_per_window = 100_000),
    )
    .await;
    let body = json!({
        "subject": "big",
        "body": {"contentType": "text", "content": "x".repeat(60_000)},
    });
    let (s1, _) = send(
        h.req(
            reqwest::Method::POST,
            "/users/alice@contoso.example/messages",
        )
        .json(&body),
    )
    .await;
    assert_eq!(s1, StatusCode::CREATED);
    let resp = h
        .req(
            reqwest::Method::POST,
            "/users/alice@contoso.example/messages",
        )
        .json(&body)
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(resp.headers().contains_key("retry-after"));
    let v: Value = resp.json().await.expect("json");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("IncomingBytes"),
        "{v}"
    );
    // reads of the same mailbox still pass
    assert_eq!(status_and_retry(&h, ALICE_INBOX).await.0, StatusCode::OK);
    h.sim.shutdown().await;
}

#[tokio::test]
async fn a_request_refused_before_its_body_is_read_leaves_the_connection_open() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // One request per window: the first uses it, the rest are answered 429 at once.
    let h = common::start_with(common::small(), limits(|t| t.requests_per_window = 1)).await;
    assert_eq!(status_and_retry(&h, ALICE_INBOX).await.0, StatusCode::OK);
    let addr = h.sim.graph_url();
    let addr = addr
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap()
        .to_string();
    let mut sock = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let body = format!(
        "{{\"subject\":\"big\",\"body\":{{\"contentType\":\"text\",\"content\":\"{}\"}}}}",
        "x".repeat(600_000)
    );
    // A large create, then a read, on the same connection: both are answered.
    let requests = [
        format!(
            "POST /v1.0/users/alice@contoso.example/messages HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            h.token,
            body.len()
        ),
        format!(
            "GET /v1.0/users/alice@contoso.example/mailFolders/inbox HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\n\r\n",
            h.token
        ),
    ];
    for request in requests {
        sock.write_all(request.as_bytes()).await.unwrap();
        // Read one response: headers, then Content-Length bytes of body.
        let mut got = Vec::new();
        let mut buf = [0u8; 8192];
        let head_end = loop {
            let n = sock.read(&mut buf).await.unwrap();
            assert!(n > 0, "the connection was closed");
            got.extend_from_slice(&buf[..n]);
            if let Some(i) = got.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
        };
        let head = String::from_utf8_lossy(&got[..head_end]).to_ascii_lowercase();
        assert!(head.starts_with("http/1.1 429"), "{head}");
        let len: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        while got.len() < head_end + len {
            let n = sock.read(&mut buf).await.unwrap();
            assert!(n > 0, "the connection was closed mid-answer");
            got.extend_from_slice(&buf[..n]);
        }
    }
    h.sim.shutdown().await;
}

#[tokio::test]
async fn off_by_default_and_switched_on_through_the_admin_api() {
    let h = common::start(common::small()).await;
    assert!(!h.sim.admin().throttle().enabled);
    for _ in 0..30 {
        assert_eq!(status_and_retry(&h, ALICE_INBOX).await.0, StatusCode::OK);
    }
    let cfg: Value = h.sim_json("/throttle").await;
    assert_eq!(cfg["enabled"], false);
    assert_eq!(cfg["requests_per_window"], 10_000);
    assert_eq!(cfg["max_concurrent"], 4);
    let resp = h
        .http
        .put(format!("{}/_sim/throttle", h.sim.base_url()))
        .json(&json!({"enabled": true, "requests_per_window": 1}))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert_eq!(status_and_retry(&h, BOB_INBOX).await.0, StatusCode::OK);
    assert_eq!(
        status_and_retry(&h, BOB_INBOX).await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
    // counters reset
    let resp = h
        .http
        .post(format!("{}/_sim/throttle/reset", h.sim.base_url()))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert_eq!(status_and_retry(&h, BOB_INBOX).await.0, StatusCode::OK);
    h.sim.shutdown().await;
}
