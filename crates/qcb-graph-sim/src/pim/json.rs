//! Graph JSON of contactFolder, contact, profilePhoto, calendar, event
//! (singles, series masters, occurrences, exceptions), todoTaskList,
//! todoTask, messageRule, mailboxSettings and exchangeSettings, with the
//! property names and types of the v1.0 CSDL.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::time::{self, Recurrence, Zone};
use super::{Calendar, Contact, ContactFolder, Event, EventProps, Instance, MessageRule, Photo};
use super::{TodoList, TodoTask};
use crate::ids::{self, IdForm};
use crate::json::{body_preview, ts};
use crate::model::{BodyType, Mailbox};

/// How a writable contact property is typed in the CSDL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Field {
    Str,
    StrList,
    DateTime,
    Emails,
    Address,
}

/// The writable properties of `contact` (v1.0 CSDL), in Graph's order.
pub(crate) const CONTACT_FIELDS: &[(&str, Field)] = &[
    ("birthday", Field::DateTime),
    ("fileAs", Field::Str),
    ("displayName", Field::Str),
    ("givenName", Field::Str),
    ("initials", Field::Str),
    ("middleName", Field::Str),
    ("nickName", Field::Str),
    ("surname", Field::Str),
    ("title", Field::Str),
    ("yomiGivenName", Field::Str),
    ("yomiSurname", Field::Str),
    ("yomiCompanyName", Field::Str),
    ("generation", Field::Str),
    ("imAddresses", Field::StrList),
    ("jobTitle", Field::Str),
    ("companyName", Field::Str),
    ("department", Field::Str),
    ("officeLocation", Field::Str),
    ("profession", Field::Str),
    ("businessHomePage", Field::Str),
    ("assistantName", Field::Str),
    ("manager", Field::Str),
    ("homePhones", Field::StrList),
    ("mobilePhone", Field::Str),
    ("businessPhones", Field::StrList),
    ("spouseName", Field::Str),
    ("personalNotes", Field::Str),
    ("children", Field::StrList),
    ("emailAddresses", Field::Emails),
    ("homeAddress", Field::Address),
    ("businessAddress", Field::Address),
    ("otherAddress", Field::Address),
    ("categories", Field::StrList),
];

/// Read-only contact properties that a `$select` may name.
const CONTACT_READ_ONLY: &[&str] = &[
    "id",
    "createdDateTime",
    "lastModifiedDateTime",
    "changeKey",
    "parentFolderId",
];

/// Names a contact `$select` accepts.
pub(crate) fn contact_select_names() -> Vec<&'static str> {
    CONTACT_READ_ONLY
        .iter()
        .copied()
        .chain(CONTACT_FIELDS.iter().map(|(n, _)| *n))
        .collect()
}

pub(crate) const ADDRESS_FIELDS: &[&str] =
    &["street", "city", "state", "countryOrRegion", "postalCode"];

fn keep(select: Option<&[String]>, name: &str) -> bool {
    match select {
        None => true,
        Some(list) => name == "id" || list.iter().any(|s| s == name),
    }
}

fn empty_for(f: Field) -> Value {
    match f {
        Field::Str | Field::DateTime => Value::Null,
        Field::StrList | Field::Emails => json!([]),
        Field::Address => json!({}),
    }
}

pub(crate) fn etag(change_key: &str) -> Value {
    json!(format!("W/\"{change_key}\""))
}

pub(crate) fn contact_folder_json(mbx: &Mailbox, f: &ContactFolder) -> Value {
    let parent = match f.parent {
        Some(p) => mbx.contact_folder_id(p),
        None => mbx.folder_id(crate::model::MSGFOLDERROOT_KEY),
    };
    json!({
        "id": mbx.contact_folder_id(f.key),
        "displayName": f.display_name,
        "parentFolderId": parent,
    })
}

pub(crate) fn contact_json(
    mbx: &Mailbox,
    c: &Contact,
    form: IdForm,
    select: Option<&[String]>,
    delta: bool,
) -> Value {
    let ck = ids::change_key(mbx.guid(), c.change_seq);
    let mut out = Map::new();
    if delta {
        out.insert("@odata.type".into(), json!("#microsoft.graph.contact"));
    }
    out.insert("@odata.etag".into(), etag(&ck));
    let mut full: Vec<(&str, Value)> = vec![
        ("id", json!(mbx.contact_id(c, form))),
        ("createdDateTime", json!(ts(&c.created))),
        ("lastModifiedDateTime", json!(ts(&c.last_modified))),
        ("changeKey", json!(ck)),
        (
            "categories",
            c.props.get("categories").cloned().unwrap_or(json!([])),
        ),
        ("parentFolderId", json!(mbx.contact_folder_id(c.folder))),
    ];
    for (name, f) in CONTACT_FIELDS {
        if *name == "categories" {
            continue;
        }
        full.push((name, c.props.get(*name).cloned().unwrap_or(empty_for(*f))));
    }
    for (k, v) in full {
        if keep(select, k) {
            out.insert(k.to_string(), v);
        }
    }
    Value::Object(out)
}

pub(crate) fn photo_json(p: &Photo) -> Value {
    json!({
        "@odata.mediaContentType": p.content_type,
        "@odata.mediaEtag": format!("\"{:08X}\"", (p.change_seq as u32).wrapping_mul(2_654_435_761)),
        "id": format!("{}X{}", p.width, p.height),
        "height": p.height,
        "width": p.width,
    })
}

pub(crate) fn calendar_json(mbx: &Mailbox, c: &Calendar) -> Value {
    let hex = match c.color.as_str() {
        "lightBlue" => "#a6d1f5",
        "lightGreen" => "#87d28e",
        "lightOrange" => "#fcab73",
        "lightGray" => "#c0c0c0",
        "lightYellow" => "#f4d07a",
        "lightTeal" => "#7ad4d0",
        "lightPink" => "#f59ec2",
        "lightBrown" => "#d9b290",
        "lightRed" => "#f49b9b",
        _ => "",
    };
    json!({
        "@odata.etag": etag(&ids::change_key(mbx.guid(), c.change_seq)),
        "id": mbx.calendar_id(c.key),
        "name": c.name,
        "color": c.color,
        "hexColor": hex,
        "isDefaultCalendar": c.is_default,
        "changeKey": ids::change_key(mbx.guid(), c.change_seq),
        "canShare": true,
        "canViewPrivateItems": true,
        "canEdit": true,
        "allowedOnlineMeetingProviders": ["teamsForBusiness"],
        "defaultOnlineMeetingProvider": "teamsForBusiness",
        "isTallyingResponses": true,
        "isRemovable": !c.is_default,
        "owner": {"name": mbx.user.display_name, "address": mbx.user.mail},
    })
}

/// `dateTimeTimeZone` of an instant in the response zone.
pub(crate) fn date_time_tz(t: &DateTime<Utc>, zone: &Zone) -> Value {
    json!({"dateTime": time::graph_local(&zone.to_local(t)), "timeZone": zone.name})
}

pub(crate) fn recurrence_json(r: &Recurrence) -> Value {
    let relative = matches!(
        r.pattern,
        time::PatternType::RelativeMonthly | time::PatternType::RelativeYearly
    );
    let days: Vec<&str> = r
        .days_of_week
        .iter()
        .map(|d| time::weekday_name(*d))
        .collect();
    json!({
        "pattern": {
            "type": r.pattern.as_str(),
            "interval": r.interval,
            "month": r.month,
            "dayOfMonth": r.day_of_month,
            "daysOfWeek": days,
            "firstDayOfWeek": time::weekday_name(r.first_day_of_week),
            "index": if relative { time::WEEK_INDEX[r.index.min(4) as usize] } else { "first" },
        },
        "range": {
            "type": r.range.as_str(),
            "startDate": r.start_date.format("%Y-%m-%d").to_string(),
            "endDate": match r.end_date {
                Some(d) if r.range == time::RangeType::EndDate => d.format("%Y-%m-%d").to_string(),
                _ => "0001-01-01".to_string(),
            },
            "recurrenceTimeZone": r.time_zone,
            "numberOfOccurrences": if r.range == time::RangeType::Numbered { r.count } else { 0 },
        }
    })
}

/// Properties an event `$select` may name.
pub(crate) const EVENT_PROPS: &[&str] = &[
    "id",
    "createdDateTime",
    "lastModifiedDateTime",
    "changeKey",
    "categories",
    "transactionId",
    "originalStartTimeZone",
    "originalEndTimeZone",
    "iCalUId",
    "reminderMinutesBeforeStart",
    "isReminderOn",
    "hasAttachments",
    "subject",
    "bodyPreview",
    "importance",
    "sensitivity",
    "isAllDay",
    "isCancelled",
    "isOrganizer",
    "responseRequested",
    "seriesMasterId",
    "showAs",
    "type",
    "webLink",
    "onlineMeetingUrl",
    "isOnlineMeeting",
    "onlineMeetingProvider",
    "allowNewTimeProposals",
    "isDraft",
    "hideAttendees",
    "responseStatus",
    "body",
    "start",
    "end",
    "location",
    "locations",
    "recurrence",
    "attendees",
    "organizer",
    "onlineMeeting",
    "originalStart",
    "cancelledOccurrences",
];

/// How to render events.
#[derive(Debug, Clone, Default)]
pub(crate) struct EventOptions {
    pub select: Option<Vec<String>>,
    /// `Prefer: outlook.timezone` (UTC when absent).
    pub zone: Option<Zone>,
    pub delta: bool,
    pub expand_attachments: bool,
    /// `Some(ids)` when single-value extended properties are expanded.
    pub expand_extended: Option<Vec<String>>,
    pub expand_exceptions: bool,
}

fn location_json(name: &Option<String>) -> (Value, Value) {
    match name {
        Some(n) if !n.is_empty() => (
            json!({"displayName": n, "locationType": "default", "uniqueId": n, "uniqueIdType": "private"}),
            json!([{"displayName": n, "locationType": "default", "uniqueId": n, "uniqueIdType": "private"}]),
        ),
        _ => (
            json!({"displayName": "", "locationType": "default", "uniqueIdType": "unknown", "address": {}, "coordinates": {}}),
            json!([]),
        ),
    }
}

const NO_TIME: &str = "0001-01-01T00:00:00Z";

fn props_fields(p: &EventProps, zone: &Zone) -> Vec<(&'static str, Value)> {
    let (location, locations) = location_json(&p.location);
    let attendees: Vec<Value> = p
        .attendees
        .iter()
        .map(|a| {
            json!({
                "type": a.kind,
                "status": {"response": a.response, "time": NO_TIME},
                "emailAddress": {"name": a.email.name, "address": a.email.address},
            })
        })
        .collect();
    vec![
        ("categories", json!(p.categories)),
        ("originalStartTimeZone", json!(p.start_tz)),
        ("originalEndTimeZone", json!(p.end_tz)),
        ("reminderMinutesBeforeStart", json!(p.reminder_minutes)),
        ("isReminderOn", json!(p.is_reminder_on)),
        ("subject", json!(p.subject)),
        (
            "bodyPreview",
            json!(body_preview(p.body_type == BodyType::Html, &p.body)),
        ),
        ("importance", json!(p.importance.as_str())),
        ("sensitivity", json!(p.sensitivity)),
        ("isAllDay", json!(p.is_all_day)),
        ("isCancelled", json!(p.is_cancelled)),
        ("isOrganizer", json!(p.is_organizer)),
        ("responseRequested", json!(p.response_requested)),
        ("showAs", json!(p.show_as)),
        ("isOnlineMeeting", json!(p.is_online_meeting)),
        (
            "onlineMeetingProvider",
            json!(if p.is_online_meeting {
                "teamsForBusiness"
            } else {
                "unknown"
            }),
        ),
        ("allowNewTimeProposals", json!(p.allow_new_time_proposals)),
        ("isDraft", json!(false)),
        ("hideAttendees", json!(p.hide_attendees)),
        (
            "responseStatus",
            json!({"response": p.response, "time": NO_TIME}),
        ),
        (
            "body",
            json!({"contentType": p.body_type.as_str(), "content": p.body}),
        ),
        ("start", date_time_tz(&p.start, zone)),
        ("end", date_time_tz(&p.end, zone)),
        ("location", location),
        ("locations", locations),
        ("attendees", Value::Array(attendees)),
        (
            "organizer",
            json!({"emailAddress": {"name": p.organizer.name, "address": p.organizer.address}}),
        ),
    ]
}

/// One event: a single event, series master, occurrence or exception.
pub(crate) fn event_json(
    mbx: &Mailbox,
    i: &Instance<'_>,
    form: IdForm,
    opts: &EventOptions,
) -> Value {
    let e = i.event;
    let zone = opts.zone.unwrap_or(time::UTC);
    let select = opts.select.as_deref();
    let (props, seq, created, modified) = match i.exception {
        Some(x) => (
            &x.props,
            x.change_seq.max(e.change_seq),
            x.created,
            x.last_modified,
        ),
        None => (&e.props, e.change_seq, e.created, e.last_modified),
    };
    let mut props = props.clone();
    if i.exception.is_none()
        && let Some((_, s)) = i.occurrence
    {
        let len = e.props.end - e.props.start;
        props.start = s;
        props.end = s + len;
    }
    let id = mbx.instance_id(i, form);
    let ck = ids::change_key(mbx.guid(), seq);
    let kind = match (i.occurrence, i.exception, &e.recurrence) {
        (Some(_), Some(_), _) => "exception",
        (Some(_), None, _) => "occurrence",
        (None, _, Some(_)) => "seriesMaster",
        (None, _, None) => "singleInstance",
    };
    let ical = match i.occurrence {
        Some((d, _)) => super::occurrence_ical_uid(&e.ical_uid, d),
        None => e.ical_uid.clone(),
    };
    let web_link = format!(
        "https://outlook.office365.com/owa/?itemid={}&exvsurl=1&path=/calendar/item",
        url::form_urlencoded::byte_serialize(id.as_bytes()).collect::<String>()
    );
    let mut out = Map::new();
    if opts.delta {
        out.insert("@odata.type".into(), json!("#microsoft.graph.event"));
    }
    out.insert("@odata.etag".into(), etag(&ck));
    let mut full: Vec<(&'static str, Value)> = vec![
        ("id", json!(id)),
        ("createdDateTime", json!(ts(&created))),
        ("lastModifiedDateTime", json!(ts(&modified))),
        ("changeKey", json!(ck)),
        ("transactionId", Value::Null),
        ("iCalUId", json!(ical)),
        ("hasAttachments", json!(!e.attachments.is_empty())),
        (
            "seriesMasterId",
            match i.occurrence {
                Some(_) => json!(mbx.event_id(e, form)),
                None => Value::Null,
            },
        ),
        ("type", json!(kind)),
        ("webLink", json!(web_link)),
        ("onlineMeetingUrl", Value::Null),
        ("onlineMeeting", Value::Null),
    ];
    full.extend(props_fields(&props, &zone));
    full.push((
        "recurrence",
        match (&e.recurrence, i.occurrence) {
            (Some(r), None) => recurrence_json(r),
            _ => Value::Null,
        },
    ));
    if let Some((_, original)) = i.occurrence {
        full.push(("originalStart", json!(ts(&original))));
    }
    // Only on request, and only on a series master, as documented.
    if e.recurrence.is_some()
        && i.occurrence.is_none()
        && select.is_some_and(|s| s.iter().any(|x| x == "cancelledOccurrences"))
    {
        let master = mbx.event_id(e, form);
        let list: Vec<String> = e
            .cancelled
            .iter()
            .map(|d| format!("OID.{master}.{}", d.format("%Y-%m-%d")))
            .collect();
        full.push(("cancelledOccurrences", json!(list)));
    }
    for (k, v) in full {
        if keep(select, k) {
            out.insert(k.to_string(), v);
        }
    }
    if opts.expand_attachments {
        let list: Vec<Value> = e
            .attachments
            .iter()
            .map(|a| event_attachment_json(mbx, e, a, form, true))
            .collect();
        out.insert("attachments".into(), Value::Array(list));
    }
    if let Some(wanted) = &opts.expand_extended {
        let wanted: Vec<String> = wanted
            .iter()
            .filter_map(|w| crate::odata::canonical_ext_id(w))
            .collect();
        let list: Vec<Value> = e
            .extended
            .iter()
            .filter(|(id, _)| {
                wanted.is_empty() || wanted.iter().any(|w| w.eq_ignore_ascii_case(id))
            })
            .map(|(id, value)| json!({"id": id, "value": value}))
            .collect();
        if !list.is_empty() {
            out.insert("singleValueExtendedProperties".into(), Value::Array(list));
        }
    }
    if opts.expand_exceptions && e.recurrence.is_some() && i.occurrence.is_none() {
        let inner = EventOptions {
            expand_exceptions: false,
            expand_attachments: false,
            expand_extended: None,
            select: None,
            ..opts.clone()
        };
        let list: Vec<Value> = e
            .exceptions
            .iter()
            .filter_map(|(d, x)| {
                let original = e.occurrence_on(*d)?;
                let inst = Instance {
                    event: e,
                    occurrence: Some((*d, original)),
                    exception: Some(x),
                };
                Some(event_json(mbx, &inst, form, &inner))
            })
            .collect();
        out.insert("exceptionOccurrences".into(), Value::Array(list));
    }
    Value::Object(out)
}

/// The beta `events/delta` shape: only id, type, start and end.
pub(crate) fn event_delta_stub(mbx: &Mailbox, e: &Event, form: IdForm, zone: &Zone) -> Value {
    json!({
        "@odata.type": "#microsoft.graph.event",
        "@odata.etag": etag(&ids::change_key(mbx.guid(), e.change_seq)),
        "id": mbx.event_id(e, form),
        "type": if e.recurrence.is_some() { "seriesMaster" } else { "singleInstance" },
        "start": date_time_tz(&e.props.start, zone),
        "end": date_time_tz(&e.props.end, zone),
    })
}

pub(crate) fn event_attachment_json(
    mbx: &Mailbox,
    e: &Event,
    a: &crate::model::Attachment,
    form: IdForm,
    with_content: bool,
) -> Value {
    use base64::Engine as _;
    let mut v = json!({
        "@odata.type": "#microsoft.graph.fileAttachment",
        "@odata.mediaContentType": a.content_type,
        "id": ids::attachment_id(mbx.guid(), form, e.key, e.calendar, 0, a.key),
        "lastModifiedDateTime": ts(&a.last_modified),
        "name": a.name,
        "contentType": a.content_type,
        "size": a.bytes.len(),
        "isInline": a.is_inline,
        "contentId": a.content_id,
        "contentLocation": Value::Null,
    });
    if with_content && let Some(o) = v.as_object_mut() {
        o.insert(
            "contentBytes".into(),
            json!(base64::engine::general_purpose::STANDARD.encode(a.bytes.data())),
        );
    }
    v
}

pub(crate) fn todo_list_json(mbx: &Mailbox, l: &TodoList, delta: bool) -> Value {
    let mut out = Map::new();
    if delta {
        out.insert("@odata.type".into(), json!("#microsoft.graph.todoTaskList"));
    }
    out.insert(
        "@odata.etag".into(),
        etag(&ids::change_key(mbx.guid(), l.change_seq)),
    );
    out.insert("displayName".into(), json!(l.display_name));
    out.insert("isOwner".into(), json!(true));
    out.insert("isShared".into(), json!(l.is_shared));
    out.insert("wellknownListName".into(), json!(l.well_known));
    out.insert("id".into(), json!(mbx.todo_list_id(l.key)));
    Value::Object(out)
}

fn utc_tz(t: &Option<DateTime<Utc>>) -> Option<Value> {
    t.as_ref().map(|t| date_time_tz(t, &time::UTC))
}

pub(crate) fn linked_resource_json(l: &super::LinkedResource) -> Value {
    let mut v = Map::new();
    v.insert("id".into(), json!(l.id));
    for (k, x) in [
        ("webUrl", &l.web_url),
        ("applicationName", &l.application_name),
        ("displayName", &l.display_name),
        ("externalId", &l.external_id),
    ] {
        if let Some(x) = x {
            v.insert(k.into(), json!(x));
        }
    }
    Value::Object(v)
}

/// A task with its `linkedResources` (a create's answer, or `$expand=linkedResources`).
pub(crate) fn task_json_linked(mbx: &Mailbox, t: &TodoTask) -> Value {
    let mut v = task_json(mbx, t, false);
    v["linkedResources"] = Value::Array(t.linked.iter().map(linked_resource_json).collect());
    v
}

pub(crate) fn task_json(mbx: &Mailbox, t: &TodoTask, delta: bool) -> Value {
    let mut out = Map::new();
    if delta {
        out.insert("@odata.type".into(), json!("#microsoft.graph.todoTask"));
    }
    out.insert(
        "@odata.etag".into(),
        etag(&ids::change_key(mbx.guid(), t.change_seq)),
    );
    let mut full: Vec<(&str, Value)> = vec![
        ("importance", json!(t.importance.as_str())),
        ("isReminderOn", json!(t.is_reminder_on)),
        ("status", json!(t.status)),
        ("title", json!(t.title)),
        ("createdDateTime", json!(ts_frac(&t.created))),
        ("lastModifiedDateTime", json!(ts_frac(&t.last_modified))),
        ("hasAttachments", json!(false)),
        ("categories", json!(t.categories)),
        ("id", json!(mbx.task_id(t))),
        (
            "body",
            json!({"content": t.body, "contentType": t.body_type.as_str()}),
        ),
        ("bodyLastModifiedDateTime", json!(ts_frac(&t.body_modified))),
    ];
    // Unset date-times are omitted, as To Do does.
    for (k, v) in [
        ("completedDateTime", utc_tz(&t.completed)),
        ("dueDateTime", utc_tz(&t.due)),
        ("startDateTime", utc_tz(&t.start)),
        ("reminderDateTime", utc_tz(&t.reminder)),
    ] {
        if let Some(v) = v {
            full.push((k, v));
        }
    }
    for (k, v) in full {
        out.insert(k.to_string(), v);
    }
    Value::Object(out)
}

/// To Do reports fractional seconds (`2026-10-01T09:00:00.0000000Z`).
fn ts_frac(t: &DateTime<Utc>) -> String {
    format!("{}Z", time::graph_local(&t.naive_utc()))
}

pub(crate) fn rule_json(r: &MessageRule) -> Value {
    let mut v = json!({
        "id": super::rule_id(r.key),
        "displayName": r.display_name,
        "sequence": r.sequence,
        "isEnabled": r.is_enabled,
        "hasError": false,
        "isReadOnly": false,
        "conditions": r.conditions,
        "actions": r.actions,
    });
    if let (Some(x), Some(o)) = (&r.exceptions, v.as_object_mut()) {
        o.insert("exceptions".into(), Value::Object(x.clone()));
    }
    v
}

/// The mailbox's settings: derived from the user (language, purpose) with
/// Exchange's defaults.
pub(crate) fn mailbox_settings_json(mbx: &Mailbox) -> Value {
    let de = mbx.user.preferred_language.starts_with("de");
    let archive = mbx
        .folders
        .values()
        .find(|f| f.well_known == Some("archive"))
        .map(|f| mbx.folder_id(f.key));
    let mut v = json!({
        "archiveFolder": archive,
        "timeZone": "W. Europe Standard Time",
        "delegateMeetingMessageDeliveryOptions": "sendToDelegateOnly",
        "dateFormat": if de { "dd.MM.yyyy" } else { "M/d/yyyy" },
        "timeFormat": if de { "HH:mm" } else { "h:mm tt" },
        "userPurpose": if mbx.pim.shared_mailbox { "shared" } else { "user" },
        "automaticRepliesSetting": {
            "status": "disabled",
            "externalAudience": "all",
            "internalReplyMessage": "",
            "externalReplyMessage": "",
            "scheduledStartDateTime": {"dateTime": "2026-11-01T00:00:00.0000000", "timeZone": "UTC"},
            "scheduledEndDateTime": {"dateTime": "2026-11-02T00:00:00.0000000", "timeZone": "UTC"},
        },
        "language": {
            "locale": mbx.user.preferred_language,
            "displayName": if de { "German (Germany)" } else { "English (United States)" },
        },
        "workingHours": {
            "daysOfWeek": ["monday", "tuesday", "wednesday", "thursday", "friday"],
            "startTime": "08:00:00.0000000",
            "endTime": "17:00:00.0000000",
            "timeZone": {"name": "W. Europe Standard Time"},
        },
    });
    if let Some(o) = v.as_object_mut() {
        for (k, x) in &mbx.pim.settings {
            o.insert(k.clone(), x.clone());
        }
    }
    v
}

/// `primaryMailboxId` like Exchange's (`MBX:` + a GUID-derived id).
pub(crate) fn exchange_settings_json(mbx: &Mailbox) -> Value {
    json!({
        "id": mbx.user.id,
        "primaryMailboxId": mbx.primary_mailbox_id(),
    })
}
