//! Repository integration tests: real files in a temporary folder, real SQLite.

use qcb_repo::{
    Catalog, Error, KdfParams, Node, ReadData, Repository, SnapshotMeta, Tree, join_path,
    split_path,
};
use serde_json::json;

fn fast() -> KdfParams {
    KdfParams::insecure_for_tests()
}

fn t(secs: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(1_790_000_000 + secs, 0).unwrap()
}

/// One mailbox dir holding one folder holding the given items.
fn snapshot_with(repo: &Repository, items: &[(&str, &[u8])], at: i64) -> qcb_repo::Snapshot {
    let mut w = repo.writer();
    let mut nodes = Vec::new();
    for (name, body) in items {
        let c = w.save_data(body).unwrap();
        nodes.push(Node::item(
            *name,
            vec![c],
            body.len() as u64,
            None,
            json!({"subject": name}),
        ));
    }
    let folder = w.save_tree(&Tree { nodes }).unwrap();
    let mbx = w
        .save_tree(&Tree {
            nodes: vec![Node::dir("Inbox", folder, json!({}))],
        })
        .unwrap();
    let root = w
        .save_tree(&Tree {
            nodes: vec![Node::dir("alice@contoso.example", mbx, json!({}))],
        })
        .unwrap();
    w.commit(SnapshotMeta::new(root, "test-host", t(at)))
        .unwrap()
}

#[test]
fn round_trip_and_dedup_across_snapshots() {
    let dir = tempfile::tempdir().unwrap();
    let repo = Repository::init_local(dir.path(), b"pw", fast()).unwrap();
    let big = vec![7u8; 200_000];
    let s1 = snapshot_with(&repo, &[("a", b"alpha"), ("b", &big)], 0);
    let (blobs_before, _) = repo.index_stats();
    let s2 = snapshot_with(&repo, &[("a", b"alpha"), ("b", &big), ("c", b"gamma")], 10);
    let (blobs_after, _) = repo.index_stats();
    // Only the new item, the changed folder tree and its two parents are new.
    assert_eq!(blobs_after - blobs_before, 4);

    let repo = Repository::open_local(dir.path(), b"pw").unwrap();
    let snaps = repo.list_snapshots().unwrap();
    assert_eq!(
        snaps.iter().map(|s| s.id.clone()).collect::<Vec<_>>(),
        vec![s1.id.clone(), s2.id.clone()]
    );
    assert_eq!(repo.find_snapshot("latest").unwrap().id, s2.id);
    assert_eq!(repo.find_snapshot(&s1.id.0[..8]).unwrap().id, s1.id);
    let root = repo.load_tree(&s1.tree).unwrap();
    let mbx = repo.load_tree(&root.nodes[0].subtree.unwrap()).unwrap();
    let inbox = repo
        .load_tree(&mbx.get("Inbox").unwrap().subtree.unwrap())
        .unwrap();
    assert_eq!(inbox.nodes.len(), 2);
    assert_eq!(
        repo.read_content(&inbox.get("b").unwrap().content).unwrap(),
        big
    );
    assert!(repo.check_data(ReadData::All).unwrap().problems.is_empty());

    // Compressible data is stored compressed.
    let stored: u64 = walk_size(dir.path().join("data").as_path());
    assert!(
        stored < 50_000,
        "200 KB of zeros-like data stored in {stored} bytes"
    );
}

fn walk_size(p: &std::path::Path) -> u64 {
    let mut n = 0;
    for e in std::fs::read_dir(p).unwrap() {
        let e = e.unwrap();
        n += if e.file_type().unwrap().is_dir() {
            walk_size(&e.path())
        } else {
            e.metadata().unwrap().len()
        };
    }
    n
}

#[test]
fn wrong_password_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    Repository::init_local(dir.path(), b"right", fast()).unwrap();
    let err = Repository::open_local(dir.path(), b"wrong").unwrap_err();
    assert!(
        matches!(err, Error::WrongPassword { keys: 1, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("wrong password"), "{err}");
}

#[test]
fn init_refuses_a_non_empty_folder_and_open_refuses_a_non_repository() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("precious.txt"), b"keep me").unwrap();
    assert!(matches!(
        Repository::init_local(dir.path(), b"pw", fast()),
        Err(Error::AlreadyExists { .. })
    ));
    assert_eq!(
        std::fs::read(dir.path().join("precious.txt")).unwrap(),
        b"keep me"
    );
    assert!(matches!(
        Repository::open_local(dir.path(), b"pw"),
        Err(Error::NotARepository { .. })
    ));
    let repo_dir = tempfile::tempdir().unwrap();
    Repository::init_local(repo_dir.path(), b"pw", fast()).unwrap();
    assert!(matches!(
        Repository::init_local(repo_dir.path(), b"pw", fast()),
        Err(Error::AlreadyExists { .. })
    ));
    assert!(
        Repository::open_local(repo_dir.path(), b"pw").is_ok(),
        "a refused init leaves the repository intact"
    );
}

fn pack_files(root: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for sub in std::fs::read_dir(root.join("data")).unwrap() {
        for f in std::fs::read_dir(sub.unwrap().path()).unwrap() {
            out.push(f.unwrap().path());
        }
    }
    out
}

#[test]
fn a_flipped_byte_in_a_pack_is_detected_never_returned() {
    let dir = tempfile::tempdir().unwrap();
    let repo = Repository::init_local(dir.path(), b"pw", fast()).unwrap();
    let body = b"Subject: secret\r\n\r\nthe quarterly numbers".repeat(50);
    let s = snapshot_with(&repo, &[("m", &body)], 0);
    let packs = pack_files(dir.path());
    assert_eq!(packs.len(), 1);
    // Flip one byte in the first blob (the message content is saved first, at offset 0).
    let mut bytes = std::fs::read(&packs[0]).unwrap();
    bytes[10] ^= 0x40;
    std::fs::write(&packs[0], &bytes).unwrap();

    let repo = Repository::open_local(dir.path(), b"pw").unwrap();
    let root = repo.load_tree(&repo.load_snapshot(&s.id).unwrap().tree);
    // Trees sit in the same pack but in other blobs: still readable.
    let root = root.unwrap();
    let mbx = repo.load_tree(&root.nodes[0].subtree.unwrap()).unwrap();
    let inbox = repo.load_tree(&mbx.nodes[0].subtree.unwrap()).unwrap();
    let err = repo.read_content(&inbox.nodes[0].content).unwrap_err();
    let name = packs[0].file_name().unwrap().to_string_lossy().into_owned();
    assert!(matches!(err, Error::Corrupt { .. }), "{err:?}");
    assert!(
        err.to_string().contains(&name),
        "error names the pack file: {err}"
    );
    let problems = repo.check_data(ReadData::All).unwrap().problems;
    assert!(problems.iter().any(|p| p.contains(&name)), "{problems:?}");
}

#[test]
fn a_damaged_snapshot_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let repo = Repository::init_local(dir.path(), b"pw", fast()).unwrap();
    let s = snapshot_with(&repo, &[("m", b"x")], 0);
    let path = dir.path().join("snapshots").join(&s.id.0);
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let err = repo.load_snapshot(&s.id).unwrap_err();
    assert!(err.to_string().contains(&s.id.0), "{err}");
    assert!(matches!(
        repo.find_snapshot("deadbeef"),
        Err(Error::SnapshotNotFound(_))
    ));
    assert!(matches!(
        repo.find_snapshot("../x"),
        Err(Error::SnapshotNotFound(_))
    ));
}

#[test]
fn catalog_syncs_browses_and_rebuilds_from_the_repository() {
    let dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let repo = Repository::init_local(dir.path(), b"pw", fast()).unwrap();
    let s1 = snapshot_with(&repo, &[("a", b"1")], 0);
    let s2 = snapshot_with(&repo, &[("a", b"1"), ("b", b"2")], 5);
    let db = cache.path().join("catalog.sqlite");
    let mut cat = Catalog::open(&db, repo.id()).unwrap();
    assert_eq!(cat.sync(&repo).unwrap(), 2);
    assert_eq!(cat.sync(&repo).unwrap(), 0);
    let snaps = cat.snapshots().unwrap();
    assert_eq!(
        snaps.iter().map(|s| &s.id).collect::<Vec<_>>(),
        vec![&s1.id, &s2.id]
    );
    let top = cat.list(&s2.id, "").unwrap();
    assert_eq!(top[0].name, "alice@contoso.example");
    let items = cat.list(&s2.id, "/alice@contoso.example/Inbox").unwrap();
    assert_eq!(
        items.iter().map(|n| n.name.as_str()).collect::<Vec<_>>(),
        vec!["a", "b"]
    );
    assert_eq!(
        cat.list(&s1.id, "/alice@contoso.example/Inbox")
            .unwrap()
            .len(),
        1
    );
    assert!(matches!(
        cat.list(&s2.id, "/alice@contoso.example/Nope"),
        Err(Error::PathNotFound { .. })
    ));
    drop(cat);
    // Delete the cache: everything comes back from the repository.
    std::fs::remove_file(&db).unwrap();
    let mut cat = Catalog::open(&db, repo.id()).unwrap();
    assert_eq!(cat.sync(&repo).unwrap(), 2);
    assert_eq!(
        cat.list(&s2.id, "/alice@contoso.example/Inbox")
            .unwrap()
            .len(),
        2
    );
}

#[test]
fn browse_paths_escape_slashes_in_names() {
    let names = ["a/b", "100%", "plain"];
    let p = join_path(&names);
    assert_eq!(p, "/a%2Fb/100%25/plain");
    assert_eq!(split_path(&p), names);
}

#[test]
fn a_second_handle_sees_what_another_writer_committed() {
    let dir = tempfile::tempdir().unwrap();
    let a = Repository::init_local(dir.path(), b"pw", fast()).unwrap();
    let b = Repository::open_local(dir.path(), b"pw").unwrap();
    let s = snapshot_with(&b, &[("m", b"written by b")], 0);
    // `a` opened before the commit: it finds the new index when it meets an unknown blob.
    let snap = a.find_snapshot("latest").unwrap();
    assert_eq!(snap.id, s.id);
    let root = a.load_tree(&snap.tree).unwrap();
    assert_eq!(root.nodes[0].name, "alice@contoso.example");
}

#[test]
fn check_names_snapshots_whose_data_no_index_lists_and_damaged_snapshots() {
    let dir = tempfile::tempdir().unwrap();
    let repo = Repository::init_local(dir.path(), b"pw", fast()).unwrap();
    let s1 = snapshot_with(&repo, &[("m", b"one")], 0);
    assert!(repo.check_structure().unwrap().is_empty());
    // Lose the only index file: every blob of the snapshot is now unaccounted for.
    for f in std::fs::read_dir(dir.path().join("index")).unwrap() {
        std::fs::remove_file(f.unwrap().path()).unwrap();
    }
    let reopened = Repository::open_local(dir.path(), b"pw").unwrap();
    let problems = reopened.check_structure().unwrap();
    assert!(
        problems.iter().any(|p| p.contains(s1.id.short())),
        "{problems:?}"
    );

    // A damaged snapshot file is reported by check and skipped by listings.
    let dir = tempfile::tempdir().unwrap();
    let repo = Repository::init_local(dir.path(), b"pw", fast()).unwrap();
    let good = snapshot_with(&repo, &[("m", b"one")], 0);
    let bad = snapshot_with(&repo, &[("m", b"two")], 5);
    let path = dir.path().join("snapshots").join(&bad.id.0);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[40] ^= 1;
    std::fs::write(&path, bytes).unwrap();
    let listed: Vec<_> = repo
        .list_snapshots()
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(listed, vec![good.id.clone()]);
    let problems = repo.check_structure().unwrap();
    assert!(
        problems.iter().any(|p| p.contains(&bad.id.0)),
        "{problems:?}"
    );
}

#[test]
fn repository_file_names_are_validated_before_any_path_is_built() {
    let dir = tempfile::tempdir().unwrap();
    let backend = qcb_repo::LocalBackend::new(dir.path());
    use qcb_repo::{Backend, FileKind};
    for bad in ["../../etc/passwd", "", "ab", "ZZ", &"A".repeat(64)] {
        assert!(
            matches!(
                backend.read(FileKind::Snapshot, bad),
                Err(Error::InvalidArgument(_))
            ),
            "{bad:?}"
        );
        assert!(
            matches!(
                backend.read_range(FileKind::Pack, bad, 0, 1),
                Err(Error::InvalidArgument(_))
            ),
            "{bad:?}"
        );
        assert!(
            matches!(
                backend.write(FileKind::Index, bad, b"x"),
                Err(Error::InvalidArgument(_))
            ),
            "{bad:?}"
        );
    }
}
