//! The unauthenticated `/_sim/` admin API.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::common;

#[tokio::test]
async fn sim_http_admin_api() {
    let h = common::start(common::small()).await;
    let base = format!("{}/_sim", h.sim.base_url());
    let admin = h.sim.admin();
    let alice = h.alice();

    let info: Value = h.sim_json("/info").await;
    assert_eq!(info["graph_url"], h.graph);
    assert_eq!(info["client_id"], h.sim.credentials().client_id);

    let users: Value = h.sim_json("/users").await;
    assert_eq!(users[0]["user_principal_name"], "alice@contoso.example");
    let folders: Value = h.sim_json(&format!("/users/{}/folders", alice.id)).await;
    assert!(
        folders
            .as_array()
            .expect("array")
            .iter()
            .any(|f| f["path"] == "Inbox/Projects/2026/Q4")
    );

    let before = admin.messages(&alice.id, "inbox").len();
    // empty body: a generated message
    let resp = h
        .http
        .post(format!(
            "{base}/users/{}/mailFolders/inbox/messages",
            alice.id
        ))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::CREATED);
    let generated: Value = resp.json().await.expect("json");
    let gid = generated["id"].as_str().expect("id").to_string();
    // explicit NewMessage JSON
    let resp = h
        .http
        .post(format!(
            "{base}/users/{}/mailFolders/inbox/messages",
            alice.user_principal_name
        ))
        .json(&json!({
            "subject": "Hallo über HTTP",
            "body": "plain text",
            "from": {"name": "Ext", "address": "ext@example.org"},
            "received_date_time": "2026-10-20T10:00:00Z",
            "attachments": [{"name": "a.txt", "content_type": "text/plain", "content": "aGVsbG8="}]
        }))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::CREATED);
    let explicit: Value = resp.json().await.expect("json");
    let eid = explicit["id"].as_str().expect("id").to_string();
    assert_eq!(admin.messages(&alice.id, "inbox").len(), before + 2);
    let m = admin.message(&alice.id, &eid).expect("stored");
    assert_eq!(m.subject, "Hallo über HTTP");
    assert_eq!(m.received_date_time, "2026-10-20T10:00:00Z");
    assert!(m.has_attachments && !m.is_draft && m.transport_headers.is_some());

    let resp = h
        .http
        .patch(format!("{base}/users/{}/messages/{eid}", alice.id))
        .json(&json!({"is_read": true, "flag_status": "flagged"}))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::OK);
    let after = admin.message(&alice.id, &eid).expect("stored");
    assert!(after.is_read);
    assert_ne!(after.change_key, m.change_key);

    let archive = h.folder(&alice.id, "Archive");
    let resp = h
        .http
        .post(format!("{base}/users/{}/messages/{eid}/move", alice.id))
        .json(&json!({"destinationId": archive.id}))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        admin.message(&alice.id, &eid).expect("moved").folder_id,
        archive.id
    );

    let resp = h
        .http
        .delete(format!("{base}/users/{}/messages/{gid}", alice.id))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert!(admin.message(&alice.id, &gid).is_none());
    let resp = h
        .http
        .delete(format!("{base}/users/{}/messages/{gid}", alice.id))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);

    let resp = h
        .http
        .post(format!(
            "{base}/users/{}/mailFolders/inbox/messages",
            alice.id
        ))
        .body("{bad json")
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    h.sim.shutdown().await;
}
