//! Microsoft identity platform, client-credentials only:
//! `POST /{tenant}/oauth2/v2.0/token`, and the bearer check on `/v1.0`.
//!
//! Access tokens look like Entra's (three base64url JWT parts) but are
//! signed with the tenant's secret key (BLAKE3), valid 3600 s.

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use super::St;
use crate::Shared;
use crate::error::GraphError;
use crate::rng::random_guid;

pub(crate) const TOKEN_LIFETIME_SECS: i64 = 3600;
pub(crate) const GRAPH_SCOPE: &str = "https://graph.microsoft.com/.default";
const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";

/// Entra's error JSON.
fn entra_error(
    status: StatusCode,
    error: &str,
    code: u32,
    description: &str,
    correlation_id: &str,
) -> Response {
    let now = chrono::Utc::now();
    let trace_id = random_guid();
    let timestamp = now.format("%Y-%m-%d %H:%M:%SZ").to_string();
    let body = json!({
        "error": error,
        "error_description": format!(
            "AADSTS{code}: {description} Trace ID: {trace_id} Correlation ID: {correlation_id} Timestamp: {timestamp}"
        ),
        "error_codes": [code],
        "timestamp": timestamp,
        "trace_id": trace_id,
        "correlation_id": correlation_id,
        "error_uri": format!("https://login.microsoftonline.com/error?code={code}"),
    });
    entra_json(status, body)
}

/// A JSON answer of the token endpoint, with Entra's headers.
fn entra_json(status: StatusCode, body: Value) -> Response {
    let mut resp = (status, body.to_string()).into_response();
    let h = resp.headers_mut();
    h.insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    h.insert(
        axum::http::header::CACHE_CONTROL,
        HeaderValue::from_static("no-store, no-cache"),
    );
    resp
}

/// `POST /{tenant}/oauth2/v2.0/token` (client credentials with a secret).
pub(crate) async fn token(
    State(shared): St,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let correlation_id = headers
        .get("client-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .unwrap_or_else(random_guid);
    let err = |status, error: &str, code, desc: &str| {
        entra_error(status, error, code, desc, &correlation_id)
    };
    let (tenant_id, client_id, client_secret, domain) = {
        let t = shared.lock();
        (
            t.tenant_id.clone(),
            t.client_id.clone(),
            t.client_secret.clone(),
            crate::data::DOMAIN.to_string(),
        )
    };
    if !(tenant.eq_ignore_ascii_case(&tenant_id) || tenant.eq_ignore_ascii_case(&domain)) {
        return err(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            90002,
            &format!(
                "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant."
            ),
        );
    }
    let Ok(bytes) = axum::body::to_bytes(body, 1024 * 1024).await else {
        return err(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'grant_type'.",
        );
    };
    let is_form = super::content_type(&headers).starts_with("application/x-www-form-urlencoded");
    let form: Vec<(String, String)> = if is_form {
        url::form_urlencoded::parse(&bytes)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    } else {
        Vec::new()
    };
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .filter(|v| !v.is_empty())
    };
    let missing = |name: &str| {
        err(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            900144,
            &format!("The request body must contain the following parameter: '{name}'."),
        )
    };
    let Some(grant_type) = field("grant_type") else {
        return missing("grant_type");
    };
    if grant_type != "client_credentials" {
        return err(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            70003,
            &format!(
                "The app requested an unsupported grant type '{grant_type}'. This emulator supports only client_credentials."
            ),
        );
    }
    let Some(req_client) = field("client_id") else {
        return missing("client_id");
    };
    let Some(scope) = field("scope") else {
        return missing("scope");
    };
    if !req_client.eq_ignore_ascii_case(&client_id) {
        return err(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            700016,
            &format!(
                "Application with identifier '{req_client}' was not found in the directory '{tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant."
            ),
        );
    }
    let scopes: Vec<&str> = scope.split_whitespace().collect();
    let graph_default = format!("{GRAPH_APP_ID}/.default");
    if scopes.len() != 1 || !scopes[0].ends_with("/.default") {
        return err(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            1002012,
            &format!(
                "The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."
            ),
        );
    }
    if !(scopes[0].eq_ignore_ascii_case(GRAPH_SCOPE)
        || scopes[0].eq_ignore_ascii_case(&graph_default))
    {
        let resource = scopes[0].trim_end_matches("/.default");
        return err(
            StatusCode::BAD_REQUEST,
            "invalid_resource",
            500011,
            &format!(
                "The resource principal named {resource} was not found in the tenant named {tenant}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant."
            ),
        );
    }
    if field("client_assertion").is_some() && field("client_secret").is_none() {
        return err(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            700027,
            "The certificate with identifier used to sign the client assertion is not registered on application. This emulator accepts only client secrets.",
        );
    }
    let Some(secret) = field("client_secret") else {
        return err(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000216,
            "'client_assertion', 'client_secret' or 'request' is required for the 'client_credentials' grant type.",
        );
    };
    if secret != client_secret {
        return err(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000215,
            &format!(
                "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{client_id}'."
            ),
        );
    }
    let access_token = issue(&shared);
    let body = json!({
        "token_type": "Bearer",
        "expires_in": TOKEN_LIFETIME_SECS - 1,
        "ext_expires_in": TOKEN_LIFETIME_SECS - 1,
        "access_token": access_token,
    });
    entra_json(StatusCode::OK, body)
}

fn sign(key: &[u8; 32], data: &str) -> String {
    URL_SAFE_NO_PAD.encode(blake3::keyed_hash(key, data.as_bytes()).as_bytes())
}

/// Issues an app-only access token for the tenant's app registration.
pub(crate) fn issue(shared: &Shared) -> String {
    let t = shared.lock();
    let now = t.now().timestamp();
    let header = json!({"typ": "JWT", "alg": "HS256", "kid": "qcb-graph-sim"});
    let claims = json!({
        "aud": "https://graph.microsoft.com",
        "iss": format!("https://sts.windows.net/{}/", t.tenant_id),
        "iat": now,
        "nbf": now,
        "exp": now + TOKEN_LIFETIME_SECS,
        "app_displayname": "QCBackup Manager",
        "appid": t.client_id,
        "appidacr": "1",
        "idtyp": "app",
        "oid": t.client_id,
        "roles": ["Mail.ReadWrite", "User.Read.All", "MailboxSettings.Read", "Contacts.ReadWrite", "Calendars.ReadWrite"],
        "sub": t.client_id,
        "tid": t.tenant_id,
        "uti": random_guid(),
        "ver": "1.0",
    });
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let sig = sign(&t.key, &signing_input);
    format!("{signing_input}.{sig}")
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum TokenCheck {
    Ok,
    Empty,
    Malformed,
    BadSignature,
    Expired,
}

pub(crate) fn check(shared: &Shared, authorization: Option<&str>) -> TokenCheck {
    let Some(value) = authorization.map(str::trim).filter(|v| !v.is_empty()) else {
        return TokenCheck::Empty;
    };
    let token = match value.split_once(' ') {
        Some((scheme, tok)) if scheme.eq_ignore_ascii_case("bearer") => tok.trim(),
        _ => return TokenCheck::Empty,
    };
    if token.is_empty() {
        return TokenCheck::Empty;
    }
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() != 3 {
        return TokenCheck::Malformed;
    }
    let t = shared.lock();
    let signing_input = format!("{}.{}", parts[0], parts[1]);
    if sign(&t.key, &signing_input) != parts[2] {
        return TokenCheck::BadSignature;
    }
    let Some(claims) = URL_SAFE_NO_PAD
        .decode(parts[1])
        .ok()
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
    else {
        return TokenCheck::Malformed;
    };
    if claims.get("tid").and_then(Value::as_str) != Some(t.tenant_id.as_str()) {
        return TokenCheck::BadSignature;
    }
    let exp = claims.get("exp").and_then(Value::as_i64).unwrap_or(0);
    if t.now().timestamp() >= exp {
        return TokenCheck::Expired;
    }
    TokenCheck::Ok
}

/// Middleware on `/v1.0`: 401 `InvalidAuthenticationToken` unless the
/// request carries a valid, unexpired bearer token.
pub(crate) async fn require_token(State(shared): St, req: Request, next: Next) -> Response {
    let auth = req
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    match check(&shared, auth) {
        TokenCheck::Ok => next.run(req).await,
        TokenCheck::Empty => GraphError::unauthenticated("Access token is empty.").into_response(),
        TokenCheck::Malformed => GraphError::unauthenticated(
            "IDX14100: JWT is not well formed, there are no dots (.).\nThe token needs to be in JWS or JWE Compact Serialization Format. (JWS): 'EncodedHeader.EndcodedPayload.EncodedSignature'. (JWE): 'EncodedProtectedHeader.EncodedEncryptedKey.EncodedInitializationVector.EncodedCiphertext.EncodedAuthenticationTag'.",
        )
        .into_response(),
        TokenCheck::BadSignature => {
            GraphError::unauthenticated("Access token validation failure. Invalid signature.")
                .into_response()
        }
        TokenCheck::Expired => {
            GraphError::unauthenticated("Lifetime validation failed, the token is expired.")
                .into_response()
        }
    }
}
