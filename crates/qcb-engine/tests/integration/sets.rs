//! Backup sets against the emulator: a saved set runs with its mailbox selection, folder
//! filter, per-mailbox categories and retention; every run lands in the job history; the
//! scheduler runs due server sets and leaves client sets alone.

use std::sync::Arc;
use std::time::Duration;

use qcb_engine::secrets::{MemoryStore, SecretStore};
use qcb_engine::sets::{
    BackupSet, CategoriesText, DaemonOptions, RunContext, RunOn, RunStatus, Schedule,
    SetConnection, SetStore,
};
use qcb_engine::{Categories, FolderFilter, MailboxSelection, NoProgress, RepoHandle};
use qcb_graph_sim::{SimServer, TenantSpec};

use super::support::at;

struct Bench {
    sim: SimServer,
    dir: tempfile::TempDir,
    repo_path: String,
    ctx: RunContext,
    secrets: Arc<MemoryStore>,
}

async fn bench() -> Bench {
    let sim = SimServer::start(
        TenantSpec {
            seed: 11,
            users: 3,
            messages_per_user: 25,
            shared_mailboxes: None,
        },
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let repo_path = dir.path().join("repo").display().to_string();
    RepoHandle::create(
        std::path::Path::new(&repo_path),
        "repo-pw",
        qcb_engine::KdfParams::insecure_for_tests(),
        &dir.path().join("cache"),
    )
    .unwrap();
    let secrets = Arc::new(MemoryStore::default());
    let store = Arc::new(SetStore::open(&dir.path().join("state").join("state.db")).unwrap());
    let ctx = RunContext {
        store,
        secrets: secrets.clone(),
        cache_dir: dir.path().join("cache"),
        hostname: "test-host".into(),
        trigger: "manual".into(),
        mailbox_concurrency: None,
    };
    Bench {
        sim,
        dir,
        repo_path,
        ctx,
        secrets,
    }
}

impl Bench {
    fn set(&self, name: &str) -> BackupSet {
        let c = self.sim.credentials();
        BackupSet {
            name: name.into(),
            run_on: RunOn::Client,
            repository: self.repo_path.clone(),
            schedule: Schedule::Manual,
            connection: SetConnection {
                tenant_id: c.tenant_id,
                client_id: c.client_id,
                auth: Default::default(),
                certificate: None,
                account: None,
                graph_url: self.sim.graph_url(),
                authority: self.sim.base_url(),
            },
            mailboxes: MailboxSelection::default(),
            categories: Categories::parse("mail").unwrap(),
            mailbox_categories: Default::default(),
            folders: FolderFilter::default(),
            retention: None,
        }
    }

    /// Stores the set's secrets as `qcbackup set secret` would.
    fn store_secrets(&self, set: &BackupSet) {
        let c = self.sim.credentials();
        for (kind, entry) in set.secret_entries() {
            let value = match kind {
                qcb_engine::sets::SecretKind::RepositoryPassword => "repo-pw".to_string(),
                qcb_engine::sets::SecretKind::ClientSecret => c.client_secret.clone(),
                other => panic!("unexpected secret {other:?}"),
            };
            self.secrets.set(&entry, &value).unwrap();
        }
    }

    fn upns(&self) -> Vec<String> {
        let mut u: Vec<String> = self
            .sim
            .admin()
            .users()
            .into_iter()
            .map(|u| u.user_principal_name)
            .collect();
        u.sort();
        u
    }

    fn handle(&self) -> Arc<RepoHandle> {
        Arc::new(
            RepoHandle::open(
                std::path::Path::new(&self.repo_path),
                "repo-pw",
                &self.dir.path().join("cache2"),
            )
            .unwrap(),
        )
    }
}

async fn names(repo: &Arc<RepoHandle>, snapshot: &str, path: &str) -> Vec<String> {
    let b = qcb_engine::api::browse(repo.clone(), snapshot.into(), path.into())
        .await
        .unwrap_or_else(|e| panic!("browse {path}: {e}"));
    let mut n: Vec<String> = b.folders.into_iter().map(|f| f.name).collect();
    n.sort();
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_set_backs_up_what_it_selects_applies_its_retention_and_is_recorded() {
    let b = bench().await;
    let upns = b.upns();
    let (first, second, third) = (&upns[0], &upns[1], &upns[2]);
    let mut set = b.set("Staff");
    // One mailbox by a directory filter, one by name; the third is left out.
    let local = first.split('@').next().unwrap();
    set.mailboxes = MailboxSelection {
        filter: Some(format!("startswith(mail,'{local}')")),
        users: vec![second.clone()],
        ..Default::default()
    };
    set.mailbox_categories.insert(
        second.to_uppercase(),
        CategoriesText(Categories::parse("mail,contacts").unwrap()),
    );
    set.folders = FolderFilter {
        include: vec!["Inbox".into(), "Sent Items".into()],
        exclude: vec!["Inbox/Receipts".into()],
    };
    set.retention = Some(qcb_engine::RetentionPolicy {
        keep_last: Some(1),
        ..Default::default()
    });
    b.ctx.store.save(&set, false, at(0)).unwrap();
    b.store_secrets(&set);

    // A snapshot outside the set: the set's retention must leave it alone.
    let outside = qcb_engine::backup(
        Arc::new(super::support::connection(&b.sim).client().unwrap()),
        b.handle().repository().clone(),
        super::support::mail_opts(at(1), "other"),
        Arc::new(NoProgress),
    )
    .await
    .unwrap();

    let r1 = qcb_engine::sets::run_set(&b.ctx, "staff", at(5), Arc::new(NoProgress))
        .await
        .unwrap();
    assert_eq!(r1.status, RunStatus::Succeeded, "{r1:?}");
    assert_eq!(r1.backup.mailboxes, 2);
    assert_eq!(r1.retention.as_ref().unwrap().removed, 0);

    let repo = b.handle();
    let snap = &r1.backup.snapshot_id;
    assert_eq!(names(&repo, snap, "").await, {
        let mut v = vec![first.clone(), second.clone()];
        v.sort();
        v
    });
    assert!(!names(&repo, snap, "").await.contains(third));
    assert_eq!(names(&repo, snap, &format!("/{first}")).await, ["Mail"]);
    assert_eq!(
        names(&repo, snap, &format!("/{second}")).await,
        ["Contacts", "Mail"]
    );
    assert_eq!(
        names(&repo, snap, &format!("/{first}/Mail")).await,
        ["Inbox", "Sent Items"]
    );
    assert_eq!(
        names(&repo, snap, &format!("/{first}/Mail/Inbox")).await,
        ["Projects"],
        "Receipts is excluded"
    );
    let tags: Vec<Vec<String>> = repo
        .repository()
        .list_snapshots()
        .unwrap()
        .into_iter()
        .map(|s| s.tags)
        .collect();
    assert!(tags.contains(&vec!["set:Staff".to_string()]), "{tags:?}");

    // The second run makes a new snapshot and the set's keep-last 1 forgets the first one;
    // the snapshot outside the set stays.
    let r2 = qcb_engine::sets::run_set(&b.ctx, "Staff", at(65), Arc::new(NoProgress))
        .await
        .unwrap();
    assert_eq!(r2.status, RunStatus::Succeeded);
    assert_eq!(r2.retention.as_ref().unwrap().removed, 1);
    let left: Vec<String> = b
        .handle()
        .repository()
        .list_snapshots()
        .unwrap()
        .into_iter()
        .map(|s| s.id.0)
        .collect();
    assert!(left.contains(&outside.snapshot_id));
    assert!(left.contains(&r2.backup.snapshot_id));
    assert!(!left.contains(&r1.backup.snapshot_id));

    let history = b.ctx.store.runs(Some("Staff"), 0).unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[0].id, r2.run_id);
    assert_eq!(
        history[0].snapshot_id.as_deref(),
        Some(r2.backup.snapshot_id.as_str())
    );
    assert_eq!(history[0].snapshots_forgotten, 1);
    assert_eq!(history[1].items, r1.backup.items);
    assert!(
        history
            .iter()
            .all(|r| r.status == RunStatus::Succeeded && r.finished.is_some())
    );
    assert_eq!(history[1].trigger, "manual");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_without_its_secrets_fails_clearly_and_is_recorded() {
    let b = bench().await;
    let set = b.set("No secret");
    b.ctx.store.save(&set, false, at(0)).unwrap();
    // Only the repository password: the client secret is missing.
    b.secrets
        .set(
            &qcb_engine::secrets::repository_password_entry(&b.repo_path),
            "repo-pw",
        )
        .unwrap();
    let e = qcb_engine::sets::run_set(&b.ctx, "No secret", at(1), Arc::new(NoProgress))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "missing_secret");
    assert!(e.to_string().contains("qcbackup set secret"), "{e}");
    let runs = b.ctx.store.runs(None, 0).unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].status, RunStatus::Failed);
    assert!(
        runs[0]
            .message
            .as_deref()
            .unwrap()
            .contains("missing_secret")
    );

    // A wrong repository password is a failed run too, and nothing is written.
    b.store_secrets(&set);
    b.secrets
        .set(
            &qcb_engine::secrets::repository_password_entry(&b.repo_path),
            "wrong",
        )
        .unwrap();
    let e = qcb_engine::sets::run_set(&b.ctx, "No secret", at(2), Arc::new(NoProgress))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "wrong_password");
    assert!(b.handle().repository().list_snapshots().unwrap().is_empty());
    assert_eq!(
        qcb_engine::sets::run_set(&b.ctx, "nobody", at(3), Arc::new(NoProgress))
            .await
            .unwrap_err()
            .code(),
        "not_found"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_remembers_the_repository_key_beside_the_password_and_uses_it_next_time() {
    use qcb_engine::secrets::{Chain, FileStore, remembered_key_entry, repository_password_entry};
    let b = bench().await;
    let mut set = b.set("Remember");
    set.mailboxes.users = vec![b.upns()[0].clone()];
    b.ctx.store.save(&set, false, at(0)).unwrap();
    b.store_secrets(&set);
    let entry = remembered_key_entry(&b.repo_path);
    assert_eq!(b.secrets.get(&entry).unwrap(), None);
    let run = |t| qcb_engine::sets::run_set(&b.ctx, "remember", at(t), Arc::new(NoProgress));
    assert_eq!(run(1).await.unwrap().status, RunStatus::Succeeded);
    let remembered = b.secrets.get(&entry).unwrap().expect("a remembered key");
    assert!(remembered.starts_with("qcbackup-remembered-key-v1 "));

    // The next run opens with it: with the key file's contents destroyed (its name kept) only
    // the remembered key can open the repository.
    let keys = std::path::Path::new(&b.repo_path).join("keys");
    let key_file = std::fs::read_dir(&keys)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let saved = std::fs::read(&key_file).unwrap();
    std::fs::write(&key_file, b"{}").unwrap();
    assert_eq!(run(2).await.unwrap().status, RunStatus::Succeeded);
    std::fs::write(&key_file, &saved).unwrap();
    assert_eq!(
        b.secrets.get(&entry).unwrap().as_deref(),
        Some(&*remembered)
    );

    // Another password in the keychain is judged by the key files, not by what is remembered.
    let password_entry = repository_password_entry(&b.repo_path);
    b.secrets.set(&password_entry, "wrong").unwrap();
    assert_eq!(run(3).await.unwrap_err().code(), "wrong_password");
    b.secrets.set(&password_entry, "repo-pw").unwrap();

    // A password from a read-only place (a file given to a server) is never joined by its
    // key in another store.
    b.secrets.delete(&entry).unwrap();
    b.secrets.delete(&password_entry).unwrap();
    let file = b.dir.path().join("password");
    std::fs::write(&file, "repo-pw\n").unwrap();
    let ctx = qcb_engine::sets::RunContext {
        secrets: Arc::new(Chain(vec![
            Box::new(FileStore::new([(password_entry.clone(), file)])),
            Box::new(SharedStore(b.secrets.clone())),
        ])),
        ..b.ctx.clone()
    };
    let r = qcb_engine::sets::run_set(&ctx, "remember", at(4), Arc::new(NoProgress)).await;
    assert_eq!(r.unwrap().status, RunStatus::Succeeded);
    assert_eq!(b.secrets.get(&entry).unwrap(), None);
}

/// A store shared with the test, to look into afterwards.
struct SharedStore(Arc<MemoryStore>);

impl SecretStore for SharedStore {
    fn get(&self, name: &str) -> qcb_engine::Result<Option<String>> {
        self.0.get(name)
    }
    fn set(&self, name: &str, secret: &str) -> qcb_engine::Result<()> {
        self.0.set(name, secret)
    }
    fn delete(&self, name: &str) -> qcb_engine::Result<()> {
        self.0.delete(name)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scheduler_runs_due_server_sets_until_it_is_stopped() {
    let b = bench().await;
    let mut server = b.set("Server set");
    server.run_on = RunOn::Server;
    server.schedule = Schedule::parse("every 1s").unwrap();
    server.mailboxes = MailboxSelection::users(vec![b.upns()[0].clone()]);
    let mut client = b.set("Client set");
    client.schedule = Schedule::parse("every 1s").unwrap();
    let mut manual = b.set("Manual set");
    manual.run_on = RunOn::Server;
    for s in [&server, &client, &manual] {
        b.ctx.store.save(s, false, chrono::Utc::now()).unwrap();
        b.store_secrets(s);
    }
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let daemon = tokio::spawn(qcb_engine::sets::run_daemon(
        b.ctx.clone(),
        DaemonOptions {
            poll: Duration::from_millis(200),
            run_on: RunOn::Server,
        },
        chrono::Utc,
        async {
            let _ = stopped.await;
        },
    ));
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let done = b
            .ctx
            .store
            .runs(Some("Server set"), 0)
            .unwrap()
            .into_iter()
            .filter(|r| r.status == RunStatus::Succeeded)
            .count();
        if done >= 2 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the scheduler did not run the set twice"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop.send(()).unwrap();
    daemon.await.unwrap().unwrap();
    let runs = b.ctx.store.runs(None, 0).unwrap();
    assert!(
        runs.iter()
            .all(|r| r.set_name == "Server set" && r.trigger == "schedule")
    );
    // Stopped between or during runs: nothing is left "running".
    assert!(
        runs.iter().all(|r| r.status != RunStatus::Running),
        "{runs:?}"
    );
    // Two runs of an interval schedule start at least that interval apart.
    let mut starts: Vec<_> = runs.iter().map(|r| r.started).collect();
    starts.sort();
    assert!(
        starts
            .windows(2)
            .all(|w| w[1] - w[0] >= chrono::Duration::seconds(1))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_mailboxes_are_chosen_by_their_purpose_and_all_users_takes_everyone() {
    let sim = SimServer::start(
        TenantSpec {
            seed: 5,
            users: 10,
            messages_per_user: 2,
            shared_mailboxes: None,
        },
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let repo = RepoHandle::create(
        &dir.path().join("repo"),
        "pw",
        qcb_engine::KdfParams::insecure_for_tests(),
        &dir.path().join("cache"),
    )
    .unwrap();
    let graph = Arc::new(super::support::connection(&sim).client().unwrap());
    let everyone = sim.admin().users();
    assert_eq!(everyone.len(), 11, "ten users and one shared mailbox");
    let backup = |selection: MailboxSelection, minutes| {
        let mut o = super::support::mail_opts(at(minutes), "t");
        o.selection = selection;
        qcb_engine::backup(
            graph.clone(),
            repo.repository().clone(),
            o,
            Arc::new(NoProgress),
        )
    };
    let shared = backup(
        MailboxSelection {
            shared: true,
            ..Default::default()
        },
        0,
    )
    .await
    .unwrap();
    assert_eq!(shared.mailboxes, 1);
    let snap = repo.snapshots().unwrap().pop().unwrap();
    let purpose = graph.user_purpose(&snap.mailboxes[0]).await.unwrap();
    assert_eq!(purpose.as_deref(), Some("shared"), "{:?}", snap.mailboxes);
    let all = backup(
        MailboxSelection {
            all_users: true,
            shared: true,
            ..Default::default()
        },
        10,
    )
    .await
    .unwrap();
    assert_eq!(all.mailboxes, 11, "each mailbox once although chosen twice");
    let bad = backup(
        MailboxSelection {
            filter: Some("jobTitle eq 'x'".into()),
            ..Default::default()
        },
        20,
    )
    .await
    .unwrap_err();
    assert!(bad.to_string().contains("jobTitle"), "{bad}");
}
