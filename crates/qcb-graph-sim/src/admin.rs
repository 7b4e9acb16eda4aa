//! The library-side admin API: inspect and mutate the tenant between
//! backups, and read the request log. Also serves the `/_sim/` HTTP API.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::Shared;
use crate::error::SimError;
use crate::ids::IdForm;
use crate::model::{
    BodyType, EmailAddress, FlagStatus, Importance, MAILBOX_ROOT_KEY, Mailbox, Message,
};
use crate::store::Tenant;

/// A tenant user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserInfo {
    pub id: String,
    pub user_principal_name: String,
    pub display_name: String,
    pub mail: String,
}

/// A mail folder. `path` is the slash-separated display names below
/// msgfolderroot ("Inbox/Projects"); msgfolderroot itself has path "".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FolderInfo {
    pub id: String,
    /// `None` for msgfolderroot.
    pub parent_id: Option<String>,
    pub display_name: String,
    pub path: String,
    pub well_known_name: Option<String>,
    pub is_hidden: bool,
    pub total_item_count: usize,
    pub unread_item_count: usize,
}

/// [`Admin::residency`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Residency {
    pub mailboxes: usize,
    pub resident: usize,
    pub generations: u64,
}

/// A message as the store holds it. `id` is the immutable id (what clients
/// see with `Prefer: IdType="ImmutableId"`); `regular_id` is the current
/// regular id (changes when the message moves). `mime` is exactly what
/// `GET .../$value` returns.
/// One attachment of a message, without its bytes: `id` is the immutable
/// form (`kind` `file`, `item` or `reference`; `size` in bytes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AttachmentInfo {
    pub id: String,
    pub name: String,
    pub content_type: String,
    pub kind: String,
    pub size: usize,
    pub is_inline: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MessageView {
    pub id: String,
    pub regular_id: String,
    pub folder_id: String,
    pub subject: String,
    pub is_read: bool,
    pub is_draft: bool,
    pub received_date_time: String,
    pub sent_date_time: String,
    pub created_date_time: String,
    pub last_modified_date_time: String,
    pub internet_message_id: String,
    pub change_key: String,
    pub importance: Importance,
    pub flag_status: FlagStatus,
    pub categories: Vec<String>,
    pub has_attachments: bool,
    /// Names of all attachments, inline ones included, in order.
    pub attachment_names: Vec<String>,
    pub from: Option<EmailAddress>,
    pub body_content_type: BodyType,
    /// PidTagTransportMessageHeaders (0x007D), if the message has one.
    pub transport_headers: Option<String>,
    #[serde(skip)]
    pub mime: Vec<u8>,
}

/// A file attachment of a [`NewMessage`]. In JSON (`/_sim/` API) `content`
/// is base64.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct NewAttachment {
    pub name: String,
    pub content_type: String,
    #[serde(with = "b64")]
    pub content: Vec<u8>,
    pub is_inline: bool,
    pub content_id: Option<String>,
}

mod b64 {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(v))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        STANDARD.decode(s.trim()).map_err(serde::de::Error::custom)
    }
}

/// A message to add through [`Admin::add_message`] (or `POST /_sim/...`,
/// snake_case JSON). Defaults: a received (non-draft), unread, text message;
/// `from` missing = the mailbox owner; `to` empty on a received message =
/// the mailbox owner; dates missing = now; `internet_message_id` missing =
/// one assigned by the store; `transport_headers` missing on a received
/// message = a realistic header block synthesised from the properties.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct NewMessage {
    pub subject: String,
    pub body_content_type: BodyType,
    pub body: String,
    pub from: Option<EmailAddress>,
    pub to: Vec<EmailAddress>,
    pub cc: Vec<EmailAddress>,
    pub bcc: Vec<EmailAddress>,
    pub reply_to: Vec<EmailAddress>,
    /// RFC 3339.
    pub received_date_time: Option<String>,
    /// RFC 3339.
    pub sent_date_time: Option<String>,
    pub is_read: bool,
    pub is_draft: bool,
    pub importance: Importance,
    pub flag_status: FlagStatus,
    pub categories: Vec<String>,
    pub internet_message_id: Option<String>,
    pub transport_headers: Option<String>,
    pub attachments: Vec<NewAttachment>,
}

impl NewMessage {
    /// A realistic received message (multilingual subject and body, maybe
    /// attachments or an inline image), deterministic from `seed`. Dates
    /// are left empty (= the time it is added).
    pub fn generated(seed: u64) -> Self {
        crate::data::generated_message(seed)
    }
}

/// Changes applied by [`Admin::update_message`]; `None` leaves a property
/// as it is. Every update gives the message a new changeKey.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct MessagePatch {
    pub is_read: Option<bool>,
    pub subject: Option<String>,
    pub flag_status: Option<FlagStatus>,
    pub categories: Option<Vec<String>>,
    pub importance: Option<Importance>,
}

/// One served request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoggedRequest {
    pub method: String,
    /// The path as sent, percent-decoded (so ids and UPNs appear as they
    /// are), without the query.
    pub path: String,
    /// Raw query string ("" when none).
    pub query: String,
    pub status: u16,
    /// Resolved user id when the path names a user (`/v1.0/users/{id|upn}/...`).
    pub mailbox: Option<String>,
    /// Raw `Prefer` header values, joined with ", ".
    pub prefer: Option<String>,
    pub request_id: String,
    /// RFC 3339, server clock.
    pub time: String,
    /// Milliseconds from the request's arrival to its answer's headers.
    #[serde(default)]
    pub duration_ms: u64,
    /// The injected fault, if any (`Fault::name`: "service_unavailable"…).
    #[serde(default)]
    pub fault: Option<String>,
    /// For a `$batch` sub-request: the sub-request's `id` in the batch
    /// (the batch itself is logged as `POST /v1.0/$batch`, after them).
    #[serde(default)]
    pub batch_id: Option<String>,
    /// The request body's length (its `Content-Length`; 0 for none): what counts against
    /// the per-mailbox upload limit.
    #[serde(default)]
    pub request_bytes: u64,
}

/// Inspect and mutate the tenant. Cheap to clone (an `Arc`).
#[derive(Clone)]
pub struct Admin {
    pub(crate) shared: Arc<Shared>,
}

impl std::fmt::Debug for Admin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Admin").finish_non_exhaustive()
    }
}

pub(crate) fn message_view(mbx: &Mailbox, m: &Message) -> MessageView {
    let p = &m.props;
    MessageView {
        id: mbx.message_id(m, IdForm::Immutable),
        regular_id: mbx.message_id(m, IdForm::Regular),
        folder_id: mbx.folder_id(m.folder),
        subject: p.subject.clone(),
        is_read: p.is_read,
        is_draft: p.is_draft,
        received_date_time: crate::json::ts(&p.received),
        sent_date_time: crate::json::ts(&p.sent),
        created_date_time: crate::json::ts(&m.created),
        last_modified_date_time: crate::json::ts(&m.last_modified),
        internet_message_id: p.internet_message_id.clone(),
        change_key: crate::ids::change_key(mbx.guid(), m.change_seq),
        importance: p.importance,
        flag_status: p.flag_status,
        categories: p.categories.clone(),
        has_attachments: p.has_file_attachments(),
        attachment_names: p.attachments.iter().map(|a| a.name.clone()).collect(),
        from: p.from.clone(),
        body_content_type: p.body_type,
        transport_headers: p.transport_headers.clone(),
        mime: crate::mime::render(p),
    }
}

impl Admin {
    fn with<R>(&self, f: impl FnOnce(&mut Tenant) -> R) -> R {
        let mut t = self.shared.lock();
        f(&mut t)
    }

    fn with_mailbox<R>(
        &self,
        user_id: &str,
        f: impl FnOnce(&mut Mailbox, chrono::DateTime<chrono::Utc>) -> R,
    ) -> Option<R> {
        self.with(|t| {
            let now = t.now();
            let i = t.mailbox_index(user_id)?;
            Some(f(&mut t.mailboxes[i], now))
        })
    }

    /// All users, in directory order (alice, bob, then generated ones).
    pub fn users(&self) -> Vec<UserInfo> {
        self.with(|t| {
            t.mailboxes
                .directory()
                .map(|(u, _)| UserInfo {
                    id: u.id.clone(),
                    user_principal_name: u.upn.clone(),
                    display_name: u.display_name.clone(),
                    mail: u.mail.clone(),
                })
                .collect()
        })
    }

    /// Every folder of a mailbox (msgfolderroot and everything below it,
    /// hidden ones included; not the Recoverable Items subtree beside it,
    /// which Graph does not list either: see [`Admin::folder`]), parents
    /// before children. Empty for an
    /// unknown user. `user_id` may be the id or the UPN.
    pub fn folders(&self, user_id: &str) -> Vec<FolderInfo> {
        self.with_mailbox(user_id, |mbx, _| {
            let mut out = Vec::new();
            let mut stack = vec![crate::model::MSGFOLDERROOT_KEY];
            while let Some(k) = stack.pop() {
                let Some(f) = mbx.folders.get(&k) else {
                    continue;
                };
                out.push(folder_info(mbx, f));
                let children = mbx.children(k, true);
                for c in children.iter().rev() {
                    stack.push(c.key);
                }
            }
            out
        })
        .unwrap_or_default()
    }

    /// One folder by id or well-known name, any folder of the mailbox: also
    /// those outside msgfolderroot that [`Admin::folders`] leaves out, as
    /// `recoverableitemsdeletions` (Recoverable Items > Deletions, where
    /// Graph's DELETE puts a message). `None` for an unknown user or folder.
    pub fn folder(&self, user_id: &str, folder_id: &str) -> Option<FolderInfo> {
        self.with_mailbox(user_id, |mbx, _| {
            let k = mbx.folder_key(folder_id).ok()?;
            mbx.folders.get(&k).map(|f| folder_info(mbx, f))
        })
        .flatten()
    }

    /// Messages of a folder (`folder_id` may be an id or a well-known
    /// name), in creation order (the generated mail oldest first, then what
    /// was added). Empty for an unknown user or folder.
    pub fn messages(&self, user_id: &str, folder_id: &str) -> Vec<MessageView> {
        self.with_mailbox(user_id, |mbx, _| {
            let Ok(fk) = mbx.folder_key(folder_id) else {
                return Vec::new();
            };
            mbx.messages_in(fk).map(|m| message_view(mbx, m)).collect()
        })
        .unwrap_or_default()
    }

    /// One message by immutable or current regular id.
    pub fn message(&self, user_id: &str, message_id: &str) -> Option<MessageView> {
        self.with_mailbox(user_id, |mbx, _| {
            let key = mbx.message_key(message_id).ok()?;
            mbx.messages.get(&key).map(|m| message_view(mbx, m))
        })
        .flatten()
    }

    /// A message's attachments (any id form of the message), without
    /// rendering their bytes. Empty if not found.
    pub fn attachments(&self, user_id: &str, message_id: &str) -> Vec<AttachmentInfo> {
        self.with_mailbox(user_id, |mbx, _| {
            let Ok(key) = mbx.message_key(message_id) else {
                return Vec::new();
            };
            let Some(m) = mbx.messages.get(&key) else {
                return Vec::new();
            };
            m.props
                .attachments
                .iter()
                .map(|a| AttachmentInfo {
                    id: mbx.attachment_id(m, a, crate::ids::IdForm::Immutable),
                    name: a.name.clone(),
                    content_type: a.content_type.clone(),
                    kind: match m.props.attachment_kind(a.key) {
                        crate::model::AttachmentKind::File => "file",
                        crate::model::AttachmentKind::Item => "item",
                        crate::model::AttachmentKind::Reference => "reference",
                    }
                    .to_string(),
                    size: a.bytes.len(),
                    is_inline: a.is_inline,
                })
                .collect()
        })
        .unwrap_or_default()
    }

    /// Adds a message; returns its immutable id.
    ///
    /// # Panics
    /// If the user or folder does not exist or a date is not RFC 3339; use
    /// [`Admin::try_add_message`] to get an error instead.
    pub fn add_message(&self, user_id: &str, folder_id: &str, m: NewMessage) -> String {
        match self.try_add_message(user_id, folder_id, m) {
            Ok(id) => id,
            Err(e) => panic!("Admin::add_message: {e}"),
        }
    }

    /// Adds a message; returns its immutable id.
    pub fn try_add_message(
        &self,
        user_id: &str,
        folder_id: &str,
        m: NewMessage,
    ) -> Result<String, SimError> {
        self.insert_message(user_id, folder_id, |mbx, now| {
            crate::data::props_from_new(m, &mbx.user, mbx.next_key, now)
        })
    }

    /// Stores the message `make` builds (from the mailbox, at the tenant's time) in a folder;
    /// returns its immutable id.
    fn insert_message(
        &self,
        user_id: &str,
        folder_id: &str,
        make: impl FnOnce(
            &Mailbox,
            chrono::DateTime<chrono::Utc>,
        ) -> Result<crate::model::MessageProps, SimError>,
    ) -> Result<String, SimError> {
        self.with_mailbox(user_id, |mbx, now| {
            let fk = mbx
                .folder_key(folder_id)
                .map_err(|_| SimError::UnknownFolder(folder_id.to_string()))?;
            let key = mbx.insert_message(fk, make(mbx, now)?, now);
            let msg = mbx
                .messages
                .get(&key)
                .ok_or_else(|| SimError::UnknownMessage(key.to_string()))?;
            Ok(mbx.message_id(msg, IdForm::Immutable))
        })
        .unwrap_or_else(|| Err(SimError::UnknownUser(user_id.to_string())))
    }

    /// Delivers a raw RFC 5322 message into a folder as Exchange Online's transport would:
    /// checked against its size limits (150 MB, 256 KB of header), converted to properties
    /// (body, recipients, attachments; attached messages become item attachments), its header
    /// block kept verbatim as the transport headers (0x007D), unread. `$value` then returns the
    /// MIME Exchange regenerates from those properties, as for any received message. Returns
    /// the immutable id; a message Exchange would bounce gives [`SimError::Rejected`] with the
    /// NDR text.
    pub fn deliver_mime(
        &self,
        user_id: &str,
        folder_id: &str,
        raw: &[u8],
    ) -> Result<String, SimError> {
        crate::mime::check_delivery(raw).map_err(SimError::Rejected)?;
        let parsed = crate::mime::parse(raw)
            .map_err(|e| SimError::Rejected(format!("554 5.6.0 corrupt message content: {e}")))?;
        let headers = crate::mime::header_block(raw).map_err(SimError::Rejected)?;
        self.insert_message(user_id, folder_id, |mbx, now| {
            let mut props = crate::mime::props_from_parsed(parsed, mbx.guid(), mbx.next_key, now);
            props.is_draft = false;
            props.is_read = false;
            props.transport_headers = Some(headers);
            Ok(props)
        })
    }

    /// Changes flags/subject/categories/importance; false if not found.
    pub fn update_message(&self, user_id: &str, message_id: &str, p: MessagePatch) -> bool {
        self.with_mailbox(user_id, |mbx, now| match mbx.message_key(message_id) {
            Ok(k) => mbx.update_message(k, &p, now),
            Err(_) => false,
        })
        .unwrap_or(false)
    }

    /// Hard-deletes a message; false if not found.
    pub fn delete_message(&self, user_id: &str, message_id: &str) -> bool {
        self.with_mailbox(user_id, |mbx, _| match mbx.message_key(message_id) {
            Ok(k) => mbx.delete_message(k),
            Err(_) => false,
        })
        .unwrap_or(false)
    }

    /// Moves a message (destination by id or well-known name); its immutable
    /// id stays, its regular id changes. False if anything is not found.
    pub fn move_message(&self, user_id: &str, message_id: &str, dest_folder_id: &str) -> bool {
        self.with_mailbox(user_id, |mbx, now| {
            match (mbx.message_key(message_id), mbx.folder_key(dest_folder_id)) {
                (Ok(k), Ok(d)) => mbx.move_message(k, d, now),
                _ => false,
            }
        })
        .unwrap_or(false)
    }

    /// Creates a folder under `parent_folder_id` (id or well-known name);
    /// returns its id.
    pub fn create_folder(
        &self,
        user_id: &str,
        parent_folder_id: &str,
        display_name: &str,
    ) -> Result<String, SimError> {
        self.with_mailbox(user_id, |mbx, _| {
            let parent = mbx
                .folder_key(parent_folder_id)
                .map_err(|_| SimError::UnknownFolder(parent_folder_id.to_string()))?;
            let k = mbx
                .create_folder(parent, display_name, false)
                .map_err(|_| SimError::Invalid(format!("folder '{display_name}' exists")))?;
            Ok(mbx.folder_id(k))
        })
        .unwrap_or_else(|| Err(SimError::UnknownUser(user_id.to_string())))
    }

    /// Renames a folder (user activity between backups, as in Outlook); it keeps its id and
    /// `mailFolders/delta` reports it as changed. Well-known folders and names its parent
    /// already has are refused.
    pub fn rename_folder(
        &self,
        user_id: &str,
        folder_id: &str,
        name: &str,
    ) -> Result<(), SimError> {
        self.change_folder(user_id, folder_id, Some(name), None)
    }

    /// Moves a folder, with everything below it, under `parent_folder_id` (id or well-known
    /// name); it keeps its id and `mailFolders/delta` reports it as changed.
    pub fn move_folder(
        &self,
        user_id: &str,
        folder_id: &str,
        parent_folder_id: &str,
    ) -> Result<(), SimError> {
        self.change_folder(user_id, folder_id, None, Some(parent_folder_id))
    }

    fn change_folder(
        &self,
        user_id: &str,
        folder_id: &str,
        name: Option<&str>,
        parent: Option<&str>,
    ) -> Result<(), SimError> {
        self.with_mailbox(user_id, |mbx, _| {
            let key = mbx
                .folder_key(folder_id)
                .map_err(|_| SimError::UnknownFolder(folder_id.to_string()))?;
            let parent = parent
                .map(|p| {
                    mbx.folder_key(p)
                        .map_err(|_| SimError::UnknownFolder(p.to_string()))
                })
                .transpose()?;
            mbx.change_folder(key, name, parent)
                .map_err(SimError::Invalid)
        })
        .unwrap_or_else(|| Err(SimError::UnknownUser(user_id.to_string())))
    }

    /// Sets the mailbox's quota in bytes (Exchange's
    /// ProhibitSendReceiveQuota); `None`: unlimited, the default. Client
    /// writes that would take the mailbox over it are refused with 507
    /// `ErrorQuotaExceeded` (see the README, "Mailbox quotas"). Lowering it
    /// below the mailbox's size is allowed: then every adding write is
    /// refused until enough is deleted.
    pub fn set_mailbox_quota(&self, user_id: &str, quota: Option<u64>) -> Result<(), SimError> {
        self.with_mailbox(user_id, |mbx, _| mbx.quota = quota)
            .ok_or_else(|| SimError::UnknownUser(user_id.to_string()))
    }

    /// The mailbox's quota in bytes (`None`: unlimited); `None` for an
    /// unknown user.
    pub fn mailbox_quota(&self, user_id: &str) -> Option<Option<u64>> {
        self.with_mailbox(user_id, |mbx, _| mbx.quota)
    }

    /// The mailbox's size in bytes as the quota counts it (an
    /// approximation of Exchange's TotalItemSize: items' properties and
    /// attachments, Recoverable Items excluded); `None` for an unknown user.
    pub fn mailbox_size(&self, user_id: &str) -> Option<u64> {
        self.with_mailbox(user_id, |mbx, _| mbx.size())
    }

    /// How many mailboxes there are, how many have their contents in
    /// memory now, and how many times a mailbox's contents were generated
    /// (first touch, or again after being dropped; see `MemoryConfig`).
    pub fn residency(&self) -> Residency {
        let t = self.shared.lock();
        let (resident, generations) = t.mailboxes.residency();
        Residency {
            mailboxes: t.mailboxes.len(),
            resident,
            generations,
        }
    }

    /// Every request served since start (or the last clear), oldest first.
    /// `/_sim/` admin calls are not logged.
    pub fn request_log(&self) -> Vec<LoggedRequest> {
        self.with(|t| t.log.clone())
    }

    pub fn clear_request_log(&self) {
        self.with(|t| t.log.clear());
    }

    /// Moves the server clock forward (token expiry, dates of new items).
    pub fn advance_clock(&self, by: std::time::Duration) {
        self.with(|t| {
            t.clock_offset += chrono::Duration::from_std(by).unwrap_or(chrono::Duration::zero());
        });
    }
}

fn folder_info(mbx: &Mailbox, f: &crate::model::Folder) -> FolderInfo {
    FolderInfo {
        id: mbx.folder_id(f.key),
        parent_id: f
            .parent
            .filter(|p| *p != MAILBOX_ROOT_KEY)
            .map(|p| mbx.folder_id(p)),
        display_name: f.display_name.clone(),
        path: mbx.folder_path(f.key),
        well_known_name: f.well_known.map(str::to_string),
        is_hidden: f.hidden,
        total_item_count: mbx.total_items(f.key),
        unread_item_count: mbx.unread_items(f.key),
    }
}
