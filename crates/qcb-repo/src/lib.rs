//! The QCBackup snapshot repository.
//!
//! Bytes at rest, and nothing else: this crate knows no e-mail, no network and no UI. Items are
//! stored as encrypted, compressed, deduplicated blobs in pack files; a snapshot is a tree of
//! named nodes whose attributes the caller defines. The on-disk format is specified in
//! `docs/repository-format.md`.
//!
//! ```
//! use qcb_repo::{KdfParams, Node, Repository, Tree, SnapshotMeta};
//! let dir = tempfile::tempdir().unwrap();
//! let repo = Repository::init_local(dir.path(), b"correct horse", KdfParams::insecure_for_tests()).unwrap();
//! let mut w = repo.writer();
//! let content = w.save_data(b"From: a@example.com\r\n\r\nhello").unwrap();
//! let tree = Tree { nodes: vec![Node::item("msg-1", vec![content], 27, None, serde_json::json!({"subject": "hi"}))] };
//! let root = w.save_tree(&tree).unwrap();
//! let snap = w.commit(SnapshotMeta::new(root, "host", chrono::Utc::now())).unwrap();
//! let reopened = Repository::open_local(dir.path(), b"correct horse").unwrap();
//! let s = reopened.load_snapshot(&snap.id).unwrap();
//! let t = reopened.load_tree(&s.tree).unwrap();
//! assert_eq!(reopened.read_data(&t.nodes[0].content[0]).unwrap(), b"From: a@example.com\r\n\r\nhello");
//! ```

mod backend;
mod catalog;
mod check;
mod crypto;
mod error;
#[doc(hidden)]
pub mod fuzzing;
mod ids;
mod index;
mod keyfile;
mod keys;
mod location;
mod lock;
mod opendal_backend;
mod pack;
mod prune;
mod remember;
mod repository;
mod retention;
mod tree;
mod upload;
mod versions;

pub use backend::{Backend, FileKind, LocalBackend};
pub use catalog::{Catalog, CatalogNode, CatalogSnapshot, join_path, split_path};
pub use check::{DataCheck, ReadData};
pub use crypto::KdfParams;
pub use error::{Error, Result};
pub use ids::{BlobId, BlobType, SnapshotId};
pub use keys::KeyInfo;
pub use location::{DEFAULT_S3_REGION, Location, S3Location, Secret};
pub use lock::{LockInfo, LockKind, LockOptions, RepoLock, process_is_gone};
pub use opendal_backend::{OpendalBackend, Timeouts};
pub use prune::{PruneOptions, PruneReport};
pub use remember::{Remembered, RememberedKey};
pub use repository::{
    CHUNK_AVG, CHUNK_MAX, CHUNK_MIN, CHUNK_THRESHOLD, ContentChunker, PreparedBlob, Repository,
    Writer, WriterStats, chunk_boundaries,
};
pub use retention::{ForgetDecision, ItemSet, RetentionPolicy, Span, plan_forget};
pub use tree::{Node, NodeKind, Snapshot, SnapshotMeta, Tree};
pub use versions::ItemVersion;

/// The repository format this build reads and writes.
pub const FORMAT_VERSION: u32 = 1;
