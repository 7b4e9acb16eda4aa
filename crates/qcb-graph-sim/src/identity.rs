//! The identity side of the tenant: app registrations (secrets,
//! certificates, consented application and delegated permissions), issued
//! tokens and their revocation, authorization codes, refresh tokens and
//! device codes; and which permission a Graph request needs.

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use rsa::RsaPublicKey;
use rsa::pkcs1::DecodeRsaPublicKey as _;
use rsa::pkcs8::DecodePublicKey as _;
use serde::{Deserialize, Serialize};
use sha1::Digest as _;

/// Application permissions the tenant's own app registration has.
pub const DEFAULT_APP_ROLES: &[&str] = &[
    "Mail.ReadWrite",
    "User.Read.All",
    "MailboxSettings.Read",
    "Contacts.ReadWrite",
    "Calendars.ReadWrite",
    "Tasks.ReadWrite.All",
    "MailboxFolder.Read.All",
    "MailboxItem.Read.All",
    "MailboxItem.ImportExport.All",
];

/// Delegated permissions the tenant's own app registration may be granted.
pub const DEFAULT_DELEGATED: &[&str] = &[
    "User.Read",
    "Mail.ReadWrite",
    "Contacts.ReadWrite",
    "Calendars.ReadWrite",
    "Tasks.ReadWrite",
    "MailboxSettings.Read",
    "MailboxSettings.ReadWrite",
    "offline_access",
    "openid",
    "profile",
    "email",
];

/// An app registration as the admin API shows and takes it. `Debug`
/// leaves the secret out.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct AppRegistration {
    /// Generated (a GUID) when empty on registration.
    pub client_id: String,
    pub display_name: String,
    /// `None`: a public client (device code, auth code + PKCE only), or
    /// certificate credentials only.
    pub client_secret: Option<String>,
    /// Consented application permissions (`roles` of app-only tokens),
    /// e.g. `Mail.ReadWrite`, `User.Read.All`.
    pub application_permissions: Vec<String>,
    /// Delegated permissions users can grant (`scp` of user tokens), e.g.
    /// `Mail.ReadWrite`, `User.Read`, `offline_access`.
    pub delegated_permissions: Vec<String>,
    /// SHA-1 thumbprints (`x5t`, base64url) of registered certificates.
    pub certificate_thumbprints: Vec<String>,
    /// Exchange RBAC for Applications: when set, the app's application permissions reach only
    /// these mailboxes (user ids or principal names, any case), as a management scope on its
    /// role assignments does; other mailboxes answer 403 `ErrorAccessDenied`.
    pub mailbox_scope: Option<Vec<String>>,
}

impl std::fmt::Debug for AppRegistration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppRegistration")
            .field("client_id", &self.client_id)
            .field("display_name", &self.display_name)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("application_permissions", &self.application_permissions)
            .field("delegated_permissions", &self.delegated_permissions)
            .field("certificate_thumbprints", &self.certificate_thumbprints)
            .field("mailbox_scope", &self.mailbox_scope)
            .finish()
    }
}

#[derive(Clone)]
pub(crate) struct Cert {
    pub key: RsaPublicKey,
    /// base64url SHA-1 (`x5t`) and SHA-256 (`x5t#S256`) of the certificate,
    /// or the thumbprint given with a bare key.
    pub x5t: Option<String>,
    pub x5t_s256: Option<String>,
}

#[derive(Clone)]
pub(crate) struct App {
    pub reg: AppRegistration,
    pub certs: Vec<Cert>,
}

pub(crate) struct AuthCode {
    pub client_id: String,
    pub user_id: String,
    pub redirect_uri: String,
    pub scopes: Vec<String>,
    pub challenge: Option<(String, String)>,
    pub expires: DateTime<Utc>,
    pub nonce: Option<String>,
}

pub(crate) struct RefreshGrant {
    pub client_id: String,
    pub user_id: String,
    pub scopes: Vec<String>,
    pub epoch: u64,
    pub expires: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DeviceState {
    Pending,
    Approved,
    Declined,
    Redeemed,
}

pub(crate) struct DeviceCode {
    pub device_code: String,
    pub user_code: String,
    pub client_id: String,
    pub scopes: Vec<String>,
    pub expires: DateTime<Utc>,
    pub state: DeviceState,
    pub user_id: Option<String>,
    pub last_poll: Option<DateTime<Utc>>,
}

pub(crate) struct Identity {
    pub apps: Vec<App>,
    /// Bumped by every revocation: tokens of older epochs are refused.
    pub epoch: u64,
    /// `uti` of every issued access token → epoch at issue.
    pub issued: HashMap<String, u64>,
    pub codes: HashMap<String, AuthCode>,
    pub refresh: HashMap<String, RefreshGrant>,
    pub devices: Vec<DeviceCode>,
    /// `jti` of every client assertion accepted (replays are refused).
    pub assertion_ids: std::collections::HashSet<String>,
}

impl Identity {
    pub fn new(client_id: &str, client_secret: &str) -> Self {
        let own = App {
            reg: AppRegistration {
                client_id: client_id.to_string(),
                display_name: "QCBackup Manager".into(),
                client_secret: Some(client_secret.to_string()),
                application_permissions: DEFAULT_APP_ROLES.iter().map(|s| s.to_string()).collect(),
                delegated_permissions: DEFAULT_DELEGATED.iter().map(|s| s.to_string()).collect(),
                certificate_thumbprints: Vec::new(),
                mailbox_scope: None,
            },
            certs: Vec::new(),
        };
        Self {
            apps: vec![own],
            epoch: 0,
            issued: HashMap::new(),
            codes: HashMap::new(),
            refresh: HashMap::new(),
            devices: Vec::new(),
            assertion_ids: Default::default(),
        }
    }

    pub fn app(&self, client_id: &str) -> Option<&App> {
        self.apps
            .iter()
            .find(|a| a.reg.client_id.eq_ignore_ascii_case(client_id))
    }

    pub fn app_mut(&mut self, client_id: &str) -> Option<&mut App> {
        self.apps
            .iter_mut()
            .find(|a| a.reg.client_id.eq_ignore_ascii_case(client_id))
    }

    pub fn revoke_all(&mut self) {
        self.epoch += 1;
    }

    /// False for a token issued before the last revocation.
    pub fn token_live(&self, uti: &str) -> bool {
        self.issued.get(uti).is_none_or(|e| *e == self.epoch)
    }
}

/// A registered key from PEM: a certificate (`BEGIN CERTIFICATE`, the
/// thumbprints are computed), an SPKI public key (`BEGIN PUBLIC KEY`) or a
/// PKCS#1 one (`BEGIN RSA PUBLIC KEY`) with an optional `x5t` thumbprint.
pub(crate) fn parse_cert(pem: &str, thumbprint: Option<&str>) -> Result<Cert, String> {
    let pem = pem.trim();
    if pem.contains("BEGIN CERTIFICATE") {
        let der = pem_body(pem, "CERTIFICATE")?;
        let spki = certificate_spki(&der).ok_or("not an X.509 certificate")?;
        let key =
            RsaPublicKey::from_public_key_der(spki).map_err(|e| format!("not an RSA key: {e}"))?;
        let x5t = URL_SAFE_NO_PAD.encode(sha1::Sha1::digest(&der));
        let x5t_s256 = URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(&der));
        return Ok(Cert {
            key,
            x5t: Some(x5t),
            x5t_s256: Some(x5t_s256),
        });
    }
    let key = if pem.contains("BEGIN RSA PUBLIC KEY") {
        RsaPublicKey::from_pkcs1_pem(pem).map_err(|e| format!("bad PKCS#1 key: {e}"))?
    } else {
        RsaPublicKey::from_public_key_pem(pem).map_err(|e| format!("bad public key: {e}"))?
    };
    Ok(Cert {
        key,
        x5t: thumbprint.map(str::to_string),
        x5t_s256: None,
    })
}

fn pem_body(pem: &str, label: &str) -> Result<Vec<u8>, String> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = pem.find(&begin).ok_or("no PEM header")? + begin.len();
    let stop = pem[start..].find(&end).ok_or("no PEM footer")? + start;
    let b64: String = pem[start..stop]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    STANDARD.decode(b64).map_err(|e| format!("bad base64: {e}"))
}

/// One DER element: tag, whole element, content, what follows.
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

/// The subjectPublicKeyInfo element of a certificate.
fn certificate_spki(der: &[u8]) -> Option<&[u8]> {
    let (_, _, cert, _) = der_next(der)?;
    let (_, _, tbs, _) = der_next(cert)?;
    let mut rest = tbs;
    let (tag, _, _, r) = der_next(rest)?;
    // [0] version is optional
    if tag == 0xa0 {
        rest = r;
    }
    // serialNumber, signature, issuer, validity, subject
    for _ in 0..5 {
        rest = der_next(rest)?.3;
    }
    Some(der_next(rest)?.1)
}

/// Graph resource families with their own permissions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    Directory,
    Mail,
    Contacts,
    Calendars,
    Tasks,
    MailboxSettings,
    /// `/users/{id}/settings/exchange`: User.Read.All, served by Exchange.
    UserSettings,
    /// `/admin/exchange/mailboxes/{id}/folders/…/delta`: MailboxFolder.*.
    MailboxFolders,
    /// `…/folders/{id}/items/delta`: MailboxItem.Read(.All).
    MailboxItems,
    /// `…/exportItems`: MailboxItem.Export(.All) or ImportExport(.All).
    MailboxExport,
    /// `…/createImportSession`: MailboxItem.ImportExport(.All).
    MailboxImport,
}

/// What a request needs, from its (normalised) path: the family and
/// whether it writes. `None`: no permission check (e.g. `$batch`).
pub(crate) fn needed(method: &str, path: &str) -> Option<(Family, Option<String>, bool)> {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let write = !method.eq_ignore_ascii_case("GET") && !method.eq_ignore_ascii_case("HEAD");
    let (root, rest) = segs.split_first()?;
    if !(*root == "v1.0" || *root == "beta") {
        return None;
    }
    match rest {
        ["users"] => Some((Family::Directory, None, write)),
        ["users", u] => Some((Family::Directory, Some(u.to_string()), write)),
        ["users", u, res, ..] => {
            let fam = match res.to_ascii_lowercase().as_str() {
                "mailfolders" | "messages" | "inferenceclassification" => Family::Mail,
                "contactfolders" | "contacts" => Family::Contacts,
                "calendars" | "calendar" | "events" | "calendarview" | "calendargroups" => {
                    Family::Calendars
                }
                "todo" | "outlook" => Family::Tasks,
                "mailboxsettings" => Family::MailboxSettings,
                "settings" => Family::UserSettings,
                _ => return None,
            };
            Some((fam, Some(u.to_string()), write))
        }
        ["admin", "exchange", "mailboxes", m, tail @ ..] => {
            let fam = match tail {
                ["exportItems"] => Family::MailboxExport,
                ["createImportSession"] => Family::MailboxImport,
                [.., "items", _] | [.., "items"] => Family::MailboxItems,
                _ => Family::MailboxFolders,
            };
            Some((fam, Some(m.to_string()), write))
        }
        _ => None,
    }
}

fn has(perms: &[String], names: &[&str]) -> bool {
    perms
        .iter()
        .any(|p| names.iter().any(|n| p.eq_ignore_ascii_case(n)))
}

/// Whether app roles (`delegated == false`) or delegated scopes allow the
/// access. `own` says whether a delegated request is on the signed-in
/// user's own mailbox / object.
pub(crate) fn allowed(
    perms: &[String],
    delegated: bool,
    fam: Family,
    write: bool,
    own: bool,
) -> bool {
    let (read_names, write_names): (Vec<String>, Vec<String>) = match fam {
        Family::Directory => {
            let w = ["User.ReadWrite.All", "Directory.ReadWrite.All"];
            let mut r = vec!["User.Read.All", "User.ReadBasic.All", "Directory.Read.All"];
            if delegated && own {
                r.extend(["User.Read", "User.ReadWrite"]);
            }
            (
                r.into_iter().chain(w).map(str::to_string).collect(),
                w.iter()
                    .map(|s| s.to_string())
                    .chain((delegated && own).then_some("User.ReadWrite".to_string()))
                    .collect(),
            )
        }
        Family::UserSettings => (
            vec![
                "User.Read.All".to_string(),
                "User.ReadWrite.All".to_string(),
            ],
            vec!["User.ReadWrite.All".to_string()],
        ),
        Family::MailboxFolders
        | Family::MailboxItems
        | Family::MailboxExport
        | Family::MailboxImport => {
            // These are reads and actions alike: `write` does not matter.
            let names: &[&str] = match fam {
                Family::MailboxFolders => &["MailboxFolder.Read", "MailboxFolder.ReadWrite"],
                Family::MailboxItems => &["MailboxItem.Read", "MailboxItem.ImportExport"],
                Family::MailboxExport => &["MailboxItem.Export", "MailboxItem.ImportExport"],
                _ => &["MailboxItem.ImportExport"],
            };
            let suffix = if delegated { "" } else { ".All" };
            if delegated && !own {
                return false;
            }
            let v: Vec<String> = names.iter().map(|n| format!("{n}{suffix}")).collect();
            (v.clone(), v)
        }
        other => {
            let base = match other {
                Family::Mail => "Mail",
                Family::Contacts => "Contacts",
                Family::Calendars => "Calendars",
                Family::Tasks => "Tasks",
                _ => "MailboxSettings",
            };
            let suffixes: &[&str] = if !delegated {
                &[".All", ""]
            } else if own {
                &[""]
            } else {
                &[".Shared"]
            };
            let mut r = Vec::new();
            let mut w = Vec::new();
            for s in suffixes {
                r.push(format!("{base}.Read{s}"));
                w.push(format!("{base}.ReadWrite{s}"));
            }
            r.extend(w.iter().cloned());
            (r, w)
        }
    };
    let names: Vec<&str> = if write { &write_names } else { &read_names }
        .iter()
        .map(String::as_str)
        .collect();
    has(perms, &names)
}

/// Requested scopes without the Graph resource prefix; `.default` → every
/// consented delegated permission.
pub(crate) fn normalise_scopes(scope: &str, app: &App) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in scope.split_whitespace() {
        let short = s
            .strip_prefix("https://graph.microsoft.com/")
            .or_else(|| s.strip_prefix("00000003-0000-0000-c000-000000000000/"))
            .unwrap_or(s);
        if short == ".default" {
            out.extend(app.reg.delegated_permissions.iter().cloned());
        } else {
            out.push(short.to_string());
        }
    }
    let mut granted: Vec<String> = Vec::new();
    for s in out {
        if let Some(p) = app
            .reg
            .delegated_permissions
            .iter()
            .find(|p| p.eq_ignore_ascii_case(&s))
            && !granted.contains(p)
        {
            granted.push(p.clone());
        }
    }
    granted
}

/// PKCE: does `verifier` match the challenge of the authorization request?
pub(crate) fn pkce_ok(challenge: &str, method: &str, verifier: &str) -> bool {
    if method.eq_ignore_ascii_case("plain") {
        return challenge == verifier;
    }
    URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes())) == challenge
}

/// Verifies an RS256 JWT's signature with `key`; returns (header, claims).
pub(crate) fn verify_rs256(
    jwt: &str,
    keys: &[&RsaPublicKey],
) -> Result<(serde_json::Value, serde_json::Value), &'static str> {
    use rsa::pkcs1v15::{Signature, VerifyingKey};
    use rsa::signature::Verifier as _;
    let parts: Vec<&str> = jwt.split('.').collect();
    if parts.len() != 3 {
        return Err("malformed");
    }
    let decode = |p: &str| -> Result<serde_json::Value, &'static str> {
        let b = URL_SAFE_NO_PAD.decode(p).map_err(|_| "malformed")?;
        serde_json::from_slice(&b).map_err(|_| "malformed")
    };
    let header = decode(parts[0])?;
    let claims = decode(parts[1])?;
    if header.get("alg").and_then(|a| a.as_str()) != Some("RS256") {
        return Err("alg");
    }
    let sig = URL_SAFE_NO_PAD.decode(parts[2]).map_err(|_| "malformed")?;
    let sig = Signature::try_from(sig.as_slice()).map_err(|_| "signature")?;
    let input = format!("{}.{}", parts[0], parts[1]);
    for k in keys {
        let vk = VerifyingKey::<sha2::Sha256>::new((*k).clone());
        if vk.verify(input.as_bytes(), &sig).is_ok() {
            return Ok((header, claims));
        }
    }
    Err("signature")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permission_table() {
        let p = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let app = p(&["Mail.ReadWrite", "User.Read.All"]);
        assert!(allowed(&app, false, Family::Mail, true, false));
        assert!(!allowed(&app, false, Family::Contacts, false, false));
        assert!(allowed(&app, false, Family::Directory, false, false));
        let ro = p(&["Mail.Read"]);
        assert!(allowed(&ro, false, Family::Mail, false, false));
        assert!(!allowed(&ro, false, Family::Mail, true, false));
        let tasks = p(&["Tasks.ReadWrite.All"]);
        assert!(allowed(&tasks, false, Family::Tasks, true, false));
        let user = p(&["Mail.ReadWrite", "User.Read"]);
        assert!(allowed(&user, true, Family::Mail, true, true));
        assert!(!allowed(&user, true, Family::Mail, false, false));
        assert!(allowed(&user, true, Family::Directory, false, true));
        assert!(!allowed(&user, true, Family::Directory, false, false));
        assert_eq!(
            needed("GET", "/v1.0/users/u/contactFolders/x").map(|n| n.0),
            Some(Family::Contacts)
        );
        assert_eq!(needed("POST", "/v1.0/$batch"), None);
    }

    #[test]
    fn pkce_s256() {
        // RFC 7636 appendix B
        assert!(pkce_ok(
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            "S256",
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
        ));
        assert!(!pkce_ok(
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            "S256",
            "x"
        ));
    }
}
