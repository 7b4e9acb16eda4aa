//! The non-mail items of a mailbox: contact folders and contacts (with
//! photos), calendars and events (series, exceptions, cancelled
//! occurrences, attachments), To Do lists and tasks, inbox rules, mailbox
//! settings, and the meeting messages Exchange would have sent.
//!
//! Items live in [`Pim`], one per mailbox, and share the mailbox's key space
//! and change sequence with mail, so change keys and delta rounds work the
//! same way. A deleted item leaves a [`PimTombstone`] for delta queries.

pub(crate) mod admin;
pub(crate) mod delta;
pub(crate) mod json;
pub(crate) mod time;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde_json::{Map, Value};

use crate::ids::{self, IdForm, IdRef};
use crate::model::{Attachment, BodyType, EmailAddress, Importance, Mailbox};
use crate::store::Lookup;
use time::{Recurrence, Zone};

/// What kind of item a tombstone or delta scope is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Kind {
    ContactFolder = 1,
    Contact = 2,
    Event = 3,
    TodoList = 4,
    TodoTask = 5,
}

#[derive(Debug, Clone)]
pub(crate) struct ContactFolder {
    pub key: u64,
    /// `None`: a top-level contact folder (child of msgfolderroot).
    pub parent: Option<u64>,
    pub display_name: String,
    /// The default "Contacts" folder (well-known name `contacts`).
    pub is_default: bool,
    pub change_seq: u64,
}

/// Where a photo's bytes come from: generated photos are rendered on
/// demand from their seed, so a big tenant does not keep them in memory.
#[derive(Debug, Clone)]
pub(crate) enum PhotoBytes {
    Generated { seed: u64 },
    Stored(Vec<u8>),
}

#[derive(Debug, Clone)]
pub(crate) struct Photo {
    pub bytes: PhotoBytes,
    pub content_type: String,
    pub width: u32,
    pub height: u32,
    pub change_seq: u64,
}

impl Photo {
    pub fn data(&self) -> Vec<u8> {
        match &self.bytes {
            PhotoBytes::Stored(b) => b.clone(),
            PhotoBytes::Generated { seed } => {
                let mut rng = crate::rng::SplitMix64::new(*seed);
                crate::data::blobs::png(&mut rng, self.width, self.height)
            }
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Contact {
    pub key: u64,
    pub folder: u64,
    pub change_seq: u64,
    pub created: DateTime<Utc>,
    pub last_modified: DateTime<Utc>,
    /// The writable properties of the CSDL `contact`, as validated JSON
    /// (see [`json::CONTACT_FIELDS`]); absent ones render as null/[]/{}.
    pub props: Map<String, Value>,
    pub photo: Option<Photo>,
    pub extended: BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
pub(crate) struct Calendar {
    pub key: u64,
    pub name: String,
    /// Graph `calendarColor` member.
    pub color: String,
    pub is_default: bool,
    pub change_seq: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Attendee {
    pub email: EmailAddress,
    /// `required`, `optional`, `resource`.
    pub kind: String,
    /// Graph `responseType` member.
    pub response: String,
}

/// The properties of an event, a series master, or an exception.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub(crate) struct EventProps {
    pub subject: String,
    pub body_type: BodyType,
    pub body: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub start_tz: &'static str,
    pub end_tz: &'static str,
    pub is_all_day: bool,
    pub location: Option<String>,
    pub attendees: Vec<Attendee>,
    pub organizer: EmailAddress,
    pub is_organizer: bool,
    pub importance: Importance,
    pub sensitivity: String,
    pub show_as: String,
    pub categories: Vec<String>,
    pub is_reminder_on: bool,
    pub reminder_minutes: i64,
    pub response_requested: bool,
    pub allow_new_time_proposals: bool,
    pub hide_attendees: bool,
    pub is_online_meeting: bool,
    pub is_cancelled: bool,
    /// `responseStatus.response` of the mailbox owner.
    pub response: String,
}

/// [`EventProps`] as export streams carry it (zones by name).
#[derive(serde::Deserialize)]
pub(crate) struct EventPropsWire {
    subject: String,
    body_type: BodyType,
    body: String,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    start_tz: String,
    end_tz: String,
    is_all_day: bool,
    location: Option<String>,
    attendees: Vec<Attendee>,
    organizer: EmailAddress,
    is_organizer: bool,
    importance: Importance,
    sensitivity: String,
    show_as: String,
    categories: Vec<String>,
    is_reminder_on: bool,
    reminder_minutes: i64,
    response_requested: bool,
    allow_new_time_proposals: bool,
    hide_attendees: bool,
    is_online_meeting: bool,
    is_cancelled: bool,
    response: String,
}

impl<'de> serde::Deserialize<'de> for EventProps {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        EventPropsWire::deserialize(d).map(Self::from)
    }
}

impl From<EventPropsWire> for EventProps {
    fn from(w: EventPropsWire) -> Self {
        let zone = |n: &str| time::zone(n).map_or("UTC", |z| z.name);
        Self {
            subject: w.subject,
            body_type: w.body_type,
            body: w.body,
            start: w.start,
            end: w.end,
            start_tz: zone(&w.start_tz),
            end_tz: zone(&w.end_tz),
            is_all_day: w.is_all_day,
            location: w.location,
            attendees: w.attendees,
            organizer: w.organizer,
            is_organizer: w.is_organizer,
            importance: w.importance,
            sensitivity: w.sensitivity,
            show_as: w.show_as,
            categories: w.categories,
            is_reminder_on: w.is_reminder_on,
            reminder_minutes: w.reminder_minutes,
            response_requested: w.response_requested,
            allow_new_time_proposals: w.allow_new_time_proposals,
            hide_attendees: w.hide_attendees,
            is_online_meeting: w.is_online_meeting,
            is_cancelled: w.is_cancelled,
            response: w.response,
        }
    }
}

/// A modified occurrence of a series.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct Exception {
    pub props: EventProps,
    pub change_seq: u64,
    pub created: DateTime<Utc>,
    pub last_modified: DateTime<Utc>,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct Event {
    pub key: u64,
    pub calendar: u64,
    pub change_seq: u64,
    pub created: DateTime<Utc>,
    pub last_modified: DateTime<Utc>,
    pub props: EventProps,
    pub recurrence: Option<Recurrence>,
    /// By original local date of the occurrence.
    pub exceptions: BTreeMap<NaiveDate, Exception>,
    pub cancelled: BTreeSet<NaiveDate>,
    pub attachments: Vec<Attachment>,
    pub extended: BTreeMap<String, String>,
    pub ical_uid: String,
}

/// One instance of a calendar view: a single event, or an occurrence or
/// exception of a series.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Instance<'a> {
    pub event: &'a Event,
    /// `Some((original local date, original start))` for occurrences.
    pub occurrence: Option<(NaiveDate, DateTime<Utc>)>,
    pub exception: Option<&'a Exception>,
}

impl Instance<'_> {
    pub fn start(&self) -> DateTime<Utc> {
        match (self.exception, self.occurrence) {
            (Some(x), _) => x.props.start,
            (None, Some((_, s))) => s,
            (None, None) => self.event.props.start,
        }
    }
    pub fn end(&self) -> DateTime<Utc> {
        match (self.exception, self.occurrence) {
            (Some(x), _) => x.props.end,
            (None, Some((_, s))) => s + (self.event.props.end - self.event.props.start),
            (None, None) => self.event.props.end,
        }
    }
    pub fn overlaps(&self, from: &DateTime<Utc>, to: &DateTime<Utc>) -> bool {
        self.start() < *to && self.end() > *from
    }
}

impl Event {
    pub fn zone(&self) -> Zone {
        let name = self
            .recurrence
            .as_ref()
            .map(|r| r.time_zone)
            .unwrap_or(self.props.start_tz);
        time::zone(name).unwrap_or(time::UTC)
    }

    /// Every occurrence (original date, original start) up to `until`
    /// (local date), cancelled ones included.
    pub fn occurrences(&self, until: NaiveDate) -> Vec<(NaiveDate, DateTime<Utc>)> {
        let Some(r) = &self.recurrence else {
            return Vec::new();
        };
        let zone = self.zone();
        let tod = zone.to_local(&self.props.start).time();
        time::occurrence_starts(r, &zone, tod, until)
    }

    /// The original start of the occurrence on `date`, if the series has one.
    pub fn occurrence_on(&self, date: NaiveDate) -> Option<DateTime<Utc>> {
        self.occurrences(date)
            .into_iter()
            .find(|(d, _)| *d == date)
            .map(|(_, s)| s)
    }

    /// The instances overlapping `[from, to)`: the event itself when it is
    /// not recurring, else its non-cancelled occurrences and exceptions.
    pub fn instances(&self, from: &DateTime<Utc>, to: &DateTime<Utc>) -> Vec<Instance<'_>> {
        if self.recurrence.is_none() {
            let i = Instance {
                event: self,
                occurrence: None,
                exception: None,
            };
            return if i.overlaps(from, to) {
                vec![i]
            } else {
                Vec::new()
            };
        }
        // Exceptions may have moved by up to a day either way.
        let until = self.zone().to_local(to).date() + chrono::Duration::days(2);
        let mut out: Vec<Instance<'_>> = self
            .occurrences(until)
            .into_iter()
            .filter(|(d, _)| !self.cancelled.contains(d))
            .map(|(d, s)| Instance {
                event: self,
                occurrence: Some((d, s)),
                exception: self.exceptions.get(&d),
            })
            .filter(|i| i.overlaps(from, to))
            .collect();
        out.sort_by_key(|i| (i.start(), i.occurrence.map(|o| o.0)));
        out
    }

    pub fn has_attendees(&self) -> bool {
        !self.props.attendees.is_empty()
    }
}

#[derive(Debug, Clone)]
pub(crate) struct TodoList {
    pub key: u64,
    pub display_name: String,
    /// `defaultList`, `flaggedEmails` or `none`.
    pub well_known: &'static str,
    pub is_shared: bool,
    pub change_seq: u64,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct TodoTask {
    pub key: u64,
    pub list: u64,
    pub change_seq: u64,
    pub created: DateTime<Utc>,
    pub last_modified: DateTime<Utc>,
    pub title: String,
    pub body: String,
    pub body_type: BodyType,
    pub body_modified: DateTime<Utc>,
    pub importance: Importance,
    /// Graph `taskStatus` member.
    pub status: String,
    pub categories: Vec<String>,
    pub due: Option<DateTime<Utc>>,
    pub start: Option<DateTime<Utc>>,
    pub reminder: Option<DateTime<Utc>>,
    pub is_reminder_on: bool,
    pub completed: Option<DateTime<Utc>>,
    /// The task's `linkedResources` (a navigation property: shown on create and with
    /// `$expand=linkedResources`).
    #[serde(default)]
    pub linked: Vec<LinkedResource>,
}

/// Graph's `linkedResource`: an item in another application a task came from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct LinkedResource {
    pub id: String,
    pub web_url: Option<String>,
    pub application_name: Option<String>,
    pub display_name: Option<String>,
    pub external_id: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct MessageRule {
    pub key: u64,
    pub display_name: String,
    pub sequence: i64,
    pub is_enabled: bool,
    /// Validated `messageRulePredicates` / `messageRuleActions` objects.
    pub conditions: Map<String, Value>,
    pub actions: Map<String, Value>,
    pub exceptions: Option<Map<String, Value>>,
}

/// A deleted item, for delta queries.
#[derive(Debug, Clone)]
pub(crate) struct PimTombstone {
    pub kind: Kind,
    /// Folder, calendar or list the item was in (0 for folders and lists).
    pub scope: u64,
    pub key: u64,
    pub seq: u64,
    /// A deleted event, kept so calendar-view delta can list the ids of
    /// its occurrences as removed.
    pub event: Option<Box<Event>>,
}

/// A meeting message Exchange would have sent on the organizer's behalf.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MeetingMessage {
    /// `request`, `update` or `cancellation`.
    pub kind: String,
    /// The mailbox that "sent" it (user id).
    pub mailbox: String,
    /// Immutable id of the event (series master or single event).
    pub event_id: String,
    pub subject: String,
    /// Attendee addresses it went to.
    pub to: Vec<String>,
    /// RFC 3339, server clock.
    pub time: String,
    /// `METHOD path` of the Graph request that caused it.
    pub cause: String,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Pim {
    pub contact_folders: BTreeMap<u64, ContactFolder>,
    pub contacts: BTreeMap<u64, Contact>,
    pub calendars: BTreeMap<u64, Calendar>,
    pub events: BTreeMap<u64, Event>,
    pub todo_lists: BTreeMap<u64, TodoList>,
    pub tasks: BTreeMap<u64, TodoTask>,
    pub rules: BTreeMap<u64, MessageRule>,
    pub tombstones: Vec<PimTombstone>,
    /// `true` for a shared mailbox (mailboxSettings.userPurpose `shared`).
    pub shared_mailbox: bool,
    /// Meeting requests, updates and cancellations Exchange would have
    /// sent from this mailbox (nothing leaves the emulator).
    pub outbox: Vec<MeetingMessage>,
    /// mailboxSettings a client changed (PATCH), by property: each replaces
    /// the derived default of `json::mailbox_settings_json`.
    pub settings: Map<String, Value>,
}

/// An event addressed by a URL: a single event or series master, or one
/// occurrence of a series (by original local date).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct EventRef {
    pub key: u64,
    pub occurrence: Option<NaiveDate>,
}

/// Message rule ids are short, like Exchange's (`AQAAAJ5dZqA=`).
pub(crate) fn rule_id(key: u64) -> String {
    use base64::Engine as _;
    let mut b = vec![0x01, 0x00, 0x00, 0x00];
    b.extend_from_slice(&(key as u32).to_le_bytes());
    base64::engine::general_purpose::STANDARD.encode(b)
}

fn rule_key(id: &str) -> Option<u64> {
    use base64::Engine as _;
    let b = base64::engine::general_purpose::STANDARD
        .decode(id.trim())
        .ok()?;
    if b.len() != 8 || b[..4] != [1, 0, 0, 0] {
        return None;
    }
    Some(u64::from(u32::from_le_bytes([b[4], b[5], b[6], b[7]])))
}

impl Mailbox {
    // ------------------------------------------------------------ ids

    pub fn item_id(&self, key: u64, scope: u64, form: IdForm) -> String {
        ids::message_id(self.guid(), form, key, scope, 0)
    }

    pub fn pim_folder_id(&self, key: u64, well_known: bool) -> String {
        ids::folder_id(self.guid(), key, well_known)
    }

    pub fn contact_folder_id(&self, key: u64) -> String {
        let wk = self
            .pim
            .contact_folders
            .get(&key)
            .is_some_and(|f| f.is_default);
        self.pim_folder_id(key, wk)
    }

    pub fn calendar_id(&self, key: u64) -> String {
        let wk = self.pim.calendars.get(&key).is_some_and(|c| c.is_default);
        self.pim_folder_id(key, wk)
    }

    pub fn todo_list_id(&self, key: u64) -> String {
        let wk = self
            .pim
            .todo_lists
            .get(&key)
            .is_some_and(|l| l.well_known != "none");
        self.pim_folder_id(key, wk)
    }

    pub fn contact_id(&self, c: &Contact, form: IdForm) -> String {
        self.item_id(c.key, c.folder, form)
    }

    pub fn event_id(&self, e: &Event, form: IdForm) -> String {
        self.item_id(e.key, e.calendar, form)
    }

    pub fn task_id(&self, t: &TodoTask) -> String {
        // To Do ids do not depend on IdType.
        self.item_id(t.key, t.list, IdForm::Regular)
    }

    pub fn occurrence_id(&self, key: u64, date: NaiveDate, form: IdForm) -> String {
        ids::occurrence_id(self.guid(), form, key, date.num_days_from_ce())
    }

    pub fn instance_id(&self, i: &Instance<'_>, form: IdForm) -> String {
        match i.occurrence {
            Some((d, _)) => self.occurrence_id(i.event.key, d, form),
            None => self.event_id(i.event, form),
        }
    }

    // ------------------------------------------------------------ lookups

    fn folder_ref(&self, r: &str) -> Result<u64, Lookup> {
        match ids::decode(r) {
            None => Err(Lookup::Malformed),
            Some((mbx, IdRef::Folder { key })) if &mbx == self.guid() => Ok(key),
            Some(_) => Err(Lookup::NotFound),
        }
    }

    fn item_ref(&self, r: &str) -> Result<(u64, Option<u64>), Lookup> {
        match ids::decode(r) {
            None => Err(Lookup::Malformed),
            Some((mbx, _)) if &mbx != self.guid() => Err(Lookup::NotFound),
            Some((_, IdRef::ImmutableMessage { key })) => Ok((key, None)),
            Some((_, IdRef::Message { key, folder, .. })) => Ok((key, Some(folder))),
            Some(_) => Err(Lookup::NotFound),
        }
    }

    /// A contact folder by id, or `contacts` for the default one.
    pub fn contact_folder_key(&self, r: &str) -> Result<u64, Lookup> {
        if r.trim().eq_ignore_ascii_case("contacts") {
            return self.default_contact_folder().ok_or(Lookup::NotFound);
        }
        let k = self.folder_ref(r)?;
        if self.pim.contact_folders.contains_key(&k) {
            Ok(k)
        } else {
            Err(Lookup::NotFound)
        }
    }

    pub fn default_contact_folder(&self) -> Option<u64> {
        self.pim
            .contact_folders
            .values()
            .find(|f| f.is_default)
            .map(|f| f.key)
    }

    pub fn contact_key(&self, r: &str) -> Result<u64, Lookup> {
        let (k, folder) = self.item_ref(r)?;
        match self.pim.contacts.get(&k) {
            Some(c) if folder.is_none_or(|f| f == c.folder) => Ok(k),
            _ => Err(Lookup::NotFound),
        }
    }

    /// A calendar by id, or `calendar` for the default one.
    pub fn calendar_key(&self, r: &str) -> Result<u64, Lookup> {
        if r.trim().eq_ignore_ascii_case("calendar") {
            return self.default_calendar().ok_or(Lookup::NotFound);
        }
        let k = self.folder_ref(r)?;
        if self.pim.calendars.contains_key(&k) {
            Ok(k)
        } else {
            Err(Lookup::NotFound)
        }
    }

    pub fn default_calendar(&self) -> Option<u64> {
        self.pim
            .calendars
            .values()
            .find(|c| c.is_default)
            .map(|c| c.key)
    }

    pub fn event_ref(&self, r: &str) -> Result<EventRef, Lookup> {
        if let Some((mbx, IdRef::Occurrence { key, day })) = ids::decode(r) {
            if &mbx != self.guid() {
                return Err(Lookup::NotFound);
            }
            let e = self.pim.events.get(&key).ok_or(Lookup::NotFound)?;
            let date = NaiveDate::from_num_days_from_ce_opt(day).ok_or(Lookup::NotFound)?;
            if e.cancelled.contains(&date) || e.occurrence_on(date).is_none() {
                return Err(Lookup::NotFound);
            }
            return Ok(EventRef {
                key,
                occurrence: Some(date),
            });
        }
        let (k, cal) = self.item_ref(r)?;
        match self.pim.events.get(&k) {
            Some(e) if cal.is_none_or(|c| c == e.calendar) => Ok(EventRef {
                key: k,
                occurrence: None,
            }),
            _ => Err(Lookup::NotFound),
        }
    }

    pub fn todo_list_key(&self, r: &str) -> Result<u64, Lookup> {
        let k = self.folder_ref(r)?;
        if self.pim.todo_lists.contains_key(&k) {
            Ok(k)
        } else {
            Err(Lookup::NotFound)
        }
    }

    pub fn task_key(&self, r: &str) -> Result<u64, Lookup> {
        let (k, list) = self.item_ref(r)?;
        match self.pim.tasks.get(&k) {
            Some(t) if list.is_none_or(|l| l == t.list) => Ok(k),
            _ => Err(Lookup::NotFound),
        }
    }

    pub fn rule_key(&self, r: &str) -> Result<u64, Lookup> {
        let k = rule_key(r).ok_or(Lookup::Malformed)?;
        if self.pim.rules.contains_key(&k) {
            Ok(k)
        } else {
            Err(Lookup::NotFound)
        }
    }

    // ------------------------------------------------------------ mutations

    pub fn add_contact_folder(&mut self, parent: Option<u64>, name: &str, is_default: bool) -> u64 {
        let key = self.take_key();
        let change_seq = self.bump();
        self.pim.contact_folders.insert(
            key,
            ContactFolder {
                key,
                parent,
                display_name: name.to_string(),
                is_default,
                change_seq,
            },
        );
        key
    }

    /// Creates a contact folder as a client would: a sibling with the same
    /// name (case-insensitive) is refused.
    pub fn create_contact_folder(&mut self, parent: Option<u64>, name: &str) -> Result<u64, ()> {
        let exists =
            self.pim.contact_folders.values().any(|f| {
                f.parent == parent && f.display_name.to_lowercase() == name.to_lowercase()
            });
        if exists {
            return Err(());
        }
        Ok(self.add_contact_folder(parent, name, false))
    }

    pub fn insert_contact(
        &mut self,
        folder: u64,
        props: Map<String, Value>,
        photo: Option<Photo>,
        now: DateTime<Utc>,
    ) -> u64 {
        let key = self.take_key();
        let seq = self.bump();
        let photo = photo.map(|p| Photo {
            change_seq: seq,
            ..p
        });
        self.pim.contacts.insert(
            key,
            Contact {
                key,
                folder,
                change_seq: seq,
                created: now,
                last_modified: now,
                props,
                photo,
                extended: BTreeMap::new(),
            },
        );
        key
    }

    /// Applies `f` to a contact as one change (new changeKey).
    pub fn touch_contact(
        &mut self,
        key: u64,
        now: DateTime<Utc>,
        f: impl FnOnce(&mut Contact, u64),
    ) -> bool {
        if !self.pim.contacts.contains_key(&key) {
            return false;
        }
        let seq = self.bump();
        match self.pim.contacts.get_mut(&key) {
            Some(c) => {
                f(c, seq);
                c.change_seq = seq;
                c.last_modified = now;
                true
            }
            None => false,
        }
    }

    fn tombstone(&mut self, kind: Kind, scope: u64, key: u64, event: Option<Box<Event>>) {
        let seq = self.bump();
        self.pim.tombstones.push(PimTombstone {
            kind,
            scope,
            key,
            seq,
            event,
        });
    }

    pub fn delete_contact(&mut self, key: u64) -> bool {
        let Some(c) = self.pim.contacts.remove(&key) else {
            return false;
        };
        self.tombstone(Kind::Contact, c.folder, key, None);
        true
    }

    pub fn add_calendar(&mut self, name: &str, color: &str, is_default: bool) -> u64 {
        let key = self.take_key();
        let change_seq = self.bump();
        self.pim.calendars.insert(
            key,
            Calendar {
                key,
                name: name.to_string(),
                color: color.to_string(),
                is_default,
                change_seq,
            },
        );
        key
    }

    pub fn insert_event(&mut self, mut e: Event, now: DateTime<Utc>) -> u64 {
        let key = self.take_key();
        let seq = self.bump();
        e.key = key;
        e.change_seq = seq;
        e.created = now;
        e.last_modified = now;
        if e.ical_uid.is_empty() {
            e.ical_uid = ical_uid(self.guid(), key);
        }
        self.pim.events.insert(key, e);
        key
    }

    /// Applies `f` to an event (series master) as one change.
    pub fn touch_event(
        &mut self,
        key: u64,
        now: DateTime<Utc>,
        f: impl FnOnce(&mut Event, u64),
    ) -> bool {
        if !self.pim.events.contains_key(&key) {
            return false;
        }
        let seq = self.bump();
        match self.pim.events.get_mut(&key) {
            Some(e) => {
                f(e, seq);
                e.change_seq = seq;
                e.last_modified = now;
                true
            }
            None => false,
        }
    }

    pub fn delete_event(&mut self, key: u64) -> bool {
        let Some(e) = self.pim.events.remove(&key) else {
            return false;
        };
        let cal = e.calendar;
        self.tombstone(Kind::Event, cal, key, Some(Box::new(e)));
        true
    }

    pub fn add_todo_list(&mut self, name: &str, well_known: &'static str) -> u64 {
        let key = self.take_key();
        let change_seq = self.bump();
        self.pim.todo_lists.insert(
            key,
            TodoList {
                key,
                display_name: name.to_string(),
                well_known,
                is_shared: false,
                change_seq,
            },
        );
        key
    }

    pub fn touch_todo_list(&mut self, key: u64, f: impl FnOnce(&mut TodoList)) -> bool {
        if !self.pim.todo_lists.contains_key(&key) {
            return false;
        }
        let seq = self.bump();
        match self.pim.todo_lists.get_mut(&key) {
            Some(l) => {
                f(l);
                l.change_seq = seq;
                true
            }
            None => false,
        }
    }

    /// Deletes a list and its tasks.
    pub fn delete_todo_list(&mut self, key: u64) -> bool {
        if self.pim.todo_lists.remove(&key).is_none() {
            return false;
        }
        let tasks: Vec<u64> = self
            .pim
            .tasks
            .values()
            .filter(|t| t.list == key)
            .map(|t| t.key)
            .collect();
        for t in tasks {
            self.delete_task(t);
        }
        self.tombstone(Kind::TodoList, 0, key, None);
        true
    }

    pub fn insert_task(&mut self, mut t: TodoTask, now: DateTime<Utc>) -> u64 {
        let key = self.take_key();
        let seq = self.bump();
        t.key = key;
        t.change_seq = seq;
        t.created = now;
        t.last_modified = now;
        self.pim.tasks.insert(key, t);
        key
    }

    pub fn touch_task(
        &mut self,
        key: u64,
        now: DateTime<Utc>,
        f: impl FnOnce(&mut TodoTask),
    ) -> bool {
        if !self.pim.tasks.contains_key(&key) {
            return false;
        }
        let seq = self.bump();
        match self.pim.tasks.get_mut(&key) {
            Some(t) => {
                f(t);
                t.change_seq = seq;
                t.last_modified = now;
                true
            }
            None => false,
        }
    }

    pub fn delete_task(&mut self, key: u64) -> bool {
        let Some(t) = self.pim.tasks.remove(&key) else {
            return false;
        };
        self.tombstone(Kind::TodoTask, t.list, key, None);
        true
    }

    pub fn insert_rule(&mut self, mut r: MessageRule) -> u64 {
        let key = self.take_key();
        self.bump();
        r.key = key;
        self.pim.rules.insert(key, r);
        key
    }

    pub fn delete_rule(&mut self, key: u64) -> bool {
        self.bump();
        self.pim.rules.remove(&key).is_some()
    }
}

/// An `iCalUId` like Exchange's (`040000008200E00074C5B7101A82E008…`).
pub(crate) fn ical_uid(mbx: &[u8; 16], key: u64) -> String {
    let mut h = blake3::Hasher::new();
    h.update(b"ical");
    h.update(mbx);
    h.update(&key.to_le_bytes());
    let hex = h.finalize().to_hex().to_ascii_uppercase();
    format!(
        "040000008200E00074C5B7101A82E00800000000{}0000000000000000100000{}",
        &hex[..16],
        &hex[16..42]
    )
}

/// The iCalUId of one occurrence (different for each, as documented).
pub(crate) fn occurrence_ical_uid(master: &str, date: NaiveDate) -> String {
    // Exchange puts the occurrence date into bytes 16..20 of the global id.
    let y = date.year() as u32;
    format!(
        "{}{:04X}{:02X}{:02X}{}",
        &master[..32],
        y,
        date.month(),
        date.day(),
        &master[40..]
    )
}
