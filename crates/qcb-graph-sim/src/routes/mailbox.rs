//! Full-fidelity mailbox export and import (`/admin/exchange/mailboxes`,
//! v1.0 and beta): folder and item delta, `exportItems`,
//! `createImportSession` and the pre-authenticated import URL.
//!
//! The mailbox is named by its `primaryMailboxId` (`MBX:…`, from
//! `GET /users/{id}/settings/exchange`). Folders and items are the mail
//! store's (`mailFolders`, `messages`); the export stream is
//! [`crate::export`]'s own format.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::extract::{OriginalUri, Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::mail::{
    Ctx, DEFAULT_PAGE, DeltaPage, HierarchyDelta, MAX_PAGE, delta_response, hierarchy_delta,
    lookup_err, respond,
};
use super::{St, graph_json, read_body, with_context};
use crate::Shared;
use crate::delta::{DeltaState, Entry};
use crate::error::GraphError;
use crate::ids::{self, IdForm};
use crate::json::{check_select, filter_map, removed_json, ts};
use crate::model::{MSGFOLDERROOT_KEY, Mailbox, Message};
use crate::odata::{ReceivedFilter, parse_received_filter};
use crate::store::Tenant;

/// Most items one `exportItems` call takes.
pub(crate) const MAX_EXPORT: usize = 20;
/// How long an import URL stays valid (the emulator's choice).
const IMPORT_SESSION_SECS: i64 = 3600;
/// Largest import request body: a 150 MB message, base64, in JSON.
const MAX_IMPORT_BODY: usize = 210 * 1024 * 1024;

/// Delta token collections (a folder key never has these bits).
const HIERARCHY: u64 = 1 << 62;
const CHILDREN: u64 = 1 << 61;
const ITEMS: u64 = 1 << 60;

pub(crate) const MAILBOX_FOLDER_PROPS: &[&str] = &[
    "id",
    "displayName",
    "parentFolderId",
    "childFolderCount",
    "totalItemCount",
    "type",
];
pub(crate) const MAILBOX_ITEM_PROPS: &[&str] = &[
    "id",
    "createdDateTime",
    "lastModifiedDateTime",
    "changeKey",
    "categories",
    "type",
    "size",
];

/// An open import session.
struct ImportSession {
    user_id: String,
    expires: DateTime<Utc>,
}

/// Open import sessions by authtoken.
#[derive(Default)]
pub(crate) struct Imports(Mutex<HashMap<String, ImportSession>>);

impl Imports {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, ImportSession>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Routes behind the bearer check.
pub(crate) fn graph_routes() -> Router<Arc<Shared>> {
    let mut r = Router::new();
    for v in ["v1.0", "beta"] {
        let base = format!("/{v}/admin/exchange/mailboxes/{{mbx}}");
        r = r
            .route(&format!("{base}/folders/delta"), get(folders_delta))
            .route(
                &format!("{base}/folders/{{fid}}/childFolders/delta"),
                get(child_folders_delta),
            )
            .route(
                &format!("{base}/folders/{{fid}}/items/delta"),
                get(items_delta),
            )
            .route(&format!("{base}/exportItems"), post(export_items))
            .route(
                &format!("{base}/createImportSession"),
                post(create_import_session),
            );
    }
    r
}

/// The pre-authenticated import URL (no bearer check).
pub(crate) fn import_routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/api/gv1.0/{*rest}", post(import_item))
        .route("/api/gbeta/{*rest}", post(import_item))
}

/// `v1.0` or `beta`, from the request path.
fn version(uri: &OriginalUri) -> &'static str {
    if uri.path().starts_with("/beta/") {
        "beta"
    } else {
        "v1.0"
    }
}

fn mailbox_index(t: &Tenant, mbx: &str) -> Result<usize, GraphError> {
    t.mailbox_by_primary_id(mbx).ok_or_else(|| {
        GraphError::new(
            StatusCode::NOT_FOUND,
            "ErrorMailboxNotFound",
            format!("The mailbox '{mbx}' was not found."),
        )
    })
}

fn base_url(shared: &Shared, v: &str, mbx: &Mailbox) -> String {
    format!(
        "{}/{v}/admin/exchange/mailboxes/{}",
        shared.base_url,
        mbx.primary_mailbox_id()
    )
}

fn folder_type(mbx: &Mailbox, key: u64) -> &'static str {
    match mbx.folders.get(&key).and_then(|f| f.well_known) {
        Some("conversationhistory") => "IPF.Note.Conversation",
        _ => "IPF.Note",
    }
}

/// What a folder of the mailbox API is in the store. The API sees one
/// folder hierarchy, as Exchange keeps it; the emulator keeps mail folders,
/// contact folders, calendars and To Do lists apart (same key space).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Container {
    Mail(u64),
    Contacts(u64),
    Calendar(u64),
    Tasks(u64),
}

impl Container {
    fn key(self) -> u64 {
        match self {
            Container::Mail(k)
            | Container::Contacts(k)
            | Container::Calendar(k)
            | Container::Tasks(k) => k,
        }
    }

    /// The folder class (PidTagContainerClass), `mailboxFolder.type`.
    fn folder_class(self, mbx: &Mailbox) -> &'static str {
        match self {
            Container::Mail(k) => folder_type(mbx, k),
            Container::Contacts(_) => "IPF.Contact",
            Container::Calendar(_) => "IPF.Appointment",
            Container::Tasks(_) => "IPF.Task",
        }
    }

    /// The class of the items it holds (`mailboxItem.type`).
    fn item_class(self) -> &'static str {
        match self {
            Container::Mail(_) => crate::export::MESSAGE_CLASS,
            Container::Contacts(_) => crate::export::CONTACT_CLASS,
            Container::Calendar(_) => crate::export::EVENT_CLASS,
            Container::Tasks(_) => crate::export::TASK_CLASS,
        }
    }
}

/// The default To Do list: the well-known Tasks folder (below
/// msgfolderroot), parent of the other lists. "Flagged email" is a view of
/// flagged mail, not a folder of its own, so the mailbox API does not list it.
fn tasks_folder(mbx: &Mailbox) -> Option<u64> {
    mbx.pim
        .todo_lists
        .values()
        .find(|l| l.well_known == "defaultList")
        .map(|l| l.key)
}

/// Every folder the mailbox API lists: (folder, parent key, change number).
fn api_folders(mbx: &Mailbox) -> Vec<(Container, u64, u64)> {
    let mut v: Vec<(Container, u64, u64)> = mbx
        .descendants(MSGFOLDERROOT_KEY)
        .into_iter()
        .filter_map(|k| mbx.folders.get(&k))
        .map(|f| {
            (
                Container::Mail(f.key),
                f.parent.unwrap_or(MSGFOLDERROOT_KEY),
                f.change_seq,
            )
        })
        .collect();
    v.extend(mbx.pim.contact_folders.values().map(|f| {
        (
            Container::Contacts(f.key),
            f.parent.unwrap_or(MSGFOLDERROOT_KEY),
            f.change_seq,
        )
    }));
    v.extend(
        mbx.pim
            .calendars
            .values()
            .map(|c| (Container::Calendar(c.key), MSGFOLDERROOT_KEY, c.change_seq)),
    );
    let tasks = tasks_folder(mbx);
    v.extend(
        mbx.pim
            .todo_lists
            .values()
            .filter(|l| l.well_known != "flaggedEmails")
            .map(|l| {
                let parent = match tasks {
                    Some(t) if t != l.key => t,
                    _ => MSGFOLDERROOT_KEY,
                };
                (Container::Tasks(l.key), parent, l.change_seq)
            }),
    );
    v
}

/// The folders below `root` (any depth): (change number, key).
fn api_descendants(mbx: &Mailbox, root: u64) -> Vec<(u64, u64)> {
    let all = api_folders(mbx);
    let mut out = Vec::new();
    let mut stack = vec![root];
    while let Some(p) = stack.pop() {
        for (c, parent, seq) in &all {
            if *parent == p && c.key() != p {
                out.push((*seq, c.key()));
                stack.push(c.key());
            }
        }
    }
    out
}

fn container_of(mbx: &Mailbox, key: u64) -> Option<Container> {
    if mbx.folders.contains_key(&key) {
        Some(Container::Mail(key))
    } else if mbx.pim.contact_folders.contains_key(&key) {
        Some(Container::Contacts(key))
    } else if mbx.pim.calendars.contains_key(&key) {
        Some(Container::Calendar(key))
    } else if mbx
        .pim
        .todo_lists
        .get(&key)
        .is_some_and(|l| l.well_known != "flaggedEmails")
    {
        Some(Container::Tasks(key))
    } else {
        None
    }
}

/// A folder of the mailbox API by id, or by well-known name (the mail
/// ones, `contacts`, `calendar`, `tasks`).
fn container_key(mbx: &Mailbox, r: &str) -> Result<Container, crate::store::Lookup> {
    use crate::store::Lookup;
    let name = r.trim();
    let by_name = if name.eq_ignore_ascii_case("contacts") {
        Some(mbx.default_contact_folder().map(Container::Contacts))
    } else if name.eq_ignore_ascii_case("calendar") {
        Some(mbx.default_calendar().map(Container::Calendar))
    } else if name.eq_ignore_ascii_case("tasks") {
        Some(tasks_folder(mbx).map(Container::Tasks))
    } else {
        None
    };
    if let Some(found) = by_name {
        return found.ok_or(Lookup::NotFound);
    }
    if let Ok(k) = mbx.folder_key(r) {
        return Ok(Container::Mail(k));
    }
    match ids::decode(r) {
        None => Err(Lookup::Malformed),
        Some((g, ids::IdRef::Folder { key })) if &g == mbx.guid() => {
            container_of(mbx, key).ok_or(Lookup::NotFound)
        }
        Some(_) => Err(Lookup::NotFound),
    }
}

fn container_id(mbx: &Mailbox, c: Container) -> String {
    match c {
        Container::Mail(k) => mbx.folder_id(k),
        Container::Contacts(k) => mbx.contact_folder_id(k),
        Container::Calendar(k) => mbx.calendar_id(k),
        Container::Tasks(k) => mbx.todo_list_id(k),
    }
}

/// Items in a folder of the mailbox API.
fn container_items(mbx: &Mailbox, c: Container) -> usize {
    match c {
        Container::Mail(k) => mbx.total_items(k),
        Container::Contacts(k) => mbx.pim.contacts.values().filter(|x| x.folder == k).count(),
        Container::Calendar(k) => mbx.pim.events.values().filter(|x| x.calendar == k).count(),
        Container::Tasks(k) => mbx.pim.tasks.values().filter(|x| x.list == k).count(),
    }
}

fn mailbox_folder_json(mbx: &Mailbox, key: u64, v: &str, select: Option<&[String]>) -> Value {
    let Some(c) = container_of(mbx, key) else {
        return Value::Null;
    };
    let all = api_folders(mbx);
    let Some(&(_, parent, _)) = all.iter().find(|(x, _, _)| *x == c) else {
        return Value::Null;
    };
    let parent_id = match container_of(mbx, parent) {
        Some(p) => container_id(mbx, p),
        None => mbx.folder_id(parent),
    };
    let (name, well_known) = match c {
        Container::Mail(k) => {
            let f = mbx.folders.get(&k);
            (
                f.map(|f| f.display_name.clone()).unwrap_or_default(),
                f.and_then(|f| f.well_known),
            )
        }
        Container::Contacts(k) => {
            let f = mbx.pim.contact_folders.get(&k);
            (
                f.map(|f| f.display_name.clone()).unwrap_or_default(),
                f.filter(|f| f.is_default).map(|_| "contacts"),
            )
        }
        Container::Calendar(k) => {
            let f = mbx.pim.calendars.get(&k);
            (
                f.map(|f| f.name.clone()).unwrap_or_default(),
                f.filter(|f| f.is_default).map(|_| "calendar"),
            )
        }
        Container::Tasks(k) => (
            mbx.pim
                .todo_lists
                .get(&k)
                .map(|l| l.display_name.clone())
                .unwrap_or_default(),
            (tasks_folder(mbx) == Some(k)).then_some("tasks"),
        ),
    };
    let children = all.iter().filter(|(_, p, _)| *p == key).count();
    let mut out = Map::new();
    out.insert(
        "@odata.type".into(),
        json!("#microsoft.graph.mailboxFolder"),
    );
    let mut full: Vec<(&'static str, Value)> = vec![
        ("id", json!(container_id(mbx, c))),
        ("displayName", json!(name)),
        ("parentFolderId", json!(parent_id)),
        ("childFolderCount", json!(children)),
        ("totalItemCount", json!(container_items(mbx, c))),
        ("type", json!(c.folder_class(mbx))),
    ];
    if v == "beta" {
        full.push(("wellKnownName", json!(well_known)));
    }
    out.extend(filter_map(full, select));
    Value::Object(out)
}

/// A contact, event or task of the mailbox API as `mailboxItem`.
fn pim_item_json(
    mbx: &Mailbox,
    c: Container,
    key: u64,
    form: IdForm,
    select: Option<&[String]>,
) -> Option<Value> {
    let (seq, created, modified, categories, stream) = match c {
        Container::Mail(_) => return None,
        Container::Contacts(_) => {
            let x = mbx.pim.contacts.get(&key)?;
            (
                x.change_seq,
                x.created,
                x.last_modified,
                x.props.get("categories").cloned().unwrap_or(json!([])),
                crate::export::encode_contact(x),
            )
        }
        Container::Calendar(_) => {
            let x = mbx.pim.events.get(&key)?;
            (
                x.change_seq,
                x.created,
                x.last_modified,
                json!(x.props.categories),
                crate::export::encode_event(x),
            )
        }
        Container::Tasks(_) => {
            let x = mbx.pim.tasks.get(&key)?;
            (
                x.change_seq,
                x.created,
                x.last_modified,
                json!(x.categories),
                crate::export::encode_task(x),
            )
        }
    };
    let change_key = ids::change_key(mbx.guid(), seq);
    let mut out = Map::new();
    out.insert("@odata.type".into(), json!("#microsoft.graph.mailboxItem"));
    out.insert("@odata.etag".into(), json!(format!("W/\"{change_key}\"")));
    let full: Vec<(&'static str, Value)> = vec![
        ("createdDateTime", json!(ts(&created))),
        ("lastModifiedDateTime", json!(ts(&modified))),
        ("changeKey", json!(change_key)),
        ("categories", categories),
        ("type", json!(c.item_class())),
        ("size", json!(crate::export::stream_size(&stream))),
        ("id", json!(mbx.item_id(key, c.key(), form))),
    ];
    out.extend(filter_map(full, select));
    Some(Value::Object(out))
}

/// A contact, event or task by item id (regular or immutable): its folder
/// and key.
fn pim_item(mbx: &Mailbox, id: &str) -> Result<(Container, u64), crate::store::Lookup> {
    use crate::store::Lookup;
    let (key, scope) = match ids::decode(id) {
        None => return Err(Lookup::Malformed),
        Some((g, _)) if &g != mbx.guid() => return Err(Lookup::NotFound),
        Some((_, ids::IdRef::ImmutableMessage { key })) => (key, None),
        Some((_, ids::IdRef::Message { key, folder, .. })) => (key, Some(folder)),
        Some(_) => return Err(Lookup::NotFound),
    };
    let found = if let Some(x) = mbx.pim.contacts.get(&key) {
        Some(Container::Contacts(x.folder))
    } else if let Some(x) = mbx.pim.events.get(&key) {
        Some(Container::Calendar(x.calendar))
    } else {
        mbx.pim.tasks.get(&key).map(|x| Container::Tasks(x.list))
    };
    match found {
        Some(c) if scope.is_none_or(|s| s == c.key()) => Ok((c, key)),
        _ => Err(Lookup::NotFound),
    }
}

/// Every entry of a delta round over a contact, calendar or task folder:
/// `((change number, key, removed?), rendered)`, in change order.
fn pim_round(mbx: &Mailbox, c: Container, st: &DeltaState, to_seq: u64) -> Vec<(u64, u64, bool)> {
    use crate::pim::Kind;
    let in_round = |seq: u64| seq <= to_seq && (st.initial || seq > st.from_seq);
    let (kind, mut out): (Kind, Vec<(u64, u64, bool)>) = match c {
        Container::Mail(_) => return Vec::new(),
        Container::Contacts(f) => (
            Kind::Contact,
            mbx.pim
                .contacts
                .values()
                .filter(|x| x.folder == f && in_round(x.change_seq))
                .map(|x| (x.change_seq, x.key, false))
                .collect(),
        ),
        Container::Calendar(f) => (
            Kind::Event,
            mbx.pim
                .events
                .values()
                .filter(|x| x.calendar == f && in_round(x.change_seq))
                .map(|x| (x.change_seq, x.key, false))
                .collect(),
        ),
        Container::Tasks(f) => (
            Kind::TodoTask,
            mbx.pim
                .tasks
                .values()
                .filter(|x| x.list == f && in_round(x.change_seq))
                .map(|x| (x.change_seq, x.key, false))
                .collect(),
        ),
    };
    if !st.initial {
        out.extend(
            mbx.pim
                .tombstones
                .iter()
                .filter(|t| t.kind == kind && t.scope == c.key() && in_round(t.seq))
                .map(|t| (t.seq, t.key, true)),
        );
    }
    out.sort_unstable();
    out
}

fn mailbox_item_json(mbx: &Mailbox, m: &Message, form: IdForm, select: Option<&[String]>) -> Value {
    let change_key = ids::change_key(mbx.guid(), m.change_seq);
    let mut out = Map::new();
    out.insert("@odata.type".into(), json!("#microsoft.graph.mailboxItem"));
    out.insert("@odata.etag".into(), json!(format!("W/\"{change_key}\"")));
    let full: Vec<(&'static str, Value)> = vec![
        ("createdDateTime", json!(ts(&m.created))),
        ("lastModifiedDateTime", json!(ts(&m.last_modified))),
        ("changeKey", json!(change_key)),
        ("categories", json!(m.props.categories)),
        ("type", json!(crate::export::MESSAGE_CLASS)),
        ("size", json!(crate::export::size(m))),
        ("id", json!(mbx.message_id(m, form))),
    ];
    out.extend(filter_map(full, select));
    Value::Object(out)
}

// ---------------------------------------------------------------- folders

async fn folders_delta(
    State(shared): St,
    uri: OriginalUri,
    Path(mbx): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let ctx = Ctx::new(&headers, q);
    let v = version(&uri);
    respond(folders_delta_inner(&shared, &ctx, v, &mbx, None))
}

async fn child_folders_delta(
    State(shared): St,
    uri: OriginalUri,
    Path((mbx, fid)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let ctx = Ctx::new(&headers, q);
    let v = version(&uri);
    respond(folders_delta_inner(&shared, &ctx, v, &mbx, Some(&fid)))
}

fn folders_delta_inner(
    shared: &Shared,
    ctx: &Ctx,
    v: &str,
    mbx_id: &str,
    parent: Option<&str>,
) -> Result<Response, GraphError> {
    let t = shared.lock();
    let i = mailbox_index(&t, mbx_id)?;
    let mbx = &t.mailboxes[i];
    let (root, collection, base) = match parent {
        None => (
            MSGFOLDERROOT_KEY,
            HIERARCHY,
            format!("{}/folders/delta", base_url(shared, v, mbx)),
        ),
        Some(fid) => {
            let c = container_key(mbx, fid).map_err(lookup_err)?;
            (
                c.key(),
                CHILDREN | c.key(),
                format!(
                    "{}/folders/{}/childFolders/delta",
                    base_url(shared, v, mbx),
                    container_id(mbx, c)
                ),
            )
        }
    };
    hierarchy_delta(
        shared,
        ctx,
        t,
        i,
        HierarchyDelta {
            collection,
            base,
            props: MAILBOX_FOLDER_PROPS,
            entity: "mailboxFolder",
        },
        |mbx| api_descendants(mbx, root),
        |mbx, k, select| Some(mailbox_folder_json(mbx, k, v, select)),
    )
}

// ---------------------------------------------------------------- items

async fn items_delta(
    State(shared): St,
    uri: OriginalUri,
    Path((mbx, fid)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let ctx = Ctx::new(&headers, q);
    let v = version(&uri);
    respond(items_delta_inner(&shared, &ctx, v, &mbx, &fid))
}

fn items_delta_inner(
    shared: &Shared,
    ctx: &Ctx,
    v: &str,
    mbx_id: &str,
    fid: &str,
) -> Result<Response, GraphError> {
    let t = shared.lock();
    let i = mailbox_index(&t, mbx_id)?;
    let mbx = &t.mailboxes[i];
    let container = container_key(mbx, fid).map_err(lookup_err)?;
    let fk = container.key();
    let base = format!(
        "{}/folders/{}/items/delta",
        base_url(shared, v, mbx),
        container_id(mbx, container)
    );
    let mismatch = "The sync state was issued for another folder.";
    let (state, to_seq) = match super::mail::resume(&t, ctx, i, ITEMS | fk, mismatch, &base)? {
        Some(r) => r,
        None => {
            let select = check_select(ctx.query.select(), MAILBOX_ITEM_PROPS, "mailboxItem")?;
            let filter: Option<ReceivedFilter> = parse_received_filter(ctx.query.get("$filter"))?;
            if let Some(o) = ctx.query.get("$orderby")
                && !o.trim().eq_ignore_ascii_case("receivedDateTime desc")
            {
                return Err(GraphError::bad_request(
                    "The only supported $orderby expression is 'receivedDateTime desc'.",
                ));
            }
            if ctx.query.get("$search").is_some() {
                return Err(GraphError::bad_request(
                    "$search is not supported on this delta query.",
                ));
            }
            let top = ctx.query.usize_option("$top")?;
            (
                DeltaState {
                    select: select.map(|s| s.join(",")),
                    filter,
                    page_size: top.map(|n| n.clamp(1, MAX_PAGE) as u32),
                    ..DeltaState::first_round(t.instance, i as u32, ITEMS | fk, mbx.seq)
                },
                mbx.seq,
            )
        }
    };
    let size = ctx
        .prefer
        .max_page_size
        .or(state.page_size.map(|n| n as usize))
        .unwrap_or(DEFAULT_PAGE)
        .clamp(1, MAX_PAGE);
    let form = ctx.form();
    let select = state.select_list();
    let folder_state = DeltaState {
        folder: fk,
        ..state.clone()
    };
    let (value, next) = if let Container::Mail(_) = container {
        let (entries, next) = crate::delta::page(mbx, &folder_state, to_seq, form, size);
        let value: Vec<Value> = entries
            .into_iter()
            .map(|e| match e {
                Entry::Item(m) => mailbox_item_json(mbx, m, form, select.as_deref()),
                Entry::Removed {
                    key,
                    folder,
                    move_gen,
                } => removed_json(ids::message_id(mbx.guid(), form, key, folder, move_gen)),
            })
            .collect();
        (value, next)
    } else {
        let all = pim_round(mbx, container, &folder_state, to_seq);
        let start = match folder_state.cursor {
            None => 0,
            Some(c) => all.partition_point(|e| *e <= c),
        };
        let rest = &all[start..];
        let page = &rest[..rest.len().min(size)];
        let value: Vec<Value> = page
            .iter()
            .filter_map(|&(_, key, removed)| {
                if removed {
                    Some(removed_json(mbx.item_id(key, fk, form)))
                } else {
                    pim_item_json(mbx, container, key, form, select.as_deref())
                }
            })
            .collect();
        let next = page.last().copied().filter(|_| rest.len() > page.len());
        (value, next)
    };
    let key = t.key;
    drop(t);
    let page = DeltaPage {
        entity: "mailboxItem",
        base,
        state,
        to_seq,
        next,
        value,
    };
    Ok(delta_response(shared, &key, ctx, ctx.applied(), page))
}

// ---------------------------------------------------------------- export

fn field<'a>(v: &'a Value, name: &str) -> Option<&'a Value> {
    v.as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

async fn export_items(
    State(shared): St,
    uri: OriginalUri,
    Path(mbx): Path<String>,
    body: Body,
) -> Response {
    let v = version(&uri);
    let result = async {
        let bytes = read_body(body).await?;
        let req: Value =
            serde_json::from_slice(&bytes).map_err(|_| GraphError::malformed_json())?;
        let ids: Vec<String> = match field(&req, "itemIds").and_then(Value::as_array) {
            Some(a) => a
                .iter()
                .map(|x| {
                    x.as_str().map(str::to_string).ok_or_else(|| {
                        GraphError::bad_request("itemIds must be a collection of strings.")
                    })
                })
                .collect::<Result<_, _>>()?,
            None => {
                return Err(GraphError::bad_request(
                    "The parameter 'itemIds' is missing in the request body.",
                ));
            }
        };
        if ids.is_empty() {
            return Err(GraphError::invalid_request(
                "itemIds must name at least one item.",
            ));
        }
        if ids.len() > MAX_EXPORT {
            return Err(GraphError::invalid_request(format!(
                "An export request takes at most {MAX_EXPORT} items; {} were given.",
                ids.len()
            )));
        }
        let t = shared.lock();
        let mbx = &t.mailboxes[mailbox_index(&t, &mbx)?];
        let value: Vec<Value> = ids
            .iter()
            .map(|id| match export_one(mbx, id) {
                Ok((change_seq, data)) => json!({
                    "itemId": id,
                    "changeKey": ids::change_key(mbx.guid(), change_seq),
                    "data": data,
                }),
                Err(l) => {
                    let (code, message) = match l {
                        crate::store::Lookup::Malformed => {
                            ("ErrorInvalidIdMalformed", "Id is malformed.")
                        }
                        crate::store::Lookup::NotFound => (
                            "ErrorItemNotFound",
                            "The specified object was not found in the store.",
                        ),
                    };
                    json!({"itemId": id, "error": {"code": code, "message": message}})
                }
            })
            .collect();
        drop(t);
        Ok(graph_json(
            StatusCode::OK,
            json!({
                "@odata.context": format!(
                    "{}/{v}/$metadata#Collection(microsoft.graph.exportItemResponse)",
                    shared.base_url
                ),
                "value": value,
            }),
        ))
    }
    .await;
    respond(result)
}

/// The change number and export stream of a message, contact, event or task.
fn export_one(mbx: &Mailbox, id: &str) -> Result<(u64, String), crate::store::Lookup> {
    match mbx.message_key(id) {
        Ok(k) => {
            let m = &mbx.messages[&k];
            return Ok((m.change_seq, crate::export::encode(m)));
        }
        Err(crate::store::Lookup::Malformed) => return Err(crate::store::Lookup::Malformed),
        Err(crate::store::Lookup::NotFound) => {}
    }
    let (c, key) = pim_item(mbx, id)?;
    let found = match c {
        Container::Contacts(_) => mbx
            .pim
            .contacts
            .get(&key)
            .map(|x| (x.change_seq, crate::export::encode_contact(x))),
        Container::Calendar(_) => mbx
            .pim
            .events
            .get(&key)
            .map(|x| (x.change_seq, crate::export::encode_event(x))),
        Container::Tasks(_) => mbx
            .pim
            .tasks
            .get(&key)
            .map(|x| (x.change_seq, crate::export::encode_task(x))),
        Container::Mail(_) => None,
    };
    found.ok_or(crate::store::Lookup::NotFound)
}

// ---------------------------------------------------------------- import

async fn create_import_session(
    State(shared): St,
    uri: OriginalUri,
    Path(mbx): Path<String>,
) -> Response {
    let v = version(&uri);
    respond((|| {
        let t = shared.lock();
        let i = mailbox_index(&t, &mbx)?;
        let m = &t.mailboxes[i];
        // A full mailbox takes no imports (Graph, concepts/errors.md: 507).
        m.check_quota(0)?;
        let user_id = m.user.id.clone();
        let mbx_id = m.primary_mailbox_id();
        let expires = t.now() + chrono::Duration::seconds(IMPORT_SESSION_SECS);
        drop(t);
        let authtoken = super::auth::opaque_token("eyJhbGciOiJSUzI1NiIsImtpZCI6", 180);
        let g = if v == "beta" { "gbeta" } else { "gv1.0" };
        let import_url = format!(
            "{}/api/{g}/Mailboxes('{mbx_id}')/importItem?authtoken={authtoken}",
            shared.base_url
        );
        shared
            .proto
            .imports
            .lock()
            .insert(authtoken, ImportSession { user_id, expires });
        let body = with_context(
            format!(
                "{}/{v}/$metadata#microsoft.graph.mailboxItemImportSession",
                shared.base_url
            ),
            json!({
                "importUrl": import_url,
                "expirationDateTime": format!("{}.0000000Z", expires.format("%Y-%m-%dT%H:%M:%S")),
            }),
        );
        Ok(graph_json(StatusCode::OK, body))
    })())
}

fn authtoken(query: Option<&str>) -> Option<String> {
    url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .find(|(k, _)| k == "authtoken")
        .map(|(_, v)| v.into_owned())
}

/// `Mailboxes('MBX:…')/importItem` → the mailbox id. (The outer
/// middleware has already turned the key syntax into `mailboxes/MBX:…`.)
fn import_target(rest: &str) -> Option<String> {
    let decoded = super::percent_decode(rest);
    let (head, tail) = decoded.rsplit_once('/')?;
    if !tail.eq_ignore_ascii_case("importItem") {
        return None;
    }
    let (name, id) = match head.split_once('(') {
        Some((name, key)) => (name, key.strip_suffix(')')?.trim_matches('\'')),
        None => head.split_once('/')?,
    };
    (name.eq_ignore_ascii_case("mailboxes") && !id.is_empty()).then(|| id.to_string())
}

/// `POST {importUrl}` with `{FolderId, Mode, Data[, ItemId, ChangeKey]}`.
async fn import_item(
    State(shared): St,
    uri: OriginalUri,
    Path(rest): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let g = if uri.path().starts_with("/api/gbeta/") {
        "gbeta"
    } else {
        "gv1.0"
    };
    match import_inner(&shared, g, &rest, uri.query(), &headers, body).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn import_inner(
    shared: &Shared,
    g: &str,
    rest: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, GraphError> {
    if headers.contains_key(header::AUTHORIZATION) {
        return Err(GraphError::unauthenticated(
            "The import URL is pre-authenticated: send no Authorization header.",
        ));
    }
    let mbx_id = import_target(rest).ok_or_else(|| {
        GraphError::bad_request("Resource not found for the segment 'importItem'.")
    })?;
    let token =
        authtoken(query).ok_or_else(|| GraphError::unauthenticated("Missing authtoken."))?;
    let now = shared.lock().now();
    let user_id = {
        let sessions = shared.proto.imports.lock();
        let s = sessions
            .get(&token)
            .ok_or_else(|| GraphError::unauthenticated("Invalid authtoken."))?;
        if s.expires <= now {
            return Err(GraphError::unauthenticated(
                "The import session has expired: create a new one.",
            ));
        }
        s.user_id.clone()
    };
    let bytes = axum::body::to_bytes(body, MAX_IMPORT_BODY)
        .await
        .map_err(|_| GraphError::too_large())?;
    let req: Value = serde_json::from_slice(&bytes).map_err(|_| GraphError::malformed_json())?;
    let text = |name: &str| {
        field(&req, name)
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let required = |name: &str| {
        text(name).ok_or_else(|| {
            GraphError::invalid_request(format!("The parameter '{name}' is required."))
        })
    };
    let folder_id = required("FolderId")?;
    let mode = required("Mode")?;
    let data = required("Data")?;
    let item_id = text("ItemId");
    let change_key = text("ChangeKey");
    let stream = crate::export::decode_any(&data).ok_or_else(|| {
        GraphError::new(
            StatusCode::BAD_REQUEST,
            "ErrorInvalidRequest",
            "Data is not a valid item stream exported from this service.",
        )
    })?;
    let mut t = shared.lock();
    let i = t
        .mailbox_by_primary_id(&mbx_id)
        .filter(|&i| t.mailboxes.user(i).id == user_id)
        .ok_or_else(|| GraphError::unauthenticated("The authtoken is for another mailbox."))?;
    let now = t.now();
    let mbx = &mut t.mailboxes[i];
    let folder = container_key(mbx, &folder_id).map_err(lookup_err)?;
    if stream.class() != folder.item_class() {
        return Err(GraphError::invalid_request(format!(
            "An item of class {} cannot be imported into a folder of class {}.",
            stream.class(),
            folder.folder_class(mbx)
        )));
    }
    let fk = folder.key();
    let (key, change_seq) = match mode.to_ascii_lowercase().as_str() {
        "create" => {
            if item_id.is_some() || change_key.is_some() {
                return Err(GraphError::invalid_request(
                    "ItemId and ChangeKey are not allowed in create mode.",
                ));
            }
            mbx.check_quota(stream.size())?;
            import_create(mbx, fk, stream, now)
        }
        "update" => {
            let (Some(item_id), Some(change_key)) = (item_id, change_key) else {
                return Err(GraphError::invalid_request(
                    "ItemId and ChangeKey are required in update mode.",
                ));
            };
            let (key, current) = match folder {
                Container::Mail(_) => {
                    let key = mbx.message_key(&item_id).map_err(lookup_err)?;
                    let m = &mbx.messages[&key];
                    if m.folder != fk {
                        return Err(GraphError::item_not_found());
                    }
                    (key, m.change_seq)
                }
                _ => {
                    let (c, key) = pim_item(mbx, &item_id).map_err(lookup_err)?;
                    if c != folder {
                        return Err(GraphError::item_not_found());
                    }
                    (key, item_seq(mbx, c, key).unwrap_or(0))
                }
            };
            if ids::change_key(mbx.guid(), current) != change_key {
                return Err(GraphError::new(
                    StatusCode::CONFLICT,
                    "ErrorIrresolvableConflict",
                    "The send or update operation could not be performed because the change key passed in the request does not match the current change key for the item.",
                ));
            }
            let before = match folder {
                Container::Mail(_) => mbx.messages.get(&key).map_or(0, crate::export::size),
                _ => mbx.pim_item_size(key),
            };
            let after = stream.size();
            if after > before {
                mbx.check_quota(after - before)?;
            }
            import_update(mbx, key, stream, now);
            (key, item_seq(mbx, folder, key).unwrap_or(0))
        }
        other => {
            return Err(GraphError::invalid_request(format!(
                "Mode '{other}' is not supported: use create or update."
            )));
        }
    };
    let item_id = match folder {
        Container::Mail(_) => mbx.message_id(&mbx.messages[&key], IdForm::Regular),
        _ => mbx.item_id(key, fk, IdForm::Regular),
    };
    let body = json!({
        "@odata.context": format!(
            "{}/api/{g}/$metadata#microsoft.graph.importMailboxItemResponse",
            shared.base_url
        ),
        "itemId": item_id,
        "changeKey": ids::change_key(mbx.guid(), change_seq),
    });
    Ok(graph_json(StatusCode::OK, body))
}

/// The change number of an item of a folder of the mailbox API.
fn item_seq(mbx: &Mailbox, c: Container, key: u64) -> Option<u64> {
    match c {
        Container::Mail(_) => mbx.messages.get(&key).map(|m| m.change_seq),
        Container::Contacts(_) => mbx.pim.contacts.get(&key).map(|x| x.change_seq),
        Container::Calendar(_) => mbx.pim.events.get(&key).map(|x| x.change_seq),
        Container::Tasks(_) => mbx.pim.tasks.get(&key).map(|x| x.change_seq),
    }
}

/// A new item in folder `fk` with every property of the stream (the class
/// matches the folder): `(key, change number)`.
fn import_create(
    mbx: &mut Mailbox,
    fk: u64,
    stream: crate::export::Stream,
    now: DateTime<Utc>,
) -> (u64, u64) {
    use crate::export::Stream;
    let key = match stream {
        Stream::Message(m) => {
            let m = *m;
            let key = mbx.insert_message(fk, m.props, now);
            if let Some(x) = mbx.messages.get_mut(&key) {
                x.created = m.created;
            }
            key
        }
        Stream::Contact(c) => {
            let c = *c;
            let key = mbx.insert_contact(fk, c.props, c.photo, now);
            if let Some(x) = mbx.pim.contacts.get_mut(&key) {
                x.created = c.created;
                x.extended = c.extended;
            }
            key
        }
        Stream::Event(e) => {
            let mut e = *e;
            let created = e.created;
            e.calendar = fk;
            let key = mbx.insert_event(e, now);
            if let Some(x) = mbx.pim.events.get_mut(&key) {
                x.created = created;
                let seq = x.change_seq;
                for ex in x.exceptions.values_mut() {
                    ex.change_seq = seq;
                }
            }
            key
        }
        Stream::Task(t) => {
            let mut t = *t;
            let created = t.created;
            t.list = fk;
            let key = mbx.insert_task(t, now);
            if let Some(x) = mbx.pim.tasks.get_mut(&key) {
                x.created = created;
            }
            key
        }
    };
    let seq = match mbx.messages.get(&key) {
        Some(m) => m.change_seq,
        None => mbx.seq,
    };
    (key, seq)
}

/// Replaces an item's properties with the stream's (same class, checked by
/// the caller); it gets a new changeKey and keeps its id and folder.
fn import_update(mbx: &mut Mailbox, key: u64, stream: crate::export::Stream, now: DateTime<Utc>) {
    use crate::export::Stream;
    match stream {
        Stream::Message(m) => {
            let props = m.props;
            mbx.touch(key, now, |x| x.props = props);
        }
        Stream::Contact(c) => {
            let c = *c;
            mbx.touch_contact(key, now, |x, seq| {
                x.props = c.props;
                x.photo = c.photo.map(|p| crate::pim::Photo {
                    change_seq: seq,
                    ..p
                });
                x.extended = c.extended;
            });
        }
        Stream::Event(e) => {
            let e = *e;
            mbx.touch_event(key, now, |x, seq| {
                x.props = e.props;
                x.recurrence = e.recurrence;
                x.exceptions = e.exceptions;
                for ex in x.exceptions.values_mut() {
                    ex.change_seq = seq;
                }
                x.cancelled = e.cancelled;
                x.attachments = e.attachments;
                x.extended = e.extended;
            });
        }
        Stream::Task(t) => {
            let t = *t;
            mbx.touch_task(key, now, |x| {
                let (k, list, seq, created) = (x.key, x.list, x.change_seq, x.created);
                *x = t;
                x.key = k;
                x.list = list;
                x.change_seq = seq;
                x.created = created;
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn import_target_parses_the_url() {
        assert_eq!(
            import_target("Mailboxes('MBX:abc@contoso.example')/importItem").as_deref(),
            Some("MBX:abc@contoso.example")
        );
        assert_eq!(
            import_target("mailboxes/MBX:abc@contoso.example/importItem").as_deref(),
            Some("MBX:abc@contoso.example")
        );
        assert_eq!(import_target("Mailboxes('x')/other"), None);
    }
}
