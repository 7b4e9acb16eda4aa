//! What the emulated Exchange store keeps: users, folders and messages as
//! *properties* (Exchange does not keep the wire MIME of a message; it
//! regenerates it from properties, see `mime.rs`).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// `itemBody.contentType` (Graph `bodyType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", try_from = "String")]
pub enum BodyType {
    #[default]
    Text,
    Html,
}

impl BodyType {
    pub fn as_str(self) -> &'static str {
        match self {
            BodyType::Text => "text",
            BodyType::Html => "html",
        }
    }
    /// Case-insensitive, as Graph accepts `"HTML"`, `"html"`, `"Text"`.
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "text" => Some(BodyType::Text),
            "html" => Some(BodyType::Html),
            _ => None,
        }
    }
}

impl TryFrom<String> for BodyType {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s).ok_or_else(|| format!("unknown body type '{s}'"))
    }
}

/// Graph `importance`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", try_from = "String")]
pub enum Importance {
    Low,
    #[default]
    Normal,
    High,
}

impl Importance {
    pub fn as_str(self) -> &'static str {
        match self {
            Importance::Low => "low",
            Importance::Normal => "normal",
            Importance::High => "high",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "low" => Some(Importance::Low),
            "normal" => Some(Importance::Normal),
            "high" => Some(Importance::High),
            _ => None,
        }
    }
}

impl TryFrom<String> for Importance {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s).ok_or_else(|| format!("unknown importance '{s}'"))
    }
}

/// Graph `followupFlagStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", try_from = "String")]
pub enum FlagStatus {
    #[default]
    NotFlagged,
    Complete,
    Flagged,
}

impl FlagStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            FlagStatus::NotFlagged => "notFlagged",
            FlagStatus::Complete => "complete",
            FlagStatus::Flagged => "flagged",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "notflagged" => Some(FlagStatus::NotFlagged),
            "complete" => Some(FlagStatus::Complete),
            "flagged" => Some(FlagStatus::Flagged),
            _ => None,
        }
    }
}

impl TryFrom<String> for FlagStatus {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s).ok_or_else(|| format!("unknown flag status '{s}'"))
    }
}

/// A mailbox address with its display name (Graph `emailAddress`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct EmailAddress {
    pub name: String,
    pub address: String,
}

impl EmailAddress {
    pub fn new(name: impl Into<String>, address: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            address: address.into(),
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct User {
    pub guid: [u8; 16],
    pub id: String,
    pub upn: String,
    pub display_name: String,
    pub given_name: String,
    pub surname: String,
    pub mail: String,
    pub job_title: String,
    pub office_location: String,
    pub preferred_language: String,
    pub business_phones: Vec<String>,
    pub mobile_phone: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct Folder {
    pub key: u64,
    /// `None` only for the synthetic mailbox root above msgfolderroot.
    pub parent: Option<u64>,
    pub display_name: String,
    pub well_known: Option<&'static str>,
    pub hidden: bool,
    /// Mailbox change sequence of its creation, rename or move (folder delta).
    pub change_seq: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Attachment {
    pub key: u32,
    pub name: String,
    pub content_type: String,
    pub bytes: Blob,
    pub is_inline: bool,
    pub content_id: Option<String>,
    pub last_modified: DateTime<Utc>,
}

/// An attachment's bytes: stored, or (generated attachments) rendered on
/// demand from the PRNG state they were generated from, so a large tenant
/// keeps only a few bytes per attachment in memory. Reading gives the same
/// bytes every time.
#[derive(Debug, Clone)]
pub(crate) enum Blob {
    Stored(Vec<u8>),
    Generated {
        spec: crate::data::blobs::BlobSpec,
        len: usize,
    },
}

impl Blob {
    pub fn len(&self) -> usize {
        match self {
            Blob::Stored(b) => b.len(),
            Blob::Generated { len, .. } => *len,
        }
    }

    pub fn data(&self) -> std::borrow::Cow<'_, [u8]> {
        match self {
            Blob::Stored(b) => std::borrow::Cow::Borrowed(b),
            Blob::Generated { spec, .. } => std::borrow::Cow::Owned(spec.render()),
        }
    }
}

impl From<Vec<u8>> for Blob {
    fn from(b: Vec<u8>) -> Self {
        Blob::Stored(b)
    }
}

impl Serialize for Blob {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        crate::export::base64_bytes::serialize(&self.data(), s)
    }
}

impl<'de> Deserialize<'de> for Blob {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        crate::export::base64_bytes::deserialize(d).map(Blob::Stored)
    }
}

/// What an attachment is (Graph's `fileAttachment`, `itemAttachment`,
/// `referenceAttachment`). An item attachment keeps the attached item as
/// MIME in `Attachment::bytes`; a reference attachment keeps its link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum AttachmentKind {
    #[default]
    File,
    Item,
    Reference,
}

/// The content properties of a message: everything `$value` (MIME) is
/// generated from, plus the flags that MIME does not carry.
#[derive(Debug, Clone)]
pub(crate) struct MessageProps {
    pub subject: String,
    pub body_type: BodyType,
    pub body: String,
    pub from: Option<EmailAddress>,
    pub sender: Option<EmailAddress>,
    pub to: Vec<EmailAddress>,
    pub cc: Vec<EmailAddress>,
    pub bcc: Vec<EmailAddress>,
    pub reply_to: Vec<EmailAddress>,
    /// With angle brackets, e.g. `<abc@host>`.
    pub internet_message_id: String,
    pub sent: DateTime<Utc>,
    pub received: DateTime<Utc>,
    pub importance: Importance,
    pub is_read: bool,
    pub is_draft: bool,
    pub flag_status: FlagStatus,
    pub categories: Vec<String>,
    pub attachments: Vec<Attachment>,
    /// The kind of each attachment that is not a file attachment, by key.
    pub attachment_kinds: BTreeMap<u32, AttachmentKind>,
    /// PidTagTransportMessageHeaders (0x007D): the received header block.
    pub transport_headers: Option<String>,
    /// Other single-value extended properties set by clients, by canonical id.
    pub extended: BTreeMap<String, String>,
    pub inference_other: bool,
    pub delivery_receipt_requested: bool,
    pub read_receipt_requested: bool,
}

impl MessageProps {
    pub fn attachment_kind(&self, key: u32) -> AttachmentKind {
        self.attachment_kinds.get(&key).copied().unwrap_or_default()
    }

    pub fn has_file_attachments(&self) -> bool {
        self.attachments.iter().any(|a| !a.is_inline)
    }

    /// PidTagMessageFlags as Exchange would report it.
    pub fn message_flags(&self) -> u32 {
        let mut f = 0;
        if self.is_read {
            f |= 0x1; // MSGFLAG_READ
        }
        if self.is_draft {
            f |= 0x8; // MSGFLAG_UNSENT
        }
        if self.has_file_attachments() {
            f |= 0x10; // MSGFLAG_HASATTACH
        }
        f
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Message {
    pub key: u64,
    pub folder: u64,
    /// Bumped on every move: part of the regular (non-immutable) id.
    pub move_gen: u16,
    /// Mailbox change sequence of the last change (create, update, move in).
    pub change_seq: u64,
    /// Mailbox change sequence when it appeared in its current folder.
    pub arrival_seq: u64,
    pub created: DateTime<Utc>,
    pub last_modified: DateTime<Utc>,
    pub props: MessageProps,
}

/// A message that left a folder (deleted or moved out), for delta queries.
#[derive(Debug, Clone)]
pub(crate) struct Tombstone {
    pub folder: u64,
    pub key: u64,
    pub move_gen: u16,
    pub seq: u64,
}

#[derive(Debug, Clone)]
pub(crate) struct Mailbox {
    pub user: User,
    pub folders: BTreeMap<u64, Folder>,
    pub messages: BTreeMap<u64, Message>,
    pub tombstones: Vec<Tombstone>,
    /// Monotonic change sequence of this mailbox.
    pub seq: u64,
    pub next_key: u64,
    /// Contacts, calendars, To Do, rules (`crate::pim`).
    pub pim: crate::pim::Pim,
    /// Exchange's ProhibitSendReceiveQuota in bytes; `None`: unlimited
    /// (`crate::quota`).
    pub quota: Option<u64>,
}

/// Key of the (unlisted) mailbox root above msgfolderroot.
pub(crate) const MAILBOX_ROOT_KEY: u64 = 1;
/// Key of msgfolderroot ("Top of Information Store").
pub(crate) const MSGFOLDERROOT_KEY: u64 = 2;
/// Well-known name of the dumpster's Deletions folder, where Graph's DELETE
/// puts a message.
pub(crate) const RECOVERABLE_ITEMS_DELETIONS: &str = "recoverableitemsdeletions";
