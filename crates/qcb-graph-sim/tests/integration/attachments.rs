//! File, item and reference attachments on messages: create (in the
//! message JSON and by POST), list, get, `$expand` of the attached item,
//! `$value`, and how they appear in the message's MIME.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::common::{self, graph_error_code, send};

const ALICE: &str = "/users/alice@contoso.example";

#[tokio::test]
async fn file_item_and_reference_attachments() {
    let h = common::start(common::small()).await;
    let (s, created) = send(
        h.req(Method::POST, &format!("{ALICE}/messages")).json(&json!({
            "subject": "three kinds",
            "body": {"contentType": "text", "content": "see attached"},
            "attachments": [
                {"@odata.type": "#microsoft.graph.fileAttachment", "name": "notes.txt",
                 "contentType": "text/plain", "contentBytes": STANDARD.encode(b"hello file")},
                {"@odata.type": "#microsoft.graph.itemAttachment", "name": "Forwarded mail",
                 "item": {"@odata.type": "#microsoft.graph.message", "subject": "The inner one",
                          "body": {"contentType": "text", "content": "inner body"},
                          "toRecipients": [{"emailAddress": {"address": "bob@contoso.example", "name": "Bob"}}]}},
                {"@odata.type": "#microsoft.graph.referenceAttachment", "name": "Budget.xlsx",
                 "sourceUrl": "https://contoso.example/sites/budget.xlsx"}
            ]
        })),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    let mid = created["id"].as_str().expect("id").to_string();
    assert_eq!(created["hasAttachments"], true);

    let list = h
        .get_json(&format!("{ALICE}/messages/{mid}/attachments"))
        .await;
    let items = list["value"].as_array().expect("value");
    let types: Vec<&str> = items
        .iter()
        .map(|a| a["@odata.type"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        types,
        vec![
            "#microsoft.graph.fileAttachment",
            "#microsoft.graph.itemAttachment",
            "#microsoft.graph.referenceAttachment"
        ]
    );
    let file = &items[0];
    assert_eq!(file["contentBytes"], STANDARD.encode(b"hello file"));
    let item = &items[1];
    assert_eq!(item["name"], "Forwarded mail");
    assert!(item.get("contentBytes").is_none());
    assert_eq!(item["isInline"], false);
    let reference = &items[2];
    assert_eq!(reference["name"], "Budget.xlsx");

    // the attached item, expanded
    let iid = item["id"].as_str().expect("id");
    let expanded = h
        .get_json(&format!(
            "{ALICE}/messages/{mid}/attachments/{iid}?$expand=microsoft.graph.itemattachment/item"
        ))
        .await;
    assert_eq!(expanded["item"]["@odata.type"], "#microsoft.graph.message");
    assert_eq!(expanded["item"]["subject"], "The inner one");
    assert_eq!(
        expanded["item"]["body"]["content"]
            .as_str()
            .map(str::trim_end),
        Some("inner body")
    );
    assert_eq!(
        expanded["item"]["toRecipients"][0]["emailAddress"]["address"],
        "bob@contoso.example"
    );
    let (s, _) = send(h.get(&format!(
        "{ALICE}/messages/{mid}/attachments/{iid}?$expand=bogus"
    )))
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    // $value: the item's MIME; a file's bytes; a reference has none
    let mime = h
        .get_bytes(&format!("{ALICE}/messages/{mid}/attachments/{iid}/$value"))
        .await;
    let mime = String::from_utf8_lossy(&mime);
    assert!(mime.contains("Subject: The inner one"), "{mime}");
    let fid = file["id"].as_str().expect("id");
    assert_eq!(
        h.get_bytes(&format!("{ALICE}/messages/{mid}/attachments/{fid}/$value"))
            .await,
        b"hello file"
    );
    let rid = reference["id"].as_str().expect("id");
    let (s, v) = send(h.get(&format!("{ALICE}/messages/{mid}/attachments/{rid}/$value"))).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(graph_error_code(&v), "BadRequest");

    // the message's MIME carries the item as message/rfc822, not the link
    let outer = h.get_bytes(&format!("{ALICE}/messages/{mid}/$value")).await;
    let parsed = mailparse::parse_mail(&outer).expect("mime");
    let types: Vec<String> = parsed
        .subparts
        .iter()
        .map(|p| p.ctype.mimetype.clone())
        .collect();
    assert!(types.iter().any(|t| t == "message/rfc822"), "{types:?}");
    assert!(!String::from_utf8_lossy(&outer).contains("Budget.xlsx"));

    // re-created from that MIME, the attached message is an item attachment again
    let (s, again) = send(
        h.req(Method::POST, &format!("{ALICE}/messages"))
            .header("content-type", "text/plain")
            .body(STANDARD.encode(&outer)),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{again}");
    let again_id = again["id"].as_str().expect("id");
    let list = h
        .get_json(&format!("{ALICE}/messages/{again_id}/attachments"))
        .await;
    assert!(
        list["value"]
            .as_array()
            .expect("value")
            .iter()
            .any(|a| a["@odata.type"] == "#microsoft.graph.itemAttachment"),
        "{list}"
    );
    h.sim.shutdown().await;
}

#[tokio::test]
async fn item_and_reference_attachments_by_post() {
    let h = common::start(common::small()).await;
    let (_, created) = send(
        h.req(Method::POST, &format!("{ALICE}/messages"))
            .json(&json!({"subject": "later"})),
    )
    .await;
    let mid = created["id"].as_str().expect("id").to_string();
    let (s, v) = send(
        h.req(Method::POST, &format!("{ALICE}/messages/{mid}/attachments"))
            .json(&json!({"@odata.type": "#microsoft.graph.itemAttachment",
                          "item": {"@odata.type": "#microsoft.graph.message", "subject": "Named by its subject"}})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["@odata.type"], "#microsoft.graph.itemAttachment");
    assert_eq!(v["name"], "Named by its subject");
    let (s, v) = send(
        h.req(Method::POST, &format!("{ALICE}/messages/{mid}/attachments"))
            .json(&json!({"@odata.type": "#microsoft.graph.referenceAttachment", "name": "Plan.docx"})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["@odata.type"], "#microsoft.graph.referenceAttachment");
    let (s, v) = send(
        h.req(Method::POST, &format!("{ALICE}/messages/{mid}/attachments"))
            .json(&json!({"@odata.type": "#microsoft.graph.itemAttachment", "name": "no item"})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    let (s, _) = send(
        h.req(Method::POST, &format!("{ALICE}/messages/{mid}/attachments"))
            .json(&json!({"@odata.type": "#microsoft.graph.somethingElse", "name": "x"})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let list: Value = h
        .get_json(&format!("{ALICE}/messages/{mid}/attachments"))
        .await;
    assert_eq!(list["value"].as_array().map(Vec::len), Some(2));
    h.sim.shutdown().await;
}
