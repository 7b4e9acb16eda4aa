//! `POST /v1.0/$batch`: 20 requests at most, unique ids, `dependsOn`
//! ordering, 424 for dependents of failures, sub-requests throttled and
//! logged one by one, at most 4 at a time against one mailbox.

use std::time::{Duration, Instant};

use qcb_graph_sim::{Fault, FaultRule, SimOptions, ThrottleConfig};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::common::{self, Harness, graph_error_code, send};

async fn batch(h: &Harness, body: Value) -> (StatusCode, Value) {
    send(h.req(Method::POST, "/$batch").json(&body)).await
}

fn by_id<'a>(v: &'a Value, id: &str) -> &'a Value {
    v["responses"]
        .as_array()
        .expect("responses")
        .iter()
        .find(|r| r["id"] == id)
        .unwrap_or_else(|| panic!("no response {id} in {v}"))
}

#[tokio::test]
async fn batch_answers_each_request_and_fails_dependents_with_424() {
    let h = common::start(common::small()).await;
    let (status, v) = batch(
        &h,
        json!({"requests": [
            {"id": "1", "method": "GET", "url": "/users/alice@contoso.example/mailFolders/inbox"},
            {"id": "2", "method": "GET", "url": "/users/alice@contoso.example/messages/AAMkAGIbogus"},
            {"id": "3", "dependsOn": ["2"], "method": "GET", "url": "/users"},
            {"id": "4", "dependsOn": ["1"], "method": "POST",
             "url": "/users/alice@contoso.example/mailFolders",
             "headers": {"Content-Type": "application/json"},
             "body": {"displayName": "Made in a batch"}},
            {"id": "5", "dependsOn": ["3"], "method": "GET", "url": "/users"},
            {"id": "6", "method": "GET", "url": "users?$top=1"},
            {"id": "7", "method": "GET",
             "url": "/users/alice@contoso.example/mailFolders/inbox/messages?$filter=receivedDateTime ge 2020-01-01T00:00:00Z&$select=subject&$top=2"}
        ]}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v["responses"].as_array().map(Vec::len), Some(7));
    let r7 = by_id(&v, "7");
    assert_eq!(r7["status"], 200, "{r7}");
    assert_eq!(r7["body"]["value"].as_array().map(Vec::len), Some(2));
    let r1 = by_id(&v, "1");
    assert_eq!(r1["status"], 200);
    assert_eq!(r1["body"]["displayName"], "Inbox");
    assert!(
        r1["headers"]["Content-Type"]
            .as_str()
            .unwrap_or("")
            .starts_with("application/json")
    );
    let r2 = by_id(&v, "2");
    assert_eq!(r2["status"], 400);
    assert_eq!(graph_error_code(&r2["body"]), "ErrorInvalidIdMalformed");
    assert_eq!(by_id(&v, "3")["status"], 424);
    assert_eq!(by_id(&v, "5")["status"], 424, "failures cascade");
    let r4 = by_id(&v, "4");
    assert_eq!(r4["status"], 201);
    assert_eq!(r4["body"]["displayName"], "Made in a batch");
    assert_eq!(by_id(&v, "6")["status"], 200);
    assert!(
        h.sim
            .admin()
            .folders("alice@contoso.example")
            .iter()
            .any(|f| f.path == "Made in a batch")
    );
    // sub-requests are logged one by one, with their batch id, then the batch
    let log = h.sim.admin().request_log();
    let subs: Vec<_> = log.iter().filter(|r| r.batch_id.is_some()).collect();
    assert_eq!(subs.len(), 5, "{log:#?}");
    assert!(
        subs.iter()
            .any(|r| r.batch_id.as_deref() == Some("4") && r.method == "POST" && r.status == 201)
    );
    let last = log.last().expect("batch logged");
    assert_eq!(
        (last.method.as_str(), last.path.as_str()),
        ("POST", "/v1.0/$batch")
    );
    h.sim.shutdown().await;
}

#[tokio::test]
async fn dependson_orders_requests() {
    let h = common::start(common::small()).await;
    let inbox = h.folder("alice@contoso.example", "Inbox").id;
    let (status, v) = batch(
        &h,
        json!({"requests": [
            {"id": "c", "dependsOn": ["b"], "method": "GET",
             "url": format!("/users/alice@contoso.example/mailFolders/{inbox}/childFolders?$top=50")},
            {"id": "b", "dependsOn": ["a"], "method": "POST",
             "url": format!("/users/alice@contoso.example/mailFolders/{inbox}/childFolders"),
             "headers": {"content-type": "application/json"},
             "body": {"displayName": "Second"}},
            {"id": "a", "method": "POST",
             "url": format!("/users/alice@contoso.example/mailFolders/{inbox}/childFolders"),
             "headers": {"content-type": "application/json"},
             "body": {"displayName": "First"}}
        ]}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let names: Vec<&str> = by_id(&v, "c")["body"]["value"]
        .as_array()
        .expect("value")
        .iter()
        .filter_map(|f| f["displayName"].as_str())
        .collect();
    assert!(
        names.contains(&"First") && names.contains(&"Second"),
        "{names:?}"
    );
    let log = h.sim.admin().request_log();
    let order: Vec<&str> = log.iter().filter_map(|r| r.batch_id.as_deref()).collect();
    assert_eq!(order, vec!["a", "b", "c"]);
    h.sim.shutdown().await;
}

#[tokio::test]
async fn malformed_batches_fail_whole() {
    let h = common::start(common::small()).await;
    let get = |id: &str| json!({"id": id, "method": "GET", "url": "/users"});
    let cases = [
        json!({"requests": (0..21).map(|i| get(&i.to_string())).collect::<Vec<_>>()}),
        json!({"requests": [get("a"), get("A")]}),
        json!({"requests": [get("1"), {"id": "2", "method": "GET", "url": "/users", "dependsOn": ["9"]}]}),
        json!({"requests": [{"id": "1", "method": "POST", "url": "/users/alice@contoso.example/mailFolders", "body": {"displayName": "x"}}]}),
        json!({"requests": [{"id": "1", "dependsOn": ["2"], "method": "GET", "url": "/users"},
                            {"id": "2", "dependsOn": ["1"], "method": "GET", "url": "/users"}]}),
        json!({"nothing": []}),
    ];
    for (i, body) in cases.into_iter().enumerate() {
        let (status, v) = batch(&h, body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "case {i}: {v}");
        assert_eq!(graph_error_code(&v), "BadRequest", "case {i}");
    }
    // 20 is fine
    let (status, v) = batch(
        &h,
        json!({"requests": (0..20).map(|i| get(&i.to_string())).collect::<Vec<_>>()}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v["responses"].as_array().map(Vec::len), Some(20));
    // the batch needs a token itself
    let (status, _) = send(
        h.http
            .post(h.url("/$batch"))
            .json(&json!({"requests": [get("1")]})),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    h.sim.shutdown().await;
}

#[tokio::test]
async fn sub_requests_count_against_the_mailbox_and_get_their_own_429() {
    let options = SimOptions {
        throttle: ThrottleConfig {
            requests_per_window: 3,
            ..ThrottleConfig::exchange()
        },
        ..SimOptions::default()
    };
    let h = common::start_with(common::small(), options).await;
    let reqs: Vec<Value> = (0..5)
        .map(|i| json!({"id": i.to_string(), "method": "GET", "url": "/users/alice@contoso.example/mailFolders/inbox"}))
        .chain(std::iter::once(
            json!({"id": "bob", "method": "GET", "url": "/users/bob@contoso.example/mailFolders/inbox"}),
        ))
        .collect();
    let (status, v) = batch(&h, json!({ "requests": reqs })).await;
    assert_eq!(status, StatusCode::OK);
    let statuses: Vec<u64> = (0..5)
        .map(|i| by_id(&v, &i.to_string())["status"].as_u64().unwrap_or(0))
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        3,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        2,
        "{statuses:?}"
    );
    let throttled = (0..5)
        .map(|i| by_id(&v, &i.to_string()))
        .find(|r| r["status"] == 429)
        .expect("a 429");
    assert!(
        throttled["headers"]["Retry-After"].is_string(),
        "{throttled}"
    );
    assert_eq!(graph_error_code(&throttled["body"]), "TooManyRequests");
    assert_eq!(by_id(&v, "bob")["status"], 200);
    // and the window is now used up outside the batch too
    assert_eq!(
        send(h.get("/users/alice@contoso.example/mailFolders/inbox"))
            .await
            .0,
        StatusCode::TOO_MANY_REQUESTS
    );
    h.sim.shutdown().await;
}

#[tokio::test]
async fn at_most_four_sub_requests_run_at_once_against_a_mailbox() {
    let h = common::start_with(
        common::small(),
        SimOptions {
            throttle: ThrottleConfig::exchange(),
            ..SimOptions::default()
        },
    )
    .await;
    h.sim.admin().add_fault_rule(FaultRule {
        times: 0,
        ..FaultRule::nth(1, "/mailFolders/inbox", Fault::Slow { millis: 400 })
    });
    let reqs: Vec<Value> = (0..8)
        .map(|i| json!({"id": i.to_string(), "method": "GET", "url": "/users/alice@contoso.example/mailFolders/inbox"}))
        .collect();
    let t = Instant::now();
    let (status, v) = batch(&h, json!({ "requests": reqs })).await;
    let took = t.elapsed();
    assert_eq!(status, StatusCode::OK);
    // none was refused by the 4-concurrent limit: the batch queues them
    for i in 0..8 {
        assert_eq!(by_id(&v, &i.to_string())["status"], 200);
    }
    assert!(
        took >= Duration::from_millis(800),
        "two rounds of 4: {took:?}"
    );
    assert!(
        took < Duration::from_millis(2800),
        "not one by one: {took:?}"
    );
    h.sim.shutdown().await;
}
