//! Calendars and events: calendars, events (single, series masters with
//! `recurrence`, exceptions, cancelled occurrences), `instances`,
//! `calendarView` (+ `delta`, window required), the beta
//! `calendars/{id}/events/delta`, event attachments, create/update/delete.
//!
//! Nothing is ever sent: where Exchange would send a meeting request,
//! update or cancellation (the mailbox owner organizes a meeting with
//! attendees), the emulator records the message in the mailbox's outbox
//! (`Admin::meeting_messages`, `GET /_sim/meetingMessages`) so tests can
//! assert that a restore sent nothing. An event created with
//! `PidLidAppointmentStateFlags` (`Integer {00062002-0000-0000-C000-000000000046} Id 0x8217`)
//! carrying `asfReceived` (0x2) is an attendee's copy: not organized by the
//! owner, so nothing would be sent for it.

use std::collections::{BTreeMap, BTreeSet};

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde_json::{Map, Value, json};

use super::St;
use super::pim::{
    Ctx, bool_value, context, date_time_tz, extended_props, invalid_value, json_object, lookup_err,
    mailbox_index, ok_json, paged, respond, string_list, string_or_null, unknown_property,
};
use crate::error::GraphError;
use crate::ids::{self, IdForm, IdRef};
use crate::json::check_select;
use crate::model::{Attachment, BodyType, EmailAddress, Importance, Mailbox};
use crate::pim::delta::{self, Pos, Scope, State as DeltaState};
use crate::pim::json::{
    EVENT_PROPS, EventOptions, calendar_json, event_attachment_json, event_delta_stub, event_json,
};
use crate::pim::time::{self, PatternType, RangeType, Recurrence};
use crate::pim::{
    Attendee, Event, EventProps, EventRef, Exception, Instance, Kind, MeetingMessage,
};

type Params = Path<BTreeMap<String, String>>;

fn param<'a>(p: &'a BTreeMap<String, String>, name: &str) -> &'a str {
    p.get(name).map(String::as_str).unwrap_or("")
}

/// `PidLidAppointmentStateFlags` (PSETID_Appointment, 0x8217).
pub(crate) const APPOINTMENT_STATE_FLAGS: &str =
    "Integer {00062002-0000-0000-C000-000000000046} Id 0x8217";

fn same_ext_id(a: &str, b: &str) -> bool {
    let norm = |s: &str| {
        s.split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase()
    };
    norm(a) == norm(b)
}

fn calendar_key(mbx: &Mailbox, p: &BTreeMap<String, String>) -> Result<u64, GraphError> {
    match p.get("cid") {
        Some(c) => mbx.calendar_key(c).map_err(lookup_err),
        None => mbx
            .default_calendar()
            .ok_or_else(GraphError::item_not_found),
    }
}

/// The event of a path (a `{cid}` must be the event's calendar).
fn path_event(mbx: &Mailbox, p: &BTreeMap<String, String>) -> Result<EventRef, GraphError> {
    let r = mbx.event_ref(param(p, "eid")).map_err(lookup_err)?;
    if let Some(c) = p.get("cid") {
        let ck = mbx.calendar_key(c).map_err(lookup_err)?;
        if mbx.pim.events.get(&r.key).is_none_or(|e| e.calendar != ck) {
            return Err(GraphError::item_not_found());
        }
    }
    Ok(r)
}

fn instance_of<'a>(e: &'a Event, r: EventRef) -> Result<Instance<'a>, GraphError> {
    match r.occurrence {
        None => Ok(Instance {
            event: e,
            occurrence: None,
            exception: None,
        }),
        Some(d) => {
            let s = e.occurrence_on(d).ok_or_else(GraphError::item_not_found)?;
            Ok(Instance {
                event: e,
                occurrence: Some((d, s)),
                exception: e.exceptions.get(&d),
            })
        }
    }
}

fn event_options(ctx: &Ctx, delta: bool) -> Result<EventOptions, GraphError> {
    ctx.check_zone()?;
    let select = check_select(ctx.query.select(), EVENT_PROPS, "event")?;
    let mut opts = EventOptions {
        select,
        zone: ctx.zone,
        delta,
        ..Default::default()
    };
    if let Some(x) = ctx.query.get("$expand") {
        let mut rest = Vec::new();
        for item in split_top(x) {
            if item.trim().eq_ignore_ascii_case("exceptionOccurrences") {
                opts.expand_exceptions = true;
            } else {
                rest.push(item);
            }
        }
        if !rest.is_empty() {
            let e = crate::odata::parse_message_expand(Some(&rest.join(",")))?;
            opts.expand_attachments = e.attachments;
            opts.expand_extended = e.extended;
        }
    }
    Ok(opts)
}

fn split_top(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let (mut depth, mut cur) = (0i32, String::new());
    for c in s.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    if !cur.trim().is_empty() {
        out.push(cur);
    }
    out
}

/// `startDateTime` and `endDateTime`, both required.
fn window(ctx: &Ctx) -> Result<(DateTime<Utc>, DateTime<Utc>), GraphError> {
    let missing = || {
        GraphError::new(
            StatusCode::BAD_REQUEST,
            "ErrorInvalidParameter",
            "This request requires a time window specified by the query string parameters StartDateTime and EndDateTime.",
        )
    };
    let s = ctx.query.get("startDateTime").ok_or_else(missing)?;
    let e = ctx.query.get("endDateTime").ok_or_else(missing)?;
    let bad = |v: &str| {
        GraphError::new(
            StatusCode::BAD_REQUEST,
            "ErrorInvalidParameter",
            format!("The value '{v}' of parameter 'StartDateTime/EndDateTime' is invalid."),
        )
    };
    let start = time::parse_query_time(s).ok_or_else(|| bad(s))?;
    let end = time::parse_query_time(e).ok_or_else(|| bad(e))?;
    if end < start {
        return Err(bad(e));
    }
    Ok((start, end))
}

// ---------------------------------------------------------------- calendars

pub(crate) async fn list_calendars(
    State(shared): St,
    Path(uid): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let ctx = Ctx::new(&headers, q);
    respond((|| {
        let top = ctx.page_size()?;
        let t = shared.lock();
        let mbx = &t.mailboxes[mailbox_index(&t, &uid)?];
        let mut cals: Vec<_> = mbx.pim.calendars.values().collect();
        cals.sort_by_key(|c| (!c.is_default, c.name.to_lowercase(), c.key));
        let all = cals.into_iter().map(|c| calendar_json(mbx, c)).collect();
        let v = paged(
            &shared,
            &ctx,
            context(&shared, mbx, "calendars"),
            &format!("/users/{}/calendars", mbx.user.id),
            all,
            top,
        )?;
        Ok(ok_json(StatusCode::OK, v, &[]))
    })())
}

pub(crate) async fn get_calendar(State(shared): St, Path(p): Params) -> Response {
    respond((|| {
        let t = shared.lock();
        let mbx = &t.mailboxes[mailbox_index(&t, param(&p, "uid"))?];
        let k = calendar_key(mbx, &p)?;
        let v = crate::routes::with_context(
            context(&shared, mbx, "calendars/$entity"),
            calendar_json(mbx, &mbx.pim.calendars[&k]),
        );
        Ok(ok_json(StatusCode::OK, v, &[]))
    })())
}

const COLORS: &[&str] = &[
    "auto",
    "lightBlue",
    "lightGreen",
    "lightOrange",
    "lightGray",
    "lightYellow",
    "lightTeal",
    "lightPink",
    "lightBrown",
    "lightRed",
    "maxColor",
];

pub(crate) async fn create_calendar(
    State(shared): St,
    Path(uid): Path<String>,
    body: Body,
) -> Response {
    respond(
        async {
            let input = json_object(body).await?;
            let mut name = None;
            let mut color = "auto".to_string();
            for (k, v) in &input {
                match k.as_str() {
                    "name" => name = string_or_null(v, k, "calendar")?,
                    "color" => {
                        let c = v.as_str().unwrap_or("");
                        color = COLORS
                            .iter()
                            .find(|x| x.eq_ignore_ascii_case(c))
                            .ok_or_else(|| invalid_value(k, "calendar"))?
                            .to_string();
                    }
                    k if k.starts_with('@') || k == "hexColor" => {}
                    _ => return Err(unknown_property(k, "calendar")),
                }
            }
            let name = name
                .filter(|n| !n.trim().is_empty())
                .ok_or_else(|| GraphError::invalid_request("The calendar's name is required."))?;
            let mut t = shared.lock();
            let i = mailbox_index(&t, &uid)?;
            let mbx = &mut t.mailboxes[i];
            mbx.check_quota(0)?;
            if mbx
                .pim
                .calendars
                .values()
                .any(|c| c.name.eq_ignore_ascii_case(&name))
            {
                return Err(GraphError::new(
                    StatusCode::CONFLICT,
                    "ErrorFolderExists",
                    "A folder with the specified name already exists.",
                ));
            }
            let k = mbx.add_calendar(&name, &color, false);
            let v = crate::routes::with_context(
                context(&shared, mbx, "calendars/$entity"),
                calendar_json(mbx, &mbx.pim.calendars[&k]),
            );
            Ok(ok_json(StatusCode::CREATED, v, &[]))
        }
        .await,
    )
}

// ---------------------------------------------------------------- read

pub(crate) async fn list_events(
    State(shared): St,
    Path(p): Params,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let ctx = Ctx::new(&headers, q);
    respond((|| {
        let opts = event_options(&ctx, false)?;
        let top = ctx.page_size()?;
        let t = shared.lock();
        let mbx = &t.mailboxes[mailbox_index(&t, param(&p, "uid"))?];
        let ck = calendar_key(mbx, &p)?;
        let mut list: Vec<&Event> = mbx
            .pim
            .events
            .values()
            .filter(|e| e.calendar == ck)
            .collect();
        list.sort_by_key(|e| (e.props.start, e.key));
        let form = ctx.form();
        let all: Vec<Value> = list
            .into_iter()
            .map(|e| {
                let i = Instance {
                    event: e,
                    occurrence: None,
                    exception: None,
                };
                event_json(mbx, &i, form, &opts)
            })
            .collect();
        let (path, ctxt) = match p.get("cid") {
            Some(_) => {
                let cid = mbx.calendar_id(ck);
                (
                    format!("/users/{}/calendars/{cid}/events", mbx.user.id),
                    context(&shared, mbx, &format!("calendars('{cid}')/events")),
                )
            }
            None => (
                format!("/users/{}/events", mbx.user.id),
                context(&shared, mbx, "events"),
            ),
        };
        let v = paged(&shared, &ctx, ctxt, &path, all, top)?;
        Ok(ok_json(StatusCode::OK, v, &ctx.applied(false)))
    })())
}

pub(crate) async fn get_event(
    State(shared): St,
    Path(p): Params,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let ctx = Ctx::new(&headers, q);
    respond((|| {
        let opts = event_options(&ctx, false)?;
        let t = shared.lock();
        let mbx = &t.mailboxes[mailbox_index(&t, param(&p, "uid"))?];
        let r = path_event(mbx, &p)?;
        let e = &mbx.pim.events[&r.key];
        let i = instance_of(e, r)?;
        let v = crate::routes::with_context(
            context(&shared, mbx, "events/$entity"),
            event_json(mbx, &i, ctx.form(), &opts),
        );
        Ok(ok_json(StatusCode::OK, v, &ctx.applied(false)))
    })())
}

/// `GET /events/{id}/instances?startDateTime=…&endDateTime=…`
pub(crate) async fn instances(
    State(shared): St,
    Path(p): Params,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let ctx = Ctx::new(&headers, q);
    respond((|| {
        let opts = event_options(&ctx, false)?;
        let (from, to) = window(&ctx)?;
        let top = ctx.page_size()?;
        let t = shared.lock();
        let mbx = &t.mailboxes[mailbox_index(&t, param(&p, "uid"))?];
        let r = path_event(mbx, &p)?;
        if r.occurrence.is_some() {
            return Err(GraphError::bad_request(
                "The instances of an occurrence cannot be listed; use the series master's id.",
            ));
        }
        let e = &mbx.pim.events[&r.key];
        let form = ctx.form();
        let all: Vec<Value> = e
            .instances(&from, &to)
            .iter()
            .map(|i| event_json(mbx, i, form, &opts))
            .collect();
        let id = mbx.event_id(e, form);
        let v = paged(
            &shared,
            &ctx,
            context(&shared, mbx, &format!("events('{id}')/instances")),
            &format!("/users/{}/events/{id}/instances", mbx.user.id),
            all,
            top,
        )?;
        Ok(ok_json(StatusCode::OK, v, &ctx.applied(false)))
    })())
}

/// Every instance of a calendar overlapping the window, by start.
fn view<'a>(
    mbx: &'a Mailbox,
    cal: u64,
    from: &DateTime<Utc>,
    to: &DateTime<Utc>,
) -> Vec<Instance<'a>> {
    let mut all: Vec<Instance<'a>> = mbx
        .pim
        .events
        .values()
        .filter(|e| e.calendar == cal)
        .flat_map(|e| e.instances(from, to))
        .collect();
    all.sort_by_key(|i| (i.start(), i.event.key, i.occurrence.map(|o| o.0)));
    all
}

/// `GET /users/{id}/calendarView` and `/calendars/{id}/calendarView`.
pub(crate) async fn calendar_view(
    State(shared): St,
    Path(p): Params,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let ctx = Ctx::new(&headers, q);
    respond((|| {
        let opts = event_options(&ctx, false)?;
        let (from, to) = window(&ctx)?;
        let top = ctx.page_size()?;
        let t = shared.lock();
        let mbx = &t.mailboxes[mailbox_index(&t, param(&p, "uid"))?];
        let ck = calendar_key(mbx, &p)?;
        let form = ctx.form();
        let all: Vec<Value> = view(mbx, ck, &from, &to)
            .iter()
            .map(|i| event_json(mbx, i, form, &opts))
            .collect();
        let path = match p.get("cid") {
            Some(_) => format!(
                "/users/{}/calendars/{}/calendarView",
                mbx.user.id,
                mbx.calendar_id(ck)
            ),
            None => format!("/users/{}/calendarView", mbx.user.id),
        };
        let v = paged(
            &shared,
            &ctx,
            context(&shared, mbx, "calendarView"),
            &path,
            all,
            top,
        )?;
        Ok(ok_json(StatusCode::OK, v, &ctx.applied(false)))
    })())
}

// ---------------------------------------------------------------- delta

/// `GET /users/{id}/calendarView/delta?startDateTime=…&endDateTime=…`
/// (also under `/calendars/{id}`): the instances of the window (series
/// expanded into occurrences and exceptions), then per round the instances
/// of events changed since, `@removed` for deleted events, cancelled
/// occurrences and changed events now outside the window (as documented).
pub(crate) async fn calendar_view_delta(
    State(shared): St,
    Path(p): Params,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let ctx = Ctx::new(&headers, q);
    respond((|| {
        ctx.check_zone()?;
        let t = shared.lock();
        let i = mailbox_index(&t, param(&p, "uid"))?;
        let mbx = &t.mailboxes[i];
        let ck = calendar_key(mbx, &p)?;
        let base = match p.get("cid") {
            Some(_) => format!(
                "{}/users/{}/calendars/{}/calendarView/delta",
                shared.graph_url(),
                mbx.user.id,
                mbx.calendar_id(ck)
            ),
            None => format!(
                "{}/users/{}/calendarView/delta",
                shared.graph_url(),
                mbx.user.id
            ),
        };
        let st = match delta::resume(
            &t,
            ctx.query.get("$skiptoken"),
            ctx.query.get("$deltatoken"),
            i,
            Scope::CalendarView,
            ck,
            &base,
        )? {
            Some(s) => s,
            None => {
                if ctx.query.get("$select").is_some() || ctx.query.get("$expand").is_some() {
                    return Err(GraphError::bad_request(
                        "$select and $expand are not supported on calendarView delta.",
                    ));
                }
                let (from, to) = window(&ctx)?;
                DeltaState {
                    window: Some((from.timestamp(), to.timestamp())),
                    ..DeltaState::first(t.instance, i, Scope::CalendarView, ck, mbx.seq)
                }
            }
        };
        let (ws, we) = st.window.unwrap_or((0, 0));
        let from = DateTime::from_timestamp(ws, 0).unwrap_or_default();
        let to = DateTime::from_timestamp(we, 0).unwrap_or_default();
        let form = ctx.form();
        let opts = EventOptions {
            zone: ctx.zone,
            delta: true,
            ..Default::default()
        };
        let mut all: Vec<(Pos, Value)> = Vec::new();
        for e in mbx.pim.events.values().filter(|e| e.calendar == ck) {
            if e.change_seq > st.to_seq || (!st.initial && e.change_seq <= st.from_seq) {
                continue;
            }
            let insts = e.instances(&from, &to);
            for inst in &insts {
                all.push((
                    (e.change_seq, e.key, inst.start().timestamp(), false),
                    event_json(mbx, inst, form, &opts),
                ));
            }
            if st.initial {
                continue;
            }
            if e.recurrence.is_none() && insts.is_empty() {
                // Changed and now outside the window.
                all.push((
                    (e.change_seq, e.key, 0, true),
                    delta::removed("event", mbx.event_id(e, form)),
                ));
            }
            for d in &e.cancelled {
                if let Some(s) = e.occurrence_on(*d)
                    && s < to
                    && s >= from - (e.props.end - e.props.start)
                {
                    all.push((
                        (e.change_seq, e.key, s.timestamp(), true),
                        delta::removed("event", mbx.occurrence_id(e.key, *d, form)),
                    ));
                }
            }
        }
        for tb in delta::deleted_in_round(&mbx.pim.tombstones, &st, Kind::Event, ck) {
            let Some(e) = tb.event.as_deref() else {
                continue;
            };
            if e.recurrence.is_none() {
                all.push((
                    (tb.seq, tb.key, 0, true),
                    delta::removed("event", mbx.event_id(e, form)),
                ));
            } else {
                let until = e.zone().to_local(&to).date() + chrono::Duration::days(2);
                for (d, s) in e.occurrences(until) {
                    if s < to && s + (e.props.end - e.props.start) > from {
                        all.push((
                            (tb.seq, tb.key, s.timestamp(), true),
                            delta::removed("event", mbx.occurrence_id(e.key, d, form)),
                        ));
                    }
                }
            }
        }
        let ctxs = format!("{}/$metadata#Collection(event)", shared.graph_url());
        let size = ctx.delta_size(st.page_size);
        Ok(delta::respond(
            &t.key,
            ctxs,
            &base,
            st,
            all,
            size,
            ctx.applied(true),
        ))
    })())
}

/// beta `GET /users/{id}/calendars/{id}/events/delta` (and
/// `/calendar/events/delta`): series masters and single events, without a
/// window (optional `startDateTime`), each with only id, type, start, end.
pub(crate) async fn beta_events_delta(
    State(shared): St,
    Path(p): Params,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let ctx = Ctx::new(&headers, q);
    respond((|| {
        ctx.check_zone()?;
        let t = shared.lock();
        let i = mailbox_index(&t, param(&p, "uid"))?;
        let mbx = &t.mailboxes[i];
        let ck = calendar_key(mbx, &p)?;
        let beta = format!("{}/beta", shared.base_url);
        let base = match p.get("cid") {
            Some(_) => format!(
                "{beta}/users/{}/calendars/{}/events/delta",
                mbx.user.id,
                mbx.calendar_id(ck)
            ),
            None => format!("{beta}/users/{}/calendar/events/delta", mbx.user.id),
        };
        let st = match delta::resume(
            &t,
            ctx.query.get("$skiptoken"),
            ctx.query.get("$deltatoken"),
            i,
            Scope::Events,
            ck,
            &base,
        )? {
            Some(s) => s,
            None => {
                for o in [
                    "$select",
                    "$expand",
                    "$filter",
                    "$orderby",
                    "$search",
                    "endDateTime",
                ] {
                    if ctx.query.get(o).is_some() {
                        return Err(GraphError::bad_request(format!(
                            "The query parameter '{o}' is not supported on events delta."
                        )));
                    }
                }
                let window = match ctx.query.get("startDateTime") {
                    None => None,
                    Some(s) => {
                        let at = time::parse_query_time(s).ok_or_else(|| {
                            GraphError::new(
                                StatusCode::BAD_REQUEST,
                                "ErrorInvalidParameter",
                                format!("The value '{s}' of parameter 'StartDateTime' is invalid."),
                            )
                        })?;
                        Some((at.timestamp(), i64::MAX))
                    }
                };
                DeltaState {
                    window,
                    ..DeltaState::first(t.instance, i, Scope::Events, ck, mbx.seq)
                }
            }
        };
        let since = st.window.and_then(|(s, _)| DateTime::from_timestamp(s, 0));
        let form = ctx.form();
        let zone = ctx.zone.unwrap_or(time::UTC);
        let mut all: Vec<(Pos, Value)> = Vec::new();
        for e in mbx.pim.events.values().filter(|e| e.calendar == ck) {
            if e.change_seq > st.to_seq || (!st.initial && e.change_seq <= st.from_seq) {
                continue;
            }
            let relevant = match (since, &e.recurrence) {
                (None, _) => true,
                (Some(s), None) => e.props.end > s,
                (Some(s), Some(r)) => r
                    .last_date()
                    .is_none_or(|d| d >= e.zone().to_local(&s).date()),
            };
            if relevant {
                all.push((
                    (e.change_seq, e.key, 0, false),
                    event_delta_stub(mbx, e, form, &zone),
                ));
            }
        }
        for tb in delta::deleted_in_round(&mbx.pim.tombstones, &st, Kind::Event, ck) {
            all.push((
                (tb.seq, tb.key, 0, true),
                delta::removed("event", mbx.item_id(tb.key, ck, form)),
            ));
        }
        let ctxs = format!("{beta}/$metadata#Collection(event)");
        let size = ctx.delta_size(st.page_size);
        Ok(delta::respond(
            &t.key,
            ctxs,
            &base,
            st,
            all,
            size,
            ctx.applied(true),
        ))
    })())
}

// ---------------------------------------------------------------- write

const SENSITIVITY: &[&str] = &["normal", "personal", "private", "confidential"];
const SHOW_AS: &[&str] = &[
    "free",
    "tentative",
    "busy",
    "oof",
    "workingElsewhere",
    "unknown",
];
const ATTENDEE_TYPES: &[&str] = &["required", "optional", "resource"];
const RESPONSES: &[&str] = &[
    "none",
    "organizer",
    "tentativelyAccepted",
    "accepted",
    "declined",
    "notResponded",
];

fn member(v: &Value, name: &str, list: &[&str]) -> Result<String, GraphError> {
    let s = v.as_str().unwrap_or("");
    list.iter()
        .find(|m| m.eq_ignore_ascii_case(s))
        .map(|m| m.to_string())
        .ok_or_else(|| invalid_value(name, "event"))
}

fn email(v: &Value, name: &str) -> Result<EmailAddress, GraphError> {
    let e = v
        .get("emailAddress")
        .and_then(Value::as_object)
        .ok_or_else(|| invalid_value(name, "event"))?;
    let address = e
        .get("address")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let nm = e
        .get("name")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| address.clone());
    Ok(EmailAddress::new(nm, address))
}

fn parse_recurrence(v: &Value, default_tz: &'static str) -> Result<Recurrence, GraphError> {
    let bad = |what: &str| {
        GraphError::new(
            StatusCode::BAD_REQUEST,
            "ErrorInvalidRecurrence",
            format!("The recurrence is invalid: {what}."),
        )
    };
    let pat = v
        .get("pattern")
        .and_then(Value::as_object)
        .ok_or_else(|| bad("pattern is required"))?;
    let range = v
        .get("range")
        .and_then(Value::as_object)
        .ok_or_else(|| bad("range is required"))?;
    let pattern = pat
        .get("type")
        .and_then(Value::as_str)
        .and_then(PatternType::parse)
        .ok_or_else(|| bad("pattern.type"))?;
    let int =
        |o: &Map<String, Value>, k: &str| o.get(k).and_then(Value::as_u64).unwrap_or(0) as u32;
    let days_of_week = match pat.get("daysOfWeek") {
        Some(Value::Array(a)) => a
            .iter()
            .map(|d| {
                d.as_str()
                    .and_then(time::parse_weekday)
                    .ok_or_else(|| bad("daysOfWeek"))
            })
            .collect::<Result<Vec<_>, _>>()?,
        _ => Vec::new(),
    };
    let index = match pat.get("index").and_then(Value::as_str) {
        None => 0,
        Some(s) => time::WEEK_INDEX
            .iter()
            .position(|x| x.eq_ignore_ascii_case(s))
            .ok_or_else(|| bad("pattern.index"))? as u8,
    };
    let first_day_of_week = pat
        .get("firstDayOfWeek")
        .and_then(Value::as_str)
        .map(|s| time::parse_weekday(s).ok_or_else(|| bad("firstDayOfWeek")))
        .transpose()?
        .unwrap_or(chrono::Weekday::Sun);
    let range_type = range
        .get("type")
        .and_then(Value::as_str)
        .and_then(RangeType::parse)
        .ok_or_else(|| bad("range.type"))?;
    let date = |k: &str| -> Option<NaiveDate> {
        range
            .get(k)
            .and_then(Value::as_str)
            .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
    };
    let start_date = date("startDate").ok_or_else(|| bad("range.startDate"))?;
    let end_date = date("endDate").filter(|d| d.year() > 1);
    let count = int(range, "numberOfOccurrences");
    if range_type == RangeType::EndDate && end_date.is_none_or(|d| d < start_date) {
        return Err(bad("range.endDate"));
    }
    if range_type == RangeType::Numbered && count == 0 {
        return Err(bad("range.numberOfOccurrences"));
    }
    let needs_days = matches!(
        pattern,
        PatternType::Weekly | PatternType::RelativeMonthly | PatternType::RelativeYearly
    );
    if needs_days && days_of_week.is_empty() {
        return Err(bad("pattern.daysOfWeek"));
    }
    let day_of_month = int(pat, "dayOfMonth");
    if matches!(
        pattern,
        PatternType::AbsoluteMonthly | PatternType::AbsoluteYearly
    ) && !(1..=31).contains(&day_of_month)
    {
        return Err(bad("pattern.dayOfMonth"));
    }
    let month = int(pat, "month");
    if matches!(
        pattern,
        PatternType::AbsoluteYearly | PatternType::RelativeYearly
    ) && !(1..=12).contains(&month)
    {
        return Err(bad("pattern.month"));
    }
    let tz = match range.get("recurrenceTimeZone").and_then(Value::as_str) {
        None | Some("") => default_tz,
        Some(z) => time::zone(z).ok_or_else(|| super::pim::zone_error(z))?.name,
    };
    Ok(Recurrence {
        pattern,
        interval: int(pat, "interval").max(1),
        days_of_week,
        day_of_month,
        month,
        index,
        first_day_of_week,
        range: range_type,
        start_date,
        end_date: if range_type == RangeType::EndDate {
            end_date
        } else {
            None
        },
        count,
        time_zone: tz,
    })
}

/// What an event create/update body asked for, beyond the properties.
#[derive(Default)]
struct Applied {
    /// Subject, body, time, location, attendees or recurrence changed:
    /// Exchange sends an update to the attendees of an organizer's meeting.
    meeting_change: bool,
    recurrence: Option<Option<Value>>,
    organizer: Option<EmailAddress>,
    response: Option<String>,
    extended: Vec<(String, String)>,
    attachments: Vec<Value>,
}

const READ_ONLY: &[&str] = &[
    "id",
    "changeKey",
    "createdDateTime",
    "lastModifiedDateTime",
    "iCalUId",
    "uid",
    "type",
    "seriesMasterId",
    "webLink",
    "hasAttachments",
    "bodyPreview",
    "isOrganizer",
    "originalStartTimeZone",
    "originalEndTimeZone",
    "originalStart",
    "onlineMeetingUrl",
    "onlineMeeting",
    "isDraft",
    "cancelledOccurrences",
    "exceptionOccurrences",
    "isCancelled",
    "transactionId",
    "onlineMeetingProvider",
    "calendar",
    "occurrenceId",
];

fn apply_event(
    p: &mut EventProps,
    input: &Map<String, Value>,
    create: bool,
) -> Result<Applied, GraphError> {
    let mut a = Applied::default();
    let e = "event";
    for (k, v) in input {
        if k.starts_with('@') || READ_ONLY.contains(&k.as_str()) {
            continue;
        }
        match k.as_str() {
            "subject" => {
                p.subject = string_or_null(v, k, e)?.unwrap_or_default();
                a.meeting_change = true;
            }
            "body" => {
                let o = v.as_object().ok_or_else(|| invalid_value(k, e))?;
                if let Some(ct) = o.get("contentType").and_then(Value::as_str) {
                    p.body_type = BodyType::parse(ct).ok_or_else(|| invalid_value(k, e))?;
                }
                p.body = o
                    .get("content")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                a.meeting_change = true;
            }
            "start" => {
                let (t, z) = date_time_tz(v, k, e)?;
                p.start = t;
                p.start_tz = z;
                a.meeting_change = true;
            }
            "end" => {
                let (t, z) = date_time_tz(v, k, e)?;
                p.end = t;
                p.end_tz = z;
                a.meeting_change = true;
            }
            "isAllDay" => {
                p.is_all_day = bool_value(v, k, e)?;
                a.meeting_change = true;
            }
            "location" => {
                p.location = match v {
                    Value::Null => None,
                    Value::Object(o) => o
                        .get("displayName")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                        .filter(|s| !s.is_empty()),
                    _ => return Err(invalid_value(k, e)),
                };
                a.meeting_change = true;
            }
            "locations" => {
                if !input.contains_key("location")
                    && let Some(first) = v.as_array().and_then(|l| l.first())
                {
                    p.location = first
                        .get("displayName")
                        .and_then(Value::as_str)
                        .map(str::to_string);
                    a.meeting_change = true;
                }
            }
            "attendees" => {
                let list = match v {
                    Value::Null => Vec::new(),
                    Value::Array(l) => l.clone(),
                    _ => return Err(invalid_value(k, e)),
                };
                let mut out = Vec::new();
                for x in &list {
                    let kind = match x.get("type") {
                        None | Some(Value::Null) => "required".to_string(),
                        Some(t) => member(t, "attendees.type", ATTENDEE_TYPES)?,
                    };
                    let response = match x.get("status").and_then(|s| s.get("response")) {
                        None | Some(Value::Null) => "none".to_string(),
                        Some(r) => member(r, "attendees.status", RESPONSES)?,
                    };
                    out.push(Attendee {
                        email: email(x, k)?,
                        kind,
                        response,
                    });
                }
                p.attendees = out;
                a.meeting_change = true;
            }
            "organizer" => a.organizer = Some(email(v, k)?),
            "responseStatus" => {
                if let Some(r) = v.get("response").filter(|r| !r.is_null()) {
                    a.response = Some(member(r, k, RESPONSES)?);
                }
            }
            "importance" => {
                p.importance = v
                    .as_str()
                    .and_then(Importance::parse)
                    .ok_or_else(|| invalid_value(k, e))?
            }
            "sensitivity" => p.sensitivity = member(v, k, SENSITIVITY)?,
            "showAs" => p.show_as = member(v, k, SHOW_AS)?,
            "categories" => p.categories = string_list(v, k, e)?,
            "isReminderOn" => p.is_reminder_on = bool_value(v, k, e)?,
            "reminderMinutesBeforeStart" => {
                p.reminder_minutes = v.as_i64().ok_or_else(|| invalid_value(k, e))?
            }
            "responseRequested" => p.response_requested = bool_value(v, k, e)?,
            "allowNewTimeProposals" => p.allow_new_time_proposals = bool_value(v, k, e)?,
            "hideAttendees" => p.hide_attendees = bool_value(v, k, e)?,
            "isOnlineMeeting" => p.is_online_meeting = bool_value(v, k, e)?,
            "recurrence" => {
                a.recurrence = Some(if v.is_null() { None } else { Some(v.clone()) });
                a.meeting_change = true;
            }
            "singleValueExtendedProperties" if create => a.extended = extended_props(v)?,
            "attachments" if create => {
                a.attachments = v.as_array().cloned().ok_or_else(|| invalid_value(k, e))?
            }
            _ => return Err(unknown_property(k, e)),
        }
    }
    if p.end < p.start {
        return Err(GraphError::new(
            StatusCode::BAD_REQUEST,
            "ErrorInvalidRequest",
            "Your request can't be completed. The end time of the event must be after the start time.",
        ));
    }
    Ok(a)
}

fn attachment_from_json(v: &Value, key: u32, now: DateTime<Utc>) -> Result<Attachment, GraphError> {
    let ty = v.get("@odata.type").and_then(Value::as_str).unwrap_or("");
    if !ty
        .trim_start_matches('#')
        .eq_ignore_ascii_case("microsoft.graph.fileAttachment")
    {
        return Err(GraphError::bad_request(
            "The attachment must specify '@odata.type': '#microsoft.graph.fileAttachment'.",
        ));
    }
    let name = v
        .get("name")
        .and_then(Value::as_str)
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| GraphError::invalid_request("The attachment's name is required."))?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(
            v.get("contentBytes")
                .and_then(Value::as_str)
                .unwrap_or("")
                .trim(),
        )
        .map_err(|_| {
            GraphError::bad_request("The attachment's contentBytes is not valid base64.")
        })?;
    Ok(Attachment {
        key,
        name: name.to_string(),
        content_type: v
            .get("contentType")
            .and_then(Value::as_str)
            .unwrap_or("application/octet-stream")
            .to_string(),
        bytes: bytes.into(),
        is_inline: v.get("isInline").and_then(Value::as_bool).unwrap_or(false),
        content_id: v
            .get("contentId")
            .and_then(Value::as_str)
            .map(str::to_string),
        last_modified: now,
    })
}

/// Records what Exchange would have sent.
fn send(
    mbx: &mut Mailbox,
    kind: &str,
    e: &Event,
    to: Vec<String>,
    now: DateTime<Utc>,
    cause: &str,
) {
    if to.is_empty() {
        return;
    }
    let m = MeetingMessage {
        kind: kind.to_string(),
        mailbox: mbx.user.id.clone(),
        event_id: mbx.event_id(e, IdForm::Immutable),
        subject: e.props.subject.clone(),
        to,
        time: crate::json::ts(&now),
        cause: cause.to_string(),
    };
    tracing::info!(kind, event = %m.event_id, "meeting message recorded (not sent)");
    mbx.pim.outbox.push(m);
}

fn addresses(p: &EventProps) -> Vec<String> {
    p.attendees
        .iter()
        .map(|a| a.email.address.clone())
        .collect()
}

fn cause(method: &Method, uri: &Uri) -> String {
    format!("{method} {}", super::percent_decode(uri.path()))
}

/// Default properties of a new event of `owner`.
pub(crate) fn new_event_props(owner: &EmailAddress, now: DateTime<Utc>) -> EventProps {
    EventProps {
        subject: String::new(),
        body_type: BodyType::Html,
        body: String::new(),
        start: now,
        end: now,
        start_tz: "UTC",
        end_tz: "UTC",
        is_all_day: false,
        location: None,
        attendees: Vec::new(),
        organizer: owner.clone(),
        is_organizer: true,
        importance: Importance::Normal,
        sensitivity: "normal".into(),
        show_as: "busy".into(),
        categories: Vec::new(),
        is_reminder_on: true,
        reminder_minutes: 15,
        response_requested: true,
        allow_new_time_proposals: true,
        hide_attendees: false,
        is_online_meeting: false,
        is_cancelled: false,
        response: "organizer".into(),
    }
}

pub(crate) async fn create_event(
    State(shared): St,
    Path(p): Params,
    headers: HeaderMap,
    method: Method,
    uri: Uri,
    body: Body,
) -> Response {
    let ctx = Ctx::new(&headers, None);
    respond(
        async {
            ctx.check_zone()?;
            let input = json_object(body).await?;
            for k in ["start", "end"] {
                if input.get(k).is_none_or(Value::is_null) {
                    return Err(GraphError::new(
                        StatusCode::BAD_REQUEST,
                        "ErrorInvalidRequest",
                        format!("The event's '{k}' is required."),
                    ));
                }
            }
            let mut t = shared.lock();
            let now = t.now();
            let i = mailbox_index(&t, param(&p, "uid"))?;
            let mbx = &mut t.mailboxes[i];
            let ck = calendar_key(mbx, &p)?;
            let owner = EmailAddress::new(mbx.user.display_name.clone(), mbx.user.mail.clone());
            let mut props = new_event_props(&owner, now);
            let a = apply_event(&mut props, &input, true)?;
            let recurrence = match &a.recurrence {
                Some(Some(r)) => Some(parse_recurrence(r, props.start_tz)?),
                _ => None,
            };
            // An attendee's copy (asfReceived) is not organized by the owner.
            let received = a.extended.iter().any(|(id, v)| {
                same_ext_id(id, APPOINTMENT_STATE_FLAGS)
                    && v.trim().parse::<u32>().is_ok_and(|f| f & 0x2 != 0)
            });
            if received {
                props.is_organizer = false;
                props.organizer = a.organizer.clone().unwrap_or(owner);
                props.response = a.response.clone().unwrap_or_else(|| "notResponded".into());
            }
            let attachments = a
                .attachments
                .iter()
                .enumerate()
                .map(|(n, v)| attachment_from_json(v, n as u32 + 1, now))
                .collect::<Result<Vec<_>, _>>()?;
            let e = Event {
                key: 0,
                calendar: ck,
                change_seq: 0,
                created: now,
                last_modified: now,
                props,
                recurrence,
                exceptions: BTreeMap::new(),
                cancelled: BTreeSet::new(),
                attachments,
                extended: a.extended.into_iter().collect(),
                ical_uid: String::new(),
            };
            mbx.check_quota(crate::quota::event_size(&e))?;
            let k = mbx.insert_event(e, now);
            let e = mbx.pim.events[&k].clone();
            if e.props.is_organizer && e.has_attendees() {
                send(
                    mbx,
                    "request",
                    &e,
                    addresses(&e.props),
                    now,
                    &cause(&method, &uri),
                );
            }
            let opts = EventOptions {
                zone: ctx.zone,
                ..Default::default()
            };
            let inst = Instance {
                event: &e,
                occurrence: None,
                exception: None,
            };
            let v = crate::routes::with_context(
                context(&shared, mbx, "events/$entity"),
                event_json(mbx, &inst, ctx.form(), &opts),
            );
            Ok(ok_json(StatusCode::CREATED, v, &ctx.applied(false)))
        }
        .await,
    )
}

pub(crate) async fn update_event(
    State(shared): St,
    Path(p): Params,
    headers: HeaderMap,
    method: Method,
    uri: Uri,
    body: Body,
) -> Response {
    let ctx = Ctx::new(&headers, None);
    respond(
        async {
            ctx.check_zone()?;
            let input = json_object(body).await?;
            let mut t = shared.lock();
            let now = t.now();
            let i = mailbox_index(&t, param(&p, "uid"))?;
            let mbx = &mut t.mailboxes[i];
            let r = path_event(mbx, &p)?;
            let e = mbx.pim.events[&r.key].clone();
            let (changed, notify_before) = match r.occurrence {
                None => {
                    let mut props = e.props.clone();
                    let a = apply_event(&mut props, &input, false)?;
                    let recurrence = match &a.recurrence {
                        None => e.recurrence.clone(),
                        Some(None) => None,
                        Some(Some(v)) => Some(parse_recurrence(v, props.start_tz)?),
                    };
                    let reshaped = recurrence != e.recurrence
                        || props.start != e.props.start
                        || props.end != e.props.end;
                    let before = addresses(&e.props);
                    mbx.touch_event(r.key, now, |ev, _| {
                        ev.props = props;
                        ev.recurrence = recurrence;
                        if reshaped {
                            // A new pattern or time drops exceptions, as Outlook.
                            ev.exceptions.clear();
                            ev.cancelled.clear();
                        }
                    });
                    (a.meeting_change, before)
                }
                Some(d) => {
                    if input.contains_key("recurrence") {
                        return Err(GraphError::bad_request(
                            "The recurrence of an occurrence cannot be set.",
                        ));
                    }
                    let original = e.occurrence_on(d).ok_or_else(GraphError::item_not_found)?;
                    let mut props = match e.exceptions.get(&d) {
                        Some(x) => x.props.clone(),
                        None => {
                            let mut p = e.props.clone();
                            p.start = original;
                            p.end = original + (e.props.end - e.props.start);
                            p
                        }
                    };
                    let a = apply_event(&mut props, &input, false)?;
                    let before = addresses(&props);
                    mbx.touch_event(r.key, now, |ev, seq| {
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
                    });
                    (a.meeting_change, before)
                }
            };
            let e = mbx.pim.events[&r.key].clone();
            if changed && e.props.is_organizer {
                let mut to = notify_before;
                let now_to = match r.occurrence.and_then(|d| e.exceptions.get(&d)) {
                    Some(x) => addresses(&x.props),
                    None => addresses(&e.props),
                };
                for a in now_to {
                    if !to.contains(&a) {
                        to.push(a);
                    }
                }
                send(mbx, "update", &e, to, now, &cause(&method, &uri));
            }
            let inst = instance_of(&e, r)?;
            let opts = EventOptions {
                zone: ctx.zone,
                ..Default::default()
            };
            let v = event_json(mbx, &inst, ctx.form(), &opts);
            Ok(ok_json(StatusCode::OK, v, &ctx.applied(false)))
        }
        .await,
    )
}

fn remove_event(
    mbx: &mut Mailbox,
    r: EventRef,
    now: DateTime<Utc>,
    cause: &str,
) -> Result<(), GraphError> {
    let e = mbx
        .pim
        .events
        .get(&r.key)
        .cloned()
        .ok_or_else(GraphError::item_not_found)?;
    match r.occurrence {
        None => {
            mbx.delete_event(r.key);
            if e.props.is_organizer {
                send(mbx, "cancellation", &e, addresses(&e.props), now, cause);
            }
        }
        Some(d) => {
            let to = match e.exceptions.get(&d) {
                Some(x) => addresses(&x.props),
                None => addresses(&e.props),
            };
            mbx.touch_event(r.key, now, |ev, _| {
                ev.exceptions.remove(&d);
                ev.cancelled.insert(d);
            });
            if e.props.is_organizer {
                send(mbx, "cancellation", &e, to, now, cause);
            }
        }
    }
    Ok(())
}

/// `DELETE …/events/{id}`: a single event or series (all its occurrences),
/// or one occurrence (it becomes a cancelled occurrence of the series).
pub(crate) async fn delete_event(
    State(shared): St,
    Path(p): Params,
    method: Method,
    uri: Uri,
) -> Response {
    respond((|| {
        let mut t = shared.lock();
        let now = t.now();
        let i = mailbox_index(&t, param(&p, "uid"))?;
        let mbx = &mut t.mailboxes[i];
        let r = path_event(mbx, &p)?;
        remove_event(mbx, r, now, &cause(&method, &uri))?;
        Ok(StatusCode::NO_CONTENT.into_response())
    })())
}

/// `POST …/events/{id}/cancel`: the organizer cancels (Exchange sends the
/// cancellation and removes the meeting); 400 for an attendee's copy.
pub(crate) async fn cancel_event(
    State(shared): St,
    Path(p): Params,
    method: Method,
    uri: Uri,
) -> Response {
    respond((|| {
        let mut t = shared.lock();
        let now = t.now();
        let i = mailbox_index(&t, param(&p, "uid"))?;
        let mbx = &mut t.mailboxes[i];
        let r = path_event(mbx, &p)?;
        if !mbx.pim.events[&r.key].props.is_organizer {
            return Err(GraphError::new(
                StatusCode::BAD_REQUEST,
                "ErrorAccessDenied",
                "Your request can't be completed. You need to be an organizer to cancel a meeting.",
            ));
        }
        remove_event(mbx, r, now, &cause(&method, &uri))?;
        Ok(StatusCode::ACCEPTED.into_response())
    })())
}

// ---------------------------------------------------------------- attachments

fn find_attachment<'a>(
    mbx: &'a Mailbox,
    p: &BTreeMap<String, String>,
) -> Result<(&'a Event, &'a Attachment), GraphError> {
    let r = path_event(mbx, p)?;
    let e = &mbx.pim.events[&r.key];
    let aid = param(p, "aid");
    let ak = match ids::decode(aid) {
        None => return Err(GraphError::malformed_id()),
        Some((
            g,
            IdRef::Attachment {
                message,
                attachment,
                ..
            },
        )) if &g == mbx.guid() && message == e.key => attachment,
        Some(_) => return Err(GraphError::item_not_found()),
    };
    let a = e
        .attachments
        .iter()
        .find(|a| a.key == ak)
        .ok_or_else(GraphError::item_not_found)?;
    Ok((e, a))
}

pub(crate) async fn list_attachments(
    State(shared): St,
    Path(p): Params,
    headers: HeaderMap,
) -> Response {
    let ctx = Ctx::new(&headers, None);
    respond((|| {
        let t = shared.lock();
        let mbx = &t.mailboxes[mailbox_index(&t, param(&p, "uid"))?];
        let r = path_event(mbx, &p)?;
        let e = &mbx.pim.events[&r.key];
        let list: Vec<Value> = e
            .attachments
            .iter()
            .map(|a| event_attachment_json(mbx, e, a, ctx.form(), true))
            .collect();
        let id = mbx.event_id(e, ctx.form());
        let c = context(&shared, mbx, &format!("events('{id}')/attachments"));
        Ok(ok_json(
            StatusCode::OK,
            json!({"@odata.context": c, "value": list}),
            &[],
        ))
    })())
}

pub(crate) async fn get_attachment(
    State(shared): St,
    Path(p): Params,
    headers: HeaderMap,
) -> Response {
    let ctx = Ctx::new(&headers, None);
    respond((|| {
        let t = shared.lock();
        let mbx = &t.mailboxes[mailbox_index(&t, param(&p, "uid"))?];
        let (e, a) = find_attachment(mbx, &p)?;
        let id = mbx.event_id(e, ctx.form());
        let v = crate::routes::with_context(
            context(&shared, mbx, &format!("events('{id}')/attachments/$entity")),
            event_attachment_json(mbx, e, a, ctx.form(), true),
        );
        Ok(ok_json(StatusCode::OK, v, &[]))
    })())
}

pub(crate) async fn get_attachment_value(State(shared): St, Path(p): Params) -> Response {
    respond((|| {
        let t = shared.lock();
        let mbx = &t.mailboxes[mailbox_index(&t, param(&p, "uid"))?];
        let (_, a) = find_attachment(mbx, &p)?;
        let ct = HeaderValue::from_str(&a.content_type)
            .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"));
        let mut resp = (StatusCode::OK, a.bytes.data().into_owned()).into_response();
        resp.headers_mut()
            .insert(axum::http::header::CONTENT_TYPE, ct);
        Ok(resp)
    })())
}

pub(crate) async fn add_attachment(
    State(shared): St,
    Path(p): Params,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let ctx = Ctx::new(&headers, None);
    respond(
        async {
            let input = Value::Object(json_object(body).await?);
            let mut t = shared.lock();
            let now = t.now();
            let i = mailbox_index(&t, param(&p, "uid"))?;
            let mbx = &mut t.mailboxes[i];
            let r = path_event(mbx, &p)?;
            let next = mbx.pim.events[&r.key]
                .attachments
                .iter()
                .map(|a| a.key)
                .max()
                .unwrap_or(0)
                + 1;
            let a = attachment_from_json(&input, next, now)?;
            mbx.check_quota(crate::quota::attachments_size(std::slice::from_ref(&a)) as u64)?;
            mbx.touch_event(r.key, now, |e, _| e.attachments.push(a));
            let e = &mbx.pim.events[&r.key];
            let a = e
                .attachments
                .iter()
                .find(|a| a.key == next)
                .ok_or_else(GraphError::item_not_found)?;
            let v = event_attachment_json(mbx, e, a, ctx.form(), false);
            Ok(ok_json(StatusCode::CREATED, v, &[]))
        }
        .await,
    )
}

pub(crate) async fn delete_attachment(State(shared): St, Path(p): Params) -> Response {
    respond((|| {
        let mut t = shared.lock();
        let now = t.now();
        let i = mailbox_index(&t, param(&p, "uid"))?;
        let mbx = &mut t.mailboxes[i];
        let (e, a) = find_attachment(mbx, &p)?;
        let (ek, ak) = (e.key, a.key);
        mbx.touch_event(ek, now, |e, _| e.attachments.retain(|a| a.key != ak));
        Ok(StatusCode::NO_CONTENT.into_response())
    })())
}
