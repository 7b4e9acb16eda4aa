//! `check`: is every snapshot whole, and is every stored byte what it should be?

use std::collections::{BTreeMap, HashSet};

use crate::backend::FileKind;
use crate::error::Result;
use crate::ids::BlobId;
use crate::index::BlobEntry;
use crate::pack;
use crate::repository::{Repository, sha256_hex};

/// Which packs `check_data` reads.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ReadData {
    /// Every pack.
    All,
    /// A random share of the packs, `0.0 < share <= 1.0` (at least one pack when there are any).
    /// Repeated checks with different random choices cover the whole repository over time.
    Share(f64),
}

impl ReadData {
    /// Parses `"100%"`, `"2.5%"` or `"all"`.
    pub fn parse(text: &str) -> std::result::Result<ReadData, String> {
        let t = text.trim();
        if t.eq_ignore_ascii_case("all") {
            return Ok(ReadData::All);
        }
        let number = t
            .strip_suffix('%')
            .ok_or_else(|| format!("{text:?}: give a percentage such as 10% (or \"all\")"))?;
        let pct: f64 = number
            .trim()
            .parse()
            .map_err(|_| format!("{text:?} is not a percentage"))?;
        if !(pct > 0.0 && pct <= 100.0) {
            return Err(format!(
                "{text:?}: the percentage must be above 0 and at most 100"
            ));
        }
        Ok(if pct >= 100.0 {
            ReadData::All
        } else {
            ReadData::Share(pct / 100.0)
        })
    }
}

/// What `check_data` looked at, and what it found.
#[derive(Debug, Clone, Default)]
pub struct DataCheck {
    pub packs_total: usize,
    pub packs_read: usize,
    pub blobs_verified: usize,
    pub problems: Vec<String>,
}

impl Repository {
    /// Checks the structure: every key file is intact, every snapshot file opens, and every tree and blob it references
    /// (directly or through sub-trees) is in the index, in a pack that exists, and, for trees,
    /// readable. Returns one line per problem, naming the snapshot and the missing or damaged
    /// piece.
    pub fn check_structure(&self) -> Result<Vec<String>> {
        self.reload_index()?;
        let packs: HashSet<String> = self
            .inner
            .backend
            .list(FileKind::Pack)?
            .into_iter()
            .collect();
        let mut problems = self.damaged_index_files();
        problems.extend(self.damaged_key_files()?);
        // Index entries whose pack is gone, reported once per pack.
        let mut missing_packs = BTreeMap::<String, usize>::new();
        let mut seen_trees = HashSet::new();
        let mut seen_blobs = HashSet::<BlobId>::new();
        for id in self.snapshot_ids()? {
            let snap = match self.load_snapshot(&id) {
                Ok(s) => s,
                Err(e) => {
                    problems.push(e.to_string());
                    continue;
                }
            };
            let mut stack = vec![snap.tree];
            while let Some(tree_id) = stack.pop() {
                if !seen_trees.insert(tree_id) {
                    continue;
                }
                if let Some(pack) = self.pack_of(&tree_id).filter(|p| !packs.contains(p)) {
                    *missing_packs.entry(pack).or_default() += 1;
                }
                let tree = match self.load_tree(&tree_id) {
                    Ok(t) => t,
                    Err(e) => {
                        problems.push(format!("snapshot {}: tree {tree_id}: {e}", id.short()));
                        continue;
                    }
                };
                for node in &tree.nodes {
                    stack.extend(node.subtree);
                    for blob in node.data_blobs() {
                        if !seen_blobs.insert(*blob) {
                            continue;
                        }
                        match self.pack_of(blob) {
                            None => problems.push(format!(
                                "snapshot {}: {:?} refers to blob {blob}, which no index lists",
                                id.short(),
                                node.name
                            )),
                            Some(p) if !packs.contains(&p) => {
                                *missing_packs.entry(p).or_default() += 1;
                            }
                            Some(_) => {}
                        }
                    }
                }
            }
        }
        for (pack, blobs) in missing_packs {
            problems.push(format!(
                "data/{}/{pack}: missing, but the index places {blobs} blob(s) that snapshots use in it",
                &pack[..2]
            ));
        }
        Ok(problems)
    }

    fn pack_of(&self, id: &BlobId) -> Option<String> {
        self.inner
            .index
            .read()
            .expect("index lock")
            .pack_of(id)
            .map(str::to_string)
    }

    /// Reads indexed packs whole (all of them, or a random share): each pack's name must match
    /// its hash, its header must match the index, and every blob must decrypt and hash to its
    /// id. Every problem names the damaged file; no problems means the data read is intact.
    pub fn check_data(&self, which: ReadData) -> Result<DataCheck> {
        // Pack name → (nonce counter, index entry) of every blob the index puts in it.
        let packs: BTreeMap<String, Vec<(u64, BlobEntry)>> = {
            let index = self.inner.index.read().expect("index lock");
            let mut m: BTreeMap<String, Vec<_>> = Default::default();
            for loc in index.iter() {
                m.entry(loc.pack).or_default().push((loc.seq, loc.entry));
            }
            m
        };
        let mut report = DataCheck {
            packs_total: packs.len(),
            ..Default::default()
        };
        let chosen: Vec<(String, Vec<(u64, BlobEntry)>)> = match which {
            ReadData::All => packs.into_iter().collect(),
            ReadData::Share(share) => {
                use rand::seq::SliceRandom;
                let mut all: Vec<_> = packs.into_iter().collect();
                let n = ((all.len() as f64 * share).ceil() as usize).min(all.len());
                all.shuffle(&mut rand::thread_rng());
                all.truncate(n.max(1).min(all.len()));
                all
            }
        };
        for (name, blobs) in chosen {
            report.packs_read += 1;
            let label = format!("data/{}/{name}", &name[..2]);
            let bytes = match self.inner.backend.read(FileKind::Pack, &name) {
                Ok(b) => b,
                Err(e) => {
                    report.problems.push(format!("{label}: {e}"));
                    continue;
                }
            };
            if sha256_hex(&bytes) != name {
                report.problems.push(format!(
                    "{label}: content does not match its name (damaged or truncated)"
                ));
            }
            let (salt, entries) = match pack::read_header(&self.inner.key, &bytes) {
                Ok(h) => h,
                Err(e) => {
                    report.problems.push(format!("{label}: {e}"));
                    continue;
                }
            };
            for (seq, indexed) in blobs {
                // The header entry at the blob's position must be the index entry, field for field.
                let Some(e) = entries.get(seq as usize).filter(|e| **e == indexed) else {
                    report.problems.push(format!(
                        "{label}: blob {} is indexed but the pack header disagrees",
                        indexed.id
                    ));
                    continue;
                };
                let ct = &bytes[e.offset as usize..e.offset as usize + e.length as usize];
                match pack::decode_blob(&self.inner.key, &salt, seq, e, ct) {
                    Ok(_) => report.blobs_verified += 1,
                    Err(err) => report.problems.push(format!("{label}: {err}")),
                }
            }
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::ReadData;

    #[test]
    fn read_data_percentages_parse_and_bad_ones_are_refused() {
        assert_eq!(ReadData::parse("100%"), Ok(ReadData::All));
        assert_eq!(ReadData::parse("all"), Ok(ReadData::All));
        assert_eq!(ReadData::parse("25%"), Ok(ReadData::Share(0.25)));
        assert_eq!(ReadData::parse(" 2.5 % "), Ok(ReadData::Share(0.025)));
        for bad in ["0%", "-1%", "101%", "ten%", "10", ""] {
            assert!(ReadData::parse(bad).is_err(), "{bad:?} accepted");
        }
    }
}
