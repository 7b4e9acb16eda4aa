//! Contacts (some with photos), calendars with single events and meeting
//! series (exceptions, cancelled occurrences, attachments), To Do lists and
//! tasks, and inbox rules of a generated mailbox.
//!
//! Like mail, every item comes from its own PRNG stream
//! (`mailbox/{i}/contact/{j}`, …), so item `j` is a pure function of the
//! seed and its position; photos are kept as their seed and rendered when
//! asked for. Dates are offsets from [`super::epoch`]; no clock is read.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, NaiveDate, Utc, Weekday};
use serde_json::{Map, Value, json};

use super::corpus;
use super::epoch;
use crate::TenantSpec;
use crate::model::{Attachment, BodyType, EmailAddress, Importance, Mailbox};
use crate::pim::time::{self, PatternType, RangeType, Recurrence};
use crate::pim::{
    Attendee, Event, EventProps, Exception, MessageRule, Photo, PhotoBytes, TodoTask,
};
use crate::rng::SplitMix64;

const BERLIN: &str = "W. Europe Standard Time";

/// How many items of each kind a mailbox with `messages` messages gets.
pub(crate) fn counts(messages: usize) -> (usize, usize, usize) {
    (8 + messages / 10, 6 + messages / 10, 5 + messages / 20)
}

const STREETS: &[&str] = &[
    "Hauptstraße 5",
    "Friedrichstraße 120",
    "1 Microsoft Way",
    "Rue de Rivoli 12",
    "銀座 4-5-6",
];
const CITIES: &[(&str, &str, &str)] = &[
    ("Berlin", "10117", "Germany"),
    ("München", "80331", "Germany"),
    ("Redmond", "98052", "United States"),
    ("Paris", "75001", "France"),
    ("東京", "104-0061", "Japan"),
];

fn contact_props(rng: &mut SplitMix64, j: usize) -> Map<String, Value> {
    let (given, surname) = *rng.pick(corpus::USER_NAMES);
    let (g, s) = if j % 7 == 3 {
        ("太郎".to_string(), "山田".to_string())
    } else {
        (given.to_string(), surname.to_string())
    };
    let company = [
        "Fabrikam GmbH",
        "Contoso Ltd.",
        "Northwind Traders",
        "Müller & Söhne KG",
        "Tailspin Toys",
    ];
    let company = rng.pick(&company).to_string();
    let domain = corpus::ascii_fold(&company)
        .to_lowercase()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>();
    let local = format!(
        "{}.{}",
        corpus::ascii_fold(&g).to_lowercase(),
        corpus::ascii_fold(&s).to_lowercase()
    );
    let mut m = Map::new();
    m.insert("givenName".into(), json!(g));
    m.insert("surname".into(), json!(s));
    m.insert("displayName".into(), json!(format!("{g} {s}")));
    m.insert("companyName".into(), json!(company));
    m.insert("jobTitle".into(), json!(rng.pick(corpus::JOB_TITLES)));
    let mut emails = vec![
        json!({"name": format!("{g} {s}"), "address": format!("{local}{j}@{domain}.example")}),
    ];
    if rng.chance(30) {
        emails.push(json!({"name": format!("{g} (privat)"), "address": format!("{local}{j}@mail.example.org")}));
    }
    m.insert("emailAddresses".into(), Value::Array(emails));
    m.insert(
        "businessPhones".into(),
        json!([format!("+49 89 555{:04}", rng.below(10_000))]),
    );
    if rng.chance(60) {
        m.insert(
            "mobilePhone".into(),
            json!(format!("+49 171 555{:04}", rng.below(10_000))),
        );
    }
    let (city, zip, country) = *rng.pick(CITIES);
    m.insert(
        "businessAddress".into(),
        json!({"street": rng.pick(STREETS), "city": city, "postalCode": zip, "countryOrRegion": country}),
    );
    if rng.chance(40) {
        let y = 1960 + rng.below(40) as i32;
        let d = NaiveDate::from_ymd_opt(y, 1 + rng.below(12) as u32, 1 + rng.below(28) as u32)
            .unwrap_or_default();
        m.insert(
            "birthday".into(),
            json!(format!("{}T11:59:00Z", d.format("%Y-%m-%d"))),
        );
    }
    if rng.chance(30) {
        m.insert(
            "personalNotes".into(),
            json!("Met at the trade fair 🎪 — prefers German."),
        );
    }
    if rng.chance(20) {
        m.insert("categories".into(), json!([rng.pick(corpus::CATEGORIES)]));
    }
    if j % 9 == 4 {
        m.insert("nickName".into(), json!("Jo"));
        m.insert("children".into(), json!(["Mia", "Leon"]));
        m.insert(
            "imAddresses".into(),
            json!([format!("sip:{local}@{domain}.example")]),
        );
    }
    m
}

fn berlin(d: NaiveDate, h: u32, min: u32) -> DateTime<Utc> {
    time::zone(BERLIN)
        .unwrap_or(time::UTC)
        .to_utc(d.and_hms_opt(h, min, 0).unwrap_or_default())
}

fn base_props(
    owner: &EmailAddress,
    subject: &str,
    start: DateTime<Utc>,
    minutes: i64,
) -> EventProps {
    let mut p = crate::routes::calendar::new_event_props(owner, start);
    p.subject = subject.to_string();
    p.start = start;
    p.end = start + Duration::minutes(minutes);
    p.start_tz = BERLIN;
    p.end_tz = BERLIN;
    p
}

fn attendees(rng: &mut SplitMix64, colleagues: &[EmailAddress], n: usize) -> Vec<Attendee> {
    let mut out: Vec<Attendee> = Vec::new();
    let mut pool: Vec<EmailAddress> = colleagues.to_vec();
    for e in &corpus::EXTERNAL[..4] {
        pool.push(EmailAddress::new(e.0, e.1));
    }
    for _ in 0..n {
        let e = rng.pick(&pool).clone();
        if out.iter().any(|a| a.email.address == e.address) {
            continue;
        }
        let response = ["accepted", "tentativelyAccepted", "declined", "none"];
        out.push(Attendee {
            email: e,
            kind: if rng.chance(80) {
                "required"
            } else {
                "optional"
            }
            .into(),
            response: rng.pick(&response).to_string(),
        });
    }
    out
}

fn event(calendar: u64, props: EventProps, recurrence: Option<Recurrence>) -> Event {
    Event {
        key: 0,
        calendar,
        change_seq: 0,
        created: props.start,
        last_modified: props.start,
        props,
        recurrence,
        exceptions: BTreeMap::new(),
        cancelled: BTreeSet::new(),
        attachments: Vec::new(),
        extended: BTreeMap::new(),
        ical_uid: String::new(),
    }
}

fn series(
    pattern: PatternType,
    start: NaiveDate,
    days: Vec<Weekday>,
    range: RangeType,
    count: u32,
    end: Option<NaiveDate>,
) -> Recurrence {
    Recurrence {
        pattern,
        interval: 1,
        days_of_week: days,
        day_of_month: 0,
        month: 0,
        index: 4,
        first_day_of_week: Weekday::Mon,
        range,
        start_date: start,
        end_date: end,
        count,
        time_zone: BERLIN,
    }
}

/// Adds the non-mail items of generated mailbox `index`.
pub(crate) fn populate(
    spec: &TenantSpec,
    index: usize,
    mbx: &mut Mailbox,
    colleagues: &[EmailAddress],
) {
    let seed = spec.seed;
    let (n_contacts, n_events, n_tasks) = counts(spec.messages_per_user);
    let owner = EmailAddress::new(mbx.user.display_name.clone(), mbx.user.mail.clone());
    let day0 = epoch();

    // Contacts: the default folder, a sibling and a subfolder.
    let contacts = mbx.add_contact_folder(None, "Contacts", true);
    let suppliers = mbx.add_contact_folder(None, "Lieferanten", false);
    let team = mbx.add_contact_folder(Some(contacts), "Team 👥", false);
    for j in 0..n_contacts {
        let mut rng = SplitMix64::derive(seed, &format!("mailbox/{index}/contact/{j}"));
        let folder = match j % 5 {
            0 => suppliers,
            1 => team,
            _ => contacts,
        };
        let props = contact_props(&mut rng, j);
        let photo = (j % 3 == 0).then(|| {
            let side = 48 + 16 * rng.below(4) as u32;
            Photo {
                bytes: PhotoBytes::Generated {
                    seed: rng.next_u64(),
                },
                content_type: "image/png".into(),
                width: side,
                height: side,
                change_seq: 0,
            }
        });
        let created = day0 - Duration::days(200 - j as i64 % 150);
        mbx.insert_contact(folder, props, photo, created);
    }

    // Calendars and events.
    let cal = mbx.add_calendar("Calendar", "auto", true);
    let project = mbx.add_calendar("Projekt Alpha", "lightGreen", false);
    mbx.add_calendar("Birthdays", "lightPink", false);
    let monday = NaiveDate::from_ymd_opt(2026, 9, 28).unwrap_or_default(); // a Monday
    for j in 0..n_events {
        let mut rng = SplitMix64::derive(seed, &format!("mailbox/{index}/event/{j}"));
        let (calendar, e) = match j {
            0 => {
                // Weekly meeting the owner organizes, across the DST change,
                // with a moved occurrence and a cancelled one.
                let mut p = base_props(&owner, "Weekly sync 🗓️", berlin(monday, 10, 0), 60);
                p.attendees = attendees(&mut rng, colleagues, 3);
                p.location = Some("Raum Spree / Teams".into());
                p.is_online_meeting = true;
                p.body =
                    "<html><body><p>Agenda: status, risks, next steps.</p></body></html>".into();
                let r = series(
                    PatternType::Weekly,
                    monday,
                    vec![Weekday::Mon],
                    RangeType::Numbered,
                    10,
                    None,
                );
                let mut e = event(cal, p, Some(r));
                let moved = monday + Duration::weeks(3);
                let mut x = e.props.clone();
                x.start = berlin(moved + Duration::days(1), 14, 0);
                x.end = x.start + Duration::minutes(60);
                x.subject = "Weekly sync (moved to Tuesday)".into();
                e.exceptions.insert(
                    moved,
                    Exception {
                        props: x,
                        change_seq: 0,
                        created: day0,
                        last_modified: day0,
                    },
                );
                e.cancelled.insert(monday + Duration::weeks(5));
                e.attachments.push(Attachment {
                    key: 1,
                    name: "Agenda.csv".into(),
                    content_type: "text/csv".into(),
                    bytes: super::blobs::csv(&mut rng, 20).into(),
                    is_inline: false,
                    content_id: None,
                    last_modified: day0,
                });
                (cal, e)
            }
            1 => {
                // A colleague's daily stand-up: the owner is an attendee.
                let start = monday + Duration::days(14);
                let mut p = base_props(&owner, "Daily stand-up", berlin(start, 9, 15), 15);
                p.is_organizer = false;
                p.organizer = colleagues
                    .first()
                    .cloned()
                    .unwrap_or_else(|| EmailAddress::new("Bob Jones", "bob@contoso.example"));
                p.response = "accepted".into();
                p.attendees = vec![Attendee {
                    email: owner.clone(),
                    kind: "required".into(),
                    response: "accepted".into(),
                }];
                let r = series(
                    PatternType::Daily,
                    start,
                    Vec::new(),
                    RangeType::EndDate,
                    0,
                    Some(start + Duration::days(40)),
                );
                let mut e = event(cal, p, Some(r));
                e.cancelled.insert(start + Duration::days(3));
                (cal, e)
            }
            2 => {
                let start = NaiveDate::from_ymd_opt(2026, 8, 1).unwrap_or_default();
                let p = base_props(
                    &owner,
                    "Monatsabschluss",
                    berlin(
                        NaiveDate::from_ymd_opt(2026, 8, 28).unwrap_or_default(),
                        16,
                        0,
                    ),
                    90,
                );
                let r = series(
                    PatternType::RelativeMonthly,
                    start,
                    vec![Weekday::Fri],
                    RangeType::Numbered,
                    6,
                    None,
                );
                (project, event(project, p, Some(r)))
            }
            _ => {
                let day =
                    day0.date_naive() - Duration::days(60) + Duration::days(rng.below(90) as i64);
                let all_day = j % 6 == 5;
                let subjects = [
                    "Kundentermin",
                    "Lunch with Priya 🍜",
                    "Review Q4 numbers",
                    "打ち合わせ",
                    "Zahnarzt",
                    "Workshop Ümlaut-Test",
                ];
                let subject = rng.pick(&subjects).to_string();
                let mut p = if all_day {
                    let mut p = base_props(
                        &owner,
                        &subject,
                        day.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc(),
                        24 * 60,
                    );
                    p.is_all_day = true;
                    p.start_tz = "UTC";
                    p.end_tz = "UTC";
                    p.show_as = "free".into();
                    p
                } else {
                    let minutes = 30 * rng.range(1, 4) as i64;
                    base_props(
                        &owner,
                        &subject,
                        berlin(day, 8 + rng.below(9) as u32, 30 * rng.below(2) as u32),
                        minutes,
                    )
                };
                if rng.chance(40) {
                    let n = 1 + rng.below(3) as usize;
                    p.attendees = attendees(&mut rng, colleagues, n);
                    if rng.chance(40) {
                        p.is_organizer = false;
                        p.organizer = p.attendees[0].email.clone();
                        p.attendees[0].response = "organizer".into();
                        p.response = "tentativelyAccepted".into();
                    }
                }
                if rng.chance(25) {
                    p.location = Some(rng.pick(corpus::OFFICES).to_string());
                }
                if rng.chance(15) {
                    p.categories = vec![rng.pick(corpus::CATEGORIES).to_string()];
                }
                if rng.chance(10) {
                    p.sensitivity = "private".into();
                }
                p.body_type = BodyType::Text;
                p.body = rng.pick(corpus::sentences(corpus::Lang::En)).to_string();
                let calendar = if j % 4 == 3 { project } else { cal };
                let mut e = event(calendar, p, None);
                if j % 5 == 4 {
                    e.attachments.push(Attachment {
                        key: 1,
                        name: rng.pick(corpus::FILE_NAMES_PNG).to_string(),
                        content_type: "image/png".into(),
                        bytes: super::blobs::png(&mut rng, 32, 24).into(),
                        is_inline: false,
                        content_id: None,
                        last_modified: day0,
                    });
                }
                (calendar, e)
            }
        };
        let created = e.props.start.min(day0) - Duration::days(7);
        let _ = calendar;
        mbx.insert_event(e, created);
    }

    // To Do.
    let tasks = mbx.add_todo_list("Tasks", "defaultList");
    let flagged = mbx.add_todo_list("Flagged email", "flaggedEmails");
    let shopping = mbx.add_todo_list("Einkauf 🛒", "none");
    for j in 0..n_tasks {
        let mut rng = SplitMix64::derive(seed, &format!("mailbox/{index}/task/{j}"));
        let list = match j % 4 {
            0 => shopping,
            1 => flagged,
            _ => tasks,
        };
        let created = day0 - Duration::days(rng.range(1, 60) as i64);
        let titles = [
            "Angebot prüfen",
            "Call Priya back",
            "Expense report",
            "Milch, Brot, Käse",
            "Renew passport 🛂",
            "レポート提出",
        ];
        let mut t: TodoTask = crate::routes::todo::new_task(list, created);
        t.title = rng.pick(&titles).to_string();
        t.status = [
            "notStarted",
            "inProgress",
            "completed",
            "notStarted",
            "waitingOnOthers",
        ][rng.below(5) as usize]
            .into();
        if t.status == "completed" {
            t.completed = Some(created + Duration::days(2));
        }
        t.importance = if rng.chance(20) {
            Importance::High
        } else {
            Importance::Normal
        };
        if rng.chance(60) {
            t.due = Some(
                (created + Duration::days(rng.range(3, 30) as i64))
                    .date_naive()
                    .and_hms_opt(0, 0, 0)
                    .unwrap_or_default()
                    .and_utc(),
            );
        }
        if rng.chance(30) {
            t.is_reminder_on = true;
            t.reminder = t.due.map(|d| d - Duration::hours(15));
        }
        if rng.chance(40) {
            t.body = "Details in the last mail.".into();
        }
        mbx.insert_task(t, created);
    }

    // Inbox rules.
    let archive = mbx
        .folders
        .values()
        .find(|f| f.well_known == Some("archive"))
        .map(|f| mbx.folder_id(f.key));
    let mut newsletter = MessageRule {
        key: 0,
        display_name: "Newsletter → Archiv".into(),
        sequence: 1,
        is_enabled: true,
        conditions: Map::new(),
        actions: Map::new(),
        exceptions: None,
    };
    newsletter
        .conditions
        .insert("senderContains".into(), json!(["newsletter", "news@"]));
    if let Some(a) = archive {
        newsletter.actions.insert("moveToFolder".into(), json!(a));
    }
    newsletter
        .actions
        .insert("stopProcessingRules".into(), json!(true));
    mbx.insert_rule(newsletter);
    if index.is_multiple_of(2) {
        let mut important = MessageRule {
            key: 0,
            display_name: "Wichtig markieren".into(),
            sequence: 2,
            is_enabled: true,
            conditions: Map::new(),
            actions: Map::new(),
            exceptions: Some(Map::new()),
        };
        important
            .conditions
            .insert("importance".into(), json!("high"));
        important
            .actions
            .insert("assignCategories".into(), json!(["Wichtig"]));
        important.actions.insert("markAsRead".into(), json!(false));
        if let Some(x) = important.exceptions.as_mut() {
            x.insert("isAutomaticReply".into(), json!(true));
        }
        mbx.insert_rule(important);
    }
}

/// A shared mailbox: its own user object and an empty mailbox with the
/// default folders, contact folder, calendar and task lists.
pub(crate) fn shared_mailbox(seed: u64, index: usize, display_name: &str, mail: &str) -> Mailbox {
    let mut rng = SplitMix64::derive(seed, &format!("shared/{index}/{mail}"));
    let guid = crate::rng::guid_bytes(rng.bytes16());
    let user = crate::model::User {
        guid,
        id: crate::rng::guid_from_bytes(guid),
        upn: mail.to_string(),
        display_name: display_name.to_string(),
        given_name: String::new(),
        surname: String::new(),
        mail: mail.to_string(),
        job_title: String::new(),
        office_location: String::new(),
        preferred_language: "en-US".into(),
        business_phones: Vec::new(),
        mobile_phone: None,
    };
    let mut mbx = Mailbox::new(user);
    super::make_tree(&mut mbx);
    mbx.add_contact_folder(None, "Contacts", true);
    mbx.add_calendar("Calendar", "auto", true);
    mbx.add_todo_list("Tasks", "defaultList");
    mbx.add_todo_list("Flagged email", "flaggedEmails");
    mbx.pim.shared_mailbox = true;
    mbx
}
