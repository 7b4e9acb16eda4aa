//! JSON representations with the exact property names of the v1.0 CSDL
//! (`user`, `mailFolder`, `message`, `fileAttachment`, `recipient`,
//! `emailAddress`, `itemBody`, `followupFlag`,
//! `singleValueLegacyExtendedProperty`).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value, json};

use crate::error::GraphError;
use crate::ids::{self, IdForm};
use crate::model::{Attachment, EmailAddress, Folder, Mailbox, Message, User};
use crate::odata::{Expand, canonical_ext_id};

pub(crate) fn ts(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Properties a `$select` may name, per entity (lower-cased for matching).
pub(crate) const USER_PROPS: &[&str] = &[
    "id",
    "businessPhones",
    "displayName",
    "givenName",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
    "accountEnabled",
    "mailNickname",
    "userType",
    "createdDateTime",
    "assignedLicenses",
];

pub(crate) const FOLDER_PROPS: &[&str] = &[
    "id",
    "displayName",
    "parentFolderId",
    "childFolderCount",
    "unreadItemCount",
    "totalItemCount",
    "isHidden",
];

pub(crate) const MESSAGE_PROPS: &[&str] = &[
    "id",
    "createdDateTime",
    "lastModifiedDateTime",
    "changeKey",
    "categories",
    "receivedDateTime",
    "sentDateTime",
    "hasAttachments",
    "internetMessageId",
    "subject",
    "bodyPreview",
    "importance",
    "parentFolderId",
    "conversationId",
    "conversationIndex",
    "isDeliveryReceiptRequested",
    "isReadReceiptRequested",
    "isRead",
    "isDraft",
    "webLink",
    "inferenceClassification",
    "body",
    "sender",
    "from",
    "toRecipients",
    "ccRecipients",
    "bccRecipients",
    "replyTo",
    "flag",
    "internetMessageHeaders",
    "uniqueBody",
];

/// Validated `$select` list: `None` = default properties.
pub(crate) fn check_select(
    select: Option<Vec<String>>,
    allowed: &[&str],
    entity: &str,
) -> Result<Option<Vec<String>>, GraphError> {
    let Some(list) = select else { return Ok(None) };
    let mut out = Vec::new();
    for p in list {
        match allowed.iter().find(|a| a.eq_ignore_ascii_case(&p)) {
            Some(a) => out.push((*a).to_string()),
            None => {
                return Err(GraphError::bad_request(format!(
                    "Parsing OData Select and Expand failed: Could not find a property named '{p}' on type 'microsoft.graph.{entity}'."
                )));
            }
        }
    }
    Ok(Some(out))
}

fn keep(select: Option<&[String]>, name: &str) -> bool {
    match select {
        None => true,
        Some(list) => name == "id" || list.iter().any(|s| s == name),
    }
}

pub(crate) fn filter_map(
    full: Vec<(&'static str, Value)>,
    select: Option<&[String]>,
) -> Map<String, Value> {
    full.into_iter()
        .filter(|(k, _)| keep(select, k))
        .map(|(k, v)| (k.to_string(), v))
        .collect()
}

/// skuId of Microsoft 365 E3 (`SPE_E3`).
const E3_SKU_ID: &str = "05e9a617-0261-4cee-bb44-138d3ef5d965";

/// The directory leaves properties nobody set `null`, not `""`.
fn unset_is_null(s: &str) -> Value {
    if s.is_empty() { Value::Null } else { json!(s) }
}

/// `enabled`: false for a shared mailbox (a disabled account, as Exchange).
pub(crate) fn user_json(u: &User, enabled: bool, select: Option<&[String]>) -> Value {
    let default_only = [
        "id",
        "businessPhones",
        "displayName",
        "givenName",
        "jobTitle",
        "mail",
        "mobilePhone",
        "officeLocation",
        "preferredLanguage",
        "surname",
        "userPrincipalName",
    ];
    let full: Vec<(&'static str, Value)> = vec![
        ("businessPhones", json!(u.business_phones)),
        ("displayName", json!(u.display_name)),
        ("givenName", unset_is_null(&u.given_name)),
        ("jobTitle", unset_is_null(&u.job_title)),
        ("mail", json!(u.mail)),
        ("mobilePhone", json!(u.mobile_phone)),
        ("officeLocation", unset_is_null(&u.office_location)),
        ("preferredLanguage", json!(u.preferred_language)),
        ("surname", unset_is_null(&u.surname)),
        ("userPrincipalName", json!(u.upn)),
        ("id", json!(u.id)),
        ("accountEnabled", json!(enabled)),
        (
            "mailNickname",
            json!(u.mail.split('@').next().unwrap_or("")),
        ),
        ("userType", json!("Member")),
        ("createdDateTime", json!("2024-01-15T09:00:00Z")),
        // Users hold a Microsoft 365 E3 licence; a shared mailbox needs none.
        (
            "assignedLicenses",
            if enabled {
                json!([{"disabledPlans": [], "skuId": E3_SKU_ID}])
            } else {
                json!([])
            },
        ),
    ];
    let map: Map<String, Value> = match select {
        None => full
            .into_iter()
            .filter(|(k, _)| default_only.contains(k))
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
        Some(_) => filter_map(full, select),
    };
    Value::Object(map)
}

pub(crate) fn folder_json(mbx: &Mailbox, f: &Folder, select: Option<&[String]>) -> Value {
    let parent = f.parent.map(|p| mbx.folder_id(p));
    let full: Vec<(&'static str, Value)> = vec![
        ("id", json!(mbx.folder_id(f.key))),
        ("displayName", json!(f.display_name)),
        ("parentFolderId", json!(parent)),
        ("childFolderCount", json!(mbx.children(f.key, true).len())),
        ("unreadItemCount", json!(mbx.unread_items(f.key))),
        ("totalItemCount", json!(mbx.total_items(f.key))),
        ("isHidden", json!(f.hidden)),
    ];
    Value::Object(filter_map(full, select))
}

pub(crate) fn recipient(a: &EmailAddress) -> Value {
    json!({"emailAddress": {"name": a.name, "address": a.address}})
}

fn recipients(list: &[EmailAddress]) -> Value {
    Value::Array(list.iter().map(recipient).collect())
}

/// Plain-text preview: tags stripped, whitespace collapsed, 255 chars.
pub(crate) fn body_preview(html: bool, body: &str) -> String {
    let mut text = String::with_capacity(body.len().min(4096));
    if html {
        let mut in_tag = false;
        let lower = body.to_ascii_lowercase();
        let start = lower.find("<body").unwrap_or(0);
        for c in body[start..].chars() {
            match c {
                '<' => in_tag = true,
                '>' if in_tag => {
                    in_tag = false;
                    text.push(' ');
                }
                c if !in_tag => text.push(c),
                _ => {}
            }
        }
        text = text
            .replace("&nbsp;", " ")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&amp;", "&");
    } else {
        text.push_str(body);
    }
    let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
    collapsed.chars().take(255).collect()
}

/// Options for rendering a message.
#[derive(Debug, Clone, Default)]
pub(crate) struct MessageOptions {
    pub select: Option<Vec<String>>,
    pub expand: Expand,
    pub delta: bool,
}

/// The message's single-value extended properties: the ones Exchange keeps
/// for every message plus those a client set.
pub(crate) fn extended_properties(m: &Message) -> Vec<(String, String)> {
    let p = &m.props;
    let mut v = Vec::new();
    if let Some(h) = &p.transport_headers {
        v.push(("String 0x7d".to_string(), h.clone()));
    }
    v.push(("Integer 0xe07".to_string(), p.message_flags().to_string()));
    v.push(("SystemTime 0xe06".to_string(), ts(&p.received)));
    v.push(("SystemTime 0x39".to_string(), ts(&p.sent)));
    for (k, val) in &p.extended {
        if !v.iter().any(|(id, _)| id.eq_ignore_ascii_case(k)) {
            v.push((k.clone(), val.clone()));
        }
    }
    v
}

fn internet_message_headers(block: &str) -> Value {
    let mut out = Vec::new();
    let text = crate::mime::canonical_crlf(block);
    let mut cur: Option<(String, String)> = None;
    for line in text.split("\r\n") {
        if line.starts_with(' ') || line.starts_with('\t') {
            if let Some((_, v)) = cur.as_mut() {
                v.push(' ');
                v.push_str(line.trim());
            }
            continue;
        }
        if let Some((n, v)) = cur.take() {
            out.push(json!({"name": n, "value": v}));
        }
        if let Some((n, v)) = line.split_once(':') {
            cur = Some((n.trim().to_string(), v.trim().to_string()));
        }
    }
    if let Some((n, v)) = cur.take() {
        out.push(json!({"name": n, "value": v}));
    }
    Value::Array(out)
}

pub(crate) fn message_json(
    mbx: &Mailbox,
    m: &Message,
    form: IdForm,
    opts: &MessageOptions,
) -> Value {
    let p = &m.props;
    let id = mbx.message_id(m, form);
    let change_key = ids::change_key(mbx.guid(), m.change_seq);
    let select = opts.select.as_deref();
    let mut out = Map::new();
    if opts.delta {
        out.insert("@odata.type".into(), json!("#microsoft.graph.message"));
    }
    out.insert("@odata.etag".into(), json!(format!("W/\"{change_key}\"")));
    let web_link = format!(
        "https://outlook.office365.com/owa/?ItemID={}&exvsurl=1&viewmodel=ReadMessageItem",
        url::form_urlencoded::byte_serialize(id.as_bytes()).collect::<String>()
    );
    let mut full: Vec<(&'static str, Value)> = vec![
        ("id", json!(id)),
        ("createdDateTime", json!(ts(&m.created))),
        ("lastModifiedDateTime", json!(ts(&m.last_modified))),
        ("changeKey", json!(change_key)),
        ("categories", json!(p.categories)),
        ("receivedDateTime", json!(ts(&p.received))),
        ("sentDateTime", json!(ts(&p.sent))),
        ("hasAttachments", json!(p.has_file_attachments())),
        ("internetMessageId", json!(p.internet_message_id)),
        ("subject", json!(p.subject)),
        (
            "bodyPreview",
            json!(body_preview(
                p.body_type == crate::model::BodyType::Html,
                &p.body
            )),
        ),
        ("importance", json!(p.importance.as_str())),
        ("parentFolderId", json!(mbx.folder_id(m.folder))),
        (
            "conversationId",
            json!(ids::conversation_id(mbx.guid(), &p.subject)),
        ),
        (
            "conversationIndex",
            json!(ids::conversation_index(&p.subject, p.sent.timestamp())),
        ),
        (
            "isDeliveryReceiptRequested",
            json!(p.delivery_receipt_requested),
        ),
        ("isReadReceiptRequested", json!(p.read_receipt_requested)),
        ("isRead", json!(p.is_read)),
        ("isDraft", json!(p.is_draft)),
        ("webLink", json!(web_link)),
        (
            "inferenceClassification",
            json!(if p.inference_other {
                "other"
            } else {
                "focused"
            }),
        ),
        (
            "body",
            json!({"contentType": p.body_type.as_str(), "content": p.body}),
        ),
    ];
    if let Some(s) = &p.sender {
        full.push(("sender", recipient(s)));
    }
    if let Some(f) = &p.from {
        full.push(("from", recipient(f)));
    }
    full.push(("toRecipients", recipients(&p.to)));
    full.push(("ccRecipients", recipients(&p.cc)));
    full.push(("bccRecipients", recipients(&p.bcc)));
    full.push(("replyTo", recipients(&p.reply_to)));
    full.push(("flag", json!({"flagStatus": p.flag_status.as_str()})));
    // Only on request, as Graph.
    if select.is_some_and(|s| s.iter().any(|x| x == "internetMessageHeaders")) {
        let headers = match &p.transport_headers {
            Some(b) => internet_message_headers(b),
            None => Value::Array(Vec::new()),
        };
        full.push(("internetMessageHeaders", headers));
    }
    for (k, v) in filter_map(full, select) {
        out.insert(k, v);
    }
    if opts.expand.attachments {
        let list: Vec<Value> = p
            .attachments
            .iter()
            .map(|a| attachment_json(mbx, m, a, form, true))
            .collect();
        out.insert("attachments".into(), Value::Array(list));
    }
    if let Some(wanted) = &opts.expand.extended {
        let wanted: Vec<String> = wanted.iter().filter_map(|w| canonical_ext_id(w)).collect();
        let list: Vec<Value> = extended_properties(m)
            .into_iter()
            .filter(|(id, _)| {
                wanted.is_empty() || wanted.iter().any(|w| w.eq_ignore_ascii_case(id))
            })
            .map(|(id, value)| json!({"id": id, "value": value}))
            .collect();
        // Graph omits the collection when nothing matched.
        if !list.is_empty() {
            out.insert("singleValueExtendedProperties".into(), Value::Array(list));
        }
    }
    Value::Object(out)
}

pub(crate) fn attachment_json(
    mbx: &Mailbox,
    m: &Message,
    a: &Attachment,
    form: IdForm,
    with_content: bool,
) -> Value {
    let kind = m.props.attachment_kind(a.key);
    if kind != crate::model::AttachmentKind::File {
        let odata_type = if kind == crate::model::AttachmentKind::Item {
            "#microsoft.graph.itemAttachment"
        } else {
            "#microsoft.graph.referenceAttachment"
        };
        return json!({
            "@odata.type": odata_type,
            "id": mbx.attachment_id(m, a, form),
            "lastModifiedDateTime": ts(&a.last_modified),
            "name": a.name,
            "contentType": Value::Null,
            "size": a.bytes.len(),
            "isInline": false,
        });
    }
    let mut v = json!({
        "@odata.type": "#microsoft.graph.fileAttachment",
        "@odata.mediaContentType": a.content_type,
        "id": mbx.attachment_id(m, a, form),
        "lastModifiedDateTime": ts(&a.last_modified),
        "name": a.name,
        "contentType": a.content_type,
        "size": a.bytes.len(),
        "isInline": a.is_inline,
        "contentId": a.content_id,
        "contentLocation": Value::Null,
    });
    if with_content && let Some(obj) = v.as_object_mut() {
        obj.insert(
            "contentBytes".into(),
            json!(STANDARD.encode(a.bytes.data())),
        );
    }
    v
}

/// The attached message of an item attachment (`$expand=…/item`), from
/// its stored MIME.
pub(crate) fn attached_item_json(mime: &[u8], id: &str) -> Value {
    let Ok(p) = crate::mime::parse(mime) else {
        return json!({"@odata.type": "#microsoft.graph.message", "id": id});
    };
    let list = |v: &[EmailAddress]| Value::Array(v.iter().map(recipient).collect());
    json!({
        "@odata.type": "#microsoft.graph.message",
        "id": id,
        "sentDateTime": p.sent.as_ref().map(ts),
        "hasAttachments": !p.attachments.is_empty(),
        "internetMessageId": p.internet_message_id,
        "subject": p.subject,
        "importance": p.importance.as_str(),
        "body": {"contentType": p.body_type.as_str(), "content": p.body},
        "sender": p.sender.as_ref().or(p.from.as_ref()).map(recipient),
        "from": p.from.as_ref().map(recipient),
        "toRecipients": list(&p.to),
        "ccRecipients": list(&p.cc),
        "bccRecipients": list(&p.bcc),
        "replyTo": list(&p.reply_to),
    })
}

/// `{"@odata.type":"#microsoft.graph.message","id":"...","@removed":{"reason":"deleted"}}`
pub(crate) fn removed_json(id: String) -> Value {
    json!({
        "@odata.type": "#microsoft.graph.message",
        "id": id,
        "@removed": {"reason": "deleted"}
    })
}
