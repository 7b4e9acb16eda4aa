//! HTTP surface: the router, the outer middleware (request ids, request
//! log, case-insensitive path segments) and shared handler helpers.
//!
//! * `auth`  – `POST /{tenant}/oauth2/v2.0/token` and the bearer check
//! * `users` – `/v1.0/users`
//! * `mail`  – `/v1.0/users/{id}/mailFolders/...`, `/messages/...`
//! * `sim`   – `/_sim/...`, the unauthenticated admin API for tests

pub(crate) mod auth;
pub(crate) mod batch;
pub(crate) mod calendar;
pub(crate) mod contacts;
mod inject;
pub(crate) mod mail;
pub(crate) mod mailbox;
mod mailbox_settings;
pub(crate) mod pim;
mod signin;
pub(crate) mod sim;
mod sim_pim;
mod sim_protocol;
pub(crate) mod todo;
pub(crate) mod upload;
pub(crate) mod users;

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::Value;
use tower::Layer as _;

use crate::Shared;
use crate::admin::LoggedRequest;
use crate::error::{GRAPH_JSON, GraphError};
use crate::rng::random_guid;

/// The request log keeps at most this many entries (oldest dropped first).
pub(crate) const MAX_LOG: usize = 100_000;

/// Graph accepts request bodies up to 4 MB.
pub(crate) const MAX_BODY: usize = 4 * 1024 * 1024;

pub(crate) type St = State<Arc<Shared>>;

/// Per-request identifiers, echoed in error bodies and headers.
#[derive(Debug, Clone)]
pub(crate) struct RequestInfo {
    pub request_id: String,
    pub client_request_id: String,
    pub date: String,
}

tokio::task_local! {
    static REQUEST: RequestInfo;
}

/// The current request's ids (fresh ones outside a request).
pub(crate) fn request_info() -> RequestInfo {
    REQUEST
        .try_with(|r| r.clone())
        .unwrap_or_else(|_| RequestInfo {
            request_id: random_guid(),
            client_request_id: random_guid(),
            date: chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S").to_string(),
        })
}

/// The whole application as a router (serve it with `axum::serve`).
pub(crate) fn service(shared: Arc<Shared>) -> Router {
    let graph = Router::new()
        .route("/v1.0/me", get(users::me))
        .route(
            "/v1.0/me/{*rest}",
            get(users::me)
                .post(users::me)
                .patch(users::me)
                .delete(users::me),
        )
        .route("/v1.0/$batch", post(batch::batch))
        .route("/v1.0/users", get(users::list))
        .route("/v1.0/users/{uid}", get(users::get_one))
        .route(
            "/v1.0/users/{uid}/mailFolders",
            get(mail::list_root_folders).post(mail::create_root_folder),
        )
        .route(
            "/v1.0/users/{uid}/mailFolders/delta",
            get(mail::folder_delta),
        )
        .route("/v1.0/users/{uid}/mailFolders/{fid}", get(mail::get_folder))
        .route(
            "/v1.0/users/{uid}/mailFolders/{fid}/childFolders",
            get(mail::list_child_folders).post(mail::create_child_folder),
        )
        .route(
            "/v1.0/users/{uid}/mailFolders/{fid}/messages",
            get(mail::list_messages).post(mail::create_message),
        )
        .route(
            "/v1.0/users/{uid}/mailFolders/{fid}/messages/delta",
            get(mail::delta),
        )
        .route(
            "/v1.0/users/{uid}/mailFolders/{fid}/messages/{mid}",
            get(mail::get_message)
                .patch(mail::update_message)
                .delete(mail::delete_message),
        )
        .route(
            "/v1.0/users/{uid}/mailFolders/{fid}/messages/{mid}/$value",
            get(mail::get_mime),
        )
        .route(
            "/v1.0/users/{uid}/mailFolders/{fid}/messages/{mid}/attachments",
            get(mail::list_attachments).post(mail::add_attachment),
        )
        .route(
            "/v1.0/users/{uid}/mailFolders/{fid}/messages/{mid}/attachments/{aid}",
            get(mail::get_attachment),
        )
        .route(
            "/v1.0/users/{uid}/mailFolders/{fid}/messages/{mid}/attachments/{aid}/$value",
            get(mail::get_attachment_value),
        )
        .route(
            "/v1.0/users/{uid}/mailFolders/{fid}/messages/{mid}/move",
            post(mail::move_message),
        )
        .route(
            "/v1.0/users/{uid}/mailFolders/{fid}/messages/{mid}/permanentDelete",
            post(mail::permanent_delete_message),
        )
        .route(
            "/v1.0/users/{uid}/messages",
            get(mail::list_messages).post(mail::create_message),
        )
        .route(
            "/v1.0/users/{uid}/messages/{mid}",
            get(mail::get_message)
                .patch(mail::update_message)
                .delete(mail::delete_message),
        )
        .route(
            "/v1.0/users/{uid}/messages/{mid}/$value",
            get(mail::get_mime),
        )
        .route(
            "/v1.0/users/{uid}/messages/{mid}/attachments",
            get(mail::list_attachments).post(mail::add_attachment),
        )
        .route(
            "/v1.0/users/{uid}/messages/{mid}/attachments/{aid}",
            get(mail::get_attachment),
        )
        .route(
            "/v1.0/users/{uid}/messages/{mid}/attachments/{aid}/$value",
            get(mail::get_attachment_value),
        )
        .route(
            "/v1.0/users/{uid}/messages/{mid}/move",
            post(mail::move_message),
        )
        .route(
            "/v1.0/users/{uid}/messages/{mid}/permanentDelete",
            post(mail::permanent_delete_message),
        )
        .merge(pim::router())
        .merge(upload::graph_routes())
        .merge(mailbox::graph_routes())
        .route_layer(middleware::from_fn_with_state(
            shared.clone(),
            auth::require_token,
        ));

    let app = Router::new()
        .route("/{tenant}/oauth2/v2.0/token", post(auth::token))
        .route("/{tenant}/oauth2/v2.0/devicecode", post(auth::devicecode))
        .route(
            "/{tenant}/oauth2/v2.0/authorize",
            get(signin::authorize_page).post(signin::authorize_submit),
        )
        .route(
            "/devicelogin",
            get(signin::devicelogin_page).post(signin::devicelogin_submit),
        )
        .merge(upload::router())
        .merge(mailbox::import_routes())
        .merge(graph)
        .merge(sim::router())
        .merge(sim_pim::router())
        .merge(sim_protocol::router())
        .fallback(fallback)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::disable())
        .with_state(shared.clone());

    // The outer middleware must see the request before routing (it rewrites
    // segment case), so it wraps the router as a service.
    let outer = middleware::from_fn_with_state(shared, outer).layer(app);
    Router::new().fallback_service(outer)
}

async fn fallback(uri: Uri) -> Response {
    if uri.path().starts_with("/v1.0/") || uri.path() == "/v1.0" {
        let segment = uri.path().rsplit('/').next().unwrap_or("");
        GraphError::bad_request(format!("Resource not found for the segment '{segment}'."))
            .into_response()
    } else {
        (StatusCode::NOT_FOUND, "Not Found").into_response()
    }
}

async fn method_not_allowed() -> Response {
    GraphError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "Request_BadRequest",
        "The HTTP method is not allowed for this resource.",
    )
    .into_response()
}

/// Canonical spelling of path keywords (Graph paths are case-insensitive).
const KEYWORDS: &[&str] = &[
    "v1.0",
    "users",
    "me",
    "mailFolders",
    "childFolders",
    "messages",
    "delta",
    "attachments",
    "move",
    "permanentDelete",
    "$value",
    "oauth2",
    "v2.0",
    "token",
    "devicecode",
    "authorize",
    "$batch",
    "createUploadSession",
    "_sim",
    "beta",
    "contactFolders",
    "contacts",
    "photo",
    "calendars",
    "calendar",
    "events",
    "instances",
    "calendarView",
    "cancel",
    "todo",
    "lists",
    "tasks",
    "messageRules",
    "mailboxSettings",
    "settings",
    "exchange",
    "admin",
    "mailboxes",
    "folders",
    "items",
    "exportItems",
    "createImportSession",
];

/// Rewrites keyword segments to their canonical case and OData key syntax
/// (`mailFolders('id')`) to plain segments. `None` when nothing changes.
fn normalize_path(path: &str) -> Option<String> {
    let mut changed = false;
    let mut out: Vec<String> = Vec::new();
    for seg in path.split('/') {
        let decoded = seg.replace("%24", "$");
        // name('key') or name(key)
        if let (Some(open), true) = (decoded.find('('), decoded.ends_with(')')) {
            let name = &decoded[..open];
            if let Some(k) = KEYWORDS.iter().find(|k| k.eq_ignore_ascii_case(name)) {
                let key = decoded[open + 1..decoded.len() - 1].trim_matches('\'');
                out.push((*k).to_string());
                // `delta()`: a function call without parameters, as the
                // Kiota-generated SDKs write it, is the bare name.
                if !key.is_empty() {
                    out.push(key.to_string());
                }
                changed = true;
                continue;
            }
        }
        match KEYWORDS.iter().find(|k| k.eq_ignore_ascii_case(&decoded)) {
            Some(k) if *k != seg => {
                out.push((*k).to_string());
                changed = true;
            }
            _ => out.push(seg.to_string()),
        }
    }
    changed.then(|| out.join("/"))
}

/// Which user a path names, resolved to its id.
fn path_mailbox(shared: &Shared, path: &str) -> Option<String> {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let user = match segs.as_slice() {
        [root, users, u, ..]
            if (root.eq_ignore_ascii_case("v1.0")
                || root.eq_ignore_ascii_case("beta")
                || *root == "_sim")
                && users.eq_ignore_ascii_case("users") =>
        {
            *u
        }
        [root, admin, exchange, mailboxes, m, ..]
            if (root.eq_ignore_ascii_case("v1.0") || root.eq_ignore_ascii_case("beta"))
                && admin.eq_ignore_ascii_case("admin")
                && exchange.eq_ignore_ascii_case("exchange")
                && mailboxes.eq_ignore_ascii_case("mailboxes") =>
        {
            let t = shared.lock();
            return t
                .mailbox_by_primary_id(&percent_decode(m))
                .map(|i| t.mailboxes.user(i).id.clone());
        }
        // An upload session's pre-authenticated URL, `/api/v2.0/Users('{uid}@{tid}')/...`,
        // normalised to `/api/v2.0/users/{uid}@{tid}/...`.
        [api, version, users, u, ..]
            if api.eq_ignore_ascii_case("api")
                && version.eq_ignore_ascii_case("v2.0")
                && users.eq_ignore_ascii_case("users") =>
        {
            u.split("%40").next()?.split('@').next()?
        }
        _ => return None,
    };
    let user = percent_decode(user);
    let t = shared.lock();
    t.mailbox_index(&user)
        .map(|i| t.mailboxes.user(i).id.clone())
}

pub(crate) fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| s.to_string())
}

/// Outermost middleware: request ids, path normalisation, request log.
async fn outer(State(shared): State<Arc<Shared>>, req: Request, next: Next) -> Response {
    // The front end takes the whole request before anything answers it, as Exchange's does: a
    // request refused early (429, 401, 413...) leaves the connection clean for the next one.
    // Without this, an answer sent before the body was read closes the connection, and a
    // client that has already picked it for its next request sees it closed mid-request.
    let (parts, body) = req.into_parts();
    let body = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(b) => b,
        Err(e) => {
            return GraphError::bad_request(format!("request body: {e}")).into_response();
        }
    };
    let mut req = Request::from_parts(parts, Body::from(body));
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    let headers = req.headers();
    let client_request_id = headers
        .get("client-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .unwrap_or_else(random_guid);
    let prefer: Vec<String> = headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_string))
        .collect();
    let request_bytes = headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    let info = RequestInfo {
        request_id: random_guid(),
        client_request_id,
        date: shared.lock().now().format("%Y-%m-%dT%H:%M:%S").to_string(),
    };
    let started = std::time::Instant::now();
    let mut routed = normalize_path(&path);
    if let Some(me) = auth::me_path(&shared, req.headers(), routed.as_deref().unwrap_or(&path)) {
        routed = Some(me);
    }
    if let Some(p) = &routed {
        let pq = if query.is_empty() {
            p.clone()
        } else {
            format!("{p}?{query}")
        };
        if let Ok(uri) = pq.parse::<Uri>() {
            *req.uri_mut() = uri;
        }
    }
    let routed = routed.unwrap_or_else(|| path.clone());
    let batch_id = req
        .extensions()
        .get::<batch::SubRequest>()
        .map(|b| b.0.clone());
    let conn = req
        .extensions()
        .get::<axum::extract::ConnectInfo<crate::conn::ConnControl>>()
        .map(|c| c.0.clone());
    let fault = if path.starts_with("/_sim") {
        None
    } else {
        let decoded = routed
            .split('/')
            .map(percent_decode)
            .collect::<Vec<_>>()
            .join("/");
        shared.proto.faults.pick(&method, &decoded, &query)
    };
    let delay = inject::Delay::new(fault.as_ref());
    if let Some(d) = &delay {
        req.extensions_mut().insert(d.clone());
    }
    let mut resp = REQUEST
        .scope(info.clone(), async {
            match inject::before(&shared, fault.as_ref(), &routed).await {
                Some(r) => r,
                None => next.run(req).await,
            }
        })
        .await;
    if let Some(d) = &delay {
        d.wait().await;
    }
    resp = inject::after(fault.as_ref(), resp, conn).await;
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&info.request_id) {
        h.insert("request-id", v);
    }
    if let Ok(v) = HeaderValue::from_str(&info.client_request_id) {
        h.insert("client-request-id", v);
    }
    let status = resp.status().as_u16();
    tracing::debug!(%method, %path, status, "request");
    if !path.starts_with("/_sim") {
        let mailbox = path_mailbox(&shared, &routed);
        let mut t = shared.lock();
        let time = crate::json::ts(&t.now());
        if t.log.len() >= MAX_LOG {
            t.log.drain(..MAX_LOG / 10);
        }
        t.log.push(LoggedRequest {
            method,
            path: path
                .split('/')
                .map(percent_decode)
                .collect::<Vec<_>>()
                .join("/"),
            query,
            status,
            mailbox,
            prefer: (!prefer.is_empty()).then(|| prefer.join(", ")),
            request_id: info.request_id,
            time,
            duration_ms: started.elapsed().as_millis() as u64,
            fault: fault.as_ref().map(|f| f.name().to_string()),
            batch_id,
            request_bytes,
        });
    }
    resp
}

/// A Graph JSON response.
pub(crate) fn graph_json(status: StatusCode, body: Value) -> Response {
    let mut resp = (status, body.to_string()).into_response();
    resp.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static(GRAPH_JSON),
    );
    resp
}

/// Puts `@odata.context` first, as Graph does.
pub(crate) fn with_context(context: String, v: Value) -> Value {
    let mut out = serde_json::Map::new();
    out.insert("@odata.context".into(), Value::String(context));
    if let Value::Object(m) = v {
        for (k, val) in m {
            out.insert(k, val);
        }
    }
    Value::Object(out)
}

/// Adds `Preference-Applied` for the preferences we honoured.
pub(crate) fn preference_applied(resp: &mut Response, applied: &[String]) {
    if applied.is_empty() {
        return;
    }
    if let Ok(v) = HeaderValue::from_str(&applied.join(", ")) {
        resp.headers_mut().insert("preference-applied", v);
    }
}

/// Reads a request body up to [`MAX_BODY`] (413 beyond).
pub(crate) async fn read_body(body: Body) -> Result<axum::body::Bytes, GraphError> {
    axum::body::to_bytes(body, MAX_BODY)
        .await
        .map_err(|_| GraphError::too_large())
}

pub(crate) fn content_type(h: &HeaderMap) -> String {
    h.get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_normalisation() {
        assert_eq!(
            normalize_path("/v1.0/users/u/mailfolders/f/MESSAGES/delta").as_deref(),
            Some("/v1.0/users/u/mailFolders/f/messages/delta")
        );
        assert_eq!(normalize_path("/v1.0/users/u/mailFolders/f/messages"), None);
        assert_eq!(
            normalize_path("/v1.0/users/u/mailfolders('AQMk=')/messages/%24value").as_deref(),
            Some("/v1.0/users/u/mailFolders/AQMk=/messages/$value")
        );
        assert_eq!(
            normalize_path("/v1.0/users/u/mailFolders/inbox/messages/delta()").as_deref(),
            Some("/v1.0/users/u/mailFolders/inbox/messages/delta")
        );
    }
}
