//! Trees and snapshots: the structure a backup run leaves behind.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{BlobId, SnapshotId};

pub const SNAPSHOT_AAD: &[u8] = b"qcbackup snapshot v1";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NodeKind {
    /// A container (a mailbox, a folder) whose children are in `subtree`.
    Dir,
    /// A leaf (a message) whose bytes are the concatenation of the `content` blobs.
    Item,
}

/// One named entry of a tree. `attrs` belongs to the caller (the engine stores mailbox, folder
/// and item properties there); the repository only stores it. `Debug` leaves the name and the
/// attributes out: they can hold subjects and senders, which must not reach logs.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Node {
    pub name: String,
    pub kind: NodeKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subtree: Option<BlobId>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub content: Vec<BlobId>,
    /// An optional data blob with more properties than fit comfortably in `attrs`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<BlobId>,
    #[serde(default)]
    pub size: u64,
    #[serde(default)]
    pub attrs: serde_json::Value,
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node")
            .field("kind", &self.kind)
            .field("subtree", &self.subtree)
            .field("content", &self.content)
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

impl Node {
    /// The data blobs an item needs: its content (in order), then its meta blob.
    pub fn data_blobs(&self) -> impl Iterator<Item = &BlobId> {
        self.content.iter().chain(self.meta.iter())
    }

    pub fn dir(name: impl Into<String>, subtree: BlobId, attrs: serde_json::Value) -> Node {
        Node {
            name: name.into(),
            kind: NodeKind::Dir,
            subtree: Some(subtree),
            content: vec![],
            meta: None,
            size: 0,
            attrs,
        }
    }

    pub fn item(
        name: impl Into<String>,
        content: Vec<BlobId>,
        size: u64,
        meta: Option<BlobId>,
        attrs: serde_json::Value,
    ) -> Node {
        Node {
            name: name.into(),
            kind: NodeKind::Item,
            subtree: None,
            content,
            meta,
            size,
            attrs,
        }
    }
}

/// The children of one directory, sorted by name when saved so equal trees dedupe.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tree {
    pub nodes: Vec<Node>,
}

impl Tree {
    pub fn get(&self, name: &str) -> Option<&Node> {
        self.nodes
            .binary_search_by(|n| n.name.as_str().cmp(name))
            .ok()
            .map(|i| &self.nodes[i])
    }
}

/// What the caller says about a snapshot it commits.
#[derive(Debug, Clone)]
pub struct SnapshotMeta {
    pub tree: BlobId,
    pub time: DateTime<Utc>,
    pub hostname: String,
    pub parent: Option<SnapshotId>,
    pub tags: Vec<String>,
    pub summary: serde_json::Value,
}

impl SnapshotMeta {
    pub fn new(tree: BlobId, hostname: impl Into<String>, time: DateTime<Utc>) -> Self {
        SnapshotMeta {
            tree,
            time,
            hostname: hostname.into(),
            parent: None,
            tags: vec![],
            summary: serde_json::Value::Null,
        }
    }
}

/// The stored snapshot record.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct SnapshotFile {
    pub version: u32,
    pub time: DateTime<Utc>,
    pub hostname: String,
    pub program: String,
    pub tree: BlobId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<SnapshotId>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub summary: serde_json::Value,
}

/// A snapshot as read back, with its id.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub id: SnapshotId,
    pub time: DateTime<Utc>,
    pub hostname: String,
    pub program: String,
    pub tree: BlobId,
    pub parent: Option<SnapshotId>,
    pub tags: Vec<String>,
    pub summary: serde_json::Value,
}

impl Snapshot {
    pub(crate) fn from_file(id: SnapshotId, f: SnapshotFile) -> Snapshot {
        Snapshot {
            id,
            time: f.time,
            hostname: f.hostname,
            program: f.program,
            tree: f.tree,
            parent: f.parent,
            tags: f.tags,
            summary: f.summary,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_carries_no_mail_metadata() {
        let id = BlobId([7; 32]);
        let n = Node::item(
            "AAkALgSecretId",
            vec![id],
            10,
            None,
            serde_json::json!({"subject": "Quarterly layoffs", "from": "ceo@contoso.example"}),
        );
        let shown = format!("{:?}", Tree { nodes: vec![n] });
        for secret in ["Quarterly", "ceo@", "AAkALgSecretId"] {
            assert!(!shown.contains(secret), "{shown}");
        }
    }
}
