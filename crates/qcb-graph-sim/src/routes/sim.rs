//! `/_sim/...`: the admin API over HTTP, without auth, for black-box tests
//! of the CLI and the desktop app. JSON is snake_case (the Rust types of
//! [`crate::admin`]). These calls are not written to the request log.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::Shared;
use crate::admin::{Admin, MessagePatch, NewMessage};

type Sh = State<Arc<Shared>>;

fn admin(shared: &Arc<Shared>) -> Admin {
    Admin {
        shared: shared.clone(),
    }
}

fn sim_error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, axum::Json(json!({"error": message.into()}))).into_response()
}

/// A request refused before it is carried out, answered with [`sim_error`].
struct Refused(StatusCode, String);

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        sim_error(self.0, self.1)
    }
}

/// The request body, at most `limit` bytes (413 beyond).
async fn body_bytes(body: Body, limit: usize) -> Result<axum::body::Bytes, Refused> {
    axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| Refused(StatusCode::PAYLOAD_TOO_LARGE, "body too large".into()))
}

/// The body as JSON; a 400 `"{what}: {serde error}"` when it does not parse.
fn parse_body<T: DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T, Refused> {
    serde_json::from_slice(bytes)
        .map_err(|e| Refused(StatusCode::BAD_REQUEST, format!("{what}: {e}")))
}

pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/_sim/info", get(info))
        .route("/_sim/log", get(get_log).delete(clear_log))
        .route("/_sim/users", get(users))
        .route("/_sim/users/{uid}/folders", get(folders))
        .route(
            "/_sim/users/{uid}/mailFolders/{fid}/messages",
            get(messages).post(add_message),
        )
        .route(
            "/_sim/users/{uid}/messages/{mid}",
            patch(update_message)
                .delete(delete_message)
                .get(get_message),
        )
        .route("/_sim/users/{uid}/messages/{mid}/$value", get(get_mime))
        .route("/_sim/users/{uid}/messages/{mid}/move", post(move_message))
        .route("/_sim/users/{uid}/quota", get(get_quota).put(put_quota))
        .route("/_sim/clock/advance", post(advance_clock))
        .route("/_sim/activity", post(activity))
}

/// `POST /_sim/activity` (`Activity`, snake_case; missing fields 0 / all
/// mailboxes): 200 `ActivityReport`.
async fn activity(State(shared): Sh, body: Body) -> Result<Response, Refused> {
    let bytes = body_bytes(body, 64 * 1024).await?;
    let a: crate::Activity = parse_body(&bytes, "expected an Activity")?;
    let report = tokio::task::spawn_blocking(move || admin(&shared).simulate_activity(&a))
        .await
        .map_err(|e| Refused(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    Ok(axum::Json(report).into_response())
}

async fn info(State(shared): Sh) -> Response {
    let t = shared.lock();
    axum::Json(json!({
        "base_url": shared.base_url,
        "graph_url": shared.graph_url(),
        "token_url": format!("{}/{}/oauth2/v2.0/token", shared.base_url, t.tenant_id),
        "tenant_id": t.tenant_id,
        "client_id": t.client_id,
        "client_secret": t.client_secret,
        "mailboxes": t.mailboxes.len(),
        "resident_mailboxes": t.mailboxes.residency().0,
        "mailbox_generations": t.mailboxes.residency().1,
    }))
    .into_response()
}

async fn get_log(State(shared): Sh) -> Response {
    axum::Json(admin(&shared).request_log()).into_response()
}

async fn clear_log(State(shared): Sh) -> Response {
    admin(&shared).clear_request_log();
    StatusCode::NO_CONTENT.into_response()
}

async fn users(State(shared): Sh) -> Response {
    axum::Json(admin(&shared).users()).into_response()
}

async fn folders(State(shared): Sh, Path(uid): Path<String>) -> Response {
    let a = admin(&shared);
    if !a
        .users()
        .iter()
        .any(|u| u.id == uid || u.user_principal_name.eq_ignore_ascii_case(&uid))
    {
        return sim_error(StatusCode::NOT_FOUND, format!("unknown user '{uid}'"));
    }
    axum::Json(a.folders(&uid)).into_response()
}

async fn messages(State(shared): Sh, Path((uid, fid)): Path<(String, String)>) -> Response {
    axum::Json(admin(&shared).messages(&uid, &fid)).into_response()
}

async fn get_message(State(shared): Sh, Path((uid, mid)): Path<(String, String)>) -> Response {
    match admin(&shared).message(&uid, &mid) {
        Some(m) => axum::Json(m).into_response(),
        None => sim_error(StatusCode::NOT_FOUND, "message not found"),
    }
}

async fn get_mime(State(shared): Sh, Path((uid, mid)): Path<(String, String)>) -> Response {
    match admin(&shared).message(&uid, &mid) {
        Some(m) => (StatusCode::OK, m.mime).into_response(),
        None => sim_error(StatusCode::NOT_FOUND, "message not found"),
    }
}

async fn add_message(
    State(shared): Sh,
    Path((uid, fid)): Path<(String, String)>,
    body: Body,
) -> Result<Response, Refused> {
    let bytes = body_bytes(body, super::MAX_BODY * 4).await?;
    let new = if bytes.iter().all(u8::is_ascii_whitespace) {
        let seed = {
            let mut t = shared.lock();
            t.generated_counter += 1;
            t.seed
                .wrapping_mul(1_000_003)
                .wrapping_add(t.generated_counter)
        };
        NewMessage::generated(seed)
    } else {
        parse_body(&bytes, "invalid NewMessage")?
    };
    Ok(match admin(&shared).try_add_message(&uid, &fid, new) {
        Ok(id) => (StatusCode::CREATED, axum::Json(json!({"id": id}))).into_response(),
        Err(e @ crate::SimError::Invalid(_)) => sim_error(StatusCode::BAD_REQUEST, e.to_string()),
        Err(e) => sim_error(StatusCode::NOT_FOUND, e.to_string()),
    })
}

async fn update_message(
    State(shared): Sh,
    Path((uid, mid)): Path<(String, String)>,
    body: Body,
) -> Result<Response, Refused> {
    let bytes = body_bytes(body, super::MAX_BODY).await?;
    let patch: MessagePatch = parse_body(&bytes, "invalid MessagePatch")?;
    Ok(if admin(&shared).update_message(&uid, &mid, patch) {
        axum::Json(json!({"updated": true})).into_response()
    } else {
        sim_error(StatusCode::NOT_FOUND, "message not found")
    })
}

async fn delete_message(State(shared): Sh, Path((uid, mid)): Path<(String, String)>) -> Response {
    if admin(&shared).delete_message(&uid, &mid) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        sim_error(StatusCode::NOT_FOUND, "message not found")
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MoveBody {
    #[serde(alias = "destination_id")]
    destination_id: String,
}

async fn move_message(
    State(shared): Sh,
    Path((uid, mid)): Path<(String, String)>,
    body: Body,
) -> Result<Response, Refused> {
    let bytes = body_bytes(body, super::MAX_BODY).await?;
    let mv: MoveBody = parse_body(&bytes, "expected {\"destinationId\": ...}")?;
    Ok(
        if admin(&shared).move_message(&uid, &mid, &mv.destination_id) {
            axum::Json(json!({"moved": true})).into_response()
        } else {
            sim_error(StatusCode::NOT_FOUND, "message or folder not found")
        },
    )
}

#[derive(Deserialize)]
struct ClockBody {
    seconds: u64,
}

async fn advance_clock(State(shared): Sh, body: Body) -> Result<Response, Refused> {
    let bytes = body_bytes(body, 4096).await?;
    let c: ClockBody = parse_body(&bytes, "expected {\"seconds\": n}")?;
    admin(&shared).advance_clock(std::time::Duration::from_secs(c.seconds));
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `{"size": bytes, "quota": bytes|null}` of a mailbox.
fn quota_json(a: &Admin, uid: &str) -> Response {
    match (a.mailbox_size(uid), a.mailbox_quota(uid)) {
        (Some(size), Some(quota)) => {
            axum::Json(json!({"size": size, "quota": quota})).into_response()
        }
        _ => sim_error(StatusCode::NOT_FOUND, format!("unknown user '{uid}'")),
    }
}

/// `GET /_sim/users/{uid}/quota`: `{"size", "quota"}` (bytes; quota null:
/// unlimited).
async fn get_quota(State(shared): Sh, Path(uid): Path<String>) -> Response {
    quota_json(&admin(&shared), &uid)
}

#[derive(Deserialize)]
struct QuotaBody {
    quota: Option<u64>,
}

/// `PUT /_sim/users/{uid}/quota` `{"quota": bytes|null}`: sets the
/// mailbox's quota; answers as GET.
async fn put_quota(
    State(shared): Sh,
    Path(uid): Path<String>,
    body: Body,
) -> Result<Response, Refused> {
    let bytes = body_bytes(body, 4096).await?;
    let q: QuotaBody = parse_body(&bytes, "expected {\"quota\": bytes or null}")?;
    let a = admin(&shared);
    if let Err(e) = a.set_mailbox_quota(&uid, q.quota) {
        return Err(Refused(StatusCode::NOT_FOUND, e.to_string()));
    }
    Ok(quota_json(&a, &uid))
}
