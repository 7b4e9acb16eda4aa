//! The request log records method, path, query, status and mailbox.

use reqwest::StatusCode;
use serde_json::Value;

use super::common::{self, send};

#[tokio::test]
async fn request_log_records_calls() {
    let h = common::start(common::small()).await;
    let admin = h.sim.admin();
    let alice = h.alice();
    // the token call of the harness is logged
    let log = admin.request_log();
    assert!(
        log.iter().any(|r| r.method == "POST"
            && r.path.ends_with("/oauth2/v2.0/token")
            && r.status == 200)
    );
    admin.clear_request_log();
    assert!(admin.request_log().is_empty());

    h.get_json("/users?$top=1").await;
    h.get_json("/users/alice@contoso.example/mailFolders/inbox/messages?$select=subject")
        .await;
    let (status, _) = send(h.get("/users/alice@contoso.example/messages/AAMkAGIbogus")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = send(h.http.get(h.url("/users"))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // admin HTTP calls are not logged
    let via_http: Vec<Value> = h.sim_json("/log").await;

    let log = admin.request_log();
    assert_eq!(log.len(), 4, "{log:#?}");
    assert_eq!(via_http.len(), 4);
    assert_eq!(
        (
            log[0].method.as_str(),
            log[0].path.as_str(),
            log[0].query.as_str(),
            log[0].status
        ),
        ("GET", "/v1.0/users", "$top=1", 200)
    );
    assert_eq!(log[0].mailbox, None);
    assert_eq!(
        log[1].path,
        "/v1.0/users/alice@contoso.example/mailFolders/inbox/messages"
    );
    assert_eq!(log[1].query, "$select=subject");
    assert_eq!(log[1].mailbox.as_deref(), Some(alice.id.as_str()));
    assert_eq!(log[2].status, 400);
    assert_eq!(log[2].mailbox.as_deref(), Some(alice.id.as_str()));
    assert_eq!(log[3].status, 401);
    assert!(log.iter().all(|r| !r.request_id.is_empty()));

    let resp = h
        .http
        .delete(format!("{}/_sim/log", h.sim.base_url()))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert!(admin.request_log().is_empty());
    h.sim.shutdown().await;
}

#[tokio::test]
async fn logged_paths_are_percent_decoded() {
    let h = common::start(common::small()).await;
    let admin = h.sim.admin();
    let alice = h.alice();
    let m = admin.messages(&alice.id, "inbox").remove(0);
    admin.clear_request_log();
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let url = format!(
        "/users/{}/messages/{}/$value",
        enc(&alice.user_principal_name),
        enc(&m.regular_id)
    );
    assert!(url.contains("%40") && url.contains("%3D"));
    h.get_bytes(&url).await;
    let log = admin.request_log();
    assert_eq!(
        log[0].path,
        format!(
            "/v1.0/users/{}/messages/{}/$value",
            alice.user_principal_name, m.regular_id
        )
    );
    assert_eq!(log[0].mailbox.as_deref(), Some(alice.id.as_str()));
    h.sim.shutdown().await;
}
