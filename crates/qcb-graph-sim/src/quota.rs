//! Mailbox size and quota (Exchange's `ProhibitSendReceiveQuota`).
//!
//! A mailbox has no quota unless one is set (`Admin::set_mailbox_quota`,
//! `PUT /_sim/users/{uid}/quota`), so nothing is computed for a mailbox
//! without one: the size is summed only when a quota is checked or asked
//! for. With a quota, every client write that adds content (a message,
//! an attachment, an upload session and its last range, a contact, an
//! event, a task, a folder, an import) is refused with 507
//! `ErrorQuotaExceeded` when it would take the mailbox over the quota, and
//! stores nothing. Moves, updates and deletions are never refused; reading
//! never is.
//!
//! The size is an approximation of Exchange's `TotalItemSize`: the bytes
//! of each item's properties and attachments (messages as
//! `mailboxItem.size` reports them, see [`crate::export::size`]), of the
//! contacts (properties and photo), events (properties, exceptions and
//! attachments) and tasks; folders count nothing. Items in Recoverable
//! Items (a DELETEd message in Deletions) count against Exchange's separate
//! Recoverable Items quota, not this one, so a DELETE frees space as a
//! permanent delete does.

use axum::http::StatusCode;
use serde_json::Value;

use crate::error::GraphError;
use crate::model::{Attachment, EmailAddress, Mailbox, RECOVERABLE_ITEMS_DELETIONS};
use crate::pim::{Contact, Event, EventProps, PhotoBytes, TodoTask};

/// Fixed overhead of a contact, event or task (its fixed-size properties).
pub(crate) const ITEM_OVERHEAD: usize = 512;

impl GraphError {
    /// 507 Insufficient Storage, "The maximum storage quota has been
    /// reached" (Microsoft Graph, concepts/errors.md, "HTTP status codes"),
    /// with Exchange's error code `ErrorQuotaExceeded`.
    pub fn quota_exceeded() -> Self {
        Self::new(
            StatusCode::INSUFFICIENT_STORAGE,
            "ErrorQuotaExceeded",
            "The mailbox is over its size limit. The item could not be saved.",
        )
    }
}

impl Mailbox {
    /// Approximate size in bytes of everything in the mailbox that counts
    /// against its quota (see the module documentation).
    pub fn size(&self) -> u64 {
        let deletions: Vec<u64> = self
            .folders
            .values()
            .filter(|f| f.well_known == Some(RECOVERABLE_ITEMS_DELETIONS))
            .map(|f| f.key)
            .collect();
        let mail: u64 = self
            .messages
            .values()
            .filter(|m| !deletions.contains(&m.folder))
            .map(crate::export::size)
            .sum();
        let pim = &self.pim;
        let contacts: u64 = pim.contacts.values().map(contact_size).sum();
        let events: u64 = pim.events.values().map(event_size).sum();
        let tasks: u64 = pim.tasks.values().map(task_size).sum();
        mail + contacts + events + tasks
    }

    /// Size of a contact, event or task (0 if there is none of that key).
    pub fn pim_item_size(&self, key: u64) -> u64 {
        let p = &self.pim;
        p.contacts
            .get(&key)
            .map(contact_size)
            .or_else(|| p.events.get(&key).map(event_size))
            .or_else(|| p.tasks.get(&key).map(task_size))
            .unwrap_or(0)
    }

    /// `Ok` when adding `bytes` keeps the mailbox within its quota (always
    /// without one); else 507 `ErrorQuotaExceeded`. Adding nothing (a
    /// folder) is refused once the mailbox is at or over its quota.
    pub fn check_quota(&self, bytes: u64) -> Result<(), GraphError> {
        let Some(quota) = self.quota else {
            return Ok(());
        };
        let size = self.size();
        let over = if bytes == 0 {
            size >= quota
        } else {
            size.saturating_add(bytes) > quota
        };
        if over {
            Err(GraphError::quota_exceeded())
        } else {
            Ok(())
        }
    }
}

/// Rough byte size of a JSON value (strings, numbers, nested objects).
pub(crate) fn value_size(v: &Value) -> usize {
    match v {
        Value::Null | Value::Bool(_) => 1,
        Value::Number(_) => 8,
        Value::String(s) => s.len(),
        Value::Array(a) => a.iter().map(value_size).sum::<usize>() + 2,
        Value::Object(o) => {
            o.iter()
                .map(|(k, v)| k.len() + value_size(v))
                .sum::<usize>()
                + 2
        }
    }
}

pub(crate) fn attachments_size(a: &[Attachment]) -> usize {
    a.iter().map(|a| a.bytes.len() + a.name.len() + 64).sum()
}

fn addresses_size<'a>(v: impl Iterator<Item = &'a EmailAddress>) -> usize {
    v.map(|a| a.name.len() + a.address.len() + 16).sum()
}

pub(crate) fn contact_size(c: &Contact) -> u64 {
    let photo = c.photo.as_ref().map_or(0, |p| match &p.bytes {
        PhotoBytes::Stored(b) => b.len(),
        // A generated PNG is stored uncompressed: 3 bytes a pixel.
        PhotoBytes::Generated { .. } => (p.width as usize * 3 + 1) * p.height as usize + 64,
    });
    let props: usize = c.props.iter().map(|(k, v)| k.len() + value_size(v)).sum();
    let ext: usize = c.extended.iter().map(|(k, v)| k.len() + v.len()).sum();
    (ITEM_OVERHEAD + props + ext + photo) as u64
}

fn event_props_size(p: &EventProps) -> usize {
    p.subject.len()
        + p.body.len()
        + p.location.as_ref().map_or(0, String::len)
        + addresses_size(p.attendees.iter().map(|a| &a.email))
        + addresses_size(std::iter::once(&p.organizer))
        + p.categories.iter().map(String::len).sum::<usize>()
}

pub(crate) fn event_size(e: &Event) -> u64 {
    let exceptions: usize = e
        .exceptions
        .values()
        .map(|x| ITEM_OVERHEAD + event_props_size(&x.props))
        .sum();
    let ext: usize = e.extended.iter().map(|(k, v)| k.len() + v.len()).sum();
    (ITEM_OVERHEAD
        + event_props_size(&e.props)
        + exceptions
        + attachments_size(&e.attachments)
        + ext
        + e.ical_uid.len()
        + e.cancelled.len() * 16) as u64
}

pub(crate) fn task_size(t: &TodoTask) -> u64 {
    (ITEM_OVERHEAD
        + t.title.len()
        + t.body.len()
        + t.categories.iter().map(String::len).sum::<usize>()) as u64
}

impl crate::export::Stream {
    /// What the imported item adds to its mailbox.
    pub fn size(&self) -> u64 {
        use crate::export::Stream;
        match self {
            Stream::Message(m) => crate::export::props_size(&m.props),
            Stream::Contact(c) => contact_size(c),
            Stream::Event(e) => event_size(e),
            Stream::Task(t) => task_size(t),
        }
    }
}
