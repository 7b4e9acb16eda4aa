//! The client keeps Exchange's per-mailbox request budget itself: against the emulator with the
//! same limit (windows shortened), requests wait their turn instead of drawing 429s, and one
//! mailbox's budget never holds up another's.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use qcb_graph::{ClientSecret, GraphClient, MailboxBudget};
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
    let mut cfg = common::config(sim);
    cfg.client_secret = ClientSecret::new(sim.credentials().client_secret);
    Arc::new(GraphClient::new(cfg).unwrap().with_mailbox_budget(budget))
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
