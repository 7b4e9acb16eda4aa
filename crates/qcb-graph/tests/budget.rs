//! The client keeps Exchange's per-mailbox request budget itself: against the emulator with the
//! same limit (windows shortened), requests wait their turn instead of drawing 429s, and one
//! mailbox's budget never holds up another's.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use qcb_graph::{GraphClient, MailboxBudget};
use qcb_graph_sim::{SimOptions, SimServer, ThrottleConfig};

async fn sim(per_window: u64) -> SimServer {
    let mut throttle = ThrottleConfig::exchange().scaled(600.0); // 600 s → 1 s
    throttle.requests_per_window = per_window;
    SimServer::start_with(
        common::small(),
        SimOptions {
            throttle,
            ..Default::default()
        },
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap()
}

fn client(sim: &SimServer, budget: Option<MailboxBudget>) -> Arc<GraphClient> {
    Arc::new(
        GraphClient::new(common::app_config(sim))
            .unwrap()
            .with_mailbox_budget(budget),
    )
}

/// `n` requests on one mailbox, four at a time (Exchange's concurrency limit); how many
/// failed (throttled beyond the client's retries).
async fn hammer(g: &Arc<GraphClient>, user: &str, n: usize) -> usize {
    let sem = Arc::new(tokio::sync::Semaphore::new(4));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..n {
        let (g, sem, user) = (g.clone(), sem.clone(), user.to_string());
        tasks.spawn(async move {
            let _p = sem.acquire_owned().await.unwrap();
            g.probe(&format!("/users/{user}/mailFolders?$top=1")).await
        });
    }
    let mut failed = 0;
    while let Some(r) = tasks.join_next().await {
        failed += usize::from(r.unwrap().is_err());
    }
    failed
}

fn answered_429(sim: &SimServer) -> usize {
    sim.admin()
        .request_log()
        .iter()
        .filter(|r| r.status == 429)
        .count()
}

#[tokio::test(flavor = "multi_thread")]
async fn requests_wait_their_turn_instead_of_drawing_429s() {
    let sim = sim(20).await;
    let users = sim.admin().users();
    let (alice, bob) = (users[0].id.clone(), users[1].id.clone());
    let g = client(
        &sim,
        // A margin under the emulator's 20: with one-second windows, a busy test machine
        // delays some requests by more than Exchange's real ten minutes ever would.
        Some(MailboxBudget {
            requests: 15,
            window: Duration::from_secs(1),
        }),
    );
    let started = Instant::now();
    assert_eq!(hammer(&g, &alice, 57).await, 0);
    let took = started.elapsed();
    assert_eq!(
        answered_429(&sim),
        0,
        "the budget kept every request under the limit"
    );
    assert!(
        took >= Duration::from_millis(2900),
        "57 requests at 15 a second: {took:?}"
    );
    let stats = g.stats();
    assert_eq!(stats.throttled, 0);
    assert!(stats.throttle_wait_ms > 0, "{stats:?}");

    // Bob's budget is his own: right after Alice's run, his requests go at once.
    let started = Instant::now();
    assert_eq!(hammer(&g, &bob, 15).await, 0);
    assert!(
        started.elapsed() < Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(answered_429(&sim), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_budget_the_same_run_is_throttled() {
    let sim = sim(20).await;
    let alice = sim.admin().users()[0].id.clone();
    let g = client(&sim, None);
    hammer(&g, &alice, 57).await;
    // (Some requests may even fail for good: the test client gives up after three tries.)
    assert!(answered_429(&sim) > 0, "the emulator enforces the limit");
    assert!(g.stats().throttled > 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_upload_larger_than_the_upload_window_waits_out_each_retry_after() {
    // 4 MB of uploads per 300 s, 300 s lasting 5 s: a 10 MB attachment needs three windows,
    // and its chunks are answered 429 in between, with waits of up to 5 s. The client waits
    // each Retry-After (holding the mailbox's other requests too) and the attachment arrives
    // whole.
    let mut throttle = ThrottleConfig::exchange().scaled(60.0);
    throttle.upload_bytes_per_window = 4 * 1024 * 1024;
    let sim = SimServer::start_with(
        common::small(),
        SimOptions {
            throttle,
            ..Default::default()
        },
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let alice = sim.admin().users()[0].id.clone();
    let mut cfg = common::app_config(&sim);
    // The shipped policy (the tests' own caps each wait at 200 ms, shorter than a window).
    cfg.retry = qcb_graph::RetryPolicy::default();
    let g = Arc::new(
        GraphClient::new(cfg)
            .unwrap()
            .with_mailbox_budget(Some(MailboxBudget::exchange())),
    );
    let inbox = g.well_known_folder(&alice, "inbox").await.unwrap().unwrap();
    let created = g
        .create_message(
            &alice,
            &inbox.id,
            &serde_json::json!({ "subject": "Scans", "body": { "contentType": "text", "content": "attached" } }),
        )
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap();
    let bytes: Vec<u8> = (0..10_000_000u32).map(|i| (i % 251) as u8).collect();
    g.upload_message_attachment(
        &alice,
        id,
        &qcb_graph::UploadFile {
            name: "scans.pdf",
            content_type: "application/pdf",
            is_inline: false,
            content_id: None,
            bytes: &bytes,
        },
    )
    .await
    .unwrap();
    assert!(answered_429(&sim) > 0, "the upload window was exceeded");
    let m = sim.admin().message(&alice, id).unwrap();
    assert_eq!(m.attachment_names, ["scans.pdf"]);
    assert!(g.stats().throttled > 0);
}
