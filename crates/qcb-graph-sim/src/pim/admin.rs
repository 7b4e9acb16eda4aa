//! Admin API for contacts, calendars, To Do and rules: inspect the tenant
//! and simulate what a user does in Outlook between two backups. Changes
//! made here are the user's own, so they never record meeting messages.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::{Event, EventProps, Exception, Instance, MeetingMessage, Photo, PhotoBytes, TodoTask};
use crate::admin::{Admin, UserInfo};
use crate::error::SimError;
use crate::ids::{self, IdForm};
use crate::model::{BodyType, EmailAddress, Importance, Mailbox};

/// A contact folder. `parent_id` is `None` for top-level folders.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactFolderInfo {
    pub id: String,
    pub parent_id: Option<String>,
    pub display_name: String,
    pub is_default: bool,
    pub contact_count: usize,
}

/// A contact as the store holds it; `id` is the immutable id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactInfo {
    pub id: String,
    pub folder_id: String,
    pub display_name: String,
    pub given_name: Option<String>,
    pub surname: Option<String>,
    pub email_addresses: Vec<String>,
    pub company_name: Option<String>,
    pub change_key: String,
    pub has_photo: bool,
}

/// A contact to add (snake_case JSON on `/_sim`); `photo` is base64 in
/// JSON (PNG, JPEG or GIF bytes).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct NewContact {
    pub given_name: String,
    pub surname: String,
    /// Empty: "given surname", as Exchange fills it.
    pub display_name: String,
    pub email_addresses: Vec<EmailAddress>,
    pub company_name: Option<String>,
    pub job_title: Option<String>,
    pub mobile_phone: Option<String>,
    pub business_phones: Vec<String>,
    pub categories: Vec<String>,
    pub personal_notes: Option<String>,
    #[serde(with = "b64_opt")]
    pub photo: Option<Vec<u8>>,
}

/// Changes to a contact; `None` leaves a property as it is.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ContactPatch {
    pub display_name: Option<String>,
    pub given_name: Option<String>,
    pub surname: Option<String>,
    pub job_title: Option<String>,
    pub company_name: Option<String>,
    pub mobile_phone: Option<String>,
    pub categories: Option<Vec<String>>,
    pub personal_notes: Option<String>,
}

mod b64_opt {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(b) => s.serialize_some(&STANDARD.encode(b)),
            None => s.serialize_none(),
        }
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        let s: Option<String> = Option::deserialize(d)?;
        s.map(|s| STANDARD.decode(s.trim()).map_err(serde::de::Error::custom))
            .transpose()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarInfo {
    pub id: String,
    pub name: String,
    pub is_default: bool,
    pub event_count: usize,
}

/// A single event or series master. Dates are RFC 3339 UTC;
/// `exception_dates` / `cancelled_dates` are original local dates
/// (`YYYY-MM-DD`) of modified and cancelled occurrences.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventInfo {
    pub id: String,
    pub calendar_id: String,
    pub subject: String,
    pub start: String,
    pub end: String,
    /// `singleInstance` or `seriesMaster`.
    pub kind: String,
    pub is_organizer: bool,
    pub attendees: Vec<String>,
    pub change_key: String,
    pub ical_uid: String,
    pub exception_dates: Vec<String>,
    pub cancelled_dates: Vec<String>,
    pub attachment_names: Vec<String>,
}

/// A simple recurrence for [`NewEvent`]: `daily` or `weekly` (on the
/// start's weekday), every `interval`, `count` occurrences.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct NewRecurrence {
    pub pattern: String,
    pub interval: u32,
    pub count: u32,
}

/// An event to add (the owner organizes it; nothing is sent).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct NewEvent {
    pub subject: String,
    pub body: String,
    /// RFC 3339.
    pub start: String,
    /// RFC 3339.
    pub end: String,
    pub location: Option<String>,
    pub attendees: Vec<EmailAddress>,
    pub is_all_day: bool,
    pub categories: Vec<String>,
    pub recurrence: Option<NewRecurrence>,
}

/// Changes to an event (or, given an occurrence id, to that occurrence,
/// which becomes an exception).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct EventPatch {
    pub subject: Option<String>,
    pub body: Option<String>,
    /// RFC 3339.
    pub start: Option<String>,
    /// RFC 3339.
    pub end: Option<String>,
    pub location: Option<String>,
    pub categories: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TodoListInfo {
    pub id: String,
    pub display_name: String,
    /// `defaultList`, `flaggedEmails` or `none`.
    pub wellknown_list_name: String,
    pub task_count: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskInfo {
    pub id: String,
    pub list_id: String,
    pub title: String,
    pub status: String,
    pub importance: Importance,
    pub due: Option<String>,
    pub change_key: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct NewTask {
    pub title: String,
    pub body: String,
    pub importance: Importance,
    /// Default `notStarted`.
    pub status: Option<String>,
    /// RFC 3339.
    pub due: Option<String>,
    pub categories: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct TaskPatch {
    pub title: Option<String>,
    pub status: Option<String>,
    pub importance: Option<Importance>,
    pub categories: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageRuleInfo {
    pub id: String,
    pub display_name: String,
    pub sequence: i64,
    pub is_enabled: bool,
}

fn parse_time(s: &str) -> Result<DateTime<Utc>, SimError> {
    DateTime::parse_from_rfc3339(s.trim())
        .map(|d| d.with_timezone(&Utc))
        .map_err(|_| SimError::Invalid(format!("not an RFC 3339 date-time: '{s}'")))
}

const TASK_STATUS: &[&str] = &[
    "notStarted",
    "inProgress",
    "completed",
    "waitingOnOthers",
    "deferred",
];

fn task_status(s: &str) -> Result<String, SimError> {
    TASK_STATUS
        .iter()
        .find(|x| x.eq_ignore_ascii_case(s))
        .map(|s| s.to_string())
        .ok_or_else(|| SimError::Invalid(format!("unknown task status '{s}'")))
}

pub(crate) fn contact_info(mbx: &Mailbox, c: &super::Contact) -> ContactInfo {
    let s = |k: &str| c.props.get(k).and_then(Value::as_str).map(str::to_string);
    ContactInfo {
        id: mbx.contact_id(c, IdForm::Immutable),
        folder_id: mbx.contact_folder_id(c.folder),
        display_name: s("displayName").unwrap_or_default(),
        given_name: s("givenName"),
        surname: s("surname"),
        email_addresses: c
            .props
            .get("emailAddresses")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|e| e.get("address").and_then(Value::as_str).map(str::to_string))
                    .collect()
            })
            .unwrap_or_default(),
        company_name: s("companyName"),
        change_key: ids::change_key(mbx.guid(), c.change_seq),
        has_photo: c.photo.is_some(),
    }
}

pub(crate) fn event_info(mbx: &Mailbox, e: &Event) -> EventInfo {
    EventInfo {
        id: mbx.event_id(e, IdForm::Immutable),
        calendar_id: mbx.calendar_id(e.calendar),
        subject: e.props.subject.clone(),
        start: crate::json::ts(&e.props.start),
        end: crate::json::ts(&e.props.end),
        kind: if e.recurrence.is_some() {
            "seriesMaster"
        } else {
            "singleInstance"
        }
        .into(),
        is_organizer: e.props.is_organizer,
        attendees: e
            .props
            .attendees
            .iter()
            .map(|a| a.email.address.clone())
            .collect(),
        change_key: ids::change_key(mbx.guid(), e.change_seq),
        ical_uid: e.ical_uid.clone(),
        exception_dates: e
            .exceptions
            .keys()
            .map(|d| d.format("%Y-%m-%d").to_string())
            .collect(),
        cancelled_dates: e
            .cancelled
            .iter()
            .map(|d| d.format("%Y-%m-%d").to_string())
            .collect(),
        attachment_names: e.attachments.iter().map(|a| a.name.clone()).collect(),
    }
}

/// Contact properties from a [`NewContact`] (validated JSON map).
pub(crate) fn contact_props(c: &NewContact) -> Map<String, Value> {
    let mut m = Map::new();
    let mut put = |k: &str, v: Value| {
        if !(v.is_null() || v == json!("") || v == json!([])) {
            m.insert(k.to_string(), v);
        }
    };
    put("givenName", json!(c.given_name));
    put("surname", json!(c.surname));
    put("displayName", json!(c.display_name));
    put(
        "emailAddresses",
        json!(
            c.email_addresses
                .iter()
                .map(|e| json!({"name": e.name, "address": e.address}))
                .collect::<Vec<_>>()
        ),
    );
    put("companyName", json!(c.company_name));
    put("jobTitle", json!(c.job_title));
    put("mobilePhone", json!(c.mobile_phone));
    put("businessPhones", json!(c.business_phones));
    put("categories", json!(c.categories));
    put("personalNotes", json!(c.personal_notes));
    let mut out = Map::new();
    crate::routes::contacts::merge_contact(&mut out, m);
    out
}

pub(crate) fn photo_from_bytes(b: Vec<u8>) -> Result<Photo, SimError> {
    let (ct, w, h) = crate::routes::contacts::image_size(&b)
        .ok_or_else(|| SimError::Invalid("photo is not a PNG, JPEG or GIF image".into()))?;
    Ok(Photo {
        bytes: PhotoBytes::Stored(b),
        content_type: ct.into(),
        width: w,
        height: h,
        change_seq: 0,
    })
}

pub(crate) fn event_from_new(
    mbx: &Mailbox,
    cal: u64,
    n: &NewEvent,
    now: DateTime<Utc>,
) -> Result<Event, SimError> {
    let owner = EmailAddress::new(mbx.user.display_name.clone(), mbx.user.mail.clone());
    let mut p: EventProps = crate::routes::calendar::new_event_props(&owner, now);
    p.subject = n.subject.clone();
    p.body = n.body.clone();
    p.body_type = BodyType::Text;
    p.start = parse_time(&n.start)?;
    p.end = parse_time(&n.end)?;
    if p.end < p.start {
        return Err(SimError::Invalid("end before start".into()));
    }
    p.location = n.location.clone();
    p.is_all_day = n.is_all_day;
    p.categories = n.categories.clone();
    p.attendees = n
        .attendees
        .iter()
        .map(|a| super::Attendee {
            email: a.clone(),
            kind: "required".into(),
            response: "none".into(),
        })
        .collect();
    let recurrence = match &n.recurrence {
        None => None,
        Some(r) => {
            let pattern = super::time::PatternType::parse(&r.pattern)
                .filter(|p| {
                    matches!(
                        p,
                        super::time::PatternType::Daily | super::time::PatternType::Weekly
                    )
                })
                .ok_or_else(|| {
                    SimError::Invalid(format!(
                        "recurrence pattern '{}' (daily or weekly)",
                        r.pattern
                    ))
                })?;
            use chrono::Datelike;
            Some(super::time::Recurrence {
                pattern,
                interval: r.interval.max(1),
                days_of_week: vec![p.start.weekday()],
                day_of_month: 0,
                month: 0,
                index: 0,
                first_day_of_week: chrono::Weekday::Sun,
                range: super::time::RangeType::Numbered,
                start_date: p.start.date_naive(),
                end_date: None,
                count: r.count.max(1),
                time_zone: "UTC",
            })
        }
    };
    Ok(Event {
        key: 0,
        calendar: cal,
        change_seq: 0,
        created: now,
        last_modified: now,
        props: p,
        recurrence,
        exceptions: Default::default(),
        cancelled: Default::default(),
        attachments: Vec::new(),
        extended: Default::default(),
        ical_uid: String::new(),
    })
}

fn list_key(mbx: &Mailbox, r: &str) -> Result<u64, SimError> {
    let wk = mbx
        .pim
        .todo_lists
        .values()
        .find(|l| l.well_known.eq_ignore_ascii_case(r.trim()) && l.well_known != "none");
    match wk {
        Some(l) => Ok(l.key),
        None => mbx
            .todo_list_key(r)
            .map_err(|_| SimError::UnknownFolder(r.to_string())),
    }
}

impl Admin {
    fn pim_mailbox<R>(
        &self,
        user_id: &str,
        f: impl FnOnce(&mut Mailbox, DateTime<Utc>) -> Result<R, SimError>,
    ) -> Result<R, SimError> {
        let mut t = self.shared.lock();
        let now = t.now();
        let i = t
            .mailbox_index(user_id)
            .ok_or_else(|| SimError::UnknownUser(user_id.to_string()))?;
        f(&mut t.mailboxes[i], now)
    }

    /// Contact folders of a mailbox, parents first (default folder first).
    pub fn contact_folders(&self, user_id: &str) -> Vec<ContactFolderInfo> {
        self.pim_mailbox(user_id, |mbx, _| {
            let mut v: Vec<_> = mbx.pim.contact_folders.values().collect();
            v.sort_by_key(|f| (!f.is_default, f.parent.is_some(), f.key));
            Ok(v.into_iter()
                .map(|f| ContactFolderInfo {
                    id: mbx.contact_folder_id(f.key),
                    parent_id: f.parent.map(|p| mbx.contact_folder_id(p)),
                    display_name: f.display_name.clone(),
                    is_default: f.is_default,
                    contact_count: mbx
                        .pim
                        .contacts
                        .values()
                        .filter(|c| c.folder == f.key)
                        .count(),
                })
                .collect())
        })
        .unwrap_or_default()
    }

    /// Contacts of a folder (id, or `contacts` for the default folder).
    pub fn contacts(&self, user_id: &str, folder_id: &str) -> Vec<ContactInfo> {
        self.pim_mailbox(user_id, |mbx, _| {
            let fk = mbx
                .contact_folder_key(folder_id)
                .map_err(|_| SimError::UnknownFolder(folder_id.into()))?;
            Ok(mbx
                .pim
                .contacts
                .values()
                .filter(|c| c.folder == fk)
                .map(|c| contact_info(mbx, c))
                .collect())
        })
        .unwrap_or_default()
    }

    pub fn contact(&self, user_id: &str, contact_id: &str) -> Option<ContactInfo> {
        self.pim_mailbox(user_id, |mbx, _| {
            let k = mbx
                .contact_key(contact_id)
                .map_err(|_| SimError::UnknownMessage(contact_id.into()))?;
            Ok(contact_info(mbx, &mbx.pim.contacts[&k]))
        })
        .ok()
    }

    /// Adds a contact; returns its immutable id.
    pub fn add_contact(
        &self,
        user_id: &str,
        folder_id: &str,
        c: NewContact,
    ) -> Result<String, SimError> {
        self.pim_mailbox(user_id, |mbx, now| {
            let fk = mbx
                .contact_folder_key(folder_id)
                .map_err(|_| SimError::UnknownFolder(folder_id.into()))?;
            let photo = c.photo.clone().map(photo_from_bytes).transpose()?;
            let k = mbx.insert_contact(fk, contact_props(&c), photo, now);
            Ok(mbx.contact_id(&mbx.pim.contacts[&k], IdForm::Immutable))
        })
    }

    /// Edits a contact (new changeKey); false if not found.
    pub fn update_contact(&self, user_id: &str, contact_id: &str, p: ContactPatch) -> bool {
        self.pim_mailbox(user_id, |mbx, now| {
            let k = mbx
                .contact_key(contact_id)
                .map_err(|_| SimError::UnknownMessage(contact_id.into()))?;
            let mut set = Map::new();
            for (key, v) in [
                ("displayName", &p.display_name),
                ("givenName", &p.given_name),
                ("surname", &p.surname),
                ("jobTitle", &p.job_title),
                ("companyName", &p.company_name),
                ("mobilePhone", &p.mobile_phone),
                ("personalNotes", &p.personal_notes),
            ] {
                if let Some(v) = v {
                    set.insert(key.into(), json!(v));
                }
            }
            if let Some(c) = &p.categories {
                set.insert("categories".into(), json!(c));
            }
            Ok(mbx.touch_contact(k, now, |c, _| {
                crate::routes::contacts::merge_contact(&mut c.props, set)
            }))
        })
        .unwrap_or(false)
    }

    /// Sets (or with `None` removes) a contact's photo.
    pub fn set_contact_photo(
        &self,
        user_id: &str,
        contact_id: &str,
        photo: Option<Vec<u8>>,
    ) -> Result<(), SimError> {
        self.pim_mailbox(user_id, |mbx, now| {
            let k = mbx
                .contact_key(contact_id)
                .map_err(|_| SimError::UnknownMessage(contact_id.into()))?;
            let photo = photo.map(photo_from_bytes).transpose()?;
            mbx.touch_contact(k, now, |c, seq| {
                c.photo = photo.map(|p| Photo {
                    change_seq: seq,
                    ..p
                })
            });
            Ok(())
        })
    }

    pub fn delete_contact(&self, user_id: &str, contact_id: &str) -> bool {
        self.pim_mailbox(user_id, |mbx, _| {
            let k = mbx
                .contact_key(contact_id)
                .map_err(|_| SimError::UnknownMessage(contact_id.into()))?;
            Ok(mbx.delete_contact(k))
        })
        .unwrap_or(false)
    }

    /// Creates a contact folder (parent `None` = top level); returns its id.
    pub fn create_contact_folder(
        &self,
        user_id: &str,
        parent_id: Option<&str>,
        name: &str,
    ) -> Result<String, SimError> {
        self.pim_mailbox(user_id, |mbx, _| {
            let parent = parent_id
                .map(|p| {
                    mbx.contact_folder_key(p)
                        .map_err(|_| SimError::UnknownFolder(p.into()))
                })
                .transpose()?;
            let k = mbx
                .create_contact_folder(parent, name)
                .map_err(|_| SimError::Invalid(format!("folder '{name}' exists")))?;
            Ok(mbx.contact_folder_id(k))
        })
    }

    pub fn calendars(&self, user_id: &str) -> Vec<CalendarInfo> {
        self.pim_mailbox(user_id, |mbx, _| {
            Ok(mbx
                .pim
                .calendars
                .values()
                .map(|c| CalendarInfo {
                    id: mbx.calendar_id(c.key),
                    name: c.name.clone(),
                    is_default: c.is_default,
                    event_count: mbx
                        .pim
                        .events
                        .values()
                        .filter(|e| e.calendar == c.key)
                        .count(),
                })
                .collect())
        })
        .unwrap_or_default()
    }

    /// Single events and series masters of a calendar (id or `calendar`).
    pub fn events(&self, user_id: &str, calendar_id: &str) -> Vec<EventInfo> {
        self.pim_mailbox(user_id, |mbx, _| {
            let ck = mbx
                .calendar_key(calendar_id)
                .map_err(|_| SimError::UnknownFolder(calendar_id.into()))?;
            Ok(mbx
                .pim
                .events
                .values()
                .filter(|e| e.calendar == ck)
                .map(|e| event_info(mbx, e))
                .collect())
        })
        .unwrap_or_default()
    }

    pub fn event(&self, user_id: &str, event_id: &str) -> Option<EventInfo> {
        self.pim_mailbox(user_id, |mbx, _| {
            let r = mbx
                .event_ref(event_id)
                .map_err(|_| SimError::UnknownMessage(event_id.into()))?;
            Ok(event_info(mbx, &mbx.pim.events[&r.key]))
        })
        .ok()
    }

    /// Adds an event organized by the owner; returns its immutable id.
    pub fn add_event(
        &self,
        user_id: &str,
        calendar_id: &str,
        e: NewEvent,
    ) -> Result<String, SimError> {
        self.pim_mailbox(user_id, |mbx, now| {
            let ck = mbx
                .calendar_key(calendar_id)
                .map_err(|_| SimError::UnknownFolder(calendar_id.into()))?;
            let ev = event_from_new(mbx, ck, &e, now)?;
            let k = mbx.insert_event(ev, now);
            Ok(mbx.event_id(&mbx.pim.events[&k], IdForm::Immutable))
        })
    }

    /// Edits an event, or (given an occurrence id) one occurrence, which
    /// becomes an exception.
    pub fn update_event(
        &self,
        user_id: &str,
        event_id: &str,
        p: EventPatch,
    ) -> Result<(), SimError> {
        self.pim_mailbox(user_id, |mbx, now| {
            let r = mbx
                .event_ref(event_id)
                .map_err(|_| SimError::UnknownMessage(event_id.into()))?;
            let e = mbx.pim.events[&r.key].clone();
            let base = match r.occurrence {
                None => e.props.clone(),
                Some(d) => match e.exceptions.get(&d) {
                    Some(x) => x.props.clone(),
                    None => {
                        let i = Instance {
                            event: &e,
                            occurrence: e.occurrence_on(d).map(|s| (d, s)),
                            exception: None,
                        };
                        let mut props = e.props.clone();
                        props.start = i.start();
                        props.end = i.end();
                        props
                    }
                },
            };
            let mut props = base;
            if let Some(s) = &p.subject {
                props.subject = s.clone();
            }
            if let Some(b) = &p.body {
                props.body = b.clone();
            }
            if let Some(s) = &p.start {
                props.start = parse_time(s)?;
            }
            if let Some(s) = &p.end {
                props.end = parse_time(s)?;
            }
            if let Some(l) = &p.location {
                props.location = Some(l.clone());
            }
            if let Some(c) = &p.categories {
                props.categories = c.clone();
            }
            mbx.touch_event(r.key, now, |ev, seq| match r.occurrence {
                None => ev.props = props,
                Some(d) => {
                    let created = ev.exceptions.get(&d).map(|x| x.created).unwrap_or(now);
                    ev.exceptions.insert(
                        d,
                        Exception {
                            props,
                            change_seq: seq,
                            created,
                            last_modified: now,
                        },
                    );
                }
            });
            Ok(())
        })
    }

    /// Cancels the occurrence of a series on `date` (`YYYY-MM-DD`, original
    /// local date).
    pub fn cancel_occurrence(
        &self,
        user_id: &str,
        series_id: &str,
        date: &str,
    ) -> Result<(), SimError> {
        self.pim_mailbox(user_id, |mbx, now| {
            let r = mbx
                .event_ref(series_id)
                .map_err(|_| SimError::UnknownMessage(series_id.into()))?;
            let d = NaiveDate::parse_from_str(date.trim(), "%Y-%m-%d")
                .map_err(|_| SimError::Invalid(format!("not a date: '{date}'")))?;
            if mbx.pim.events[&r.key].occurrence_on(d).is_none() {
                return Err(SimError::Invalid(format!(
                    "the series has no occurrence on {date}"
                )));
            }
            mbx.touch_event(r.key, now, |e, _| {
                e.exceptions.remove(&d);
                e.cancelled.insert(d);
            });
            Ok(())
        })
    }

    /// Deletes a single event or a whole series.
    pub fn delete_event(&self, user_id: &str, event_id: &str) -> bool {
        self.pim_mailbox(user_id, |mbx, _| {
            let r = mbx
                .event_ref(event_id)
                .map_err(|_| SimError::UnknownMessage(event_id.into()))?;
            Ok(mbx.delete_event(r.key))
        })
        .unwrap_or(false)
    }

    pub fn todo_lists(&self, user_id: &str) -> Vec<TodoListInfo> {
        self.pim_mailbox(user_id, |mbx, _| {
            Ok(mbx
                .pim
                .todo_lists
                .values()
                .map(|l| TodoListInfo {
                    id: mbx.todo_list_id(l.key),
                    display_name: l.display_name.clone(),
                    wellknown_list_name: l.well_known.into(),
                    task_count: mbx.pim.tasks.values().filter(|t| t.list == l.key).count(),
                })
                .collect())
        })
        .unwrap_or_default()
    }

    /// Tasks of a list (id, or `defaultList` / `flaggedEmails`).
    pub fn tasks(&self, user_id: &str, list_id: &str) -> Vec<TaskInfo> {
        self.pim_mailbox(user_id, |mbx, _| {
            let lk = list_key(mbx, list_id)?;
            Ok(mbx
                .pim
                .tasks
                .values()
                .filter(|t| t.list == lk)
                .map(|t| TaskInfo {
                    id: mbx.task_id(t),
                    list_id: mbx.todo_list_id(t.list),
                    title: t.title.clone(),
                    status: t.status.clone(),
                    importance: t.importance,
                    due: t.due.as_ref().map(crate::json::ts),
                    change_key: ids::change_key(mbx.guid(), t.change_seq),
                })
                .collect())
        })
        .unwrap_or_default()
    }

    pub fn add_task(&self, user_id: &str, list_id: &str, n: NewTask) -> Result<String, SimError> {
        self.pim_mailbox(user_id, |mbx, now| {
            let lk = list_key(mbx, list_id)?;
            let mut t: TodoTask = crate::routes::todo::new_task(lk, now);
            t.title = n.title;
            t.body = n.body;
            t.importance = n.importance;
            t.categories = n.categories;
            if let Some(s) = &n.status {
                t.status = task_status(s)?;
                if t.status == "completed" {
                    t.completed = Some(now);
                }
            }
            t.due = n.due.as_deref().map(parse_time).transpose()?;
            let k = mbx.insert_task(t, now);
            Ok(mbx.task_id(&mbx.pim.tasks[&k]))
        })
    }

    pub fn update_task(&self, user_id: &str, task_id: &str, p: TaskPatch) -> Result<(), SimError> {
        self.pim_mailbox(user_id, |mbx, now| {
            let k = mbx
                .task_key(task_id)
                .map_err(|_| SimError::UnknownMessage(task_id.into()))?;
            let status = p.status.as_deref().map(task_status).transpose()?;
            mbx.touch_task(k, now, |t| {
                if let Some(v) = p.title {
                    t.title = v;
                }
                if let Some(s) = status {
                    t.completed = (s == "completed").then_some(now);
                    t.status = s;
                }
                if let Some(i) = p.importance {
                    t.importance = i;
                }
                if let Some(c) = p.categories {
                    t.categories = c;
                }
            });
            Ok(())
        })
    }

    pub fn delete_task(&self, user_id: &str, task_id: &str) -> bool {
        self.pim_mailbox(user_id, |mbx, _| {
            let k = mbx
                .task_key(task_id)
                .map_err(|_| SimError::UnknownMessage(task_id.into()))?;
            Ok(mbx.delete_task(k))
        })
        .unwrap_or(false)
    }

    pub fn message_rules(&self, user_id: &str) -> Vec<MessageRuleInfo> {
        self.pim_mailbox(user_id, |mbx, _| {
            let mut v: Vec<_> = mbx.pim.rules.values().collect();
            v.sort_by_key(|r| (r.sequence, r.key));
            Ok(v.into_iter()
                .map(|r| MessageRuleInfo {
                    id: super::rule_id(r.key),
                    display_name: r.display_name.clone(),
                    sequence: r.sequence,
                    is_enabled: r.is_enabled,
                })
                .collect())
        })
        .unwrap_or_default()
    }

    /// Every meeting request, update and cancellation Exchange would have
    /// sent because of a Graph request (all mailboxes, oldest first). A
    /// restore that sends nothing leaves this empty.
    pub fn meeting_messages(&self) -> Vec<MeetingMessage> {
        let t = self.shared.lock();
        let mut v: Vec<MeetingMessage> = t
            .mailboxes
            .loaded()
            .flat_map(|m| m.pim.outbox.iter().cloned())
            .collect();
        v.sort_by(|a, b| a.time.cmp(&b.time));
        v
    }

    pub fn clear_meeting_messages(&self) {
        let mut t = self.shared.lock();
        for m in t.mailboxes.loaded_mut() {
            m.pim.outbox.clear();
        }
    }

    /// Adds a shared mailbox (a disabled user account with a mailbox, as
    /// Exchange creates them): empty folder tree, default contact folder,
    /// calendar and task lists; `mailboxSettings.userPurpose` is `shared`.
    pub fn add_shared_mailbox(
        &self,
        display_name: &str,
        local_part: &str,
    ) -> Result<UserInfo, SimError> {
        let mut t = self.shared.lock();
        let mail = format!("{}@{}", local_part.trim(), crate::data::DOMAIN);
        if local_part.trim().is_empty() || t.mailbox_index(&mail).is_some() {
            return Err(SimError::Invalid(format!(
                "mailbox '{mail}' exists or is empty"
            )));
        }
        let seed = t.seed;
        let index = t.mailboxes.len();
        let mbx = crate::data::pim::shared_mailbox(seed, index, display_name, &mail);
        let info = UserInfo {
            id: mbx.user.id.clone(),
            user_principal_name: mbx.user.upn.clone(),
            display_name: mbx.user.display_name.clone(),
            mail: mbx.user.mail.clone(),
        };
        t.mailboxes.push(mbx);
        Ok(info)
    }
}
