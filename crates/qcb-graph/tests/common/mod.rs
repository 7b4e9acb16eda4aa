//! Shared helpers: the emulator in-process on 127.0.0.1, configs, the request log.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use qcb_graph::{Credentials, GraphConfig, MemoryTokenStore, RetryPolicy, SignIn};
use qcb_graph_sim::{AuthConfig, LoggedRequest, SimOptions, SimServer, TenantSpec};

/// The emulator's test key and certificate (registered per test).
pub const KEY: &str = include_str!("../../../qcb-graph-sim/tests/fixtures/app-key.pem");
pub const CERT: &str = include_str!("../../../qcb-graph-sim/tests/fixtures/app-cert.pem");
/// Another RSA key (PKCS#8) that belongs to no certificate.
pub const OTHER_KEY: &str = include_str!("../fixtures/other-key.pem");

pub fn small() -> TenantSpec {
    TenantSpec {
        seed: 11,
        users: 2,
        messages_per_user: 12,
        shared_mailboxes: None,
    }
}

pub async fn start(auth: AuthConfig) -> SimServer {
    let options = SimOptions {
        auth,
        ..SimOptions::default()
    };
    SimServer::start_with(small(), options, "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("start emulator")
}

/// Endpoints of the emulator and its own app, no secret.
pub fn config(sim: &SimServer) -> GraphConfig {
    let c = sim.credentials();
    let mut cfg = GraphConfig::endpoints(
        &sim.graph_url(),
        &sim.base_url(),
        &c.tenant_id,
        &c.client_id,
    );
    cfg.retry = RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(20),
        max_delay: Duration::from_millis(200),
    };
    cfg
}

/// [`config`] signed in as the emulator's own app with its client secret.
pub fn app_config(sim: &SimServer) -> GraphConfig {
    let mut cfg = config(sim);
    cfg.client_secret = qcb_graph::ClientSecret::new(sim.credentials().client_secret);
    cfg
}

/// Token endpoint calls in the request log.
pub fn token_calls(log: &[LoggedRequest]) -> Vec<&LoggedRequest> {
    log.iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/oauth2/v2.0/token"))
        .collect()
}

/// Signs alice in with the device code flow, approving the code as soon as it is shown.
pub async fn signed_in_alice(sim: &SimServer, store: Arc<MemoryTokenStore>) -> Credentials {
    let admin = sim.admin();
    SignIn::new(&config(sim))
        .expect("sign-in")
        .device_code(store, |p| {
            admin
                .approve_device_code(&p.user_code, "alice@contoso.example")
                .expect("approve");
        })
        .await
        .expect("signed in")
}

/// Auth timings with a device code interval of one second.
pub fn fast_polling() -> AuthConfig {
    AuthConfig {
        device_code_interval_secs: 1,
        ..AuthConfig::default()
    }
}
