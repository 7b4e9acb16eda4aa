//! Large attachments: `POST …/messages/{id}/attachments/createUploadSession`
//! (and `…/events/{id}/attachments/createUploadSession`)
//! (3 MB to 150 MB, `attachmentType: file`) answers a pre-authenticated
//! `uploadUrl` shaped like Outlook's
//! (`{base}/api/v2.0/Users('{uid}@{tid}')/Messages('{mid}')/AttachmentSessions('{sid}')?authtoken=…`);
//! `PUT` ranges to it in order with `Content-Range: bytes a-b/total` and
//! no `Authorization` header; the last one answers 201 with `Location:` the
//! new attachment; `DELETE` cancels. Each range counts against the app's
//! upload bytes for the mailbox.

// Checks answer errors as ready responses (`Err(Response)`).
#![allow(clippy::result_large_err)]

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{post, put};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::{St, graph_json};
use crate::Shared;
use crate::error::GraphError;
use crate::ids::IdForm;
use crate::model::Attachment;
use crate::store::Lookup;

/// Smallest attachment an upload session takes (Exchange: 3 MB).
pub(crate) const MIN_SIZE: u64 = 3 * 1024 * 1024;
/// Largest attachment (Exchange Online's maximum message size).
pub(crate) const MAX_SIZE: u64 = 150 * 1024 * 1024;
/// Upload URLs stay valid this long (Exchange: about 6 hours... 15 min shown in docs).
const SESSION_LIFETIME_SECS: i64 = 6 * 3600;

/// What the attachment goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    /// A message, by key (it may move while uploading).
    Message(u64),
    /// An event (series master or single), by key.
    Event(u64),
}

impl Target {
    fn segment(self) -> &'static str {
        match self {
            Target::Message(_) => "Messages",
            Target::Event(_) => "Events",
        }
    }
}

pub(crate) struct Session {
    authtoken: String,
    app_id: String,
    user_id: String,
    target: Target,
    /// The item id as the client sent it (for URLs).
    message_ref: String,
    name: String,
    content_type: String,
    is_inline: bool,
    content_id: Option<String>,
    size: u64,
    received: Vec<u8>,
    expires: DateTime<Utc>,
}

/// Open upload sessions by session id.
#[derive(Default)]
pub(crate) struct Uploads(Mutex<HashMap<String, Session>>);

impl Uploads {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Routes behind the bearer check (added to the `/v1.0` router).
pub(crate) fn graph_routes() -> Router<Arc<Shared>> {
    Router::new()
        .route(
            "/v1.0/users/{uid}/messages/{mid}/attachments/createUploadSession",
            post(create_session),
        )
        .route(
            "/v1.0/users/{uid}/mailFolders/{fid}/messages/{mid}/attachments/createUploadSession",
            post(create_session),
        )
        .route(
            "/v1.0/users/{uid}/events/{eid}/attachments/createUploadSession",
            post(create_session),
        )
        .route(
            "/v1.0/users/{uid}/calendars/{cid}/events/{eid}/attachments/createUploadSession",
            post(create_session),
        )
}

/// The pre-authenticated upload URL (no bearer check).
pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new().route(
        "/api/v2.0/{*rest}",
        put(put_range).delete(cancel).post(put_range),
    )
}

fn lookup(l: Lookup) -> GraphError {
    match l {
        Lookup::Malformed => GraphError::malformed_id(),
        Lookup::NotFound => GraphError::item_not_found(),
    }
}

/// `POST …/attachments/createUploadSession`.
async fn create_session(
    State(shared): St,
    Path(p): Path<BTreeMap<String, String>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match create_inner(&shared, &p, &headers, body).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn create_inner(
    shared: &Shared,
    p: &BTreeMap<String, String>,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, GraphError> {
    let bytes = super::read_body(body).await?;
    let v: Value = serde_json::from_slice(&bytes).map_err(|_| GraphError::malformed_json())?;
    // Graph accepts the parameter name in any case.
    let item = v
        .as_object()
        .and_then(|o| {
            o.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("AttachmentItem"))
        })
        .map(|(_, v)| v.clone())
        .ok_or_else(|| GraphError::bad_request("The parameter 'AttachmentItem' is missing."))?;
    let s = |k: &str| item.get(k).and_then(Value::as_str).map(str::to_string);
    if !s("attachmentType").is_some_and(|t| t.eq_ignore_ascii_case("file")) {
        return Err(GraphError::bad_request(
            "Upload sessions take attachmentType 'file' only.",
        ));
    }
    let name = s("name")
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| GraphError::invalid_request("The attachment's name is required."))?;
    let size = item
        .get("size")
        .and_then(Value::as_u64)
        .ok_or_else(|| GraphError::invalid_request("The attachment's size is required."))?;
    if size < MIN_SIZE {
        return Err(GraphError::new(
            StatusCode::BAD_REQUEST,
            "ErrorAttachmentSizeShouldNotBeLessThanMinimumSize",
            "Attachment size must be greater than the minimum size.",
        ));
    }
    if size > MAX_SIZE {
        return Err(GraphError::new(
            StatusCode::BAD_REQUEST,
            "ErrorMessageSizeExceeded",
            "The message exceeds the maximum supported size.",
        ));
    }
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let app_id = super::auth::check(shared, auth)
        .map(|c| c.app_id)
        .unwrap_or_default();
    let uid = super::percent_decode(p.get("uid").map(String::as_str).unwrap_or(""));
    let mid = p
        .get("mid")
        .or_else(|| p.get("eid"))
        .cloned()
        .unwrap_or_default();
    let (user_id, tenant_id, target, now) = {
        let t = shared.lock();
        let i = t
            .mailbox_index(&uid)
            .ok_or_else(|| GraphError::invalid_user(&uid))?;
        let mbx = &t.mailboxes[i];
        let target = if p.contains_key("eid") {
            let r = mbx.event_ref(&mid).map_err(lookup)?;
            if let Some(c) = p.get("cid") {
                let ck = mbx.calendar_key(c).map_err(lookup)?;
                if mbx.pim.events.get(&r.key).is_none_or(|e| e.calendar != ck) {
                    return Err(GraphError::item_not_found());
                }
            }
            if r.occurrence.is_some() {
                return Err(GraphError::invalid_request(
                    "Attach files to the series master or to a single event, not to an occurrence.",
                ));
            }
            Target::Event(r.key)
        } else {
            Target::Message(mbx.message_key(&mid).map_err(lookup)?)
        };
        mbx.check_quota(attachment_bytes(size, &name))?;
        (mbx.user.id.clone(), t.tenant_id.clone(), target, t.now())
    };
    let sid = super::auth::opaque_token("AAMkA", 40);
    let authtoken = super::auth::opaque_token("eyJ0eXAiOiJKV1Qi", 160);
    let expires = now + chrono::Duration::seconds(SESSION_LIFETIME_SECS);
    let upload_url = format!(
        "{}/api/v2.0/Users('{user_id}@{tenant_id}')/{}('{mid}')/AttachmentSessions('{sid}')?authtoken={authtoken}",
        shared.base_url,
        target.segment()
    );
    shared.proto.uploads.lock().insert(
        sid,
        Session {
            authtoken,
            app_id,
            user_id,
            target,
            message_ref: mid,
            name,
            content_type: s("contentType").unwrap_or_else(|| "application/octet-stream".into()),
            is_inline: item
                .get("isInline")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            content_id: s("contentId"),
            size,
            received: Vec::new(),
            expires,
        },
    );
    Ok(graph_json(
        StatusCode::CREATED,
        json!({
            "@odata.context": format!("{}/$metadata#microsoft.graph.uploadSession", shared.graph_url()),
            "uploadUrl": upload_url,
            "expirationDateTime": crate::json::ts(&expires),
            "nextExpectedRanges": ["0-"],
        }),
    ))
}

/// What an attachment of `size` bytes named `name` adds to its mailbox
/// (as [`crate::quota::attachments_size`] counts it).
fn attachment_bytes(size: u64, name: &str) -> u64 {
    size + name.len() as u64 + 64
}

/// `AttachmentSessions('{sid}')` out of the URL path.
fn session_id(rest: &str) -> Option<String> {
    let decoded = super::percent_decode(rest);
    let start = decoded.find("AttachmentSessions('")? + "AttachmentSessions('".len();
    let end = decoded[start..].find("')")? + start;
    Some(decoded[start..end].to_string())
}

fn authtoken(query: Option<&str>) -> Option<String> {
    url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .find(|(k, _)| k == "authtoken")
        .map(|(_, v)| v.into_owned())
}

fn range_error(status: StatusCode, message: impl Into<String>) -> Response {
    GraphError::new(status, "InvalidRange", message).into_response()
}

/// Checks the URL's session and token; the session id.
fn authorised(
    shared: &Shared,
    rest: &str,
    query: Option<&str>,
    headers: &HeaderMap,
) -> Result<String, Response> {
    if headers.contains_key(header::AUTHORIZATION) {
        return Err(GraphError::unauthenticated(
            "The upload URL is pre-authenticated: send no Authorization header.",
        )
        .into_response());
    }
    let sid = session_id(rest).ok_or_else(|| {
        GraphError::bad_request("Resource not found for the segment 'AttachmentSessions'.")
            .into_response()
    })?;
    let token = authtoken(query);
    let now = shared.lock().now();
    let uploads = shared.proto.uploads.lock();
    let Some(s) = uploads.get(&sid) else {
        return Err(GraphError::item_not_found().into_response());
    };
    if token.as_deref() != Some(s.authtoken.as_str()) {
        return Err(GraphError::unauthenticated("Invalid authtoken.").into_response());
    }
    if s.expires <= now {
        return Err(GraphError::unauthenticated(
            "The upload session has expired: create a new one.",
        )
        .into_response());
    }
    Ok(sid)
}

/// `bytes {start}-{end}/{total}`
fn parse_range(v: &str) -> Option<(u64, u64, u64)> {
    let r = v.trim().strip_prefix("bytes")?.trim();
    let (span, total) = r.split_once('/')?;
    let (a, b) = span.split_once('-')?;
    Some((
        a.trim().parse().ok()?,
        b.trim().parse().ok()?,
        total.trim().parse().ok()?,
    ))
}

/// `PUT {uploadUrl}`: one range.
async fn put_range(
    State(shared): St,
    Path(rest): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let sid = match authorised(&shared, &rest, query.as_deref(), &headers) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let Some(range) = headers
        .get(header::CONTENT_RANGE)
        .and_then(|v| v.to_str().ok())
    else {
        return range_error(
            StatusCode::BAD_REQUEST,
            "The Content-Range header is required.",
        );
    };
    let Some((start, end, total)) = parse_range(range) else {
        return range_error(
            StatusCode::BAD_REQUEST,
            format!("The Content-Range header '{range}' is not 'bytes start-end/total'."),
        );
    };
    let bytes = match super::read_body(body).await {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    let (app_id, user_id, last) = {
        let uploads = shared.proto.uploads.lock();
        let Some(s) = uploads.get(&sid) else {
            return GraphError::item_not_found().into_response();
        };
        let next = s.received.len() as u64;
        if total != s.size {
            return range_error(
                StatusCode::BAD_REQUEST,
                format!(
                    "The total length {total} differs from the session's size {}.",
                    s.size
                ),
            );
        }
        if end < start || end >= total {
            return range_error(
                StatusCode::BAD_REQUEST,
                format!("The range {start}-{end} is not within 0-{}.", total - 1),
            );
        }
        if end - start + 1 != bytes.len() as u64 {
            return range_error(
                StatusCode::BAD_REQUEST,
                format!(
                    "The range {start}-{end} announces {} bytes but the body has {}.",
                    end - start + 1,
                    bytes.len()
                ),
            );
        }
        if start != next {
            let mut resp = range_error(
                StatusCode::RANGE_NOT_SATISFIABLE,
                format!("The range must start at {next}: upload bytes in order."),
            );
            if let Ok(v) = format!("bytes */{total}").parse() {
                resp.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            return resp;
        }
        // The last range: refused (the session kept, so the client can
        // free space and send it again) when the attachment would take the
        // mailbox over its quota.
        let last = (end + 1 == total).then(|| attachment_bytes(s.size, &s.name));
        (s.app_id.clone(), s.user_id.clone(), last)
    };
    if let Some(adding) = last {
        let t = shared.lock();
        if let Some(i) = t.mailbox_index(&user_id)
            && let Err(e) = t.mailboxes[i].check_quota(adding)
        {
            return e.into_response();
        }
    }
    let slot = match shared
        .proto
        .throttle
        .admit(&app_id, &user_id, bytes.len() as u64)
    {
        Ok(slot) => slot,
        Err(t) => return GraphError::throttled(t.retry_after, t.limit).into_response(),
    };
    let done = {
        let mut uploads = shared.proto.uploads.lock();
        let Some(s) = uploads.get_mut(&sid) else {
            return GraphError::item_not_found().into_response();
        };
        if s.received.len() as u64 != start {
            return range_error(
                StatusCode::RANGE_NOT_SATISFIABLE,
                "Another range arrived first.",
            );
        }
        s.received.extend_from_slice(&bytes);
        if s.received.len() as u64 == s.size {
            uploads.remove(&sid)
        } else {
            let body = json!({
                "@odata.context": format!("{}/api/v2.0/$metadata#Users('{}')/{}('{}')/AttachmentSessions/$entity", shared.base_url, s.user_id, s.target.segment(), s.message_ref),
                "ExpirationDateTime": crate::json::ts(&s.expires),
                "nextExpectedRanges": [s.received.len().to_string()],
            });
            drop(slot);
            return graph_json(StatusCode::OK, body);
        }
    };
    drop(slot);
    let Some(s) = done else {
        return GraphError::item_not_found().into_response();
    };
    finish(&shared, s)
}

/// The last range arrived: the attachment joins the message or event.
fn finish(shared: &Shared, s: Session) -> Response {
    let mut t = shared.lock();
    let now = t.now();
    let tenant_id = t.tenant_id.clone();
    let Some(i) = t.mailbox_index(&s.user_id) else {
        return GraphError::item_not_found().into_response();
    };
    let mbx = &mut t.mailboxes[i];
    let existing = match s.target {
        Target::Message(k) => mbx.messages.get(&k).map(|m| &m.props.attachments),
        Target::Event(k) => mbx.pim.events.get(&k).map(|e| &e.attachments),
    };
    let Some(existing) = existing else {
        return GraphError::item_not_found().into_response();
    };
    let key = existing.iter().map(|a| a.key).max().unwrap_or(0) + 1;
    let att = Attachment {
        key,
        name: s.name,
        content_type: s.content_type,
        bytes: s.received.into(),
        is_inline: s.is_inline,
        content_id: s.content_id,
        last_modified: now,
    };
    if let Err(e) =
        mbx.check_quota(crate::quota::attachments_size(std::slice::from_ref(&att)) as u64)
    {
        return e.into_response();
    }
    let aid = match s.target {
        Target::Message(k) => {
            mbx.touch(k, now, |m| m.props.attachments.push(att));
            let Some(m) = mbx.messages.get(&k) else {
                return GraphError::item_not_found().into_response();
            };
            let Some(a) = m.props.attachments.iter().find(|a| a.key == key) else {
                return GraphError::item_not_found().into_response();
            };
            mbx.attachment_id(m, a, IdForm::Regular)
        }
        Target::Event(k) => {
            mbx.touch_event(k, now, |e, _| e.attachments.push(att));
            let Some(e) = mbx.pim.events.get(&k) else {
                return GraphError::item_not_found().into_response();
            };
            crate::ids::attachment_id(mbx.guid(), IdForm::Regular, e.key, e.calendar, 0, key)
        }
    };
    let location = format!(
        "{}/api/v2.0/Users('{}@{tenant_id}')/{}('{}')/Attachments('{aid}')",
        shared.base_url,
        s.user_id,
        s.target.segment(),
        s.message_ref
    );
    let mut resp = StatusCode::CREATED.into_response();
    if let Ok(v) = location.parse() {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp.headers_mut()
        .insert(header::CONTENT_LENGTH, 0u32.into());
    resp
}

/// `DELETE {uploadUrl}`: cancels the session.
async fn cancel(
    State(shared): St,
    Path(rest): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let sid = match authorised(&shared, &rest, query.as_deref(), &headers) {
        Ok(s) => s,
        Err(r) => return r,
    };
    shared.proto.uploads.lock().remove(&sid);
    StatusCode::NO_CONTENT.into_response()
}
