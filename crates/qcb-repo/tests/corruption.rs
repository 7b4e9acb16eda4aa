//! Corruption suite (issue 8): a repository of four snapshots gets one random damage per case
//! (a flipped byte, a truncation, a deletion, or two files of a kind swapped) in a pack, an
//! index, a snapshot or a key file, 120 cases from a fixed seed. After each: nothing panics;
//! the repository opens (with the other key's password when the damage hit the first key);
//! `check` (structure, then every pack read) names the damaged file when it still exists,
//! reports a problem when a pack or index file is gone (a deleted snapshot or key file is what
//! `forget` or `key remove` leave, and is not a problem); and every item that can be read has exactly its original
//! bytes, while the items of snapshots the damage does not touch all read back.

use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};

use qcb_repo::{KdfParams, Node, ReadData, Repository, SnapshotMeta, Tree};
use serde_json::json;

const CASES: u64 = 120;

/// A tiny seeded generator (xorshift64*): the same cases on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// The content of item `i` of snapshot `s`: some kilobytes, partly random (so that it does not
/// compress to nothing), different for every item.
fn content(s: usize, i: usize) -> Vec<u8> {
    let mut r = Rng(0x9e37_79b9_7f4a_7c15 ^ ((s as u64) << 32 | i as u64));
    let mut out = format!("Subject: item {s}-{i}\r\n\r\n").into_bytes();
    for _ in 0..(200 + r.below(2000)) {
        out.extend_from_slice(&r.next().to_le_bytes()[..3]);
    }
    out
}

const SNAPSHOTS: usize = 4;
const ITEMS: usize = 12;

/// Builds the template repository: two keys ("pw", "pw2"), four snapshots, each its own
/// folder of new items (so each snapshot's data lives in packs of its own commit).
fn template(dir: &Path) {
    let repo = Repository::init_local(dir, b"pw", KdfParams::insecure_for_tests()).unwrap();
    repo.add_key(b"pw2", KdfParams::insecure_for_tests())
        .unwrap();
    for s in 0..SNAPSHOTS {
        let mut w = repo.writer();
        let nodes = (0..ITEMS)
            .map(|i| {
                let body = content(s, i);
                let c = w.save_content(&body).unwrap();
                Node::item(format!("m{i}"), c, body.len() as u64, None, json!({}))
            })
            .collect();
        let folder = w.save_tree(&Tree { nodes }).unwrap();
        let root = w
            .save_tree(&Tree {
                nodes: vec![Node::dir(format!("folder{s}"), folder, json!({}))],
            })
            .unwrap();
        let at = chrono::DateTime::from_timestamp(1_790_000_000 + s as i64 * 60, 0).unwrap();
        w.commit(SnapshotMeta::new(root, "host", at)).unwrap();
    }
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}

fn copy_dir(from: &Path, to: &Path) {
    for f in files(from) {
        let dest = to.join(f.strip_prefix(from).unwrap());
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::copy(&f, &dest).unwrap();
    }
}

#[derive(Debug, Clone, Copy)]
enum Damage {
    Flip,
    Truncate,
    Delete,
    Swap,
}

/// Applies `damage` to a random file of `kind` (a top-level folder: data, index, snapshots,
/// keys); returns the file names it changed (the damaged files).
fn damage(root: &Path, kind: &str, damage: Damage, rng: &mut Rng) -> Vec<String> {
    let all = files(&root.join(kind));
    let victim = all[rng.below(all.len())].clone();
    let name = |p: &Path| p.file_name().unwrap().to_string_lossy().into_owned();
    match damage {
        Damage::Flip => {
            let mut b = std::fs::read(&victim).unwrap();
            let at = rng.below(b.len());
            b[at] ^= 1 << rng.below(8);
            std::fs::write(&victim, b).unwrap();
        }
        Damage::Truncate => {
            let b = std::fs::read(&victim).unwrap();
            std::fs::write(&victim, &b[..rng.below(b.len())]).unwrap();
        }
        Damage::Delete => std::fs::remove_file(&victim).unwrap(),
        Damage::Swap => {
            let others: Vec<&PathBuf> = all.iter().filter(|p| **p != victim).collect();
            let other = others[rng.below(others.len())].clone();
            let (a, b) = (
                std::fs::read(&victim).unwrap(),
                std::fs::read(&other).unwrap(),
            );
            std::fs::write(&victim, b).unwrap();
            std::fs::write(&other, a).unwrap();
            return vec![name(&victim), name(&other)];
        }
    }
    vec![name(&victim)]
}

/// Every item the repository can still read, by (folder, item), with a verdict on its bytes.
fn readable(repo: &Repository) -> BTreeMap<(String, String), bool> {
    let mut out = BTreeMap::new();
    let Ok(snaps) = repo.list_snapshots() else {
        return out;
    };
    for snap in snaps {
        let Ok(root) = repo.load_tree(&snap.tree) else {
            continue;
        };
        for dir in root.nodes {
            let s: usize = dir.name.trim_start_matches("folder").parse().unwrap();
            let Some(Ok(folder)) = dir.subtree.map(|t| repo.load_tree(&t)) else {
                continue;
            };
            for item in folder.nodes {
                let i: usize = item.name.trim_start_matches('m').parse().unwrap();
                if let Ok(bytes) = repo.read_content(&item.content) {
                    out.insert(
                        (dir.name.clone(), item.name.clone()),
                        bytes == content(s, i),
                    );
                }
            }
        }
    }
    out
}

#[test]
fn random_damage_to_packs_indexes_snapshots_and_keys_is_named_and_never_read_as_data() {
    let tpl = tempfile::tempdir().unwrap();
    template(tpl.path());
    let mut rng = Rng(0x5eed_c0de);
    let kinds = ["data", "index", "snapshots", "keys"];
    let damages = [Damage::Flip, Damage::Truncate, Damage::Delete, Damage::Swap];
    let mut tally = BTreeMap::<String, usize>::new();
    for case in 0..CASES {
        let kind = kinds[(case % 4) as usize];
        let how = damages[((case / 4) % 4) as usize];
        let dir = tempfile::tempdir().unwrap();
        copy_dir(tpl.path(), dir.path());
        let hit = damage(dir.path(), kind, how, &mut rng);
        let what = format!("case {case}: {how:?} {kind} {hit:?}");
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
            // The damaged key may be the one "pw" opens; the other key still opens the repository.
            let repo = match Repository::open_local(dir.path(), b"pw") {
                Ok(r) => r,
                Err(e) => {
                    assert_eq!(kind, "keys", "{what}: only a key's damage may refuse: {e}");
                    Repository::open_local(dir.path(), b"pw2")
                        .unwrap_or_else(|e| panic!("{what}: the other key: {e}"))
                }
            };
            let mut problems = repo
                .check_structure()
                .unwrap_or_else(|e| vec![e.to_string()]);
            match repo.check_data(ReadData::All) {
                Ok(d) => problems.extend(d.problems),
                Err(e) => problems.push(e.to_string()),
            }
            let named = hit
                .iter()
                .all(|h| problems.iter().any(|p| p.contains(h.as_str())));
            let items = readable(&repo);
            assert!(
                items.values().all(|ok| *ok),
                "{what}: an item read back with other bytes"
            );
            (problems, named, items.len())
        }));
        let (problems, named, read) = outcome.unwrap_or_else(|_| panic!("{what}: panicked"));
        match (how, kind) {
            // A deleted snapshot or key file leaves a repository as `forget` or `key remove`
            // would: consistent, nothing to report (its data is unused, not missing).
            (Damage::Delete, "snapshots" | "keys") => {
                assert!(problems.is_empty(), "{what}: {problems:#?}")
            }
            // A deleted pack or index cannot be named by its content; what it held is missed.
            (Damage::Delete, _) => assert!(!problems.is_empty(), "{what}: nothing reported"),
            _ => assert!(named, "{what}: check does not name it: {problems:#?}"),
        }
        // Damage to one file never takes more than the snapshots it serves: items of other
        // snapshots (each snapshot's data is in its own packs and index file) still read.
        let expected_at_least = match kind {
            "keys" => SNAPSHOTS * ITEMS,
            _ => (SNAPSHOTS - if matches!(how, Damage::Swap) { 2 } else { 1 }) * ITEMS,
        };
        assert!(
            read >= expected_at_least,
            "{what}: only {read} items readable, expected at least {expected_at_least}: {problems:#?}"
        );
        *tally.entry(format!("{kind} {how:?}")).or_default() += 1;
    }
    assert_eq!(tally.values().sum::<usize>(), CASES as usize);
}
