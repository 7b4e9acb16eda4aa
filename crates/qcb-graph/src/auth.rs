//! Credentials and access tokens: app-only with a client secret or a certificate (an RS256
//! `client_assertion`), or delegated through a refresh token kept by the caller
//! ([`RefreshTokenStore`]). The interactive flows that produce a refresh token are in
//! `signin.rs`.
//!
//! Nothing here logs or shows a secret, token or code: every type holding one redacts itself
//! in `Debug`, and errors carry Entra's error code and description only.

use std::sync::{Arc, Mutex as StdMutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rsa::pkcs1::DecodeRsaPrivateKey as _;
use rsa::pkcs8::{DecodePrivateKey as _, DecodePublicKey as _};
use rsa::signature::{SignatureEncoding as _, Signer as _};
use rsa::traits::PublicKeyParts as _;
use serde_json::{Value, json};
use sha1::Digest as _;
use tokio::sync::Mutex;

use crate::error::{GraphError, Result};

/// The scope of app-only tokens for Graph.
pub(crate) const GRAPH_DEFAULT_SCOPE: &str = "https://graph.microsoft.com/.default";
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// An Entra app's client secret. Its `Debug` never shows the value.
#[derive(Clone)]
pub struct ClientSecret(String);

impl ClientSecret {
    pub fn new(s: impl Into<String>) -> Self {
        ClientSecret(s.into())
    }
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientSecret(***)")
    }
}

/// A delegated sign-in's refresh token. Its `Debug` never shows the value; [`Self::expose`]
/// is for the store that keeps it (the OS keychain).
#[derive(Clone, PartialEq, Eq)]
pub struct RefreshToken(String);

impl RefreshToken {
    pub fn new(s: impl Into<String>) -> Self {
        RefreshToken(s.into())
    }
    /// The value, to be written to a keychain. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for RefreshToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RefreshToken(***)")
    }
}

/// What a [`RefreshTokenStore`] fails with.
pub type StoreError = Box<dyn std::error::Error + Send + Sync>;

/// Where a delegated sign-in's refresh token lives between runs (the OS keychain for the
/// desktop app). Every refresh returns a new refresh token, handed to [`Self::save`] at once.
/// Both calls run on a blocking thread.
pub trait RefreshTokenStore: Send + Sync + 'static {
    /// The refresh token saved last, if any.
    fn load(&self) -> std::result::Result<Option<RefreshToken>, StoreError>;
    /// Replaces the saved refresh token.
    fn save(&self, token: &RefreshToken) -> std::result::Result<(), StoreError>;
}

/// A [`RefreshTokenStore`] in memory (tests, one-off runs). Keeps every token it was given.
#[derive(Default)]
pub struct MemoryTokenStore {
    saved: StdMutex<Vec<RefreshToken>>,
}

impl MemoryTokenStore {
    pub fn new() -> Self {
        Self::default()
    }
    /// A store that already holds `token`.
    pub fn with(token: RefreshToken) -> Self {
        MemoryTokenStore {
            saved: StdMutex::new(vec![token]),
        }
    }
    /// Every token saved, oldest first.
    pub fn history(&self) -> Vec<RefreshToken> {
        self.saved.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl std::fmt::Debug for MemoryTokenStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryTokenStore")
            .field("saved", &self.history().len())
            .finish()
    }
}

impl RefreshTokenStore for MemoryTokenStore {
    fn load(&self) -> std::result::Result<Option<RefreshToken>, StoreError> {
        Ok(self
            .saved
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .last()
            .cloned())
    }
    fn save(&self, token: &RefreshToken) -> std::result::Result<(), StoreError> {
        self.saved
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(token.clone());
        Ok(())
    }
}

/// An app's certificate credential: its RSA private key and the certificate's thumbprint.
/// `Debug` shows the thumbprint only.
#[derive(Clone)]
pub struct ClientCertificate {
    key: Arc<rsa::RsaPrivateKey>,
    /// base64url SHA-1 of the certificate (`x5t`).
    x5t: String,
    /// base64url SHA-256 of the certificate (`x5t#S256`), when the certificate was given.
    x5t_s256: Option<String>,
}

impl std::fmt::Debug for ClientCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCertificate")
            .field("x5t", &self.x5t)
            .finish_non_exhaustive()
    }
}

struct PemBlock {
    label: String,
    text: String,
    der: Vec<u8>,
}

fn pem_blocks(pem: &str) -> Result<Vec<PemBlock>> {
    let mut out = Vec::new();
    let mut rest = pem;
    while let Some(start) = rest.find("-----BEGIN ") {
        let after = &rest[start + 11..];
        let label_end = after
            .find("-----")
            .ok_or_else(|| GraphError::Config("certificate PEM: broken BEGIN line".into()))?;
        let label = after[..label_end].to_string();
        let end_marker = format!("-----END {label}-----");
        let body_start = start + 11 + label_end + 5;
        let end = rest[body_start..].find(&end_marker).ok_or_else(|| {
            GraphError::Config(format!("certificate PEM: no END line for {label}"))
        })? + body_start;
        let b64: String = rest[body_start..end]
            .lines()
            .filter(|l| !l.contains(':'))
            .flat_map(|l| l.chars())
            .filter(|c| !c.is_whitespace())
            .collect();
        let der = STANDARD.decode(b64).map_err(|e| {
            GraphError::Config(format!("certificate PEM: {label}: bad base64: {e}"))
        })?;
        let text = rest[start..end + end_marker.len()].to_string();
        out.push(PemBlock { label, text, der });
        rest = &rest[end + end_marker.len()..];
    }
    Ok(out)
}

/// One DER element: (tag, whole element, content, what follows).
type Der<'a> = (u8, &'a [u8], &'a [u8], &'a [u8]);

fn der_next(b: &[u8]) -> Option<Der<'_>> {
    let tag = *b.first()?;
    let first = *b.get(1)? as usize;
    let (len, hdr) = if first < 0x80 {
        (first, 2)
    } else {
        let n = first & 0x7f;
        if n == 0 || n > 4 {
            return None;
        }
        let mut len = 0usize;
        for i in 0..n {
            len = (len << 8) | *b.get(2 + i)? as usize;
        }
        (len, 2 + n)
    };
    let end = hdr.checked_add(len)?;
    let whole = b.get(..end)?;
    Some((tag, whole, &whole[hdr..], &b[end..]))
}

/// The subjectPublicKeyInfo of an X.509 certificate (DER).
fn certificate_spki(der: &[u8]) -> Option<&[u8]> {
    let (_, _, cert, _) = der_next(der)?;
    let (_, _, tbs, _) = der_next(cert)?;
    let mut rest = tbs;
    let (tag, _, _, r) = der_next(rest)?;
    if tag == 0xa0 {
        rest = r; // [0] version
    }
    for _ in 0..5 {
        rest = der_next(rest)?.3; // serial, signature, issuer, validity, subject
    }
    Some(der_next(rest)?.1)
}

fn parse_private_key(blocks: &[PemBlock]) -> Result<rsa::RsaPrivateKey> {
    for b in blocks {
        match b.label.as_str() {
            "RSA PRIVATE KEY" => {
                return rsa::RsaPrivateKey::from_pkcs1_pem(&b.text).map_err(|e| {
                    GraphError::Config(format!("certificate private key (PKCS#1): {e}"))
                });
            }
            "PRIVATE KEY" => {
                return rsa::RsaPrivateKey::from_pkcs8_pem(&b.text).map_err(|e| {
                    GraphError::Config(format!("certificate private key (PKCS#8, RSA only): {e}"))
                });
            }
            "ENCRYPTED PRIVATE KEY" => {
                return Err(GraphError::Config(
                    "the certificate's private key is encrypted; give an unencrypted PEM (openssl pkcs8 -in key.pem -nocrypt -topk8 -out plain.pem) kept in the keychain or a file only you can read".into(),
                ));
            }
            _ => {}
        }
    }
    Err(GraphError::Config(
        "no private key in the PEM (expected BEGIN PRIVATE KEY or BEGIN RSA PRIVATE KEY)".into(),
    ))
}

/// A thumbprint as Windows prints it (40 hex digits, maybe with spaces or colons) or as
/// base64url (`x5t`), to base64url.
fn normalise_thumbprint(t: &str) -> Result<String> {
    let hex: String = t
        .chars()
        .filter(|c| !c.is_whitespace() && *c != ':')
        .collect();
    if hex.len() == 40 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
        let bytes: Vec<u8> = (0..20)
            .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap_or(0))
            .collect();
        return Ok(URL_SAFE_NO_PAD.encode(bytes));
    }
    let t = t.trim().trim_end_matches('=');
    match URL_SAFE_NO_PAD.decode(t.replace('+', "-").replace('/', "_")) {
        Ok(b) if b.len() == 20 => Ok(t.replace('+', "-").replace('/', "_")),
        _ => Err(GraphError::Config(
            "certificate thumbprint: expected 40 hex digits or a base64url SHA-1 (x5t)".into(),
        )),
    }
}

impl ClientCertificate {
    /// From one PEM text holding the certificate and its unencrypted RSA private key (either
    /// order; PKCS#8 or PKCS#1), as `openssl req -x509 -nodes … -out app.pem -keyout app.pem`
    /// writes it. The text may come from a file or from a secret store.
    pub fn from_pem(pem: &str) -> Result<ClientCertificate> {
        Self::from_blocks(&pem_blocks(pem)?)
    }

    /// From the certificate and the private key as separate PEM texts.
    pub fn from_pem_parts(certificate_pem: &str, key_pem: &str) -> Result<ClientCertificate> {
        let mut blocks = pem_blocks(certificate_pem)?;
        blocks.extend(pem_blocks(key_pem)?);
        Self::from_blocks(&blocks)
    }

    /// From a PEM file (certificate and key in one file).
    pub fn from_pem_file(path: &std::path::Path) -> Result<ClientCertificate> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            GraphError::Config(format!("cannot read certificate {}: {e}", path.display()))
        })?;
        Self::from_pem(&text)
    }

    /// From the private key alone and the certificate's SHA-1 thumbprint as Entra shows it
    /// (hex) or as `x5t` (base64url). Nothing checks that they belong together: Entra will.
    pub fn from_key_and_thumbprint(key_pem: &str, thumbprint: &str) -> Result<ClientCertificate> {
        let key = parse_private_key(&pem_blocks(key_pem)?)?;
        Ok(ClientCertificate {
            key: Arc::new(key),
            x5t: normalise_thumbprint(thumbprint)?,
            x5t_s256: None,
        })
    }

    fn from_blocks(blocks: &[PemBlock]) -> Result<ClientCertificate> {
        let cert = blocks
            .iter()
            .find(|b| b.label == "CERTIFICATE")
            .ok_or_else(|| {
                GraphError::Config("no certificate in the PEM (BEGIN CERTIFICATE)".into())
            })?;
        let key = parse_private_key(blocks)?;
        let spki = certificate_spki(&cert.der)
            .ok_or_else(|| GraphError::Config("the certificate is not valid X.509 DER".into()))?;
        let public = rsa::RsaPublicKey::from_public_key_der(spki)
            .map_err(|e| GraphError::Config(format!("the certificate has no RSA key: {e}")))?;
        if public.n() != key.n() || public.e() != key.e() {
            return Err(GraphError::Config(
                "the private key does not belong to the certificate".into(),
            ));
        }
        Ok(ClientCertificate {
            key: Arc::new(key),
            x5t: URL_SAFE_NO_PAD.encode(sha1::Sha1::digest(&cert.der)),
            x5t_s256: Some(URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(&cert.der))),
        })
    }

    /// The certificate's SHA-1 thumbprint, base64url (`x5t`).
    pub fn x5t(&self) -> &str {
        &self.x5t
    }

    /// The certificate's SHA-1 thumbprint in hex, as the Entra portal shows it.
    pub fn thumbprint_hex(&self) -> String {
        URL_SAFE_NO_PAD
            .decode(&self.x5t)
            .unwrap_or_default()
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect()
    }

    /// The client assertion Microsoft documents for certificate credentials: an RS256 JWT
    /// with `x5t` (and `x5t#S256`) in the header; `aud` the token endpoint, `iss` = `sub` =
    /// the client id, a fresh `jti`, valid from now for ten minutes.
    pub(crate) fn assertion(&self, client_id: &str, token_url: &str) -> Result<String> {
        let mut header = json!({"alg": "RS256", "typ": "JWT", "x5t": self.x5t});
        if let Some(s) = &self.x5t_s256 {
            header["x5t#S256"] = json!(s);
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let claims = json!({
            "aud": token_url,
            "iss": client_id,
            "sub": client_id,
            "jti": random_id(16),
            "nbf": now,
            "iat": now,
            "exp": now + 600,
        });
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signer = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new((*self.key).clone());
        let sig = signer
            .try_sign(input.as_bytes())
            .map_err(|e| GraphError::Config(format!("cannot sign the client assertion: {e}")))?;
        Ok(format!(
            "{input}.{}",
            URL_SAFE_NO_PAD.encode(sig.to_bytes())
        ))
    }
}

/// `n` random bytes, base64url (state, PKCE verifier, `jti`).
pub(crate) fn random_id(n: usize) -> String {
    let bytes: Vec<u8> = (0..n).map(|_| rand::random::<u8>()).collect();
    URL_SAFE_NO_PAD.encode(bytes)
}

/// How a [`crate::GraphClient`] signs in.
#[derive(Debug)]
pub enum Credentials {
    /// App-only, client credentials with a client secret.
    ClientSecret(ClientSecret),
    /// App-only, client credentials with a certificate (`client_assertion`).
    Certificate(ClientCertificate),
    /// A user's delegated sign-in, kept alive with its refresh token.
    Delegated(Delegated),
}

impl Credentials {
    pub fn client_secret(secret: impl Into<String>) -> Credentials {
        Credentials::ClientSecret(ClientSecret::new(secret))
    }

    /// A delegated sign-in made earlier, whose refresh token is in `store` (a later run of the
    /// desktop app, say). `scopes`: as given to [`crate::SignIn::with_scopes`] (empty: the
    /// default ones). Requests fail with [`GraphError::SignIn`] when the store is empty or the
    /// token was revoked: the user must sign in again.
    pub fn delegated(store: Arc<dyn RefreshTokenStore>, scopes: &[&str]) -> Credentials {
        Credentials::Delegated(Delegated {
            store,
            scopes: crate::signin::scopes_with_offline_access(scopes),
            initial: None,
        })
    }

    pub fn is_delegated(&self) -> bool {
        matches!(self, Credentials::Delegated(_))
    }
}

/// A delegated sign-in: where its refresh token is kept, its scopes, and the tokens of the
/// sign-in that just happened (if it did).
pub struct Delegated {
    pub(crate) store: Arc<dyn RefreshTokenStore>,
    pub(crate) scopes: Vec<String>,
    pub(crate) initial: Option<(Token, RefreshToken)>,
}

impl std::fmt::Debug for Delegated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Delegated")
            .field("scopes", &self.scopes)
            .field("signed_in_now", &self.initial.is_some())
            .finish_non_exhaustive()
    }
}

/// A cached access token.
#[derive(Clone)]
pub(crate) struct Token {
    pub value: String,
    /// When to stop using it: shortly before it expires.
    pub refresh_at: Instant,
}

impl Token {
    pub fn new(value: String, expires_in: u64) -> Token {
        // Five minutes early, or a quarter of the lifetime when it is short.
        let margin = (expires_in / 4).min(300);
        Token {
            value,
            refresh_at: Instant::now() + Duration::from_secs(expires_in.saturating_sub(margin)),
        }
    }
    fn fresh(&self) -> bool {
        self.refresh_at > Instant::now()
    }
}

/// A token endpoint's successful answer.
pub(crate) struct TokenAnswer {
    pub access_token: String,
    pub expires_in: u64,
    pub refresh_token: Option<RefreshToken>,
}

/// The first part of Entra's `error_description` (`AADSTSnnn: text`), without trace ids.
fn short_description(v: &Value) -> String {
    let d = v["error_description"].as_str().unwrap_or("");
    let d = d.lines().next().unwrap_or("");
    let d = d.split(" Trace ID:").next().unwrap_or(d);
    d.trim().to_string()
}

/// POSTs a form to an identity platform endpoint and reads its JSON; an answer with
/// `error` becomes [`GraphError::SignIn`] with Entra's code and description.
///
/// The identity platform is retried like Graph when it is busy or unreachable (429, 500, 502,
/// 503, 504 with their `Retry-After`, a refused or broken connection, an answer cut off): a
/// token that expires in the middle of a backup must not end the job because one sign-in
/// request met a transient fault. Asking again is safe: a client-credentials or refresh
/// request only issues another token (Entra keeps the previous refresh token valid), and a
/// code already redeemed answers `invalid_grant`, which is reported as before.
pub(crate) async fn post_form(
    http: &reqwest::Client,
    url: &str,
    form: &[(&str, &str)],
) -> Result<Value> {
    const ATTEMPTS: u32 = 5;
    let unreachable = |e: &reqwest::Error| GraphError::Unreachable {
        url: url.to_string(),
        detail: crate::client::error_chain(e),
    };
    let mut attempt = 0u32;
    let (status, body) = loop {
        attempt += 1;
        // 0.25 s, 0.5 s, 1 s, 2 s: a busy endpoint is given a few seconds.
        let wait = Duration::from_millis(250 << (attempt - 1).min(4));
        let resp = match http.post(url).form(form).send().await {
            Ok(r) => r,
            Err(e) if attempt < ATTEMPTS => {
                tracing::warn!(attempt, error = %crate::client::error_chain(&e), "sign-in request failed; retrying");
                tokio::time::sleep(wait).await;
                continue;
            }
            Err(e) => return Err(unreachable(&e)),
        };
        let status = resp.status();
        if attempt < ATTEMPTS && matches!(status.as_u16(), 429 | 500 | 502 | 503 | 504) {
            let after = resp
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(|s| Duration::from_secs(s.min(60)));
            tracing::warn!(
                attempt,
                status = status.as_u16(),
                "sign-in endpoint busy; retrying"
            );
            tokio::time::sleep(after.unwrap_or(wait)).await;
            continue;
        }
        match resp.text().await {
            Ok(body) => break (status, body),
            Err(e) if attempt < ATTEMPTS => {
                tracing::warn!(attempt, error = %crate::client::error_chain(&e), "sign-in answer cut off; retrying");
                tokio::time::sleep(wait).await;
            }
            Err(e) => return Err(unreachable(&e)),
        }
    };
    let v: Value = serde_json::from_str(&body).map_err(|e| GraphError::Malformed {
        what: format!("answer of {url} (HTTP {})", status.as_u16()),
        detail: e.to_string(),
    })?;
    if !status.is_success() || v.get("error").is_some() {
        return Err(GraphError::SignIn {
            url: url.to_string(),
            code: v["error"].as_str().unwrap_or("unknown").into(),
            message: short_description(&v),
        });
    }
    Ok(v)
}

/// Reads a token answer.
pub(crate) fn token_answer(url: &str, v: &Value) -> Result<TokenAnswer> {
    let access_token = v["access_token"]
        .as_str()
        .ok_or_else(|| GraphError::Malformed {
            what: format!("token answer of {url}"),
            detail: "no access_token".into(),
        })?
        .to_string();
    let expires_in = v["expires_in"]
        .as_u64()
        .or_else(|| v["expires_in"].as_str().and_then(|s| s.parse().ok()))
        .unwrap_or(3599);
    Ok(TokenAnswer {
        access_token,
        expires_in,
        refresh_token: v["refresh_token"].as_str().map(RefreshToken::new),
    })
}

/// Saves a refresh token on a blocking thread. A store that fails is logged, not fatal: the
/// token in memory goes on working, and Entra keeps the previous one valid.
pub(crate) async fn save_refresh_token(store: &Arc<dyn RefreshTokenStore>, token: &RefreshToken) {
    let store = store.clone();
    let token = token.clone();
    match tokio::task::spawn_blocking(move || store.save(&token)).await {
        Ok(Ok(())) => tracing::debug!("refresh token saved"),
        Ok(Err(e)) => tracing::warn!(error = %e, "could not save the new refresh token"),
        Err(e) => tracing::warn!(error = %e, "could not save the new refresh token"),
    }
}

/// What a client needs to get access tokens, with its cache.
pub(crate) enum TokenSource {
    App {
        credential: AppCredential,
        token: Mutex<Option<Token>>,
    },
    Delegated {
        store: Arc<dyn RefreshTokenStore>,
        scopes: Vec<String>,
        state: Mutex<DelegatedState>,
    },
}

pub(crate) enum AppCredential {
    Secret(ClientSecret),
    Certificate(ClientCertificate),
}

pub(crate) struct DelegatedState {
    token: Option<Token>,
    refresh: Option<RefreshToken>,
}

impl TokenSource {
    pub fn new(credentials: Credentials) -> TokenSource {
        match credentials {
            Credentials::Delegated(d) => {
                let (token, refresh) = match d.initial {
                    Some((t, r)) => (Some(t), Some(r)),
                    None => (None, None),
                };
                TokenSource::Delegated {
                    store: d.store,
                    scopes: d.scopes,
                    state: Mutex::new(DelegatedState { token, refresh }),
                }
            }
            Credentials::ClientSecret(s) => TokenSource::App {
                credential: AppCredential::Secret(s),
                token: Mutex::new(None),
            },
            Credentials::Certificate(c) => TokenSource::App {
                credential: AppCredential::Certificate(c),
                token: Mutex::new(None),
            },
        }
    }

    pub fn is_delegated(&self) -> bool {
        matches!(self, TokenSource::Delegated { .. })
    }

    /// A valid access token: the cached one, unless it is about to expire or is `rejected`
    /// (Graph answered 401 to it); then a new one from the token endpoint. Concurrent callers
    /// that saw the same token rejected cause one refresh, not one each.
    pub async fn access_token(
        &self,
        http: &reqwest::Client,
        token_url: &str,
        client_id: &str,
        rejected: Option<&str>,
    ) -> Result<String> {
        let usable = |t: &Token| t.fresh() && rejected != Some(t.value.as_str());
        match self {
            TokenSource::App { credential, token } => {
                let mut guard = token.lock().await;
                if let Some(t) = guard.as_ref().filter(|t| usable(t)) {
                    return Ok(t.value.clone());
                }
                let assertion;
                let mut form = vec![
                    ("grant_type", "client_credentials"),
                    ("client_id", client_id),
                    ("scope", GRAPH_DEFAULT_SCOPE),
                ];
                match credential {
                    AppCredential::Secret(s) => form.push(("client_secret", s.expose())),
                    AppCredential::Certificate(c) => {
                        assertion = c.assertion(client_id, token_url)?;
                        form.push(("client_assertion_type", JWT_BEARER));
                        form.push(("client_assertion", assertion.as_str()));
                    }
                }
                let v = post_form(http, token_url, &form).await?;
                let answer = token_answer(token_url, &v)?;
                tracing::debug!(expires_in = answer.expires_in, "signed in (app-only)");
                let t = Token::new(answer.access_token, answer.expires_in);
                let value = t.value.clone();
                *guard = Some(t);
                Ok(value)
            }
            TokenSource::Delegated {
                store,
                scopes,
                state,
            } => {
                let mut guard = state.lock().await;
                if let Some(t) = guard.token.as_ref().filter(|t| usable(t)) {
                    return Ok(t.value.clone());
                }
                let current = match guard.refresh.clone() {
                    Some(r) => r,
                    None => {
                        let s = store.clone();
                        let loaded = tokio::task::spawn_blocking(move || s.load())
                            .await
                            .map_err(|e| GraphError::Config(format!("token store: {e}")))?
                            .map_err(|e| {
                                GraphError::Config(format!("cannot read the saved sign-in: {e}"))
                            })?;
                        loaded.ok_or_else(|| GraphError::SignIn {
                            url: token_url.to_string(),
                            code: "not_signed_in".into(),
                            message: "no saved sign-in: the user must sign in".into(),
                        })?
                    }
                };
                let scope = scopes.join(" ");
                let form = [
                    ("grant_type", "refresh_token"),
                    ("client_id", client_id),
                    ("refresh_token", current.expose()),
                    ("scope", scope.as_str()),
                ];
                let v = match post_form(http, token_url, &form).await {
                    Ok(v) => v,
                    Err(GraphError::SignIn { url, code, message })
                        if code == "invalid_grant" || code == "interaction_required" =>
                    {
                        tracing::warn!(%code, "the saved sign-in was refused");
                        return Err(GraphError::SignIn {
                            url,
                            code,
                            message: format!(
                                "the sign-in has expired or was revoked; the user must sign in again ({message})"
                            ),
                        });
                    }
                    Err(e) => return Err(e),
                };
                let answer = token_answer(token_url, &v)?;
                tracing::debug!(expires_in = answer.expires_in, "access token refreshed");
                if let Some(new) = &answer.refresh_token {
                    save_refresh_token(store, new).await;
                    guard.refresh = Some(new.clone());
                } else {
                    guard.refresh = Some(current);
                }
                let t = Token::new(answer.access_token, answer.expires_in);
                let value = t.value.clone();
                guard.token = Some(t);
                Ok(value)
            }
        }
    }
}
