//! Microsoft identity platform: `POST /{tenant}/oauth2/v2.0/token`
//! (client credentials with a secret or a certificate assertion,
//! authorization code + PKCE, refresh tokens, device code),
//! `POST /{tenant}/oauth2/v2.0/devicecode`, and the bearer check on `/v1.0`
//! (signature, expiry, revocation, per-app permissions, throttling).
//! The sign-in pages (`/authorize`, `/devicelogin`) are in `signin.rs`.
//!
//! Access tokens look like Entra's (three base64url JWT parts) but are
//! signed with the tenant's secret key (BLAKE3).

// Handlers answer errors as ready responses (`Err(Response)`).
#![allow(clippy::result_large_err)]

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::St;
use crate::Shared;
use crate::error::GraphError;
use crate::identity::{
    self, AuthCode, DeviceCode, DeviceState, Family, RefreshGrant, normalise_scopes,
};
use crate::rng::random_guid;

pub(crate) const GRAPH_SCOPE: &str = "https://graph.microsoft.com/.default";
const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

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

/// The server clock with sub-second precision (device code polling).
pub(crate) fn precise_now(shared: &Shared) -> DateTime<Utc> {
    Utc::now() + shared.lock().clock_offset
}

/// Whether `tenant` in a URL names this tenant (id, domain, or the
/// multi-tenant aliases the delegated flows use).
pub(crate) fn tenant_ok(shared: &Shared, tenant: &str, delegated: bool) -> bool {
    let t = shared.lock();
    tenant.eq_ignore_ascii_case(&t.tenant_id)
        || tenant.eq_ignore_ascii_case(crate::data::DOMAIN)
        || (delegated
            && ["common", "organizations"]
                .iter()
                .any(|a| tenant.eq_ignore_ascii_case(a)))
}

pub(crate) fn unknown_tenant(tenant: &str, correlation_id: &str) -> Response {
    entra_error(
        StatusCode::BAD_REQUEST,
        "invalid_request",
        90002,
        &format!(
            "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant."
        ),
        correlation_id,
    )
}

fn unknown_client(client: &str, tenant: &str, correlation_id: &str) -> Response {
    entra_error(
        StatusCode::BAD_REQUEST,
        "unauthorized_client",
        700016,
        &format!(
            "Application with identifier '{client}' was not found in the directory '{tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant."
        ),
        correlation_id,
    )
}

/// A parsed form body.
struct Form(Vec<(String, String)>);

impl Form {
    fn get(&self, name: &str) -> Option<String> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .filter(|v| !v.is_empty())
    }
}

async fn read_form(headers: &HeaderMap, body: Body) -> Option<Form> {
    let bytes = axum::body::to_bytes(body, 1024 * 1024).await.ok()?;
    let is_form = super::content_type(headers).starts_with("application/x-www-form-urlencoded");
    Some(Form(if is_form {
        url::form_urlencoded::parse(&bytes)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    } else {
        Vec::new()
    }))
}

fn correlation(headers: &HeaderMap) -> String {
    headers
        .get("client-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .unwrap_or_else(random_guid)
}

/// `POST /{tenant}/oauth2/v2.0/token`.
pub(crate) async fn token(
    State(shared): St,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let correlation_id = correlation(&headers);
    let err = |status, error: &str, code, desc: &str| {
        entra_error(status, error, code, desc, &correlation_id)
    };
    let Some(form) = read_form(&headers, body).await else {
        return err(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'grant_type'.",
        );
    };
    let missing = |name: &str| {
        err(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            900144,
            &format!("The request body must contain the following parameter: '{name}'."),
        )
    };
    let grant_type = form.get("grant_type");
    let delegated = grant_type
        .as_deref()
        .is_some_and(|g| g != "client_credentials");
    if !tenant_ok(&shared, &tenant, delegated) {
        return unknown_tenant(&tenant, &correlation_id);
    }
    let Some(grant_type) = grant_type else {
        return missing("grant_type");
    };
    let Some(req_client) = form.get("client_id") else {
        return missing("client_id");
    };
    let Some(app) = shared.proto.identity().app(&req_client).cloned() else {
        return unknown_client(&req_client, &tenant, &correlation_id);
    };
    // A confidential client that sends a secret must send the right one.
    if grant_type != "client_credentials"
        && let Some(sent) = form.get("client_secret")
        && app.reg.client_secret.as_deref() != Some(sent.as_str())
    {
        return bad_secret(&app.reg.client_id, &correlation_id);
    }
    match grant_type.as_str() {
        "client_credentials" => client_credentials(&shared, &tenant, &form, &app, &correlation_id),
        "authorization_code" => authorization_code(&shared, &form, &app, &correlation_id),
        "refresh_token" => refresh_token(&shared, &form, &app, &correlation_id),
        DEVICE_GRANT => device_code_grant(&shared, &form, &app, &correlation_id),
        other => err(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            70003,
            &format!("The app requested an unsupported grant type '{other}'."),
        ),
    }
}

fn bad_secret(client_id: &str, correlation_id: &str) -> Response {
    entra_error(
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        7000215,
        &format!(
            "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{client_id}'."
        ),
        correlation_id,
    )
}

fn client_credentials(
    shared: &Shared,
    tenant: &str,
    form: &Form,
    app: &identity::App,
    correlation_id: &str,
) -> Response {
    let err = |status, error: &str, code, desc: &str| {
        entra_error(status, error, code, desc, correlation_id)
    };
    let Some(scope) = form.get("scope") else {
        return err(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'scope'.",
        );
    };
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
    if let Some(assertion) = form.get("client_assertion") {
        if form.get("client_assertion_type").as_deref() != Some(JWT_BEARER) {
            return err(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                900144,
                &format!(
                    "The request body must contain the following parameter: 'client_assertion_type' with the value '{JWT_BEARER}'."
                ),
            );
        }
        if let Err(resp) = check_assertion(shared, &assertion, app, correlation_id) {
            return resp;
        }
    } else {
        let Some(secret) = form.get("client_secret") else {
            return err(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                7000216,
                "'client_assertion', 'client_secret' or 'request' is required for the 'client_credentials' grant type.",
            );
        };
        if app.reg.client_secret.as_deref() != Some(secret.as_str()) {
            return bad_secret(&app.reg.client_id, correlation_id);
        }
    }
    let lifetime = shared.proto.auth().token_lifetime_secs as i64;
    let access_token = issue_app(shared, app);
    entra_json(
        StatusCode::OK,
        json!({
            "token_type": "Bearer",
            "expires_in": lifetime - 1,
            "ext_expires_in": lifetime - 1,
            "access_token": access_token,
        }),
    )
}

/// Checks a certificate client assertion (RS256 JWT) for `app`.
fn check_assertion(
    shared: &Shared,
    assertion: &str,
    app: &identity::App,
    correlation_id: &str,
) -> Result<(), Response> {
    let fail = |code, desc: &str| {
        Err(entra_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            code,
            desc,
            correlation_id,
        ))
    };
    let header: Value = assertion
        .split('.')
        .next()
        .and_then(|h| URL_SAFE_NO_PAD.decode(h).ok())
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(Value::Null);
    if header.is_null() {
        return Err(entra_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            50027,
            "JWT token is invalid or malformed.",
            correlation_id,
        ));
    }
    let x5t = header.get("x5t").and_then(Value::as_str);
    let x5t256 = header.get("x5t#S256").and_then(Value::as_str);
    let kid = header.get("kid").and_then(Value::as_str);
    let candidates: Vec<&rsa::RsaPublicKey> = app
        .certs
        .iter()
        .filter(|c| {
            let named = x5t.is_some() || x5t256.is_some() || kid.is_some();
            !named
                || [x5t, kid].iter().flatten().any(|t| {
                    c.x5t.as_deref().is_some_and(|x| x.eq_ignore_ascii_case(t))
                        || c.x5t
                            .as_deref()
                            .is_some_and(|x| hex_thumb(x).eq_ignore_ascii_case(t))
                })
                || x5t256.is_some_and(|t| c.x5t_s256.as_deref() == Some(t))
        })
        .map(|c| &c.key)
        .collect();
    if candidates.is_empty() {
        let id = x5t.or(x5t256).or(kid).unwrap_or("(none)");
        return fail(
            700027,
            &format!(
                "The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '{id}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '{}'.]",
                app.reg.client_id
            ),
        );
    }
    let claims = match identity::verify_rs256(assertion, &candidates) {
        Ok((_, c)) => c,
        Err("alg") => {
            return fail(
                5002738,
                "Invalid JWT token. 'RS256' is the only supported signing algorithm.",
            );
        }
        Err("malformed") => {
            return Err(entra_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                50027,
                "JWT token is invalid or malformed.",
                correlation_id,
            ));
        }
        Err(_) => {
            return fail(
                7000274,
                "Key was found, but use of the key to verify the signature failed.",
            );
        }
    };
    let s = |k: &str| claims.get(k).and_then(Value::as_str).unwrap_or("");
    let (tenant_id, now) = {
        let t = shared.lock();
        (t.tenant_id.clone(), t.now().timestamp())
    };
    let aud = s("aud").trim_end_matches('/').to_ascii_lowercase();
    let audiences: Vec<String> = [tenant_id.as_str(), crate::data::DOMAIN]
        .iter()
        .flat_map(|t| {
            [
                format!("{}/{t}/oauth2/v2.0/token", shared.base_url),
                format!("https://login.microsoftonline.com/{t}/oauth2/v2.0/token"),
                format!("https://login.microsoftonline.com/{t}/v2.0"),
            ]
        })
        .map(|a| a.to_ascii_lowercase())
        .collect();
    if !audiences.contains(&aud) {
        return fail(
            700212,
            &format!(
                "No matching federated identity record found for presented assertion audience '{}'.",
                s("aud")
            ),
        );
    }
    if !s("iss").eq_ignore_ascii_case(&app.reg.client_id)
        || !s("sub").eq_ignore_ascii_case(&app.reg.client_id)
    {
        return fail(
            700021,
            "Client assertion application identifier doesn't match 'client_id' parameter.",
        );
    }
    let exp = claims.get("exp").and_then(Value::as_i64).unwrap_or(0);
    let nbf = claims
        .get("nbf")
        .and_then(Value::as_i64)
        .unwrap_or(i64::MIN);
    if exp <= now || nbf > now + 300 {
        return fail(
            700024,
            "Client assertion is not within its valid time range.",
        );
    }
    let jti = s("jti");
    if jti.is_empty()
        || !shared
            .proto
            .identity()
            .assertion_ids
            .insert(jti.to_string())
    {
        return fail(
            7000215,
            "Client assertion contains no jti or one that was used before (replay).",
        );
    }
    Ok(())
}

/// Windows tools print SHA-1 thumbprints in hex: accept that form too.
fn hex_thumb(x5t: &str) -> String {
    URL_SAFE_NO_PAD
        .decode(x5t)
        .map(|b| b.iter().map(|x| format!("{x:02X}")).collect())
        .unwrap_or_default()
}

fn invalid_grant(code: u32, desc: &str, correlation_id: &str) -> Response {
    entra_error(
        StatusCode::BAD_REQUEST,
        "invalid_grant",
        code,
        desc,
        correlation_id,
    )
}

fn authorization_code(
    shared: &Shared,
    form: &Form,
    app: &identity::App,
    correlation_id: &str,
) -> Response {
    let Some(code) = form.get("code") else {
        return entra_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'code'.",
            correlation_id,
        );
    };
    let now = shared.lock().now();
    let Some(grant) = shared.proto.identity().codes.remove(&code) else {
        return invalid_grant(
            54005,
            "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.",
            correlation_id,
        );
    };
    if grant.expires <= now {
        return invalid_grant(
            70008,
            "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.",
            correlation_id,
        );
    }
    if !grant.client_id.eq_ignore_ascii_case(&app.reg.client_id) {
        return invalid_grant(
            70002,
            "The authorization code was issued to another client.",
            correlation_id,
        );
    }
    if form.get("redirect_uri").as_deref() != Some(grant.redirect_uri.as_str()) {
        return invalid_grant(
            500112,
            "The reply url does not match the reply url used in the authorization request.",
            correlation_id,
        );
    }
    if let Some((challenge, method)) = &grant.challenge {
        let Some(verifier) = form.get("code_verifier") else {
            return invalid_grant(
                501481,
                "The Code_Verifier is missing while a code_challenge was supplied in the authorization request.",
                correlation_id,
            );
        };
        if !identity::pkce_ok(challenge, method, &verifier) {
            return invalid_grant(
                501481,
                "The Code_Verifier does not match the code_challenge supplied in the authorization request.",
                correlation_id,
            );
        }
    }
    user_tokens(
        shared,
        app,
        &grant.user_id,
        &grant.scopes,
        grant.nonce.as_deref(),
    )
}

fn refresh_token(
    shared: &Shared,
    form: &Form,
    app: &identity::App,
    correlation_id: &str,
) -> Response {
    let Some(rt) = form.get("refresh_token") else {
        return entra_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'refresh_token'.",
            correlation_id,
        );
    };
    let now = shared.lock().now();
    let (user, scopes) = {
        let id = shared.proto.identity();
        let Some(g) = id.refresh.get(&rt) else {
            return invalid_grant(
                9002313,
                "Invalid request. Request is malformed or invalid.",
                correlation_id,
            );
        };
        if g.epoch != id.epoch {
            return invalid_grant(
                50173,
                "The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password.",
                correlation_id,
            );
        }
        if g.expires <= now {
            return invalid_grant(
                700082,
                "The refresh token has expired due to inactivity.",
                correlation_id,
            );
        }
        if !g.client_id.eq_ignore_ascii_case(&app.reg.client_id) {
            return invalid_grant(
                70000,
                "Provided grant is invalid or malformed: the refresh token was issued to another client.",
                correlation_id,
            );
        }
        (g.user_id.clone(), g.scopes.clone())
    };
    user_tokens(shared, app, &user, &scopes, None)
}

fn device_code_grant(
    shared: &Shared,
    form: &Form,
    app: &identity::App,
    correlation_id: &str,
) -> Response {
    let Some(code) = form.get("device_code") else {
        return entra_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'device_code'.",
            correlation_id,
        );
    };
    let now = precise_now(shared);
    let interval = shared.proto.auth().device_code_interval_secs as i64;
    let outcome = {
        let mut id = shared.proto.identity();
        let Some(d) = id.devices.iter_mut().find(|d| {
            d.device_code == code && d.client_id.eq_ignore_ascii_case(&app.reg.client_id)
        }) else {
            return entra_error(
                StatusCode::BAD_REQUEST,
                "bad_verification_code",
                70018,
                "The device code was not recognised.",
                correlation_id,
            );
        };
        let too_fast = d
            .last_poll
            .is_some_and(|p| (now - p).num_milliseconds() < interval * 1000);
        d.last_poll = Some(now);
        if d.expires <= now {
            Err((
                "expired_token",
                70020,
                "The provided device code has expired.",
            ))
        } else {
            match d.state {
                DeviceState::Declined => Err((
                    "authorization_declined",
                    70000,
                    "The end user denied the authorization request.",
                )),
                DeviceState::Redeemed => Err((
                    "invalid_grant",
                    54005,
                    "The device code was already redeemed.",
                )),
                DeviceState::Pending if too_fast => Err((
                    "slow_down",
                    70016,
                    "Polling too fast: wait at least the interval between polls.",
                )),
                DeviceState::Pending => Err((
                    "authorization_pending",
                    70016,
                    "OAuth 2.0 device flow error. Authorization is pending. Continue polling.",
                )),
                DeviceState::Approved => {
                    d.state = DeviceState::Redeemed;
                    Ok((d.user_id.clone().unwrap_or_default(), d.scopes.clone()))
                }
            }
        }
    };
    match outcome {
        Ok((user, scopes)) => user_tokens(shared, app, &user, &scopes, None),
        Err((error, code, desc)) => {
            entra_error(StatusCode::BAD_REQUEST, error, code, desc, correlation_id)
        }
    }
}

/// `POST /{tenant}/oauth2/v2.0/devicecode`.
pub(crate) async fn devicecode(
    State(shared): St,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let correlation_id = correlation(&headers);
    if !tenant_ok(&shared, &tenant, true) {
        return unknown_tenant(&tenant, &correlation_id);
    }
    let form = read_form(&headers, body).await.unwrap_or(Form(Vec::new()));
    let Some(client) = form.get("client_id") else {
        return entra_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'client_id'.",
            &correlation_id,
        );
    };
    let Some(app) = shared.proto.identity().app(&client).cloned() else {
        return unknown_client(&client, &tenant, &correlation_id);
    };
    let Some(scope) = form.get("scope") else {
        return entra_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'scope'.",
            &correlation_id,
        );
    };
    let scopes = normalise_scopes(&scope, &app);
    let cfg = shared.proto.auth();
    let now = shared.lock().now();
    let user_code: String = {
        const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
        (0..9)
            .map(|_| ALPHABET[rand::random::<usize>() % ALPHABET.len()] as char)
            .collect()
    };
    let device_code = opaque_token("DAQABAAEAAA", 96);
    let uri = format!("{}/devicelogin", shared.base_url);
    shared.proto.identity().devices.push(DeviceCode {
        device_code: device_code.clone(),
        user_code: user_code.clone(),
        client_id: app.reg.client_id.clone(),
        scopes,
        expires: now + chrono::Duration::seconds(cfg.device_code_lifetime_secs as i64),
        state: DeviceState::Pending,
        user_id: None,
        last_poll: None,
    });
    entra_json(
        StatusCode::OK,
        json!({
            "user_code": user_code,
            "device_code": device_code,
            "verification_uri": uri,
            "expires_in": cfg.device_code_lifetime_secs,
            "interval": cfg.device_code_interval_secs,
            "message": format!("To sign in, use a web browser to open the page {uri} and enter the code {user_code} to authenticate."),
        }),
    )
}

/// A random URL-safe token with a fixed prefix.
pub(crate) fn opaque_token(prefix: &str, len: usize) -> String {
    let mut bytes = vec![0u8; len * 3 / 4 + 1];
    for b in bytes.iter_mut() {
        *b = rand::random();
    }
    let mut s = format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes));
    s.truncate(prefix.len() + len);
    s
}

/// Stores an authorization code for a signed-in user; returns it.
pub(crate) fn new_auth_code(shared: &Shared, mut code: AuthCode) -> String {
    let cfg = shared.proto.auth();
    code.expires =
        shared.lock().now() + chrono::Duration::seconds(cfg.auth_code_lifetime_secs as i64);
    let value = opaque_token("1.AQ", 200);
    shared.proto.identity().codes.insert(value.clone(), code);
    value
}

/// The token answer of the delegated flows: access token, a new refresh
/// token (with `offline_access`), an id token (with `openid`).
fn user_tokens(
    shared: &Shared,
    app: &identity::App,
    user_id: &str,
    scopes: &[String],
    nonce: Option<&str>,
) -> Response {
    let cfg = shared.proto.auth();
    let lifetime = cfg.token_lifetime_secs as i64;
    let access_token = issue_user(shared, app, user_id, scopes);
    let mut body = json!({
        "token_type": "Bearer",
        "scope": scopes.join(" "),
        "expires_in": lifetime - 1,
        "ext_expires_in": lifetime - 1,
        "access_token": access_token,
    });
    if scopes.iter().any(|s| s == "offline_access") {
        let rt = opaque_token("1.AQ", 280);
        let now = shared.lock().now();
        let mut id = shared.proto.identity();
        let epoch = id.epoch;
        id.refresh.insert(
            rt.clone(),
            RefreshGrant {
                client_id: app.reg.client_id.clone(),
                user_id: user_id.to_string(),
                scopes: scopes.to_vec(),
                epoch,
                expires: now + chrono::Duration::seconds(cfg.refresh_token_lifetime_secs as i64),
            },
        );
        body["refresh_token"] = json!(rt);
    }
    if scopes.iter().any(|s| s == "openid") {
        body["id_token"] = json!(id_token(shared, app, user_id, nonce));
    }
    entra_json(StatusCode::OK, body)
}

fn sign(key: &[u8; 32], data: &str) -> String {
    URL_SAFE_NO_PAD.encode(blake3::keyed_hash(key, data.as_bytes()).as_bytes())
}

fn encode_jwt(key: &[u8; 32], claims: &Value) -> String {
    let header = json!({"typ": "JWT", "alg": "HS256", "kid": "qcb-graph-sim"});
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let sig = sign(key, &signing_input);
    format!("{signing_input}.{sig}")
}

/// Issues an app-only access token with the app's consented roles.
pub(crate) fn issue_app(shared: &Shared, app: &identity::App) -> String {
    let lifetime = shared.proto.auth().token_lifetime_secs as i64;
    let uti = random_guid();
    let (key, claims) = {
        let t = shared.lock();
        let now = t.now().timestamp();
        let claims = json!({
            "aud": "https://graph.microsoft.com",
            "iss": format!("https://sts.windows.net/{}/", t.tenant_id),
            "iat": now,
            "nbf": now,
            "exp": now + lifetime,
            "app_displayname": app.reg.display_name,
            "appid": app.reg.client_id,
            "appidacr": "1",
            "idtyp": "app",
            "oid": app.reg.client_id,
            "roles": app.reg.application_permissions,
            "sub": app.reg.client_id,
            "tid": t.tenant_id,
            "uti": uti,
            "ver": "1.0",
        });
        (t.key, claims)
    };
    let mut id = shared.proto.identity();
    let epoch = id.epoch;
    id.issued.insert(uti, epoch);
    encode_jwt(&key, &claims)
}

/// Issues a delegated access token for `user_id` with `scopes`.
pub(crate) fn issue_user(
    shared: &Shared,
    app: &identity::App,
    user_id: &str,
    scopes: &[String],
) -> String {
    let lifetime = shared.proto.auth().token_lifetime_secs as i64;
    let uti = random_guid();
    let (key, claims) = {
        let t = shared.lock();
        let now = t.now().timestamp();
        let user = t
            .mailbox_index(user_id)
            .map(|i| t.mailboxes.user(i).clone());
        let scp: Vec<&str> = scopes
            .iter()
            .map(String::as_str)
            .filter(|s| !["offline_access", "openid", "profile", "email"].contains(s))
            .collect();
        let claims = json!({
            "aud": "https://graph.microsoft.com",
            "iss": format!("https://sts.windows.net/{}/", t.tenant_id),
            "iat": now,
            "nbf": now,
            "exp": now + lifetime,
            "app_displayname": app.reg.display_name,
            "appid": app.reg.client_id,
            "appidacr": "0",
            "idtyp": "user",
            "name": user.as_ref().map(|u| u.display_name.clone()),
            "oid": user.as_ref().map(|u| u.id.clone()).unwrap_or_else(|| user_id.to_string()),
            "scp": scp.join(" "),
            "sub": random_guid(),
            "tid": t.tenant_id,
            "unique_name": user.as_ref().map(|u| u.upn.clone()),
            "upn": user.as_ref().map(|u| u.upn.clone()),
            "uti": uti,
            "ver": "1.0",
        });
        (t.key, claims)
    };
    let mut id = shared.proto.identity();
    let epoch = id.epoch;
    id.issued.insert(uti, epoch);
    encode_jwt(&key, &claims)
}

fn id_token(shared: &Shared, app: &identity::App, user_id: &str, nonce: Option<&str>) -> String {
    let t = shared.lock();
    let now = t.now().timestamp();
    let user = t
        .mailbox_index(user_id)
        .map(|i| t.mailboxes.user(i).clone());
    let mut claims = json!({
        "aud": app.reg.client_id,
        "iss": format!("{}/{}/v2.0", shared.base_url, t.tenant_id),
        "iat": now,
        "nbf": now,
        "exp": now + 3600,
        "name": user.as_ref().map(|u| u.display_name.clone()),
        "oid": user.as_ref().map(|u| u.id.clone()),
        "preferred_username": user.as_ref().map(|u| u.upn.clone()),
        "sub": user.as_ref().map(|u| u.id.clone()),
        "tid": t.tenant_id,
        "ver": "2.0",
    });
    if let Some(n) = nonce {
        claims["nonce"] = json!(n);
    }
    encode_jwt(&t.key, &claims)
}

/// What a valid access token says.
#[derive(Debug, Clone)]
pub(crate) struct Claims {
    pub app_id: String,
    /// `roles` of app-only tokens, `scp` of delegated ones.
    pub perms: Vec<String>,
    /// The signed-in user of a delegated token.
    pub user: Option<String>,
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum TokenCheck {
    Empty,
    Malformed,
    BadSignature,
    Expired,
    Revoked,
}

pub(crate) fn check(shared: &Shared, authorization: Option<&str>) -> Result<Claims, TokenCheck> {
    let Some(value) = authorization.map(str::trim).filter(|v| !v.is_empty()) else {
        return Err(TokenCheck::Empty);
    };
    let token = match value.split_once(' ') {
        Some((scheme, tok)) if scheme.eq_ignore_ascii_case("bearer") => tok.trim(),
        _ => return Err(TokenCheck::Empty),
    };
    if token.is_empty() {
        return Err(TokenCheck::Empty);
    }
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() != 3 {
        return Err(TokenCheck::Malformed);
    }
    let claims = {
        let t = shared.lock();
        let signing_input = format!("{}.{}", parts[0], parts[1]);
        if sign(&t.key, &signing_input) != parts[2] {
            return Err(TokenCheck::BadSignature);
        }
        let Some(claims) = URL_SAFE_NO_PAD
            .decode(parts[1])
            .ok()
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        else {
            return Err(TokenCheck::Malformed);
        };
        if claims.get("tid").and_then(Value::as_str) != Some(t.tenant_id.as_str()) {
            return Err(TokenCheck::BadSignature);
        }
        let exp = claims.get("exp").and_then(Value::as_i64).unwrap_or(0);
        if t.now().timestamp() >= exp {
            return Err(TokenCheck::Expired);
        }
        claims
    };
    let uti = claims.get("uti").and_then(Value::as_str).unwrap_or("");
    if !shared.proto.identity().token_live(uti) {
        return Err(TokenCheck::Revoked);
    }
    let s = |k: &str| claims.get(k).and_then(Value::as_str).map(str::to_string);
    let delegated = s("idtyp").as_deref() == Some("user");
    let perms = if delegated {
        s("scp")
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_string)
            .collect()
    } else {
        claims
            .get("roles")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|r| r.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    Ok(Claims {
        app_id: s("appid").unwrap_or_default(),
        perms,
        user: if delegated { s("oid") } else { None },
    })
}

fn unauthenticated(c: TokenCheck) -> Response {
    match c {
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
        TokenCheck::Revoked => GraphError::unauthenticated(
            "Access token has been revoked: the user or the app must sign in again.",
        )
        .into_response(),
    }
}

/// `/v1.0/me/...` with a delegated token is `/v1.0/users/{oid}/...`.
/// Returns the rewritten path, if any.
pub(crate) fn me_path(shared: &Shared, headers: &HeaderMap, path: &str) -> Option<String> {
    let rest = path.strip_prefix("/v1.0/me")?;
    if !(rest.is_empty() || rest.starts_with('/')) {
        return None;
    }
    let auth = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let user = check(shared, auth).ok()?.user?;
    Some(format!("/v1.0/users/{user}{rest}"))
}

/// Whether an app-only request may reach this mailbox under the app's Exchange RBAC for
/// Applications scope (no scope: every mailbox).
fn in_app_scope(shared: &Shared, claims: &Claims, user_id: &Option<String>) -> bool {
    let scope = shared
        .proto
        .identity()
        .app(&claims.app_id)
        .and_then(|a| a.reg.mailbox_scope.clone());
    let Some(scope) = scope else {
        return true;
    };
    let Some(id) = user_id else {
        return false;
    };
    let t = shared.lock();
    let upn = t
        .mailbox_index(id)
        .map(|i| t.mailboxes.user(i).upn.clone())
        .unwrap_or_default();
    scope
        .iter()
        .any(|m| m.eq_ignore_ascii_case(id) || m.eq_ignore_ascii_case(&upn))
}

/// Middleware on `/v1.0`: 401 `InvalidAuthenticationToken` unless the
/// request carries a valid, unexpired, unrevoked bearer token; 403 when
/// the token lacks the permission for the resource; 429 when the app is
/// over a mailbox's limits.
pub(crate) async fn require_token(State(shared): St, req: Request, next: Next) -> Response {
    let auth = req
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let claims = match check(&shared, auth) {
        Ok(c) => c,
        Err(e) => return unauthenticated(e),
    };
    let path = req.uri().path().to_string();
    let method = req.method().as_str().to_string();
    let mut mailbox = None;
    if let Some((fam, user, write)) = identity::needed(&method, &path) {
        let user_id = user.as_deref().and_then(|u| {
            let u = super::percent_decode(u);
            let t = shared.lock();
            t.mailbox_index(&u)
                .or_else(|| t.mailbox_by_primary_id(&u))
                .map(|i| t.mailboxes.user(i).id.clone())
        });
        let delegated = claims.user.is_some();
        let own = match (&claims.user, &user_id) {
            (Some(me), Some(u)) => me.eq_ignore_ascii_case(u),
            _ => false,
        };
        if !identity::allowed(&claims.perms, delegated, fam, write, own) {
            return if fam == Family::Directory {
                GraphError::request_denied().into_response()
            } else {
                GraphError::access_denied().into_response()
            };
        }
        if fam != Family::Directory && !delegated && !in_app_scope(&shared, &claims, &user_id) {
            return GraphError::access_denied().into_response();
        }
        if fam != Family::Directory {
            mailbox = user_id;
        }
    }
    let delay = req.extensions().get::<super::inject::Delay>().cloned();
    let Some(mailbox) = mailbox else {
        if let Some(d) = delay {
            d.wait().await;
        }
        return next.run(req).await;
    };
    let upload = if method == "GET" || method == "DELETE" {
        0
    } else {
        req.headers()
            .get(axum::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    match shared
        .proto
        .throttle
        .admit(&claims.app_id, &mailbox, upload)
    {
        Err(t) => GraphError::throttled(t.retry_after, t.limit).into_response(),
        Ok(slot) => {
            if let Some(d) = delay {
                d.wait().await;
            }
            let resp = next.run(req).await;
            drop(slot);
            resp
        }
    }
}
