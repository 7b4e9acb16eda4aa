//! Delegated sign-in of a user (a public client: no secret): authorization code + PKCE with a
//! loopback redirect, and the device code flow. Both end with a refresh token handed to the
//! caller's [`RefreshTokenStore`] and [`Credentials::Delegated`] for a [`crate::GraphClient`].

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::Digest as _;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

use crate::auth::{
    Credentials, Delegated, RefreshTokenStore, Token, post_form, random_id, save_refresh_token,
    token_answer,
};
use crate::client::{GraphConfig, enc};
use crate::error::{GraphError, Result};

/// The delegated permissions QCBackup asks for when the caller names none: the user's own
/// mailbox, contacts, calendars, tasks and settings, and a refresh token.
pub const DEFAULT_DELEGATED_SCOPES: &[&str] = &[
    "User.Read",
    "Mail.ReadWrite",
    "Contacts.ReadWrite",
    "Calendars.ReadWrite",
    "Tasks.ReadWrite",
    "MailboxSettings.Read",
    "offline_access",
];

const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// `scopes` (or the default ones when empty) with `offline_access`, without which no refresh
/// token is issued.
pub(crate) fn scopes_with_offline_access(scopes: &[&str]) -> Vec<String> {
    let base = if scopes.is_empty() {
        DEFAULT_DELEGATED_SCOPES
    } else {
        scopes
    };
    let mut out: Vec<String> = base.iter().map(|s| s.to_string()).collect();
    if !out.iter().any(|s| s.eq_ignore_ascii_case("offline_access")) {
        out.push("offline_access".into());
    }
    out
}

/// Options of [`SignIn::interactive`].
#[derive(Debug, Clone)]
pub struct InteractiveOptions {
    /// Host of the loopback redirect URI: `localhost` (what the Entra portal registers for
    /// "Mobile and desktop applications"; also listened for on `[::1]`), or `127.0.0.1`.
    pub redirect_host: String,
    /// How long to wait for the browser to come back.
    pub timeout: Duration,
    /// Pre-fills the account on the sign-in page.
    pub login_hint: Option<String>,
    /// `select_account`, `login`, `consent`… (sent as `prompt`).
    pub prompt: Option<String>,
}

impl Default for InteractiveOptions {
    fn default() -> Self {
        InteractiveOptions {
            redirect_host: "localhost".into(),
            timeout: Duration::from_secs(300),
            login_hint: None,
            prompt: Some("select_account".into()),
        }
    }
}

/// What the user must do in the device code flow: open `verification_uri` on any device and
/// enter `user_code`. `message` is Entra's own sentence saying so. `Debug` hides the code.
#[derive(Clone)]
pub struct DeviceCodePrompt {
    pub user_code: String,
    pub verification_uri: String,
    pub message: String,
    /// How long the code stays valid.
    pub expires_in: Duration,
}

impl std::fmt::Debug for DeviceCodePrompt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceCodePrompt")
            .field("verification_uri", &self.verification_uri)
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

/// Signs a user in for delegated access, as a public client of the identity platform.
#[derive(Debug, Clone)]
pub struct SignIn {
    http: reqwest::Client,
    endpoint: String,
    client_id: String,
    scopes: Vec<String>,
}

impl SignIn {
    /// The identity platform and app of `cfg` (`authority`, `tenant_id`: the tenant's id or
    /// domain, or `organizations`; `client_id`). `cfg.client_secret` is not used.
    pub fn new(cfg: &GraphConfig) -> Result<SignIn> {
        let u = url::Url::parse(&cfg.authority)
            .map_err(|e| GraphError::Config(format!("authority {:?}: {e}", cfg.authority)))?;
        if !matches!(u.scheme(), "https" | "http") {
            return Err(GraphError::Config(format!(
                "authority {:?} is not an http(s) URL",
                cfg.authority
            )));
        }
        if cfg.tenant_id.is_empty() || cfg.client_id.is_empty() {
            return Err(GraphError::Config(
                "tenant (or \"organizations\") and client id are required".into(),
            ));
        }
        let http = reqwest::Client::builder()
            .user_agent(concat!("QCBackup/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(15))
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| GraphError::Config(e.to_string()))?;
        Ok(SignIn {
            http,
            endpoint: format!(
                "{}/{}/oauth2/v2.0",
                cfg.authority.trim_end_matches('/'),
                enc(&cfg.tenant_id)
            ),
            client_id: cfg.client_id.clone(),
            scopes: scopes_with_offline_access(&[]),
        })
    }

    /// The delegated permissions to ask for (`offline_access` is added). Default:
    /// [`DEFAULT_DELEGATED_SCOPES`]. Give the same ones to [`Credentials::delegated`] later.
    pub fn with_scopes(mut self, scopes: &[&str]) -> SignIn {
        self.scopes = scopes_with_offline_access(scopes);
        self
    }

    fn url(&self, what: &str) -> String {
        format!("{}/{what}", self.endpoint)
    }

    /// Authorization code + PKCE (S256) with a loopback redirect: listens on
    /// `127.0.0.1:<free port>`, hands the sign-in URL to `open_browser` (the desktop app opens
    /// the system browser; a test plays the browser), waits for the redirect, checks `state`,
    /// answers the browser with a short page, and redeems the code. The new refresh token goes
    /// to `store`.
    pub async fn interactive<F>(
        &self,
        store: Arc<dyn RefreshTokenStore>,
        options: &InteractiveOptions,
        open_browser: F,
    ) -> Result<Credentials>
    where
        F: FnOnce(&str) -> std::io::Result<()>,
    {
        let verifier = random_id(48);
        let challenge = URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()));
        let state = random_id(24);
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(|e| GraphError::Config(format!("cannot listen on 127.0.0.1: {e}")))?;
        let port = listener
            .local_addr()
            .map_err(|e| GraphError::Config(e.to_string()))?
            .port();
        let mut listeners = vec![listener];
        if options.redirect_host.eq_ignore_ascii_case("localhost")
            && let Ok(v6) = TcpListener::bind(("::1", port)).await
        {
            listeners.push(v6);
        }
        let redirect_uri = format!("http://{}:{port}", options.redirect_host);
        let mut url = url::Url::parse(&self.url("authorize"))
            .map_err(|e| GraphError::Config(format!("authorize URL: {e}")))?;
        {
            let scope = self.scopes.join(" ");
            let mut q = url.query_pairs_mut();
            q.append_pair("client_id", &self.client_id)
                .append_pair("response_type", "code")
                .append_pair("redirect_uri", &redirect_uri)
                .append_pair("scope", &scope)
                .append_pair("state", &state)
                .append_pair("code_challenge", &challenge)
                .append_pair("code_challenge_method", "S256");
            if let Some(h) = &options.login_hint {
                q.append_pair("login_hint", h);
            }
            if let Some(p) = &options.prompt {
                q.append_pair("prompt", p);
            }
        }
        let authorize_url = self.url("authorize");
        open_browser(url.as_str()).map_err(|e| GraphError::SignIn {
            url: authorize_url.clone(),
            code: "browser".into(),
            message: format!("could not open the browser: {e}"),
        })?;
        tracing::info!(
            port,
            "waiting for the browser to come back from the sign-in page"
        );
        let code = wait_for_redirect(listeners, &state, options.timeout, &authorize_url).await?;
        let token_url = self.url("token");
        let scope = self.scopes.join(" ");
        let v = post_form(
            &self.http,
            &token_url,
            &[
                ("grant_type", "authorization_code"),
                ("client_id", &self.client_id),
                ("code", &code),
                ("redirect_uri", &redirect_uri),
                ("code_verifier", &verifier),
                ("scope", &scope),
            ],
        )
        .await?;
        self.finish(store, &token_url, &v).await
    }

    /// The device code flow: asks for a code, hands it to `prompt` (show the user
    /// `verification_uri` and `user_code`), then polls at the `interval` Entra asks for,
    /// 5 s slower after each `slow_down`, until the user signs in (the refresh token goes to
    /// `store`), declines (`authorization_declined`/`access_denied`) or the code expires
    /// (`expired_token`); those end in [`GraphError::SignIn`] with that code.
    pub async fn device_code<F>(
        &self,
        store: Arc<dyn RefreshTokenStore>,
        prompt: F,
    ) -> Result<Credentials>
    where
        F: FnOnce(&DeviceCodePrompt),
    {
        let dc_url = self.url("devicecode");
        let scope = self.scopes.join(" ");
        let v = post_form(
            &self.http,
            &dc_url,
            &[("client_id", &self.client_id), ("scope", &scope)],
        )
        .await?;
        let field = |k: &str| {
            v[k].as_str()
                .map(str::to_string)
                .ok_or_else(|| GraphError::Malformed {
                    what: format!("answer of {dc_url}"),
                    detail: format!("no {k}"),
                })
        };
        let number = |k: &str, default: u64| {
            v[k].as_u64()
                .or_else(|| v[k].as_str().and_then(|s| s.parse().ok()))
                .unwrap_or(default)
        };
        let device_code = field("device_code")?;
        let expires_in = Duration::from_secs(number("expires_in", 900));
        let mut interval = Duration::from_secs(number("interval", 5).max(1));
        let shown = DeviceCodePrompt {
            user_code: field("user_code")?,
            verification_uri: v["verification_uri"]
                .as_str()
                .or_else(|| v["verification_url"].as_str())
                .unwrap_or("https://microsoft.com/devicelogin")
                .to_string(),
            message: v["message"].as_str().unwrap_or("").to_string(),
            expires_in,
        };
        prompt(&shown);
        // Entra says `expired_token` when the code is over; this deadline only stops a
        // server that never does.
        let deadline = tokio::time::Instant::now() + expires_in + Duration::from_secs(60);
        let token_url = self.url("token");
        loop {
            tokio::time::sleep(interval).await;
            if tokio::time::Instant::now() >= deadline {
                return Err(device_error(
                    &token_url,
                    "expired_token",
                    "the code expired before anyone signed in with it: start again",
                ));
            }
            let polled = post_form(
                &self.http,
                &token_url,
                &[
                    ("grant_type", DEVICE_GRANT),
                    ("client_id", &self.client_id),
                    ("device_code", &device_code),
                ],
            )
            .await;
            match polled {
                Ok(v) => return self.finish(store, &token_url, &v).await,
                Err(GraphError::SignIn { code, message, .. }) => match code.as_str() {
                    "authorization_pending" => {
                        tracing::debug!("device code: waiting for the user");
                    }
                    "slow_down" => {
                        interval += Duration::from_secs(5);
                        tracing::debug!(
                            interval_s = interval.as_secs(),
                            "device code: asked to poll more slowly"
                        );
                    }
                    "expired_token" | "code_expired" => {
                        return Err(device_error(
                            &token_url,
                            "expired_token",
                            "the code expired before anyone signed in with it: start again",
                        ));
                    }
                    "authorization_declined" | "access_denied" => {
                        return Err(device_error(
                            &token_url,
                            &code,
                            "the user declined the sign-in",
                        ));
                    }
                    _ => {
                        return Err(GraphError::SignIn {
                            url: token_url,
                            code,
                            message,
                        });
                    }
                },
                Err(e) => return Err(e),
            }
        }
    }

    /// Reads the tokens of a finished sign-in, saves the refresh token, builds the credentials.
    async fn finish(
        &self,
        store: Arc<dyn RefreshTokenStore>,
        token_url: &str,
        v: &serde_json::Value,
    ) -> Result<Credentials> {
        let answer = token_answer(token_url, v)?;
        let Some(refresh) = answer.refresh_token else {
            return Err(GraphError::SignIn {
                url: token_url.to_string(),
                code: "no_refresh_token".into(),
                message: "the identity platform issued no refresh token (is offline_access allowed for the app?)".into(),
            });
        };
        save_refresh_token(&store, &refresh).await;
        tracing::info!(expires_in = answer.expires_in, "signed in (delegated)");
        Ok(Credentials::Delegated(Delegated {
            store,
            scopes: self.scopes.clone(),
            initial: Some((Token::new(answer.access_token, answer.expires_in), refresh)),
        }))
    }
}

fn device_error(url: &str, code: &str, message: &str) -> GraphError {
    GraphError::SignIn {
        url: url.to_string(),
        code: code.to_string(),
        message: message.to_string(),
    }
}

/// What one request to the loopback listener said.
enum Arrival {
    /// Not the redirect (a favicon, a probe): answered and ignored.
    Other,
    Code(String),
    Refused {
        code: String,
        message: String,
    },
}

/// Accepts connections on `listeners` until the redirect comes back (or `timeout`).
async fn wait_for_redirect(
    listeners: Vec<TcpListener>,
    state: &str,
    timeout: Duration,
    authorize_url: &str,
) -> Result<String> {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<TcpStream>(8);
    let tasks: Vec<_> = listeners
        .into_iter()
        .map(|l| {
            let tx = tx.clone();
            tokio::spawn(async move {
                while let Ok((stream, _)) = l.accept().await {
                    if tx.send(stream).await.is_err() {
                        break;
                    }
                }
            })
        })
        .collect();
    drop(tx);
    struct AbortAll(Vec<tokio::task::JoinHandle<()>>);
    impl Drop for AbortAll {
        fn drop(&mut self) {
            for t in &self.0 {
                t.abort();
            }
        }
    }
    let _guard = AbortAll(tasks);
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let stream = match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(s)) => s,
            Ok(None) => {
                return Err(GraphError::Config(
                    "the loopback listener stopped before the browser came back".into(),
                ));
            }
            Err(_) => {
                return Err(GraphError::SignIn {
                    url: authorize_url.to_string(),
                    code: "timeout".into(),
                    message: format!(
                        "nobody finished the sign-in in the browser within {} s",
                        timeout.as_secs()
                    ),
                });
            }
        };
        match tokio::time::timeout(Duration::from_secs(10), handle(stream, state)).await {
            Ok(Arrival::Other) | Err(_) => continue,
            Ok(Arrival::Code(code)) => return Ok(code),
            Ok(Arrival::Refused { code, message }) => {
                return Err(GraphError::SignIn {
                    url: authorize_url.to_string(),
                    code,
                    message,
                });
            }
        }
    }
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

async fn respond(stream: &mut TcpStream, status: &str, title: &str, text: &str) {
    let body = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>QCBackup Manager: {t}</title>\n<style>body{{font-family:system-ui,sans-serif;margin:4rem auto;max-width:32rem;color:#222}}</style></head>\n<body><h1>{t}</h1>\n<p>{x}</p>\n</body></html>\n",
        t = html_escape(title),
        x = html_escape(text)
    );
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nCache-Control: no-store\r\nReferrer-Policy: no-referrer\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes()).await;
    let _ = stream.write_all(body.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// Reads one HTTP request from the browser and answers it.
async fn handle(mut stream: TcpStream, state: &str) -> Arrival {
    let mut buf = Vec::with_capacity(2048);
    let mut chunk = [0u8; 2048];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 16 * 1024 {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let head = String::from_utf8_lossy(&buf);
    let mut parts = head.lines().next().unwrap_or("").split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    if method != "GET" || path != "/" {
        respond(&mut stream, "404 Not Found", "Not found", "Nothing here.").await;
        return Arrival::Other;
    }
    let params: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    if get("code").is_none() && get("error").is_none() {
        respond(
            &mut stream,
            "400 Bad Request",
            "Sign-in",
            "This address only receives the answer of the sign-in page.",
        )
        .await;
        return Arrival::Other;
    }
    if get("state") != Some(state) {
        respond(
            &mut stream,
            "400 Bad Request",
            "Sign-in refused",
            "This answer does not belong to the sign-in QCBackup Manager started, so it was refused. Start the sign-in again from the app.",
        )
        .await;
        return Arrival::Refused {
            code: "state_mismatch".into(),
            message: "the browser came back with a state that this sign-in did not send; the answer was refused (start the sign-in again)".into(),
        };
    }
    if let Some(error) = get("error") {
        let description = get("error_description").unwrap_or("");
        let description = description
            .split(" Trace ID:")
            .next()
            .unwrap_or("")
            .trim()
            .to_string();
        respond(
            &mut stream,
            "200 OK",
            "Sign-in not completed",
            &format!("The sign-in did not complete ({error}). You can close this tab and try again from QCBackup Manager."),
        )
        .await;
        return Arrival::Refused {
            code: error.to_string(),
            message: if description.is_empty() {
                "the sign-in page sent the browser back without a code".into()
            } else {
                description
            },
        };
    }
    respond(
        &mut stream,
        "200 OK",
        "Signed in",
        "You are signed in to QCBackup Manager. You can close this tab and go back to the app.",
    )
    .await;
    Arrival::Code(get("code").unwrap_or("").to_string())
}
