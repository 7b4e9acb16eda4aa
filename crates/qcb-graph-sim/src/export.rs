//! The full-fidelity export stream of a mailbox item (`exportItems` `data`,
//! the import URL's `Data`): the emulator's own opaque format, standing in
//! for Exchange's FastTransfer stream.
//!
//! Layout before base64: `QCBFTS` magic, a format version byte, the
//! BLAKE3 hash (32 bytes) of the payload, then the payload: JSON of every
//! stored property of the message (content, flags, dates, recipients,
//! transport headers, extended properties, attachments of every kind with
//! their bytes). Clients must not parse it; the emulator checks the hash on
//! import, so an edited stream is refused.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::{
    Attachment, AttachmentKind, BodyType, EmailAddress, FlagStatus, Importance, Message,
    MessageProps,
};

const MAGIC: &[u8] = b"QCBFTS";
const VERSION: u8 = 1;

#[derive(Serialize, Deserialize)]
struct Item {
    /// PidTagMessageClass.
    class: String,
    created: DateTime<Utc>,
    last_modified: DateTime<Utc>,
    subject: String,
    body_type: BodyType,
    body: String,
    from: Option<EmailAddress>,
    sender: Option<EmailAddress>,
    to: Vec<EmailAddress>,
    cc: Vec<EmailAddress>,
    bcc: Vec<EmailAddress>,
    reply_to: Vec<EmailAddress>,
    internet_message_id: String,
    sent: DateTime<Utc>,
    received: DateTime<Utc>,
    importance: Importance,
    is_read: bool,
    is_draft: bool,
    flag_status: FlagStatus,
    categories: Vec<String>,
    attachments: Vec<Att>,
    transport_headers: Option<String>,
    extended: BTreeMap<String, String>,
    inference_other: bool,
    delivery_receipt_requested: bool,
    read_receipt_requested: bool,
}

#[derive(Serialize, Deserialize)]
struct Att {
    key: u32,
    kind: String,
    name: String,
    content_type: String,
    /// base64
    bytes: String,
    is_inline: bool,
    content_id: Option<String>,
    last_modified: DateTime<Utc>,
}

/// A decoded stream: the message's properties and its original dates.
pub(crate) struct Imported {
    pub props: MessageProps,
    pub created: DateTime<Utc>,
}

/// The message class every exported message has.
pub(crate) const MESSAGE_CLASS: &str = "IPM.Note";

/// The base64 export stream of a stored message.
pub(crate) fn encode(m: &Message) -> String {
    let p = &m.props;
    let item = Item {
        class: MESSAGE_CLASS.to_string(),
        created: m.created,
        last_modified: m.last_modified,
        subject: p.subject.clone(),
        body_type: p.body_type,
        body: p.body.clone(),
        from: p.from.clone(),
        sender: p.sender.clone(),
        to: p.to.clone(),
        cc: p.cc.clone(),
        bcc: p.bcc.clone(),
        reply_to: p.reply_to.clone(),
        internet_message_id: p.internet_message_id.clone(),
        sent: p.sent,
        received: p.received,
        importance: p.importance,
        is_read: p.is_read,
        is_draft: p.is_draft,
        flag_status: p.flag_status,
        categories: p.categories.clone(),
        attachments: p
            .attachments
            .iter()
            .map(|a| Att {
                key: a.key,
                kind: match p.attachment_kind(a.key) {
                    AttachmentKind::File => "file",
                    AttachmentKind::Item => "item",
                    AttachmentKind::Reference => "reference",
                }
                .to_string(),
                name: a.name.clone(),
                content_type: a.content_type.clone(),
                bytes: STANDARD.encode(&a.bytes),
                is_inline: a.is_inline,
                content_id: a.content_id.clone(),
                last_modified: a.last_modified,
            })
            .collect(),
        transport_headers: p.transport_headers.clone(),
        extended: p.extended.clone(),
        inference_other: p.inference_other,
        delivery_receipt_requested: p.delivery_receipt_requested,
        read_receipt_requested: p.read_receipt_requested,
    };
    let payload = serde_json::to_vec(&item).unwrap_or_default();
    let mut out = Vec::with_capacity(payload.len() + 39);
    out.extend_from_slice(MAGIC);
    out.push(VERSION);
    out.extend_from_slice(blake3::hash(&payload).as_bytes());
    out.extend_from_slice(&payload);
    STANDARD.encode(out)
}

/// Decodes a stream made by [`encode`]; `None` when it is not one (bad
/// base64, another format, edited or truncated).
pub(crate) fn decode(data: &str) -> Option<Imported> {
    let raw = STANDARD.decode(data.trim()).ok()?;
    let rest = raw.strip_prefix(MAGIC)?;
    let (&version, rest) = rest.split_first()?;
    if version != VERSION || rest.len() < 32 {
        return None;
    }
    let (hash, payload) = rest.split_at(32);
    if blake3::hash(payload).as_bytes() != hash {
        return None;
    }
    let item: Item = serde_json::from_slice(payload).ok()?;
    if item.class != MESSAGE_CLASS {
        return None;
    }
    let mut attachments = Vec::new();
    let mut kinds = BTreeMap::new();
    for a in item.attachments {
        let kind = match a.kind.as_str() {
            "file" => AttachmentKind::File,
            "item" => AttachmentKind::Item,
            "reference" => AttachmentKind::Reference,
            _ => return None,
        };
        if kind != AttachmentKind::File {
            kinds.insert(a.key, kind);
        }
        attachments.push(Attachment {
            key: a.key,
            name: a.name,
            content_type: a.content_type,
            bytes: STANDARD.decode(a.bytes).ok()?,
            is_inline: a.is_inline,
            content_id: a.content_id,
            last_modified: a.last_modified,
        });
    }
    Some(Imported {
        created: item.created,
        props: MessageProps {
            subject: item.subject,
            body_type: item.body_type,
            body: item.body,
            from: item.from,
            sender: item.sender,
            to: item.to,
            cc: item.cc,
            bcc: item.bcc,
            reply_to: item.reply_to,
            internet_message_id: item.internet_message_id,
            sent: item.sent,
            received: item.received,
            importance: item.importance,
            is_read: item.is_read,
            is_draft: item.is_draft,
            flag_status: item.flag_status,
            categories: item.categories,
            attachments,
            attachment_kinds: kinds,
            transport_headers: item.transport_headers,
            extended: item.extended,
            inference_other: item.inference_other,
            delivery_receipt_requested: item.delivery_receipt_requested,
            read_receipt_requested: item.read_receipt_requested,
        },
    })
}

/// Rough size of a message as Exchange reports it (`mailboxItem.size`):
/// the bytes of its properties and attachments.
pub(crate) fn size(m: &Message) -> u64 {
    let p = &m.props;
    let addrs = |v: &[EmailAddress]| {
        v.iter()
            .map(|a| a.name.len() + a.address.len() + 16)
            .sum::<usize>()
    };
    let n = 1024
        + p.subject.len()
        + p.body.len()
        + p.transport_headers.as_ref().map_or(0, String::len)
        + addrs(&p.to)
        + addrs(&p.cc)
        + addrs(&p.bcc)
        + addrs(&p.reply_to)
        + p.extended
            .iter()
            .map(|(k, v)| k.len() + v.len())
            .sum::<usize>()
        + p.attachments
            .iter()
            .map(|a| a.bytes.len() + a.name.len() + 64)
            .sum::<usize>();
    n as u64
}
