//! `/_sim/...` admin API for contacts, calendars, To Do, rules, meeting
//! messages and shared mailboxes (snake_case JSON, no auth, not logged).

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::Shared;
use crate::admin::Admin;
use crate::error::SimError;
use crate::pim::admin::{ContactPatch, EventPatch, NewContact, NewEvent, NewTask, TaskPatch};

type Sh = State<Arc<Shared>>;

fn admin(shared: &Arc<Shared>) -> Admin {
    Admin {
        shared: shared.clone(),
    }
}

fn err(e: SimError) -> Response {
    let status = match e {
        SimError::Invalid(_) => StatusCode::BAD_REQUEST,
        _ => StatusCode::NOT_FOUND,
    };
    (status, axum::Json(json!({"error": e.to_string()}))).into_response()
}

fn not_found(what: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        axum::Json(json!({"error": format!("{what} not found")})),
    )
        .into_response()
}

async fn parse<T: DeserializeOwned>(body: Body) -> Result<T, Response> {
    let bytes = axum::body::to_bytes(body, super::MAX_BODY * 4)
        .await
        .map_err(|_| (StatusCode::PAYLOAD_TOO_LARGE, "body too large").into_response())?;
    serde_json::from_slice(&bytes).map_err(|e| {
        (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"error": e.to_string()})),
        )
            .into_response()
    })
}

fn created(r: Result<String, SimError>) -> Response {
    match r {
        Ok(id) => (StatusCode::CREATED, axum::Json(json!({"id": id}))).into_response(),
        Err(e) => err(e),
    }
}

fn done(r: Result<(), SimError>) -> Response {
    match r {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => err(e),
    }
}

pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/_sim/users/{uid}/contactFolders", get(contact_folders))
        .route(
            "/_sim/users/{uid}/contactFolders/{fid}/contacts",
            get(contacts).post(add_contact),
        )
        .route(
            "/_sim/users/{uid}/contacts/{cid}",
            get(contact).patch(update_contact).delete(delete_contact),
        )
        .route("/_sim/users/{uid}/calendars", get(calendars))
        .route(
            "/_sim/users/{uid}/calendars/{cal}/events",
            get(events).post(add_event),
        )
        .route(
            "/_sim/users/{uid}/events/{eid}",
            get(event).patch(update_event).delete(delete_event),
        )
        .route(
            "/_sim/users/{uid}/events/{eid}/cancelOccurrence",
            post(cancel_occurrence),
        )
        .route("/_sim/users/{uid}/todoLists", get(todo_lists))
        .route(
            "/_sim/users/{uid}/todoLists/{lid}/tasks",
            get(tasks).post(add_task),
        )
        .route(
            "/_sim/users/{uid}/tasks/{tid}",
            axum::routing::patch(update_task).delete(delete_task),
        )
        .route("/_sim/users/{uid}/messageRules", get(rules))
        .route(
            "/_sim/meetingMessages",
            get(meeting_messages).delete(clear_meeting_messages),
        )
        .route("/_sim/sharedMailboxes", post(add_shared_mailbox))
}

async fn contact_folders(State(s): Sh, Path(uid): Path<String>) -> Response {
    axum::Json(admin(&s).contact_folders(&uid)).into_response()
}

async fn contacts(State(s): Sh, Path((uid, fid)): Path<(String, String)>) -> Response {
    axum::Json(admin(&s).contacts(&uid, &fid)).into_response()
}

async fn add_contact(
    State(s): Sh,
    Path((uid, fid)): Path<(String, String)>,
    body: Body,
) -> Response {
    match parse::<NewContact>(body).await {
        Ok(c) => created(admin(&s).add_contact(&uid, &fid, c)),
        Err(r) => r,
    }
}

async fn contact(State(s): Sh, Path((uid, cid)): Path<(String, String)>) -> Response {
    match admin(&s).contact(&uid, &cid) {
        Some(c) => axum::Json(c).into_response(),
        None => not_found("contact"),
    }
}

async fn update_contact(
    State(s): Sh,
    Path((uid, cid)): Path<(String, String)>,
    body: Body,
) -> Response {
    match parse::<ContactPatch>(body).await {
        Ok(p) => {
            if admin(&s).update_contact(&uid, &cid, p) {
                StatusCode::NO_CONTENT.into_response()
            } else {
                not_found("contact")
            }
        }
        Err(r) => r,
    }
}

async fn delete_contact(State(s): Sh, Path((uid, cid)): Path<(String, String)>) -> Response {
    if admin(&s).delete_contact(&uid, &cid) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        not_found("contact")
    }
}

async fn calendars(State(s): Sh, Path(uid): Path<String>) -> Response {
    axum::Json(admin(&s).calendars(&uid)).into_response()
}

async fn events(State(s): Sh, Path((uid, cal)): Path<(String, String)>) -> Response {
    axum::Json(admin(&s).events(&uid, &cal)).into_response()
}

async fn add_event(State(s): Sh, Path((uid, cal)): Path<(String, String)>, body: Body) -> Response {
    match parse::<NewEvent>(body).await {
        Ok(e) => created(admin(&s).add_event(&uid, &cal, e)),
        Err(r) => r,
    }
}

async fn event(State(s): Sh, Path((uid, eid)): Path<(String, String)>) -> Response {
    match admin(&s).event(&uid, &eid) {
        Some(e) => axum::Json(e).into_response(),
        None => not_found("event"),
    }
}

async fn update_event(
    State(s): Sh,
    Path((uid, eid)): Path<(String, String)>,
    body: Body,
) -> Response {
    match parse::<EventPatch>(body).await {
        Ok(p) => done(admin(&s).update_event(&uid, &eid, p)),
        Err(r) => r,
    }
}

async fn delete_event(State(s): Sh, Path((uid, eid)): Path<(String, String)>) -> Response {
    if admin(&s).delete_event(&uid, &eid) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        not_found("event")
    }
}

#[derive(Deserialize)]
struct DateBody {
    date: String,
}

async fn cancel_occurrence(
    State(s): Sh,
    Path((uid, eid)): Path<(String, String)>,
    body: Body,
) -> Response {
    match parse::<DateBody>(body).await {
        Ok(d) => done(admin(&s).cancel_occurrence(&uid, &eid, &d.date)),
        Err(r) => r,
    }
}

async fn todo_lists(State(s): Sh, Path(uid): Path<String>) -> Response {
    axum::Json(admin(&s).todo_lists(&uid)).into_response()
}

async fn tasks(State(s): Sh, Path((uid, lid)): Path<(String, String)>) -> Response {
    axum::Json(admin(&s).tasks(&uid, &lid)).into_response()
}

async fn add_task(State(s): Sh, Path((uid, lid)): Path<(String, String)>, body: Body) -> Response {
    match parse::<NewTask>(body).await {
        Ok(t) => created(admin(&s).add_task(&uid, &lid, t)),
        Err(r) => r,
    }
}

async fn update_task(
    State(s): Sh,
    Path((uid, tid)): Path<(String, String)>,
    body: Body,
) -> Response {
    match parse::<TaskPatch>(body).await {
        Ok(p) => done(admin(&s).update_task(&uid, &tid, p)),
        Err(r) => r,
    }
}

async fn delete_task(State(s): Sh, Path((uid, tid)): Path<(String, String)>) -> Response {
    if admin(&s).delete_task(&uid, &tid) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        not_found("task")
    }
}

async fn rules(State(s): Sh, Path(uid): Path<String>) -> Response {
    axum::Json(admin(&s).message_rules(&uid)).into_response()
}

async fn meeting_messages(State(s): Sh) -> Response {
    axum::Json(admin(&s).meeting_messages()).into_response()
}

async fn clear_meeting_messages(State(s): Sh) -> Response {
    admin(&s).clear_meeting_messages();
    StatusCode::NO_CONTENT.into_response()
}

#[derive(Deserialize)]
struct SharedBody {
    display_name: String,
    local_part: String,
}

async fn add_shared_mailbox(State(s): Sh, body: Body) -> Response {
    match parse::<SharedBody>(body).await {
        Ok(b) => match admin(&s).add_shared_mailbox(&b.display_name, &b.local_part) {
            Ok(u) => (StatusCode::CREATED, axum::Json(u)).into_response(),
            Err(e) => err(e),
        },
        Err(r) => r,
    }
}
