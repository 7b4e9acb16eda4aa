//! Creating messages: JSON with extended properties (received, non-draft),
//! JSON without them (draft), MIME (always a draft), limits and errors.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::common::{self, IMMUTABLE, graph_error_code, send};

#[tokio::test]
async fn json_create_with_extended_properties_is_a_received_message() {
    let h = common::start(common::small()).await;
    let alice = h.alice();
    let url = format!("/users/{}/mailFolders/archive/messages", alice.id);
    let body = json!({
        "subject": "Wiederhergestellt: Grüße 🎉",
        "body": {"contentType": "HTML", "content": "<p>Hallo</p>"},
        "from": {"emailAddress": {"name": "Jürgen Müller", "address": "juergen@example.de"}},
        "toRecipients": [{"emailAddress": {"name": "Alice Smith", "address": "alice@contoso.example"}}],
        "internetMessageId": "<restore-1@example.de>",
        "importance": "high",
        "categories": ["Kunde"],
        "flag": {"flagStatus": "flagged"},
        "receivedDateTime": "2001-01-01T00:00:00Z",
        "singleValueExtendedProperties": [
            {"id": "Integer 0x0E07", "value": "1"},
            {"id": "SystemTime 0x0E06", "value": "2026-09-01T10:11:12Z"},
            {"id": "SystemTime 0x0039", "value": "2026-09-01T10:10:00Z"}
        ]
    });
    let (status, v) = send(
        h.req(Method::POST, &url)
            .header("prefer", IMMUTABLE)
            .json(&body),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    assert_eq!(v["isDraft"], false);
    assert_eq!(v["isRead"], true);
    assert_eq!(
        v["receivedDateTime"], "2026-09-01T10:11:12Z",
        "0x0E06 wins; receivedDateTime is read-only"
    );
    assert_eq!(v["sentDateTime"], "2026-09-01T10:10:00Z");
    assert_eq!(v["importance"], "high");
    assert_eq!(v["flag"]["flagStatus"], "flagged");
    assert_eq!(v["body"]["contentType"], "html");
    assert_eq!(v["internetMessageId"], "<restore-1@example.de>");
    assert_eq!(
        v["parentFolderId"].as_str(),
        Some(h.folder(&alice.id, "Archive").id.as_str())
    );
    let id = v["id"].as_str().expect("id");
    assert!(id.starts_with("AAkALg"), "immutable id requested: {id}");
    let view = h.sim.admin().message(&alice.id, id).expect("stored");
    assert!(!view.is_draft);

    // "4" (not read, not unsent): an unread received message
    let mut unread = body.clone();
    unread["singleValueExtendedProperties"][0]["value"] = json!("4");
    let (status, v) = send(h.req(Method::POST, &url).json(&unread)).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(v["isDraft"], false);
    assert_eq!(v["isRead"], false);
    assert!(
        v["id"].as_str().unwrap_or("").starts_with("AAMkA"),
        "regular id by default"
    );

    // Without PidTagMessageFlags: a draft.
    let (status, v) = send(
        h.req(Method::POST, &url)
            .json(&json!({"subject": "just a draft"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(v["isDraft"], true);

    // the ext props read back
    let expand = "singleValueExtendedProperties($filter=id eq 'Integer 0x0E07' or id eq 'SystemTime 0x0E06')";
    let got = common::json_ok(
        h.get(&format!("/users/{}/messages/{id}", alice.id))
            .query(&[("$expand", expand)]),
    )
    .await;
    let props = got["singleValueExtendedProperties"]
        .as_array()
        .expect("props");
    assert_eq!(props.len(), 2);
    assert!(props.iter().any(|p| p["value"] == "1"));
    assert!(props.iter().any(|p| p["value"] == "2026-09-01T10:11:12Z"));
    h.sim.shutdown().await;
}

const MIME: &str = "From: =?utf-8?B?SsO8cmdlbiBNw7xsbGVy?= <juergen@example.de>\r\n\
To: Alice Smith <alice@contoso.example>\r\n\
Subject: =?utf-8?B?5Lya6K2w44Gu6K2w5LqL6Yyy?=\r\n\
Date: Thu, 15 Oct 2026 08:30:12 +0000\r\n\
Message-ID: <mime-1@example.de>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"b1\"\r\n\
\r\n\
--b1\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
Content-Transfer-Encoding: quoted-printable\r\n\
\r\n\
Gr=C3=BC=C3=9Fe!\r\n\
--b1\r\n\
Content-Type: application/pdf; name=\"a.pdf\"\r\n\
Content-Disposition: attachment; filename=\"a.pdf\"\r\n\
Content-Transfer-Encoding: base64\r\n\
\r\n\
JVBERi0xLjQK\r\n\
--b1--\r\n";

#[tokio::test]
async fn mime_create_is_always_a_draft() {
    let h = common::start(common::small()).await;
    let alice = h.alice();
    let admin = h.sim.admin();
    let drafts = h.folder(&alice.id, "Drafts");
    let b64 = STANDARD.encode(MIME);

    let (status, v) = send(
        h.req(Method::POST, &format!("/users/{}/messages", alice.id))
            .header("content-type", "text/plain")
            .body(b64.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    assert_eq!(v["isDraft"], true);
    assert_eq!(v["subject"], "会議の議事録");
    assert_eq!(v["hasAttachments"], true);
    assert_eq!(v["from"]["emailAddress"]["name"], "Jürgen Müller");
    assert_eq!(v["internetMessageId"], "<mime-1@example.de>");
    assert_eq!(v["sentDateTime"], "2026-10-15T08:30:12Z");
    assert_eq!(v["parentFolderId"].as_str(), Some(drafts.id.as_str()));
    let id = v["id"].as_str().expect("id");
    let atts =
        common::json_ok(h.get(&format!("/users/{}/messages/{id}/attachments", alice.id))).await;
    assert_eq!(atts["value"][0]["name"], "a.pdf");
    assert_eq!(
        atts["value"][0]["contentBytes"],
        STANDARD.encode("%PDF-1.4\n")
    );

    // into a folder: still a draft, even in the Inbox
    let (status, v) = send(
        h.req(
            Method::POST,
            &format!("/users/{}/mailFolders/inbox/messages", alice.id),
        )
        .header("content-type", "text/plain")
        .body(b64),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(v["isDraft"], true);
    let stored = admin
        .message(&alice.id, v["id"].as_str().expect("id"))
        .expect("stored");
    assert!(stored.is_draft);
    assert_eq!(stored.folder_id, h.folder(&alice.id, "Inbox").id);

    let (status, v) = send(
        h.req(Method::POST, &format!("/users/{}/messages", alice.id))
            .header("content-type", "text/plain")
            .body("this is *not* base64!"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(graph_error_code(&v), "ErrorMimeContentInvalidBase64String");
    h.sim.shutdown().await;
}

#[tokio::test]
async fn create_rejects_bad_input_in_graph_shape() {
    let h = common::start(common::small()).await;
    let alice = h.alice();
    let url = format!("/users/{}/mailFolders/inbox/messages", alice.id);

    let (status, v) = send(
        h.req(Method::POST, &url)
            .header("content-type", "application/json")
            .body("{\"subject\": "),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(graph_error_code(&v), "BadRequest");

    let (status, v) = send(h.req(Method::POST, &url).json(&json!({"subject": 42}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    graph_error_code(&v);

    let (status, v) = send(
        h.req(Method::POST, &url)
            .json(&json!({"importance": "urgent"})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    graph_error_code(&v);

    let (status, v) = send(h.req(Method::POST, &url).json(&json!({
        "singleValueExtendedProperties": [{"id": "Integer 0x0E07", "value": "yes"}]
    })))
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    graph_error_code(&v);

    let (status, v) = send(h.req(Method::POST, &url).json(&json!({
        "attachments": [{"name": "x.bin", "contentBytes": "AAAA"}]
    })))
    .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "attachments need @odata.type"
    );
    graph_error_code(&v);

    // over 4 MB
    let big = STANDARD.encode(vec![7u8; 3_200_000]);
    let (status, v): (StatusCode, Value) = send(h.req(Method::POST, &url).json(&json!({
        "subject": "big",
        "attachments": [{"@odata.type": "#microsoft.graph.fileAttachment", "name": "big.bin", "contentBytes": big}]
    })))
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    graph_error_code(&v);
    // Far over: the whole body is still read, so the client gets the 413 rather than a
    // connection closed while it is sending.
    let huge = STANDARD.encode(vec![7u8; 24_000_000]);
    for _ in 0..2 {
        let (status, v): (StatusCode, Value) = send(h.req(Method::POST, &url).json(&json!({
            "subject": "huge",
            "attachments": [{"@odata.type": "#microsoft.graph.fileAttachment", "name": "huge.bin", "contentBytes": huge}]
        })))
        .await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(graph_error_code(&v), "RequestEntityTooLarge");
    }

    // an attachment that fits
    let (status, v) = send(h.req(Method::POST, &url).json(&json!({
        "subject": "small",
        "attachments": [{"@odata.type": "#microsoft.graph.fileAttachment", "name": "s.bin", "contentType": "application/octet-stream", "contentBytes": STANDARD.encode([1u8, 2, 3])}]
    })))
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(v["hasAttachments"], true);
    h.sim.shutdown().await;
}
