//! The data the engine hands to front ends (serialised as camelCase JSON for the UI and
//! `--json`).

use serde::{Deserialize, Serialize};

/// How to reach a tenant: Graph and identity endpoints plus an Entra app's credentials.
#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Connection {
    pub graph_url: String,
    pub authority: String,
    pub tenant_id: String,
    pub client_id: String,
    #[serde(skip_serializing)]
    pub client_secret: String,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("graph_url", &self.graph_url)
            .field("authority", &self.authority)
            .field("tenant_id", &self.tenant_id)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

impl Connection {
    pub fn client(&self) -> crate::Result<qcb_graph::GraphClient> {
        let cfg = qcb_graph::GraphConfig {
            graph_url: self.graph_url.trim_end_matches('/').to_string(),
            authority: self.authority.trim_end_matches('/').to_string(),
            tenant_id: self.tenant_id.clone(),
            client_id: self.client_id.clone(),
            client_secret: qcb_graph::ClientSecret::new(self.client_secret.clone()),
            retry: Default::default(),
        };
        Ok(qcb_graph::GraphClient::new(cfg)?)
    }

    /// A client that signs in with `credentials` (a certificate, or a user's delegated
    /// sign-in from [`Connection::sign_in`]) instead of `client_secret`.
    pub fn client_with(
        &self,
        credentials: qcb_graph::Credentials,
    ) -> crate::Result<qcb_graph::GraphClient> {
        let cfg = qcb_graph::GraphConfig::endpoints(
            &self.graph_url,
            &self.authority,
            &self.tenant_id,
            &self.client_id,
        );
        Ok(qcb_graph::GraphClient::with_credentials(cfg, credentials)?)
    }

    /// Delegated sign-in of a user for this app (`tenant_id` may be `organizations`).
    pub fn sign_in(&self) -> crate::Result<qcb_graph::SignIn> {
        let cfg = qcb_graph::GraphConfig::endpoints(
            &self.graph_url,
            &self.authority,
            &self.tenant_id,
            &self.client_id,
        );
        Ok(qcb_graph::SignIn::new(&cfg)?)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct SnapshotInfo {
    pub id: String,
    pub short_id: String,
    /// RFC 3339, UTC.
    pub time: String,
    pub hostname: String,
    pub mailboxes: Vec<String>,
    pub item_count: u64,
    pub size_bytes: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct FolderEntry {
    pub name: String,
    /// Pass back verbatim to browse into this folder.
    pub path: String,
    pub item_count: u64,
    pub child_count: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ItemEntry {
    pub id: String,
    pub subject: String,
    pub from: String,
    pub received_date_time: String,
    pub size: u64,
    pub is_read: bool,
    pub has_attachments: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct Browse {
    pub snapshot_id: String,
    pub path: String,
    pub folders: Vec<FolderEntry>,
    pub items: Vec<ItemEntry>,
}

/// An item a job could not handle, and why. The job went on without it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct FailedItem {
    pub mailbox: String,
    pub folder: String,
    pub item_id: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct BackupReport {
    pub snapshot_id: String,
    pub mailboxes: u64,
    pub folders: u64,
    /// Items in the snapshot.
    pub items: u64,
    /// Items downloaded in this run (new or changed).
    pub items_fetched: u64,
    /// Bytes written to the repository (compressed, encrypted).
    pub bytes_added: u64,
    pub failed: Vec<FailedItem>,
    pub duration_ms: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct RestoreReport {
    pub mailbox: String,
    /// The folder the restore created or used, as a path in the mailbox; empty when items went
    /// back to their original location.
    pub target_folder: String,
    /// Nothing was written: `planned` lists what would have been.
    pub dry_run: bool,
    pub folders_created: u64,
    /// Items written (created, or replacing the one already there).
    pub items_restored: u64,
    /// Of `items_restored`, those that replaced an item already there (`--on-conflict overwrite`).
    pub items_overwritten: u64,
    /// Items not written, each in `skipped` with the reason (mostly: already there).
    pub items_skipped: u64,
    pub skipped: Vec<FailedItem>,
    pub failed: Vec<FailedItem>,
    /// In a dry run, every write the restore would make.
    pub planned: Vec<PlannedWrite>,
    pub duration_ms: u64,
}

/// One write a restore would make (listed by a dry run).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct PlannedWrite {
    /// `create-folder`, `create` or `overwrite`.
    pub action: String,
    /// `folder`, `contactFolder`, `calendar`, `taskList`, `message`, `contact`, `event`, `task`
    /// or `rule`.
    pub kind: String,
    /// Where, as a path in the target mailbox (category first for all but mail).
    pub folder: String,
    /// The item's id in the snapshot (a rule's name; empty for folders).
    pub item_id: String,
}

/// What `check` looked at and found.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct CheckReport {
    pub snapshots: u64,
    pub packs_total: u64,
    pub packs_read: u64,
    pub blobs_verified: u64,
    /// One line per problem, each naming the damaged file or the snapshot affected.
    pub problems: Vec<String>,
}

/// One snapshot's fate under a retention policy.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ForgetEntry {
    pub snapshot_id: String,
    pub short_id: String,
    pub time: String,
    pub group: String,
    pub keep: bool,
    pub reasons: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ForgetReport {
    pub dry_run: bool,
    pub entries: Vec<ForgetEntry>,
    pub removed: u64,
}

/// One snapshot's copy of an item.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ItemVersionInfo {
    pub snapshot_id: String,
    pub short_id: String,
    pub time: String,
    /// Where the item was in that snapshot (browse path syntax).
    pub path: String,
    pub size: u64,
    pub subject: String,
    /// Differs from the previous version listed.
    pub changed: bool,
}

/// An attachment as the preview lists it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct AttachmentInfo {
    pub name: String,
    pub size: u64,
    pub content_type: String,
}

/// One message as the preview pane shows it. `html` is the stored HTML body, unsanitised: the
/// UI must sanitise it and show it in a sandboxed frame.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ItemPreview {
    pub subject: String,
    pub from: String,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    /// RFC 3339, UTC (the received time).
    pub date: String,
    pub html: Option<String>,
    pub text: Option<String>,
    pub attachments: Vec<AttachmentInfo>,
}
