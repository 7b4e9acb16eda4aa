//! No secret, token or code in `Debug` output, errors or the crate's logs.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use qcb_graph::{
    ClientCertificate, ClientSecret, Credentials, DeviceCodePrompt, GraphClient, GraphConfig,
    MemoryTokenStore, RefreshToken, SignIn,
};
use tracing_subscriber::layer::{Layer as _, SubscriberExt as _};

use common::{CERT, KEY, config, fast_polling, start};

#[test]
fn credential_types_redact_themselves() {
    let secret = "s3cr3t-VALUE-never-shown";
    let shown = [
        format!("{:?}", ClientSecret::new(secret)),
        format!("{:?}", Credentials::client_secret(secret)),
        format!(
            "{:?}",
            GraphConfig::microsoft("t", "c", ClientSecret::new(secret))
        ),
    ];
    for s in &shown {
        assert!(!s.contains(secret), "{s}");
    }

    let rt = "1.AQrefresh-token-value";
    let store = Arc::new(MemoryTokenStore::with(RefreshToken::new(rt)));
    for s in [
        format!("{:?}", RefreshToken::new(rt)),
        format!("{store:?}"),
        format!("{:?}", Credentials::delegated(store.clone(), &[])),
    ] {
        assert!(!s.contains(rt), "{s}");
    }

    let cert = ClientCertificate::from_pem_parts(CERT, KEY).expect("cert");
    let s = format!("{:?}", Credentials::Certificate(cert.clone()));
    assert!(s.contains(cert.x5t()), "the thumbprint is public: {s}");
    let key_body: String = KEY.lines().nth(1).expect("a key line").to_string();
    assert!(!s.contains(&key_body) && !s.contains("PRIVATE"), "{s}");

    let prompt = DeviceCodePrompt {
        user_code: "ABCD-EFGH".into(),
        verification_uri: "https://microsoft.com/devicelogin".into(),
        message: "enter ABCD-EFGH".into(),
        expires_in: Duration::from_secs(900),
    };
    let s = format!("{prompt:?}");
    assert!(!s.contains("ABCD-EFGH"), "{s}");
}

/// Collects everything written by the `qcb_graph` crate's tracing.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn logs_and_errors_carry_no_tokens() {
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::registry().with(
        tracing_subscriber::fmt::layer()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .with_filter(tracing_subscriber::filter::filter_fn(|m| {
                m.target() == "qcb_graph" || m.target().starts_with("qcb_graph::")
            })),
    );
    let _guard = tracing::subscriber::set_default(subscriber);

    let sim = start(fast_polling()).await;
    let c = sim.credentials();
    let store = Arc::new(MemoryTokenStore::new());
    let user_code = Arc::new(Mutex::new(String::new()));
    let (admin, uc) = (sim.admin(), user_code.clone());
    let creds = SignIn::new(&config(&sim))
        .expect("sign-in")
        .device_code(store.clone(), move |p| {
            *uc.lock().expect("lock") = p.user_code.clone();
            admin
                .approve_device_code(&p.user_code, "alice@contoso.example")
                .expect("approve");
        })
        .await
        .expect("signed in");
    let client = GraphClient::with_credentials(config(&sim), creds).expect("client");
    client.me().await.expect("me");
    sim.admin().advance_clock(Duration::from_secs(3601));
    client.me().await.expect("me after a refresh");
    // app-only with the secret, and a wrong secret
    let app = GraphClient::with_credentials(
        config(&sim),
        Credentials::client_secret(c.client_secret.clone()),
    )
    .expect("client");
    app.users().await.expect("users");
    sim.admin().revoke_tokens();
    let err = client.me().await.expect_err("revoked");

    let logs = String::from_utf8(capture.0.lock().expect("lock").clone()).expect("utf8");
    assert!(logs.contains("signed in (delegated)"), "{logs}");
    assert!(logs.contains("access token refreshed"), "{logs}");
    let tokens = store.history();
    assert_eq!(tokens.len(), 2);
    let code = user_code.lock().expect("lock").clone();
    assert!(!code.is_empty());
    let err_text = format!("{err} {err:?}");
    for t in &tokens {
        assert!(!logs.contains(t.expose()), "a refresh token was logged");
        assert!(
            !err_text.contains(t.expose()),
            "a refresh token in an error"
        );
    }
    assert!(!logs.contains(&code), "the user code was logged");
    assert!(
        !logs.contains(&c.client_secret),
        "the client secret was logged"
    );
    assert!(
        !logs.contains("eyJ"),
        "something like a JWT was logged: {logs}"
    );
    sim.shutdown().await;
}
