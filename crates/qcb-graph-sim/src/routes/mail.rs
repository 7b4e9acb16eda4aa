//! Mail: folders, messages, MIME, attachments, delta, create (JSON / MIME),
//! update, delete, move.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::extract::{Path, RawQuery};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{St, content_type, graph_json, preference_applied, read_body, with_context};
use crate::Shared;
use crate::delta::{ChangeType, DeltaState, Entry, TokenError};
use crate::error::GraphError;
use crate::ids::IdForm;
use crate::json::{
    FOLDER_PROPS, MESSAGE_PROPS, MessageOptions, attachment_json, check_select, folder_json,
    message_json, removed_json,
};
use crate::model::{
    Attachment, AttachmentKind, BodyType, EmailAddress, FlagStatus, Folder, Importance,
    MSGFOLDERROOT_KEY, Mailbox, Message, MessageProps,
};
use crate::odata::{
    Prefer, Query, ReceivedFilter, canonical_ext_id, encode_pairs, parse_message_expand,
    parse_received_filter,
};
use crate::store::{Lookup, Tenant};

/// Default page size of folder and message collections, as Graph.
pub(crate) const DEFAULT_PAGE: usize = 10;
/// Largest page we serve.
pub(crate) const MAX_PAGE: usize = 1000;

type Params = Path<BTreeMap<String, String>>;

/// Everything a handler needs from the request besides the path.
pub(crate) struct Ctx {
    pub(crate) query: Query,
    pub(crate) prefer: Prefer,
}

impl Ctx {
    pub(crate) fn new(headers: &HeaderMap, raw: Option<String>) -> Self {
        Ctx {
            query: Query::parse(raw.as_deref()),
            prefer: Prefer::from_headers(headers),
        }
    }
    pub(crate) fn form(&self) -> IdForm {
        self.prefer.id_form()
    }
    pub(crate) fn applied(&self) -> Vec<String> {
        let mut v = Vec::new();
        if self.prefer.immutable_ids {
            v.push("IdType=\"ImmutableId\"".to_string());
        }
        v
    }
}

fn param<'a>(p: &'a BTreeMap<String, String>, name: &str) -> &'a str {
    p.get(name).map(String::as_str).unwrap_or("")
}

pub(crate) fn mailbox_index(t: &Tenant, uid: &str) -> Result<usize, GraphError> {
    t.mailbox_index(uid)
        .ok_or_else(|| GraphError::invalid_user(uid))
}

fn mailbox<'a>(t: &'a Tenant, uid: &str) -> Result<&'a Mailbox, GraphError> {
    Ok(&t.mailboxes[mailbox_index(t, uid)?])
}

fn mailbox_mut<'a>(t: &'a mut Tenant, uid: &str) -> Result<&'a mut Mailbox, GraphError> {
    let i = mailbox_index(t, uid)?;
    Ok(&mut t.mailboxes[i])
}

pub(crate) fn lookup_err(l: Lookup) -> GraphError {
    match l {
        Lookup::Malformed => GraphError::malformed_id(),
        Lookup::NotFound => GraphError::item_not_found(),
    }
}

fn folder_key(mbx: &Mailbox, fid: &str) -> Result<u64, GraphError> {
    mbx.folder_key(fid).map_err(lookup_err)
}

fn message_key(mbx: &Mailbox, mid: &str) -> Result<u64, GraphError> {
    mbx.message_key(mid).map_err(lookup_err)
}

fn stored_folder(mbx: &Mailbox, k: u64) -> Result<&Folder, GraphError> {
    mbx.folders.get(&k).ok_or_else(GraphError::item_not_found)
}

fn stored_message(mbx: &Mailbox, k: u64) -> Result<&Message, GraphError> {
    mbx.messages.get(&k).ok_or_else(GraphError::item_not_found)
}

/// A folder as its own resource (`@odata.context` `.../mailFolders/$entity`).
fn folder_entity(shared: &Shared, mbx: &Mailbox, f: &Folder, select: Option<&[String]>) -> Value {
    let context = format!(
        "{}/$metadata#users('{}')/mailFolders/$entity",
        shared.graph_url(),
        mbx.user.id
    );
    with_context(context, folder_json(mbx, f, select))
}

/// A message as its own resource (`@odata.context` `.../messages/$entity`).
fn message_entity(
    shared: &Shared,
    mbx: &Mailbox,
    m: &Message,
    form: IdForm,
    opts: &MessageOptions,
) -> Value {
    let context = format!(
        "{}/$metadata#users('{}')/messages/$entity",
        shared.graph_url(),
        mbx.user.id
    );
    with_context(context, message_json(mbx, m, form, opts))
}

fn page_size(ctx: &Ctx) -> Result<usize, GraphError> {
    let top = ctx.query.usize_option("$top")?;
    if top == Some(0) {
        return Err(GraphError::bad_request(
            "Invalid value '0' for query option '$top'.",
        ));
    }
    Ok(top
        .or(ctx.prefer.max_page_size)
        .unwrap_or(DEFAULT_PAGE)
        .min(MAX_PAGE))
}

pub(crate) fn respond(result: Result<Response, GraphError>) -> Response {
    result.unwrap_or_else(IntoResponse::into_response)
}

/// One page of a collection (`page` = the items at `skip..skip+top` of
/// `total`), with an `@odata.nextLink` carrying `$skip` when more remain.
struct Paged {
    context: String,
    path: String,
    page: Vec<Value>,
    total: usize,
    skip: usize,
    top: usize,
}

fn paged(shared: &Shared, ctx: &Ctx, p: Paged) -> Value {
    let Paged {
        context,
        path,
        page,
        total,
        skip,
        top,
    } = p;
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
    Value::Object(out)
}

// ---------------------------------------------------------------- folders

pub(crate) async fn list_root_folders(
    axum::extract::State(shared): St,
    Path(uid): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let ctx = Ctx::new(&headers, q);
    respond(list_folders(&shared, &ctx, &uid, None))
}

pub(crate) async fn list_child_folders(
    axum::extract::State(shared): St,
    Path((uid, fid)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let ctx = Ctx::new(&headers, q);
    respond(list_folders(&shared, &ctx, &uid, Some(&fid)))
}

fn list_folders(
    shared: &Shared,
    ctx: &Ctx,
    uid: &str,
    parent: Option<&str>,
) -> Result<Response, GraphError> {
    let select = check_select(ctx.query.select(), FOLDER_PROPS, "mailFolder")?;
    let include_hidden = ctx
        .query
        .get("includeHiddenFolders")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let top = page_size(ctx)?;
    let skip = ctx.query.usize_option("$skip")?.unwrap_or(0);
    let t = shared.lock();
    let mbx = mailbox(&t, uid)?;
    let parent_key = match parent {
        None => MSGFOLDERROOT_KEY,
        Some(fid) => folder_key(mbx, fid)?,
    };
    let children = mbx.children(parent_key, include_hidden);
    let total = children.len();
    let page: Vec<Value> = children
        .into_iter()
        .skip(skip)
        .take(top)
        .map(|f| folder_json(mbx, f, select.as_deref()))
        .collect();
    let user_id = mbx.user.id.clone();
    let (context, path) = match parent {
        None => (
            format!(
                "{}/$metadata#users('{user_id}')/mailFolders",
                shared.graph_url()
            ),
            format!("/users/{user_id}/mailFolders"),
        ),
        Some(_) => {
            let pid = mbx.folder_id(parent_key);
            (
                format!(
                    "{}/$metadata#users('{user_id}')/mailFolders('{pid}')/childFolders",
                    shared.graph_url()
                ),
                format!("/users/{user_id}/mailFolders/{pid}/childFolders"),
            )
        }
    };
    drop(t);
    let v = paged(
        shared,
        ctx,
        Paged {
            context,
            path,
            page,
            total,
            skip,
            top,
        },
    );
    Ok(graph_json(StatusCode::OK, v))
}

pub(crate) async fn get_folder(
    axum::extract::State(shared): St,
    Path((uid, fid)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let ctx = Ctx::new(&headers, q);
    respond((|| {
        let select = check_select(ctx.query.select(), FOLDER_PROPS, "mailFolder")?;
        let t = shared.lock();
        let mbx = mailbox(&t, &uid)?;
        let f = stored_folder(mbx, folder_key(mbx, &fid)?)?;
        let v = folder_entity(&shared, mbx, f, select.as_deref());
        Ok(graph_json(StatusCode::OK, v))
    })())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FolderInput {
    display_name: Option<String>,
    is_hidden: Option<bool>,
}

pub(crate) async fn create_root_folder(
    axum::extract::State(shared): St,
    Path(uid): Path<String>,
    body: Body,
) -> Response {
    respond(create_folder(&shared, &uid, None, body).await)
}

pub(crate) async fn create_child_folder(
    axum::extract::State(shared): St,
    Path((uid, fid)): Path<(String, String)>,
    body: Body,
) -> Response {
    respond(create_folder(&shared, &uid, Some(&fid), body).await)
}

async fn create_folder(
    shared: &Shared,
    uid: &str,
    parent: Option<&str>,
    body: Body,
) -> Result<Response, GraphError> {
    let input: FolderInput = json_body(body).await?;
    let name = input
        .display_name
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty())
        .ok_or_else(|| GraphError::invalid_request("The folder's displayName is required."))?;
    let mut t = shared.lock();
    let mbx = mailbox_mut(&mut t, uid)?;
    let parent_key = match parent {
        None => MSGFOLDERROOT_KEY,
        Some(fid) => folder_key(mbx, fid)?,
    };
    mbx.check_quota(0)?;
    let k = mbx
        .create_folder(parent_key, &name, input.is_hidden.unwrap_or(false))
        .map_err(|_| {
            GraphError::new(
                StatusCode::CONFLICT,
                "ErrorFolderExists",
                "A folder with the specified name already exists.",
            )
        })?;
    let v = folder_entity(shared, mbx, stored_folder(mbx, k)?, None);
    Ok(graph_json(StatusCode::CREATED, v))
}

/// A request body that must be a JSON object.
async fn json_body<T: for<'de> Deserialize<'de>>(body: Body) -> Result<T, GraphError> {
    parse_json(&read_body(body).await?)
}

fn parse_json<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T, GraphError> {
    let v: Value = serde_json::from_slice(bytes).map_err(|_| GraphError::malformed_json())?;
    if !v.is_object() {
        return Err(GraphError::malformed_json());
    }
    serde_json::from_value(v)
        .map_err(|e| GraphError::bad_request(format!("Invalid request payload: {e}")))
}

// ---------------------------------------------------------------- messages

fn message_options(ctx: &Ctx, delta: bool) -> Result<MessageOptions, GraphError> {
    Ok(MessageOptions {
        select: check_select(ctx.query.select(), MESSAGE_PROPS, "message")?,
        expand: parse_message_expand(ctx.query.get("$expand"))?,
        delta,
    })
}

pub(crate) async fn list_messages(
    axum::extract::State(shared): St,
    Path(p): Params,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let ctx = Ctx::new(&headers, q);
    respond((|| {
        let opts = message_options(&ctx, false)?;
        let filter = parse_received_filter(ctx.query.get("$filter"))?;
        let ascending = match ctx
            .query
            .get("$orderby")
            .map(|o| o.trim().to_ascii_lowercase())
        {
            None => false,
            Some(o) if o == "receiveddatetime desc" => false,
            Some(o) if o == "receiveddatetime" || o == "receiveddatetime asc" => true,
            Some(o) => {
                return Err(GraphError::bad_request(format!(
                    "The $orderby expression '{o}' is not supported; use receivedDateTime [asc|desc]."
                )));
            }
        };
        let top = page_size(&ctx)?;
        let skip = ctx.query.usize_option("$skip")?.unwrap_or(0);
        let t = shared.lock();
        let mbx = mailbox(&t, param(&p, "uid"))?;
        let folder = match p.get("fid") {
            Some(fid) => Some(folder_key(mbx, fid)?),
            None => None,
        };
        // `/messages` without a folder: the whole IPM subtree (msgfolderroot
        // and below), not the Recoverable Items beside it.
        let ipm: std::collections::BTreeSet<u64> = match folder {
            Some(_) => Default::default(),
            None => mbx.descendants(MSGFOLDERROOT_KEY).into_iter().collect(),
        };
        let mut list: Vec<&Message> = mbx
            .messages
            .values()
            .filter(|m| folder.map_or(ipm.contains(&m.folder), |f| m.folder == f))
            .filter(|m| filter.is_none_or(|f| f.matches(&m.props.received)))
            .collect();
        list.sort_by(|a, b| {
            let o = a
                .props
                .received
                .cmp(&b.props.received)
                .then(a.key.cmp(&b.key));
            if ascending { o } else { o.reverse() }
        });
        let total = list.len();
        let page: Vec<Value> = list
            .iter()
            .skip(skip)
            .take(top)
            .map(|m| message_json(mbx, m, ctx.form(), &opts))
            .collect();
        let user_id = mbx.user.id.clone();
        let (context, path) = match folder {
            Some(f) => {
                let fid = mbx.folder_id(f);
                (
                    format!(
                        "{}/$metadata#users('{user_id}')/mailFolders('{fid}')/messages",
                        shared.graph_url()
                    ),
                    format!("/users/{user_id}/mailFolders/{fid}/messages"),
                )
            }
            None => (
                format!(
                    "{}/$metadata#users('{user_id}')/messages",
                    shared.graph_url()
                ),
                format!("/users/{user_id}/messages"),
            ),
        };
        drop(t);
        let v = paged(
            &shared,
            &ctx,
            Paged {
                context,
                path,
                page,
                total,
                skip,
                top,
            },
        );
        let mut resp = graph_json(StatusCode::OK, v);
        preference_applied(&mut resp, &ctx.applied());
        Ok(resp)
    })())
}

/// The message of a `.../messages/{mid}` path; a `{fid}` in the path must
/// name a folder of the mailbox (not necessarily the message's).
fn path_message<'a>(
    mbx: &'a Mailbox,
    p: &BTreeMap<String, String>,
) -> Result<&'a Message, GraphError> {
    if let Some(fid) = p.get("fid") {
        folder_key(mbx, fid)?;
    }
    stored_message(mbx, message_key(mbx, param(p, "mid"))?)
}

pub(crate) async fn get_message(
    axum::extract::State(shared): St,
    Path(p): Params,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let ctx = Ctx::new(&headers, q);
    respond((|| {
        let opts = message_options(&ctx, false)?;
        let t = shared.lock();
        let mbx = mailbox(&t, param(&p, "uid"))?;
        let m = path_message(mbx, &p)?;
        let v = message_entity(&shared, mbx, m, ctx.form(), &opts);
        let mut resp = graph_json(StatusCode::OK, v);
        preference_applied(&mut resp, &ctx.applied());
        Ok(resp)
    })())
}

/// `GET .../messages/{id}/$value`: MIME regenerated from the properties.
pub(crate) async fn get_mime(axum::extract::State(shared): St, Path(p): Params) -> Response {
    respond((|| {
        let t = shared.lock();
        let mbx = mailbox(&t, param(&p, "uid"))?;
        let m = path_message(mbx, &p)?;
        let mime = crate::mime::render(&m.props);
        drop(t);
        let mut resp = (StatusCode::OK, mime).into_response();
        resp.headers_mut().insert(
            axum::http::header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain"),
        );
        Ok(resp)
    })())
}

// ---------------------------------------------------------------- delta

/// `GET /users/{id}/mailFolders/{id}/messages/delta`
pub(crate) async fn delta(
    axum::extract::State(shared): St,
    Path((uid, fid)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let ctx = Ctx::new(&headers, q);
    respond(delta_inner(&shared, &ctx, &uid, &fid))
}

fn sync_state_not_found(status: StatusCode, message: &str) -> GraphError {
    GraphError::new(status, "syncStateNotFound", message)
}

/// The state a follow-up delta request goes on from and the upper bound of
/// its round, or `None` for the first request of a round (no token). A
/// `$skiptoken` pages on through its round; a `$deltatoken` starts the next
/// round, up to the mailbox's change number now. The token must have been
/// issued for `collection` (a folder key, or [`HIERARCHY`]) of mailbox `i`,
/// else a 400 with `mismatch`; `base` is the delta URL a client restarts
/// from when the token is from an earlier server run (410).
pub(crate) fn resume(
    t: &Tenant,
    ctx: &Ctx,
    i: usize,
    collection: u64,
    mismatch: &str,
    base: &str,
) -> Result<Option<(DeltaState, u64)>, GraphError> {
    let skip = ctx.query.get("$skiptoken");
    let Some(tok) = skip.or(ctx.query.get("$deltatoken")) else {
        return Ok(None);
    };
    let st = DeltaState::decode(tok, &t.key, t.instance).map_err(|e| match e {
        TokenError::Invalid => sync_state_not_found(
            StatusCode::BAD_REQUEST,
            "The sync state is invalid or was not issued for this collection.",
        ),
        TokenError::Expired => sync_state_not_found(
            StatusCode::GONE,
            "The sync state generation is no longer available. Start a new synchronization from the initial request.",
        )
        .with_header(axum::http::header::LOCATION, base.to_string()),
    })?;
    if st.mailbox as usize != i || st.folder != collection {
        return Err(sync_state_not_found(StatusCode::BAD_REQUEST, mismatch));
    }
    if skip.is_some() {
        let to = st.to_seq;
        Ok(Some((st, to)))
    } else {
        let seq = t.mailboxes[i].seq;
        Ok(Some((DeltaState { cursor: None, ..st }, seq)))
    }
}

/// One page of a delta round, message or folder delta alike.
pub(crate) struct DeltaPage {
    /// Entity type of the collection (`message`, `mailFolder`).
    pub(crate) entity: &'static str,
    /// The delta URL, without query.
    pub(crate) base: String,
    pub(crate) state: DeltaState,
    /// Upper bound of the round.
    pub(crate) to_seq: u64,
    /// The cursor after the page's last entry while the round has more.
    pub(crate) next: Option<(u64, u64, bool)>,
    pub(crate) value: Vec<Value>,
}

/// Answers a delta page: `@odata.nextLink` with a `$skiptoken` while the
/// round has more, else `@odata.deltaLink` with a `$deltatoken` for the
/// changes after it. `Preference-Applied` names `odata.maxpagesize` (when
/// asked for) before the other honoured preferences in `applied`.
pub(crate) fn delta_response(
    shared: &Shared,
    key: &[u8; 32],
    ctx: &Ctx,
    mut applied: Vec<String>,
    p: DeltaPage,
) -> Response {
    let DeltaPage {
        entity,
        base,
        state,
        to_seq,
        next,
        value,
    } = p;
    let mut out = Map::new();
    out.insert(
        "@odata.context".into(),
        json!(format!(
            "{}/$metadata#Collection({entity})",
            shared.graph_url()
        )),
    );
    match next {
        Some(cursor) => {
            let st = DeltaState {
                cursor: Some(cursor),
                to_seq,
                ..state
            };
            out.insert(
                "@odata.nextLink".into(),
                json!(format!("{base}?$skiptoken={}", st.encode(key))),
            );
        }
        None => {
            let st = DeltaState {
                initial: false,
                from_seq: to_seq,
                to_seq: 0,
                cursor: None,
                ..state
            };
            out.insert(
                "@odata.deltaLink".into(),
                json!(format!("{base}?$deltatoken={}", st.encode(key))),
            );
        }
    }
    out.insert("value".into(), Value::Array(value));
    let mut resp = graph_json(StatusCode::OK, Value::Object(out));
    if let Some(n) = ctx.prefer.max_page_size {
        applied.insert(0, format!("odata.maxpagesize={}", n.min(MAX_PAGE)));
    }
    preference_applied(&mut resp, &applied);
    resp
}

fn delta_inner(shared: &Shared, ctx: &Ctx, uid: &str, fid: &str) -> Result<Response, GraphError> {
    let t = shared.lock();
    let i = mailbox_index(&t, uid)?;
    let mbx = &t.mailboxes[i];
    let fk = folder_key(mbx, fid)?;
    let user_id = mbx.user.id.clone();
    let folder_id = mbx.folder_id(fk);
    let base = format!(
        "{}/users/{user_id}/mailFolders/{folder_id}/messages/delta",
        shared.graph_url()
    );
    let mismatch = "The sync state was issued for another folder.";
    let (state, to_seq) = match resume(&t, ctx, i, fk, mismatch, &base)? {
        Some(resumed) => resumed,
        None => {
            // First request of a round: options are taken from the query
            // and encoded in the tokens from now on.
            let select = check_select(ctx.query.select(), MESSAGE_PROPS, "message")?;
            let expand_raw = ctx.query.get("$expand").map(str::to_string);
            parse_message_expand(expand_raw.as_deref())?;
            let filter: Option<ReceivedFilter> = parse_received_filter(ctx.query.get("$filter"))?;
            let change_type = match ctx.query.get("changeType") {
                None => None,
                Some(c) => Some(ChangeType::parse(c).ok_or_else(|| {
                    GraphError::bad_request(format!(
                        "Invalid changeType '{c}'; expected created, updated or deleted."
                    ))
                })?),
            };
            let top = ctx.query.usize_option("$top")?;
            (
                DeltaState {
                    select: select.map(|s| s.join(",")),
                    expand: expand_raw,
                    filter,
                    change_type,
                    page_size: top.map(|n| n.clamp(1, MAX_PAGE) as u32),
                    ..DeltaState::first_round(t.instance, i as u32, fk, mbx.seq)
                },
                mbx.seq,
            )
        }
    };
    let opts = MessageOptions {
        select: state.select_list(),
        expand: parse_message_expand(state.expand.as_deref())?,
        delta: true,
    };
    let size = ctx
        .prefer
        .max_page_size
        .or(state.page_size.map(|n| n as usize))
        .unwrap_or(DEFAULT_PAGE)
        .clamp(1, MAX_PAGE);
    let form = ctx.form();
    let (entries, next) = crate::delta::page(mbx, &state, to_seq, form, size);
    let value: Vec<Value> = entries
        .into_iter()
        .map(|e| match e {
            Entry::Item(m) => message_json(mbx, m, form, &opts),
            Entry::Removed {
                key,
                folder,
                move_gen,
            } => removed_json(crate::ids::message_id(
                mbx.guid(),
                form,
                key,
                folder,
                move_gen,
            )),
        })
        .collect();
    let key = t.key;
    drop(t);
    let page = DeltaPage {
        entity: "message",
        base,
        state,
        to_seq,
        next,
        value,
    };
    Ok(delta_response(shared, &key, ctx, ctx.applied(), page))
}

/// `GET /users/{id}/mailFolders/delta`: the folder hierarchy below
/// msgfolderroot (hidden folders included), then folders created since.
/// A renamed or moved folder (`Admin::rename_folder`, `move_folder`) comes
/// back changed; folder deletion does not exist in this emulator, so no
/// `@removed` entries appear.
pub(crate) async fn folder_delta(
    axum::extract::State(shared): St,
    Path(uid): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let ctx = Ctx::new(&headers, q);
    respond(folder_delta_inner(&shared, &ctx, &uid))
}

/// Marker for "the folder hierarchy" in delta tokens (no folder has key 0).
const HIERARCHY: u64 = 0;

fn folder_delta_inner(shared: &Shared, ctx: &Ctx, uid: &str) -> Result<Response, GraphError> {
    let t = shared.lock();
    let i = mailbox_index(&t, uid)?;
    let mbx = &t.mailboxes[i];
    let base = format!(
        "{}/users/{}/mailFolders/delta",
        shared.graph_url(),
        mbx.user.id
    );
    hierarchy_delta(
        shared,
        ctx,
        t,
        i,
        HierarchyDelta {
            collection: HIERARCHY,
            base,
            props: FOLDER_PROPS,
            entity: "mailFolder",
        },
        |mbx| {
            mbx.descendants(MSGFOLDERROOT_KEY)
                .into_iter()
                .filter_map(|k| mbx.folders.get(&k))
                .map(|f| (f.change_seq, f.key))
                .collect()
        },
        |mbx, k, select| mbx.folders.get(&k).map(|f| folder_json(mbx, f, select)),
    )
}

/// Which folder hierarchy a delta query pages through, and as what.
pub(crate) struct HierarchyDelta {
    /// The collection the delta tokens are issued for.
    pub(crate) collection: u64,
    pub(crate) base: String,
    /// The properties `$select` may name.
    pub(crate) props: &'static [&'static str],
    /// The entity type (`mailFolder`, `mailboxFolder`).
    pub(crate) entity: &'static str,
}

/// One page of a folder-hierarchy delta (`mailFolders/delta`, the mailbox API's
/// `folders/delta`): of the folders `list` gives as `(change number, key)`, those changed in
/// the round, in change order, each as `render` shows it. Folder ids do not depend on IdType:
/// only odata.maxpagesize applies.
pub(crate) fn hierarchy_delta(
    shared: &Shared,
    ctx: &Ctx,
    t: std::sync::MutexGuard<'_, Tenant>,
    i: usize,
    h: HierarchyDelta,
    list: impl Fn(&Mailbox) -> Vec<(u64, u64)>,
    render: impl Fn(&Mailbox, u64, Option<&[String]>) -> Option<Value>,
) -> Result<Response, GraphError> {
    let mbx = &t.mailboxes[i];
    let mismatch = "The sync state was issued for another collection.";
    let (state, to_seq) = match resume(&t, ctx, i, h.collection, mismatch, &h.base)? {
        Some(resumed) => resumed,
        None => {
            let select = check_select(ctx.query.select(), h.props, h.entity)?;
            (
                DeltaState {
                    select: select.map(|s| s.join(",")),
                    ..DeltaState::first_round(t.instance, i as u32, h.collection, mbx.seq)
                },
                mbx.seq,
            )
        }
    };
    let select = state.select_list();
    let size = ctx
        .prefer
        .max_page_size
        .unwrap_or(DEFAULT_PAGE)
        .clamp(1, MAX_PAGE);
    let mut entries: Vec<(u64, u64)> = list(mbx)
        .into_iter()
        .filter(|&(seq, _)| seq <= to_seq && (state.initial || seq > state.from_seq))
        .collect();
    entries.sort_unstable();
    let start = match state.cursor {
        None => 0,
        Some((seq, key, _)) => entries.partition_point(|e| *e <= (seq, key)),
    };
    let rest = &entries[start..];
    let page = &rest[..rest.len().min(size)];
    let value: Vec<Value> = page
        .iter()
        .filter_map(|(_, k)| render(mbx, *k, select.as_deref()))
        .collect();
    // The page is never empty while more remain (size >= 1).
    let next = page
        .last()
        .filter(|_| rest.len() > page.len())
        .map(|(s, k)| (*s, *k, false));
    let key = t.key;
    drop(t);
    let page = DeltaPage {
        entity: h.entity,
        base: h.base,
        state,
        to_seq,
        next,
        value,
    };
    Ok(delta_response(shared, &key, ctx, Vec::new(), page))
}

// ---------------------------------------------------------------- create

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct EmailInput {
    name: Option<String>,
    address: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RecipientInput {
    email_address: Option<EmailInput>,
}

impl RecipientInput {
    fn into_address(self) -> Option<EmailAddress> {
        let e = self.email_address?;
        let address = e.address.unwrap_or_default();
        if address.trim().is_empty() && e.name.as_deref().unwrap_or("").trim().is_empty() {
            return None;
        }
        // Graph fills a missing name with the address.
        let name = e
            .name
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| address.clone());
        Some(EmailAddress { name, address })
    }
}

fn addresses(list: Option<Vec<RecipientInput>>) -> Vec<EmailAddress> {
    list.unwrap_or_default()
        .into_iter()
        .filter_map(RecipientInput::into_address)
        .collect()
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct BodyInput {
    content_type: Option<String>,
    content: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct FlagInput {
    flag_status: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct AttachmentInput {
    #[serde(rename = "@odata.type")]
    odata_type: Option<String>,
    name: Option<String>,
    content_type: Option<String>,
    content_bytes: Option<String>,
    is_inline: Option<bool>,
    content_id: Option<String>,
    /// itemAttachment: the attached message.
    item: Option<Box<MessageInput>>,
    /// referenceAttachment: the link (accepted as beta clients send it).
    source_url: Option<String>,
}

#[derive(Deserialize)]
struct ExtPropInput {
    id: String,
    value: Option<String>,
}

impl ExtPropInput {
    /// The property's id in its canonical form, or Graph's 400 for an id it cannot parse.
    fn canonical_id(&self) -> Result<String, GraphError> {
        canonical_ext_id(&self.id).ok_or_else(|| {
            GraphError::new(
                StatusCode::BAD_REQUEST,
                "ErrorInvalidExtendedProperty",
                format!("The extended property id '{}' is not valid.", self.id),
            )
        })
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct MessageInput {
    subject: Option<String>,
    body: Option<BodyInput>,
    from: Option<RecipientInput>,
    sender: Option<RecipientInput>,
    to_recipients: Option<Vec<RecipientInput>>,
    cc_recipients: Option<Vec<RecipientInput>>,
    bcc_recipients: Option<Vec<RecipientInput>>,
    reply_to: Option<Vec<RecipientInput>>,
    internet_message_id: Option<String>,
    importance: Option<String>,
    is_read: Option<bool>,
    categories: Option<Vec<String>>,
    flag: Option<FlagInput>,
    is_delivery_receipt_requested: Option<bool>,
    is_read_receipt_requested: Option<bool>,
    inference_classification: Option<String>,
    attachments: Option<Vec<AttachmentInput>>,
    single_value_extended_properties: Option<Vec<ExtPropInput>>,
}

fn parse_body_type(s: &str) -> Result<BodyType, GraphError> {
    BodyType::parse(s)
        .ok_or_else(|| GraphError::bad_request(format!("Invalid body contentType '{s}'.")))
}

fn parse_importance(s: &str) -> Result<Importance, GraphError> {
    Importance::parse(s)
        .ok_or_else(|| GraphError::bad_request(format!("Invalid importance '{s}'.")))
}

fn parse_flag_status(s: &str) -> Result<FlagStatus, GraphError> {
    FlagStatus::parse(s)
        .ok_or_else(|| GraphError::bad_request(format!("Invalid flagStatus '{s}'.")))
}

/// Lenient UTC date-time: RFC 3339, or without an offset (taken as UTC).
fn parse_utc(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Some(d.with_timezone(&Utc));
    }
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|n| n.and_utc())
}

fn attachment_from_input(
    a: AttachmentInput,
    key: u32,
    now: DateTime<Utc>,
    mbx: &Mailbox,
) -> Result<(Attachment, AttachmentKind), GraphError> {
    let kind = match a.odata_type.as_deref().map(|t| t.trim_start_matches('#')) {
        Some(t) if t.eq_ignore_ascii_case("microsoft.graph.fileAttachment") => AttachmentKind::File,
        Some(t) if t.eq_ignore_ascii_case("microsoft.graph.itemAttachment") => AttachmentKind::Item,
        Some(t) if t.eq_ignore_ascii_case("microsoft.graph.referenceAttachment") => {
            AttachmentKind::Reference
        }
        Some(t) => {
            return Err(GraphError::bad_request(format!(
                "Attachments of type '{t}' are not supported; use #microsoft.graph.fileAttachment, itemAttachment or referenceAttachment."
            )));
        }
        None => {
            return Err(GraphError::bad_request(
                "The attachment must specify '@odata.type' (#microsoft.graph.fileAttachment, itemAttachment or referenceAttachment).",
            ));
        }
    };
    match kind {
        AttachmentKind::File => {}
        AttachmentKind::Item => {
            let item = a.item.ok_or_else(|| {
                GraphError::invalid_request("An item attachment needs its 'item'.")
            })?;
            let props = props_from_json(*item, mbx, u64::from(key), now)?;
            let name = a
                .name
                .filter(|n| !n.trim().is_empty())
                .unwrap_or_else(|| props.subject.clone());
            let bytes = crate::mime::render(&props);
            return Ok((
                Attachment {
                    key,
                    name,
                    content_type: "message/rfc822".into(),
                    bytes: bytes.into(),
                    is_inline: false,
                    content_id: None,
                    last_modified: now,
                },
                kind,
            ));
        }
        AttachmentKind::Reference => {
            let name = a
                .name
                .filter(|n| !n.trim().is_empty())
                .ok_or_else(|| GraphError::invalid_request("The attachment's name is required."))?;
            return Ok((
                Attachment {
                    key,
                    name,
                    content_type: a.content_type.unwrap_or_default(),
                    bytes: a.source_url.unwrap_or_default().into_bytes().into(),
                    is_inline: false,
                    content_id: None,
                    last_modified: now,
                },
                kind,
            ));
        }
    }
    let bytes = STANDARD
        .decode(a.content_bytes.unwrap_or_default().trim())
        .map_err(|_| {
            GraphError::bad_request("The attachment's contentBytes is not valid base64.")
        })?;
    let name = a
        .name
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| GraphError::invalid_request("The attachment's name is required."))?;
    let content_id = a.content_id.filter(|c| !c.trim().is_empty());
    Ok((
        Attachment {
            key,
            name,
            content_type: a
                .content_type
                .unwrap_or_else(|| "application/octet-stream".into()),
            bytes: bytes.into(),
            is_inline: a.is_inline.unwrap_or(false),
            content_id,
            last_modified: now,
        },
        AttachmentKind::File,
    ))
}

fn props_from_json(
    input: MessageInput,
    mbx: &Mailbox,
    key: u64,
    now: DateTime<Utc>,
) -> Result<MessageProps, GraphError> {
    let mut flags: Option<u32> = None;
    let mut received = None;
    let mut sent = None;
    let mut transport_headers = None;
    let mut extended = BTreeMap::new();
    for p in input.single_value_extended_properties.unwrap_or_default() {
        let id = p.canonical_id()?;
        let value = p.value.unwrap_or_default();
        let bad_value = || {
            GraphError::new(
                StatusCode::BAD_REQUEST,
                "ErrorInvalidExtendedPropertyValue",
                format!(
                    "The value '{value}' is not valid for extended property '{}'.",
                    p.id
                ),
            )
        };
        match id.as_str() {
            "Integer 0xe07" => {
                flags = Some(value.trim().parse::<u32>().map_err(|_| bad_value())?);
            }
            "SystemTime 0xe06" => received = Some(parse_utc(&value).ok_or_else(bad_value)?),
            "SystemTime 0x39" => sent = Some(parse_utc(&value).ok_or_else(bad_value)?),
            "String 0x7d" => transport_headers = Some(value),
            _ => {
                extended.insert(id, value);
            }
        }
    }
    // Without PidTagMessageFlags the item is a draft (MSGFLAG_UNSENT), as
    // Exchange; with it, MSGFLAG_UNSENT (0x8) decides and MSGFLAG_READ (0x1)
    // gives the read state.
    let (is_draft, flag_read) = match flags {
        None => (true, true),
        Some(f) => (f & 0x8 != 0, f & 0x1 != 0),
    };
    let is_read = if is_draft {
        input.is_read.unwrap_or(true)
    } else {
        input.is_read.unwrap_or(flag_read)
    };
    // PidTagMessageDeliveryTime set explicitly is kept, draft or not.
    let received = received.unwrap_or(now);
    let sent = sent.unwrap_or(received);
    let body = input.body.unwrap_or_default();
    let body_type = match body.content_type.as_deref() {
        None | Some("") => BodyType::Text,
        Some(s) => parse_body_type(s)?,
    };
    let importance = match input.importance.as_deref() {
        None => Importance::Normal,
        Some(s) => parse_importance(s)?,
    };
    let flag_status = match input.flag.and_then(|f| f.flag_status) {
        None => FlagStatus::NotFlagged,
        Some(s) => parse_flag_status(&s)?,
    };
    let mut attachment_kinds = BTreeMap::new();
    let mut attachments = Vec::new();
    for (n, a) in input
        .attachments
        .unwrap_or_default()
        .into_iter()
        .enumerate()
    {
        let (att, kind) = attachment_from_input(a, n as u32 + 1, now, mbx)?;
        if kind != AttachmentKind::File {
            attachment_kinds.insert(att.key, kind);
        }
        attachments.push(att);
    }
    let from = input.from.and_then(RecipientInput::into_address);
    let sender = input
        .sender
        .and_then(RecipientInput::into_address)
        .or_else(|| from.clone());
    Ok(MessageProps {
        subject: input.subject.unwrap_or_default(),
        body_type,
        body: body.content.unwrap_or_default(),
        from,
        sender,
        to: addresses(input.to_recipients),
        cc: addresses(input.cc_recipients),
        bcc: addresses(input.bcc_recipients),
        reply_to: addresses(input.reply_to),
        internet_message_id: input
            .internet_message_id
            .filter(|s| !s.trim().is_empty())
            .unwrap_or_else(|| crate::data::default_message_id(mbx.guid(), key)),
        sent,
        received,
        importance,
        is_read,
        is_draft,
        flag_status,
        categories: input.categories.unwrap_or_default(),
        attachments,
        attachment_kinds,
        transport_headers,
        extended,
        inference_other: input
            .inference_classification
            .is_some_and(|c| c.eq_ignore_ascii_case("other")),
        delivery_receipt_requested: input.is_delivery_receipt_requested.unwrap_or(false),
        read_receipt_requested: input.is_read_receipt_requested.unwrap_or(false),
    })
}

fn props_from_mime(
    raw: &[u8],
    mbx: &Mailbox,
    key: u64,
    now: DateTime<Utc>,
) -> Result<MessageProps, GraphError> {
    let text: String = String::from_utf8_lossy(raw)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let mime = STANDARD.decode(text.as_bytes()).map_err(|_| {
        GraphError::new(
            StatusCode::BAD_REQUEST,
            "ErrorMimeContentInvalidBase64String",
            "Invalid base64 string for MIME content.",
        )
    })?;
    let p = crate::mime::parse(&mime)
        .map_err(|e| GraphError::new(StatusCode::BAD_REQUEST, "ErrorMimeContentInvalid", e))?;
    // Created from MIME: always a draft, as Exchange documents.
    Ok(crate::mime::props_from_parsed(p, mbx.guid(), key, now))
}

/// `POST /users/{id}/messages` (into Drafts) and
/// `POST /users/{id}/mailFolders/{id}/messages`: JSON or base64 MIME.
pub(crate) async fn create_message(
    axum::extract::State(shared): St,
    Path(p): Params,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let ctx = Ctx::new(&headers, None);
    respond(create_message_inner(&shared, &ctx, &p, &headers, body).await)
}

async fn create_message_inner(
    shared: &Shared,
    ctx: &Ctx,
    p: &BTreeMap<String, String>,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, GraphError> {
    let bytes = read_body(body).await?;
    let ct = content_type(headers);
    let is_mime = ct.starts_with("text/plain");
    if !is_mime && !ct.is_empty() && !ct.starts_with("application/json") {
        return Err(GraphError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UnsupportedMediaType",
            format!(
                "Content-Type '{ct}' is not supported; use application/json or text/plain (base64 MIME)."
            ),
        ));
    }
    let json_input: Option<MessageInput> = if is_mime {
        None
    } else {
        Some(parse_json(&bytes)?)
    };
    let mut t = shared.lock();
    let now = t.now();
    let mbx = mailbox_mut(&mut t, param(p, "uid"))?;
    let folder = match p.get("fid") {
        Some(fid) => folder_key(mbx, fid)?,
        None => mbx
            .folders
            .values()
            .find(|f| f.well_known == Some("drafts"))
            .map(|f| f.key)
            .ok_or_else(GraphError::item_not_found)?,
    };
    let key = mbx.next_key;
    let props = match json_input {
        Some(input) => props_from_json(input, mbx, key, now)?,
        None => props_from_mime(&bytes, mbx, key, now)?,
    };
    mbx.check_quota(crate::export::props_size(&props))?;
    let k = mbx.insert_message(folder, props, now);
    let m = stored_message(mbx, k)?;
    let v = message_entity(shared, mbx, m, ctx.form(), &MessageOptions::default());
    drop(t);
    let mut resp = graph_json(StatusCode::CREATED, v);
    preference_applied(&mut resp, &ctx.applied());
    Ok(resp)
}

// ---------------------------------------------------------------- update / delete / move

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct PatchInput {
    is_read: Option<bool>,
    subject: Option<String>,
    categories: Option<Vec<String>>,
    importance: Option<String>,
    flag: Option<FlagInput>,
    inference_classification: Option<String>,
    body: Option<BodyInput>,
    single_value_extended_properties: Option<Vec<ExtPropInput>>,
}

/// The MAPI properties the emulator gives meaning to (flags, delivery and submit time,
/// transport headers), canonical: set when a message is created, not changed by PATCH.
const MODELLED_TAGS: [&str; 4] = [
    "Integer 0xe07",
    "SystemTime 0xe06",
    "SystemTime 0x39",
    "String 0x7d",
];

/// A PATCH's `singleValueExtendedProperties`: custom (named or tagged) properties, canonical
/// id → value. Graph creates or updates them on any message, received ones too.
fn patched_extended(list: Vec<ExtPropInput>) -> Result<Vec<(String, String)>, GraphError> {
    let mut out = Vec::new();
    for p in list {
        let id = p.canonical_id()?;
        if MODELLED_TAGS.iter().any(|t| t.eq_ignore_ascii_case(&id)) {
            return Err(GraphError::new(
                StatusCode::BAD_REQUEST,
                "ErrorInvalidPropertyUpdateSentMessage",
                format!(
                    "Update operation is invalid for property '{}' of a saved message.",
                    p.id
                ),
            ));
        }
        out.push((id, p.value.unwrap_or_default()));
    }
    Ok(out)
}

pub(crate) async fn update_message(
    axum::extract::State(shared): St,
    Path(p): Params,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let ctx = Ctx::new(&headers, None);
    respond(
        async {
            let input: PatchInput = json_body(body).await?;
            let importance = input
                .importance
                .as_deref()
                .map(parse_importance)
                .transpose()?;
            let flag = input
                .flag
                .and_then(|f| f.flag_status)
                .as_deref()
                .map(parse_flag_status)
                .transpose()?;
            let body_type = input
                .body
                .as_ref()
                .and_then(|b| b.content_type.as_deref())
                .map(parse_body_type)
                .transpose()?;
            let extended =
                patched_extended(input.single_value_extended_properties.unwrap_or_default())?;
            let mut t = shared.lock();
            let now = t.now();
            let mbx = mailbox_mut(&mut t, param(&p, "uid"))?;
            let k = message_key(mbx, param(&p, "mid"))?;
            let is_draft = mbx.messages.get(&k).is_some_and(|m| m.props.is_draft);
            if (input.body.is_some() || input.subject.is_some()) && !is_draft {
                // Exchange allows these only on drafts.
                return Err(GraphError::new(
                    StatusCode::BAD_REQUEST,
                    "ErrorInvalidPropertyUpdateSentMessage",
                    "Update operation is invalid for property of a sent message.",
                ));
            }
            mbx.touch(k, now, |m| {
                if let Some(v) = input.is_read {
                    m.props.is_read = v;
                }
                if let Some(v) = input.subject {
                    m.props.subject = v;
                }
                if let Some(v) = input.categories {
                    m.props.categories = v;
                }
                if let Some(v) = importance {
                    m.props.importance = v;
                }
                if let Some(v) = flag {
                    m.props.flag_status = v;
                }
                if let Some(c) = input.inference_classification {
                    m.props.inference_other = c.eq_ignore_ascii_case("other");
                }
                m.props.extended.extend(extended);
                if let Some(b) = input.body {
                    if let Some(bt) = body_type {
                        m.props.body_type = bt;
                    }
                    if let Some(c) = b.content {
                        m.props.body = c;
                    }
                }
            });
            let m = stored_message(mbx, k)?;
            let v = message_entity(&shared, mbx, m, ctx.form(), &MessageOptions::default());
            Ok(graph_json(StatusCode::OK, v))
        }
        .await,
    )
}

/// `DELETE …/messages/{id}`: as in Exchange, a soft delete into the
/// dumpster's Deletions folder (`recoverableitemsdeletions`); the message
/// leaves its folder (an `@removed` in that folder's delta) and stays
/// readable by its immutable id. Deleting it there purges it.
pub(crate) async fn delete_message(axum::extract::State(shared): St, Path(p): Params) -> Response {
    respond((|| {
        let mut t = shared.lock();
        let now = t.now();
        let mbx = mailbox_mut(&mut t, param(&p, "uid"))?;
        let k = message_key(mbx, param(&p, "mid"))?;
        mbx.soft_delete_message(k, now);
        Ok(StatusCode::NO_CONTENT.into_response())
    })())
}

/// `POST …/messages/{id}/permanentDelete` (no body): the message goes to
/// the dumpster's Purges folder, which no client can read; 204.
pub(crate) async fn permanent_delete_message(
    axum::extract::State(shared): St,
    Path(p): Params,
    body: Body,
) -> Response {
    respond(
        async {
            let bytes = axum::body::to_bytes(body, 1 << 20)
                .await
                .map_err(|_| GraphError::invalid_request("The request body could not be read."))?;
            if !bytes.iter().all(u8::is_ascii_whitespace) && bytes.as_ref() != b"{}" {
                return Err(GraphError::invalid_request(
                    "permanentDelete does not take a request body.",
                ));
            }
            let mut t = shared.lock();
            let mbx = mailbox_mut(&mut t, param(&p, "uid"))?;
            let k = message_key(mbx, param(&p, "mid"))?;
            mbx.delete_message(k);
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        .await,
    )
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MoveInput {
    destination_id: Option<String>,
}

pub(crate) async fn move_message(
    axum::extract::State(shared): St,
    Path(p): Params,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let ctx = Ctx::new(&headers, None);
    respond(
        async {
            let input: MoveInput = json_body(body).await?;
            let dest = input
                .destination_id
                .filter(|d| !d.trim().is_empty())
                .ok_or_else(|| {
                    GraphError::invalid_request("The destinationId parameter is required.")
                })?;
            let mut t = shared.lock();
            let now = t.now();
            let mbx = mailbox_mut(&mut t, param(&p, "uid"))?;
            let k = message_key(mbx, param(&p, "mid"))?;
            let d = folder_key(mbx, &dest)?;
            mbx.move_message(k, d, now);
            let m = stored_message(mbx, k)?;
            let v = message_entity(&shared, mbx, m, ctx.form(), &MessageOptions::default());
            Ok(graph_json(StatusCode::CREATED, v))
        }
        .await,
    )
}

// ---------------------------------------------------------------- attachments

pub(crate) async fn list_attachments(
    axum::extract::State(shared): St,
    Path(p): Params,
    headers: HeaderMap,
) -> Response {
    let ctx = Ctx::new(&headers, None);
    respond((|| {
        let t = shared.lock();
        let mbx = mailbox(&t, param(&p, "uid"))?;
        let m = stored_message(mbx, message_key(mbx, param(&p, "mid"))?)?;
        let list: Vec<Value> = m
            .props
            .attachments
            .iter()
            .map(|a| attachment_json(mbx, m, a, ctx.form(), true))
            .collect();
        let mid = mbx.message_id(m, ctx.form());
        let context = format!(
            "{}/$metadata#users('{}')/messages('{mid}')/attachments",
            shared.graph_url(),
            mbx.user.id
        );
        Ok(graph_json(
            StatusCode::OK,
            json!({"@odata.context": context, "value": list}),
        ))
    })())
}

fn find_attachment<'a>(
    mbx: &'a Mailbox,
    p: &BTreeMap<String, String>,
) -> Result<(&'a Message, &'a Attachment), GraphError> {
    let k = message_key(mbx, param(p, "mid"))?;
    let (mk, ak) = mbx.attachment_key(param(p, "aid")).map_err(lookup_err)?;
    if mk != k {
        return Err(GraphError::item_not_found());
    }
    let m = stored_message(mbx, k)?;
    let a = m
        .props
        .attachments
        .iter()
        .find(|a| a.key == ak)
        .ok_or_else(GraphError::item_not_found)?;
    Ok((m, a))
}

pub(crate) async fn get_attachment(
    axum::extract::State(shared): St,
    Path(p): Params,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    let ctx = Ctx::new(&headers, raw);
    respond((|| {
        let t = shared.lock();
        let mbx = mailbox(&t, param(&p, "uid"))?;
        let (m, a) = find_attachment(mbx, &p)?;
        let mut v = attachment_json(mbx, m, a, ctx.form(), true);
        if let Some(expand) = ctx.query.get("$expand") {
            if !expand.eq_ignore_ascii_case("microsoft.graph.itemattachment/item") {
                return Err(GraphError::bad_request(format!(
                    "Parsing OData Select and Expand failed: Could not find a property named '{expand}' on type 'microsoft.graph.attachment'."
                )));
            }
            if m.props.attachment_kind(a.key) == AttachmentKind::Item
                && let Some(obj) = v.as_object_mut()
            {
                obj.insert(
                    "item".into(),
                    crate::json::attached_item_json(
                        &a.bytes.data(),
                        &mbx.attachment_id(m, a, ctx.form()),
                    ),
                );
            }
        }
        let context = format!(
            "{}/$metadata#users('{}')/messages('{}')/attachments/$entity",
            shared.graph_url(),
            mbx.user.id,
            mbx.message_id(m, ctx.form())
        );
        Ok(graph_json(StatusCode::OK, with_context(context, v)))
    })())
}

pub(crate) async fn get_attachment_value(
    axum::extract::State(shared): St,
    Path(p): Params,
) -> Response {
    respond((|| {
        let t = shared.lock();
        let mbx = mailbox(&t, param(&p, "uid"))?;
        let (m, a) = find_attachment(mbx, &p)?;
        if m.props.attachment_kind(a.key) == AttachmentKind::Reference {
            return Err(GraphError::bad_request(
                "A reference attachment is a link: it has no raw content.",
            ));
        }
        let ct = HeaderValue::from_str(&a.content_type)
            .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"));
        let mut resp = (StatusCode::OK, a.bytes.data().into_owned()).into_response();
        resp.headers_mut()
            .insert(axum::http::header::CONTENT_TYPE, ct);
        Ok(resp)
    })())
}

/// `POST .../messages/{id}/attachments` (file attachments, body ≤ 4 MB).
pub(crate) async fn add_attachment(
    axum::extract::State(shared): St,
    Path(p): Params,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let ctx = Ctx::new(&headers, None);
    respond(
        async {
            let input: AttachmentInput = json_body(body).await?;
            let mut t = shared.lock();
            let now = t.now();
            let mbx = mailbox_mut(&mut t, param(&p, "uid"))?;
            let k = message_key(mbx, param(&p, "mid"))?;
            let next = mbx
                .messages
                .get(&k)
                .map(|m| m.props.attachments.iter().map(|a| a.key).max().unwrap_or(0) + 1)
                .unwrap_or(1);
            let (att, kind) = attachment_from_input(input, next, now, mbx)?;
            mbx.check_quota(crate::quota::attachments_size(std::slice::from_ref(&att)) as u64)?;
            mbx.touch(k, now, |m| {
                if kind != AttachmentKind::File {
                    m.props.attachment_kinds.insert(att.key, kind);
                }
                m.props.attachments.push(att);
            });
            let m = stored_message(mbx, k)?;
            let a = m
                .props
                .attachments
                .iter()
                .find(|a| a.key == next)
                .ok_or_else(GraphError::item_not_found)?;
            let v = attachment_json(mbx, m, a, ctx.form(), false);
            Ok(graph_json(StatusCode::CREATED, v))
        }
        .await,
    )
}
