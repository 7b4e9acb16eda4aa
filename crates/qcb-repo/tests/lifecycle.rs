//! Repository life cycle: keys, chunking, versions, locks, forget, prune and concurrent writers,
//! on real files in temporary folders.

use std::time::Duration;

use qcb_repo::{
    Error, KdfParams, LockKind, LockOptions, Node, PruneOptions, ReadData, Repository,
    RetentionPolicy, SnapshotMeta, Tree,
};
use serde_json::json;

fn fast() -> KdfParams {
    KdfParams::insecure_for_tests()
}

fn t(day: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(1_790_000_000 + day * 86_400, 0).unwrap()
}

/// Pseudo-random bytes that do not compress, from a seed.
fn noise(seed: u64, len: usize) -> Vec<u8> {
    use rand::{RngCore, SeedableRng};
    let mut out = vec![0u8; len];
    rand::rngs::StdRng::seed_from_u64(seed).fill_bytes(&mut out);
    out
}

/// A folder's name and its items (name, content).
type Folder<'a> = (&'a str, Vec<(&'a str, Vec<u8>)>);

/// A snapshot of one mailbox: `folders` maps folder names to (item name, content).
fn commit(repo: &Repository, folders: &[Folder], day: i64) -> qcb_repo::Snapshot {
    let mut w = repo.writer();
    let mut dirs = Vec::new();
    for (folder, items) in folders {
        let mut nodes = Vec::new();
        for (name, body) in items {
            let content = w.save_content(body).unwrap();
            nodes.push(Node::item(
                *name,
                content,
                body.len() as u64,
                None,
                json!({}),
            ));
        }
        let tree = w.save_tree(&Tree { nodes }).unwrap();
        dirs.push(Node::dir(*folder, tree, json!({})));
    }
    let mbx = w.save_tree(&Tree { nodes: dirs }).unwrap();
    let root = w
        .save_tree(&Tree {
            nodes: vec![Node::dir("alice@contoso.example", mbx, json!({}))],
        })
        .unwrap();
    let mut meta = SnapshotMeta::new(root, "test-host", t(day));
    meta.tags = vec!["set-1".into()];
    w.commit(meta).unwrap()
}

fn read_item(repo: &Repository, snap: &qcb_repo::Snapshot, folder: &str, name: &str) -> Vec<u8> {
    let root = repo.load_tree(&snap.tree).unwrap();
    let mbx = repo.load_tree(&root.nodes[0].subtree.unwrap()).unwrap();
    let f = repo
        .load_tree(&mbx.get(folder).unwrap().subtree.unwrap())
        .unwrap();
    repo.read_content(&f.get(name).unwrap().content).unwrap()
}

fn assert_clean(repo: &Repository) {
    assert_eq!(repo.check_structure().unwrap(), Vec::<String>::new());
    assert_eq!(
        repo.check_data(ReadData::All).unwrap().problems,
        Vec::<String>::new()
    );
}

#[test]
fn keys_can_be_added_listed_removed_and_passwords_changed() {
    let dir = tempfile::tempdir().unwrap();
    let repo = Repository::init_local(dir.path(), b"first", fast()).unwrap();
    let snap = commit(&repo, &[("Inbox", vec![("m1", b"hello".to_vec())])], 0);
    let first = repo.current_key_id();
    let second = repo.add_key(b"second", fast()).unwrap();
    let keys = repo.list_keys().unwrap();
    assert_eq!(keys.len(), 2);
    assert!(keys.iter().any(|k| k.id == first && k.current));
    assert!(keys.iter().any(|k| k.id == second && !k.current));

    // The key in use cannot be removed; another can, by prefix.
    assert!(matches!(
        repo.remove_key(&first),
        Err(Error::InvalidArgument(_))
    ));
    let by_second = Repository::open_local(dir.path(), b"second").unwrap();
    assert_eq!(by_second.current_key_id(), second);
    by_second.remove_key(&first[..8]).unwrap();
    assert!(matches!(
        Repository::open_local(dir.path(), b"first"),
        Err(Error::WrongPassword { .. })
    ));
    // The last key cannot be removed, even by someone else.
    assert!(by_second.remove_key(&second).is_err());

    // Changing the password: the old one stops working, data stays readable.
    let third = by_second.change_password(b"third", fast()).unwrap();
    assert_eq!(by_second.list_keys().unwrap().len(), 1);
    assert!(Repository::open_local(dir.path(), b"second").is_err());
    let reopened = Repository::open_local(dir.path(), b"third").unwrap();
    assert_eq!(reopened.current_key_id(), third);
    assert_eq!(read_item(&reopened, &snap, "Inbox", "m1"), b"hello");
    assert!(repo.add_key(b"", fast()).is_err());
    assert!(repo.remove_key("ab").is_err());
}

#[test]
fn a_large_attachment_mailed_to_many_is_stored_about_once() {
    let dir = tempfile::tempdir().unwrap();
    let repo = Repository::init_local(dir.path(), b"pw", fast()).unwrap();
    let attachment = noise(1, 6 * 1024 * 1024);
    let message = |i: u32| {
        let mut m =
            format!("From: a@x.example\r\nTo: user{i}@x.example\r\nSubject: report {i}\r\n\r\n")
                .into_bytes();
        m.extend_from_slice(&attachment);
        m.extend_from_slice(format!("\r\n-- sent to user {i}\r\n").as_bytes());
        m
    };
    let mut w = repo.writer();
    let mut stored_after = Vec::new();
    for i in 0..10 {
        let m = message(i);
        let ids = w.save_content(&m).unwrap();
        assert!(
            ids.len() > 4,
            "a 6 MB item is split, got {} blob(s)",
            ids.len()
        );
        stored_after.push(w.stats().bytes_stored);
    }
    let first = stored_after[0];
    let rest = stored_after[9] - first;
    // Each further copy costs at most the two chunks at the attachment's edges.
    assert!(
        rest / 9 < 2 * u64::from(qcb_repo::CHUNK_AVG),
        "first {first}, nine more {rest}"
    );
    // Small items stay whole.
    assert_eq!(w.save_content(b"short message").unwrap().len(), 1);
    drop(w);

    let m = message(3);
    let snap = commit(&repo, &[("Inbox", vec![("m3", m.clone())])], 0);
    let reopened = Repository::open_local(dir.path(), b"pw").unwrap();
    assert_eq!(read_item(&reopened, &snap, "Inbox", "m3"), m);
    assert_clean(&reopened);
}

#[test]
fn an_items_versions_are_listed_across_snapshots_and_moves() {
    let dir = tempfile::tempdir().unwrap();
    let repo = Repository::init_local(dir.path(), b"pw", fast()).unwrap();
    commit(&repo, &[("Inbox", vec![("m1", b"v1".to_vec())])], 0);
    commit(&repo, &[("Inbox", vec![("m1", b"v1".to_vec())])], 1);
    commit(&repo, &[("Inbox", vec![("m1", b"v2".to_vec())])], 2);
    commit(
        &repo,
        &[("Inbox", vec![]), ("Archive", vec![("m1", b"v2".to_vec())])],
        3,
    );
    commit(&repo, &[("Inbox", vec![])], 4);
    let versions = repo.item_versions("m1").unwrap();
    assert_eq!(versions.len(), 4);
    assert_eq!(
        versions.iter().map(|v| v.changed).collect::<Vec<_>>(),
        vec![true, false, true, false]
    );
    assert_eq!(versions[3].path, "/alice@contoso.example/Archive/m1");
    assert_eq!(versions[0].path, "/alice@contoso.example/Inbox/m1");
    assert_eq!(repo.read_content(&versions[2].node.content).unwrap(), b"v2");
    assert!(repo.item_versions("nope").unwrap().is_empty());
}

#[test]
fn locks_exclude_prune_from_writers_and_stale_ones_are_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let repo = Repository::init_local(dir.path(), b"pw", fast()).unwrap();
    let other = Repository::open_local(dir.path(), b"pw").unwrap();

    let a = repo.lock(LockKind::Shared).unwrap();
    let b = other.lock(LockKind::Shared).unwrap();
    let err = other.lock(LockKind::Exclusive).unwrap_err();
    assert!(matches!(err, Error::Locked { .. }), "{err}");
    assert!(err.to_string().contains("shared lock of process"), "{err}");
    assert_eq!(repo.list_locks().unwrap().len(), 2);
    drop(a);
    b.release().unwrap();
    assert!(repo.list_locks().unwrap().is_empty());

    let x = repo.lock(LockKind::Exclusive).unwrap();
    assert!(matches!(
        other.lock(LockKind::Shared),
        Err(Error::Locked { .. })
    ));
    assert!(matches!(
        other.lock(LockKind::Exclusive),
        Err(Error::Locked { .. })
    ));
    // A waiting taker gets the lock once the holder lets go.
    let waiter = std::thread::spawn(move || {
        other
            .lock_with(
                LockKind::Shared,
                LockOptions {
                    wait: Duration::from_secs(10),
                    ..Default::default()
                },
            )
            .map(|_| ())
    });
    std::thread::sleep(Duration::from_millis(500));
    drop(x);
    waiter.join().unwrap().unwrap();

    // A lock that is not refreshed goes stale and stops blocking; unlock removes it.
    let slow = LockOptions {
        refresh_every: Duration::from_secs(3600),
        ..Default::default()
    };
    let held = repo.lock_with(LockKind::Shared, slow).unwrap();
    std::thread::sleep(Duration::from_millis(1200));
    let impatient = LockOptions {
        stale_after: Duration::from_secs(1),
        ..Default::default()
    };
    let x = repo.lock_with(LockKind::Exclusive, impatient).unwrap();
    drop(x);
    drop(held);

    // A damaged or foreign file in locks/ blocks nobody.
    std::fs::write(dir.path().join("locks").join("ab".repeat(32)), b"garbage").unwrap();
    repo.lock(LockKind::Exclusive).unwrap().release().unwrap();
    assert_eq!(repo.unlock(false).unwrap(), 1);
}

#[test]
fn a_lock_is_refreshed_while_held() {
    let dir = tempfile::tempdir().unwrap();
    let repo = Repository::init_local(dir.path(), b"pw", fast()).unwrap();
    let fast_refresh = LockOptions {
        refresh_every: Duration::from_millis(100),
        stale_after: Duration::from_secs(1),
        wait: Duration::ZERO,
    };
    let lock = repo.lock_with(LockKind::Shared, fast_refresh).unwrap();
    let before = repo.list_locks().unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let after = repo.list_locks().unwrap();
    assert_eq!(
        after.len(),
        1,
        "the old lock file is removed after a refresh"
    );
    assert_ne!(before[0].id, after[0].id);
    assert!(after[0].refreshed > before[0].refreshed);
    lock.check_valid().unwrap();
    // Still live for a taker that considers 1 s stale.
    assert!(matches!(
        repo.lock_with(LockKind::Exclusive, fast_refresh),
        Err(Error::Locked { .. })
    ));
}

#[test]
fn forget_applies_the_policy_and_prune_frees_only_unused_data() {
    let dir = tempfile::tempdir().unwrap();
    let repo = Repository::init_local(dir.path(), b"pw", fast()).unwrap();
    let mut snaps = Vec::new();
    for day in 0..5 {
        // Each day one new large item; "keep" survives throughout; "d{day}" lives one day.
        let items = vec![
            ("keep", noise(100, 300_000)),
            ("daily", noise(day as u64, 300_000)),
        ];
        snaps.push(commit(&repo, &[("Inbox", items)], day));
    }
    // An interrupted backup left a pack no index names.
    {
        let mut w = repo.writer();
        for i in 0..60 {
            w.save_data(&noise(1000 + i, 300_000)).unwrap();
        }
        // Dropped without commit: the full pack was written, no index or snapshot.
    }
    let policy = RetentionPolicy {
        keep_last: Some(2),
        ..Default::default()
    };
    let plan = repo.plan_forget(&policy, t(10)).unwrap();
    assert_eq!(plan.iter().filter(|d| d.keep).count(), 2);
    let size =
        |p: &std::path::Path| -> u64 { walk(p).iter().map(|f| f.metadata().unwrap().len()).sum() };
    let _x = repo.lock(LockKind::Exclusive).unwrap();
    let before = size(dir.path());
    // Dry runs change nothing.
    let dry = repo
        .prune(PruneOptions {
            dry_run: true,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(dry.packs_orphaned, 1);
    assert_eq!(size(dir.path()), before);

    assert_eq!(repo.forget(&plan).unwrap(), 3);
    let report = repo
        .prune(PruneOptions {
            max_unused: 0.0,
            dry_run: false,
        })
        .unwrap();
    assert!(
        report.packs_repacked + report.packs_unused > 0,
        "{report:?}"
    );
    assert_eq!(report.packs_orphaned, 1);
    assert_eq!(
        report.blobs_removed,
        3 + 3 * 3,
        "three daily items and their trees, {report:?}"
    );
    let after = size(dir.path());
    assert!(after < before / 3, "{before} -> {after}");

    let reopened = Repository::open_local(dir.path(), b"pw").unwrap();
    assert_clean(&reopened);
    let left = reopened.list_snapshots().unwrap();
    assert_eq!(left.len(), 2);
    assert_eq!(
        read_item(&reopened, &left[1], "Inbox", "daily"),
        noise(4, 300_000)
    );
    assert_eq!(
        read_item(&reopened, &left[0], "Inbox", "keep"),
        noise(100, 300_000)
    );
    // Pruning again finds nothing to do.
    let again = reopened.prune(PruneOptions::default()).unwrap();
    assert_eq!(
        (
            again.packs_unused,
            again.packs_repacked,
            again.packs_orphaned
        ),
        (0, 0, 0)
    );
}

#[test]
fn prune_refuses_to_run_when_a_snapshot_is_unreadable() {
    let dir = tempfile::tempdir().unwrap();
    let repo = Repository::init_local(dir.path(), b"pw", fast()).unwrap();
    let s = commit(&repo, &[("Inbox", vec![("m", b"x".to_vec())])], 0);
    commit(&repo, &[("Inbox", vec![])], 1);
    let path = dir.path().join("snapshots").join(&s.id.0);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[40] ^= 1;
    std::fs::write(&path, bytes).unwrap();
    let packs_before = walk(&dir.path().join("data")).len();
    let err = repo.prune(PruneOptions::default()).unwrap_err();
    assert!(err.to_string().contains(&s.id.0), "{err}");
    assert_eq!(walk(&dir.path().join("data")).len(), packs_before);
}

#[test]
fn reading_a_share_of_the_data_reads_about_that_share() {
    let dir = tempfile::tempdir().unwrap();
    let repo = Repository::init_local(dir.path(), b"pw", fast()).unwrap();
    for day in 0..10 {
        commit(
            &repo,
            &[("Inbox", vec![("m", noise(day, 1000))])],
            day as i64,
        );
    }
    let all = repo.check_data(ReadData::All).unwrap();
    assert_eq!(all.packs_read, 10);
    let some = repo.check_data(ReadData::Share(0.3)).unwrap();
    assert_eq!((some.packs_total, some.packs_read), (10, 3));
    assert!(some.problems.is_empty());
}

#[test]
fn two_writers_and_a_racing_prune_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    Repository::init_local(dir.path(), b"pw", fast()).unwrap();
    let path = dir.path().to_path_buf();
    let writer = |agent: u64| {
        let path = path.clone();
        std::thread::spawn(move || {
            let repo = Repository::open_local(&path, b"pw").unwrap();
            let mut made = Vec::new();
            for run in 0..6u64 {
                let lock = repo
                    .lock_with(
                        LockKind::Shared,
                        LockOptions {
                            wait: Duration::from_secs(30),
                            ..Default::default()
                        },
                    )
                    .unwrap();
                // Shared data (dedupes between agents) and agent-specific data.
                let items = vec![
                    ("shared", noise(7, 200_000)),
                    ("own", noise(agent * 100 + run, 200_000)),
                ];
                let s = commit(&repo, &[(&*format!("agent{agent}"), items)], run as i64);
                lock.check_valid().unwrap();
                drop(lock);
                made.push(s.id);
            }
            made
        })
    };
    let pruner = {
        let path = path.clone();
        std::thread::spawn(move || {
            let repo = Repository::open_local(&path, b"pw").unwrap();
            let mut pruned = 0;
            let mut refused = 0;
            for _ in 0..40 {
                match repo.lock(LockKind::Exclusive) {
                    Ok(lock) => {
                        let plan = repo
                            .plan_forget(
                                &RetentionPolicy {
                                    keep_last: Some(100),
                                    ..Default::default()
                                },
                                chrono::Utc::now(),
                            )
                            .unwrap();
                        repo.forget(&plan).unwrap();
                        repo.prune(PruneOptions {
                            max_unused: 0.0,
                            dry_run: false,
                        })
                        .unwrap();
                        drop(lock);
                        pruned += 1;
                    }
                    Err(Error::Locked { .. }) => refused += 1,
                    Err(e) => panic!("{e}"),
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            (pruned, refused)
        })
    };
    let a = writer(1);
    let b = writer(2);
    let made: Vec<_> = a
        .join()
        .unwrap()
        .into_iter()
        .chain(b.join().unwrap())
        .collect();
    let (pruned, refused) = pruner.join().unwrap();
    assert!(pruned + refused == 40);
    let repo = Repository::open_local(&path, b"pw").unwrap();
    assert_clean(&repo);
    let snaps = repo.list_snapshots().unwrap();
    assert_eq!(snaps.len(), made.len());
    for s in &snaps {
        let root = repo.load_tree(&s.tree).unwrap();
        let mbx = repo.load_tree(&root.nodes[0].subtree.unwrap()).unwrap();
        let f = repo.load_tree(&mbx.nodes[0].subtree.unwrap()).unwrap();
        for n in &f.nodes {
            assert_eq!(repo.read_content(&n.content).unwrap().len(), 200_000);
        }
    }
    assert!(repo.list_locks().unwrap().is_empty());
}

fn walk(p: &std::path::Path) -> Vec<std::fs::DirEntry> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(p).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            out.extend(walk(&e.path()));
        } else {
            out.push(e);
        }
    }
    out
}

#[test]
fn data_uploaded_by_a_writer_that_never_committed_is_reused_after_a_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let repo = Repository::init_local(dir.path(), b"pw", fast()).unwrap();
    // About 36 MB: two full packs. The first is named by an index once it is stored, which the
    // writer learns when it hands over the second.
    let items: Vec<Vec<u8>> = (0..120).map(|i| noise(500 + i, 300_000)).collect();
    {
        let mut w = repo.writer();
        w.checkpoint_every(1, Duration::from_secs(3600));
        for it in &items {
            w.save_content(it).unwrap();
        }
        assert!(w.stats().packs >= 1);
        // Killed here: no commit.
    }
    let again = Repository::open_local(dir.path(), b"pw").unwrap();
    let mut w = again.writer();
    for it in &items {
        w.save_content(it).unwrap();
    }
    let s = w.stats();
    assert!(s.blobs_known >= 50, "indexed blobs are reused: {s:?}");
    assert!(s.bytes_stored < 120 * 300_000 * 3 / 4, "{s:?}");
    drop(w);
    assert_clean(&again);
}

#[test]
fn a_damaged_index_file_is_named_does_not_lock_anyone_out_and_stops_prune() {
    let dir = tempfile::tempdir().unwrap();
    let repo = Repository::init_local(dir.path(), b"pw", fast()).unwrap();
    commit(&repo, &[("Inbox", vec![("m1", b"one".to_vec())])], 0);
    commit(&repo, &[("Inbox", vec![("m2", b"two".to_vec())])], 1);
    let index_dir = dir.path().join("index");
    let mut names: Vec<_> = std::fs::read_dir(&index_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    // Truncate one index file, and plant a foreign file with a valid-looking name.
    let victim = names[0].clone();
    let bytes = std::fs::read(index_dir.join(&victim)).unwrap();
    std::fs::write(index_dir.join(&victim), &bytes[..bytes.len() / 2]).unwrap();
    std::fs::write(index_dir.join("cd".repeat(32)), b"{\"not\": \"ours\"}").unwrap();

    let reopened = Repository::open_local(dir.path(), b"pw").unwrap();
    let problems = reopened.check_structure().unwrap();
    assert!(problems.iter().any(|p| p.contains(&victim)), "{problems:?}");
    assert!(
        problems.iter().any(|p| p.contains(&"cd".repeat(32))),
        "{problems:?}"
    );
    // The snapshot whose data only the damaged index listed is named too.
    let snaps: Vec<_> = reopened.list_snapshots().unwrap();
    assert!(
        problems.iter().any(|p| {
            snaps
                .iter()
                .any(|s| p.contains(&format!("snapshot {}", s.id.short())))
                && p.contains("index")
        }),
        "{problems:?}"
    );
    assert_eq!(snaps.len(), 2);
    let err = reopened
        .prune(PruneOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(&victim) || err.contains(&"cd".repeat(32)),
        "{err}"
    );
    assert!(index_dir.join(&victim).exists(), "prune changed nothing");
}

#[test]
fn local_spool_data_is_sealed_under_the_master_key() {
    let dir = tempfile::tempdir().unwrap();
    let repo = Repository::init_local(&dir.path().join("a"), b"pw", fast()).unwrap();
    let other = Repository::init_local(&dir.path().join("b"), b"pw", fast()).unwrap();
    let text = b"Subject: quarterly numbers\r\n\r\nconfidential body ".repeat(100);
    let sealed = repo.seal_local(&text);
    assert!(sealed.len() < text.len(), "compressed before sealing");
    assert!(!sealed.windows(12).any(|w| w == b"confidential"));
    assert_eq!(repo.unseal_local(&sealed).unwrap(), text);
    // Another repository's key, or a flipped bit, does not open it.
    assert!(other.unseal_local(&sealed).is_err());
    let mut bad = sealed.clone();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    assert!(repo.unseal_local(&bad).is_err());
    // Small and incompressible inputs round-trip too.
    for input in [&b""[..], b"x", &noise(3, 4096)] {
        assert_eq!(repo.unseal_local(&repo.seal_local(input)).unwrap(), input);
    }
}

#[test]
fn a_streamed_item_is_cut_exactly_where_the_whole_item_is() {
    for (len, piece) in [
        (0usize, 1000usize),
        (100, 7),
        (qcb_repo::CHUNK_THRESHOLD, 4096),
        (qcb_repo::CHUNK_THRESHOLD + 1, 65_536),
        (900_000, 333),
        (3_500_000, 16_384),
        (3_500_000, 1_500_000),
        (9_000_001, 8_191),
    ] {
        let content = noise(len as u64, len);
        let whole: Vec<&[u8]> = qcb_repo::chunk_boundaries(&content)
            .map(|(a, b)| &content[a..b])
            .collect();
        let mut chunker = qcb_repo::ContentChunker::new();
        let mut streamed: Vec<Vec<u8>> = Vec::new();
        let mut held = 0;
        for p in content.chunks(piece.max(1)) {
            streamed.extend(chunker.push(p));
            held =
                held.max(chunker.total() as usize - streamed.iter().map(Vec::len).sum::<usize>());
        }
        assert_eq!(chunker.total() as usize, len);
        streamed.extend(chunker.finish());
        let streamed: Vec<&[u8]> = streamed.iter().map(Vec::as_slice).collect();
        assert_eq!(streamed, whole, "{len} bytes in pieces of {piece}");
        assert!(
            held <= qcb_repo::CHUNK_MAX as usize + piece,
            "{len}/{piece}: held {held} bytes at once"
        );
    }
}

/// A local repository whose pack writes fail from the `fail_from`-th on (counting from 0).
struct FailingPacks {
    inner: qcb_repo::LocalBackend,
    packs: std::sync::atomic::AtomicUsize,
    fail_from: usize,
}

impl qcb_repo::Backend for FailingPacks {
    fn location(&self) -> String {
        self.inner.location()
    }
    fn create_layout(&self) -> qcb_repo::Result<()> {
        self.inner.create_layout()
    }
    fn write(&self, kind: qcb_repo::FileKind, name: &str, bytes: &[u8]) -> qcb_repo::Result<()> {
        if kind == qcb_repo::FileKind::Pack
            && self.packs.fetch_add(1, std::sync::atomic::Ordering::SeqCst) >= self.fail_from
        {
            return Err(Error::Io {
                op: "write",
                path: format!("data/{name}").into(),
                source: std::io::Error::other("the disk is on fire"),
            });
        }
        self.inner.write(kind, name, bytes)
    }
    fn read(&self, kind: qcb_repo::FileKind, name: &str) -> qcb_repo::Result<Vec<u8>> {
        self.inner.read(kind, name)
    }
    fn read_range(
        &self,
        kind: qcb_repo::FileKind,
        name: &str,
        offset: u64,
        len: usize,
    ) -> qcb_repo::Result<Vec<u8>> {
        self.inner.read_range(kind, name, offset, len)
    }
    fn size(&self, kind: qcb_repo::FileKind, name: &str) -> qcb_repo::Result<u64> {
        self.inner.size(kind, name)
    }
    fn list(&self, kind: qcb_repo::FileKind) -> qcb_repo::Result<Vec<String>> {
        self.inner.list(kind)
    }
    fn exists(&self, kind: qcb_repo::FileKind, name: &str) -> qcb_repo::Result<bool> {
        self.inner.exists(kind, name)
    }
    fn delete(&self, kind: qcb_repo::FileKind, name: &str) -> qcb_repo::Result<()> {
        self.inner.delete(kind, name)
    }
}

/// Packs are stored on a thread of their own while the next one fills: a pack that cannot be
/// stored still stops the backup with the storage's own error, and no snapshot is written.
#[test]
fn a_pack_the_storage_refuses_stops_the_commit_with_its_error() {
    let dir = tempfile::tempdir().unwrap();
    Repository::init_local(dir.path(), b"pw", fast()).unwrap();
    // About 60 MB of incompressible items: four packs; the second one fails.
    let items: Vec<Vec<u8>> = (0..200).map(|i| noise(900 + i, 300_000)).collect();
    for fail_from in [0, 1] {
        let backend = FailingPacks {
            inner: qcb_repo::LocalBackend::new(dir.path()),
            packs: Default::default(),
            fail_from,
        };
        let repo = Repository::open(Box::new(backend), b"pw").unwrap();
        let mut w = repo.writer();
        let mut first_error = None;
        let mut nodes = Vec::new();
        for (i, it) in items.iter().enumerate() {
            match w.save_content(it) {
                Ok(ids) => nodes.push(Node::item(format!("m{i}"), ids, 300_000, None, json!({}))),
                Err(e) => {
                    first_error = Some(e.to_string());
                    break;
                }
            }
        }
        let first_error = match first_error {
            Some(e) => {
                // Once a pack is lost, the writer refuses everything after it.
                let again = w.save_content(&noise(1, 1000)).unwrap_err().to_string();
                assert!(again.contains("storing a pack failed earlier"), "{again}");
                assert!(again.contains("the disk is on fire"), "{again}");
                e
            }
            None => {
                let root = w.save_tree(&Tree { nodes }).unwrap();
                w.commit(SnapshotMeta::new(root, "h", t(0)))
                    .unwrap_err()
                    .to_string()
            }
        };
        assert!(first_error.contains("the disk is on fire"), "{first_error}");
        assert!(
            first_error.contains("data/"),
            "names the pack: {first_error}"
        );
    }
    let repo = Repository::open_local(dir.path(), b"pw").unwrap();
    assert!(repo.list_snapshots().unwrap().is_empty());
    // The repository is unharmed: a backup on working storage commits and checks clean.
    let snap = commit(&repo, &[("Inbox", vec![("a", noise(7, 400_000))])], 1);
    assert_eq!(read_item(&repo, &snap, "Inbox", "a"), noise(7, 400_000));
    assert_clean(&repo);
}

/// Taking a lock brings the index of an already open repository up to date: index files
/// written since are merged, and after a prune replaced index files and removed packs the
/// index is read again, so no blob is looked up in a pack that is gone.
#[test]
fn a_lock_sees_index_files_added_or_replaced_since_open() {
    let dir = tempfile::tempdir().unwrap();
    let first = Repository::init_local(dir.path(), b"pw", fast()).unwrap();
    for day in 0..3 {
        let items = vec![("daily", noise(200 + day as u64, 300_000))];
        commit(&first, &[("Inbox", items)], day);
    }
    // Opened now; another process then adds a snapshot.
    let opened = Repository::open_local(dir.path(), b"pw").unwrap();
    let added = commit(&first, &[("Inbox", vec![("daily", noise(9, 300_000))])], 3);
    {
        let _l = opened.lock(LockKind::Shared).unwrap();
        assert_eq!(
            read_item(&opened, &added, "Inbox", "daily"),
            noise(9, 300_000)
        );
        assert_eq!(opened.index_stats(), first.index_stats());
    }
    // Another process forgets the first two snapshots and repacks everything.
    {
        let _x = first.lock(LockKind::Exclusive).unwrap();
        let plan = first
            .plan_forget(
                &RetentionPolicy {
                    keep_last: Some(2),
                    ..Default::default()
                },
                t(10),
            )
            .unwrap();
        assert_eq!(first.forget(&plan).unwrap(), 2);
        let report = first
            .prune(PruneOptions {
                max_unused: 0.0,
                dry_run: false,
            })
            .unwrap();
        assert!(report.index_files_replaced > 0, "{report:?}");
    }
    let _l = opened.lock(LockKind::Shared).unwrap();
    assert_eq!(opened.index_stats(), first.index_stats());
    let kept = opened.list_snapshots().unwrap();
    assert_eq!(kept.len(), 2);
    assert_eq!(
        read_item(&opened, &kept[1], "Inbox", "daily"),
        noise(9, 300_000)
    );
    assert_eq!(
        read_item(&opened, &kept[0], "Inbox", "daily"),
        noise(202, 300_000)
    );
}
