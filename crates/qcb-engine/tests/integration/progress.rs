//! Progress events carry speed, time left and throttling: a backup against the emulator with
//! Exchange's per-mailbox limits (shrunk so the test meets them) reports the requests waiting
//! on `Retry-After` and the time spent waiting, and a rate and an ETA while items move.

use std::sync::{Arc, Mutex};

use qcb_engine::{Phase, ProgressEvent};
use qcb_graph_sim::{SimOptions, SimServer, TenantSpec, ThrottleConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_reports_rate_eta_and_throttle_waits() {
    let mut throttle = ThrottleConfig::exchange().scaled(600.0);
    // 40 requests per (scaled) window of one second per mailbox: a 200-message mailbox meets it.
    throttle.requests_per_window = 40;
    let sim = SimServer::start_with(
        TenantSpec {
            seed: 9,
            users: 1,
            messages_per_user: 200,
            shared_mailboxes: None,
        },
        SimOptions {
            throttle,
            ..Default::default()
        },
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let repo = qcb_engine::RepoHandle::create(
        &dir.path().join("repo"),
        "pw",
        qcb_engine::KdfParams::insecure_for_tests(),
        &dir.path().join("cache"),
    )
    .unwrap();
    let graph = Arc::new(super::support::connection(&sim).client().unwrap());
    let events: Arc<Mutex<Vec<ProgressEvent>>> = Arc::default();
    let sink = events.clone();
    let report = qcb_engine::backup(
        graph.clone(),
        repo.repository().clone(),
        super::support::mail_opts(super::support::at(0), "t"),
        Arc::new(move |e: ProgressEvent| sink.lock().unwrap().push(e)),
    )
    .await
    .unwrap();
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    let events = events.lock().unwrap();
    let last = events.last().unwrap();
    assert_eq!(last.phase, Phase::Done);
    let stats = graph.stats();
    assert!(
        stats.throttled > 0,
        "the test must meet the throttle: {stats:?}"
    );
    assert_eq!(last.pace.requests, stats.requests);
    assert!(last.pace.throttle_wait_ms > 0, "{:?}", last.pace);
    assert!(
        events.iter().any(|e| e.pace.throttled_now > 0),
        "some event saw requests waiting on Retry-After"
    );
    assert!(
        events
            .iter()
            .any(|e| e.pace.items_per_second > 0.0 && e.pace.eta_seconds.is_some()),
        "a rate and a time left while items moved"
    );
    // Elapsed time only grows, and the rate stays within what is possible.
    assert!(
        events
            .windows(2)
            .all(|w| w[0].pace.elapsed_ms <= w[1].pace.elapsed_ms)
    );
    let secs = last.pace.elapsed_ms as f64 / 1000.0;
    assert!(
        events
            .iter()
            .all(|e| e.pace.items_per_second <= report.items as f64 / 0.5)
    );
    assert!(secs > 0.0);
}
