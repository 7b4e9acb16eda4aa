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

use serde_json::{Map, Value};

use crate::model::{
    Attachment, AttachmentKind, BodyType, EmailAddress, FlagStatus, Importance, Message,
    MessageProps,
};
use crate::pim::{Contact, Event, Photo, PhotoBytes, TodoTask};

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
                bytes: STANDARD.encode(a.bytes.data()),
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
    seal(&serde_json::to_vec(&item).unwrap_or_default())
}

/// Magic, version, hash and payload, in base64.
fn seal(payload: &[u8]) -> String {
    let mut out = Vec::with_capacity(payload.len() + 39);
    out.extend_from_slice(MAGIC);
    out.push(VERSION);
    out.extend_from_slice(blake3::hash(payload).as_bytes());
    out.extend_from_slice(payload);
    STANDARD.encode(out)
}

/// The payload of a stream made by [`seal`], if it is one and intact.
fn unseal(data: &str) -> Option<Vec<u8>> {
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
    Some(payload.to_vec())
}

/// Message classes of the other items (PidTagMessageClass), and the folder
/// classes (PidTagContainerClass) of the folders that hold them.
pub(crate) const CONTACT_CLASS: &str = "IPM.Contact";
pub(crate) const EVENT_CLASS: &str = "IPM.Appointment";
pub(crate) const TASK_CLASS: &str = "IPM.Task";

#[derive(Serialize, Deserialize)]
struct ContactItem {
    class: String,
    created: DateTime<Utc>,
    last_modified: DateTime<Utc>,
    props: Map<String, Value>,
    photo: Option<PhotoItem>,
    extended: BTreeMap<String, String>,
}

#[derive(Serialize, Deserialize)]
struct PhotoItem {
    content_type: String,
    width: u32,
    height: u32,
    #[serde(with = "base64_bytes")]
    bytes: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
struct EventItem {
    class: String,
    event: Event,
}

#[derive(Serialize, Deserialize)]
struct TaskItem {
    class: String,
    task: TodoTask,
}

/// The export stream of a contact: every property, the photo's bytes, the
/// extended properties and the dates.
pub(crate) fn encode_contact(c: &Contact) -> String {
    let item = ContactItem {
        class: CONTACT_CLASS.into(),
        created: c.created,
        last_modified: c.last_modified,
        props: c.props.clone(),
        photo: c.photo.as_ref().map(|p| PhotoItem {
            content_type: p.content_type.clone(),
            width: p.width,
            height: p.height,
            bytes: p.data(),
        }),
        extended: c.extended.clone(),
    };
    seal(&serde_json::to_vec(&item).unwrap_or_default())
}

/// The export stream of an event or series: the master's properties, its
/// recurrence, every exception and cancelled occurrence, attachments with
/// their bytes, extended properties, iCalUId and dates.
pub(crate) fn encode_event(e: &Event) -> String {
    let item = EventItem {
        class: EVENT_CLASS.into(),
        event: e.clone(),
    };
    seal(&serde_json::to_vec(&item).unwrap_or_default())
}

/// The export stream of a task.
pub(crate) fn encode_task(t: &TodoTask) -> String {
    let item = TaskItem {
        class: TASK_CLASS.into(),
        task: t.clone(),
    };
    seal(&serde_json::to_vec(&item).unwrap_or_default())
}

/// A decoded stream of any class.
pub(crate) enum Stream {
    Message(Box<Imported>),
    Contact(Box<Contact>),
    Event(Box<Event>),
    Task(Box<TodoTask>),
}

impl Stream {
    pub fn class(&self) -> &'static str {
        match self {
            Stream::Message(_) => MESSAGE_CLASS,
            Stream::Contact(_) => CONTACT_CLASS,
            Stream::Event(_) => EVENT_CLASS,
            Stream::Task(_) => TASK_CLASS,
        }
    }
}

/// Decodes a stream of any class (keys, folders and change numbers of the
/// returned items are the exporter's: the importer sets its own).
pub(crate) fn decode_any(data: &str) -> Option<Stream> {
    let payload = unseal(data)?;
    #[derive(Deserialize)]
    struct Class {
        class: String,
    }
    let class: Class = serde_json::from_slice(&payload).ok()?;
    match class.class.as_str() {
        MESSAGE_CLASS => decode_message(&payload).map(|m| Stream::Message(Box::new(m))),
        CONTACT_CLASS => {
            let c: ContactItem = serde_json::from_slice(&payload).ok()?;
            Some(Stream::Contact(Box::new(Contact {
                key: 0,
                folder: 0,
                change_seq: 0,
                created: c.created,
                last_modified: c.last_modified,
                props: c.props,
                photo: c.photo.map(|p| Photo {
                    bytes: PhotoBytes::Stored(p.bytes),
                    content_type: p.content_type,
                    width: p.width,
                    height: p.height,
                    change_seq: 0,
                }),
                extended: c.extended,
            })))
        }
        EVENT_CLASS => {
            let e: EventItem = serde_json::from_slice(&payload).ok()?;
            Some(Stream::Event(Box::new(e.event)))
        }
        TASK_CLASS => {
            let t: TaskItem = serde_json::from_slice(&payload).ok()?;
            Some(Stream::Task(Box::new(t.task)))
        }
        _ => None,
    }
}

/// Bytes as base64 in streams.
pub(crate) mod base64_bytes {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(b))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        STANDARD.decode(s).map_err(serde::de::Error::custom)
    }
}

/// Rough size of a contact, event or task (`mailboxItem.size`): its stream.
pub(crate) fn stream_size(stream: &str) -> u64 {
    (stream.len() / 4 * 3) as u64
}

/// A message stream's payload made by [`encode`]; `None` when it is not one.
fn decode_message(payload: &[u8]) -> Option<Imported> {
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
            bytes: STANDARD.decode(a.bytes).ok()?.into(),
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
    props_size(&m.props)
}

/// [`size`] of a message's properties (before it is stored).
pub(crate) fn props_size(p: &MessageProps) -> u64 {
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
        + crate::quota::attachments_size(&p.attachments);
    n as u64
}
