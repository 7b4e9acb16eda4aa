//! `prune`: removes data no snapshot uses any more, without ever touching data one does.
//!
//! Run under an exclusive lock. The order makes every crash point safe: (1) copy the still-used
//! blobs out of mostly-unused packs into new packs, (2) write a new index naming every pack that
//! stays, (3) delete the old index files, (4) delete the packs nothing indexes any more. A crash
//! after (2) leaves two indexes that agree; after (3), packs no index names, which the next
//! prune removes. No snapshot loses a blob at any point.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use crate::backend::FileKind;
use crate::error::{Error, Result};
use crate::ids::{BlobId, BlobType};
use crate::index::{INDEX_AAD, IndexFile, PackEntry};
use crate::pack::{PackBuilder, TARGET_PACK_SIZE};
use crate::repository::Repository;

/// Index files written by prune hold at most this many packs each.
const PACKS_PER_INDEX_FILE: usize = 2048;

#[derive(Debug, Clone, Copy)]
pub struct PruneOptions {
    /// A pack whose unused share of bytes is above this (0.0–1.0) is rewritten.
    pub max_unused: f64,
    /// Work out and report what would happen; change nothing.
    pub dry_run: bool,
}

impl Default for PruneOptions {
    fn default() -> Self {
        PruneOptions {
            max_unused: 0.10,
            dry_run: false,
        }
    }
}

/// What a prune did (or, dry, would do). Serialised with camelCase keys, like every report the
/// CLI prints with `--json`.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PruneReport {
    pub dry_run: bool,
    pub packs_before: usize,
    /// Packs with nothing in use.
    pub packs_unused: usize,
    /// Packs partly in use whose used blobs were copied into new packs.
    pub packs_repacked: usize,
    /// Packs that no index names (left by an interrupted backup or prune).
    pub packs_orphaned: usize,
    pub packs_written: usize,
    pub blobs_used: usize,
    pub blobs_removed: usize,
    pub bytes_removed: u64,
    pub index_files_replaced: usize,
}

impl Repository {
    /// Every pack entry of every index file (a pack listed twice counts once), and the index
    /// file names they came from.
    fn read_all_index_files(&self) -> Result<(Vec<String>, Vec<PackEntry>)> {
        let names = self.inner.backend.list(FileKind::Index)?;
        let mut seen = HashSet::new();
        let mut packs = Vec::new();
        for name in &names {
            let file: IndexFile = self.read_sealed(FileKind::Index, name, INDEX_AAD)?;
            for p in file.packs {
                if seen.insert(p.id.clone()) {
                    packs.push(p);
                }
            }
        }
        Ok((names, packs))
    }

    /// Every blob some snapshot needs. Fails if a snapshot or tree cannot be read or a blob is
    /// missing: pruning without knowing everything in use could delete it.
    fn blobs_in_use(&self) -> Result<HashSet<BlobId>> {
        let mut used = HashSet::new();
        for id in self.snapshot_ids()? {
            let snap = self.load_snapshot(&id).map_err(|e| {
                Error::InvalidArgument(format!(
                    "prune stopped before changing anything: {e}. Run `qcbackup check`, then \
                     remove or repair the damaged snapshot"
                ))
            })?;
            let mut stack = vec![snap.tree];
            while let Some(tree_id) = stack.pop() {
                if !used.insert(tree_id) {
                    continue;
                }
                let tree = self.load_tree(&tree_id)?;
                for node in tree.nodes {
                    stack.extend(node.subtree);
                    for blob in node.content.into_iter().chain(node.meta) {
                        if !self.has_blob(&blob) {
                            return Err(Error::MissingBlob(blob.to_hex()));
                        }
                        used.insert(blob);
                    }
                }
            }
        }
        Ok(used)
    }

    /// Removes unused data. See the module documentation for the order of operations.
    pub fn prune(&self, options: PruneOptions) -> Result<PruneReport> {
        if !(0.0..=1.0).contains(&options.max_unused) {
            return Err(Error::InvalidArgument(
                "max-unused must be between 0% and 100%".into(),
            ));
        }
        self.reload_index()?;
        if let Some(first) = self.damaged_index_files().into_iter().next() {
            // Its packs would look unindexed and be deleted.
            return Err(Error::InvalidArgument(format!(
                "prune stopped before changing anything: {first}. Restore the file from a \
                 copy, or run `qcbackup check` to see which snapshots it affects"
            )));
        }
        let used = self.blobs_in_use()?;
        let (old_index_files, packs) = self.read_all_index_files()?;
        let stored: HashSet<String> = self
            .inner
            .backend
            .list(FileKind::Pack)?
            .into_iter()
            .collect();
        let mut report = PruneReport {
            dry_run: options.dry_run,
            packs_before: stored.len(),
            blobs_used: used.len(),
            ..Default::default()
        };

        // Decide per pack. Packs kept as they are claim their used blobs first, so a blob
        // stored twice is kept once.
        let mut keep = Vec::new();
        let mut rewrite = Vec::new();
        let mut drop = Vec::new();
        let mut claimed: HashSet<BlobId> = HashSet::new();
        for p in packs {
            if !stored.contains(&p.id) {
                // Indexed but gone: nothing to delete; dropping it from the index is right only
                // if nothing uses it, which blobs_in_use checked against this same index.
                let needed = p.blobs.iter().any(|b| used.contains(&b.id));
                if needed {
                    return Err(Error::corrupt(
                        format!("data/{}/{}", &p.id[..2], p.id),
                        "missing, but snapshots use blobs in it; prune changed nothing",
                    ));
                }
                continue;
            }
            let total: u64 = p.blobs.iter().map(|b| u64::from(b.length)).sum();
            let in_use: u64 = p
                .blobs
                .iter()
                .filter(|b| used.contains(&b.id))
                .map(|b| u64::from(b.length))
                .sum();
            if in_use == 0 {
                drop.push(p);
            } else if (total - in_use) as f64 > options.max_unused * total as f64 {
                rewrite.push(p);
            } else {
                claimed.extend(
                    p.blobs
                        .iter()
                        .filter(|b| used.contains(&b.id))
                        .map(|b| b.id),
                );
                keep.push(p);
            }
        }
        let indexed: HashSet<&str> = keep
            .iter()
            .chain(&rewrite)
            .chain(&drop)
            .map(|p| p.id.as_str())
            .collect();
        let orphans: Vec<String> = stored
            .iter()
            .filter(|name| !indexed.contains(name.as_str()))
            .cloned()
            .collect();
        report.packs_unused = drop.len();
        report.packs_repacked = rewrite.len();
        report.packs_orphaned = orphans.len();
        for p in drop.iter().chain(&rewrite) {
            report.blobs_removed += p.blobs.iter().filter(|b| !used.contains(&b.id)).count();
        }
        let mut doomed: Vec<String> = drop.iter().chain(&rewrite).map(|p| p.id.clone()).collect();
        doomed.extend(orphans);
        for name in &doomed {
            report.bytes_removed += self.inner.backend.size(FileKind::Pack, name).unwrap_or(0);
        }
        let nothing_to_do = doomed.is_empty() && old_index_files.len() <= 1;
        if options.dry_run || nothing_to_do {
            return Ok(report);
        }

        // (1) Copy used blobs out of packs being rewritten.
        let mut new_packs = Vec::new();
        let mut builder = PackBuilder::new();
        let locations: HashMap<BlobId, BlobType> = rewrite
            .iter()
            .flat_map(|p| p.blobs.iter().map(|b| (b.id, b.blob_type)))
            .collect();
        for p in &rewrite {
            for b in &p.blobs {
                if !used.contains(&b.id) || !claimed.insert(b.id) {
                    continue;
                }
                let plain = self.read_blob(&b.id, locations[&b.id])?;
                builder.add(b.id, b.blob_type, &plain);
                if builder.len() >= TARGET_PACK_SIZE {
                    new_packs.push(self.store_pack(std::mem::take(&mut builder))?.0);
                }
            }
        }
        if !builder.is_empty() {
            new_packs.push(self.store_pack(builder)?.0);
        }
        report.packs_written = new_packs.len();

        // (2) One new index for everything that stays.
        let mut all: Vec<PackEntry> = keep;
        all.extend(new_packs);
        let mut new_index_files = HashSet::new();
        for chunk in all.chunks(PACKS_PER_INDEX_FILE) {
            let file = IndexFile {
                version: 1,
                packs: chunk.to_vec(),
            };
            new_index_files.insert(self.write_sealed(FileKind::Index, INDEX_AAD, &file)?);
        }
        // (3) Old index files, then (4) the packs only they named.
        for name in &old_index_files {
            if !new_index_files.contains(name) {
                self.inner.backend.delete(FileKind::Index, name)?;
                report.index_files_replaced += 1;
            }
        }
        for name in &doomed {
            self.inner.backend.delete(FileKind::Pack, name)?;
        }
        self.reload_index()?;
        tracing::info!(
            packs_removed = doomed.len(),
            packs_written = report.packs_written,
            "prune finished"
        );
        Ok(report)
    }
}
