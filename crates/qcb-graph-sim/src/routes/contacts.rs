//! Contacts: `contactFolders` (+ `childFolders`, `delta`), `contacts` (per
//! folder and the default folder, + `delta` per folder), create, update,
//! delete, and the contact photo (`photo`, `photo/$value`, PUT).

use std::collections::BTreeMap;

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::St;
use super::pim::{
    Ctx, context, extended_props, invalid_value, json_object, lookup_err, mailbox_index, ok_json,
    paged, respond, unknown_property,
};
use crate::Shared;
use crate::error::GraphError;
use crate::json::check_select;
use crate::model::Mailbox;
use crate::pim::delta::{self, Pos, Scope, State as DeltaState};
use crate::pim::json::{
    ADDRESS_FIELDS, CONTACT_FIELDS, Field, contact_folder_json, contact_json, contact_select_names,
    photo_json,
};
use crate::pim::{Contact, Kind, Photo, PhotoBytes};

type Params = Path<BTreeMap<String, String>>;

fn param<'a>(p: &'a BTreeMap<String, String>, name: &str) -> &'a str {
    p.get(name).map(String::as_str).unwrap_or("")
}

fn folder_key(mbx: &Mailbox, fid: &str) -> Result<u64, GraphError> {
    mbx.contact_folder_key(fid).map_err(lookup_err)
}

/// The contact of a path; a `{fid}` must name a contact folder of the
/// mailbox, and the contact must be in it.
fn path_contact<'a>(
    mbx: &'a Mailbox,
    p: &BTreeMap<String, String>,
) -> Result<&'a Contact, GraphError> {
    let k = mbx.contact_key(param(p, "cid")).map_err(lookup_err)?;
    let c = mbx
        .pim
        .contacts
        .get(&k)
        .ok_or_else(GraphError::item_not_found)?;
    if let Some(fid) = p.get("fid")
        && folder_key(mbx, fid)? != c.folder
    {
        return Err(GraphError::item_not_found());
    }
    Ok(c)
}

fn contact_select(ctx: &Ctx) -> Result<Option<Vec<String>>, GraphError> {
    check_select(ctx.query.select(), &contact_select_names(), "contact")
}

// ---------------------------------------------------------------- folders

fn folders_of(mbx: &Mailbox, parent: Option<u64>) -> Vec<Value> {
    let mut list: Vec<_> = mbx
        .pim
        .contact_folders
        .values()
        .filter(|f| f.parent == parent)
        .collect();
    list.sort_by(|a, b| {
        a.display_name
            .to_lowercase()
            .cmp(&b.display_name.to_lowercase())
            .then(a.key.cmp(&b.key))
    });
    list.into_iter()
        .map(|f| contact_folder_json(mbx, f))
        .collect()
}

pub(crate) async fn list_root_folders(
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
        let all = folders_of(mbx, None);
        let v = paged(
            &shared,
            &ctx,
            context(&shared, mbx, "contactFolders"),
            &format!("/users/{}/contactFolders", mbx.user.id),
            all,
            top,
        )?;
        Ok(ok_json(StatusCode::OK, v, &[]))
    })())
}

pub(crate) async fn list_child_folders(
    State(shared): St,
    Path((uid, fid)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let ctx = Ctx::new(&headers, q);
    respond((|| {
        let top = ctx.page_size()?;
        let t = shared.lock();
        let mbx = &t.mailboxes[mailbox_index(&t, &uid)?];
        let fk = folder_key(mbx, &fid)?;
        let id = mbx.contact_folder_id(fk);
        let v = paged(
            &shared,
            &ctx,
            context(
                &shared,
                mbx,
                &format!("contactFolders('{id}')/childFolders"),
            ),
            &format!("/users/{}/contactFolders/{id}/childFolders", mbx.user.id),
            folders_of(mbx, Some(fk)),
            top,
        )?;
        Ok(ok_json(StatusCode::OK, v, &[]))
    })())
}

pub(crate) async fn get_folder(
    State(shared): St,
    Path((uid, fid)): Path<(String, String)>,
) -> Response {
    respond((|| {
        let t = shared.lock();
        let mbx = &t.mailboxes[mailbox_index(&t, &uid)?];
        let f = &mbx.pim.contact_folders[&folder_key(mbx, &fid)?];
        let v = crate::routes::with_context(
            context(&shared, mbx, "contactFolders/$entity"),
            contact_folder_json(mbx, f),
        );
        Ok(ok_json(StatusCode::OK, v, &[]))
    })())
}

fn folder_name(input: &Map<String, Value>) -> Result<String, GraphError> {
    for k in input.keys() {
        if !k.starts_with('@') && !["displayName", "parentFolderId", "id"].contains(&k.as_str()) {
            return Err(unknown_property(k, "contactFolder"));
        }
    }
    input
        .get("displayName")
        .and_then(Value::as_str)
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty())
        .ok_or_else(|| GraphError::invalid_request("The folder's displayName is required."))
}

async fn create_folder(
    shared: &Shared,
    uid: &str,
    parent: Option<&str>,
    body: Body,
) -> Result<Response, GraphError> {
    let input = json_object(body).await?;
    let name = folder_name(&input)?;
    let mut t = shared.lock();
    let i = mailbox_index(&t, uid)?;
    let mbx = &mut t.mailboxes[i];
    let parent_key = match parent {
        Some(fid) => Some(folder_key(mbx, fid)?),
        None => None,
    };
    mbx.check_quota(0)?;
    let k = mbx.create_contact_folder(parent_key, &name).map_err(|_| {
        GraphError::new(
            StatusCode::CONFLICT,
            "ErrorFolderExists",
            "A folder with the specified name already exists.",
        )
    })?;
    let v = crate::routes::with_context(
        context(shared, mbx, "contactFolders/$entity"),
        contact_folder_json(mbx, &mbx.pim.contact_folders[&k]),
    );
    Ok(ok_json(StatusCode::CREATED, v, &[]))
}

pub(crate) async fn create_root_folder(
    State(shared): St,
    Path(uid): Path<String>,
    body: Body,
) -> Response {
    respond(create_folder(&shared, &uid, None, body).await)
}

pub(crate) async fn create_child_folder(
    State(shared): St,
    Path((uid, fid)): Path<(String, String)>,
    body: Body,
) -> Response {
    respond(create_folder(&shared, &uid, Some(&fid), body).await)
}

pub(crate) async fn update_folder(
    State(shared): St,
    Path((uid, fid)): Path<(String, String)>,
    body: Body,
) -> Response {
    respond(
        async {
            let input = json_object(body).await?;
            let name = folder_name(&input)?;
            let mut t = shared.lock();
            let i = mailbox_index(&t, &uid)?;
            let mbx = &mut t.mailboxes[i];
            let k = folder_key(mbx, &fid)?;
            let seq = mbx.bump();
            if let Some(f) = mbx.pim.contact_folders.get_mut(&k) {
                f.display_name = name;
                f.change_seq = seq;
            }
            let v = contact_folder_json(mbx, &mbx.pim.contact_folders[&k]);
            Ok(ok_json(StatusCode::OK, v, &[]))
        }
        .await,
    )
}

/// Deletes a folder with its subfolders and contacts (the default folder
/// cannot be deleted: 400 `ErrorDeleteDistinguishedFolder`).
pub(crate) async fn delete_folder(
    State(shared): St,
    Path((uid, fid)): Path<(String, String)>,
) -> Response {
    respond((|| {
        let mut t = shared.lock();
        let i = mailbox_index(&t, &uid)?;
        let mbx = &mut t.mailboxes[i];
        let k = folder_key(mbx, &fid)?;
        if mbx.pim.contact_folders[&k].is_default {
            return Err(GraphError::new(
                StatusCode::BAD_REQUEST,
                "ErrorDeleteDistinguishedFolder",
                "Distinguished folders cannot be deleted.",
            ));
        }
        delete_folder_tree(mbx, k);
        Ok(StatusCode::NO_CONTENT.into_response())
    })())
}

pub(crate) fn delete_folder_tree(mbx: &mut Mailbox, k: u64) {
    let children: Vec<u64> = mbx
        .pim
        .contact_folders
        .values()
        .filter(|f| f.parent == Some(k))
        .map(|f| f.key)
        .collect();
    for c in children {
        delete_folder_tree(mbx, c);
    }
    let contacts: Vec<u64> = mbx
        .pim
        .contacts
        .values()
        .filter(|c| c.folder == k)
        .map(|c| c.key)
        .collect();
    for c in contacts {
        mbx.delete_contact(c);
    }
    mbx.pim.contact_folders.remove(&k);
    let seq = mbx.bump();
    mbx.pim.tombstones.push(crate::pim::PimTombstone {
        kind: Kind::ContactFolder,
        scope: 0,
        key: k,
        seq,
        event: None,
    });
}

/// `GET /users/{id}/contactFolders/delta`: every contact folder, then
/// folders created, renamed or deleted since.
pub(crate) async fn folder_delta(
    State(shared): St,
    Path(uid): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let ctx = Ctx::new(&headers, q);
    respond((|| {
        let t = shared.lock();
        let i = mailbox_index(&t, &uid)?;
        let mbx = &t.mailboxes[i];
        let base = format!(
            "{}/users/{}/contactFolders/delta",
            shared.graph_url(),
            mbx.user.id
        );
        let st = match delta::resume(
            &t,
            ctx.query.get("$skiptoken"),
            ctx.query.get("$deltatoken"),
            i,
            Scope::ContactFolders,
            0,
            &base,
        )? {
            Some(s) => s,
            None => DeltaState::first(t.instance, i, Scope::ContactFolders, 0, mbx.seq),
        };
        let mut all: Vec<(Pos, Value)> = mbx
            .pim
            .contact_folders
            .values()
            .filter(|f| f.change_seq <= st.to_seq && (st.initial || f.change_seq > st.from_seq))
            .map(|f| {
                let mut v = contact_folder_json(mbx, f);
                if let Some(o) = v.as_object_mut() {
                    o.insert(
                        "@odata.type".into(),
                        json!("#microsoft.graph.contactFolder"),
                    );
                }
                ((f.change_seq, f.key, 0, false), v)
            })
            .collect();
        for tb in delta::deleted_in_round(&mbx.pim.tombstones, &st, Kind::ContactFolder, 0) {
            all.push((
                (tb.seq, tb.key, 0, true),
                delta::removed("contactFolder", mbx.pim_folder_id(tb.key, false)),
            ));
        }
        let ctxs = format!("{}/$metadata#Collection(contactFolder)", shared.graph_url());
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

// ---------------------------------------------------------------- contacts

pub(crate) async fn list(
    State(shared): St,
    Path(p): Params,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let ctx = Ctx::new(&headers, q);
    respond((|| {
        let select = contact_select(&ctx)?;
        let expand = crate::odata::parse_message_expand(ctx.query.get("$expand"))?;
        let top = ctx.page_size()?;
        let t = shared.lock();
        let mbx = &t.mailboxes[mailbox_index(&t, param(&p, "uid"))?];
        let (fk, path, ctxt) = match p.get("fid") {
            Some(fid) => {
                let fk = folder_key(mbx, fid)?;
                let id = mbx.contact_folder_id(fk);
                (
                    fk,
                    format!("/users/{}/contactFolders/{id}/contacts", mbx.user.id),
                    context(&shared, mbx, &format!("contactFolders('{id}')/contacts")),
                )
            }
            None => (
                mbx.default_contact_folder()
                    .ok_or_else(GraphError::item_not_found)?,
                format!("/users/{}/contacts", mbx.user.id),
                context(&shared, mbx, "contacts"),
            ),
        };
        let mut list: Vec<&Contact> = mbx
            .pim
            .contacts
            .values()
            .filter(|c| c.folder == fk)
            .collect();
        // Exchange lists contacts by display name.
        list.sort_by(|a, b| {
            let n = |c: &Contact| {
                c.props
                    .get("displayName")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_lowercase()
            };
            n(a).cmp(&n(b)).then(a.key.cmp(&b.key))
        });
        let all: Vec<Value> = list
            .into_iter()
            .map(|c| {
                let mut v = contact_json(mbx, c, ctx.form(), select.as_deref(), false);
                with_extended(c, &mut v, expand.extended.as_deref());
                v
            })
            .collect();
        let v = paged(&shared, &ctx, ctxt, &path, all, top)?;
        Ok(ok_json(StatusCode::OK, v, &ctx.applied(false)))
    })())
}

/// `$expand=singleValueExtendedProperties($filter=id eq '…')`: the contact's extended
/// properties among `wanted` (all of them when the filter names none).
fn with_extended(c: &Contact, v: &mut Value, wanted: Option<&[String]>) {
    let (Some(wanted), Some(o)) = (wanted, v.as_object_mut()) else {
        return;
    };
    let wanted: Vec<String> = wanted
        .iter()
        .filter_map(|w| crate::odata::canonical_ext_id(w))
        .collect();
    let list: Vec<Value> = c
        .extended
        .iter()
        .filter(|(id, _)| wanted.is_empty() || wanted.iter().any(|w| w.eq_ignore_ascii_case(id)))
        .map(|(id, value)| json!({"id": id, "value": value}))
        .collect();
    if !list.is_empty() {
        o.insert("singleValueExtendedProperties".into(), Value::Array(list));
    }
}

pub(crate) async fn get_one(
    State(shared): St,
    Path(p): Params,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let ctx = Ctx::new(&headers, q);
    respond((|| {
        let select = contact_select(&ctx)?;
        let expand = crate::odata::parse_message_expand(ctx.query.get("$expand"))?;
        let t = shared.lock();
        let mbx = &t.mailboxes[mailbox_index(&t, param(&p, "uid"))?];
        let c = path_contact(mbx, &p)?;
        let mut v = contact_json(mbx, c, ctx.form(), select.as_deref(), false);
        with_extended(c, &mut v, expand.extended.as_deref());
        let v = crate::routes::with_context(context(&shared, mbx, "contacts/$entity"), v);
        Ok(ok_json(StatusCode::OK, v, &ctx.applied(false)))
    })())
}

/// Validates a contact create/update body against the CSDL `contact`.
/// Returns the properties to set (null = clear) and extended properties.
#[allow(clippy::type_complexity)]
pub(crate) fn contact_input(
    input: &Map<String, Value>,
) -> Result<(Map<String, Value>, Vec<(String, String)>), GraphError> {
    let mut props = Map::new();
    let mut ext = Vec::new();
    for (k, v) in input {
        if k.starts_with('@') {
            continue;
        }
        if k == "singleValueExtendedProperties" {
            ext = extended_props(v)?;
            continue;
        }
        if [
            "id",
            "changeKey",
            "createdDateTime",
            "lastModifiedDateTime",
            "parentFolderId",
        ]
        .contains(&k.as_str())
        {
            continue; // read-only: ignored, as Graph does on create
        }
        let Some((name, field)) = CONTACT_FIELDS.iter().find(|(n, _)| n == k) else {
            return Err(unknown_property(k, "contact"));
        };
        let bad = || invalid_value(name, "contact");
        let value = match (field, v) {
            (_, Value::Null) => Value::Null,
            (Field::Str, Value::String(_)) => v.clone(),
            (Field::DateTime, Value::String(s)) => {
                let d = chrono::DateTime::parse_from_rfc3339(s).map_err(|_| bad())?;
                json!(crate::json::ts(&d.with_timezone(&chrono::Utc)))
            }
            (Field::StrList, Value::Array(a)) if a.iter().all(Value::is_string) => v.clone(),
            (Field::Emails, Value::Array(a)) => {
                let mut out = Vec::new();
                for e in a {
                    let o = e.as_object().ok_or_else(bad)?;
                    let mut m = Map::new();
                    for (ek, ev) in o {
                        if ek.starts_with('@') {
                            continue;
                        }
                        if ek != "name" && ek != "address" {
                            return Err(unknown_property(ek, "emailAddress"));
                        }
                        if !(ev.is_string() || ev.is_null()) {
                            return Err(bad());
                        }
                        m.insert(ek.clone(), ev.clone());
                    }
                    // Graph returns both members.
                    let name = m.get("name").cloned().unwrap_or(Value::Null);
                    let address = m.get("address").cloned().unwrap_or(Value::Null);
                    out.push(json!({"name": name, "address": address}));
                }
                Value::Array(out)
            }
            (Field::Address, Value::Object(o)) => {
                let mut m = Map::new();
                for (ak, av) in o {
                    if ak.starts_with('@') {
                        continue;
                    }
                    if !ADDRESS_FIELDS.contains(&ak.as_str()) {
                        return Err(unknown_property(ak, "physicalAddress"));
                    }
                    if !(av.is_string() || av.is_null()) {
                        return Err(bad());
                    }
                    if av.is_string() {
                        m.insert(ak.clone(), av.clone());
                    }
                }
                Value::Object(m)
            }
            _ => return Err(bad()),
        };
        props.insert(name.to_string(), value);
    }
    Ok((props, ext))
}

/// Merges validated properties into stored ones (null removes), and fills
/// `displayName` from the name parts when it is empty, as Exchange does.
pub(crate) fn merge_contact(stored: &mut Map<String, Value>, set: Map<String, Value>) {
    for (k, v) in set {
        if v.is_null() {
            stored.remove(&k);
        } else {
            stored.insert(k, v);
        }
    }
    let empty = stored
        .get("displayName")
        .and_then(Value::as_str)
        .is_none_or(|s| s.trim().is_empty());
    if empty {
        let part = |k: &str| {
            stored
                .get(k)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        let name = [part("givenName"), part("middleName"), part("surname")]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        let name = if name.is_empty() {
            part("companyName")
        } else {
            name
        };
        if !name.is_empty() {
            stored.insert("displayName".into(), json!(name));
        }
    }
}

pub(crate) async fn create(
    State(shared): St,
    Path(p): Params,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let ctx = Ctx::new(&headers, None);
    respond(
        async {
            let input = json_object(body).await?;
            let (set, ext) = contact_input(&input)?;
            let mut t = shared.lock();
            let now = t.now();
            let i = mailbox_index(&t, param(&p, "uid"))?;
            let mbx = &mut t.mailboxes[i];
            let fk = match p.get("fid") {
                Some(fid) => folder_key(mbx, fid)?,
                None => mbx
                    .default_contact_folder()
                    .ok_or_else(GraphError::item_not_found)?,
            };
            let mut props = Map::new();
            merge_contact(&mut props, set);
            let adding: usize = props
                .iter()
                .map(|(k, v)| k.len() + crate::quota::value_size(v))
                .chain(ext.iter().map(|(k, v)| k.len() + v.len()))
                .sum();
            mbx.check_quota((adding + crate::quota::ITEM_OVERHEAD) as u64)?;
            let k = mbx.insert_contact(fk, props, None, now);
            if let Some(c) = mbx.pim.contacts.get_mut(&k) {
                c.extended = ext.into_iter().collect();
            }
            let c = &mbx.pim.contacts[&k];
            let v = crate::routes::with_context(
                context(&shared, mbx, "contacts/$entity"),
                contact_json(mbx, c, ctx.form(), None, false),
            );
            Ok(ok_json(StatusCode::CREATED, v, &ctx.applied(false)))
        }
        .await,
    )
}

pub(crate) async fn update(
    State(shared): St,
    Path(p): Params,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let ctx = Ctx::new(&headers, None);
    respond(
        async {
            let input = json_object(body).await?;
            let (set, ext) = contact_input(&input)?;
            let mut t = shared.lock();
            let now = t.now();
            let i = mailbox_index(&t, param(&p, "uid"))?;
            let mbx = &mut t.mailboxes[i];
            let k = path_contact(mbx, &p)?.key;
            mbx.touch_contact(k, now, |c, _| {
                merge_contact(&mut c.props, set);
                c.extended.extend(ext);
            });
            let v = contact_json(mbx, &mbx.pim.contacts[&k], ctx.form(), None, false);
            Ok(ok_json(StatusCode::OK, v, &ctx.applied(false)))
        }
        .await,
    )
}

pub(crate) async fn delete(State(shared): St, Path(p): Params) -> Response {
    respond((|| {
        let mut t = shared.lock();
        let i = mailbox_index(&t, param(&p, "uid"))?;
        let mbx = &mut t.mailboxes[i];
        let k = path_contact(mbx, &p)?.key;
        mbx.delete_contact(k);
        Ok(StatusCode::NO_CONTENT.into_response())
    })())
}

/// `GET .../contacts/{id}/photo`: the photo's metadata; 404 without one.
pub(crate) async fn get_photo(State(shared): St, Path(p): Params) -> Response {
    respond((|| {
        let t = shared.lock();
        let mbx = &t.mailboxes[mailbox_index(&t, param(&p, "uid"))?];
        let c = path_contact(mbx, &p)?;
        let photo = c.photo.as_ref().ok_or_else(photo_not_found)?;
        let id = mbx.contact_id(c, crate::ids::IdForm::Regular);
        let v = crate::routes::with_context(
            context(&shared, mbx, &format!("contacts('{id}')/photo/$entity")),
            photo_json(photo),
        );
        Ok(ok_json(StatusCode::OK, v, &[]))
    })())
}

fn photo_not_found() -> GraphError {
    GraphError::new(
        StatusCode::NOT_FOUND,
        "ErrorItemNotFound",
        "The photo wasn't found.",
    )
}

pub(crate) async fn get_photo_value(State(shared): St, Path(p): Params) -> Response {
    respond((|| {
        let t = shared.lock();
        let mbx = &t.mailboxes[mailbox_index(&t, param(&p, "uid"))?];
        let c = path_contact(mbx, &p)?;
        let photo = c.photo.as_ref().ok_or_else(photo_not_found)?;
        let bytes = photo.data();
        let ct = HeaderValue::from_str(&photo.content_type)
            .unwrap_or_else(|_| HeaderValue::from_static("image/jpeg"));
        drop(t);
        let mut resp = (StatusCode::OK, bytes).into_response();
        resp.headers_mut()
            .insert(axum::http::header::CONTENT_TYPE, ct);
        Ok(resp)
    })())
}

/// Width and height of a PNG, JPEG or GIF; `None` if it is none of them.
pub(crate) fn image_size(b: &[u8]) -> Option<(&'static str, u32, u32)> {
    if b.len() > 24 && b.starts_with(b"\x89PNG\r\n\x1a\n") {
        let w = u32::from_be_bytes([b[16], b[17], b[18], b[19]]);
        let h = u32::from_be_bytes([b[20], b[21], b[22], b[23]]);
        return Some(("image/png", w, h));
    }
    if b.len() > 10 && b.starts_with(b"GIF8") {
        let w = u32::from(u16::from_le_bytes([b[6], b[7]]));
        let h = u32::from(u16::from_le_bytes([b[8], b[9]]));
        return Some(("image/gif", w, h));
    }
    if b.starts_with(&[0xff, 0xd8]) {
        let mut i = 2;
        while i + 9 < b.len() {
            if b[i] != 0xff {
                return None;
            }
            let marker = b[i + 1];
            let len = usize::from(u16::from_be_bytes([b[i + 2], b[i + 3]]));
            if (0xc0..=0xcf).contains(&marker) && marker != 0xc4 && marker != 0xc8 && marker != 0xcc
            {
                let h = u32::from(u16::from_be_bytes([b[i + 5], b[i + 6]]));
                let w = u32::from(u16::from_be_bytes([b[i + 7], b[i + 8]]));
                return Some(("image/jpeg", w, h));
            }
            i += 2 + len;
        }
    }
    None
}

/// `PUT .../contacts/{id}/photo/$value` with the image bytes (restore).
pub(crate) async fn put_photo_value(State(shared): St, Path(p): Params, body: Body) -> Response {
    respond(
        async {
            let bytes = super::read_body(body).await?;
            let (ct, w, h) = image_size(&bytes).ok_or_else(|| {
                GraphError::new(
                    StatusCode::BAD_REQUEST,
                    "ErrorInvalidImage",
                    "The photo is not a valid JPEG, PNG or GIF image.",
                )
            })?;
            let mut t = shared.lock();
            let now = t.now();
            let i = mailbox_index(&t, param(&p, "uid"))?;
            let mbx = &mut t.mailboxes[i];
            let k = path_contact(mbx, &p)?.key;
            let old = mbx
                .pim
                .contacts
                .get(&k)
                .and_then(|c| c.photo.as_ref())
                .map_or(0, |p| match &p.bytes {
                    PhotoBytes::Stored(b) => b.len(),
                    PhotoBytes::Generated { .. } => 0,
                });
            if bytes.len() > old {
                mbx.check_quota((bytes.len() - old) as u64)?;
            }
            mbx.touch_contact(k, now, |c, seq| {
                c.photo = Some(Photo {
                    bytes: PhotoBytes::Stored(bytes.to_vec()),
                    content_type: ct.to_string(),
                    width: w,
                    height: h,
                    change_seq: seq,
                });
            });
            Ok(StatusCode::OK.into_response())
        }
        .await,
    )
}

/// `GET /users/{id}/contactFolders/{id}/contacts/delta`
pub(crate) async fn delta(
    State(shared): St,
    Path((uid, fid)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let ctx = Ctx::new(&headers, q);
    respond((|| {
        let t = shared.lock();
        let i = mailbox_index(&t, &uid)?;
        let mbx = &t.mailboxes[i];
        let fk = folder_key(mbx, &fid)?;
        let base = format!(
            "{}/users/{}/contactFolders/{}/contacts/delta",
            shared.graph_url(),
            mbx.user.id,
            mbx.contact_folder_id(fk)
        );
        let st = match delta::resume(
            &t,
            ctx.query.get("$skiptoken"),
            ctx.query.get("$deltatoken"),
            i,
            Scope::Contacts,
            fk,
            &base,
        )? {
            Some(s) => s,
            None => {
                let select = contact_select(&ctx)?;
                let top = ctx.query.usize_option("$top")?;
                DeltaState {
                    select: select.map(|s| s.join(",")),
                    page_size: top.map(|n| n.clamp(1, super::pim::MAX_PAGE) as u32),
                    ..DeltaState::first(t.instance, i, Scope::Contacts, fk, mbx.seq)
                }
            }
        };
        let select = st.select_list();
        let form = ctx.form();
        let mut all: Vec<(Pos, Value)> = mbx
            .pim
            .contacts
            .values()
            .filter(|c| c.folder == fk)
            .filter(|c| c.change_seq <= st.to_seq && (st.initial || c.change_seq > st.from_seq))
            .map(|c| {
                (
                    (c.change_seq, c.key, 0, false),
                    contact_json(mbx, c, form, select.as_deref(), true),
                )
            })
            .collect();
        for tb in delta::deleted_in_round(&mbx.pim.tombstones, &st, Kind::Contact, fk) {
            all.push((
                (tb.seq, tb.key, 0, true),
                delta::removed("contact", mbx.item_id(tb.key, fk, form)),
            ));
        }
        let ctxs = format!("{}/$metadata#Collection(contact)", shared.graph_url());
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
