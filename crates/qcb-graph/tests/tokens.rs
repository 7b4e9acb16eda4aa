//! Delegated tokens over time: rotation into the store, expiry mid-run handled by one
//! refresh, revocation; the same 401 rule for app-only sign-in.

mod common;

use std::sync::Arc;
use std::time::Duration;

use qcb_graph::{
    Credentials, GraphClient, GraphConfig, GraphError, MemoryTokenStore, RefreshToken,
};
use qcb_graph_sim::AuthConfig;

use common::{config, fast_polling, signed_in_alice, start, token_calls};

#[tokio::test]
async fn refresh_tokens_rotate_into_the_store() {
    let sim = start(fast_polling()).await;
    let store = Arc::new(MemoryTokenStore::new());
    let creds = signed_in_alice(&sim, store.clone()).await;
    let client = GraphClient::with_credentials(config(&sim), creds).expect("client");
    let me = client.me().await.expect("me");
    assert_eq!(store.history().len(), 1);

    for round in 2..=3 {
        // the access token expires on the server: the next request refreshes
        sim.admin().advance_clock(Duration::from_secs(3601));
        client.mail_folders(&me.id).await.expect("folders");
        let history = store.history();
        assert_eq!(history.len(), round, "each refresh hands over a new token");
        assert_ne!(history[round - 1], history[round - 2]);
    }

    // a later run: a new client from the stored token alone
    let later =
        GraphClient::with_credentials(config(&sim), Credentials::delegated(store.clone(), &[]))
            .expect("client");
    assert_eq!(later.me().await.expect("me").id, me.id);
    assert_eq!(store.history().len(), 4);
    let latest = store.history().last().cloned().expect("latest");
    assert!(store.history()[..3].iter().all(|t| *t != latest));
    sim.shutdown().await;
}

#[tokio::test]
async fn expiry_mid_run_costs_one_refresh() {
    let sim = start(AuthConfig {
        token_lifetime_secs: 60,
        ..fast_polling()
    })
    .await;
    let store = Arc::new(MemoryTokenStore::new());
    let creds = signed_in_alice(&sim, store.clone()).await;
    let client = GraphClient::with_credentials(config(&sim), creds).expect("client");
    let me = client.me().await.expect("me");
    let folders = client.mail_folders(&me.id).await.expect("folders");
    let inbox = folders
        .iter()
        .max_by_key(|f| f.total_item_count)
        .expect("a folder");
    assert!(inbox.total_item_count >= 2);
    sim.admin().clear_request_log();

    sim.admin().advance_clock(Duration::from_secs(61));
    let page = client
        .messages_delta(&me.id, &inbox.id, None, 1)
        .await
        .expect("delta after expiry");
    let next = page.next_link.expect("more pages");
    client
        .messages_delta(&me.id, &inbox.id, Some(&next), 1)
        .await
        .expect("next page");
    let log = sim.admin().request_log();
    let statuses: Vec<(String, u16)> = log.iter().map(|r| (r.method.clone(), r.status)).collect();
    assert_eq!(
        statuses,
        [
            ("GET".to_string(), 401),
            ("POST".to_string(), 200),
            ("GET".to_string(), 200),
            ("GET".to_string(), 200)
        ],
        "one 401, one refresh, the retry, then the new token is cached: {log:?}"
    );
    assert_eq!(store.history().len(), 2);
    sim.shutdown().await;
}

#[tokio::test]
async fn app_only_expiry_mid_run_costs_one_sign_in() {
    let sim = start(AuthConfig {
        token_lifetime_secs: 60,
        ..AuthConfig::default()
    })
    .await;
    let c = sim.credentials();
    let cfg = GraphConfig {
        client_secret: qcb_graph::ClientSecret::new(c.client_secret.clone()),
        ..config(&sim)
    };
    let client = GraphClient::new(cfg).expect("client");
    let users = client.users().await.expect("users");
    client.users().await.expect("users again, cached token");
    assert_eq!(token_calls(&sim.admin().request_log()).len(), 1);
    sim.admin().advance_clock(Duration::from_secs(61));
    client.user(&users[0].id).await.expect("user after expiry");
    let log = sim.admin().request_log();
    assert_eq!(token_calls(&log).len(), 2);
    assert_eq!(log.iter().filter(|r| r.status == 401).count(), 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn revocation_means_signing_in_again() {
    let sim = start(fast_polling()).await;
    let store = Arc::new(MemoryTokenStore::new());
    let creds = signed_in_alice(&sim, store.clone()).await;
    let client = GraphClient::with_credentials(config(&sim), creds).expect("client");
    let me = client.me().await.expect("me");
    sim.admin().revoke_tokens();
    let err = client.mail_folders(&me.id).await.expect_err("revoked");
    match &err {
        GraphError::SignIn { code, message, .. } => {
            assert_eq!(code, "invalid_grant");
            assert!(message.contains("must sign in again"), "{message}");
            assert!(message.contains("AADSTS50173"), "{message}");
        }
        other => panic!("expected a sign-in error, got {other:?}"),
    }
    assert!(err.needs_sign_in() && err.is_fatal());
    // the stored token is refused as well, from a new client
    let later = GraphClient::with_credentials(config(&sim), Credentials::delegated(store, &[]))
        .expect("client");
    assert!(later.me().await.expect_err("revoked").needs_sign_in());
    // an unknown token, and nothing stored
    let bogus = Arc::new(MemoryTokenStore::with(RefreshToken::new("1.AQbogus")));
    let c = GraphClient::with_credentials(config(&sim), Credentials::delegated(bogus, &[]))
        .expect("client");
    assert!(c.me().await.expect_err("bogus").needs_sign_in());
    let empty = Arc::new(MemoryTokenStore::new());
    let c = GraphClient::with_credentials(config(&sim), Credentials::delegated(empty, &[]))
        .expect("client");
    let err = c.me().await.expect_err("nothing stored");
    assert!(
        matches!(&err, GraphError::SignIn { code, .. } if code == "not_signed_in"),
        "{err:?}"
    );
    assert!(err.needs_sign_in());
    sim.shutdown().await;
}
