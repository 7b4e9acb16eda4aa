//! The tenant state: mailboxes, the per-mailbox change sequence that drives
//! delta queries and change keys, tombstones, the request log and the clock.
//!
//! Every mutation of a message takes the next number of its mailbox's
//! change sequence. A message remembers the number of its last change
//! (`change_seq`) and of its arrival in its current folder (`arrival_seq`);
//! a message leaving a folder (delete, move) leaves a [`Tombstone`] there.

use std::collections::BTreeMap;

use chrono::{DateTime, SubsecRound, Utc};

use crate::admin::{LoggedRequest, MessagePatch};
use crate::ids::{self, IdForm, IdRef};
use crate::model::{
    Attachment, Folder, MAILBOX_ROOT_KEY, MSGFOLDERROOT_KEY, Mailbox, Message, MessageProps,
    RECOVERABLE_ITEMS_DELETIONS, Tombstone, User,
};

pub(crate) struct Tenant {
    pub tenant_id: String,
    pub client_id: String,
    pub client_secret: String,
    /// Secret for access tokens and delta tokens (derived from the seed).
    pub key: [u8; 32],
    /// Random per server start: delta tokens of an earlier run are expired.
    pub instance: u64,
    pub mailboxes: crate::resident::Mailboxes,
    pub log: Vec<LoggedRequest>,
    pub clock_offset: chrono::Duration,
    /// Seeds `NewMessage::generated` for admin HTTP calls without a body.
    pub generated_counter: u64,
    pub seed: u64,
}

/// Why an id in a URL did not resolve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lookup {
    Malformed,
    NotFound,
}

impl Tenant {
    pub fn new(
        seed: u64,
        tenant_id: String,
        client_id: String,
        client_secret: String,
        key: [u8; 32],
        mailboxes: crate::resident::Mailboxes,
    ) -> Self {
        Self {
            tenant_id,
            client_id,
            client_secret,
            key,
            instance: rand::random::<u64>(),
            mailboxes,
            log: Vec::new(),
            clock_offset: chrono::Duration::zero(),
            generated_counter: 0,
            seed,
        }
    }

    /// The server's notion of now (real time plus the admin clock offset),
    /// whole seconds like Exchange.
    pub fn now(&self) -> DateTime<Utc> {
        (Utc::now() + self.clock_offset).trunc_subsecs(0)
    }

    /// Resolves a user by object id or user principal name (case-insensitive).
    pub fn mailbox_index(&self, user: &str) -> Option<usize> {
        let u = user.trim();
        self.mailboxes.directory().position(|(m, _)| {
            m.id.eq_ignore_ascii_case(u)
                || m.upn.eq_ignore_ascii_case(u)
                || m.mail.eq_ignore_ascii_case(u)
        })
    }

    /// Resolves a mailbox by its `primaryMailboxId` (`MBX:…@domain`, from
    /// `settings/exchange`), as the `/admin/exchange/mailboxes` API names it.
    pub fn mailbox_by_primary_id(&self, id: &str) -> Option<usize> {
        let id = id.trim();
        self.mailboxes
            .directory()
            .position(|(u, _)| primary_mailbox_id(u).eq_ignore_ascii_case(id))
    }
}

/// `primaryMailboxId` of a user's mailbox (`MBX:{mailbox guid}@{domain}`).
pub(crate) fn primary_mailbox_id(user: &User) -> String {
    format!(
        "MBX:{}@{}",
        crate::rng::guid_from_bytes(user.guid),
        crate::data::DOMAIN
    )
}

impl Mailbox {
    pub fn new(user: User) -> Self {
        Self {
            user,
            folders: BTreeMap::new(),
            messages: BTreeMap::new(),
            tombstones: Vec::new(),
            seq: 0,
            next_key: MAILBOX_ROOT_KEY,
            pim: Default::default(),
            quota: None,
        }
    }

    pub(crate) fn bump(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    pub(crate) fn take_key(&mut self) -> u64 {
        let k = self.next_key;
        self.next_key += 1;
        k
    }

    pub fn guid(&self) -> &[u8; 16] {
        &self.user.guid
    }

    /// `primaryMailboxId` (`MBX:{mailbox guid}@{domain}`).
    pub fn primary_mailbox_id(&self) -> String {
        primary_mailbox_id(&self.user)
    }

    pub fn add_folder(
        &mut self,
        parent: Option<u64>,
        name: &str,
        well_known: Option<&'static str>,
        hidden: bool,
    ) -> u64 {
        let key = self.take_key();
        let change_seq = self.bump();
        self.folders.insert(
            key,
            Folder {
                key,
                parent,
                display_name: name.to_string(),
                well_known,
                hidden,
                change_seq,
            },
        );
        key
    }

    /// Creates a folder as a client would: fails if the parent already has
    /// a child of that name (case-insensitive, as Exchange).
    pub fn create_folder(&mut self, parent: u64, name: &str, hidden: bool) -> Result<u64, ()> {
        let exists = self.folders.values().any(|f| {
            f.parent == Some(parent) && f.display_name.to_lowercase() == name.to_lowercase()
        });
        if exists {
            return Err(());
        }
        Ok(self.add_folder(Some(parent), name, None, hidden))
    }

    /// Renames a folder and/or moves it under another parent, as a user does in Outlook. The
    /// folder keeps its id (and its messages theirs); the hierarchy delta reports it as
    /// changed. Refused for well-known folders, for a name its new parent already has
    /// (case-insensitive), and for a parent that is the folder itself or below it.
    pub fn change_folder(
        &mut self,
        key: u64,
        name: Option<&str>,
        parent: Option<u64>,
    ) -> Result<(), String> {
        let f = self.folders.get(&key).ok_or("no such folder")?;
        if f.well_known.is_some() || f.parent.is_none() {
            return Err("a well-known folder cannot be renamed or moved".into());
        }
        let new_parent = parent.or(f.parent).expect("checked above");
        let new_name = name.unwrap_or(&f.display_name).to_string();
        if !self.folders.contains_key(&new_parent) {
            return Err("no such parent folder".into());
        }
        if new_parent == key || self.descendants(key).contains(&new_parent) {
            return Err("a folder cannot move below itself".into());
        }
        let clash = self.folders.values().any(|o| {
            o.key != key
                && o.parent == Some(new_parent)
                && o.display_name.to_lowercase() == new_name.to_lowercase()
        });
        if clash {
            return Err(format!("folder '{new_name}' exists"));
        }
        let seq = self.bump();
        let f = self.folders.get_mut(&key).expect("checked above");
        f.display_name = new_name;
        f.parent = Some(new_parent);
        f.change_seq = seq;
        Ok(())
    }

    pub fn folder_id(&self, key: u64) -> String {
        let well_known = self
            .folders
            .get(&key)
            .is_some_and(|f| f.well_known.is_some());
        ids::folder_id(self.guid(), key, well_known)
    }

    pub fn message_id(&self, m: &Message, form: IdForm) -> String {
        ids::message_id(self.guid(), form, m.key, m.folder, m.move_gen)
    }

    pub fn attachment_id(&self, m: &Message, a: &Attachment, form: IdForm) -> String {
        ids::attachment_id(self.guid(), form, m.key, m.folder, m.move_gen, a.key)
    }

    /// A folder by id or well-known name.
    pub fn folder_key(&self, r: &str) -> Result<u64, Lookup> {
        if let Some(f) = self.folders.values().find(|f| {
            f.well_known
                .is_some_and(|w| w.eq_ignore_ascii_case(r.trim()))
        }) {
            return Ok(f.key);
        }
        match ids::decode(r) {
            None => Err(Lookup::Malformed),
            Some((mbx, IdRef::Folder { key })) if &mbx == self.guid() => {
                if self.folders.contains_key(&key) {
                    Ok(key)
                } else {
                    Err(Lookup::NotFound)
                }
            }
            Some(_) => Err(Lookup::NotFound),
        }
    }

    /// A message by regular or immutable id. A regular id is only valid
    /// while the message stays where it was when the id was issued.
    pub fn message_key(&self, r: &str) -> Result<u64, Lookup> {
        match ids::decode(r) {
            None => Err(Lookup::Malformed),
            Some((mbx, _)) if &mbx != self.guid() => Err(Lookup::NotFound),
            Some((_, IdRef::ImmutableMessage { key })) => {
                if self.messages.contains_key(&key) {
                    Ok(key)
                } else {
                    Err(Lookup::NotFound)
                }
            }
            Some((
                _,
                IdRef::Message {
                    key,
                    folder,
                    move_gen,
                },
            )) => match self.messages.get(&key) {
                Some(m) if m.folder == folder && m.move_gen == move_gen => Ok(key),
                _ => Err(Lookup::NotFound),
            },
            Some(_) => Err(Lookup::NotFound),
        }
    }

    /// `(message key, attachment key)` for an attachment id.
    pub fn attachment_key(&self, r: &str) -> Result<(u64, u32), Lookup> {
        match ids::decode(r) {
            None => Err(Lookup::Malformed),
            Some((
                mbx,
                IdRef::Attachment {
                    message,
                    attachment,
                    regular,
                },
            )) if &mbx == self.guid() => {
                let m = self.messages.get(&message).ok_or(Lookup::NotFound)?;
                if let Some((folder, move_gen)) = regular
                    && (m.folder != folder || m.move_gen != move_gen)
                {
                    return Err(Lookup::NotFound);
                }
                if m.props.attachments.iter().any(|a| a.key == attachment) {
                    Ok((message, attachment))
                } else {
                    Err(Lookup::NotFound)
                }
            }
            Some(_) => Err(Lookup::NotFound),
        }
    }

    /// Slash-separated display names below msgfolderroot ("Inbox/Projects");
    /// empty for msgfolderroot itself and the mailbox root.
    pub fn folder_path(&self, key: u64) -> String {
        let mut parts = Vec::new();
        let mut cur = Some(key);
        while let Some(k) = cur {
            if k == MSGFOLDERROOT_KEY || k == MAILBOX_ROOT_KEY {
                break;
            }
            match self.folders.get(&k) {
                Some(f) => {
                    parts.push(f.display_name.clone());
                    cur = f.parent;
                }
                None => break,
            }
        }
        parts.reverse();
        parts.join("/")
    }

    /// Child folders, ordered by display name like Exchange lists them.
    pub fn children(&self, key: u64, include_hidden: bool) -> Vec<&Folder> {
        let mut v: Vec<&Folder> = self
            .folders
            .values()
            .filter(|f| f.parent == Some(key) && (include_hidden || !f.hidden))
            .collect();
        v.sort_by(|a, b| {
            a.display_name
                .to_lowercase()
                .cmp(&b.display_name.to_lowercase())
                .then(a.key.cmp(&b.key))
        });
        v
    }

    /// msgfolderroot's descendants (hidden ones included), parents first.
    pub fn descendants(&self, key: u64) -> Vec<u64> {
        let mut out = Vec::new();
        let mut stack: Vec<u64> = self
            .children(key, true)
            .iter()
            .rev()
            .map(|f| f.key)
            .collect();
        while let Some(k) = stack.pop() {
            out.push(k);
            stack.extend(self.children(k, true).iter().rev().map(|f| f.key));
        }
        out
    }

    pub fn messages_in(&self, folder: u64) -> impl Iterator<Item = &Message> {
        self.messages.values().filter(move |m| m.folder == folder)
    }

    /// Stores a new message; returns its key.
    pub fn insert_message(&mut self, folder: u64, props: MessageProps, now: DateTime<Utc>) -> u64 {
        let key = self.take_key();
        let seq = self.bump();
        self.messages.insert(
            key,
            Message {
                key,
                folder,
                move_gen: 0,
                change_seq: seq,
                arrival_seq: seq,
                created: now,
                last_modified: now,
                props,
            },
        );
        key
    }

    /// Applies a patch; every call is a change (new changeKey).
    pub fn update_message(&mut self, key: u64, patch: &MessagePatch, now: DateTime<Utc>) -> bool {
        if !self.messages.contains_key(&key) {
            return false;
        }
        let seq = self.bump();
        let Some(m) = self.messages.get_mut(&key) else {
            return false;
        };
        if let Some(v) = patch.is_read {
            m.props.is_read = v;
        }
        if let Some(v) = &patch.subject {
            m.props.subject = v.clone();
        }
        if let Some(v) = patch.flag_status {
            m.props.flag_status = v;
        }
        if let Some(v) = &patch.categories {
            m.props.categories = v.clone();
        }
        if let Some(v) = patch.importance {
            m.props.importance = v;
        }
        m.change_seq = seq;
        m.last_modified = now;
        true
    }

    /// Any other modification of a stored message (attachments added...).
    pub fn touch(&mut self, key: u64, now: DateTime<Utc>, f: impl FnOnce(&mut Message)) -> bool {
        if !self.messages.contains_key(&key) {
            return false;
        }
        let seq = self.bump();
        match self.messages.get_mut(&key) {
            Some(m) => {
                f(m);
                m.change_seq = seq;
                m.last_modified = now;
                true
            }
            None => false,
        }
    }

    pub fn delete_message(&mut self, key: u64) -> bool {
        let Some(m) = self.messages.remove(&key) else {
            return false;
        };
        let seq = self.bump();
        self.tombstones.push(Tombstone {
            folder: m.folder,
            key,
            move_gen: m.move_gen,
            seq,
        });
        true
    }

    /// Graph's `DELETE /messages/{id}`: Exchange moves the message into the
    /// dumpster's Deletions folder (`recoverableitemsdeletions`); a message
    /// already there is purged (to Purges, which no client can read).
    pub fn soft_delete_message(&mut self, key: u64, now: DateTime<Utc>) -> bool {
        let deletions = self
            .folders
            .values()
            .find(|f| f.well_known == Some(RECOVERABLE_ITEMS_DELETIONS))
            .map(|f| f.key);
        match (deletions, self.messages.get(&key).map(|m| m.folder)) {
            (_, None) => false,
            (Some(d), Some(f)) if d != f => self.move_message(key, d, now),
            _ => self.delete_message(key),
        }
    }

    /// Moves a message; its regular id changes, its immutable id does not.
    pub fn move_message(&mut self, key: u64, dest: u64, now: DateTime<Utc>) -> bool {
        if !self.folders.contains_key(&dest) || !self.messages.contains_key(&key) {
            return false;
        }
        let seq = self.bump();
        let Some(m) = self.messages.get_mut(&key) else {
            return false;
        };
        if m.folder == dest {
            // Exchange still treats it as a change.
            m.change_seq = seq;
            m.last_modified = now;
            return true;
        }
        let tomb = Tombstone {
            folder: m.folder,
            key,
            move_gen: m.move_gen,
            seq,
        };
        m.folder = dest;
        m.move_gen = m.move_gen.wrapping_add(1);
        m.change_seq = seq;
        m.arrival_seq = seq;
        m.last_modified = now;
        self.tombstones.push(tomb);
        true
    }

    pub fn total_items(&self, folder: u64) -> usize {
        self.messages_in(folder).count()
    }

    pub fn unread_items(&self, folder: u64) -> usize {
        self.messages_in(folder)
            .filter(|m| !m.props.is_read)
            .count()
    }
}
