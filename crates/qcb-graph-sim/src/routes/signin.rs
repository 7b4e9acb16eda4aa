//! The interactive sign-in pages, completable with plain HTTP:
//!
//! * `GET /{tenant}/oauth2/v2.0/authorize?client_id&response_type=code&redirect_uri&scope&state&code_challenge&code_challenge_method`
//!   shows a form; `POST` of that form (`login` = a user's UPN,
//!   `consent` = `accept` | `deny`, plus the query's parameters) answers
//!   302 to the loopback `redirect_uri` with `code` and `state` (or
//!   `error=access_denied`).
//! * `GET /devicelogin` shows a form; `POST /devicelogin` with `user_code`,
//!   `login` and `consent` approves or declines a device code.

// Handlers answer errors as ready responses (`Err(Response)`).
#![allow(clippy::result_large_err)]

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use super::St;
use crate::Admin;
use crate::Shared;
use crate::identity::{AuthCode, normalise_scopes};

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title></head>\n<body><h1>{}</h1>\n{body}\n</body></html>\n",
        esc(title),
        esc(title)
    );
    (status, Html(html)).into_response()
}

fn error_page(code: u32, text: &str) -> Response {
    page(
        StatusCode::BAD_REQUEST,
        "Sign in",
        &format!("<p id=\"error\">AADSTS{code}: {}</p>", esc(text)),
    )
}

fn pairs(raw: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(raw)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn get<'a>(p: &'a [(String, String)], k: &str) -> Option<&'a str> {
    p.iter()
        .find(|(n, _)| n == k)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

/// Entra accepts any port on a loopback redirect URI (RFC 8252).
fn loopback(uri: &str) -> bool {
    url::Url::parse(uri).is_ok_and(|u| {
        u.scheme() == "http"
            && matches!(
                u.host_str(),
                Some("localhost") | Some("127.0.0.1") | Some("[::1]")
            )
    })
}

fn redirect(uri: &str, params: &[(&str, &str)]) -> Response {
    let mut u = match url::Url::parse(uri) {
        Ok(u) => u,
        Err(_) => return error_page(50011, "The redirect URI is not valid."),
    };
    {
        let mut q = u.query_pairs_mut();
        for (k, v) in params {
            q.append_pair(k, v);
        }
    }
    (StatusCode::FOUND, [(header::LOCATION, u.to_string())]).into_response()
}

/// Checks the authorization request; the error page or redirect when it is
/// not acceptable.
fn validate(shared: &Shared, tenant: &str, p: &[(String, String)]) -> Result<(), Response> {
    if !super::auth::tenant_ok(shared, tenant, true) {
        return Err(error_page(90002, &format!("Tenant '{tenant}' not found.")));
    }
    let Some(client) = get(p, "client_id") else {
        return Err(error_page(
            900144,
            "The request body must contain the following parameter: 'client_id'.",
        ));
    };
    if shared.proto.identity().app(client).is_none() {
        return Err(error_page(
            700016,
            &format!("Application with identifier '{client}' was not found in the directory."),
        ));
    }
    let Some(redirect_uri) = get(p, "redirect_uri") else {
        return Err(error_page(
            900144,
            "The request body must contain the following parameter: 'redirect_uri'.",
        ));
    };
    if !loopback(redirect_uri) {
        return Err(error_page(
            50011,
            &format!(
                "The redirect URI '{redirect_uri}' specified in the request does not match the redirect URIs configured for the application. Use a loopback address (http://localhost)."
            ),
        ));
    }
    let state = get(p, "state").unwrap_or("");
    if get(p, "response_type") != Some("code") {
        return Err(redirect(
            redirect_uri,
            &[
                ("error", "unsupported_response_type"),
                (
                    "error_description",
                    "AADSTS700054: response_type 'code' is the only one supported.",
                ),
                ("state", state),
            ],
        ));
    }
    if get(p, "scope").is_none() {
        return Err(redirect(
            redirect_uri,
            &[
                ("error", "invalid_request"),
                (
                    "error_description",
                    "AADSTS900144: The request body must contain the following parameter: 'scope'.",
                ),
                ("state", state),
            ],
        ));
    }
    if let Some(m) = get(p, "code_challenge_method")
        && !(m == "S256" || m == "plain")
    {
        return Err(redirect(
            redirect_uri,
            &[
                ("error", "invalid_request"),
                (
                    "error_description",
                    "AADSTS501491: Invalid size of Code_Challenge parameter or unsupported code_challenge_method.",
                ),
                ("state", state),
            ],
        ));
    }
    Ok(())
}

fn hidden(p: &[(String, String)]) -> String {
    p.iter()
        .filter(|(k, _)| k != "login" && k != "consent")
        .map(|(k, v)| {
            format!(
                "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                esc(k),
                esc(v)
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn consent_buttons() -> &'static str {
    "<button type=\"submit\" name=\"consent\" value=\"accept\">Accept</button>\n<button type=\"submit\" name=\"consent\" value=\"deny\">Cancel</button>"
}

/// `GET /{tenant}/oauth2/v2.0/authorize`: the sign-in and consent form.
pub(crate) async fn authorize_page(
    State(shared): St,
    Path(tenant): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let p = pairs(q.unwrap_or_default().as_bytes());
    if let Err(r) = validate(&shared, &tenant, &p) {
        return r;
    }
    let login = get(&p, "login_hint").unwrap_or("");
    let scope = get(&p, "scope").unwrap_or("");
    page(
        StatusCode::OK,
        "Sign in to your account",
        &format!(
            "<form method=\"post\">\n{}\n<label>Account <input name=\"login\" value=\"{}\"></label>\n<p>The app asks for: <span id=\"scope\">{}</span></p>\n{}\n</form>",
            hidden(&p),
            esc(login),
            esc(scope),
            consent_buttons()
        ),
    )
}

/// `POST /{tenant}/oauth2/v2.0/authorize`: signs the user in and redirects.
pub(crate) async fn authorize_submit(
    State(shared): St,
    Path(tenant): Path<String>,
    RawQuery(q): RawQuery,
    body: Body,
) -> Response {
    let bytes = axum::body::to_bytes(body, 64 * 1024)
        .await
        .unwrap_or_default();
    let mut p = pairs(q.unwrap_or_default().as_bytes());
    for (k, v) in pairs(&bytes) {
        p.retain(|(n, _)| *n != k);
        p.push((k, v));
    }
    if let Err(r) = validate(&shared, &tenant, &p) {
        return r;
    }
    let redirect_uri = get(&p, "redirect_uri").unwrap_or("").to_string();
    let state = get(&p, "state").unwrap_or("").to_string();
    if get(&p, "consent") != Some("accept") {
        return redirect(
            &redirect_uri,
            &[
                ("error", "access_denied"),
                (
                    "error_description",
                    "AADSTS65004: User declined to consent to access the app.",
                ),
                ("state", &state),
            ],
        );
    }
    let login = get(&p, "login").unwrap_or("");
    let user = {
        let t = shared.lock();
        t.mailbox_index(login)
            .map(|i| t.mailboxes.user(i).id.clone())
    };
    let Some(user_id) = user else {
        return error_page(
            50034,
            &format!("The user account {login} does not exist in the directory."),
        );
    };
    let Some(app) = shared
        .proto
        .identity()
        .app(get(&p, "client_id").unwrap_or(""))
        .cloned()
    else {
        return error_page(700016, "Unknown application.");
    };
    let scopes = normalise_scopes(get(&p, "scope").unwrap_or(""), &app);
    let challenge = get(&p, "code_challenge").map(|c| {
        (
            c.to_string(),
            get(&p, "code_challenge_method")
                .unwrap_or("plain")
                .to_string(),
        )
    });
    let code = super::auth::new_auth_code(
        &shared,
        AuthCode {
            client_id: app.reg.client_id.clone(),
            user_id,
            redirect_uri: redirect_uri.clone(),
            scopes,
            challenge,
            expires: chrono::Utc::now(),
            nonce: get(&p, "nonce").map(str::to_string),
        },
    );
    let session = crate::rng::random_guid();
    redirect(
        &redirect_uri,
        &[
            ("code", &code),
            ("state", &state),
            ("session_state", &session),
        ],
    )
}

/// `GET /devicelogin`: enter the code shown by the device.
pub(crate) async fn devicelogin_page(RawQuery(q): RawQuery) -> Response {
    let p = pairs(q.unwrap_or_default().as_bytes());
    page(
        StatusCode::OK,
        "Enter code",
        &format!(
            "<form method=\"post\">\n<label>Code <input name=\"user_code\" value=\"{}\"></label>\n<label>Account <input name=\"login\" value=\"\"></label>\n{}\n</form>",
            esc(get(&p, "user_code").unwrap_or("")),
            consent_buttons()
        ),
    )
}

/// `POST /devicelogin`: approve (`consent=accept`) or decline a device code.
pub(crate) async fn devicelogin_submit(
    State(shared): St,
    _headers: HeaderMap,
    body: Body,
) -> Response {
    let bytes = axum::body::to_bytes(body, 64 * 1024)
        .await
        .unwrap_or_default();
    let p = pairs(&bytes);
    let code = get(&p, "user_code").unwrap_or("");
    let login = get(&p, "login").unwrap_or("");
    let admin = Admin {
        shared: shared.clone(),
    };
    let approve = get(&p, "consent") == Some("accept");
    match admin.complete_device_code(code, login, approve) {
        Ok(()) if approve => page(
            StatusCode::OK,
            "Signed in",
            "<p id=\"done\">You have signed in on your device. You may now close this window.</p>",
        ),
        Ok(()) => page(
            StatusCode::OK,
            "Cancelled",
            "<p id=\"done\">You declined the sign-in.</p>",
        ),
        Err(e) => error_page(70018, &e.to_string()),
    }
}
