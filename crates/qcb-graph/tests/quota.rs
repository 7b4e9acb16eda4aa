//! A full mailbox (507 Insufficient Storage, `ErrorQuotaExceeded`) is reported once with its
//! Graph code, not retried like a busy service; and `update_mailbox_settings` against the
//! emulator.

use qcb_graph::{ClientSecret, GraphClient, GraphConfig};
use qcb_graph_sim::{AppRegistration, SimServer, TenantSpec};
use serde_json::json;

async fn sim() -> SimServer {
    SimServer::start(
        TenantSpec {
            seed: 5,
            users: 1,
            messages_per_user: 20,
            shared_mailboxes: None,
        },
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap()
}

fn client(sim: &SimServer, client_id: String, secret: String) -> GraphClient {
    let c = sim.credentials();
    GraphClient::new(GraphConfig {
        graph_url: sim.graph_url(),
        authority: sim.base_url(),
        tenant_id: c.tenant_id,
        client_id,
        client_secret: ClientSecret::new(secret),
        retry: Default::default(),
    })
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_mailbox_is_reported_with_its_code_and_not_retried() {
    let sim = sim().await;
    let c = sim.credentials();
    let g = client(&sim, c.client_id, c.client_secret);
    let admin = sim.admin();
    let user = admin.users().remove(0);
    let size = admin.mailbox_size(&user.id).unwrap();
    admin
        .set_mailbox_quota(&user.id, Some(size + 1000))
        .unwrap();
    admin.clear_request_log();
    let message = json!({
        "subject": "does not fit",
        "body": {"contentType": "text", "content": "x".repeat(5000)},
    });
    let e = g
        .create_message(&user.id, "inbox", &message)
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(507), "{e}");
    assert_eq!(e.code(), Some("ErrorQuotaExceeded"), "{e}");
    assert!(e.is_quota_exceeded());
    assert!(!e.is_fatal());
    let posts = admin
        .request_log()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/messages"))
        .count();
    assert_eq!(posts, 1, "sent once, not retried");

    // a folder (adds nothing) is refused once the mailbox is at its quota
    admin.set_mailbox_quota(&user.id, Some(size)).unwrap();
    let e = g
        .create_folder(&user.id, None, "Restored")
        .await
        .unwrap_err();
    assert!(e.is_quota_exceeded(), "{e}");

    // with room it passes
    admin.set_mailbox_quota(&user.id, None).unwrap();
    g.create_message(&user.id, "inbox", &message).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn mailbox_settings_are_updated_with_mailbox_settings_read_write() {
    let sim = sim().await;
    let admin = sim.admin();
    let user = admin.users().remove(0);
    // the tenant's own app may only read them
    let c = sim.credentials();
    let reader = client(&sim, c.client_id, c.client_secret);
    let e = reader
        .update_mailbox_settings(&user.id, &json!({"timeZone": "UTC"}))
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(403), "{e}");

    let reg = admin
        .register_app(AppRegistration {
            client_secret: Some("s3cret".into()),
            application_permissions: vec![
                "MailboxSettings.ReadWrite".into(),
                "User.Read.All".into(),
            ],
            ..AppRegistration::default()
        })
        .unwrap();
    let g = client(&sim, reg.client_id, "s3cret".into());
    let updated = g
        .update_mailbox_settings(
            &user.id,
            &json!({
                "timeZone": "Eastern Standard Time",
                "automaticRepliesSetting": {"status": "alwaysEnabled", "externalReplyMessage": "Away"},
            }),
        )
        .await
        .unwrap();
    assert_eq!(updated["timeZone"], "Eastern Standard Time");
    assert_eq!(
        updated["automaticRepliesSetting"]["status"],
        "alwaysEnabled"
    );
    let settings = g.mailbox_settings(&user.id).await.unwrap();
    assert_eq!(settings["timeZone"], "Eastern Standard Time");
    assert_eq!(
        settings["automaticRepliesSetting"]["externalReplyMessage"],
        "Away"
    );

    let e = g
        .update_mailbox_settings(&user.id, &json!({"userPurpose": "shared"}))
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(400), "{e}");
}
