//! A repository on S3-compatible storage the way the desktop opens it: keys typed once, kept
//! in the secret store with the password when asked, found there next time, and read from
//! there by a backup set that backs up into the bucket (no environment variables).

use std::sync::Arc;

use qcb_engine::secrets::{MemoryStore, SecretStore};
use qcb_engine::sets::{RunContext, RunStatus, SetForm, SetStore};
use qcb_engine::{Location, NoProgress, Secret};

#[path = "../../../qcb-repo/tests/support/seaweedfs.rs"]
mod seaweedfs;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_s3_repository_opens_with_remembered_keys_and_a_set_backs_up_into_it() {
    let server = tokio::task::spawn_blocking(seaweedfs::SeaweedFs::start)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let secrets = Arc::new(MemoryStore::default());
    let store: Arc<dyn SecretStore> = secrets.clone();
    let typed = server.location("desk/repo");
    let url = typed.to_string();
    let open = |s3: qcb_engine::S3Location, password: &str, create: bool, remember: bool| {
        qcb_engine::api::open_repository_for_user(
            Location::S3(s3),
            password.into(),
            dir.path().join("cache"),
            create,
            remember,
            store.clone(),
        )
    };
    let opened = open(typed.clone(), "s3-pw", true, true).await.unwrap();
    assert_eq!(opened.handle.repository().location(), url);
    let (id_entry, key_entry) = qcb_engine::secrets::s3_key_entries(&url);
    assert_eq!(
        secrets.get(&key_entry).unwrap().as_deref(),
        Some(seaweedfs::SECRET_KEY)
    );
    assert_eq!(
        secrets.get(&id_entry).unwrap().as_deref(),
        Some(seaweedfs::ACCESS_KEY)
    );

    // Next time: nothing typed but the location; password and secret key come from the store.
    let blank = qcb_engine::S3Location {
        secret_access_key: Secret::new(""),
        ..typed.clone()
    };
    open(blank.clone(), "", false, true).await.unwrap();
    // A wrong secret key is refused by the server and not remembered.
    let wrong = qcb_engine::S3Location {
        secret_access_key: Secret::new("not-the-key"),
        ..typed.clone()
    };
    assert!(open(wrong, "s3-pw", false, true).await.is_err());
    assert_eq!(
        secrets.get(&key_entry).unwrap().as_deref(),
        Some(seaweedfs::SECRET_KEY)
    );

    // A backup set with the bucket as its repository runs on the stored keys.
    let sim = qcb_graph_sim::SimServer::start(
        qcb_graph_sim::TenantSpec {
            seed: 3,
            users: 1,
            messages_per_user: 6,
            shared_mailboxes: None,
        },
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let c = sim.credentials();
    let form: SetForm = serde_json::from_value(serde_json::json!({
        "name": "To the bucket", "runOn": "client", "repository": url, "schedule": "manual",
        "connection": { "tenantId": c.tenant_id, "clientId": c.client_id, "auth": "client-secret",
            "certificate": null, "account": null,
            "graphUrl": sim.graph_url(), "authority": sim.base_url() },
        "mailboxes": { "allUsers": true, "users": [], "filter": null, "shared": false },
        "categories": ["mail"], "folders": { "include": [], "exclude": [] }, "retention": null
    }))
    .unwrap();
    let sets = Arc::new(SetStore::open(&dir.path().join("sets.sqlite")).unwrap());
    sets.save(&form.to_set(None).unwrap(), false, chrono::Utc::now())
        .unwrap();
    secrets
        .set(
            &qcb_engine::secrets::client_secret_entry(&c.tenant_id, &c.client_id),
            &c.client_secret,
        )
        .unwrap();
    let ctx = RunContext {
        store: sets,
        secrets: secrets.clone(),
        cache_dir: dir.path().join("cache"),
        hostname: "desk".into(),
        trigger: "manual".into(),
        mailbox_concurrency: None,
    };
    let report = qcb_engine::sets::run_set(
        &ctx,
        "To the bucket",
        chrono::Utc::now(),
        Arc::new(NoProgress),
    )
    .await
    .unwrap();
    assert_eq!(report.status, RunStatus::Succeeded);
    assert_eq!(report.backup.items, 6);
    // Not remembering forgets the keys as well as the password.
    open(typed, "s3-pw", false, false).await.unwrap();
    assert_eq!(secrets.get(&key_entry).unwrap(), None);
    assert_eq!(secrets.get(&id_entry).unwrap(), None);
}
