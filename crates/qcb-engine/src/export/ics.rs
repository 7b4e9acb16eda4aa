//! Graph events and To Do tasks as iCalendar (RFC 5545): VEVENTs with RRULE from Graph's
//! `patternedRecurrence`, modified occurrences as RECURRENCE-ID overrides, cancelled ones as
//! EXDATE; VTODOs for tasks. Times are written in the event's own zone with a VTIMEZONE when
//! that zone is known (see `tz.rs`), otherwise in UTC; all-day events as DATE values.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use serde_json::Value;

use super::lines::{Lines, escape, param, uri};
use super::tz::{self, Zone};

/// A time as a property value.
#[derive(Debug, Clone, Copy)]
enum When {
    Utc(DateTime<Utc>),
    Local(Zone, NaiveDateTime),
    Date(NaiveDate),
}

fn utc_text(t: &DateTime<Utc>) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

impl When {
    fn prop(&self, name: &str) -> String {
        match self {
            When::Utc(t) => format!("{name}:{}", utc_text(t)),
            When::Local(z, t) => format!("{name};TZID={}:{}", z.tzid, t.format("%Y%m%dT%H%M%S")),
            When::Date(d) => format!("{name};VALUE=DATE:{}", d.format("%Y%m%d")),
        }
    }
}

/// Parses Graph's `dateTimeTimeZone` (`{"dateTime": "2026-11-02T10:00:00.0000000",
/// "timeZone": "UTC"}`) into an instant. A zone not known here is taken as UTC.
fn graph_time(v: &Value) -> Option<DateTime<Utc>> {
    let text = v["dateTime"].as_str()?;
    let naive = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S"))
        .ok()?;
    let zone = v["timeZone"].as_str().unwrap_or("UTC");
    Some(match tz::zone(zone) {
        Some(z) if !tz::is_utc(zone) => z.to_utc(naive),
        _ => naive.and_utc(),
    })
}

/// An RFC 3339 timestamp (`createdDateTime`, `originalStart`).
fn timestamp(v: &Value) -> Option<DateTime<Utc>> {
    v.as_str()?.parse().ok()
}

/// Collects VEVENTs and VTODOs, then writes one VCALENDAR with the VTIMEZONEs they use.
#[derive(Default)]
pub struct Calendar {
    body: Lines,
    zones: BTreeMap<&'static str, Zone>,
    pub events: u64,
    pub tasks: u64,
}

/// How an event's times are written: its zone (`None`: UTC) and whether it is all-day.
#[derive(Clone, Copy)]
struct Frame {
    zone: Option<Zone>,
    all_day: bool,
}

impl Frame {
    fn when(&self, t: DateTime<Utc>) -> When {
        match (self.zone, self.all_day) {
            (Some(z), true) => When::Date(z.to_local(&t).date()),
            (None, true) => When::Date(t.date_naive()),
            (Some(z), false) => When::Local(z, z.to_local(&t)),
            (None, false) => When::Utc(t),
        }
    }

    /// The local date and wall time of an instant in this frame.
    fn local(&self, t: DateTime<Utc>) -> NaiveDateTime {
        match self.zone {
            Some(z) => z.to_local(&t),
            None => t.naive_utc(),
        }
    }

    /// A local wall time in this frame as a property value.
    fn at(&self, local: NaiveDateTime) -> When {
        match (self.zone, self.all_day) {
            (_, true) => When::Date(local.date()),
            (Some(z), false) => When::Local(z, local),
            (None, false) => When::Utc(local.and_utc()),
        }
    }

    /// The end of a local date as RRULE's UNTIL (UTC, or a DATE for all-day events).
    fn until(&self, d: NaiveDate) -> String {
        if self.all_day {
            return d.format("%Y%m%d").to_string();
        }
        let end = d.and_time(NaiveTime::from_hms_opt(23, 59, 59).unwrap_or_default());
        let utc = match self.zone {
            Some(z) => z.to_utc(end),
            None => end.and_utc(),
        };
        utc_text(&utc)
    }
}

const WEEKDAYS: &[(&str, &str)] = &[
    ("monday", "MO"),
    ("tuesday", "TU"),
    ("wednesday", "WE"),
    ("thursday", "TH"),
    ("friday", "FR"),
    ("saturday", "SA"),
    ("sunday", "SU"),
];

fn weekday(name: &str) -> Option<&'static str> {
    WEEKDAYS
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, d)| *d)
}

/// Graph's `patternedRecurrence` as an RRULE value.
fn rrule(rec: &Value, frame: &Frame) -> Option<String> {
    let p = &rec["pattern"];
    let r = &rec["range"];
    let interval = p["interval"].as_u64().unwrap_or(1).max(1);
    let days: Vec<&str> = p["daysOfWeek"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|d| d.as_str().and_then(weekday))
                .collect()
        })
        .unwrap_or_default();
    let setpos = match p["index"].as_str().unwrap_or("first") {
        "second" => 2,
        "third" => 3,
        "fourth" => 4,
        "last" => -1,
        _ => 1,
    };
    let month = p["month"].as_u64().unwrap_or(0);
    let day = p["dayOfMonth"].as_u64().unwrap_or(0);
    let mut parts = match p["type"].as_str()? {
        "daily" => vec!["FREQ=DAILY".to_string()],
        "weekly" => {
            let mut v = vec!["FREQ=WEEKLY".to_string()];
            if !days.is_empty() {
                v.push(format!("BYDAY={}", days.join(",")));
            }
            if let Some(w) = p["firstDayOfWeek"].as_str().and_then(weekday) {
                v.push(format!("WKST={w}"));
            }
            v
        }
        "absoluteMonthly" => vec!["FREQ=MONTHLY".into(), format!("BYMONTHDAY={day}")],
        "relativeMonthly" => vec![
            "FREQ=MONTHLY".into(),
            format!("BYDAY={}", days.join(",")),
            format!("BYSETPOS={setpos}"),
        ],
        "absoluteYearly" => vec![
            "FREQ=YEARLY".into(),
            format!("BYMONTH={month}"),
            format!("BYMONTHDAY={day}"),
        ],
        "relativeYearly" => vec![
            "FREQ=YEARLY".into(),
            format!("BYMONTH={month}"),
            format!("BYDAY={}", days.join(",")),
            format!("BYSETPOS={setpos}"),
        ],
        _ => return None,
    };
    if interval > 1 {
        parts.insert(1, format!("INTERVAL={interval}"));
    }
    match r["type"].as_str().unwrap_or("noEnd") {
        "endDate" => {
            if let Some(d) = r["endDate"]
                .as_str()
                .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
                .filter(|d| *d > NaiveDate::from_ymd_opt(1, 1, 1).unwrap_or_default())
            {
                parts.push(format!("UNTIL={}", frame.until(d)));
            }
        }
        "numbered" => {
            if let Some(n) = r["numberOfOccurrences"].as_u64().filter(|n| *n > 0) {
                parts.push(format!("COUNT={n}"));
            }
        }
        _ => {}
    }
    Some(parts.join(";"))
}

/// HTML as plain text, for DESCRIPTION (the HTML itself goes into X-ALT-DESC).
pub fn html_to_text(html: &str) -> String {
    let mut out = String::new();
    let mut rest = html;
    let mut skip_until: Option<&str> = None;
    while let Some(lt) = rest.find('<') {
        if skip_until.is_none() {
            out.push_str(&rest[..lt]);
        }
        let after = &rest[lt + 1..];
        let gt = after.find('>').unwrap_or(after.len());
        let tag = after[..gt].trim().to_ascii_lowercase();
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        match skip_until {
            Some(end) if tag.starts_with('/') && name == end => skip_until = None,
            Some(_) => {}
            None if name == "script" || name == "style" || name == "head" => {
                skip_until = Some(if name == "script" {
                    "script"
                } else if name == "style" {
                    "style"
                } else {
                    "head"
                })
            }
            None => {
                if matches!(
                    name.as_str(),
                    "br" | "p" | "div" | "tr" | "li" | "h1" | "h2" | "h3"
                ) && (name == "br" || tag.starts_with('/'))
                {
                    out.push('\n');
                }
            }
        }
        rest = after.get(gt + 1..).unwrap_or("");
    }
    if skip_until.is_none() {
        out.push_str(rest);
    }
    let decoded = decode_entities(&out);
    let mut text = String::new();
    let mut blank = 0;
    for line in decoded.lines().map(str::trim_end) {
        if line.trim().is_empty() {
            blank += 1;
            if blank > 1 {
                continue;
            }
        } else {
            blank = 0;
        }
        text.push_str(line);
        text.push('\n');
    }
    text.trim().to_string()
}

fn decode_entities(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        let end = after.find(';').filter(|e| *e <= 10);
        let decoded = end.and_then(|e| {
            let ent = &after[..e];
            let c = match ent {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" | "#39" => Some('\''),
                "nbsp" => Some(' '),
                _ if ent.starts_with("#x") || ent.starts_with("#X") => {
                    u32::from_str_radix(&ent[2..], 16)
                        .ok()
                        .and_then(char::from_u32)
                }
                _ if ent.starts_with('#') => ent[1..].parse().ok().and_then(char::from_u32),
                _ => None,
            };
            c.map(|c| (c, e))
        });
        match decoded {
            Some((c, e)) => {
                out.push(c);
                rest = &after[e + 1..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn address(v: &Value) -> (&str, &str) {
    let e = &v["emailAddress"];
    (
        e["name"].as_str().unwrap_or(""),
        e["address"].as_str().unwrap_or(""),
    )
}

fn partstat(response: &str) -> &'static str {
    match response {
        "accepted" | "organizer" => "ACCEPTED",
        "declined" => "DECLINED",
        "tentativelyAccepted" => "TENTATIVE",
        _ => "NEEDS-ACTION",
    }
}

fn text_list(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|c| c.as_str())
                .filter(|c| !c.is_empty())
                .map(escape)
                .collect()
        })
        .unwrap_or_default()
}

fn body(l: &mut Lines, body: &Value) {
    let content = body["content"].as_str().unwrap_or("");
    if content.trim().is_empty() {
        return;
    }
    if body["contentType"].as_str() == Some("html") {
        l.text("DESCRIPTION", &html_to_text(content));
        l.raw(&format!("X-ALT-DESC;FMTTYPE=text/html:{}", escape(content)));
    } else {
        l.text("DESCRIPTION", content);
    }
}

impl Calendar {
    fn frame(&mut self, event: &Value) -> Frame {
        let name = event["recurrence"]["range"]["recurrenceTimeZone"]
            .as_str()
            .filter(|z| !z.is_empty())
            .or(event["originalStartTimeZone"].as_str())
            .unwrap_or("UTC");
        let zone = if tz::is_utc(name) {
            None
        } else {
            tz::zone(name)
        };
        if let Some(z) = zone {
            self.zones.insert(z.tzid, z);
        }
        Frame {
            zone,
            all_day: event["isAllDay"].as_bool().unwrap_or(false),
        }
    }

    /// Adds an event (a single event, or a series master with its exceptions and cancelled
    /// occurrences). Returns an error naming what is missing when it cannot be written.
    pub fn add_event(&mut self, event: &Value) -> Result<(), String> {
        let frame = self.frame(event);
        let uid = event["iCalUId"]
            .as_str()
            .or(event["id"].as_str())
            .ok_or("the event has neither iCalUId nor id")?
            .to_string();
        let start = graph_time(&event["start"]).ok_or("the event has no start time")?;
        // Written aside and added only when the whole event (with its exceptions) is good.
        let mut l = Lines::default();
        l.raw("BEGIN:VEVENT");
        l.raw(&format!("UID:{}", escape(&uid)));
        self.event_props(&mut l, event, &frame)?;
        if let Some(rule) = rrule(&event["recurrence"], &frame) {
            l.raw(&format!("RRULE:{rule}"));
            // Cancelled occurrences: `OID.<master id>.<yyyy-mm-dd>` (the original local date).
            let time = frame.local(start).time();
            for c in event["cancelledOccurrences"]
                .as_array()
                .into_iter()
                .flatten()
            {
                let Some(date) = c
                    .as_str()
                    .and_then(|s| s.get(s.len().saturating_sub(10)..))
                    .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
                else {
                    continue;
                };
                l.raw(&frame.at(date.and_time(time)).prop("EXDATE"));
            }
        }
        alarm(&mut l, event);
        l.raw("END:VEVENT");
        for x in event["exceptionOccurrences"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let original = timestamp(&x["originalStart"])
                .or_else(|| graph_time(&x["start"]))
                .ok_or("an exception occurrence has no original start")?;
            let xframe = Frame {
                all_day: x["isAllDay"].as_bool().unwrap_or(frame.all_day),
                ..frame
            };
            l.raw("BEGIN:VEVENT");
            l.raw(&format!("UID:{}", escape(&uid)));
            l.raw(&frame.when(original).prop("RECURRENCE-ID"));
            self.event_props(&mut l, x, &xframe)?;
            alarm(&mut l, x);
            l.raw("END:VEVENT");
        }
        self.body.out.push_str(&l.out);
        self.events += 1;
        Ok(())
    }

    fn event_props(&self, l: &mut Lines, e: &Value, frame: &Frame) -> Result<(), String> {
        let start = graph_time(&e["start"]).ok_or("the event has no start time")?;
        let end = graph_time(&e["end"]).unwrap_or(start);
        let stamp = timestamp(&e["lastModifiedDateTime"]).unwrap_or_default();
        l.raw(&format!("DTSTAMP:{}", utc_text(&stamp)));
        if let Some(t) = timestamp(&e["createdDateTime"]) {
            l.raw(&format!("CREATED:{}", utc_text(&t)));
        }
        if let Some(t) = timestamp(&e["lastModifiedDateTime"]) {
            l.raw(&format!("LAST-MODIFIED:{}", utc_text(&t)));
        }
        l.raw(&frame.when(start).prop("DTSTART"));
        let mut end_when = frame.when(end);
        if let (When::Date(s), When::Date(en)) = (frame.when(start), end_when)
            && en <= s
        {
            end_when = When::Date(s + Duration::days(1));
        }
        l.raw(&end_when.prop("DTEND"));
        l.text("SUMMARY", e["subject"].as_str().unwrap_or(""));
        let location = e["location"]["displayName"].as_str().unwrap_or("");
        l.text("LOCATION", location);
        body(l, &e["body"]);
        let (name, addr) = address(&e["organizer"]);
        if !addr.is_empty() {
            let cn = if name.is_empty() {
                String::new()
            } else {
                format!(";CN={}", param(name))
            };
            l.raw(&format!("ORGANIZER{cn}:mailto:{}", uri(addr)));
        }
        for a in e["attendees"].as_array().into_iter().flatten() {
            let (name, addr) = address(a);
            if addr.is_empty() {
                continue;
            }
            let role = match a["type"].as_str() {
                Some("optional") => "ROLE=OPT-PARTICIPANT",
                Some("resource") => "CUTYPE=RESOURCE;ROLE=NON-PARTICIPANT",
                _ => "ROLE=REQ-PARTICIPANT",
            };
            let cn = if name.is_empty() {
                String::new()
            } else {
                format!(";CN={}", param(name))
            };
            let stat = partstat(a["status"]["response"].as_str().unwrap_or(""));
            l.raw(&format!(
                "ATTENDEE{cn};{role};PARTSTAT={stat}:mailto:{}",
                uri(addr)
            ));
        }
        let cats = text_list(&e["categories"]);
        if !cats.is_empty() {
            l.raw(&format!("CATEGORIES:{}", cats.join(",")));
        }
        l.raw(&format!(
            "CLASS:{}",
            match e["sensitivity"].as_str() {
                Some("private") => "PRIVATE",
                Some("confidential") => "CONFIDENTIAL",
                _ => "PUBLIC",
            }
        ));
        l.raw(&format!(
            "TRANSP:{}",
            if e["showAs"].as_str() == Some("free") {
                "TRANSPARENT"
            } else {
                "OPAQUE"
            }
        ));
        l.raw(&format!(
            "STATUS:{}",
            if e["isCancelled"].as_bool() == Some(true) {
                "CANCELLED"
            } else if e["showAs"].as_str() == Some("tentative") {
                "TENTATIVE"
            } else {
                "CONFIRMED"
            }
        ));
        match e["importance"].as_str() {
            Some("high") => l.raw("PRIORITY:1"),
            Some("low") => l.raw("PRIORITY:9"),
            _ => {}
        }
        for a in e["attachments"].as_array().into_iter().flatten() {
            let Some(b64) = a["contentBytes"].as_str() else {
                continue;
            };
            let mut p = String::from("ATTACH");
            if let Some(t) = a["contentType"].as_str().filter(|t| !t.is_empty()) {
                p.push_str(&format!(";FMTTYPE={}", param(t)));
            }
            p.push_str(";ENCODING=BASE64;VALUE=BINARY");
            if let Some(n) = a["name"].as_str().filter(|n| !n.is_empty()) {
                p.push_str(&format!(";X-FILENAME={}", param(n)));
            }
            l.raw(&format!("{p}:{b64}"));
        }
        Ok(())
    }

    /// Adds a To Do task as a VTODO.
    pub fn add_task(&mut self, t: &Value) -> Result<(), String> {
        let id = t["id"].as_str().ok_or("the task has no id")?;
        let mut l = std::mem::take(&mut self.body);
        l.raw("BEGIN:VTODO");
        l.raw(&format!("UID:{}", escape(id)));
        let stamp = timestamp(&t["lastModifiedDateTime"]).unwrap_or_default();
        l.raw(&format!("DTSTAMP:{}", utc_text(&stamp)));
        if let Some(c) = timestamp(&t["createdDateTime"]) {
            l.raw(&format!("CREATED:{}", utc_text(&c)));
        }
        if let Some(m) = timestamp(&t["lastModifiedDateTime"]) {
            l.raw(&format!("LAST-MODIFIED:{}", utc_text(&m)));
        }
        l.text("SUMMARY", t["title"].as_str().unwrap_or(""));
        body(&mut l, &t["body"]);
        // To Do's start and due are dates (midnight in the task's zone).
        let date = |v: &Value| {
            v["dateTime"]
                .as_str()
                .and_then(|s| s.get(..10))
                .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        };
        let start = date(&t["startDateTime"]);
        let due = date(&t["dueDateTime"]);
        let frame = Frame {
            zone: None,
            all_day: true,
        };
        if let Some(d) = start.or(due.filter(|_| t["recurrence"].is_object())) {
            l.raw(&When::Date(d).prop("DTSTART"));
        }
        if let Some(d) = due {
            l.raw(&When::Date(d).prop("DUE"));
        }
        if let Some(rule) = rrule(&t["recurrence"], &frame) {
            l.raw(&format!("RRULE:{rule}"));
        }
        let status = t["status"].as_str().unwrap_or("");
        l.raw(&format!(
            "STATUS:{}",
            match status {
                "completed" => "COMPLETED",
                "inProgress" => "IN-PROCESS",
                _ => "NEEDS-ACTION",
            }
        ));
        if let Some(c) = graph_time(&t["completedDateTime"]) {
            l.raw(&format!("COMPLETED:{}", utc_text(&c)));
            l.raw("PERCENT-COMPLETE:100");
        }
        match t["importance"].as_str() {
            Some("high") => l.raw("PRIORITY:1"),
            Some("low") => l.raw("PRIORITY:9"),
            _ => {}
        }
        let cats = text_list(&t["categories"]);
        if !cats.is_empty() {
            l.raw(&format!("CATEGORIES:{}", cats.join(",")));
        }
        if t["isReminderOn"].as_bool() == Some(true)
            && let Some(r) = graph_time(&t["reminderDateTime"])
        {
            l.raw("BEGIN:VALARM");
            l.raw("ACTION:DISPLAY");
            l.text("DESCRIPTION", t["title"].as_str().unwrap_or("Reminder"));
            l.raw(&format!("TRIGGER;VALUE=DATE-TIME:{}", utc_text(&r)));
            l.raw("END:VALARM");
        }
        l.raw("END:VTODO");
        self.body = l;
        self.tasks += 1;
        Ok(())
    }

    /// The whole VCALENDAR text.
    pub fn finish(self, name: &str) -> String {
        let mut l = Lines::default();
        l.raw("BEGIN:VCALENDAR");
        l.raw("VERSION:2.0");
        l.raw("PRODID:-//QCBackup//QCBackup Manager export//EN");
        l.raw("CALSCALE:GREGORIAN");
        l.text("X-WR-CALNAME", name);
        for z in self.zones.values() {
            z.vtimezone(&mut l);
        }
        l.out.push_str(&self.body.out);
        l.raw("END:VCALENDAR");
        l.out
    }
}

fn alarm(l: &mut Lines, e: &Value) {
    if e["isReminderOn"].as_bool() != Some(true) {
        return;
    }
    let minutes = e["reminderMinutesBeforeStart"].as_i64().unwrap_or(15);
    l.raw("BEGIN:VALARM");
    l.raw("ACTION:DISPLAY");
    l.text("DESCRIPTION", "Reminder");
    l.raw(&format!("TRIGGER:-PT{minutes}M"));
    l.raw("END:VALARM");
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn series() -> Value {
        json!({
            "id": "AAMk1", "iCalUId": "uid-1", "subject": "Standup; daily, short",
            "type": "seriesMaster", "isAllDay": false,
            "originalStartTimeZone": "W. Europe Standard Time",
            "start": {"dateTime": "2026-03-20T08:00:00.0000000", "timeZone": "UTC"},
            "end": {"dateTime": "2026-03-20T08:15:00.0000000", "timeZone": "UTC"},
            "lastModifiedDateTime": "2026-03-01T10:00:00Z",
            "organizer": {"emailAddress": {"name": "Alice, A.", "address": "alice@contoso.com"}},
            "attendees": [{"type": "optional", "status": {"response": "tentativelyAccepted"},
                           "emailAddress": {"name": "Bob", "address": "bob@contoso.com"}}],
            "recurrence": {
                "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["monday", "friday"],
                            "firstDayOfWeek": "sunday"},
                "range": {"type": "endDate", "startDate": "2026-03-20", "endDate": "2026-04-30",
                          "recurrenceTimeZone": "W. Europe Standard Time"}
            },
            "cancelledOccurrences": ["OID.AAMk1.2026-03-23"],
            "exceptionOccurrences": [{
                "originalStart": "2026-03-27T08:00:00Z", "subject": "Standup (moved)",
                "start": {"dateTime": "2026-03-27T10:00:00.0000000", "timeZone": "UTC"},
                "end": {"dateTime": "2026-03-27T10:15:00.0000000", "timeZone": "UTC"},
            }],
        })
    }

    #[test]
    fn series_with_exception_and_cancelled_occurrence() {
        let mut c = Calendar::default();
        c.add_event(&series()).unwrap();
        let text = c.finish("Calendar").replace("\r\n ", "");
        assert!(text.contains("TZID:Europe/Berlin"), "{text}");
        assert!(
            text.contains("DTSTART;TZID=Europe/Berlin:20260320T090000"),
            "{text}"
        );
        assert!(text.contains("RRULE:FREQ=WEEKLY;BYDAY=MO,FR;WKST=SU;UNTIL=20260430T215959Z"));
        // 23 March is after the change to summer time on 29 March? No: before, so 09:00 CET.
        assert!(
            text.contains("EXDATE;TZID=Europe/Berlin:20260323T090000"),
            "{text}"
        );
        // 27 March 08:00 UTC is 09:00 in Berlin (still winter time).
        assert!(text.contains("RECURRENCE-ID;TZID=Europe/Berlin:20260327T090000"));
        assert!(text.contains("SUMMARY:Standup\\; daily\\, short"));
        assert!(text.contains("ORGANIZER;CN=\"Alice, A.\":mailto:alice@contoso.com"));
        assert!(text.contains(
            "ATTENDEE;CN=Bob;ROLE=OPT-PARTICIPANT;PARTSTAT=TENTATIVE:mailto:bob@contoso.com"
        ));
        assert_eq!(text.matches("BEGIN:VEVENT").count(), 2);
    }

    #[test]
    fn an_address_with_a_line_break_cannot_add_a_property() {
        // Found by the ics_vcf fuzz target: an address is a URI, written without escapes.
        let mut c = Calendar::default();
        c.add_event(&json!({
            "id": "e", "subject": "x",
            "start": {"dateTime": "2026-03-27T10:00:00", "timeZone": "UTC"},
            "end": {"dateTime": "2026-03-27T11:00:00", "timeZone": "UTC"},
            "organizer": {"emailAddress": {"address": "a@example.com\r\nATTACH:http://evil"}},
            "attendees": [{"emailAddress": {"address": "b@example.com\rX-EVIL:1"}}],
        }))
        .unwrap();
        let text = c.finish("Calendar");
        assert!(
            !text.contains("\r\nATTACH") && !text.contains("\rX-EVIL"),
            "{text}"
        );
        assert!(
            text.contains("mailto:a@example.comATTACH:http://evil"),
            "{text}"
        );
    }

    #[test]
    fn all_day_events_are_dates_and_monthly_rules() {
        let mut c = Calendar::default();
        c.add_event(&json!({
            "id": "x", "subject": "Holiday", "isAllDay": true, "originalStartTimeZone": "UTC",
            "start": {"dateTime": "2026-12-24T00:00:00.0000000", "timeZone": "UTC"},
            "end": {"dateTime": "2026-12-25T00:00:00.0000000", "timeZone": "UTC"},
        }))
        .unwrap();
        let text = c.finish("x");
        assert!(text.contains("DTSTART;VALUE=DATE:20261224\r\n"));
        assert!(text.contains("DTEND;VALUE=DATE:20261225\r\n"));
        let frame = Frame {
            zone: None,
            all_day: false,
        };
        let r = json!({"pattern": {"type": "relativeMonthly", "interval": 2,
            "daysOfWeek": ["friday"], "index": "last"},
            "range": {"type": "numbered", "numberOfOccurrences": 6}});
        assert_eq!(
            rrule(&r, &frame).unwrap(),
            "FREQ=MONTHLY;INTERVAL=2;BYDAY=FR;BYSETPOS=-1;COUNT=6"
        );
    }

    #[test]
    fn an_event_that_cannot_be_written_leaves_the_others_alone() {
        let mut c = Calendar::default();
        c.add_event(&series()).unwrap();
        let mut broken = series();
        broken["iCalUId"] = json!("uid-2");
        broken["exceptionOccurrences"][0]["originalStart"] = Value::Null;
        broken["exceptionOccurrences"][0]["start"] = Value::Null;
        assert!(c.add_event(&broken).is_err());
        assert!(c.add_event(&json!({"id": "x"})).is_err());
        assert_eq!(c.events, 1);
        let text = c.finish("x");
        assert_eq!(text.matches("BEGIN:VEVENT").count(), 2);
        assert!(!text.contains("uid-2"));
    }

    #[test]
    fn html_bodies_become_text() {
        assert_eq!(
            html_to_text(
                "<html><head><style>p{}</style></head><body><p>Hi &amp; bye</p><p>2&lt;3<br>x&#228;</p></body></html>"
            ),
            "Hi & bye\n2<3\nxä"
        );
    }
}
