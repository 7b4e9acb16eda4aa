use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::auth::{ClientSecret, Credentials, TokenSource};
use crate::error::{GraphError, Result};
use crate::model::{DeltaPage, FolderDelta, MESSAGE_SELECT, MailFolder, User};
use reqwest::{Method, StatusCode, header};
use serde_json::Value;

/// Where Graph and the identity platform are, and which app signs in.
#[derive(Debug, Clone)]
pub struct GraphConfig {
    /// `https://graph.microsoft.com/v1.0`, or the emulator's `http://127.0.0.1:PORT/v1.0`.
    pub graph_url: String,
    /// `https://login.microsoftonline.com`, or the emulator's base URL.
    pub authority: String,
    /// The tenant's id or domain; for delegated sign-in also `organizations`.
    pub tenant_id: String,
    pub client_id: String,
    /// The app's secret for [`GraphClient::new`]; empty (and unused) with
    /// [`GraphClient::with_credentials`].
    pub client_secret: ClientSecret,
    pub retry: RetryPolicy,
}

impl GraphConfig {
    /// Microsoft's public cloud endpoints.
    pub fn microsoft(tenant_id: &str, client_id: &str, client_secret: ClientSecret) -> Self {
        GraphConfig {
            graph_url: "https://graph.microsoft.com/v1.0".into(),
            authority: "https://login.microsoftonline.com".into(),
            tenant_id: tenant_id.into(),
            client_id: client_id.into(),
            client_secret,
            retry: RetryPolicy::default(),
        }
    }

    /// Endpoints and app without a client secret, for [`GraphClient::with_credentials`] and
    /// [`crate::SignIn::new`].
    pub fn endpoints(graph_url: &str, authority: &str, tenant_id: &str, client_id: &str) -> Self {
        GraphConfig {
            graph_url: graph_url.trim_end_matches('/').into(),
            authority: authority.trim_end_matches('/').into(),
            tenant_id: tenant_id.into(),
            client_id: client_id.into(),
            client_secret: ClientSecret::new(""),
            retry: RetryPolicy::default(),
        }
    }
}

/// How often and how long to retry throttled or unavailable requests.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 8,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(120),
        }
    }
}

/// Exchange Online's request budget per app and mailbox (10,000 requests in any 10 minutes),
/// kept by the client: a request that would exceed it waits its turn instead of being
/// answered 429.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MailboxBudget {
    pub requests: u32,
    pub window: Duration,
}

impl MailboxBudget {
    /// Exchange's documented limit less 2% for requests that arrive later than they leave.
    pub fn exchange() -> Self {
        MailboxBudget {
            requests: 9_800,
            window: Duration::from_secs(600),
        }
    }
}

/// The send times of each mailbox's requests in the last window (and reserved ones ahead).
struct Budgets {
    budget: Option<MailboxBudget>,
    sent: std::sync::Mutex<HashMap<String, VecDeque<tokio::time::Instant>>>,
    /// Mailboxes Exchange answered 429 with a `Retry-After`: none of their requests go before.
    paused: std::sync::Mutex<HashMap<String, tokio::time::Instant>>,
}

impl Budgets {
    /// Reserves the next slot of `mailbox`: `None` to go now, or when to go.
    fn reserve(&self, mailbox: &str) -> Option<tokio::time::Instant> {
        let now = tokio::time::Instant::now();
        let paused = self
            .paused
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(mailbox)
            .copied()
            .filter(|t| *t > now);
        let Some(b) = self.budget else {
            return paused;
        };
        let now = paused.unwrap_or(now);
        let mut sent = self.sent.lock().unwrap_or_else(|e| e.into_inner());
        let q = sent.entry(mailbox.to_string()).or_default();
        while q.front().is_some_and(|t| *t + b.window <= now) {
            q.pop_front();
        }
        let limit = b.requests.max(1) as usize;
        let at = if q.len() < limit {
            now.max(q.back().copied().unwrap_or(now))
        } else {
            (q[q.len() - limit] + b.window).max(now)
        };
        q.push_back(at);
        (at > tokio::time::Instant::now()).then_some(at)
    }

    /// Holds every request of `mailbox` until `until` (a 429's `Retry-After`).
    fn pause(&self, mailbox: &str, until: tokio::time::Instant) {
        let mut p = self.paused.lock().unwrap_or_else(|e| e.into_inner());
        let t = p.entry(mailbox.to_string()).or_insert(until);
        *t = (*t).max(until);
    }
}

/// The user properties this client reads (see [`User`]).
const USER_SELECT: &str = "$select=id,userPrincipalName,displayName,mail";

/// One user, by id or user principal name.
fn user_path(id_or_upn: &str) -> String {
    format!("/users/{}?{USER_SELECT}", enc(id_or_upn))
}

/// A mailbox's purpose (`mailboxSettings/userPurpose`).
fn purpose_path(user_id: &str) -> String {
    format!("/users/{}/mailboxSettings/userPurpose", enc(user_id))
}

/// The purpose in an answer to [`purpose_path`]; a user without a mailbox has none.
fn purpose_of(answer: Result<Value>) -> Result<Option<String>> {
    match answer {
        Ok(v) => Ok(v["value"].as_str().map(str::to_string)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

/// Graph's limit of requests in one JSON batch.
const BATCH_MAX: usize = 20;

/// `Prefer: odata.maxpagesize` for folder hierarchy deltas.
const FOLDER_PAGE: u32 = 250;

/// The mailbox a request addresses (`/users/{id or address}/...`), as the budget's key.
fn mailbox_of(path: &str) -> Option<String> {
    let rest = path.split("/users/").nth(1)?;
    let seg = rest.split(['/', '?']).next()?;
    (!seg.is_empty()).then(|| seg.to_ascii_lowercase())
}

/// A signed-in Graph client. Cheap to share behind an `Arc`; requests may run concurrently.
pub struct GraphClient {
    http: reqwest::Client,
    cfg: GraphConfig,
    token_url: String,
    tokens: TokenSource,
    stats: Arc<Counters>,
    budgets: Budgets,
}

/// Counts of what a client's requests met, for progress reports and benchmarks.
#[derive(Default)]
struct Counters {
    requests: AtomicU64,
    throttled: AtomicU64,
    waiting: AtomicU64,
    wait_ms: AtomicU64,
}

/// What a [`GraphClient`] has sent and met so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientStats {
    /// HTTP requests sent, retries included.
    pub requests: u64,
    /// Answers 429 (throttled) or 503/504 (busy) that made the request wait and retry.
    pub throttled: u64,
    /// Requests waiting out a `Retry-After` (or a backoff) right now.
    pub waiting_now: u64,
    /// Time spent waiting on throttling so far, summed over requests.
    pub throttle_wait_ms: u64,
}

impl std::fmt::Debug for GraphClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GraphClient")
            .field("graph_url", &self.cfg.graph_url)
            .field("token_url", &self.token_url)
            .field("client_id", &self.cfg.client_id)
            .field("delegated", &self.tokens.is_delegated())
            .finish_non_exhaustive()
    }
}

/// Graph's error body: `{"error":{"code":"...","message":"..."}}`.
fn graph_error(body: &str) -> (String, String) {
    let v: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let e = &v["error"];
    let code = e["code"].as_str().unwrap_or("unknown").to_string();
    let message = e["message"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| body.chars().take(200).collect());
    (code, message)
}

fn retry_after(resp: &reqwest::Response) -> Option<Duration> {
    let v = resp.headers().get(header::RETRY_AFTER)?.to_str().ok()?;
    v.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// Full jitter: a random point in [0, base * 2^attempt], capped.
fn backoff(policy: &RetryPolicy, attempt: u32) -> Duration {
    let ceiling = policy
        .base_delay
        .saturating_mul(1u32 << attempt.min(16))
        .min(policy.max_delay);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    ceiling
        .mul_f64((nanos % 1000) as f64 / 1000.0)
        .max(Duration::from_millis(50))
}

fn path_of(url: &str) -> String {
    url::Url::parse(url)
        .map(|u| u.path().to_string())
        .unwrap_or_else(|_| url.to_string())
}

/// Percent-encodes one URL path segment (an id or an address).
pub fn enc(segment: &str) -> String {
    url::form_urlencoded::byte_serialize(segment.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

impl GraphClient {
    /// App-only sign-in with `cfg.client_secret`.
    pub fn new(cfg: GraphConfig) -> Result<GraphClient> {
        let secret = cfg.client_secret.clone();
        GraphClient::with_credentials(cfg, Credentials::ClientSecret(secret))
    }

    /// Signs in with `credentials` (app-only with a secret or a certificate, or a user's
    /// delegated sign-in); `cfg.client_secret` is not used.
    pub fn with_credentials(cfg: GraphConfig, credentials: Credentials) -> Result<GraphClient> {
        for (name, v) in [("graph URL", &cfg.graph_url), ("authority", &cfg.authority)] {
            let u =
                url::Url::parse(v).map_err(|e| GraphError::Config(format!("{name} {v:?}: {e}")))?;
            if !matches!(u.scheme(), "https" | "http") {
                return Err(GraphError::Config(format!(
                    "{name} {v:?} is not an http(s) URL"
                )));
            }
        }
        if cfg.tenant_id.is_empty() || cfg.client_id.is_empty() {
            return Err(GraphError::Config(
                "tenant id and client id are required".into(),
            ));
        }
        let http = reqwest::Client::builder()
            .user_agent(concat!("QCBackup/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(15))
            .timeout(Duration::from_secs(300))
            .build()
            .map_err(|e| GraphError::Config(e.to_string()))?;
        let token_url = format!(
            "{}/{}/oauth2/v2.0/token",
            cfg.authority.trim_end_matches('/'),
            enc(&cfg.tenant_id)
        );
        Ok(GraphClient {
            http,
            cfg,
            token_url,
            tokens: TokenSource::new(credentials),
            stats: Arc::default(),
            budgets: Budgets {
                budget: Some(MailboxBudget::exchange()),
                sent: Default::default(),
                paused: Default::default(),
            },
        })
    }

    /// Whether this client acts for a signed-in user (delegated) rather than as the app.
    /// A delegated client reaches the user's own mailbox ([`Self::me`]), not `/users`.
    pub fn is_delegated(&self) -> bool {
        self.tokens.is_delegated()
    }

    pub fn graph_url(&self) -> &str {
        &self.cfg.graph_url
    }

    /// The beta endpoint beside the v1.0 one (`https://graph.microsoft.com/beta`), for the few
    /// functions v1.0 lacks (a calendar's event delta).
    pub fn beta_url(&self) -> String {
        let base = self.cfg.graph_url.trim_end_matches('/');
        match base.strip_suffix("/v1.0") {
            Some(root) => format!("{root}/beta"),
            None => format!("{base}/../beta"),
        }
    }

    /// Keeps this request budget per mailbox instead of Exchange's (`None`: none at all, and
    /// rely on 429 and `Retry-After` alone). For an emulator with shortened windows.
    pub fn with_mailbox_budget(mut self, budget: Option<MailboxBudget>) -> Self {
        self.budgets.budget = budget;
        self
    }

    /// Sleeps until `at`, counted in [`ClientStats`] as a request waiting on throttling.
    /// Waits for the next slot in the budget of the mailbox `path` is about (and out any
    /// pause a 429 put on it).
    pub(crate) async fn await_slot(&self, path: &str) {
        if let Some(at) = mailbox_of(path).and_then(|m| self.budgets.reserve(&m)) {
            self.wait_for_throttle(at).await;
        }
    }

    /// After a 429, 503 or 504 about `path`: waits the answer's `Retry-After` (or a backoff
    /// when it has none); a 429 holds every request of the mailbox as long, since Exchange
    /// throttles the mailbox, not the request.
    pub(crate) async fn back_off(&self, path: &str, resp: &reqwest::Response, attempt: u32) {
        let d = retry_after(resp)
            .map(|d| d.min(self.cfg.retry.max_delay))
            .unwrap_or_else(|| backoff(&self.cfg.retry, attempt));
        self.stats.throttled.fetch_add(1, Ordering::Relaxed);
        let until = tokio::time::Instant::now() + d;
        if resp.status().as_u16() == 429
            && let Some(m) = mailbox_of(path)
        {
            self.budgets.pause(&m, until);
        }
        self.wait_for_throttle(until).await;
    }

    /// How many times a request answered 429, 503 or 504 is sent before giving up.
    pub(crate) fn max_attempts(&self) -> u32 {
        self.cfg.retry.max_attempts
    }

    async fn wait_for_throttle(&self, at: tokio::time::Instant) {
        let waited = at.saturating_duration_since(tokio::time::Instant::now());
        self.stats.waiting.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep_until(at).await;
        self.stats.waiting.fetch_sub(1, Ordering::Relaxed);
        self.stats
            .wait_ms
            .fetch_add(waited.as_millis() as u64, Ordering::Relaxed);
    }

    /// What this client's requests have met so far.
    pub fn stats(&self) -> ClientStats {
        let c = &self.stats;
        ClientStats {
            requests: c.requests.load(Ordering::Relaxed),
            throttled: c.throttled.load(Ordering::Relaxed),
            waiting_now: c.waiting.load(Ordering::Relaxed),
            throttle_wait_ms: c.wait_ms.load(Ordering::Relaxed),
        }
    }

    /// Signs in (or reuses the cached token) without calling Graph: the first thing a
    /// connection test checks.
    pub async fn sign_in_now(&self) -> Result<()> {
        self.access_token(None).await.map(|_| ())
    }

    /// The permissions the access token carries (`roles` of an app-only token, `scp` of a
    /// delegated one), when the token can be read. Microsoft may make Graph tokens opaque, so
    /// this is a hint for reports; what a request answers is the truth.
    pub async fn granted_permissions(&self) -> Result<Option<Vec<String>>> {
        use base64::Engine;
        let token = self.access_token(None).await?;
        let Some(payload) = token.split('.').nth(1) else {
            return Ok(None);
        };
        let Ok(bytes) =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload.trim_end_matches('='))
        else {
            return Ok(None);
        };
        let Ok(claims) = serde_json::from_slice::<Value>(&bytes) else {
            return Ok(None);
        };
        let mut out: Vec<String> = match (&claims["roles"], &claims["scp"]) {
            (Value::Array(roles), _) => roles
                .iter()
                .filter_map(|r| r.as_str().map(str::to_string))
                .collect(),
            (_, Value::String(scp)) => scp.split_whitespace().map(str::to_string).collect(),
            _ => return Ok(None),
        };
        out.sort();
        Ok(Some(out))
    }

    /// A read-only request whose answer is thrown away: does this path answer (a permission
    /// probe)? `path` is relative to the Graph URL and may carry a query.
    pub async fn probe(&self, path: &str) -> Result<()> {
        self.get_json(path, &[]).await.map(|_| ())
    }

    /// A valid access token (cached until shortly before it expires); a new one when
    /// `rejected` is the cached one.
    async fn access_token(&self, rejected: Option<&str>) -> Result<String> {
        self.tokens
            .access_token(&self.http, &self.token_url, &self.cfg.client_id, rejected)
            .await
    }

    /// Sends one request with Graph's retry rules. `url` is absolute or relative to the graph URL.
    pub(crate) async fn send(
        &self,
        method: Method,
        url: &str,
        body: Option<(&'static str, Vec<u8>)>,
        prefer: &[&str],
    ) -> Result<reqwest::Response> {
        let url = if url.starts_with("http://") || url.starts_with("https://") {
            url.to_string()
        } else {
            format!("{}{url}", self.cfg.graph_url)
        };
        let path = path_of(&url);
        // A POST that timed out or got a 503/504 may still have been carried out: sending it
        // again could create a second message. Only requests that are safe to repeat are
        // retried on those; a refused connection or a 429 means nothing was done, so every
        // request is retried on them.
        let repeatable = matches!(
            method,
            Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS
        );
        // A rejected token is renewed and the request sent again. A request that lives long
        // (waiting out throttling and busy answers) may see tokens revoked more than once, so
        // it renews again each time, up to MAX_RENEWALS; an API that rejects every fresh token
        // ends it then with its 401.
        let mut renewals = 0u32;
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            self.await_slot(&path).await;
            let token = self.access_token(None).await?;
            self.stats.requests.fetch_add(1, Ordering::Relaxed);
            let mut req = self
                .http
                .request(method.clone(), &url)
                .bearer_auth(&token)
                .header("Prefer", "IdType=\"ImmutableId\"");
            for p in prefer {
                req = req.header("Prefer", *p);
            }
            if let Some((ct, bytes)) = &body {
                req = req.header(header::CONTENT_TYPE, *ct).body(bytes.clone());
            }
            let resp = match req.send().await {
                Ok(r) => r,
                Err(e)
                    if attempt < self.cfg.retry.max_attempts
                        && (e.is_connect()
                            || (repeatable && (e.is_timeout() || e.is_request()))) =>
                {
                    let d = backoff(&self.cfg.retry, attempt);
                    tracing::warn!(%method, %path, attempt, delay_ms = d.as_millis() as u64, error = %error_chain(&e), "request failed; retrying");
                    tokio::time::sleep(d).await;
                    continue;
                }
                // Sent (not refused at connect), so perhaps carried out: not repeated.
                Err(e) if !repeatable && !e.is_connect() => {
                    return Err(GraphError::Interrupted {
                        method: method.to_string(),
                        path,
                        detail: error_chain(&e),
                    });
                }
                Err(e) => {
                    return Err(GraphError::Unreachable {
                        url: path,
                        detail: error_chain(&e),
                    });
                }
            };
            let status = resp.status();
            if status == StatusCode::UNAUTHORIZED && renewals < MAX_RENEWALS {
                renewals += 1;
                tracing::info!(%path, renewals, "access token rejected; signing in again");
                self.access_token(Some(&token)).await?;
                continue;
            }
            if is_retried(status.as_u16(), repeatable) {
                if attempt >= self.cfg.retry.max_attempts {
                    return Err(GraphError::Throttled {
                        method: method.to_string(),
                        path,
                        status: status.as_u16(),
                        attempts: attempt,
                    });
                }
                tracing::warn!(%method, %path, status = status.as_u16(), "throttled or unavailable; waiting");
                self.back_off(&path, &resp, attempt).await;
                continue;
            }
            if !status.is_success() {
                let text = resp.text().await.unwrap_or_default();
                let (code, message) = graph_error(&text);
                return Err(GraphError::Api {
                    method: method.to_string(),
                    path,
                    status: status.as_u16(),
                    code,
                    message,
                });
            }
            return Ok(resp);
        }
    }

    /// GETs `url` and reads the whole answer. A body cut off midway (the connection broke
    /// after the status line) is fetched again, with the same rules as a failed request: a GET
    /// is safe to repeat, and a half body is no answer.
    pub(crate) async fn get_bytes(&self, url: &str, prefer: &[&str]) -> Result<(String, Vec<u8>)> {
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let resp = self.send(Method::GET, url, None, prefer).await?;
            let path = path_of(resp.url().as_str());
            match resp.bytes().await {
                Ok(b) => return Ok((path, b.to_vec())),
                Err(e) if attempt < self.cfg.retry.max_attempts => {
                    let d = backoff(&self.cfg.retry, attempt);
                    tracing::warn!(%path, attempt, delay_ms = d.as_millis() as u64, error = %error_chain(&e), "answer cut off; retrying");
                    tokio::time::sleep(d).await;
                }
                Err(e) => {
                    return Err(GraphError::Unreachable {
                        url: path,
                        detail: error_chain(&e),
                    });
                }
            }
        }
    }

    pub(crate) async fn get_json(&self, url: &str, prefer: &[&str]) -> Result<Value> {
        let (path, bytes) = self.get_bytes(url, prefer).await?;
        serde_json::from_slice(&bytes).map_err(|e| GraphError::Malformed {
            what: format!("GET {path}"),
            detail: e.to_string(),
        })
    }

    pub(crate) fn parse<T: serde::de::DeserializeOwned>(what: &str, v: Value) -> Result<T> {
        serde_json::from_value(v).map_err(|e| GraphError::Malformed {
            what: what.into(),
            detail: e.to_string(),
        })
    }

    /// Follows `@odata.nextLink` to the end of a collection.
    pub(crate) async fn collect_pages(&self, first: &str) -> Result<Vec<Value>> {
        let mut out = Vec::new();
        let mut next = Some(first.to_string());
        while let Some(url) = next {
            let page = self.get_json(&url, &[]).await?;
            match page.get("value") {
                Some(Value::Array(items)) => out.extend(items.iter().cloned()),
                _ => {
                    return Err(GraphError::Malformed {
                        what: format!("GET {}", path_of(&url)),
                        detail: "no value array".into(),
                    });
                }
            }
            next = page
                .get("@odata.nextLink")
                .and_then(Value::as_str)
                .map(str::to_string);
        }
        Ok(out)
    }

    /// Every user in the directory.
    pub async fn users(&self) -> Result<Vec<User>> {
        let raw = self
            .collect_pages(&format!("/users?{USER_SELECT}&$top=100"))
            .await?;
        raw.into_iter().map(|v| Self::parse("user", v)).collect()
    }

    /// Users matching an OData `$filter` (e.g. `userType eq 'Member'`), every page.
    pub async fn users_matching(&self, filter: &str) -> Result<Vec<User>> {
        let raw = self
            .collect_pages(&format!(
                "/users?$filter={}&{USER_SELECT}&$top=100",
                enc(filter)
            ))
            .await?;
        raw.into_iter().map(|v| Self::parse("user", v)).collect()
    }

    /// What a mailbox is for (`user`, `shared`, `room`, `equipment` ...), from
    /// `mailboxSettings/userPurpose`; `None` when the user has no mailbox.
    pub async fn user_purpose(&self, user_id: &str) -> Result<Option<String>> {
        purpose_of(self.get_json(&purpose_path(user_id), &[]).await)
    }

    /// The signed-in user (delegated sign-in only; app-only tokens get a 400).
    pub async fn me(&self) -> Result<User> {
        let v = self.get_json(&format!("/me?{USER_SELECT}"), &[]).await?;
        Self::parse("user", v)
    }

    /// One user, by id or user principal name.
    pub async fn user(&self, id_or_upn: &str) -> Result<User> {
        let v = self.get_json(&user_path(id_or_upn), &[]).await?;
        Self::parse("user", v)
    }

    /// Several users by id or user principal name, in JSON batches ([`Self::batch_get`]); each
    /// answer in the order asked, a missing user as a not-found error.
    pub async fn users_by_name(&self, names: &[String]) -> Vec<Result<User>> {
        let paths: Vec<String> = names.iter().map(|n| user_path(n)).collect();
        self.batch_get(&paths)
            .await
            .into_iter()
            .map(|r| r.and_then(|v| Self::parse("user", v)))
            .collect()
    }

    /// [`Self::user_purpose`] of several mailboxes, in JSON batches.
    pub async fn user_purposes(&self, user_ids: &[String]) -> Vec<Result<Option<String>>> {
        let paths: Vec<String> = user_ids.iter().map(|u| purpose_path(u)).collect();
        self.batch_get(&paths)
            .await
            .into_iter()
            .map(purpose_of)
            .collect()
    }

    /// GETs Graph paths (relative to the version root) through JSON batching (`POST /$batch`,
    /// at most 20 requests each): one round trip for up to twenty small reads. Each answer is
    /// what the single request would have given: its JSON, or its error. Every sub-request
    /// still counts against its mailbox's budget (Exchange counts them one by one), so a slot
    /// is taken for each before the batch goes. A sub-request answered 401, 429, 503 or 504,
    /// or a batch that fails as a whole, is sent again on its own with the usual retry rules.
    pub async fn batch_get(&self, paths: &[String]) -> Vec<Result<Value>> {
        let mut out = Vec::with_capacity(paths.len());
        for chunk in paths.chunks(BATCH_MAX) {
            let answers = self.one_batch(chunk).await;
            for (path, answer) in chunk.iter().zip(answers) {
                out.push(match answer {
                    Some(r) => r,
                    None => self.get_json(path, &[]).await,
                });
            }
        }
        out
    }

    /// One `$batch` of GETs; `None` for each answer to be fetched on its own.
    async fn one_batch(&self, paths: &[String]) -> Vec<Option<Result<Value>>> {
        let mut answers: Vec<Option<Result<Value>>> = paths.iter().map(|_| None).collect();
        if paths.len() < 2 {
            return answers;
        }
        for p in paths {
            self.await_slot(&format!("/v1.0{p}")).await;
        }
        let requests: Vec<Value> = paths
            .iter()
            .enumerate()
            .map(|(i, p)| serde_json::json!({ "id": (i + 1).to_string(), "method": "GET", "url": p }))
            .collect();
        let body = serde_json::json!({ "requests": requests })
            .to_string()
            .into_bytes();
        let reply = match self
            .send(
                Method::POST,
                "/$batch",
                Some(("application/json", body)),
                &[],
            )
            .await
        {
            Ok(resp) => resp.json::<Value>().await.ok(),
            Err(e) => {
                tracing::warn!(error = %e, "batch failed; sending its requests one by one");
                None
            }
        };
        let Some(Value::Array(responses)) = reply.map(|mut v| v["responses"].take()) else {
            return answers;
        };
        for r in responses {
            let Some(i) = r["id"]
                .as_str()
                .and_then(|id| id.parse::<usize>().ok())
                .and_then(|n| n.checked_sub(1))
                .filter(|&i| i < paths.len())
            else {
                continue;
            };
            let status = r["status"].as_u64().unwrap_or(0) as u16;
            answers[i] = match status {
                200..=299 => Some(Ok(r["body"].clone())),
                // Throttled, busy or a token that just expired: again on its own.
                0 | 401 | 429 | 503 | 504 => None,
                _ => {
                    let body = &r["body"]["error"];
                    Some(Err(GraphError::Api {
                        method: "GET".into(),
                        path: format!("/v1.0{}", paths[i].split('?').next().unwrap_or_default()),
                        status,
                        code: body["code"].as_str().unwrap_or_default().to_string(),
                        message: body["message"].as_str().unwrap_or_default().to_string(),
                    }))
                }
            };
        }
        answers
    }

    /// The whole mail folder tree (hidden folders included), parents before children.
    pub async fn mail_folders(&self, user_id: &str) -> Result<Vec<MailFolder>> {
        let u = enc(user_id);
        let mut out: Vec<MailFolder> = Vec::new();
        let top = self
            .collect_pages(&format!(
                "/users/{u}/mailFolders?includeHiddenFolders=true&$top=100"
            ))
            .await?;
        let mut queue: Vec<MailFolder> = top
            .into_iter()
            .map(|v| Self::parse("mailFolder", v))
            .collect::<Result<_>>()?;
        while let Some(f) = queue.pop() {
            if f.child_folder_count > 0 {
                let kids = self
                    .collect_pages(&format!(
                        "/users/{u}/mailFolders/{}/childFolders?includeHiddenFolders=true&$top=100",
                        enc(&f.id)
                    ))
                    .await?;
                for k in kids {
                    queue.push(Self::parse("mailFolder", k)?);
                }
            }
            out.push(f);
        }
        Ok(out)
    }

    /// The mail folder hierarchy through `mailFolders/delta` (every level below the top of
    /// the mailbox, hidden folders included): all folders on a first round (`link` `None`),
    /// else the folders added, changed or removed since the saved delta link. Pages are
    /// followed to the end of the round.
    pub async fn mail_folders_delta(
        &self,
        user_id: &str,
        link: Option<&str>,
    ) -> Result<FolderDelta> {
        let mut url = match link {
            Some(l) => l.to_string(),
            None => format!("/users/{}/mailFolders/delta", enc(user_id)),
        };
        let mut out = FolderDelta::default();
        loop {
            let page = self
                .delta_page(&url, FOLDER_PAGE, "mail folder delta")
                .await?;
            for v in page.items {
                out.changed.push(Self::parse("mailFolder", v)?);
            }
            out.removed.extend(page.removed);
            match (page.next_link, page.delta_link) {
                (Some(next), _) => url = next,
                (None, Some(delta)) => {
                    out.delta_link = delta;
                    return Ok(out);
                }
                (None, None) => unreachable!("delta_page refuses such a page"),
            }
        }
    }

    /// One level of a mailbox's mail folder tree, hidden folders included: the top level
    /// (`parent` `None`) or a folder's children. For a tree a person expands bit by bit.
    pub async fn child_mail_folders(
        &self,
        user_id: &str,
        parent: Option<&str>,
    ) -> Result<Vec<MailFolder>> {
        let u = enc(user_id);
        let path = match parent {
            None => format!("/users/{u}/mailFolders?includeHiddenFolders=true&$top=100"),
            Some(p) => format!(
                "/users/{u}/mailFolders/{}/childFolders?includeHiddenFolders=true&$top=100",
                enc(p)
            ),
        };
        self.collect_pages(&path)
            .await?
            .into_iter()
            .map(|v| Self::parse("mailFolder", v))
            .collect()
    }

    /// One mail folder by id.
    pub async fn mail_folder(&self, user_id: &str, folder_id: &str) -> Result<MailFolder> {
        let v = self
            .get_json(
                &format!("/users/{}/mailFolders/{}", enc(user_id), enc(folder_id)),
                &[],
            )
            .await?;
        Self::parse("mailFolder", v)
    }

    /// A folder by its well-known name (`recoverableitemsdeletions`, `inbox` ...); `None` when
    /// the mailbox has no such folder.
    pub async fn well_known_folder(&self, user_id: &str, name: &str) -> Result<Option<MailFolder>> {
        match self
            .get_json(
                &format!("/users/{}/mailFolders/{}", enc(user_id), enc(name)),
                &[],
            )
            .await
        {
            Ok(v) => {
                let mut f: MailFolder = Self::parse("mailFolder", v)?;
                f.well_known_name = Some(name.to_string());
                Ok(Some(f))
            }
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// One page of a folder's message delta: the first round when `link` is `None`, else the
    /// saved `@odata.nextLink` or `@odata.deltaLink`.
    pub async fn messages_delta(
        &self,
        user_id: &str,
        folder_id: &str,
        link: Option<&str>,
        page_size: u32,
    ) -> Result<DeltaPage> {
        let url = match link {
            Some(l) => l.to_string(),
            None => format!(
                "/users/{}/mailFolders/{}/messages/delta?$select={MESSAGE_SELECT}",
                enc(user_id),
                enc(folder_id)
            ),
        };
        self.delta_page(
            &url,
            page_size,
            &format!("messages delta of folder {folder_id}"),
        )
        .await
    }

    /// Fetches one page of any delta query and splits it into items and removals.
    pub(crate) async fn delta_page(
        &self,
        url: &str,
        page_size: u32,
        what: &str,
    ) -> Result<DeltaPage> {
        let pref = format!("odata.maxpagesize={page_size}");
        let page = self.get_json(url, &[&pref]).await?;
        let what = || what.to_string();
        let Some(Value::Array(values)) = page.get("value") else {
            return Err(GraphError::Malformed {
                what: what(),
                detail: "no value array".into(),
            });
        };
        let mut items = Vec::new();
        let mut removed = Vec::new();
        for v in values {
            let id = v
                .get("id")
                .and_then(Value::as_str)
                .ok_or_else(|| GraphError::Malformed {
                    what: what(),
                    detail: "an entry has no id".into(),
                })?;
            if v.get("@removed").is_some() {
                removed.push(id.to_string());
            } else {
                items.push(v.clone());
            }
        }
        let link = |k: &str| page.get(k).and_then(Value::as_str).map(str::to_string);
        let (next_link, delta_link) = (link("@odata.nextLink"), link("@odata.deltaLink"));
        if next_link.is_none() && delta_link.is_none() {
            return Err(GraphError::Malformed {
                what: what(),
                detail: "page has neither nextLink nor deltaLink".into(),
            });
        }
        Ok(DeltaPage {
            items,
            removed,
            next_link,
            delta_link,
        })
    }

    /// Every message in a folder; `query` holds the `$select` (and `$expand`, if any) options,
    /// e.g. `$select=id,subject`.
    pub async fn folder_messages(
        &self,
        user_id: &str,
        folder_id: &str,
        query: &str,
    ) -> Result<Vec<Value>> {
        self.collect_pages(&format!(
            "/users/{}/mailFolders/{}/messages?{query}&$top=100",
            enc(user_id),
            enc(folder_id)
        ))
        .await
    }

    /// A message's MIME source (`GET .../$value`).
    pub async fn message_mime(&self, user_id: &str, message_id: &str) -> Result<Vec<u8>> {
        let url = format!(
            "/users/{}/messages/{}/$value",
            enc(user_id),
            enc(message_id)
        );
        Ok(self.get_bytes(&url, &[]).await?.1)
    }

    /// A message's MIME source, handed to `sink` piece by piece as it arrives (a 150 MB
    /// message never sits whole in memory); returns its length. A body cut off midway is
    /// `Malformed` (not fatal): the caller starts the item again and discards what it got.
    pub async fn message_mime_to(
        &self,
        user_id: &str,
        message_id: &str,
        sink: &tokio::sync::mpsc::Sender<Vec<u8>>,
    ) -> Result<u64> {
        let url = format!(
            "/users/{}/messages/{}/$value",
            enc(user_id),
            enc(message_id)
        );
        let mut resp = self.send(Method::GET, &url, None, &[]).await?;
        let path = path_of(resp.url().as_str());
        let mut total = 0u64;
        loop {
            match resp.chunk().await {
                Ok(Some(piece)) => {
                    total += piece.len() as u64;
                    if sink.send(piece.to_vec()).await.is_err() {
                        return Err(GraphError::Unreachable {
                            url: path,
                            detail: "the receiver of the download went away".into(),
                        });
                    }
                }
                Ok(None) => return Ok(total),
                Err(e) => {
                    return Err(GraphError::Malformed {
                        what: format!("GET {path}"),
                        detail: format!(
                            "the download broke off after {total} bytes: {}",
                            error_chain(&e)
                        ),
                    });
                }
            }
        }
    }

    /// A message's JSON, with the given `$select` (or all default properties).
    pub async fn message(
        &self,
        user_id: &str,
        message_id: &str,
        select: Option<&str>,
    ) -> Result<Value> {
        let mut url = format!("/users/{}/messages/{}", enc(user_id), enc(message_id));
        if let Some(s) = select {
            url.push_str("?$select=");
            url.push_str(s);
        }
        self.get_json(&url, &[]).await
    }

    /// Creates a folder under `parent` (or at the top of the mailbox).
    pub async fn create_folder(
        &self,
        user_id: &str,
        parent: Option<&str>,
        display_name: &str,
    ) -> Result<MailFolder> {
        let url = match parent {
            Some(p) => format!(
                "/users/{}/mailFolders/{}/childFolders",
                enc(user_id),
                enc(p)
            ),
            None => format!("/users/{}/mailFolders", enc(user_id)),
        };
        let body =
            serde_json::to_vec(&serde_json::json!({ "displayName": display_name })).expect("json");
        let resp = self
            .send(Method::POST, &url, Some(("application/json", body)), &[])
            .await?;
        let v: Value = resp.json().await.map_err(|e| GraphError::Malformed {
            what: format!("POST {url}"),
            detail: e.to_string(),
        })?;
        Self::parse("mailFolder", v)
    }

    /// Creates a message in a folder from its JSON representation.
    pub async fn create_message(
        &self,
        user_id: &str,
        folder_id: &str,
        message: &Value,
    ) -> Result<Value> {
        let url = format!(
            "/users/{}/mailFolders/{}/messages",
            enc(user_id),
            enc(folder_id)
        );
        let body = serde_json::to_vec(message).expect("json");
        let resp = self
            .send(Method::POST, &url, Some(("application/json", body)), &[])
            .await?;
        resp.json().await.map_err(|e| GraphError::Malformed {
            what: format!("POST {url}"),
            detail: e.to_string(),
        })
    }
}

/// How many times one request renews a rejected access token.
const MAX_RENEWALS: u32 = 3;

/// Whether an answer with this status is waited for and sent again: 429 (throttled) always,
/// 503/504 (busy) when the request is safe to repeat. Every other status is final, other 5xx
/// included: 507 Insufficient Storage ("The maximum storage quota has been reached", Microsoft
/// Graph, concepts/errors.md; Exchange's `ErrorQuotaExceeded`, the mailbox is full) does not go
/// away by retrying, and comes back as [`GraphError::Api`] with its Graph code.
pub(crate) fn is_retried(status: u16, repeatable: bool) -> bool {
    status == 429 || (repeatable && matches!(status, 503 | 504))
}

pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::is_retried;

    #[test]
    fn only_throttled_and_busy_answers_are_retried() {
        for repeatable in [true, false] {
            assert!(is_retried(429, repeatable));
            // 507 Insufficient Storage (ErrorQuotaExceeded) is final, like 500, 501 and 502.
            for status in [400, 404, 500, 501, 502, 507] {
                assert!(!is_retried(status, repeatable), "{status}");
            }
        }
        assert!(is_retried(503, true) && is_retried(504, true));
        assert!(!is_retried(503, false) && !is_retried(504, false));
    }
}
