//! The device code flow: polling at the server's interval, `slow_down`, approval, denial,
//! expiry.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use qcb_graph::{DeviceCodePrompt, GraphClient, GraphError, MemoryTokenStore, SignIn};
use qcb_graph_sim::{AuthConfig, SimServer};

use common::{config, fast_polling, start, token_calls};

/// Waits until the emulator has answered `n` token calls; returns when it saw them.
async fn until_token_calls(sim: &SimServer, n: usize) -> Instant {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if token_calls(&sim.admin().request_log()).len() >= n {
            return Instant::now();
        }
        assert!(Instant::now() < deadline, "no {n} polls within 30 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn approved_after_a_few_polls() {
    let sim = start(fast_polling()).await;
    let store = Arc::new(MemoryTokenStore::new());
    let shown: Arc<Mutex<Option<DeviceCodePrompt>>> = Arc::default();
    let shown2 = shown.clone();
    let sign_in = SignIn::new(&config(&sim)).expect("sign-in");
    let flow = sign_in.device_code(store.clone(), move |p| {
        *shown2.lock().expect("lock") = Some(p.clone());
    });
    let approve = async {
        until_token_calls(&sim, 2).await;
        let code = shown
            .lock()
            .expect("lock")
            .as_ref()
            .expect("prompt shown")
            .user_code
            .clone();
        sim.admin()
            .approve_device_code(&code, "bob@contoso.example")
            .expect("approve");
    };
    let (creds, ()) = tokio::join!(flow, approve);
    let creds = creds.expect("signed in");
    let prompt = shown.lock().expect("lock").clone().expect("prompt");
    assert!(prompt.verification_uri.ends_with("/devicelogin"));
    assert!(prompt.message.contains(&prompt.user_code));
    assert_eq!(prompt.expires_in, Duration::from_secs(900));
    let log = sim.admin().request_log();
    let polls = token_calls(&log);
    assert_eq!(polls.len(), 3, "two pending answers, then the tokens");
    assert_eq!(
        polls.iter().map(|r| r.status).collect::<Vec<_>>(),
        [400, 400, 200]
    );
    assert_eq!(store.history().len(), 1);
    let client = GraphClient::with_credentials(config(&sim), creds).expect("client");
    assert_eq!(
        client.me().await.expect("me").user_principal_name,
        "bob@contoso.example"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn slow_down_adds_five_seconds() {
    let sim = start(fast_polling()).await;
    let admin = sim.admin();
    let shown: Arc<Mutex<Option<String>>> = Arc::default();
    let shown2 = shown.clone();
    let sign_in = SignIn::new(&config(&sim)).expect("sign-in");
    // The code was issued with a 1 s interval; the server then wants 3 s, so the client's
    // second poll (1 s after the first) is answered `slow_down`.
    let flow = sign_in.device_code(Arc::new(MemoryTokenStore::new()), move |p| {
        *shown2.lock().expect("lock") = Some(p.user_code.clone());
        admin.set_auth_config(AuthConfig {
            device_code_interval_secs: 3,
            ..admin.auth_config()
        });
    });
    let approve = async {
        let slowed = until_token_calls(&sim, 2).await;
        let code = shown.lock().expect("lock").clone().expect("shown");
        sim.admin()
            .approve_device_code(&code, "alice@contoso.example")
            .expect("approve");
        slowed
    };
    let (creds, slowed) = tokio::join!(flow, approve);
    creds.expect("signed in after slowing down");
    let waited = slowed.elapsed();
    assert!(
        waited >= Duration::from_millis(5500),
        "after slow_down the next poll waits interval + 5 s, waited {waited:?}"
    );
    let log = sim.admin().request_log();
    assert_eq!(
        token_calls(&log)
            .iter()
            .map(|r| r.status)
            .collect::<Vec<_>>(),
        [400, 400, 200],
        "pending, slow_down, tokens: no poll in between"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn declined_by_the_user() {
    let sim = start(fast_polling()).await;
    let admin = sim.admin();
    let store = Arc::new(MemoryTokenStore::new());
    let err = SignIn::new(&config(&sim))
        .expect("sign-in")
        .device_code(store.clone(), |p| {
            admin
                .complete_device_code(&p.user_code, "alice@contoso.example", false)
                .expect("decline");
        })
        .await
        .expect_err("declined");
    match &err {
        GraphError::SignIn { code, message, .. } => {
            assert_eq!(code, "authorization_declined");
            assert!(message.contains("declined"), "{message}");
        }
        other => panic!("expected a sign-in error, got {other:?}"),
    }
    assert!(store.history().is_empty());
    sim.shutdown().await;
}

#[tokio::test]
async fn expires_when_nobody_signs_in() {
    let sim = start(fast_polling()).await;
    let admin = sim.admin();
    let started = Instant::now();
    let err = SignIn::new(&config(&sim))
        .expect("sign-in")
        .device_code(Arc::new(MemoryTokenStore::new()), |_| {
            // fifteen minutes pass on the server
            admin.advance_clock(Duration::from_secs(901));
        })
        .await
        .expect_err("expired");
    assert!(
        matches!(&err, GraphError::SignIn { code, .. } if code == "expired_token"),
        "{err:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(token_calls(&sim.admin().request_log()).len(), 1);
    sim.shutdown().await;
}
