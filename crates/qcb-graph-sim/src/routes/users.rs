//! `/v1.0/users` (directory): list with `$top`/`$select`/`$skiptoken`
//! paging, get by id or userPrincipalName. `/me` is refused (app-only).

use axum::extract::{Path, RawQuery};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use super::{St, graph_json};
use crate::error::GraphError;
use crate::json::{USER_PROPS, check_select, user_json};
use crate::odata::{Query, encode_pairs};

/// Default page size of `/users`, as Graph.
pub(crate) const USERS_PAGE: usize = 100;

pub(crate) async fn me() -> Response {
    GraphError::bad_request("/me request is only valid with delegated authentication flow.")
        .into_response()
}

fn skiptoken(offset: usize, key: &[u8; 32]) -> String {
    let mut b = b"usr1".to_vec();
    b.extend_from_slice(&(offset as u64).to_le_bytes());
    let mac = blake3::keyed_hash(key, &b);
    b.extend_from_slice(&mac.as_bytes()[..8]);
    URL_SAFE_NO_PAD.encode(b)
}

fn parse_skiptoken(s: &str, key: &[u8; 32]) -> Option<usize> {
    let b = URL_SAFE_NO_PAD.decode(s.trim()).ok()?;
    if b.len() != 20 || &b[..4] != b"usr1" {
        return None;
    }
    let mac = blake3::keyed_hash(key, &b[..12]);
    if mac.as_bytes()[..8] != b[12..] {
        return None;
    }
    let mut o = [0u8; 8];
    o.copy_from_slice(&b[4..12]);
    usize::try_from(u64::from_le_bytes(o)).ok()
}

pub(crate) async fn list(axum::extract::State(shared): St, RawQuery(q): RawQuery) -> Response {
    let q = Query::parse(q.as_deref());
    match list_inner(&shared, &q) {
        Ok(v) => graph_json(StatusCode::OK, v),
        Err(e) => e.into_response(),
    }
}

fn list_inner(shared: &crate::Shared, q: &Query) -> Result<Value, GraphError> {
    let select = check_select(q.select(), USER_PROPS, "user")?;
    if q.get("$filter").is_some() || q.get("$search").is_some() {
        return Err(GraphError::new(
            StatusCode::BAD_REQUEST,
            "Request_UnsupportedQuery",
            "Unsupported query: this emulator does not implement $filter or $search on users.",
        ));
    }
    let top = q.usize_option("$top")?.unwrap_or(USERS_PAGE);
    if top == 0 || top > 999 {
        return Err(GraphError::new(
            StatusCode::BAD_REQUEST,
            "Request_UnsupportedQuery",
            format!("Invalid page size specified: '{top}'. Must be between 1 and 999 inclusive."),
        ));
    }
    let t = shared.lock();
    let offset = match q.get("$skiptoken") {
        None => 0,
        Some(s) => parse_skiptoken(s, &t.key).ok_or_else(|| {
            GraphError::new(
                StatusCode::BAD_REQUEST,
                "Directory_ExpiredPageToken",
                "The specified page token value has expired and can no longer be included in your request.",
            )
        })?,
    };
    let users: Vec<Value> = t
        .mailboxes
        .iter()
        .skip(offset)
        .take(top)
        .map(|m| user_json(&m.user, select.as_deref()))
        .collect();
    let graph = shared.graph_url();
    let mut out = json!({
        "@odata.context": format!("{graph}/$metadata#users"),
        "value": users,
    });
    if offset + top < t.mailboxes.len() {
        let mut pairs = q.without(&["$skiptoken", "$top"]);
        pairs.push(("$top".into(), top.to_string()));
        pairs.push(("$skiptoken".into(), skiptoken(offset + top, &t.key)));
        out["@odata.nextLink"] = json!(format!("{graph}/users?{}", encode_pairs(&pairs)));
    }
    Ok(out)
}

pub(crate) async fn get_one(
    axum::extract::State(shared): St,
    Path(uid): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let q = Query::parse(q.as_deref());
    let select = match check_select(q.select(), USER_PROPS, "user") {
        Ok(s) => s,
        Err(e) => return e.into_response(),
    };
    let t = shared.lock();
    let Some(i) = t.mailbox_index(&uid) else {
        return GraphError::user_not_found(&uid).into_response();
    };
    let v = user_json(&t.mailboxes[i].user, select.as_deref());
    let context = format!("{}/$metadata#users/$entity", shared.graph_url());
    graph_json(StatusCode::OK, super::with_context(context, v))
}
