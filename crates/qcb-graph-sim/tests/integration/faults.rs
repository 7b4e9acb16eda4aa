//! Fault injection by script and by seeded rate: 503/504 with and without
//! Retry-After, connection resets, truncated bodies, slow answers, expired
//! delta tokens, token revocation; the request log names the fault and the
//! timing.

use std::time::{Duration, Instant};

use qcb_graph_sim::{Fault, FaultConfig, FaultRule, SimOptions};
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::common::{self, graph_error_code, send};

const INBOX: &str = "/users/alice@contoso.example/mailFolders/inbox";

#[tokio::test]
async fn scripted_status_faults_hit_exactly_the_nth_matching_request() {
    let h = common::start(common::small()).await;
    let admin = h.sim.admin();
    admin.add_fault_rule(FaultRule::nth(
        2,
        "/mailFolders/inbox",
        Fault::ServiceUnavailable {
            retry_after: Some(7),
        },
    ));
    admin.add_fault_rule(FaultRule {
        method: Some("GET".into()),
        ..FaultRule::nth(1, "/users/bob", Fault::GatewayTimeout { retry_after: None })
    });
    admin.clear_request_log();

    let r1 = h.get(INBOX).send().await.expect("send");
    assert_eq!(r1.status(), StatusCode::OK);
    let r2 = h.get(INBOX).send().await.expect("send");
    assert_eq!(r2.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r2.headers()["retry-after"], "7");
    let v: Value = r2.json().await.expect("json");
    assert_eq!(graph_error_code(&v), "ServiceUnavailable");
    let r3 = h.get(INBOX).send().await.expect("send");
    assert_eq!(r3.status(), StatusCode::OK);

    let r4 = h
        .get("/users/bob@contoso.example/mailFolders")
        .send()
        .await
        .expect("send");
    assert_eq!(r4.status(), StatusCode::GATEWAY_TIMEOUT);
    assert!(!r4.headers().contains_key("retry-after"));
    let (s, _) = send(h.get("/users/bob@contoso.example/mailFolders")).await;
    assert_eq!(s, StatusCode::OK);

    let log = admin.request_log();
    let faults: Vec<Option<&str>> = log.iter().map(|r| r.fault.as_deref()).collect();
    assert_eq!(
        faults,
        vec![
            None,
            Some("service_unavailable"),
            None,
            Some("gateway_timeout"),
            None
        ]
    );
    assert_eq!(log[1].status, 503);
    // over HTTP too
    let over_http: Value = h.sim_json("/faults").await;
    assert_eq!(over_http["rules"].as_array().map(Vec::len), Some(2));
    h.sim.shutdown().await;
}

#[tokio::test]
async fn connection_reset_and_truncated_body() {
    let h = common::start(common::small()).await;
    let admin = h.sim.admin();
    admin.add_fault_rule(FaultRule::nth(
        1,
        "/mailFolders/inbox",
        Fault::ConnectionReset,
    ));
    let err = h.get(INBOX).send().await.expect_err("reset");
    assert!(!err.is_status(), "{err}");
    // the next request (on a new connection) is served
    let (s, _) = send(h.get(INBOX)).await;
    assert_eq!(s, StatusCode::OK);

    admin.add_fault_rule(FaultRule::nth(
        1,
        "/mailFolders/inbox/messages",
        Fault::TruncatedBody,
    ));
    let resp = h
        .get(&format!("{INBOX}/messages"))
        .send()
        .await
        .expect("headers arrive");
    assert_eq!(resp.status(), StatusCode::OK);
    let announced: usize = resp.headers()["content-length"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("number");
    assert!(announced > 100);
    assert!(resp.bytes().await.is_err(), "the body must break off");
    let (s, v) = send(h.get(&format!("{INBOX}/messages"))).await;
    assert_eq!(s, StatusCode::OK);
    assert!(v["value"].is_array());
    let log = admin.request_log();
    assert!(
        log.iter()
            .any(|r| r.fault.as_deref() == Some("connection_reset"))
    );
    assert!(
        log.iter()
            .any(|r| r.fault.as_deref() == Some("truncated_body"))
    );
    h.sim.shutdown().await;
}

#[tokio::test]
async fn slow_answers_are_timed_in_the_log() {
    let h = common::start(common::small()).await;
    let admin = h.sim.admin();
    admin.add_fault_rule(FaultRule::nth(
        1,
        "/mailFolders/inbox",
        Fault::Slow { millis: 400 },
    ));
    admin.clear_request_log();
    let t = Instant::now();
    let (s, _) = send(h.get(INBOX)).await;
    assert_eq!(s, StatusCode::OK);
    assert!(t.elapsed() >= Duration::from_millis(400));
    let log = admin.request_log();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].method, "GET");
    assert_eq!(
        log[0].path,
        "/v1.0/users/alice@contoso.example/mailFolders/inbox"
    );
    assert_eq!(log[0].status, 200);
    assert_eq!(log[0].mailbox.as_deref(), Some(h.alice().id.as_str()));
    assert_eq!(log[0].fault.as_deref(), Some("slow"));
    assert!(log[0].duration_ms >= 400, "{:?}", log[0]);
    h.sim.shutdown().await;
}

#[tokio::test]
async fn delta_tokens_that_expire() {
    let h = common::start(common::small()).await;
    let delta = format!("{INBOX}/messages/delta");
    let first = h.get_json(&delta).await;
    let next = first["@odata.nextLink"]
        .as_str()
        .expect("nextLink")
        .to_string();

    h.sim.admin().add_fault_rule(FaultRule {
        query_contains: Some("$skiptoken".into()),
        ..FaultRule::nth(1, "/messages/delta", Fault::SyncStateNotFound)
    });
    let (s, v) = send(h.get(&next)).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(graph_error_code(&v), "syncStateNotFound");

    h.sim.admin().add_fault_rule(FaultRule {
        query_contains: Some("$skiptoken".into()),
        ..FaultRule::nth(1, "/messages/delta", Fault::SyncStateGone)
    });
    let resp = h.get(&next).send().await.expect("send");
    assert_eq!(resp.status(), StatusCode::GONE);
    let location = resp.headers()["location"]
        .to_str()
        .expect("ascii")
        .to_string();
    assert_eq!(location, next.split('?').next().expect("path"));
    let v: Value = resp.json().await.expect("json");
    assert_eq!(graph_error_code(&v), "syncStateNotFound");
    // starting over from Location works
    let again = h.get_json(&location).await;
    assert!(again["value"].is_array());
    // and the token itself was never broken
    let (s, _) = send(h.get(&next)).await;
    assert_eq!(s, StatusCode::OK);
    h.sim.shutdown().await;
}

#[tokio::test]
async fn token_revocation_mid_run() {
    let h = common::start(common::small()).await;
    h.sim
        .admin()
        .add_fault_rule(FaultRule::nth(3, "/mailFolders", Fault::RevokeTokens));
    for _ in 0..2 {
        assert_eq!(send(h.get(INBOX)).await.0, StatusCode::OK);
    }
    let (s, v) = send(h.get(INBOX)).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(graph_error_code(&v), "InvalidAuthenticationToken");
    let (s, _) = send(h.get("/users")).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "every old token is revoked");
    let fresh = common::fetch_token(&h.http, &h.sim).await;
    let (s, _) = send(h.http.get(h.url(INBOX)).bearer_auth(&fresh)).await;
    assert_eq!(s, StatusCode::OK);
    // the admin API revokes too
    let resp = h
        .http
        .post(format!("{}/_sim/tokens/revoke", h.sim.base_url()))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let (s, _) = send(h.http.get(h.url(INBOX)).bearer_auth(&fresh)).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    h.sim.shutdown().await;
}

async fn statuses_under_rate(seed: u64) -> Vec<u16> {
    let options = SimOptions {
        faults: FaultConfig {
            seed,
            rate: 0.3,
            kinds: vec![
                Fault::ServiceUnavailable { retry_after: None },
                Fault::GatewayTimeout {
                    retry_after: Some(1),
                },
            ],
            ..FaultConfig::default()
        },
        ..SimOptions::default()
    };
    let h = common::start_with(common::small(), options).await;
    let mut out = Vec::new();
    for i in 0..40 {
        let (s, _) = send(h.get(&format!("{INBOX}/messages?$top={}", i % 7 + 1))).await;
        out.push(s.as_u16());
    }
    h.sim.shutdown().await;
    out
}

#[tokio::test]
async fn rate_faults_are_seeded_and_deterministic() {
    let a = statuses_under_rate(5).await;
    let b = statuses_under_rate(5).await;
    assert_eq!(a, b);
    let faulted = a.iter().filter(|s| **s != 200).count();
    assert!((4..=24).contains(&faulted), "{a:?}");
    assert!(a.iter().all(|s| [200, 503, 504].contains(s)), "{a:?}");
    assert_ne!(a, statuses_under_rate(6).await);
}

#[tokio::test]
async fn faults_over_the_admin_http_api() {
    let h = common::start(common::small()).await;
    let base = h.sim.base_url();
    let resp = h
        .http
        .post(format!("{base}/_sim/faults/rules"))
        .json(&json!({"path_contains": "/mailFolders/inbox", "nth": 1,
                      "fault": {"kind": "service_unavailable", "retry_after": 2}}))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let r = h.get(INBOX).send().await.expect("send");
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.headers()["retry-after"], "2");
    let resp = h
        .http
        .put(format!("{base}/_sim/faults"))
        .json(&json!({"seed": 1, "rate": 1.0, "kinds": [{"kind": "gateway_timeout"}]}))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert_eq!(send(h.get(INBOX)).await.0, StatusCode::GATEWAY_TIMEOUT);
    let resp = h
        .http
        .delete(format!("{base}/_sim/faults"))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert_eq!(send(h.get(INBOX)).await.0, StatusCode::OK);
    h.sim.shutdown().await;
}
