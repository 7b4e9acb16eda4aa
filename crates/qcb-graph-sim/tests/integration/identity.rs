//! Microsoft identity platform flows beyond client secrets: certificate
//! client assertions (RS256), authorization code + PKCE through the
//! `/authorize` form, device code, rotating refresh tokens, configurable
//! token lifetime, revocation, per-app permissions with Graph's 403 shapes.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use qcb_graph_sim::{AppRegistration, AuthConfig, SimOptions};
use reqwest::{Method, StatusCode};
use rsa::pkcs1::DecodeRsaPrivateKey as _;
use rsa::signature::{SignatureEncoding as _, Signer as _};
use serde_json::{Value, json};
use sha2::Digest as _;

use super::common::{self, Harness, graph_error_code, send};

const KEY: &str = include_str!("../fixtures/app-key.pem");
const CERT: &str = include_str!("../fixtures/app-cert.pem");
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

fn sign_jwt(header: &Value, claims: &Value) -> String {
    let key = rsa::RsaPrivateKey::from_pkcs1_pem(KEY).expect("fixture key");
    let signer = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(key);
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let sig = signer.sign(input.as_bytes()).to_bytes();
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
}

fn token_url(h: &Harness) -> String {
    h.sim.token_url()
}

async fn token(h: &Harness, form: &[(&str, &str)]) -> (StatusCode, Value) {
    send(h.http.post(token_url(h)).form(form)).await
}

fn entra_code(v: &Value) -> u64 {
    v["error_codes"][0].as_u64().unwrap_or(0)
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

#[tokio::test]
async fn client_credentials_with_a_certificate_assertion() {
    let h = common::start(common::small()).await;
    let c = h.sim.credentials();
    let x5t = h
        .sim
        .admin()
        .add_app_certificate(&c.client_id, CERT, None)
        .expect("register cert")
        .expect("thumbprint");
    assert_eq!(
        h.sim.admin().apps()[0].certificate_thumbprints,
        vec![x5t.clone()]
    );
    let claims = |aud: &str, exp: i64, jti: &str| {
        json!({"aud": aud, "iss": c.client_id, "sub": c.client_id, "jti": jti,
               "nbf": now() - 10, "exp": exp})
    };
    let header = json!({"alg": "RS256", "typ": "JWT", "x5t": x5t});
    let assert_with = |jwt: String| {
        vec![
            ("grant_type", "client_credentials".to_string()),
            ("client_id", c.client_id.clone()),
            ("scope", "https://graph.microsoft.com/.default".to_string()),
            ("client_assertion_type", JWT_BEARER.to_string()),
            ("client_assertion", jwt),
        ]
    };
    let post = |form: Vec<(&'static str, String)>| {
        let url = token_url(&h);
        let http = h.http.clone();
        async move { send(http.post(url).form(&form)).await }
    };
    let good = sign_jwt(&header, &claims(&token_url(&h), now() + 600, "j1"));
    let (status, v) = post(assert_with(good.clone())).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let access = v["access_token"].as_str().expect("token").to_string();
    let (s, _) = send(h.http.get(h.url("/users")).bearer_auth(&access)).await;
    assert_eq!(s, StatusCode::OK);

    // replayed assertion
    let (status, v) = post(assert_with(good)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(v["error"], "invalid_client");
    // the login.microsoftonline.com audience is accepted too
    let aud = format!(
        "https://login.microsoftonline.com/{}/oauth2/v2.0/token",
        c.tenant_id
    );
    let (status, _) = post(assert_with(sign_jwt(
        &header,
        &claims(&aud, now() + 600, "j2"),
    )))
    .await;
    assert_eq!(status, StatusCode::OK);
    // expired
    let (status, v) = post(assert_with(sign_jwt(
        &header,
        &claims(&token_url(&h), now() - 60, "j3"),
    )))
    .await;
    assert_eq!((status, entra_code(&v)), (StatusCode::UNAUTHORIZED, 700024));
    // wrong audience
    let (status, v) = post(assert_with(sign_jwt(
        &header,
        &claims("https://example.invalid/token", now() + 600, "j4"),
    )))
    .await;
    assert_eq!((status, entra_code(&v)), (StatusCode::UNAUTHORIZED, 700212));
    // unknown thumbprint
    let other = json!({"alg": "RS256", "typ": "JWT", "x5t": "AAAAAAAAAAAAAAAAAAAAAAAAAAA"});
    let (status, v) = post(assert_with(sign_jwt(
        &other,
        &claims(&token_url(&h), now() + 600, "j5"),
    )))
    .await;
    assert_eq!((status, entra_code(&v)), (StatusCode::UNAUTHORIZED, 700027));
    // tampered signature
    // (a character inside the signature: the last one also holds padding
    // bits, so changing it does not always change the bytes)
    let mut bad = sign_jwt(&header, &claims(&token_url(&h), now() + 600, "j6")).into_bytes();
    let i = bad.len() - 10;
    bad[i] = if bad[i] == b'A' { b'B' } else { b'A' };
    let bad = String::from_utf8(bad).expect("ascii");
    let (status, v) = post(assert_with(bad)).await;
    assert_eq!(
        (status, entra_code(&v)),
        (StatusCode::UNAUTHORIZED, 7000274)
    );
    h.sim.shutdown().await;
}

#[tokio::test]
async fn a_bare_public_key_can_be_registered_over_http() {
    use rsa::pkcs8::EncodePublicKey as _;
    let h = common::start(common::small()).await;
    let reg: Value = h
        .http
        .post(format!("{}/_sim/apps", h.sim.base_url()))
        .json(&json!({"display_name": "Cert app", "application_permissions": ["Mail.Read"]}))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    let client_id = reg["client_id"].as_str().expect("client id").to_string();
    let key = rsa::RsaPrivateKey::from_pkcs1_pem(KEY).expect("key");
    let pem = rsa::RsaPublicKey::from(&key)
        .to_public_key_pem(rsa::pkcs8::LineEnding::LF)
        .expect("pem");
    let resp = h
        .http
        .post(format!(
            "{}/_sim/apps/{client_id}/certificates",
            h.sim.base_url()
        ))
        .json(&json!({"pem": pem, "thumbprint": "my-thumb"}))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::CREATED);
    let jwt = sign_jwt(
        &json!({"alg": "RS256", "typ": "JWT", "x5t": "my-thumb"}),
        &json!({"aud": token_url(&h), "iss": client_id, "sub": client_id, "jti": "k1",
                "nbf": now(), "exp": now() + 300}),
    );
    let (status, v) = token(
        &h,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &client_id),
            ("scope", "https://graph.microsoft.com/.default"),
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", &jwt),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    // that app may read mail, not write it, and not read the directory
    let access = v["access_token"].as_str().expect("token");
    let inbox = h.url("/users/alice@contoso.example/mailFolders/inbox");
    assert_eq!(
        send(h.http.get(&inbox).bearer_auth(access)).await.0,
        StatusCode::OK
    );
    let (s, v) = send(
        h.http
            .post(h.url("/users/alice@contoso.example/mailFolders"))
            .bearer_auth(access)
            .json(&json!({"displayName": "nope"})),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(graph_error_code(&v), "ErrorAccessDenied");
    let (s, v) = send(h.http.get(h.url("/users")).bearer_auth(access)).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(graph_error_code(&v), "Authorization_RequestDenied");
    h.sim.shutdown().await;
}

#[tokio::test]
async fn permissions_are_per_app_and_per_resource() {
    let h = common::start(common::small()).await;
    let admin = h.sim.admin();
    let reg = admin
        .register_app(AppRegistration {
            client_secret: Some("s3cret".into()),
            application_permissions: vec!["User.Read.All".into()],
            ..AppRegistration::default()
        })
        .expect("register");
    let get_token = |client: String| {
        let url = token_url(&h);
        let http = h.http.clone();
        async move {
            let (s, v) = send(http.post(url).form(&[
                ("grant_type", "client_credentials"),
                ("client_id", client.as_str()),
                ("client_secret", "s3cret"),
                ("scope", "https://graph.microsoft.com/.default"),
            ]))
            .await;
            assert_eq!(s, StatusCode::OK, "{v}");
            v["access_token"].as_str().expect("token").to_string()
        }
    };
    let t1 = get_token(reg.client_id.clone()).await;
    assert_eq!(
        send(h.http.get(h.url("/users")).bearer_auth(&t1)).await.0,
        StatusCode::OK
    );
    let (s, v) = send(
        h.http
            .get(h.url("/users/alice@contoso.example/messages"))
            .bearer_auth(&t1),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(graph_error_code(&v), "ErrorAccessDenied");
    assert_eq!(
        v["error"]["message"],
        "Access is denied. Check credentials and try again."
    );
    // only the resource the permission is missing for is refused
    let (s, v) = send(
        h.http
            .get(h.url("/users/alice@contoso.example/contactFolders"))
            .bearer_auth(&t1),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(graph_error_code(&v), "ErrorAccessDenied");
    assert_eq!(
        send(
            h.http
                .get(h.url("/users/alice@contoso.example/settings/exchange"))
                .bearer_auth(&t1)
        )
        .await
        .0,
        StatusCode::OK,
        "settings/exchange needs User.Read.All"
    );
    // consent added: tokens issued from now on carry it
    admin
        .set_app_permissions(&reg.client_id, &["User.Read.All", "Mail.ReadWrite"], &[])
        .expect("set");
    assert_eq!(
        send(
            h.http
                .get(h.url("/users/alice@contoso.example/messages"))
                .bearer_auth(&t1)
        )
        .await
        .0,
        StatusCode::FORBIDDEN,
        "an old token keeps its roles"
    );
    let t2 = get_token(reg.client_id.clone()).await;
    let (s, v) = send(
        h.http
            .get(h.url("/users/alice@contoso.example/contactFolders"))
            .bearer_auth(&t2),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "still no Contacts.ReadWrite");
    assert_eq!(graph_error_code(&v), "ErrorAccessDenied");
    let (s, _) = send(
        h.http
            .get(h.url("/users/alice@contoso.example/calendars"))
            .bearer_auth(&t2),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(
        send(
            h.http
                .get(h.url("/users/alice@contoso.example/messages"))
                .bearer_auth(&t2)
        )
        .await
        .0,
        StatusCode::OK
    );
    // the tenant's own app keeps everything
    assert_eq!(
        send(h.get("/users/alice@contoso.example/messages")).await.0,
        StatusCode::OK
    );
    h.sim.shutdown().await;
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

fn query_of(location: &str) -> Vec<(String, String)> {
    url::Url::parse(location)
        .expect("url")
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn q<'a>(pairs: &'a [(String, String)], k: &str) -> Option<&'a str> {
    pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
}

#[tokio::test]
async fn authorization_code_with_pkce_through_the_authorize_form() {
    let h = common::start(common::small()).await;
    let c = h.sim.credentials();
    let http = no_redirects();
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-some-more-entropy";
    let challenge = URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()));
    let redirect_uri = "http://localhost:53682/callback";
    let authorize = format!("{}/organizations/oauth2/v2.0/authorize", h.sim.base_url());
    let params = [
        ("client_id", c.client_id.as_str()),
        ("response_type", "code"),
        ("redirect_uri", redirect_uri),
        (
            "scope",
            "https://graph.microsoft.com/Mail.ReadWrite User.Read offline_access openid",
        ),
        ("state", "st-123"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
        ("login_hint", "alice@contoso.example"),
    ];
    // the page
    let page = http
        .get(&authorize)
        .query(&params)
        .send()
        .await
        .expect("send");
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.expect("html");
    assert!(html.contains("<form method=\"post\""), "{html}");
    assert!(html.contains("name=\"code_challenge\""));
    // the form, submitted
    let mut form: Vec<(&str, &str)> = params.to_vec();
    form.push(("login", "alice@contoso.example"));
    form.push(("consent", "accept"));
    let resp = http
        .post(&authorize)
        .form(&form)
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::FOUND);
    let location = resp.headers()["location"]
        .to_str()
        .expect("ascii")
        .to_string();
    assert!(location.starts_with(redirect_uri), "{location}");
    let back = query_of(&location);
    assert_eq!(q(&back, "state"), Some("st-123"));
    let code = q(&back, "code").expect("code").to_string();

    // a wrong verifier is refused, and the code is then spent
    let (s, v) = token(
        &h,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", &c.client_id),
            ("code", &code),
            ("redirect_uri", redirect_uri),
            ("code_verifier", "wrong"),
        ],
    )
    .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    assert_eq!(entra_code(&v), 501481);

    // again, properly
    let resp = http
        .post(&authorize)
        .form(&form)
        .send()
        .await
        .expect("send");
    let code = q(
        &query_of(resp.headers()["location"].to_str().expect("ascii")),
        "code",
    )
    .expect("code")
    .to_string();
    let redeem = [
        ("grant_type", "authorization_code"),
        ("client_id", c.client_id.as_str()),
        ("code", code.as_str()),
        ("redirect_uri", redirect_uri),
        ("code_verifier", verifier),
    ];
    let (s, v) = token(&h, &redeem).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["token_type"], "Bearer");
    assert!(v["refresh_token"].is_string());
    assert!(v["id_token"].is_string());
    let scope = v["scope"].as_str().expect("scope");
    assert!(
        scope.contains("Mail.ReadWrite") && scope.contains("User.Read"),
        "{scope}"
    );
    let access = v["access_token"].as_str().expect("access").to_string();
    // the code is single-use
    let (s, v) = token(&h, &redeem).await;
    assert_eq!((s, entra_code(&v)), (StatusCode::BAD_REQUEST, 54005));

    // the delegated token: /me is alice, her mailbox works, bob's does not
    let me = common::json_ok(h.http.get(h.url("/me")).bearer_auth(&access)).await;
    assert_eq!(me["userPrincipalName"], "alice@contoso.example");
    let inbox = common::json_ok(
        h.http
            .get(h.url("/me/mailFolders/inbox"))
            .bearer_auth(&access),
    )
    .await;
    assert_eq!(inbox["displayName"], "Inbox");
    let (s, v) = send(
        h.http
            .get(h.url("/users/bob@contoso.example/mailFolders/inbox"))
            .bearer_auth(&access),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(graph_error_code(&v), "ErrorAccessDenied");
    let (s, v) = send(h.http.get(h.url("/users")).bearer_auth(&access)).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(graph_error_code(&v), "Authorization_RequestDenied");
    let log = h.sim.admin().request_log();
    let alice = h.alice().id;
    assert!(
        log.iter().any(|r| r.path == "/v1.0/me/mailFolders/inbox"
            && r.mailbox.as_deref() == Some(alice.as_str()))
    );

    // declining consent goes back with access_denied
    let mut deny = params.to_vec();
    deny.push(("login", "alice@contoso.example"));
    deny.push(("consent", "deny"));
    let resp = http
        .post(&authorize)
        .form(&deny)
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::FOUND);
    let back = query_of(resp.headers()["location"].to_str().expect("ascii"));
    assert_eq!(q(&back, "error"), Some("access_denied"));
    assert_eq!(q(&back, "state"), Some("st-123"));
    // a non-loopback redirect is refused on the page itself
    let resp = http
        .get(&authorize)
        .query(&[
            ("client_id", c.client_id.as_str()),
            ("response_type", "code"),
            ("redirect_uri", "https://evil.example/cb"),
            ("scope", "User.Read"),
        ])
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(resp.text().await.expect("html").contains("AADSTS50011"));
    h.sim.shutdown().await;
}

/// Signs alice in through the form and redeems the code (no PKCE).
async fn alice_tokens(h: &Harness, scope: &str) -> Value {
    let c = h.sim.credentials();
    let http = no_redirects();
    let redirect_uri = "http://127.0.0.1:8400";
    let authorize = format!("{}/{}/oauth2/v2.0/authorize", h.sim.base_url(), c.tenant_id);
    let resp = http
        .post(&authorize)
        .form(&[
            ("client_id", c.client_id.as_str()),
            ("response_type", "code"),
            ("redirect_uri", redirect_uri),
            ("scope", scope),
            ("login", "alice@contoso.example"),
            ("consent", "accept"),
        ])
        .send()
        .await
        .expect("send");
    let code = q(
        &query_of(resp.headers()["location"].to_str().expect("ascii")),
        "code",
    )
    .expect("code")
    .to_string();
    let (s, v) = token(
        h,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", &c.client_id),
            ("code", &code),
            ("redirect_uri", redirect_uri),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v
}

#[tokio::test]
async fn refresh_tokens_rotate_and_access_tokens_expire() {
    let options = SimOptions {
        auth: AuthConfig {
            token_lifetime_secs: 120,
            ..AuthConfig::default()
        },
        ..SimOptions::default()
    };
    let h = common::start_with(common::small(), options).await;
    let c = h.sim.credentials();
    let v = alice_tokens(&h, "Mail.ReadWrite offline_access").await;
    assert_eq!(v["expires_in"], 119);
    let access = v["access_token"].as_str().expect("access").to_string();
    let rt1 = v["refresh_token"].as_str().expect("rt").to_string();
    let inbox = h.url("/me/mailFolders/inbox");
    assert_eq!(
        send(h.http.get(&inbox).bearer_auth(&access)).await.0,
        StatusCode::OK
    );
    h.sim.admin().advance_clock(Duration::from_secs(120));
    let (s, v) = send(h.http.get(&inbox).bearer_auth(&access)).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(graph_error_code(&v), "InvalidAuthenticationToken");

    let refresh = |rt: String| {
        let url = token_url(&h);
        let http = h.http.clone();
        let client = c.client_id.clone();
        async move {
            send(http.post(url).form(&[
                ("grant_type", "refresh_token"),
                ("client_id", client.as_str()),
                ("refresh_token", rt.as_str()),
                ("scope", "Mail.ReadWrite offline_access"),
            ]))
            .await
        }
    };
    let (s, v) = refresh(rt1.clone()).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let rt2 = v["refresh_token"].as_str().expect("rt").to_string();
    assert_ne!(rt1, rt2, "every refresh returns a new refresh token");
    let access = v["access_token"].as_str().expect("access").to_string();
    assert_eq!(
        send(h.http.get(&inbox).bearer_auth(&access)).await.0,
        StatusCode::OK
    );
    let (s, v) = refresh(rt2.clone()).await;
    assert_eq!(s, StatusCode::OK);
    assert_ne!(v["refresh_token"].as_str(), Some(rt2.as_str()));
    // an unknown refresh token
    let (s, v) = refresh("1.AQnope".into()).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    // revocation ends refresh tokens and access tokens alike
    h.sim.admin().revoke_tokens();
    let (s, v) = refresh(rt2).await;
    assert_eq!((s, entra_code(&v)), (StatusCode::BAD_REQUEST, 50173));
    assert_eq!(
        send(h.http.get(&inbox).bearer_auth(&access)).await.0,
        StatusCode::UNAUTHORIZED
    );
    // without offline_access there is no refresh token
    let v = alice_tokens(&h, "Mail.ReadWrite").await;
    assert!(v.get("refresh_token").is_none());
    h.sim.shutdown().await;
}

#[tokio::test]
async fn device_code_flow() {
    let options = SimOptions {
        auth: AuthConfig {
            device_code_interval_secs: 1,
            ..AuthConfig::default()
        },
        ..SimOptions::default()
    };
    let h = common::start_with(common::small(), options).await;
    let c = h.sim.credentials();
    let devicecode_url = format!("{}/organizations/oauth2/v2.0/devicecode", h.sim.base_url());
    let start = |scope: &'static str| {
        let http = h.http.clone();
        let url = devicecode_url.clone();
        let client = c.client_id.clone();
        async move {
            let (s, v) = send(
                http.post(url)
                    .form(&[("client_id", client.as_str()), ("scope", scope)]),
            )
            .await;
            assert_eq!(s, StatusCode::OK, "{v}");
            v
        }
    };
    let d = start("Mail.ReadWrite User.Read offline_access").await;
    assert_eq!(d["expires_in"], 900);
    assert_eq!(d["interval"], 1);
    let verification = d["verification_uri"].as_str().expect("uri").to_string();
    assert!(verification.ends_with("/devicelogin"));
    let user_code = d["user_code"].as_str().expect("user code").to_string();
    assert!(d["message"].as_str().expect("message").contains(&user_code));
    let device_code = d["device_code"].as_str().expect("device code").to_string();
    let poll = |code: String| {
        let url = token_url(&h);
        let http = h.http.clone();
        let client = c.client_id.clone();
        async move {
            send(http.post(url).form(&[
                ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                ("client_id", client.as_str()),
                ("device_code", code.as_str()),
            ]))
            .await
        }
    };
    let (s, v) = poll(device_code.clone()).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("authorization_pending"))
    );
    let (_, v) = poll(device_code.clone()).await;
    assert_eq!(v["error"], "slow_down", "polled sooner than the interval");
    // the user enters the code on the verification page
    let page = h.http.get(&verification).send().await.expect("send");
    assert_eq!(page.status(), StatusCode::OK);
    let done = h
        .http
        .post(&verification)
        .form(&[
            ("user_code", user_code.as_str()),
            ("login", "bob@contoso.example"),
            ("consent", "accept"),
        ])
        .send()
        .await
        .expect("send");
    assert_eq!(done.status(), StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (s, v) = poll(device_code.clone()).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(v["refresh_token"].is_string());
    let access = v["access_token"].as_str().expect("access");
    let me = common::json_ok(h.http.get(h.url("/me")).bearer_auth(access)).await;
    assert_eq!(me["userPrincipalName"], "bob@contoso.example");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (s, v) = poll(device_code).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );

    // declined through the admin API
    let d = start("User.Read").await;
    let resp = h
        .http
        .post(format!("{}/_sim/devicecode/deny", h.sim.base_url()))
        .json(&json!({"user_code": d["user_code"]}))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let (_, v) = poll(d["device_code"].as_str().expect("code").to_string()).await;
    assert_eq!(v["error"], "authorization_declined");

    // approved through the admin API
    let d = start("User.Read").await;
    h.sim
        .admin()
        .approve_device_code(
            d["user_code"].as_str().expect("code"),
            "alice@contoso.example",
        )
        .expect("approve");
    let (s, _) = poll(d["device_code"].as_str().expect("code").to_string()).await;
    assert_eq!(s, StatusCode::OK);

    // expired after 15 minutes
    let d = start("User.Read").await;
    h.sim.admin().advance_clock(Duration::from_secs(901));
    let (_, v) = poll(d["device_code"].as_str().expect("code").to_string()).await;
    assert_eq!(v["error"], "expired_token");
    h.sim.shutdown().await;
}

#[tokio::test]
async fn auth_config_over_http() {
    let h = common::start(common::small()).await;
    let cfg: Value = h.sim_json("/auth").await;
    assert_eq!(cfg["token_lifetime_secs"], 3600);
    let resp = h
        .http
        .put(format!("{}/_sim/auth", h.sim.base_url()))
        .json(&json!({"token_lifetime_secs": 300}))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let c = h.sim.credentials();
    let (s, v) = token(
        &h,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &c.client_id),
            ("client_secret", &c.client_secret),
            ("scope", "https://graph.microsoft.com/.default"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["expires_in"], 299);
    let t = v["access_token"].as_str().expect("token").to_string();
    h.sim.admin().advance_clock(Duration::from_secs(300));
    assert_eq!(
        send(h.http.get(h.url("/users")).bearer_auth(&t)).await.0,
        StatusCode::UNAUTHORIZED
    );
    let _ = Method::GET;
    h.sim.shutdown().await;
}
