//! What the desktop's backup-set wizard, dashboard and restore wizard call, against the
//! emulator: sign-in by app secret, device code and browser (secrets filed in the store only
//! when they work), the directory's mailboxes and a lazily read folder tree, the permission
//! check, a set saved from its form, the dashboard's overview and warnings, a run stopped
//! half way, and restore/export of several picked paths.

use std::sync::Arc;
use std::time::Duration;

use qcb_engine::connect::{self, AppSecret};
use qcb_engine::requests::{ExportRequest, RestoreRequest, TargetForm};
use qcb_engine::secrets::{MemoryStore, SecretStore};
use qcb_engine::sets::{
    AuthMethod, ConnectionForm, FoldersForm, MailboxesForm, RunContext, RunOn, RunStatus, SetForm,
    SetStore,
};
use qcb_engine::{MailFormat, NoProgress, OnConflict, RepoHandle};
use qcb_graph_sim::{AuthConfig, SimOptions, SimServer, TenantSpec};

async fn tenant() -> SimServer {
    let options = SimOptions {
        auth: AuthConfig {
            device_code_interval_secs: 1,
            ..AuthConfig::default()
        },
        ..SimOptions::default()
    };
    let spec = TenantSpec {
        seed: 5,
        users: 3,
        messages_per_user: 12,
        shared_mailboxes: Some(1),
    };
    SimServer::start_with(spec, options, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

fn form(sim: &SimServer, auth: AuthMethod) -> ConnectionForm {
    let c = sim.credentials();
    ConnectionForm {
        tenant_id: c.tenant_id,
        client_id: c.client_id,
        auth,
        certificate: None,
        account: None,
        graph_url: sim.graph_url(),
        authority: sim.base_url(),
    }
}

fn secret(s: &str) -> AppSecret {
    AppSecret {
        client_secret: Some(s.into()),
        certificate_pem: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_sign_in_keeps_only_a_working_secret_then_lists_mailboxes_folders_and_permissions() {
    let sim = tenant().await;
    let secrets = Arc::new(MemoryStore::default());
    let f = form(&sim, AuthMethod::ClientSecret);
    let entry = qcb_engine::secrets::client_secret_entry(&f.tenant_id, &f.client_id);

    // Nothing stored yet, nothing typed: a clear "sign in" error.
    let e = connect::client(&f, secrets.clone()).await.unwrap_err();
    assert_eq!(e.code(), "missing_secret", "{e}");
    // A wrong secret is refused and not kept.
    let e = connect::sign_in_app(&f, secret("wrong"), secrets.clone())
        .await
        .unwrap_err();
    assert_eq!(e.code(), "sign_in", "{e}");
    assert_eq!(secrets.get(&entry).unwrap(), None);
    // The right one works and is kept; the next sign-in needs nothing typed.
    let real = sim.credentials().client_secret;
    let who = connect::sign_in_app(&f, secret(&real), secrets.clone())
        .await
        .unwrap();
    assert_eq!(who.account, None);
    assert_eq!(secrets.get(&entry).unwrap().as_deref(), Some(real.as_str()));
    connect::sign_in_app(&f, AppSecret::default(), secrets.clone())
        .await
        .unwrap();
    // A person does not sign in with app credentials.
    let e = connect::sign_in_app(
        &form(&sim, AuthMethod::Delegated),
        secret(&real),
        secrets.clone(),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code(), "invalid_input");

    // The directory: every user, the shared one flagged, by display name.
    let graph = connect::client(&f, secrets.clone()).await.unwrap();
    let boxes = connect::mailboxes(&graph).await.unwrap();
    assert_eq!(boxes.len(), sim.admin().users().len());
    assert_eq!(boxes.iter().filter(|m| m.shared).count(), 1, "{boxes:?}");
    let mut sorted = boxes.clone();
    sorted.sort_by_key(|m| m.display_name.to_lowercase());
    assert_eq!(boxes, sorted);

    // The folder tree, one level at a time, with paths the folder filter takes.
    let alice = sim.admin().users()[0].clone();
    let top = connect::folders(&graph, &alice.user_principal_name, None)
        .await
        .unwrap();
    assert!(
        top.iter().any(|f| f.name == "Inbox" && f.path == "Inbox"),
        "{top:?}"
    );
    let expected: Vec<_> = sim.admin().folders(&alice.id);
    let parent = top
        .iter()
        .find(|f| f.child_count > 0)
        .expect("a folder with subfolders");
    let kids = connect::folders(&graph, &alice.user_principal_name, Some(&parent.id))
        .await
        .unwrap();
    assert_eq!(kids.len() as u32, parent.child_count);
    for k in &kids {
        assert_eq!(k.path, format!("{}/{}", parent.path, k.name));
        assert!(
            expected.iter().any(|e| e.path == k.path),
            "{} in the tenant",
            k.path
        );
    }
    // A grandchild's path is read up the tree.
    if let Some(deeper) = kids.iter().find(|k| k.child_count > 0) {
        let grand = connect::folders(&graph, &alice.user_principal_name, Some(&deeper.id))
            .await
            .unwrap();
        assert!(
            grand
                .iter()
                .all(|g| g.path.starts_with(&format!("{}/", deeper.path)))
        );
    }

    // The permission check for the chosen mailboxes and categories.
    let report = connect::test(
        &f,
        MailboxesForm {
            users: vec![alice.user_principal_name.clone()],
            ..Default::default()
        },
        vec!["mail".into(), "contacts".into()],
        secrets.clone(),
    )
    .await
    .unwrap();
    assert_eq!(report.problems, 0, "{report:?}");
    assert_eq!(report.mailboxes.len(), 1);
    let e = connect::test(&f, MailboxesForm::default(), vec!["faxes".into()], secrets)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("faxes"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_signs_in_by_device_code_or_browser_and_the_token_is_filed_under_them() {
    let sim = tenant().await;
    let secrets = Arc::new(MemoryStore::default());
    let f = form(&sim, AuthMethod::Delegated);
    let bob = sim.admin().users()[1].user_principal_name.clone();
    let admin = sim.admin();
    let shown = std::sync::Mutex::new(None);
    let who = connect::sign_in_device(&f, secrets.clone(), |p| {
        *shown.lock().unwrap() = Some(p.user_code.clone());
        admin.approve_device_code(&p.user_code, &bob).unwrap();
    })
    .await
    .unwrap();
    assert!(shown.lock().unwrap().is_some(), "the code was shown");
    assert_eq!(who.account.as_deref(), Some(bob.as_str()));
    let entry = qcb_engine::secrets::refresh_token_entry(&f.tenant_id, &f.client_id, &bob);
    assert!(secrets.get(&entry).unwrap().is_some());
    // The stored sign-in now serves the wizard's next steps, as that person.
    let signed = ConnectionForm {
        account: Some(bob.clone()),
        ..f.clone()
    };
    let graph = connect::client(&signed, secrets.clone()).await.unwrap();
    let boxes = connect::mailboxes(&graph).await.unwrap();
    assert_eq!(
        boxes.iter().map(|m| m.address.as_str()).collect::<Vec<_>>(),
        [sim.admin().users()[1].mail.as_str()],
        "a person sees their own mailbox"
    );

    // The browser flow: the "browser" fills in the emulator's sign-in form.
    let alice = sim.admin().users()[0].user_principal_name.clone();
    let login = alice.clone();
    let who = connect::sign_in_browser(&f, secrets.clone(), move |url| {
        let url = url.to_string();
        tokio::spawn(async move {
            let http = reqwest::Client::new();
            let form: Vec<(String, String)> = url::Url::parse(&url)
                .unwrap()
                .query_pairs()
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .chain([
                    ("login".to_string(), login),
                    ("consent".to_string(), "accept".to_string()),
                ])
                .collect();
            let action = url.split('?').next().unwrap().to_string();
            // The emulator answers with a redirect to the app's loopback listener.
            http.post(&action).form(&form).send().await.unwrap();
        });
        Ok(())
    })
    .await
    .unwrap();
    assert_eq!(who.account.as_deref(), Some(alice.as_str()));
    let entry = qcb_engine::secrets::refresh_token_entry(&f.tenant_id, &f.client_id, &alice);
    assert!(secrets.get(&entry).unwrap().is_some());
}

struct Desk {
    sim: SimServer,
    dir: tempfile::TempDir,
    store: Arc<SetStore>,
    secrets: Arc<MemoryStore>,
    repo_path: String,
}

async fn desk() -> Desk {
    let sim = tenant().await;
    let dir = tempfile::tempdir().unwrap();
    let repo_path = dir.path().join("repo").display().to_string();
    RepoHandle::create(
        std::path::Path::new(&repo_path),
        "repo-pw",
        qcb_engine::KdfParams::insecure_for_tests(),
        &dir.path().join("cache"),
    )
    .unwrap();
    let store = Arc::new(SetStore::open(&dir.path().join("sets.sqlite")).unwrap());
    Desk {
        sim,
        dir,
        store,
        secrets: Arc::new(MemoryStore::default()),
        repo_path,
    }
}

impl Desk {
    fn form(&self, name: &str) -> SetForm {
        SetForm {
            name: name.into(),
            run_on: RunOn::Client,
            repository: self.repo_path.clone(),
            schedule: "daily 02:30".into(),
            connection: form(&self.sim, AuthMethod::ClientSecret),
            mailboxes: MailboxesForm {
                users: vec![self.sim.admin().users()[0].user_principal_name.clone()],
                ..Default::default()
            },
            categories: vec!["mail".into()],
            folders: FoldersForm::default(),
            retention: None,
            mailbox_categories: None,
        }
    }

    fn ctx(&self) -> RunContext {
        RunContext {
            store: self.store.clone(),
            secrets: self.secrets.clone(),
            cache_dir: self.dir.path().join("cache"),
            hostname: "desk".into(),
            trigger: "manual".into(),
            mailbox_concurrency: None,
        }
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_set_saved_from_the_form_shows_on_the_dashboard_runs_and_stops() {
    let d = desk().await;
    let store = d.store.clone();
    qcb_engine::api::set_save(store.clone(), d.form("Mine"), false)
        .await
        .unwrap();
    // The same name in another case is refused; a bad form names its field.
    let e = qcb_engine::api::set_save(store.clone(), d.form("MINE"), false)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("already exists"), "{e}");
    let mut bad = d.form("Other");
    bad.schedule = "now and then".into();
    let e = qcb_engine::api::set_save(store.clone(), bad, false)
        .await
        .unwrap_err();
    assert_eq!(e.code(), "invalid_input");
    assert!(e.to_string().contains("now and then"), "{e}");
    assert_eq!(
        qcb_engine::api::set_get(store.clone(), "Mine".into())
            .await
            .unwrap(),
        SetForm {
            mailbox_categories: Some(Default::default()),
            ..d.form("Mine")
        }
    );

    // Before its secrets are stored, the dashboard says what is missing.
    let over = qcb_engine::api::sets_overview(store.clone(), d.secrets.clone(), None, vec![])
        .await
        .unwrap();
    assert_eq!(over.len(), 1);
    let codes: Vec<_> = over[0].warnings.iter().map(|w| w.code.as_str()).collect();
    assert_eq!(codes, ["missing_secret", "missing_secret"], "{over:?}");
    assert!(over[0].next_run.is_some() && over[0].last_run.is_none());
    assert_eq!(over[0].mailboxes_label, d.form("Mine").mailboxes.users[0]);

    // A run without its repository password fails, is recorded, and the dashboard says so.
    let f = d.form("Mine");
    connect::sign_in_app(
        &f.connection,
        secret(&d.sim.credentials().client_secret),
        d.secrets.clone(),
    )
    .await
    .unwrap();
    let e = qcb_engine::sets::run_set(&d.ctx(), "Mine", chrono::Utc::now(), Arc::new(NoProgress))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "missing_secret");
    let over = qcb_engine::api::sets_overview(store.clone(), d.secrets.clone(), None, vec![])
        .await
        .unwrap();
    assert_eq!(over[0].last_run.as_ref().unwrap().status, RunStatus::Failed);
    assert!(
        over[0].warnings.iter().any(|w| w.code == "last_run_failed"),
        "{over:?}"
    );

    // With the password stored, a run succeeds; size and sparkline follow.
    d.secrets
        .set(
            &qcb_engine::secrets::repository_password_entry(&d.repo_path),
            "repo-pw",
        )
        .unwrap();
    let r = qcb_engine::sets::run_set(&d.ctx(), "Mine", chrono::Utc::now(), Arc::new(NoProgress))
        .await
        .unwrap();
    assert_eq!(r.status, RunStatus::Succeeded);
    let over = qcb_engine::api::sets_overview(
        store.clone(),
        d.secrets.clone(),
        Some(d.handle()),
        vec!["mine".into()],
    )
    .await
    .unwrap();
    let o = &over[0];
    assert!(o.warnings.is_empty(), "{:?}", o.warnings);
    assert!(o.running, "the caller says it runs");
    assert_eq!(o.items_per_run, [r.backup.items]);
    assert!(o.size_bytes.unwrap() > 0);
    assert_eq!(
        store
            .set_of_snapshot(&r.backup.snapshot_id)
            .unwrap()
            .as_deref(),
        Some("Mine")
    );

    // Stop: the run ends as cancelled and the history says interrupted, by the user.
    let stop = tokio::time::sleep(Duration::from_millis(1));
    let e = qcb_engine::sets::run_set_until(
        &d.ctx(),
        "Mine",
        chrono::Utc::now(),
        Arc::new(NoProgress),
        stop,
    )
    .await
    .unwrap_err();
    assert_eq!(e.code(), "cancelled");
    let runs = qcb_engine::api::history(store.clone(), Some("Mine".into()), 0)
        .await
        .unwrap();
    assert_eq!(runs[0].status, RunStatus::Interrupted);
    assert!(
        runs[0]
            .message
            .as_deref()
            .unwrap()
            .contains("stopped by the user")
    );

    // The demo tenant moving port re-points its sets, and only those.
    let c = d.sim.credentials();
    assert_eq!(
        store
            .repoint_tenant(
                &c.tenant_id,
                "http://127.0.0.1:1/v1.0",
                "http://127.0.0.1:1",
                chrono::Utc::now()
            )
            .unwrap(),
        1
    );
    let moved = store.get("Mine").unwrap().set.connection;
    assert_eq!(moved.graph_url, "http://127.0.0.1:1/v1.0");
    assert_eq!(
        store
            .repoint_tenant(
                "another-tenant",
                "http://x/v1.0",
                "http://x",
                chrono::Utc::now()
            )
            .unwrap(),
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn picked_items_are_restored_and_exported_together_and_a_bad_pick_fails_alone() {
    let d = desk().await;
    let repo = d.handle();
    let graph = Arc::new(super::support::connection(&d.sim).client().unwrap());
    let alice = d.sim.admin().users()[0].clone();
    let mut opts = qcb_engine::BackupOptions::new(chrono::Utc::now(), "desk");
    opts.selection = qcb_engine::MailboxSelection::users(vec![alice.user_principal_name.clone()]);
    opts.categories = qcb_engine::Categories::parse("mail").unwrap();
    let snap = qcb_engine::backup(
        graph.clone(),
        repo.repository().clone(),
        opts,
        Arc::new(NoProgress),
    )
    .await
    .unwrap()
    .snapshot_id;
    let inbox = format!("/{}/Mail/Inbox", alice.user_principal_name);
    let listing = qcb_engine::api::browse(repo.clone(), snap.clone(), inbox.clone())
        .await
        .unwrap();
    let picked: Vec<String> = listing
        .items
        .iter()
        .take(2)
        .map(|i| format!("{inbox}/{}", i.id))
        .collect();
    assert_eq!(picked.len(), 2);
    let request = |paths: Vec<String>, dry_run: bool| RestoreRequest {
        snapshot_id: snap.clone(),
        paths,
        target_mailbox: None,
        target: TargetForm::Folder {
            name: "Picked".into(),
        },
        recursive: true,
        on_conflict: OnConflict::Skip,
        dry_run,
        set_name: None,
    };
    let restore = |req| {
        qcb_engine::requests::restore_request(
            graph.clone(),
            repo.clone(),
            req,
            Arc::new(NoProgress),
        )
    };
    let dry = restore(request(picked.clone(), true)).await.unwrap();
    assert_eq!(dry.len(), 2);
    assert!(dry.iter().all(|r| r.dry_run && r.items_restored == 0));
    let folder_count = || {
        d.sim
            .admin()
            .folders(&alice.id)
            .iter()
            .filter(|f| f.path.starts_with("Picked"))
            .count()
    };
    assert_eq!(folder_count(), 0, "a dry run writes nothing");
    let mut with_bad = picked.clone();
    with_bad.push(format!("{inbox}/no-such-item"));
    let done = restore(request(with_bad, false)).await.unwrap();
    assert_eq!(done.len(), 3);
    assert_eq!(done[0].items_restored + done[1].items_restored, 2);
    assert_eq!(done[2].failed.len(), 1, "{:?}", done[2]);
    assert!(
        done[2].failed[0].reason.contains("not_found"),
        "{:?}",
        done[2].failed
    );
    let picked_folder = d
        .sim
        .admin()
        .folders(&alice.id)
        .into_iter()
        .find(|f| f.path == "Picked/Inbox")
        .expect("restored into Picked/Inbox");
    assert_eq!(picked_folder.total_item_count, 2);
    // Again: both are already there.
    let again = restore(request(picked.clone(), false)).await.unwrap();
    assert!(
        again
            .iter()
            .all(|r| r.items_restored == 0 && r.items_skipped == 1)
    );
    let e = restore(request(vec![], false)).await.unwrap_err();
    assert_eq!(e.code(), "invalid_input");

    // Export: both picks into one folder; a zip takes one pick only.
    let out = d.dir.path().join("export");
    let export = |paths: Vec<String>, zip: bool| ExportRequest {
        snapshot_id: snap.clone(),
        paths,
        recursive: true,
        mail_format: MailFormat::Eml,
        event_files: false,
        target: out.display().to_string(),
        zip,
        dry_run: false,
        allow_non_empty: false,
    };
    let e = qcb_engine::requests::export_request(
        repo.clone(),
        export(picked.clone(), true),
        Arc::new(NoProgress),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code(), "invalid_input");
    let reports = qcb_engine::requests::export_request(
        repo.clone(),
        export(picked, false),
        Arc::new(NoProgress),
    )
    .await
    .unwrap();
    assert_eq!(reports.iter().map(|r| r.messages).sum::<u64>(), 2);
    // The folder now holds files: another export there must say it may.
    let e = qcb_engine::requests::export_request(
        repo.clone(),
        export(vec![inbox.clone()], false),
        Arc::new(NoProgress),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code(), "invalid_input", "{e}");
    let files = walk(&out);
    assert_eq!(
        files.iter().filter(|p| p.ends_with(".eml")).count(),
        2,
        "{files:?}"
    );

    // A stopped export ends between folders with `cancelled`.
    struct Stopped;
    impl qcb_engine::Progress for Stopped {
        fn event(&self, _: qcb_engine::ProgressEvent) {}
        fn stopped(&self) -> bool {
            true
        }
    }
    let e = qcb_engine::requests::export_request(
        repo.clone(),
        ExportRequest {
            target: d.dir.path().join("export2").display().to_string(),
            ..export(vec![inbox], false)
        },
        Arc::new(Stopped),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code(), "cancelled");
}

fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p.display().to_string());
        }
    }
    out
}
