//! Entry points for the fuzz targets in `fuzz/` (not an API). [`RepoFixture::run`] puts one
//! file made from the fuzzer's bytes into a small real repository and then reads everything as
//! `check --read-data` and a restore would; nothing may panic, whatever the file holds.

use std::collections::{BTreeSet, HashSet};
use std::path::PathBuf;

use crate::backend::{Backend, FileKind, LocalBackend};
use crate::crypto::{self, KdfParams};
use crate::ids::BlobType;
use crate::index::INDEX_AAD;
use crate::keyfile::KeyFile;
use crate::repository::{Repository, sha256_hex};
use crate::tree::{Node, NodeKind, SNAPSHOT_AAD, SnapshotMeta};
use crate::{ReadData, Tree};

const PASSWORD: &[u8] = b"fuzz";

/// A repository in the temporary folder holding one snapshot: a folder with a small item and
/// a large one cut into chunks. Made once per fuzzing process.
pub struct RepoFixture {
    root: PathBuf,
}

impl Default for RepoFixture {
    fn default() -> Self {
        Self::new()
    }
}

impl RepoFixture {
    pub fn new() -> RepoFixture {
        let root = std::env::temp_dir().join(format!("qcb-fuzz-repo-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let repo = Repository::init_local(&root, PASSWORD, KdfParams::insecure_for_tests())
            .expect("fixture repository");
        let mut w = repo.writer();
        let small = w
            .save_content(b"Subject: hello\r\n\r\nbody\r\n")
            .expect("save");
        let large: Vec<u8> = (0..600_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let large = w.save_content(&large).expect("save");
        let meta = w.save_data(br#"{"subject":"hello"}"#).expect("save");
        let a = Node::item("a", small, 24, Some(meta), serde_json::json!({}));
        let b = Node::item("b", large, 600_000, None, serde_json::json!({}));
        let folder = w.save_tree(&Tree { nodes: vec![a, b] }).expect("save");
        let top = w
            .save_tree(&Tree {
                nodes: vec![Node::dir("Inbox", folder, serde_json::json!({}))],
            })
            .expect("save");
        w.commit(SnapshotMeta::new(top, "fuzz", chrono::Utc::now()))
            .expect("commit");
        RepoFixture { root }
    }

    /// The first byte picks what the rest becomes: a pack, an index file, a snapshot file or a
    /// key file as stored (before decryption), an index or snapshot whose decrypted content it
    /// is, or a tree blob. Files the input added are removed afterwards.
    pub fn run(&self, data: &[u8]) {
        let Some((&selector, bytes)) = data.split_first() else {
            return;
        };
        let backend = LocalBackend::new(&self.root);
        let before = files(&backend);
        let repo = Repository::open_local(&self.root, PASSWORD).expect("fixture opens");
        let sealed = |aad: &[u8]| crypto::seal(&repo.inner.key, aad, bytes);
        match selector % 7 {
            0 => write_named(&backend, FileKind::Pack, bytes),
            1 => write_named(&backend, FileKind::Index, bytes),
            2 => write_named(&backend, FileKind::Index, &sealed(INDEX_AAD)),
            3 => write_named(&backend, FileKind::Snapshot, bytes),
            4 => write_named(&backend, FileKind::Snapshot, &sealed(SNAPSHOT_AAD)),
            5 => {
                // Argon2 with hostile but valid parameters (up to 4 GiB) is slow by design;
                // the fuzzer keeps to cheap ones so that it explores parsing, not hashing.
                let cheap = serde_json::from_slice::<KeyFile>(bytes)
                    .map(|k| k.kdf_params.memory_kib <= 64 * 1024 && k.kdf_params.iterations <= 2)
                    .unwrap_or(true);
                if cheap {
                    write_named(&backend, FileKind::Key, bytes);
                }
            }
            _ => {
                let mut w = repo.writer();
                if let Ok(tree) = w.save_blob(BlobType::Tree, bytes) {
                    let _ = w.commit(SnapshotMeta::new(tree, "fuzz", chrono::Utc::now()));
                }
            }
        }
        drop(repo);
        read_everything(&self.root);
        for (kind, name) in files(&backend).difference(&before) {
            let _ = backend.delete(*kind, name);
        }
    }
}

fn write_named(backend: &LocalBackend, kind: FileKind, bytes: &[u8]) {
    let _ = backend.write(kind, &sha256_hex(bytes), bytes);
}

fn files(backend: &LocalBackend) -> HashSet<(FileKind, String)> {
    let mut out = HashSet::new();
    for kind in [
        FileKind::Key,
        FileKind::Pack,
        FileKind::Index,
        FileKind::Snapshot,
        FileKind::Lock,
    ] {
        for name in backend.list(kind).unwrap_or_default() {
            out.insert((kind, name));
        }
    }
    out
}

/// Opens the repository and reads it as `check --read-data` and a restore do.
fn read_everything(root: &std::path::Path) {
    let Ok(repo) = Repository::open_local(root, PASSWORD) else {
        return;
    };
    let _ = repo.check_structure();
    let _ = repo.check_data(ReadData::All);
    for snapshot in repo.list_snapshots().unwrap_or_default() {
        let mut trees = vec![snapshot.tree];
        let mut seen = BTreeSet::new();
        while let Some(id) = trees.pop() {
            if !seen.insert(id) {
                continue;
            }
            let Ok(tree) = repo.load_tree(&id) else {
                continue;
            };
            for node in tree.nodes {
                match node.kind {
                    NodeKind::Dir => trees.extend(node.subtree),
                    NodeKind::Item => {
                        let _ = repo.read_content(&node.content);
                        if let Some(m) = node.meta {
                            let _ = repo.read_data(&m);
                        }
                    }
                }
            }
        }
    }
}
