//! `POST /v1.0/$batch` (JSON batching): at most 20 requests with unique
//! (case-insensitive) ids, else 400 for the whole batch; `dependsOn`
//! orders them and dependents of a failed request get 424; each
//! sub-request goes through the whole server (auth, permissions,
//! throttling, faults, request log) with the batch's `Authorization`, and
//! at most 4 sub-requests of one batch run at once against one mailbox.
//! The outer answer is 200 with one response per request.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};
use tower::ServiceExt as _;

use super::St;
use crate::Shared;
use crate::error::GraphError;

/// Marks a request as a sub-request of a batch (its id in the batch).
#[derive(Debug, Clone)]
pub(crate) struct SubRequest(pub String);

/// Graph's limit of requests in one batch.
pub(crate) const MAX_REQUESTS: usize = 20;
/// Sub-requests of one batch run against one mailbox at a time.
pub(crate) const PER_MAILBOX: usize = 4;

struct Sub {
    id: String,
    method: Method,
    /// `/v1.0/...` with its query.
    url: String,
    headers: Vec<(String, String)>,
    body: Option<Vec<u8>>,
    depends_on: Vec<String>,
}

fn bad(message: &str) -> Response {
    GraphError::bad_request(message).into_response()
}

fn parse(v: &Value, base: &str) -> Result<Vec<Sub>, String> {
    let Some(reqs) = v.get("requests").and_then(Value::as_array) else {
        return Err("Invalid batch payload format.".into());
    };
    if reqs.is_empty() {
        return Err("Invalid batch payload format: no requests.".into());
    }
    if reqs.len() > MAX_REQUESTS {
        return Err(format!(
            "The batch contains {} requests; the maximum is {MAX_REQUESTS}.",
            reqs.len()
        ));
    }
    let mut out = Vec::new();
    let mut ids = HashSet::new();
    for r in reqs {
        let s = |k: &str| r.get(k).and_then(Value::as_str).map(str::to_string);
        let id = match r.get("id") {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => return Err("Invalid batch payload format: every request needs an id.".into()),
        };
        if !ids.insert(id.to_ascii_lowercase()) {
            return Err(format!("Batch request contains duplicate id '{id}'."));
        }
        let method = s("method")
            .and_then(|m| Method::from_bytes(m.to_ascii_uppercase().as_bytes()).ok())
            .ok_or_else(|| format!("Request '{id}' has no valid method."))?;
        let raw_url = s("url").ok_or_else(|| format!("Request '{id}' has no url."))?;
        let rel = raw_url
            .strip_prefix(&format!("{base}/v1.0"))
            .or_else(|| raw_url.strip_prefix("https://graph.microsoft.com/v1.0"))
            .unwrap_or(&raw_url);
        let rel = rel.strip_prefix("/v1.0").unwrap_or(rel);
        let rel = rel.trim_start_matches('/');
        if rel.starts_with("$batch") || rel.starts_with("%24batch") {
            return Err(format!("Request '{id}': a batch cannot contain a batch."));
        }
        let url = loose_uri(&format!("/v1.0/{rel}"));
        let headers: Vec<(String, String)> = r
            .get("headers")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
                    .collect()
            })
            .unwrap_or_default();
        let body = match r.get("body") {
            None | Some(Value::Null) => None,
            Some(b) => {
                if !headers
                    .iter()
                    .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
                {
                    return Err(format!(
                        "Write request id : {id} does not contain Content-Type header or body."
                    ));
                }
                Some(match b {
                    Value::String(s) => {
                        STANDARD.decode(s).unwrap_or_else(|_| s.as_bytes().to_vec())
                    }
                    other => other.to_string().into_bytes(),
                })
            }
        };
        let depends_on = match r.get("dependsOn") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(a)) => a
                .iter()
                .map(|d| match d {
                    Value::String(s) => Ok(s.clone()),
                    Value::Number(n) => Ok(n.to_string()),
                    _ => Err(format!("Request '{id}': dependsOn must list ids.")),
                })
                .collect::<Result<_, _>>()?,
            Some(_) => return Err(format!("Request '{id}': dependsOn must be an array.")),
        };
        out.push(Sub {
            id,
            method,
            url,
            headers,
            body,
            depends_on,
        });
    }
    for s in &out {
        for d in &s.depends_on {
            if !ids.contains(&d.to_ascii_lowercase()) {
                return Err(format!(
                    "Request '{}' depends on '{d}', which is not in the batch.",
                    s.id
                ));
            }
        }
    }
    Ok(out)
}

/// Batch URLs are written as people type them (`$filter=city eq null`):
/// percent-encode what a URI cannot hold (spaces, quotes, non-ASCII…).
fn loose_uri(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_ascii_graphic() && !"\"<>\\^`{|}".contains(c) {
            out.push(c);
        } else {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out
}

/// The mailbox (user id) a sub-request's URL names, for the per-mailbox limit.
fn mailbox_of(shared: &Shared, url: &str, me: Option<&str>) -> Option<String> {
    let path = url.split('?').next().unwrap_or("");
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match segs.as_slice() {
        ["v1.0", users, u, _, ..] if users.eq_ignore_ascii_case("users") => {
            let u = super::percent_decode(u);
            let t = shared.lock();
            t.mailbox_index(&u).map(|i| t.mailboxes.user(i).id.clone())
        }
        ["v1.0", me_seg, _, ..] if me_seg.eq_ignore_ascii_case("me") => me.map(str::to_string),
        _ => None,
    }
}

async fn run_one(shared: Arc<Shared>, sub: &Sub, auth: Option<HeaderValue>) -> Value {
    let mut b = Request::builder()
        .method(sub.method.clone())
        .uri(sub.url.as_str());
    if let Some(a) = auth {
        b = b.header(header::AUTHORIZATION, a);
    }
    for (k, v) in &sub.headers {
        if let (Ok(k), Ok(v)) = (
            HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_str(v),
        ) {
            b = b.header(k, v);
        }
    }
    let body = sub.body.clone().unwrap_or_default();
    if !body.is_empty() {
        b = b.header(header::CONTENT_LENGTH, body.len());
    }
    let req = match b.body(Body::from(body)) {
        Ok(mut r) => {
            r.extensions_mut().insert(SubRequest(sub.id.clone()));
            r
        }
        Err(_) => {
            return sub_response(&sub.id, bad(&format!("Request '{}' is malformed.", sub.id)))
                .await;
        }
    };
    let resp = match super::service(shared).oneshot(req).await {
        Ok(r) => r,
        Err(never) => match never {},
    };
    sub_response(&sub.id, resp).await
}

/// One entry of `responses`: id, status, headers, body (JSON as JSON,
/// anything else base64).
async fn sub_response(id: &str, resp: Response) -> Value {
    let status = resp.status().as_u16();
    let (parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let mut headers = Map::new();
    for (k, v) in &parts.headers {
        let keep = [
            "content-type",
            "retry-after",
            "location",
            "preference-applied",
            "etag",
            "odata-version",
        ];
        if keep.contains(&k.as_str())
            && let Ok(v) = v.to_str()
        {
            let name = match k.as_str() {
                "content-type" => "Content-Type",
                "retry-after" => "Retry-After",
                "location" => "Location",
                "preference-applied" => "Preference-Applied",
                "etag" => "ETag",
                _ => "OData-Version",
            };
            headers.insert(name.into(), json!(v));
        }
    }
    let is_json = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let mut out = Map::new();
    out.insert("id".into(), json!(id));
    out.insert("status".into(), json!(status));
    out.insert("headers".into(), Value::Object(headers));
    if !bytes.is_empty() {
        let body = if is_json {
            serde_json::from_slice(&bytes).unwrap_or_else(|_| json!(STANDARD.encode(&bytes)))
        } else {
            json!(STANDARD.encode(&bytes))
        };
        out.insert("body".into(), body);
    }
    Value::Object(out)
}

fn failed_dependency(id: &str) -> Value {
    let info = super::request_info();
    json!({
        "id": id,
        "status": 424,
        "headers": {"Content-Type": "application/json"},
        "body": {"error": {
            "code": "FailedDependency",
            "message": "The request could not be completed because a request it depends on failed.",
            "innerError": {
                "date": info.date,
                "request-id": info.request_id,
                "client-request-id": info.client_request_id,
            }
        }}
    })
}

/// `POST /v1.0/$batch`.
pub(crate) async fn batch(State(shared): St, headers: HeaderMap, body: Body) -> Response {
    let bytes = match super::read_body(body).await {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    let Ok(v) = serde_json::from_slice::<Value>(&bytes) else {
        return GraphError::malformed_json().into_response();
    };
    let subs = match parse(&v, &shared.base_url) {
        Ok(s) => s,
        Err(m) => return bad(&m),
    };
    let auth = headers.get(header::AUTHORIZATION).cloned();
    let me = super::auth::check(&shared, auth.as_ref().and_then(|a| a.to_str().ok()))
        .ok()
        .and_then(|c| c.user);

    // id (lowercase) → status once answered
    let mut done: HashMap<String, u16> = HashMap::new();
    let mut answers: HashMap<String, Value> = HashMap::new();
    let mut pending: Vec<&Sub> = subs.iter().collect();
    while !pending.is_empty() {
        let (ready, waiting): (Vec<&Sub>, Vec<&Sub>) = pending.into_iter().partition(|s| {
            s.depends_on
                .iter()
                .all(|d| done.contains_key(&d.to_ascii_lowercase()))
        });
        if ready.is_empty() {
            return bad("The dependsOn of the batch's requests form a cycle.");
        }
        pending = waiting;
        let mut run = Vec::new();
        for s in ready {
            let failed = s.depends_on.iter().any(|d| {
                done.get(&d.to_ascii_lowercase())
                    .is_some_and(|st| *st >= 400)
            });
            if failed {
                done.insert(s.id.to_ascii_lowercase(), 424);
                answers.insert(s.id.to_ascii_lowercase(), failed_dependency(&s.id));
            } else {
                run.push(s);
            }
        }
        // At most PER_MAILBOX at once per mailbox: groups run side by side,
        // each group in chunks.
        let mut groups: HashMap<Option<String>, Vec<&Sub>> = HashMap::new();
        for s in run {
            groups
                .entry(mailbox_of(&shared, &s.url, me.as_deref()))
                .or_default()
                .push(s);
        }
        let lanes = groups.into_values().map(|group| {
            let shared = shared.clone();
            let auth = auth.clone();
            async move {
                let mut out = Vec::new();
                for chunk in group.chunks(PER_MAILBOX) {
                    let results = futures_util::future::join_all(
                        chunk
                            .iter()
                            .map(|s| run_one(shared.clone(), s, auth.clone())),
                    )
                    .await;
                    out.extend(chunk.iter().map(|s| s.id.clone()).zip(results));
                }
                out
            }
        });
        for lane in futures_util::future::join_all(lanes).await {
            for (id, answer) in lane {
                let status = answer["status"].as_u64().unwrap_or(500) as u16;
                done.insert(id.to_ascii_lowercase(), status);
                answers.insert(id.to_ascii_lowercase(), answer);
            }
        }
    }
    let responses: Vec<Value> = subs
        .iter()
        .filter_map(|s| answers.remove(&s.id.to_ascii_lowercase()))
        .collect();
    super::graph_json(StatusCode::OK, json!({ "responses": responses }))
}
