//! Shared helpers of the contacts, calendar and To Do handlers, and the
//! router of their paths (v1.0 and the beta event delta).

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Map, Value, json};

use super::{calendar, contacts, graph_json, read_body, todo};
use crate::Shared;
use crate::error::GraphError;
use crate::ids::IdForm;
use crate::model::Mailbox;
use crate::odata::{Prefer, Query, encode_pairs};
use crate::pim::time::{self, Zone};
use crate::store::{Lookup, Tenant};

pub(crate) const DEFAULT_PAGE: usize = 10;
pub(crate) const MAX_PAGE: usize = 1000;

/// The Graph routes of contacts, calendars, To Do, rules and settings.
pub(crate) fn router() -> Router<Arc<Shared>> {
    let u = "/v1.0/users/{uid}";
    let r = |p: &str| format!("{u}{p}");
    Router::new()
        // contacts
        .route(
            &r("/contactFolders"),
            get(contacts::list_root_folders).post(contacts::create_root_folder),
        )
        .route(&r("/contactFolders/delta"), get(contacts::folder_delta))
        .route(
            &r("/contactFolders/{fid}"),
            get(contacts::get_folder)
                .patch(contacts::update_folder)
                .delete(contacts::delete_folder),
        )
        .route(
            &r("/contactFolders/{fid}/childFolders"),
            get(contacts::list_child_folders).post(contacts::create_child_folder),
        )
        .route(
            &r("/contactFolders/{fid}/contacts"),
            get(contacts::list).post(contacts::create),
        )
        .route(
            &r("/contactFolders/{fid}/contacts/delta"),
            get(contacts::delta),
        )
        .route(
            &r("/contactFolders/{fid}/contacts/{cid}"),
            get(contacts::get_one)
                .patch(contacts::update)
                .delete(contacts::delete),
        )
        .route(
            &r("/contactFolders/{fid}/contacts/{cid}/photo"),
            get(contacts::get_photo),
        )
        .route(
            &r("/contactFolders/{fid}/contacts/{cid}/photo/$value"),
            get(contacts::get_photo_value).put(contacts::put_photo_value),
        )
        .route(&r("/contacts"), get(contacts::list).post(contacts::create))
        .route(
            &r("/contacts/{cid}"),
            get(contacts::get_one)
                .patch(contacts::update)
                .delete(contacts::delete),
        )
        .route(&r("/contacts/{cid}/photo"), get(contacts::get_photo))
        .route(
            &r("/contacts/{cid}/photo/$value"),
            get(contacts::get_photo_value).put(contacts::put_photo_value),
        )
        // calendars and events
        .route(
            &r("/calendars"),
            get(calendar::list_calendars).post(calendar::create_calendar),
        )
        .route(&r("/calendar"), get(calendar::get_calendar))
        .route(&r("/calendars/{cid}"), get(calendar::get_calendar))
        .route(
            &r("/events"),
            get(calendar::list_events).post(calendar::create_event),
        )
        .route(
            &r("/calendar/events"),
            get(calendar::list_events).post(calendar::create_event),
        )
        .route(
            &r("/calendars/{cid}/events"),
            get(calendar::list_events).post(calendar::create_event),
        )
        .route(
            &r("/events/{eid}"),
            get(calendar::get_event)
                .patch(calendar::update_event)
                .delete(calendar::delete_event),
        )
        .route(
            &r("/calendars/{cid}/events/{eid}"),
            get(calendar::get_event)
                .patch(calendar::update_event)
                .delete(calendar::delete_event),
        )
        .route(&r("/events/{eid}/instances"), get(calendar::instances))
        .route(
            &r("/calendars/{cid}/events/{eid}/instances"),
            get(calendar::instances),
        )
        .route(
            &r("/events/{eid}/attachments"),
            get(calendar::list_attachments).post(calendar::add_attachment),
        )
        .route(
            &r("/events/{eid}/attachments/{aid}"),
            get(calendar::get_attachment).delete(calendar::delete_attachment),
        )
        .route(
            &r("/events/{eid}/attachments/{aid}/$value"),
            get(calendar::get_attachment_value),
        )
        .route(
            &r("/events/{eid}/cancel"),
            axum::routing::post(calendar::cancel_event),
        )
        .route(&r("/calendarView"), get(calendar::calendar_view))
        .route(
            &r("/calendars/{cid}/calendarView"),
            get(calendar::calendar_view),
        )
        .route(
            &r("/calendarView/delta"),
            get(calendar::calendar_view_delta),
        )
        .route(
            &r("/calendars/{cid}/calendarView/delta"),
            get(calendar::calendar_view_delta),
        )
        .route(
            "/beta/users/{uid}/calendars/{cid}/events/delta",
            get(calendar::beta_events_delta),
        )
        .route(
            "/beta/users/{uid}/calendar/events/delta",
            get(calendar::beta_events_delta),
        )
        // To Do
        .route(
            &r("/todo/lists"),
            get(todo::list_lists).post(todo::create_list),
        )
        .route(&r("/todo/lists/delta"), get(todo::lists_delta))
        .route(
            &r("/todo/lists/{lid}"),
            get(todo::get_list)
                .patch(todo::update_list)
                .delete(todo::delete_list),
        )
        .route(
            &r("/todo/lists/{lid}/tasks"),
            get(todo::list_tasks).post(todo::create_task),
        )
        .route(&r("/todo/lists/{lid}/tasks/delta"), get(todo::tasks_delta))
        .route(
            &r("/todo/lists/{lid}/tasks/{tid}"),
            get(todo::get_task)
                .patch(todo::update_task)
                .delete(todo::delete_task),
        )
        .route(
            &r("/todo/lists/{lid}/tasks/{tid}/linkedResources"),
            get(todo::list_linked).post(todo::create_linked),
        )
        // inbox rules and settings
        .route(
            &r("/mailFolders/{fid}/messageRules"),
            get(todo::list_rules).post(todo::create_rule),
        )
        .route(
            &r("/mailFolders/{fid}/messageRules/{rid}"),
            get(todo::get_rule).delete(todo::delete_rule),
        )
        .route(
            &r("/mailboxSettings"),
            get(todo::mailbox_settings).patch(super::mailbox_settings::update),
        )
        .route(&r("/mailboxSettings/{prop}"), get(todo::mailbox_setting))
        .route(&r("/settings/exchange"), get(todo::exchange_settings))
}

/// Query options and preferences of a request.
pub(crate) struct Ctx {
    pub query: Query,
    pub prefer: Prefer,
    /// `Prefer: outlook.timezone="…"`.
    pub zone: Option<Zone>,
    pub zone_name: Option<String>,
}

impl Ctx {
    pub fn new(headers: &HeaderMap, raw: Option<String>) -> Self {
        let mut zone_name = None;
        for v in headers.get_all("prefer") {
            let Ok(v) = v.to_str() else { continue };
            for item in v.split(',') {
                if let Some((k, val)) = item.trim().split_once('=')
                    && k.trim().eq_ignore_ascii_case("outlook.timezone")
                {
                    zone_name = Some(val.trim().trim_matches('"').to_string());
                }
            }
        }
        Ctx {
            query: Query::parse(raw.as_deref()),
            prefer: Prefer::from_headers(headers),
            zone: zone_name.as_deref().and_then(time::zone),
            zone_name,
        }
    }

    pub fn form(&self) -> IdForm {
        self.prefer.id_form()
    }

    /// The honoured preferences, for `Preference-Applied`.
    pub fn applied(&self, paged: bool) -> Vec<String> {
        let mut v = Vec::new();
        if paged && let Some(n) = self.prefer.max_page_size {
            v.push(format!("odata.maxpagesize={}", n.min(MAX_PAGE)));
        }
        if self.prefer.immutable_ids {
            v.push("IdType=\"ImmutableId\"".to_string());
        }
        if let (Some(z), Some(_)) = (&self.zone, &self.zone_name) {
            v.push(format!("outlook.timezone=\"{}\"", z.name));
        }
        v
    }

    /// An unsupported `outlook.timezone` is refused like Exchange does.
    pub fn check_zone(&self) -> Result<(), GraphError> {
        match (&self.zone_name, &self.zone) {
            (Some(n), None) => Err(zone_error(n)),
            _ => Ok(()),
        }
    }

    pub fn page_size(&self) -> Result<usize, GraphError> {
        let top = self.query.usize_option("$top")?;
        if top == Some(0) {
            return Err(GraphError::bad_request(
                "Invalid value '0' for query option '$top'.",
            ));
        }
        Ok(top
            .or(self.prefer.max_page_size)
            .unwrap_or(DEFAULT_PAGE)
            .clamp(1, MAX_PAGE))
    }

    /// Page size of a delta request (`odata.maxpagesize`, else the token's
    /// `$top`, else 10).
    pub fn delta_size(&self, token_top: Option<u32>) -> usize {
        self.prefer
            .max_page_size
            .or(token_top.map(|n| n as usize))
            .unwrap_or(DEFAULT_PAGE)
            .clamp(1, MAX_PAGE)
    }
}

pub(crate) fn zone_error(name: &str) -> GraphError {
    GraphError::new(
        StatusCode::BAD_REQUEST,
        "TimeZoneNotSupportedException",
        format!(
            "A valid TimeZone value must be specified. The following TimeZone value is not supported: '{name}'."
        ),
    )
}

pub(crate) fn respond(result: Result<Response, GraphError>) -> Response {
    result.unwrap_or_else(IntoResponse::into_response)
}

pub(crate) fn mailbox_index(t: &Tenant, uid: &str) -> Result<usize, GraphError> {
    t.mailbox_index(uid)
        .ok_or_else(|| GraphError::invalid_user(uid))
}

pub(crate) fn lookup_err(l: Lookup) -> GraphError {
    match l {
        Lookup::Malformed => GraphError::malformed_id(),
        Lookup::NotFound => GraphError::item_not_found(),
    }
}

/// `{base}/$metadata#users('{id}')/{rest}`
pub(crate) fn context(shared: &Shared, mbx: &Mailbox, rest: &str) -> String {
    format!(
        "{}/$metadata#users('{}')/{rest}",
        shared.graph_url(),
        mbx.user.id
    )
}

/// A collection page with a `$skip` nextLink while more remain.
pub(crate) fn paged(
    shared: &Shared,
    ctx: &Ctx,
    context: String,
    path: &str,
    all: Vec<Value>,
    top: usize,
) -> Result<Value, GraphError> {
    let skip = ctx.query.usize_option("$skip")?.unwrap_or(0);
    let total = all.len();
    let page: Vec<Value> = all.into_iter().skip(skip).take(top).collect();
    let mut out = Map::new();
    out.insert("@odata.context".into(), json!(context));
    out.insert("value".into(), Value::Array(page));
    if skip + top < total {
        let mut pairs = ctx.query.without(&["$skip"]);
        pairs.push(("$skip".into(), (skip + top).to_string()));
        out.insert(
            "@odata.nextLink".into(),
            json!(format!(
                "{}{path}?{}",
                shared.graph_url(),
                encode_pairs(&pairs)
            )),
        );
    }
    Ok(Value::Object(out))
}

pub(crate) fn ok_json(status: StatusCode, v: Value, applied: &[String]) -> Response {
    let mut resp = graph_json(status, v);
    super::preference_applied(&mut resp, applied);
    resp
}

/// The request body as a JSON object.
pub(crate) async fn json_object(body: Body) -> Result<Map<String, Value>, GraphError> {
    let bytes = read_body(body).await?;
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(GraphError::malformed_json()),
    }
}

/// Graph's answer to a property that the type does not have.
pub(crate) fn unknown_property(name: &str, entity: &str) -> GraphError {
    GraphError::bad_request(format!(
        "The property '{name}' does not exist on type 'microsoft.graph.{entity}'. Make sure to only use property names that are defined by the type or mark the type as open type."
    ))
}

pub(crate) fn invalid_value(name: &str, entity: &str) -> GraphError {
    GraphError::bad_request(format!(
        "Invalid value for property '{name}' of type 'microsoft.graph.{entity}'."
    ))
}

pub(crate) fn string_or_null(
    v: &Value,
    name: &str,
    entity: &str,
) -> Result<Option<String>, GraphError> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        _ => Err(invalid_value(name, entity)),
    }
}

pub(crate) fn bool_value(v: &Value, name: &str, entity: &str) -> Result<bool, GraphError> {
    v.as_bool().ok_or_else(|| invalid_value(name, entity))
}

pub(crate) fn string_list(v: &Value, name: &str, entity: &str) -> Result<Vec<String>, GraphError> {
    match v {
        Value::Null => Ok(Vec::new()),
        Value::Array(a) => a
            .iter()
            .map(|x| {
                x.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| invalid_value(name, entity))
            })
            .collect(),
        _ => Err(invalid_value(name, entity)),
    }
}

/// `singleValueExtendedProperties` of a create: canonical id → value.
pub(crate) fn extended_props(v: &Value) -> Result<Vec<(String, String)>, GraphError> {
    let list = v.as_array().ok_or_else(|| {
        GraphError::bad_request("singleValueExtendedProperties must be an array.")
    })?;
    let mut out = Vec::new();
    for p in list {
        let id = p.get("id").and_then(Value::as_str).unwrap_or("");
        let canonical = crate::odata::canonical_ext_id(id).ok_or_else(|| {
            GraphError::new(
                StatusCode::BAD_REQUEST,
                "ErrorInvalidExtendedProperty",
                format!("The extended property id '{id}' is not valid."),
            )
        })?;
        let value = match p.get("value") {
            Some(Value::String(s)) => s.clone(),
            None | Some(Value::Null) => String::new(),
            Some(other) => other.to_string(),
        };
        out.push((canonical, value));
    }
    Ok(out)
}

/// `dateTimeTimeZone` input → UTC instant and the zone's canonical name.
pub(crate) fn date_time_tz(
    v: &Value,
    name: &str,
    entity: &str,
) -> Result<(chrono::DateTime<chrono::Utc>, &'static str), GraphError> {
    let obj = v.as_object().ok_or_else(|| invalid_value(name, entity))?;
    let dt = obj
        .get("dateTime")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid_value(name, entity))?;
    let tz = obj.get("timeZone").and_then(Value::as_str).unwrap_or("UTC");
    let zone = time::zone(tz).ok_or_else(|| zone_error(tz))?;
    let local = time::parse_local(dt).ok_or_else(|| invalid_value(name, entity))?;
    Ok((zone.to_utc(local), zone.name))
}
