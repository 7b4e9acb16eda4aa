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

fn mailbox_folder_json(mbx: &Mailbox, key: u64, v: &str, select: Option<&[String]>) -> Value {
    let Some(f) = mbx.folders.get(&key) else {
        return Value::Null;
    };
    let mut out = Map::new();
    out.insert(
        "@odata.type".into(),
        json!("#microsoft.graph.mailboxFolder"),
    );
    let mut full: Vec<(&'static str, Value)> = vec![
        ("id", json!(mbx.folder_id(key))),
        ("displayName", json!(f.display_name)),
        ("parentFolderId", json!(f.parent.map(|p| mbx.folder_id(p)))),
        ("childFolderCount", json!(mbx.children(key, true).len())),
        ("totalItemCount", json!(mbx.total_items(key))),
        ("type", json!(folder_type(mbx, key))),
    ];
    if v == "beta" {
        full.push(("wellKnownName", json!(f.well_known)));
    }
    out.extend(filter_map(full, select));
    Value::Object(out)
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
            let k = mbx.folder_key(fid).map_err(lookup_err)?;
            (
                k,
                CHILDREN | k,
                format!(
                    "{}/folders/{}/childFolders/delta",
                    base_url(shared, v, mbx),
                    mbx.folder_id(k)
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
            root,
            collection,
            base,
            props: MAILBOX_FOLDER_PROPS,
            entity: "mailboxFolder",
        },
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
    let fk = mbx.folder_key(fid).map_err(lookup_err)?;
    let base = format!(
        "{}/folders/{}/items/delta",
        base_url(shared, v, mbx),
        mbx.folder_id(fk)
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
            .map(|id| match mbx.message_key(id) {
                Ok(k) => {
                    let m = &mbx.messages[&k];
                    json!({
                        "itemId": id,
                        "changeKey": ids::change_key(mbx.guid(), m.change_seq),
                        "data": crate::export::encode(m),
                    })
                }
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
    let imported = crate::export::decode(&data).ok_or_else(|| {
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
    let fk = mbx.folder_key(&folder_id).map_err(lookup_err)?;
    let key = match mode.to_ascii_lowercase().as_str() {
        "create" => {
            if item_id.is_some() || change_key.is_some() {
                return Err(GraphError::invalid_request(
                    "ItemId and ChangeKey are not allowed in create mode.",
                ));
            }
            let key = mbx.insert_message(fk, imported.props, now);
            if let Some(m) = mbx.messages.get_mut(&key) {
                m.created = imported.created;
            }
            key
        }
        "update" => {
            let (Some(item_id), Some(change_key)) = (item_id, change_key) else {
                return Err(GraphError::invalid_request(
                    "ItemId and ChangeKey are required in update mode.",
                ));
            };
            let key = mbx.message_key(&item_id).map_err(lookup_err)?;
            let m = &mbx.messages[&key];
            if m.folder != fk {
                return Err(GraphError::item_not_found());
            }
            if ids::change_key(mbx.guid(), m.change_seq) != change_key {
                return Err(GraphError::new(
                    StatusCode::CONFLICT,
                    "ErrorIrresolvableConflict",
                    "The send or update operation could not be performed because the change key passed in the request does not match the current change key for the item.",
                ));
            }
            let props = imported.props;
            mbx.touch(key, now, |m| m.props = props);
            key
        }
        other => {
            return Err(GraphError::invalid_request(format!(
                "Mode '{other}' is not supported: use create or update."
            )));
        }
    };
    let m = &mbx.messages[&key];
    let body = json!({
        "@odata.context": format!(
            "{}/api/{g}/$metadata#microsoft.graph.importMailboxItemResponse",
            shared.base_url
        ),
        "itemId": mbx.message_id(m, IdForm::Regular),
        "changeKey": ids::change_key(mbx.guid(), m.change_seq),
    });
    Ok(graph_json(StatusCode::OK, body))
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
