//! Backup sets: named, saved definitions of a backup job (which tenant and how to sign in,
//! which mailboxes, categories and folders, the destination repository, the schedule and the
//! retention policy). They live in the local SQLite state database ([`SetStore`]), travel as
//! TOML files (so a set made on a desktop runs headless on a server), and run through
//! [`run_set`] — started by hand, by the desktop app ("Run on Client") or by `qcbackup daemon`
//! ([`run_daemon`], "Run on Server"). Every run is recorded in the job history.
//!
//! Secrets never sit in a set: the repository password, client secret, certificate key or
//! refresh token are read from a [`SecretStore`](crate::secrets::SecretStore) under the entry
//! names [`BackupSet::secret_entries`] lists.

mod daemon;
mod form;
mod overview;
mod run;
mod schedule;
mod store;

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::categories::Categories;
use crate::error::{EngineError, Result};
use crate::selection::{FolderFilter, MailboxSelection};
use qcb_repo::RetentionPolicy;

pub use daemon::{DaemonOptions, due_sets, run_daemon};
pub use form::{
    ConnectionForm, FoldersForm, MailboxesForm, RetentionForm, SetForm, category_names,
};
pub use overview::{SetOverview, SetWarning, mailboxes_label, overview};
pub use run::{RunContext, SetRunReport, connection_client, run_set, run_set_until, test_set};
pub use schedule::Schedule;
pub use store::{RunRecord, RunStatus, SetStore, StoredSet};

/// Who runs a set on its schedule.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
pub enum RunOn {
    /// The desktop app, while it runs ("Run on Client").
    #[default]
    Client,
    /// `qcbackup daemon` on a server ("Run on Server").
    Server,
}

/// How the set signs in to Microsoft 365.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
pub enum AuthMethod {
    /// An Entra app with a client secret (app-only, for organisations).
    #[default]
    ClientSecret,
    /// An Entra app with a certificate: a PEM file (`certificate`) or a PEM kept in the
    /// secret store.
    Certificate,
    /// A person's own sign-in (auth code + PKCE or device code), whose refresh token is kept
    /// in the secret store.
    Delegated,
}

/// The tenant and the app a set signs in with. No secret: those are in the secret store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct SetConnection {
    pub tenant_id: String,
    pub client_id: String,
    #[serde(default)]
    pub auth: AuthMethod,
    /// For `auth = "certificate"`: a PEM file with the certificate and its private key.
    /// Without it the PEM is read from the secret store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<PathBuf>,
    /// For `auth = "delegated"`: the person who signed in (whose refresh token is stored).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    #[serde(default = "default_graph_url")]
    pub graph_url: String,
    #[serde(default = "default_authority")]
    pub authority: String,
}

impl SetConnection {
    /// The secret store entry of one kind of sign-in secret of this connection; `None` for
    /// the repository password, which belongs to the set.
    pub fn secret_entry(&self, kind: SecretKind) -> Option<String> {
        let (t, c) = (&self.tenant_id, &self.client_id);
        match kind {
            SecretKind::ClientSecret => Some(crate::secrets::client_secret_entry(t, c)),
            SecretKind::ClientCertificate => Some(crate::secrets::client_certificate_entry(t, c)),
            SecretKind::RefreshToken => Some(crate::secrets::refresh_token_entry(
                t,
                c,
                self.account.as_deref().unwrap_or_default(),
            )),
            SecretKind::RepositoryPassword => None,
        }
    }
}

fn default_graph_url() -> String {
    "https://graph.microsoft.com/v1.0".into()
}

fn default_authority() -> String {
    "https://login.microsoftonline.com".into()
}

/// A saved backup job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct BackupSet {
    /// Unique (without regard to case); also the tag of the set's snapshots (`set:<name>`),
    /// which is how retention judges each set on its own.
    pub name: String,
    #[serde(default)]
    pub run_on: RunOn,
    /// A folder or an `s3:` URL (see `qcb_repo::Location`).
    pub repository: String,
    #[serde(default = "manual")]
    pub schedule: Schedule,
    pub connection: SetConnection,
    #[serde(default)]
    pub mailboxes: MailboxSelection,
    /// Categories for every mailbox: `all`, or a list such as `mail,contacts`.
    #[serde(default, with = "categories_text")]
    pub categories: Categories,
    /// Categories for single mailboxes (by address or id), instead of `categories`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub mailbox_categories: BTreeMap<String, CategoriesText>,
    #[serde(default, skip_serializing_if = "FolderFilter::is_empty")]
    pub folders: FolderFilter,
    /// Applied to the set's own snapshots after each successful run (then `prune`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention: Option<RetentionPolicy>,
}

fn manual() -> Schedule {
    Schedule::Manual
}

/// [`Categories`] written as text (`all`, `mail,contacts`) in TOML.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CategoriesText(#[serde(with = "categories_text")] pub Categories);

mod categories_text {
    use super::Categories;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(c: &Categories, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&c.to_text())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Categories, D::Error> {
        let text = String::deserialize(d)?;
        Categories::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// What a secret entry of a set holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SecretKind {
    RepositoryPassword,
    ClientSecret,
    ClientCertificate,
    RefreshToken,
}

impl SecretKind {
    const ALL: [SecretKind; 4] = [
        SecretKind::RepositoryPassword,
        SecretKind::ClientSecret,
        SecretKind::ClientCertificate,
        SecretKind::RefreshToken,
    ];

    /// The name `qcbackup set secret` takes (`repository-password` ...).
    pub fn as_str(self) -> &'static str {
        match self {
            SecretKind::RepositoryPassword => "repository-password",
            SecretKind::ClientSecret => "client-secret",
            SecretKind::ClientCertificate => "client-certificate",
            SecretKind::RefreshToken => "refresh-token",
        }
    }

    pub fn parse(text: &str) -> std::result::Result<SecretKind, String> {
        SecretKind::ALL
            .into_iter()
            .find(|k| k.as_str() == text)
            .ok_or_else(|| {
                format!(
                    "{text:?}: choose repository-password, client-secret, client-certificate \
                     or refresh-token"
                )
            })
    }
}

impl BackupSet {
    /// The tag on every snapshot this set makes.
    pub fn tag(&self) -> String {
        format!("set:{}", self.name)
    }

    /// Checks everything that can be checked without the network.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(EngineError::InvalidInput(format!("backup set: {m}")));
        let name = self.name.trim();
        if name.is_empty() || name != self.name {
            return bad("the name is empty or starts or ends with spaces".into());
        }
        if name.chars().count() > 100 || name.chars().any(char::is_control) {
            return bad(format!(
                "the name {name:?} is too long (100 at most) or has control characters"
            ));
        }
        // The form of the location only: an S3 repository's keys are looked up when the set
        // runs (environment or secret store), not when it is saved.
        let syntax_only = |k: &str| match k {
            "QCBACKUP_S3_ACCESS_KEY_ID" | "QCBACKUP_S3_SECRET_ACCESS_KEY" => Some("-".to_string()),
            _ => None,
        };
        if let Err(e) = qcb_repo::Location::parse_with_env(&self.repository, syntax_only) {
            return bad(format!("repository {:?}: {e}", self.repository));
        }
        let c = &self.connection;
        if c.tenant_id.trim().is_empty() || c.client_id.trim().is_empty() {
            return bad("the connection needs a tenant-id and a client-id".into());
        }
        for (what, url) in [("graph-url", &c.graph_url), ("authority", &c.authority)] {
            if url::Url::parse(url).is_err() {
                return bad(format!("connection {what} {url:?} is not a URL"));
            }
        }
        match c.auth {
            AuthMethod::Delegated if c.account.as_deref().is_none_or(|a| a.trim().is_empty()) => {
                return bad(
                    "a delegated sign-in needs the account (the person who signed in)".into(),
                );
            }
            AuthMethod::Delegated => {}
            _ if c.account.is_some() => {
                return bad("account is only for auth = \"delegated\"".into());
            }
            _ => {}
        }
        if c.certificate.is_some() && c.auth != AuthMethod::Certificate {
            return bad("certificate is only for auth = \"certificate\"".into());
        }
        self.mailboxes.validate().or_else(bad)?;
        self.folders.validate().or_else(bad)?;
        if self.mailbox_categories.keys().any(|k| k.trim().is_empty()) {
            return bad("a mailbox in mailbox-categories has no name".into());
        }
        if let Some(r) = &self.retention
            && r.is_empty()
        {
            return bad(
                "the retention policy has no keep rule (keep-last, keep-daily ...); \
                 leave it out to keep every snapshot"
                    .into(),
            );
        }
        Ok(())
    }

    /// The set as a TOML document.
    pub fn to_toml(&self) -> Result<String> {
        toml::to_string_pretty(self)
            .map_err(|e| EngineError::Internal(format!("writing the set as TOML: {e}")))
    }

    /// Reads and validates a set from TOML.
    pub fn from_toml(text: &str) -> Result<BackupSet> {
        let set: BackupSet = toml::from_str(text)
            .map_err(|e| EngineError::InvalidInput(format!("backup set file: {e}")))?;
        set.validate()?;
        Ok(set)
    }

    /// The secret store entries this set reads, and what each holds.
    pub fn secret_entries(&self) -> Vec<(SecretKind, String)> {
        let c = &self.connection;
        let mut out = vec![(
            SecretKind::RepositoryPassword,
            crate::secrets::repository_password_entry(&self.repository),
        )];
        let kind = match c.auth {
            AuthMethod::ClientSecret => Some(SecretKind::ClientSecret),
            AuthMethod::Certificate if c.certificate.is_none() => {
                Some(SecretKind::ClientCertificate)
            }
            AuthMethod::Certificate => None,
            AuthMethod::Delegated => Some(SecretKind::RefreshToken),
        };
        out.extend(kind.and_then(|k| Some((k, c.secret_entry(k)?))));
        out
    }

    /// The entry holding one kind of secret, if the set uses it.
    pub fn secret_entry(&self, kind: SecretKind) -> Option<String> {
        self.secret_entries()
            .into_iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, e)| e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample() -> BackupSet {
        BackupSet {
            name: "Contoso staff".into(),
            run_on: RunOn::Server,
            repository: "/srv/qcbackup/repo".into(),
            schedule: Schedule::parse("daily 02:30").unwrap(),
            connection: SetConnection {
                tenant_id: "contoso".into(),
                client_id: "app-1".into(),
                auth: AuthMethod::ClientSecret,
                certificate: None,
                account: None,
                graph_url: default_graph_url(),
                authority: default_authority(),
            },
            mailboxes: MailboxSelection {
                users: vec!["adele@contoso.com".into()],
                filter: Some("userType eq 'Member'".into()),
                shared: true,
                all_users: false,
            },
            categories: Categories::parse("mail,contacts").unwrap(),
            mailbox_categories: BTreeMap::from([(
                "ceo@contoso.com".into(),
                CategoriesText(Categories::default()),
            )]),
            folders: FolderFilter {
                include: vec![],
                exclude: vec!["Junk Email".into()],
            },
            retention: Some(RetentionPolicy {
                keep_daily: Some(14),
                keep_weekly: Some(8),
                deleted_item_retention: Some(qcb_repo::Span::parse("90d").unwrap()),
                ..Default::default()
            }),
        }
    }

    #[test]
    fn a_set_survives_toml_both_ways() {
        let set = sample();
        let text = set.to_toml().unwrap();
        assert!(text.contains("categories = \"mail,contacts\""), "{text}");
        assert!(text.contains("schedule = \"daily 02:30\""), "{text}");
        assert!(
            text.contains("keep-deleted") || text.contains("deleted-item-retention"),
            "{text}"
        );
        assert_eq!(BackupSet::from_toml(&text).unwrap(), set);
    }

    #[test]
    fn a_minimal_file_gets_defaults() {
        let set = BackupSet::from_toml(
            "name = \"Mine\"\nrepository = \"/tmp/r\"\n[connection]\ntenant-id = \"t\"\nclient-id = \"c\"\n",
        )
        .unwrap();
        assert_eq!(set.schedule, Schedule::Manual);
        assert_eq!(set.run_on, RunOn::Client);
        assert_eq!(set.categories, Categories::default());
        assert!(set.mailboxes.is_everything());
        assert_eq!(set.connection.graph_url, "https://graph.microsoft.com/v1.0");
    }

    #[test]
    fn bad_sets_are_refused_with_the_reason() {
        for (edit, needle) in [
            ("name = \"\"", "name"),
            ("schedule = \"sometimes\"", "schedule"),
            ("categories = \"mail,faxes\"", "faxes"),
            ("unknown-key = 1", "unknown"),
            ("repository = \"s3:not a url\"", "repository"),
        ] {
            let mut text = String::from("name = \"A\"\nrepository = \"/tmp/r\"\n");
            let key = edit.split(" = ").next().unwrap();
            text = text
                .lines()
                .filter(|l| !l.starts_with(&format!("{key} =")))
                .map(|l| format!("{l}\n"))
                .collect();
            text.insert_str(0, &format!("{edit}\n"));
            text.push_str("[connection]\ntenant-id = \"t\"\nclient-id = \"c\"\n");
            let e = BackupSet::from_toml(&text).unwrap_err().to_string();
            assert!(e.contains(needle), "{edit}: {e}");
        }
        let mut s = sample();
        s.retention = Some(RetentionPolicy::default());
        assert!(s.validate().unwrap_err().to_string().contains("keep rule"));
        let mut s = sample();
        s.connection.auth = AuthMethod::Delegated;
        assert!(s.validate().unwrap_err().to_string().contains("account"));
        let mut s = sample();
        s.folders.include = vec!["Inbox//x".into()];
        assert!(s.validate().is_err());
    }

    #[test]
    fn secrets_are_named_by_what_they_open() {
        let mut s = sample();
        assert_eq!(
            s.secret_entries(),
            vec![
                (
                    SecretKind::RepositoryPassword,
                    "repository:/srv/qcbackup/repo".to_string()
                ),
                (
                    SecretKind::ClientSecret,
                    "client-secret:contoso:app-1".to_string()
                ),
            ]
        );
        s.connection.auth = AuthMethod::Certificate;
        s.connection.certificate = Some("/etc/qcbackup/app.pem".into());
        assert_eq!(s.secret_entries().len(), 1);
        assert!(!s.to_toml().unwrap().contains("secret"));
    }
}
