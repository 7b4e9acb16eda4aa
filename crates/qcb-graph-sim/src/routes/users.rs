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
    if q.get("$search").is_some() {
        return Err(unsupported(
            "Request with $search query parameter only works through MSGraph with a special request header: 'ConsistencyLevel: eventual'",
        ));
    }
    let filter = match q.get("$filter") {
        None => None,
        Some(f) => Some(parse_filter(f)?),
    };
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
    let matching: Vec<(&crate::model::User, bool)> = t
        .mailboxes
        .directory()
        .filter(|&(u, shared)| filter.as_ref().is_none_or(|f| f.matches(u, shared)))
        .collect();
    let users: Vec<Value> = matching
        .iter()
        .skip(offset)
        .take(top)
        .map(|&(u, shared)| user_json(u, !shared, select.as_deref()))
        .collect();
    let total = matching.len();
    let graph = shared.graph_url();
    let mut out = json!({
        "@odata.context": format!("{graph}/$metadata#users"),
        "value": users,
    });
    if offset + top < total {
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
    let Some((user, is_shared)) = t
        .mailbox_index(&uid)
        .and_then(|i| t.mailboxes.directory().nth(i))
    else {
        return GraphError::user_not_found(&uid).into_response();
    };
    let v = user_json(user, !is_shared, select.as_deref());
    let context = format!("{}/$metadata#users/$entity", shared.graph_url());
    graph_json(StatusCode::OK, super::with_context(context, v))
}

fn unsupported(message: impl Into<String>) -> GraphError {
    GraphError::new(StatusCode::BAD_REQUEST, "Request_UnsupportedQuery", message)
}

/// One `$filter` clause on users, as the directory supports them without
/// advanced query parameters: `prop eq 'v'` (`eq true|false` for
/// accountEnabled) and `startswith(prop, 'v')`, joined by `and` or `or`.
#[derive(Debug, Clone, PartialEq)]
enum Clause {
    Eq(&'static str, String),
    StartsWith(&'static str, String),
}

#[derive(Debug, Clone, PartialEq)]
struct UserFilter {
    clauses: Vec<Clause>,
    any: bool,
}

const FILTERABLE: &[&str] = &[
    "userType",
    "mail",
    "userPrincipalName",
    "displayName",
    "givenName",
    "surname",
    "accountEnabled",
    "id",
];

fn prop_value(u: &crate::model::User, shared: bool, prop: &str) -> String {
    match prop {
        "userType" => "Member".into(),
        "mail" => u.mail.clone(),
        "userPrincipalName" => u.upn.clone(),
        "displayName" => u.display_name.clone(),
        "givenName" => u.given_name.clone(),
        "surname" => u.surname.clone(),
        "accountEnabled" => (!shared).to_string(),
        _ => u.id.clone(),
    }
}

impl UserFilter {
    fn matches(&self, u: &crate::model::User, shared: bool) -> bool {
        let one = |c: &Clause| match c {
            // Directory string comparisons are case-insensitive.
            Clause::Eq(p, v) => prop_value(u, shared, p).to_lowercase() == v.to_lowercase(),
            Clause::StartsWith(p, v) => prop_value(u, shared, p)
                .to_lowercase()
                .starts_with(&v.to_lowercase()),
        };
        if self.any {
            self.clauses.iter().any(one)
        } else {
            self.clauses.iter().all(one)
        }
    }
}

fn property(name: &str) -> Result<&'static str, GraphError> {
    FILTERABLE
        .iter()
        .find(|p| p.eq_ignore_ascii_case(name.trim()))
        .copied()
        .ok_or_else(|| {
            unsupported(format!(
                "Unsupported or invalid query filter clause specified for property '{}' of resource 'User'.",
                name.trim()
            ))
        })
}

/// `'text'` (with `''` for a quote) → text.
fn literal(s: &str) -> Option<String> {
    let inner = s.trim().strip_prefix('\'')?.strip_suffix('\'')?;
    Some(inner.replace("''", "'"))
}

/// Splits on ` and ` / ` or ` outside quotes: (parts, joined by or?).
fn split_logical(f: &str) -> Result<(Vec<String>, bool), GraphError> {
    let mut parts = Vec::new();
    let mut ops = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let words: Vec<&str> = f.split(' ').collect();
    for w in words {
        let q = w.matches('\'').count();
        if !quoted && (w.eq_ignore_ascii_case("and") || w.eq_ignore_ascii_case("or")) {
            parts.push(std::mem::take(&mut cur));
            ops.push(w.eq_ignore_ascii_case("or"));
            continue;
        }
        if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(w);
        if q % 2 == 1 {
            quoted = !quoted;
        }
    }
    parts.push(cur);
    if ops.iter().any(|o| *o != ops[0]) {
        return Err(unsupported(
            "Mixing 'and' and 'or' in one $filter is not supported.",
        ));
    }
    Ok((parts, ops.first().copied().unwrap_or(false)))
}

fn parse_filter(f: &str) -> Result<UserFilter, GraphError> {
    let (parts, any) = split_logical(f.trim())?;
    let mut clauses = Vec::new();
    for p in parts {
        let p = p.trim();
        let lower = p.to_ascii_lowercase();
        if let Some(args) = lower
            .strip_prefix("startswith(")
            .and_then(|_| p.get("startswith(".len()..))
            .and_then(|r| r.strip_suffix(')'))
        {
            let (prop, val) = args
                .split_once(',')
                .ok_or_else(|| unsupported(format!("Invalid filter clause: {p}")))?;
            let prop = property(prop)?;
            if prop == "accountEnabled" || prop == "userType" || prop == "id" {
                return Err(unsupported(format!(
                    "Unsupported or invalid query filter clause specified for property '{prop}' of resource 'User'."
                )));
            }
            let v =
                literal(val).ok_or_else(|| unsupported(format!("Invalid filter clause: {p}")))?;
            clauses.push(Clause::StartsWith(prop, v));
            continue;
        }
        let tokens: Vec<&str> = p.splitn(3, ' ').collect();
        match tokens.as_slice() {
            [prop, op, val] if op.eq_ignore_ascii_case("eq") => {
                let prop = property(prop)?;
                let v = if prop == "accountEnabled" {
                    match val.trim() {
                        "true" | "false" => val.trim().to_string(),
                        _ => return Err(unsupported(format!("Invalid filter clause: {p}"))),
                    }
                } else {
                    literal(val)
                        .ok_or_else(|| unsupported(format!("Invalid filter clause: {p}")))?
                };
                clauses.push(Clause::Eq(prop, v));
            }
            [_, op, _] => {
                return Err(unsupported(format!(
                    "Operator '{op}' is not supported here without the advanced query parameters (ConsistencyLevel: eventual and $count=true)."
                )));
            }
            _ => return Err(unsupported(format!("Invalid filter clause: {p}"))),
        }
    }
    Ok(UserFilter { clauses, any })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_parse() {
        let f = parse_filter("userType eq 'Member' and startswith(mail,'ali')").expect("ok");
        assert_eq!(
            f.clauses,
            vec![
                Clause::Eq("userType", "Member".into()),
                Clause::StartsWith("mail", "ali".into())
            ]
        );
        assert!(!f.any);
        let f = parse_filter("mail eq 'o''neil and co@x' or accountEnabled eq false").expect("ok");
        assert_eq!(f.clauses[0], Clause::Eq("mail", "o'neil and co@x".into()));
        assert!(f.any);
        assert!(parse_filter("mail ne 'x'").is_err());
        assert!(parse_filter("endswith(mail,'x')").is_err());
        assert!(parse_filter("jobTitle eq 'x'").is_err());
        assert!(parse_filter("a eq 'x' and b eq 'y' or c eq 'z'").is_err());
    }
}
