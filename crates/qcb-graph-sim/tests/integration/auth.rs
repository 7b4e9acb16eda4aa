//! Token endpoint (client credentials) and the bearer check on /v1.0.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

use super::common::{self, graph_error_code, send};

async fn token_call(
    h: &common::Harness,
    tenant: &str,
    form: &[(&str, &str)],
) -> (StatusCode, Value) {
    send(
        h.http
            .post(format!("{}/{tenant}/oauth2/v2.0/token", h.sim.base_url()))
            .form(form),
    )
    .await
}

fn assert_entra_error(v: &Value, error: &str, code: u64) {
    assert_eq!(v["error"], error, "{v}");
    let desc = v["error_description"].as_str().expect("error_description");
    assert!(desc.starts_with(&format!("AADSTS{code}:")), "{desc}");
    assert_eq!(v["error_codes"][0], code);
    for k in ["timestamp", "trace_id", "correlation_id"] {
        assert!(v[k].is_string(), "{k} in {v}");
    }
}

#[tokio::test]
async fn client_credentials_flow_and_entra_errors() {
    let h = common::start(common::small()).await;
    let c = h.sim.credentials();
    let scope = "https://graph.microsoft.com/.default";
    let ok = [
        ("grant_type", "client_credentials"),
        ("client_id", c.client_id.as_str()),
        ("client_secret", c.client_secret.as_str()),
        ("scope", scope),
    ];
    let (status, v) = token_call(&h, &c.tenant_id, &ok).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v["token_type"], "Bearer");
    assert_eq!(v["expires_in"], 3599);
    assert_eq!(v["ext_expires_in"], 3599);
    assert_eq!(
        v["access_token"].as_str().map(|t| t.split('.').count()),
        Some(3)
    );

    // The tenant's domain works as the authority too.
    let (status, _) = token_call(&h, "contoso.example", &ok).await;
    assert_eq!(status, StatusCode::OK);

    let (status, v) = token_call(
        &h,
        &c.tenant_id,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &c.client_id),
            ("client_secret", "nope"),
            ("scope", scope),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_entra_error(&v, "invalid_client", 7000215);

    let (status, v) = token_call(
        &h,
        &c.tenant_id,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "11111111-2222-4333-8444-555555555555"),
            ("client_secret", &c.client_secret),
            ("scope", scope),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_entra_error(&v, "unauthorized_client", 700016);

    let (status, v) = token_call(
        &h,
        &c.tenant_id,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &c.client_id),
            ("client_secret", &c.client_secret),
            ("scope", "Mail.Read"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_entra_error(&v, "invalid_scope", 1002012);

    let (status, v) = token_call(&h, "00000000-0000-4000-8000-000000000000", &ok).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_entra_error(&v, "invalid_request", 90002);

    let (status, v) = token_call(&h, &c.tenant_id, &[("client_id", &c.client_id)]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_entra_error(&v, "invalid_request", 900144);

    let (status, v) = token_call(
        &h,
        &c.tenant_id,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &c.client_id),
            ("scope", scope),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_entra_error(&v, "invalid_client", 7000216);
    h.sim.shutdown().await;
}

#[tokio::test]
async fn graph_requires_a_valid_bearer_token() {
    let h = common::start(common::small()).await;
    let url = h.url("/users");

    // none
    let resp = h
        .http
        .get(&url)
        .header("client-request-id", "my-id-1")
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(resp.headers()["client-request-id"], "my-id-1");
    assert!(resp.headers().contains_key("request-id"));
    assert!(resp.headers().contains_key("www-authenticate"));
    let v: Value = resp.json().await.expect("json");
    assert_eq!(graph_error_code(&v), "InvalidAuthenticationToken");
    assert_eq!(v["error"]["innerError"]["client-request-id"], "my-id-1");

    // garbage, wrong scheme, tampered signature
    for auth in ["Bearer garbage", "Basic abc", "Bearer a.b.c"] {
        let (status, v) = send(h.http.get(&url).header("authorization", auth)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{auth}");
        assert_eq!(graph_error_code(&v), "InvalidAuthenticationToken");
    }
    let mut forged = h.token.clone();
    forged.pop();
    forged.push(if h.token.ends_with('A') { 'B' } else { 'A' });
    let (status, _) = send(h.http.get(&url).bearer_auth(&forged)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // a token from another tenant (different seed) is refused
    let other = common::start(qcb_graph_sim::TenantSpec {
        seed: 99,
        ..common::small()
    })
    .await;
    let (status, _) = send(h.http.get(&url).bearer_auth(&other.token)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    other.sim.shutdown().await;

    // valid, then expired after an hour
    let (status, _) = send(h.get("/users")).await;
    assert_eq!(status, StatusCode::OK);
    h.sim.admin().advance_clock(Duration::from_secs(3_600));
    let (status, v) = send(h.get("/users")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("expired"),
        "{v}"
    );
    // a fresh token works again
    let fresh = common::fetch_token(&h.http, &h.sim).await;
    let (status, _) = send(h.http.get(&url).bearer_auth(&fresh)).await;
    assert_eq!(status, StatusCode::OK);
    h.sim.shutdown().await;
}
