use std::sync::Arc;

use qcb_engine::{Connection, EngineError, NoProgress};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::support::{at, connection, world};

async fn backup_with(
    conn: Connection,
    repo: &qcb_engine::RepoHandle,
) -> Result<qcb_engine::BackupReport, EngineError> {
    let graph = Arc::new(conn.client()?);
    qcb_engine::backup(
        graph,
        repo.repository().clone(),
        super::support::mail_opts(at(0), "t"),
        Arc::new(NoProgress),
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn unreachable_graph_fails_clearly_and_stores_nothing() {
    let w = world(10).await;
    w.backup(0).await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut conn = connection(&w.sim);
    conn.graph_url = format!("http://127.0.0.1:{port}/v1.0");
    conn.authority = format!("http://127.0.0.1:{port}");
    let err = backup_with(conn, &w.repo).await.unwrap_err();
    assert_eq!(err.code(), "graph");
    assert!(
        err.to_string().contains(&format!("127.0.0.1:{port}")),
        "{err}"
    );
    assert_eq!(
        w.repo.snapshots().unwrap().len(),
        1,
        "the earlier snapshot is untouched and no new one appears"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_client_secret_is_a_sign_in_error() {
    let w = world(10).await;
    let mut conn = connection(&w.sim);
    conn.client_secret = "not the secret".into();
    let err = backup_with(conn, &w.repo).await.unwrap_err();
    assert_eq!(err.code(), "sign_in", "{err}");
    assert!(
        err.to_string().contains("AADSTS"),
        "Entra's error code reaches the user: {err}"
    );
    assert!(!err.to_string().contains("not the secret"));
    assert!(w.repo.snapshots().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_mailbox_is_reported_by_name() {
    let w = world(10).await;
    let mut opts = super::support::mail_opts(at(0), "t");
    opts.mailboxes = vec!["nobody@contoso.example".into()];
    let err = qcb_engine::backup(
        w.graph.clone(),
        w.repo.repository().clone(),
        opts,
        Arc::new(NoProgress),
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), "not_found");
    assert!(err.to_string().contains("nobody@contoso.example"), "{err}");
}

/// A server that signs in fine but answers every Graph call with broken JSON.
async fn malformed_graph() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let n = s.read(&mut buf).await.unwrap_or(0);
                let req = String::from_utf8_lossy(&buf[..n]);
                let body = if req.contains("/oauth2/v2.0/token") {
                    r#"{"token_type":"Bearer","expires_in":3599,"access_token":"t"}"#
                } else {
                    r#"{"value": [ {"id": "#
                };
                let resp = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = s.write_all(resp.as_bytes()).await;
            });
        }
    });
    port
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_json_from_graph_is_a_clear_error() {
    let w = world(10).await;
    let port = malformed_graph().await;
    let conn = Connection {
        graph_url: format!("http://127.0.0.1:{port}/v1.0"),
        authority: format!("http://127.0.0.1:{port}"),
        tenant_id: "t".into(),
        client_id: "c".into(),
        client_secret: "s".into(),
    };
    let err = backup_with(conn, &w.repo).await.unwrap_err();
    assert_eq!(err.code(), "graph");
    assert!(err.to_string().contains("malformed"), "{err}");
    assert!(w.repo.snapshots().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn browsing_an_unknown_snapshot_or_path_is_not_found() {
    let w = world(10).await;
    w.backup(0).await;
    assert_eq!(
        w.repo.browse("deadbeef", "").unwrap_err().code(),
        "not_found"
    );
    assert_eq!(
        w.repo
            .browse("latest", "/nobody@x/Inbox")
            .unwrap_err()
            .code(),
        "not_found"
    );
    let listing = w.repo.browse("latest", "").unwrap();
    assert_eq!(listing.folders.len(), 2);
}

/// A keychain that is never available.
struct BrokenKeychain;

impl qcb_engine::secrets::SecretStore for BrokenKeychain {
    fn get(&self, _: &str) -> qcb_engine::Result<Option<String>> {
        Err(qcb_engine::EngineError::Keychain(
            "the OS keychain is not available".into(),
        ))
    }
    fn set(&self, name: &str, _: &str) -> qcb_engine::Result<()> {
        self.get(name).map(|_| ())
    }
    fn delete(&self, name: &str) -> qcb_engine::Result<()> {
        self.get(name).map(|_| ())
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_remembered_password_opens_the_repository_and_a_broken_keychain_only_warns() {
    use qcb_engine::secrets::{MemoryStore, SecretStore};
    use std::sync::Arc;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("repo");
    let cache = dir.path().join("cache");
    let store: Arc<dyn SecretStore> = Arc::new(MemoryStore::default());
    let open = |password: &str, create: bool, remember: bool, store: Arc<dyn SecretStore>| {
        qcb_engine::api::open_repository_for_user(
            qcb_engine::Location::Local(path.clone()),
            password.into(),
            cache.clone(),
            create,
            remember,
            store,
        )
    };
    let o = open("pw-1", true, true, store.clone()).await.unwrap();
    assert!(o.keychain_warning.is_none());
    let entry = qcb_engine::secrets::repository_password_entry(&path.display().to_string());
    assert_eq!(store.get(&entry).unwrap().as_deref(), Some("pw-1"));
    // The repository's key is remembered beside it, so opening skips the key derivation.
    let key_entry = qcb_engine::secrets::remembered_key_entry(&path.display().to_string());
    let key = store.get(&key_entry).unwrap().expect("a remembered key");
    // An empty password uses the remembered one.
    open("", false, true, store.clone()).await.unwrap();
    assert_eq!(store.get(&key_entry).unwrap(), Some(key));
    // Not remembering forgets both; then an empty password is a clear error.
    open("pw-1", false, false, store.clone()).await.unwrap();
    assert_eq!(store.get(&entry).unwrap(), None);
    assert_eq!(store.get(&key_entry).unwrap(), None);
    let e = open("", false, false, store.clone()).await.err().unwrap();
    assert_eq!(e.code(), "invalid_input");
    // A wrong password is still wrong, and nothing is remembered for it.
    let e = open("nope", false, true, store.clone())
        .await
        .err()
        .unwrap();
    assert_eq!(e.code(), "wrong_password");
    assert_eq!(store.get(&entry).unwrap(), None);
    assert_eq!(store.get(&key_entry).unwrap(), None);
    // A broken keychain does not stop the repository from opening.
    let o = open("pw-1", false, true, Arc::new(BrokenKeychain))
        .await
        .unwrap();
    assert!(o.keychain_warning.unwrap().contains("not available"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_person_signed_in_with_a_device_code_backs_up_their_own_mailbox() {
    use qcb_graph::DeviceCodePrompt;
    let sim = qcb_graph_sim::SimServer::start_with(
        qcb_graph_sim::TenantSpec {
            seed: 9,
            users: 2,
            messages_per_user: 10,
            shared_mailboxes: None,
        },
        qcb_graph_sim::SimOptions {
            auth: qcb_graph_sim::AuthConfig {
                device_code_interval_secs: 1,
                ..Default::default()
            },
            ..Default::default()
        },
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let conn = connection(&sim);
    let sign_in = conn.sign_in().unwrap();
    let shown: Arc<std::sync::Mutex<Option<DeviceCodePrompt>>> = Arc::default();
    let shown2 = shown.clone();
    // The refresh token goes to the secret store (the OS keychain in the app).
    let secrets: Arc<dyn qcb_engine::secrets::SecretStore> =
        Arc::new(qcb_engine::secrets::MemoryStore::default());
    let entry = qcb_engine::secrets::refresh_token_entry("contoso", "app", "bob");
    let store = Arc::new(qcb_engine::secrets::TokenInStore::new(
        secrets.clone(),
        &entry,
    ));
    let flow = sign_in.device_code(store.clone(), move |p| {
        *shown2.lock().unwrap() = Some(p.clone());
    });
    let approve = async {
        let code = loop {
            if let Some(p) = shown.lock().unwrap().clone() {
                break p.user_code;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        };
        sim.admin()
            .approve_device_code(&code, "bob@contoso.example")
            .unwrap();
    };
    let (creds, ()) = tokio::join!(flow, approve);
    let graph = Arc::new(conn.client_with(creds.unwrap()).unwrap());
    let dir = tempfile::tempdir().unwrap();
    let repo = qcb_engine::RepoHandle::create(
        &dir.path().join("repo"),
        "pw",
        qcb_engine::KdfParams::insecure_for_tests(),
        &dir.path().join("cache"),
    )
    .unwrap();
    let report = qcb_engine::backup(
        graph,
        repo.repository().clone(),
        qcb_engine::BackupOptions::new(at(0), "t"),
        Arc::new(NoProgress),
    )
    .await
    .unwrap();
    assert_eq!(report.mailboxes, 1);
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    let snap = repo.snapshots().unwrap().pop().unwrap();
    assert_eq!(snap.mailboxes, ["bob@contoso.example"]);
    assert!(report.items > 10);

    // A later run signs in from the stored refresh token alone, and the token rotates.
    let first = secrets.get(&entry).unwrap().expect("refresh token stored");
    let later = conn
        .client_with(qcb_graph::Credentials::delegated(
            store,
            qcb_graph::DEFAULT_DELEGATED_SCOPES,
        ))
        .unwrap();
    assert_eq!(
        later.me().await.unwrap().user_principal_name,
        "bob@contoso.example"
    );
    let second = secrets.get(&entry).unwrap().unwrap();
    assert_ne!(first, second, "every refresh stores the new refresh token");
}
