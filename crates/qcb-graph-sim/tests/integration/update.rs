//! PATCH, DELETE, move and attachment routes of Graph.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use reqwest::{Method, StatusCode};
use serde_json::json;

use super::common::{self, IMMUTABLE, graph_error_code, send};

#[tokio::test]
async fn patch_delete_move_and_attachments() {
    let h = common::start(common::small()).await;
    let admin = h.sim.admin();
    let alice = h.alice();
    let uid = &alice.id;
    let received = admin
        .messages(uid, "inbox")
        .into_iter()
        .find(|m| !m.is_draft)
        .expect("received message");

    // PATCH flags: new changeKey
    let (status, v) = send(
        h.req(Method::PATCH, &format!("/users/{uid}/messages/{}", received.id))
            .json(&json!({"isRead": !received.is_read, "flag": {"flagStatus": "complete"}, "categories": ["Kunde"]})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["isRead"], !received.is_read);
    assert_eq!(v["flag"]["flagStatus"], "complete");
    assert_ne!(v["changeKey"].as_str(), Some(received.change_key.as_str()));
    // subject of a received message cannot change
    let (status, v) = send(
        h.req(
            Method::PATCH,
            &format!("/users/{uid}/messages/{}", received.id),
        )
        .json(&json!({"subject": "x"})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        graph_error_code(&v),
        "ErrorInvalidPropertyUpdateSentMessage"
    );

    // a custom extended property can be set on a received message and read back with
    // $expand; the MAPI properties the emulator models (flags, dates, headers) cannot change
    let named = "String {6f1c2a9e-4b7d-4e35-9a0c-5d8e3f2b1a74} Name Marker";
    let url = format!("/users/{uid}/messages/{}", received.id);
    let (status, v) = send(
        h.req(Method::PATCH, &url)
            .json(&json!({"singleValueExtendedProperties": [{"id": named, "value": "complete"}]})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let read = common::json_ok(h.get(&format!(
        "{url}?$select=id&$expand=singleValueExtendedProperties($filter=id eq '{named}')"
    )))
    .await;
    assert_eq!(
        read["singleValueExtendedProperties"],
        json!([{"id": named, "value": "complete"}])
    );
    let (status, v) =
        send(h.req(Method::PATCH, &url).json(
            &json!({"singleValueExtendedProperties": [{"id": "Integer 0x0E07", "value": "0"}]}),
        ))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");

    // move: new regular id, same immutable id, old regular id gone
    let (status, moved) = send(
        h.req(
            Method::POST,
            &format!("/users/{uid}/messages/{}/move", received.regular_id),
        )
        .json(&json!({"destinationId": "archive"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{moved}");
    let new_regular = moved["id"].as_str().expect("id");
    assert_ne!(new_regular, received.regular_id);
    assert_eq!(
        moved["parentFolderId"].as_str(),
        Some(h.folder(uid, "Archive").id.as_str())
    );
    let (status, v) = send(h.get(&format!("/users/{uid}/messages/{}", received.regular_id))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(graph_error_code(&v), "ErrorItemNotFound");
    let same = common::json_ok(
        h.get(&format!("/users/{uid}/messages/{}", received.id))
            .header("prefer", IMMUTABLE),
    )
    .await;
    assert_eq!(same["id"].as_str(), Some(received.id.as_str()));
    common::json_ok(h.get(&format!("/users/{uid}/messages/{new_regular}"))).await;

    // attachments: add, list, get, $value
    let (status, att) = send(
        h.req(Method::POST, &format!("/users/{uid}/messages/{}/attachments", received.id))
            .header("prefer", IMMUTABLE)
            .json(&json!({"@odata.type": "#microsoft.graph.fileAttachment", "name": "notiz.txt", "contentType": "text/plain", "contentBytes": STANDARD.encode("Grüße")})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{att}");
    let aid = att["id"].as_str().expect("aid");
    let list = common::json_ok(
        h.get(&format!(
            "/users/{uid}/messages/{}/attachments",
            received.id
        ))
        .header("prefer", IMMUTABLE),
    )
    .await;
    assert!(
        list["value"]
            .as_array()
            .expect("value")
            .iter()
            .any(|a| a["id"] == aid)
    );
    let one = common::json_ok(h.get(&format!(
        "/users/{uid}/messages/{}/attachments/{aid}",
        received.id
    )))
    .await;
    assert_eq!(one["name"], "notiz.txt");
    assert_eq!(one["size"], "Grüße".len());
    let raw = h
        .get_bytes(&format!(
            "/users/{uid}/messages/{}/attachments/{aid}/$value",
            received.id
        ))
        .await;
    assert_eq!(raw, "Grüße".as_bytes());
    assert!(
        admin
            .message(uid, &received.id)
            .expect("msg")
            .attachment_names
            .contains(&"notiz.txt".to_string())
    );

    // delete
    let resp = h
        .req(
            Method::DELETE,
            &format!("/users/{uid}/messages/{}", received.id),
        )
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    // a soft delete: out of the inbox, into Recoverable Items > Deletions,
    // still readable by its immutable id, gone with its regular id
    let deletions = admin
        .folder(uid, "recoverableitemsdeletions")
        .expect("Deletions folder");
    let (status, v) = send(h.get(&format!("/users/{uid}/messages/{}", received.id))).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["parentFolderId"], deletions.id.as_str());
    let (status, _) = send(h.get(&format!("/users/{uid}/messages/{}", received.regular_id))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        admin
            .messages(uid, "inbox")
            .iter()
            .all(|m| m.id != received.id)
    );
    assert_eq!(
        admin.message(uid, &received.id).map(|m| m.folder_id),
        Some(deletions.id.clone())
    );
    // permanentDelete purges it
    let resp = h
        .req(
            Method::POST,
            &format!("/users/{uid}/messages/{}/permanentDelete", received.id),
        )
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let (status, _) = send(h.get(&format!("/users/{uid}/messages/{}", received.id))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(admin.message(uid, &received.id).is_none());
    h.sim.shutdown().await;
}

#[tokio::test]
async fn immutable_id_preference_changes_the_ids_returned() {
    let h = common::start(common::small()).await;
    let list =
        "/users/alice@contoso.example/mailFolders/inbox/messages?$top=50&$expand=attachments";
    let regular = common::json_ok(h.get(list)).await;
    let resp = h
        .get(list)
        .header("prefer", IMMUTABLE)
        .send()
        .await
        .expect("send");
    assert_eq!(
        resp.headers()
            .get("preference-applied")
            .and_then(|v| v.to_str().ok()),
        Some(IMMUTABLE)
    );
    let immutable: serde_json::Value = resp.json().await.expect("json");
    let ids = |v: &serde_json::Value| -> Vec<String> {
        v["value"]
            .as_array()
            .expect("value")
            .iter()
            .map(|m| m["id"].as_str().expect("id").to_string())
            .collect()
    };
    let (r, i) = (ids(&regular), ids(&immutable));
    assert_eq!(r.len(), i.len());
    for (r, i) in r.iter().zip(&i) {
        assert_ne!(r, i);
        assert!(r.starts_with("AAMkA") && i.starts_with("AAkALg"), "{r} {i}");
        assert!(r.len() >= 140 && i.len() >= 140);
    }
    let all: String = r.iter().chain(&i).cloned().collect();
    for c in ['-', '_', '='] {
        assert!(all.contains(c), "ids contain {c}");
    }
    // both forms address the same message; attachment ids follow the form
    let one = |v: &serde_json::Value, k: usize| v["value"][k].clone();
    let k = (0..r.len())
        .find(|&k| {
            one(&regular, k)["attachments"]
                .as_array()
                .is_some_and(|a| !a.is_empty())
        })
        .expect("a message with attachments");
    let a = one(&regular, k)["attachments"][0]["id"].clone();
    let b = one(&immutable, k)["attachments"][0]["id"].clone();
    assert_ne!(a, b);
    let by_regular = h
        .get_json(&format!("/users/alice@contoso.example/messages/{}", r[k]))
        .await;
    let by_immutable = common::json_ok(
        h.get(&format!("/users/alice@contoso.example/messages/{}", i[k]))
            .header("prefer", IMMUTABLE),
    )
    .await;
    assert_eq!(by_regular["id"], r[k].as_str());
    assert_eq!(by_immutable["id"], i[k].as_str());
    assert_eq!(by_regular["subject"], by_immutable["subject"]);
    h.sim.shutdown().await;
}
