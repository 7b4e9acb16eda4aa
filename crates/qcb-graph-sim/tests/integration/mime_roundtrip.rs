//! The restore contract: a message re-created through JSON with the same
//! properties, the same attachments and the same 0x007D header block comes
//! back from `$value` byte for byte identical. All through HTTP.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::common::{self, IMMUTABLE, send};

const EXT: &str = "singleValueExtendedProperties($filter=id eq 'String 0x007D' or id eq 'Integer 0x0E07' or id eq 'SystemTime 0x0E06' or id eq 'SystemTime 0x0039')";

/// What a backup keeps of a message, as JSON ready to POST back.
fn restore_body(original: &Value) -> Value {
    let mut body = json!({});
    for k in [
        "subject",
        "body",
        "from",
        "sender",
        "toRecipients",
        "ccRecipients",
        "bccRecipients",
        "replyTo",
        "internetMessageId",
        "importance",
        "isRead",
        "categories",
        "flag",
        "isDeliveryReceiptRequested",
        "isReadReceiptRequested",
    ] {
        if let Some(v) = original.get(k) {
            body[k] = v.clone();
        }
    }
    let atts: Vec<Value> = original["attachments"]
        .as_array()
        .expect("attachments expanded")
        .iter()
        .map(|a| {
            json!({
                "@odata.type": "#microsoft.graph.fileAttachment",
                "name": a["name"],
                "contentType": a["contentType"],
                "contentBytes": a["contentBytes"],
                "isInline": a["isInline"],
                "contentId": a["contentId"],
            })
        })
        .collect();
    body["attachments"] = Value::Array(atts);
    body["singleValueExtendedProperties"] = original["singleValueExtendedProperties"].clone();
    body
}

#[tokio::test]
async fn restored_json_copy_gives_byte_identical_mime() {
    let h = common::start(qcb_graph_sim::TenantSpec::demo()).await;
    let alice = h.alice();
    let uid = alice.id.clone();

    let (status, target) = send(
        h.req(Method::POST, &format!("/users/{uid}/mailFolders"))
            .json(&json!({"displayName": "Restore test"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let target = target["id"].as_str().expect("id").to_string();

    let mut checked = 0;
    let mut with_headers = 0;
    let mut with_attachments = 0;
    let mut with_inline = 0;
    for folder in ["inbox", "sentitems", "drafts", "archive"] {
        let list = common::json_ok(
            h.get(&format!("/users/{uid}/mailFolders/{folder}/messages"))
                .query(&[("$top", "40"), ("$select", "id")])
                .header("prefer", IMMUTABLE),
        )
        .await;
        for m in list["value"].as_array().expect("value") {
            let id = m["id"].as_str().expect("id");
            let original = common::json_ok(
                h.get(&format!("/users/{uid}/messages/{id}"))
                    .query(&[("$expand", format!("attachments,{EXT}"))])
                    .header("prefer", IMMUTABLE),
            )
            .await;
            let mime = h
                .get_bytes(&format!("/users/{uid}/messages/{id}/$value"))
                .await;

            let (status, copy) = send(
                h.req(
                    Method::POST,
                    &format!("/users/{uid}/mailFolders/{target}/messages"),
                )
                .header("prefer", IMMUTABLE)
                .json(&restore_body(&original)),
            )
            .await;
            assert_eq!(status, StatusCode::CREATED, "{copy}");
            let copy_id = copy["id"].as_str().expect("id");
            assert_ne!(copy_id, id);
            assert_eq!(copy["isDraft"], original["isDraft"]);
            assert_eq!(copy["isRead"], original["isRead"]);
            assert_eq!(copy["receivedDateTime"], original["receivedDateTime"]);
            assert_eq!(copy["sentDateTime"], original["sentDateTime"]);
            assert_eq!(copy["hasAttachments"], original["hasAttachments"]);
            let copy_mime = h
                .get_bytes(&format!("/users/{uid}/messages/{copy_id}/$value"))
                .await;
            assert!(
                copy_mime == mime,
                "MIME differs for '{}':\n--- original\n{}\n--- copy\n{}",
                original["subject"],
                String::from_utf8_lossy(&mime[..mime.len().min(3000)]),
                String::from_utf8_lossy(&copy_mime[..copy_mime.len().min(3000)])
            );
            checked += 1;
            let props = original["singleValueExtendedProperties"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            if props.iter().any(|p| p["id"] == "String 0x7d") {
                with_headers += 1;
            }
            let atts = original["attachments"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            if atts.iter().any(|a| a["isInline"] == false) {
                with_attachments += 1;
            }
            if atts.iter().any(|a| a["isInline"] == true) {
                with_inline += 1;
            }
        }
    }
    assert!(checked > 60, "{checked}");
    assert!(
        with_headers > 10 && with_attachments > 3 && with_inline > 1,
        "coverage: {with_headers} {with_attachments} {with_inline}"
    );
    assert!(
        checked > with_headers,
        "messages without transport headers (sent items, drafts) are covered too"
    );
    h.sim.shutdown().await;
}

/// A backup that keeps only `$value` and a few JSON properties restores by
/// splitting the MIME: header block (as 0x007D), body, attachments.
fn restore_body_from_mime(meta: &Value, mime: &[u8]) -> Value {
    use mailparse::{DispositionType, MailHeaderMap as _, ParsedMail};
    fn walk(p: &ParsedMail<'_>, body: &mut Option<(String, String)>, atts: &mut Vec<Value>) {
        let ty = p.ctype.mimetype.to_ascii_lowercase();
        if ty.starts_with("multipart/") {
            for s in &p.subparts {
                walk(s, body, atts);
            }
            return;
        }
        let disp = p.get_content_disposition();
        if body.is_none()
            && disp.disposition != DispositionType::Attachment
            && (ty == "text/plain" || ty == "text/html")
        {
            let kind = if ty == "text/html" { "html" } else { "text" };
            *body = Some((kind.to_string(), p.get_body().expect("body")));
            return;
        }
        let name = disp
            .params
            .get("filename")
            .or_else(|| p.ctype.params.get("name"))
            .cloned()
            .unwrap_or_default();
        let cid = p
            .headers
            .get_first_value("Content-ID")
            .map(|c| c.trim().trim_matches(['<', '>']).to_string());
        atts.push(json!({
            "@odata.type": "#microsoft.graph.fileAttachment",
            "name": name,
            "contentType": ty,
            "isInline": disp.disposition == DispositionType::Inline,
            "contentId": cid,
            "contentBytes": base64::Engine::encode(&base64::engine::general_purpose::STANDARD, p.get_body_raw().expect("raw")),
        }));
    }
    let parsed = mailparse::parse_mail(mime).expect("parse");
    let mut body = None;
    let mut atts = Vec::new();
    walk(&parsed, &mut body, &mut atts);
    let text = String::from_utf8_lossy(mime);
    let end = text.find("\r\n\r\n").map(|i| i + 2).unwrap_or(text.len());
    let mut block = String::new();
    let mut skipping = false;
    for line in text[..end].split("\r\n").filter(|l| !l.is_empty()) {
        if !(line.starts_with(' ') || line.starts_with('\t')) {
            let name = line
                .split(':')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            skipping = ["content-type", "content-transfer-encoding", "mime-version"]
                .contains(&name.as_str());
        }
        if !skipping {
            block.push_str(line);
            block.push_str("\r\n");
        }
    }
    let (kind, content) = body.unwrap_or(("text".into(), String::new()));
    let mut m = json!({"body": {"contentType": kind, "content": content}, "attachments": atts});
    for k in [
        "subject",
        "importance",
        "categories",
        "internetMessageId",
        "from",
        "sender",
        "toRecipients",
        "ccRecipients",
        "bccRecipients",
        "replyTo",
        "flag",
    ] {
        if let Some(v) = meta.get(k) {
            m[k] = v.clone();
        }
    }
    let mut ext = vec![
        json!({"id": "SystemTime 0x0E06", "value": meta["receivedDateTime"]}),
        json!({"id": "SystemTime 0x0039", "value": meta["sentDateTime"]}),
        json!({"id": "String 0x007D", "value": block}),
    ];
    if meta["isDraft"] != true {
        ext.push(json!({"id": "Integer 0x0E07", "value": if meta["isRead"] == true { "1" } else { "4" }}));
    }
    m["singleValueExtendedProperties"] = Value::Array(ext);
    m
}

#[tokio::test]
async fn restore_from_backed_up_mime_gives_byte_identical_mime() {
    let h = common::start(qcb_graph_sim::TenantSpec::demo()).await;
    let admin = h.sim.admin();
    let alice = h.alice();
    let target = admin
        .create_folder(&alice.id, "msgfolderroot", "From MIME")
        .expect("folder");
    let mut checked = 0;
    for f in admin
        .folders(&alice.id)
        .into_iter()
        .filter(|f| f.id != target)
    {
        for m in admin.messages(&alice.id, &f.id) {
            let meta = common::json_ok(
                h.get(&format!("/users/{}/messages/{}", alice.id, m.id))
                    .header("prefer", IMMUTABLE),
            )
            .await;
            let body = restore_body_from_mime(&meta, &m.mime);
            let (status, copy) = send(
                h.req(
                    Method::POST,
                    &format!("/users/{}/mailFolders/{target}/messages", alice.id),
                )
                .header("prefer", IMMUTABLE)
                .json(&body),
            )
            .await;
            assert_eq!(status, StatusCode::CREATED, "{copy}");
            let copy = admin
                .message(&alice.id, copy["id"].as_str().expect("id"))
                .expect("copy");
            assert!(
                copy.mime == m.mime,
                "MIME differs for '{}':\n--- original\n{}\n--- copy\n{}",
                m.subject,
                String::from_utf8_lossy(&m.mime[..m.mime.len().min(4000)]),
                String::from_utf8_lossy(&copy.mime[..copy.mime.len().min(4000)])
            );
            assert_eq!((copy.is_draft, copy.is_read), (m.is_draft, m.is_read));
            assert_eq!(
                (&copy.received_date_time, &copy.sent_date_time),
                (&m.received_date_time, &m.sent_date_time)
            );
            assert_eq!(copy.attachment_names, m.attachment_names);
            checked += 1;
        }
    }
    assert_eq!(checked, 150);
    h.sim.shutdown().await;
}

#[tokio::test]
async fn mime_is_well_formed() {
    let h = common::start(common::small()).await;
    let admin = h.sim.admin();
    let alice = h.alice();
    for f in admin.folders(&alice.id) {
        for m in admin.messages(&alice.id, &f.id) {
            let text = String::from_utf8(m.mime.clone()).expect("MIME is ASCII");
            assert!(text.is_ascii(), "8-bit bytes in MIME of {}", m.subject);
            assert!(!text.replace("\r\n", "").contains('\n'), "bare LF");
            for line in text.split("\r\n") {
                assert!(line.len() <= 998, "line too long");
            }
            let parsed = mailparse::parse_mail(&m.mime).expect("parse");
            use mailparse::MailHeaderMap as _;
            assert_eq!(
                parsed.headers.get_first_value("Subject").as_deref(),
                Some(m.subject.as_str())
            );
            assert_eq!(
                parsed.headers.get_first_value("Message-ID").as_deref(),
                Some(m.internet_message_id.as_str())
            );
            assert_eq!(
                parsed.headers.get_all_values("MIME-Version"),
                vec!["1.0".to_string()]
            );
            // what Graph serves is what the admin view shows
            let served = h
                .get_bytes(&format!("/users/{}/messages/{}/$value", alice.id, m.id))
                .await;
            assert_eq!(served, m.mime);
        }
    }
    h.sim.shutdown().await;
}
