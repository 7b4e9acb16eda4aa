//! Repositories in S3, through OpenDAL, against a real S3-compatible server (SeaweedFS started
//! per test on 127.0.0.1; see tests/support/seaweedfs.rs). No mock: every request is signed,
//! sent over HTTP and answered by the server.

use std::time::{Duration, Instant};

use qcb_repo::{
    Backend, Error, FileKind, KdfParams, Location, LockKind, LockOptions, Node, OpendalBackend,
    PruneOptions, ReadData, Repository, RetentionPolicy, SnapshotMeta, Tree,
};
use serde_json::json;

#[path = "support/seaweedfs.rs"]
mod seaweedfs;
use seaweedfs::SeaweedFs;

fn fast() -> KdfParams {
    KdfParams::insecure_for_tests()
}

fn t(day: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(1_790_000_000 + day * 86_400, 0).unwrap()
}

fn noise(seed: u64, len: usize) -> Vec<u8> {
    use rand::{RngCore, SeedableRng};
    let mut out = vec![0u8; len];
    rand::rngs::StdRng::seed_from_u64(seed).fill_bytes(&mut out);
    out
}

/// A snapshot of one mailbox with one folder of (item name, content), stored like a backup.
fn commit(
    repo: &Repository,
    folder: &str,
    items: &[(&str, Vec<u8>)],
    day: i64,
) -> qcb_repo::Snapshot {
    let mut w = repo.writer();
    let mut nodes = Vec::new();
    for (name, body) in items {
        let content = w.save_content(body).unwrap();
        nodes.push(Node::item(
            *name,
            content,
            body.len() as u64,
            None,
            json!({"subject": name}),
        ));
    }
    let tree = w.save_tree(&Tree { nodes }).unwrap();
    let mbx = w
        .save_tree(&Tree {
            nodes: vec![Node::dir(folder, tree, json!({}))],
        })
        .unwrap();
    let root = w
        .save_tree(&Tree {
            nodes: vec![Node::dir("alice@contoso.example", mbx, json!({}))],
        })
        .unwrap();
    w.commit(SnapshotMeta::new(root, "test-host", t(day)))
        .unwrap()
}

fn read_item(repo: &Repository, snap: &qcb_repo::Snapshot, name: &str) -> Vec<u8> {
    let root = repo.load_tree(&snap.tree).unwrap();
    let mbx = repo.load_tree(&root.nodes[0].subtree.unwrap()).unwrap();
    let f = repo.load_tree(&mbx.nodes[0].subtree.unwrap()).unwrap();
    repo.read_content(&f.get(name).unwrap().content).unwrap()
}

fn assert_clean(repo: &Repository) {
    assert_eq!(repo.check_structure().unwrap(), Vec::<String>::new());
    assert_eq!(
        repo.check_data(ReadData::All).unwrap().problems,
        Vec::<String>::new()
    );
}

const NAME_A: &str = "aa00000000000000000000000000000000000000000000000000000000000001";
const NAME_B: &str = "bb00000000000000000000000000000000000000000000000000000000000002";

/// Every trait method on one backend: the semantics the repository relies on.
fn exercise_backend(b: &dyn Backend) {
    b.create_layout().unwrap();
    assert!(!b.exists(FileKind::Config, "config").unwrap());
    assert_eq!(b.list(FileKind::Pack).unwrap(), Vec::<String>::new());
    b.write(FileKind::Config, "config", b"cfg").unwrap();
    b.write(FileKind::Pack, NAME_A, b"0123456789").unwrap();
    b.write(FileKind::Pack, NAME_B, b"x").unwrap();
    b.write(FileKind::Index, NAME_A, b"index").unwrap();
    assert_eq!(b.list(FileKind::Config).unwrap(), vec!["config"]);
    assert_eq!(b.list(FileKind::Pack).unwrap(), vec![NAME_A, NAME_B]);
    assert_eq!(b.list(FileKind::Index).unwrap(), vec![NAME_A]);
    assert_eq!(b.list(FileKind::Snapshot).unwrap(), Vec::<String>::new());
    assert_eq!(b.read(FileKind::Pack, NAME_A).unwrap(), b"0123456789");
    assert_eq!(b.read_range(FileKind::Pack, NAME_A, 2, 3).unwrap(), b"234");
    assert_eq!(
        b.read_range(FileKind::Pack, NAME_A, 0, 10).unwrap(),
        b"0123456789"
    );
    assert_eq!(b.size(FileKind::Pack, NAME_A).unwrap(), 10);
    assert!(b.exists(FileKind::Index, NAME_A).unwrap());
    assert!(!b.exists(FileKind::Index, NAME_B).unwrap());

    // A range past the end (partly, or wholly) is damage, named by file.
    for (offset, len) in [(8, 5), (10, 1), (50, 4)] {
        let err = b
            .read_range(FileKind::Pack, NAME_A, offset, len)
            .unwrap_err();
        assert!(
            matches!(&err, Error::Corrupt { file, .. } if file.ends_with(&format!("data/aa/{NAME_A}"))),
            "({offset}, {len}): {err:?}"
        );
    }
    // A missing file is NotFound, distinguishable from damage.
    for err in [
        b.read(FileKind::Snapshot, NAME_A).unwrap_err(),
        b.read_range(FileKind::Snapshot, NAME_A, 0, 4).unwrap_err(),
        b.size(FileKind::Snapshot, NAME_A).unwrap_err(),
    ] {
        assert!(
            matches!(&err, Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound),
            "{err:?}"
        );
        assert!(err.to_string().contains(NAME_A), "{err}");
    }
    // Names are checked exactly as the local backend checks them.
    for bad in [
        "../config",
        "AA00",
        "config",
        &NAME_A[..63],
        &format!("{NAME_A}/x"),
    ] {
        assert!(matches!(
            b.write(FileKind::Index, bad, b"x"),
            Err(Error::InvalidArgument(_))
        ));
        assert!(matches!(
            b.read(FileKind::Index, bad),
            Err(Error::InvalidArgument(_))
        ));
    }
    // Overwrite replaces whole; delete is idempotent.
    b.write(FileKind::Pack, NAME_B, b"yy").unwrap();
    assert_eq!(b.read(FileKind::Pack, NAME_B).unwrap(), b"yy");
    b.delete(FileKind::Pack, NAME_B).unwrap();
    b.delete(FileKind::Pack, NAME_B).unwrap();
    assert_eq!(b.list(FileKind::Pack).unwrap(), vec![NAME_A]);
}

#[test]
fn the_s3_backend_keeps_the_local_layout_and_semantics() {
    let server = SeaweedFs::start();
    let backend = OpendalBackend::s3(&server.location("some/prefix")).unwrap();
    exercise_backend(&backend);
    assert_eq!(
        backend.location(),
        format!("s3:{}/qcb-test/some/prefix", server.endpoint)
    );
    assert_eq!(backend.location(), server.url("some/prefix"));
    // The objects sit where the local layout puts the files, under the prefix.
    let root = OpendalBackend::s3(&server.location("")).unwrap();
    assert_eq!(root.list(FileKind::Pack).unwrap(), Vec::<String>::new());
    let inner = OpendalBackend::s3(&server.location("some")).unwrap();
    assert!(inner.list(FileKind::Pack).unwrap().is_empty());
    assert!(!root.is_empty().unwrap());
    assert!(
        OpendalBackend::s3(&server.location("other"))
            .unwrap()
            .is_empty()
            .unwrap()
    );
}

#[test]
fn the_same_code_path_works_on_a_folder_through_opendal_fs() {
    let dir = tempfile::tempdir().unwrap();
    let backend = OpendalBackend::fs(dir.path()).unwrap();
    exercise_backend(&backend);
    assert!(dir.path().join("data/aa").join(NAME_A).is_file());
    assert!(dir.path().join("config").is_file());
    // And a whole repository on it reads back through the local backend.
    let repo_dir = tempfile::tempdir().unwrap();
    let repo = Repository::init(
        Box::new(OpendalBackend::fs(repo_dir.path()).unwrap()),
        b"pw",
        fast(),
    )
    .unwrap();
    let s = commit(&repo, "Inbox", &[("m", noise(1, 700_000))], 0);
    let local = Repository::open_local(repo_dir.path(), b"pw").unwrap();
    assert_eq!(read_item(&local, &s, "m"), noise(1, 700_000));
    assert_clean(&local);
}

#[test]
fn the_backend_can_be_called_from_plain_threads_spawn_blocking_and_async_tasks() {
    let server = SeaweedFs::start();
    let backend = std::sync::Arc::new(OpendalBackend::s3(&server.location("threads")).unwrap());
    // A plain thread (no runtime anywhere).
    let b = backend.clone();
    std::thread::spawn(move || b.write(FileKind::Index, NAME_A, b"plain"))
        .join()
        .unwrap()
        .unwrap();
    // Inside another runtime: from spawn_blocking (how the engine calls it) and, although the
    // engine never does, straight from an async task. Neither may panic with "Cannot start a
    // runtime from within a runtime".
    for flavor in ["multi", "current"] {
        let rt = match flavor {
            "multi" => tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap(),
            _ => tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap(),
        };
        let b = backend.clone();
        let read = rt.block_on(async move {
            let b2 = b.clone();
            let blocking = tokio::task::spawn_blocking(move || {
                b2.write(FileKind::Index, NAME_B, b"blocking")?;
                b2.read(FileKind::Index, NAME_A)
            })
            .await
            .unwrap()
            .unwrap();
            let in_task = tokio::spawn(async move { b.read(FileKind::Index, NAME_B) })
                .await
                .unwrap()
                .unwrap();
            (blocking, in_task)
        });
        assert_eq!(read, (b"plain".to_vec(), b"blocking".to_vec()), "{flavor}");
        // The backend, and so its own runtime, may also be dropped inside an async task.
        let own = OpendalBackend::s3(&server.location("threads")).unwrap();
        rt.block_on(async move {
            tokio::spawn(async move {
                assert!(own.exists(FileKind::Index, NAME_A).unwrap());
                drop(own);
            })
            .await
            .unwrap()
        });
    }
}

#[test]
fn a_repository_on_s3_backs_up_reopens_reads_back_and_checks_clean() {
    let server = SeaweedFs::start();
    let location = server.repo_location("mail/backups");
    let repo = Repository::init_at(&location, b"pw", fast()).unwrap();
    assert_eq!(repo.location(), location.to_string());
    let big = noise(9, 1_500_000); // chunked by FastCDC
    let s1 = commit(
        &repo,
        "Inbox",
        &[("a", b"alpha".to_vec()), ("big", big.clone())],
        0,
    );
    let s2 = commit(
        &repo,
        "Inbox",
        &[
            ("a", b"alpha".to_vec()),
            ("big", big.clone()),
            ("c", noise(3, 40_000)),
        ],
        1,
    );
    // A second writer's data beyond one pack (16 MiB) spans several objects.
    let many: Vec<(String, Vec<u8>)> = (0..20)
        .map(|i| (format!("m{i}"), noise(100 + i, 1_000_000)))
        .collect();
    let many_ref: Vec<(&str, Vec<u8>)> =
        many.iter().map(|(n, b)| (n.as_str(), b.clone())).collect();
    let s3 = commit(&repo, "Archive", &many_ref, 2);
    drop(repo);

    // Init refuses a prefix that holds anything.
    assert!(matches!(
        Repository::init_at(&location, b"pw", fast()),
        Err(Error::AlreadyExists { .. })
    ));
    assert!(matches!(
        Repository::open_at(&location, b"wrong"),
        Err(Error::WrongPassword { .. })
    ));
    // Another prefix in the same bucket is not a repository (yet).
    assert!(matches!(
        Repository::open_at(&server.repo_location("mail/other"), b"pw"),
        Err(Error::NotARepository { .. })
    ));

    let repo = location.open(b"pw").unwrap();
    let snaps = repo.list_snapshots().unwrap();
    assert_eq!(
        snaps.iter().map(|s| &s.id).collect::<Vec<_>>(),
        vec![&s1.id, &s2.id, &s3.id]
    );
    assert_eq!(read_item(&repo, &s1, "big"), big);
    assert_eq!(read_item(&repo, &s2, "c"), noise(3, 40_000));
    assert_eq!(read_item(&repo, &s3, "m19"), noise(119, 1_000_000));
    assert_eq!(repo.find_snapshot(&s2.id.0[..8]).unwrap().id, s2.id);
    let packs = OpendalBackend::s3(&server.location("mail/backups"))
        .unwrap()
        .list(FileKind::Pack)
        .unwrap();
    assert!(packs.len() >= 3, "{packs:?}");
    assert_clean(&repo);
}

#[test]
fn two_writers_and_a_racing_prune_on_s3_lose_nothing() {
    let server = SeaweedFs::start();
    let location = server.repo_location("shared");
    Repository::init_at(&location, b"pw", fast()).unwrap();
    let writer = |agent: u64| {
        let location = location.clone();
        std::thread::spawn(move || {
            let repo = Repository::open_at(&location, b"pw").unwrap();
            let mut made = Vec::new();
            for run in 0..3u64 {
                let lock = repo
                    .lock_with(
                        LockKind::Shared,
                        LockOptions {
                            wait: Duration::from_secs(60),
                            ..Default::default()
                        },
                    )
                    .unwrap();
                let items = vec![
                    ("shared", noise(7, 200_000)),
                    ("own", noise(agent * 100 + run, 200_000)),
                ];
                let s = commit(&repo, &format!("agent{agent}"), &items, run as i64);
                lock.check_valid().unwrap();
                drop(lock);
                made.push(s.id);
            }
            made
        })
    };
    let pruner = {
        let location = location.clone();
        std::thread::spawn(move || {
            let repo = Repository::open_at(&location, b"pw").unwrap();
            let (mut pruned, mut refused) = (0, 0);
            for _ in 0..10 {
                match repo.lock(LockKind::Exclusive) {
                    Ok(lock) => {
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
                std::thread::sleep(Duration::from_millis(50));
            }
            (pruned, refused)
        })
    };
    let (a, b) = (writer(1), writer(2));
    let made: Vec<_> = a
        .join()
        .unwrap()
        .into_iter()
        .chain(b.join().unwrap())
        .collect();
    let (pruned, refused) = pruner.join().unwrap();
    assert_eq!(pruned + refused, 10);
    let repo = Repository::open_at(&location, b"pw").unwrap();
    assert_clean(&repo);
    let snaps = repo.list_snapshots().unwrap();
    assert_eq!(snaps.len(), made.len());
    for s in &snaps {
        assert_eq!(read_item(&repo, s, "own").len(), 200_000);
        assert_eq!(read_item(&repo, s, "shared"), noise(7, 200_000));
    }
    assert!(repo.list_locks().unwrap().is_empty());
}

#[test]
fn forget_and_prune_on_s3_free_only_unused_data() {
    let server = SeaweedFs::start();
    let location = server.repo_location("");
    let repo = Repository::init_at(&location, b"pw", fast()).unwrap();
    for day in 0..4 {
        commit(
            &repo,
            "Inbox",
            &[
                ("keep", noise(100, 300_000)),
                ("daily", noise(day as u64, 300_000)),
            ],
            day,
        );
    }
    let backend = OpendalBackend::s3(&server.location("")).unwrap();
    let size = || -> u64 {
        backend
            .list(FileKind::Pack)
            .unwrap()
            .iter()
            .map(|p| backend.size(FileKind::Pack, p).unwrap())
            .sum()
    };
    let before = size();
    let lock = repo.lock(LockKind::Exclusive).unwrap();
    let plan = repo
        .plan_forget(
            &RetentionPolicy {
                keep_last: Some(1),
                ..Default::default()
            },
            t(10),
        )
        .unwrap();
    assert_eq!(repo.forget(&plan).unwrap(), 3);
    let report = repo
        .prune(PruneOptions {
            max_unused: 0.0,
            dry_run: false,
        })
        .unwrap();
    assert_eq!(report.blobs_removed, 3 + 3 * 3, "{report:?}");
    drop(lock);
    let after = size();
    assert!(after < before / 2, "{before} -> {after}");
    let reopened = Repository::open_at(&location, b"pw").unwrap();
    assert_clean(&reopened);
    let left = reopened.list_snapshots().unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(read_item(&reopened, &left[0], "daily"), noise(3, 300_000));
    assert_eq!(read_item(&reopened, &left[0], "keep"), noise(100, 300_000));
}

#[test]
fn wrong_keys_a_missing_bucket_and_a_dead_server_give_clear_errors() {
    let server = SeaweedFs::start();
    Repository::init_at(&server.repo_location("r"), b"pw", fast()).unwrap();

    let wrong = Location::S3(server.location_with(seaweedfs::BUCKET, "r", "not-the-secret"));
    for err in [
        Repository::open_at(&wrong, b"pw").unwrap_err(),
        Repository::init_at(&wrong, b"pw", fast()).unwrap_err(),
    ] {
        let text = err.to_string();
        eprintln!("wrong secret: {text}");
        assert!(
            matches!(&err, Error::Io { source, .. } if source.kind() == std::io::ErrorKind::PermissionDenied),
            "{err:?}"
        );
        assert!(text.contains("access denied"), "{text}");
        assert!(
            text.contains("\"qcb-test\"") && text.contains(&server.endpoint),
            "{text}"
        );
        assert!(!text.contains("not-the-secret") && !format!("{err:?}").contains("not-the-secret"));
    }

    let missing = Location::S3(server.location_with("no-such-bucket", "", seaweedfs::SECRET_KEY));
    let err = Repository::open_at(&missing, b"pw").unwrap_err();
    let text = err.to_string();
    eprintln!("missing bucket: {text}");
    assert!(text.contains("\"no-such-bucket\""), "{text}");
    assert!(
        text.contains("does the bucket exist") || text.contains("NoSuchBucket"),
        "{text}"
    );
    assert!(!text.contains(seaweedfs::SECRET_KEY));

    // Nothing listens: transient failures are retried a bounded number of times, then reported.
    let dead_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut dead = server.location("r");
    dead.endpoint = format!("http://127.0.0.1:{dead_port}");
    let started = Instant::now();
    let err = Repository::open_at(&Location::S3(dead), b"pw").unwrap_err();
    eprintln!("dead server after {:?}: {err}", started.elapsed());
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "{:?}",
        started.elapsed()
    );
    assert!(
        err.to_string().contains(&format!("127.0.0.1:{dead_port}")),
        "{err}"
    );
    assert!(err.to_string().contains("retries"), "{err}");
}

#[test]
fn a_truncated_or_corrupted_object_is_named_by_check_on_s3() {
    let server = SeaweedFs::start();
    let location = server.repo_location("damaged");
    let repo = Repository::init_at(&location, b"pw", fast()).unwrap();
    let s1 = commit(
        &repo,
        "Inbox",
        &[("a", noise(1, 100_000)), ("b", noise(2, 100_000))],
        0,
    );
    let s2 = commit(&repo, "Inbox", &[("c", noise(3, 100_000))], 1);
    assert_clean(&repo);
    // Damage the objects through the S3 API itself (a PutObject over them).
    let raw = OpendalBackend::s3(&server.location("damaged")).unwrap();
    let packs = raw.list(FileKind::Pack).unwrap();
    assert_eq!(packs.len(), 2);
    let truncated = packs
        .iter()
        .find(|p| raw.size(FileKind::Pack, p).unwrap() > 150_000)
        .unwrap()
        .clone();
    let bytes = raw.read(FileKind::Pack, &truncated).unwrap();
    raw.write(FileKind::Pack, &truncated, &bytes[..bytes.len() / 2])
        .unwrap();
    let mut snap = raw.read(FileKind::Snapshot, &s2.id.0).unwrap();
    snap[50] ^= 0x40;
    raw.write(FileKind::Snapshot, &s2.id.0, &snap).unwrap();

    let repo = Repository::open_at(&location, b"pw").unwrap();
    let label = format!("data/{}/{truncated}", &truncated[..2]);
    let data = repo.check_data(ReadData::All).unwrap();
    assert!(
        data.problems.iter().any(|p| p.contains(&label)),
        "{:?}",
        data.problems
    );
    let structure = repo.check_structure().unwrap();
    assert!(
        structure.iter().any(|p| p.contains(&s2.id.0)),
        "{structure:?}"
    );
    // Reading an item whose blob lies past the cut is damage naming the object, not a panic.
    let root = repo.load_tree(&s1.tree);
    let err = match root {
        Err(e) => e,
        Ok(root) => {
            let mbx = repo.load_tree(&root.nodes[0].subtree.unwrap());
            match mbx.and_then(|m| repo.load_tree(&m.nodes[0].subtree.unwrap())) {
                Err(e) => e,
                Ok(f) => f
                    .nodes
                    .iter()
                    .find_map(|n| repo.read_content(&n.content).err())
                    .expect("some item lies past the cut"),
            }
        }
    };
    assert!(
        matches!(&err, Error::Corrupt { file, .. } if file.contains(&truncated)),
        "{err:?}"
    );
}

#[path = "support/fault_proxy.rs"]
mod fault_proxy;

/// Like `commit`, but returning the error instead of failing the test.
fn try_commit(repo: &Repository, items: &[(&str, Vec<u8>)], day: i64) -> qcb_repo::Result<()> {
    let mut w = repo.writer();
    let mut nodes = Vec::new();
    for (name, body) in items {
        let content = w.save_content(body)?;
        nodes.push(Node::item(
            *name,
            content,
            body.len() as u64,
            None,
            json!({}),
        ));
    }
    let tree = w.save_tree(&Tree { nodes })?;
    let mbx = w.save_tree(&Tree {
        nodes: vec![Node::dir("Inbox", tree, json!({}))],
    })?;
    let root = w.save_tree(&Tree {
        nodes: vec![Node::dir("alice@contoso.example", mbx, json!({}))],
    })?;
    w.commit(SnapshotMeta::new(root, "test-host", t(day)))?;
    Ok(())
}

#[test]
fn s3_errors_dropped_connections_and_timeouts_are_retried_and_a_down_server_is_reported() {
    use fault_proxy::{FaultProxy, Faults};
    use std::sync::atomic::Ordering::SeqCst;
    let server = SeaweedFs::start();
    let proxy = FaultProxy::start(&server.location("").endpoint);
    let mut location = server.location("faults");
    location.endpoint = proxy.endpoint();
    let timeouts = qcb_repo::Timeouts {
        request: Duration::from_secs(2),
        io: Duration::from_secs(2),
    };
    let backend = || Box::new(OpendalBackend::s3_with(&location, timeouts).unwrap());

    // Every third PUT answered 500, every seventh request dropped, every eleventh left silent
    // past the timeout: everything still lands, once, and reads back.
    proxy.set(Faults {
        put_500_every: 3,
        reset_every: 7,
        stall_every: 11,
        stall_for: Duration::from_secs(3),
        all_puts_fail: false,
    });
    let repo = Repository::init(backend(), b"pw", fast()).unwrap();
    let days: Vec<Vec<(&str, Vec<u8>)>> = (0..3)
        .map(|d| {
            vec![
                ("small", noise(100 + d, 40_000)),
                ("large", noise(200 + d, 3_000_000)),
            ]
        })
        .collect();
    for (d, items) in days.iter().enumerate() {
        try_commit(&repo, items, d as i64).unwrap();
    }
    let repo = Repository::open(backend(), b"pw").unwrap();
    assert_clean(&repo);
    let snaps = repo.list_snapshots().unwrap();
    assert_eq!(snaps.len(), 3);
    let s = &proxy.stats;
    eprintln!(
        "{} requests: {} answered 500, {} dropped, {} left silent",
        s.requests.load(SeqCst),
        s.answered_500.load(SeqCst),
        s.resets.load(SeqCst),
        s.stalls.load(SeqCst)
    );
    assert!(s.answered_500.load(SeqCst) >= 3 && s.resets.load(SeqCst) >= 3);
    assert!(s.stalls.load(SeqCst) >= 2);

    // The server refuses every write: the commit fails with the store, the object and the
    // answer named, and no snapshot appears; once it takes writes again, the next one lands.
    proxy.set(Faults {
        all_puts_fail: true,
        ..Faults::default()
    });
    let started = Instant::now();
    let e = try_commit(&repo, &[("new", noise(300, 500_000))], 5).unwrap_err();
    let text = e.to_string();
    eprintln!("{text} (after {:?})", started.elapsed());
    assert!(text.contains("S3 bucket"), "{text}");
    assert!(
        text.contains("500") || text.contains("InternalError"),
        "{text}"
    );
    proxy.set(Faults::default());
    assert_eq!(repo.list_snapshots().unwrap().len(), 3);
    try_commit(&repo, &[("new", noise(300, 500_000))], 5).unwrap();
    let repo = Repository::open(backend(), b"pw").unwrap();
    assert_eq!(repo.list_snapshots().unwrap().len(), 4);
    assert_clean(&repo);
}
