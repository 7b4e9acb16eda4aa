//! Authorization code + PKCE with a loopback redirect. The test plays the browser: it opens
//! the sign-in URL the client produced on the emulator, submits the form, and follows the
//! redirect to the client's loopback listener.

mod common;

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use qcb_graph::{
    Credentials, GraphClient, GraphError, InteractiveOptions, MemoryTokenStore, SignIn,
};
use qcb_graph_sim::AuthConfig;
use tokio::sync::oneshot;

use common::{config, start, token_calls};

fn options() -> InteractiveOptions {
    InteractiveOptions {
        redirect_host: "127.0.0.1".into(),
        timeout: Duration::from_secs(30),
        login_hint: Some("alice@contoso.example".into()),
        ..InteractiveOptions::default()
    }
}

fn query(url: &str) -> Vec<(String, String)> {
    url::Url::parse(url)
        .expect("url")
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn get<'a>(q: &'a [(String, String)], k: &str) -> Option<&'a str> {
    q.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
}

/// What the browser saw when it came back to the loopback listener.
struct Visit {
    authorize_url: String,
    location: String,
    status: u16,
    page: String,
}

/// Plays the browser for `url`: GET the form, POST it (`consent`), follow the redirect to
/// the loopback listener. `tamper` may change the form's parameters first.
async fn browse(
    url: String,
    consent: &'static str,
    tamper: impl FnOnce(&mut Vec<(String, String)>),
) -> Visit {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("http");
    let page = http.get(&url).send().await.expect("authorize page");
    assert_eq!(page.status().as_u16(), 200);
    let html = page.text().await.expect("html");
    assert!(html.contains("<form method=\"post\""), "{html}");
    let mut form = query(&url);
    tamper(&mut form);
    form.push(("login".into(), "alice@contoso.example".into()));
    form.push(("consent".into(), consent.into()));
    let action = url.split('?').next().expect("base").to_string();
    let resp = http.post(&action).form(&form).send().await.expect("submit");
    assert_eq!(resp.status().as_u16(), 302);
    let location = resp.headers()["location"]
        .to_str()
        .expect("ascii")
        .to_string();
    let back = http.get(&location).send().await.expect("loopback");
    let status = back.status().as_u16();
    let page = back.text().await.expect("page");
    Visit {
        authorize_url: url,
        location,
        status,
        page,
    }
}

/// Runs an interactive sign-in whose browser is [`browse`].
async fn sign_in(
    sim: &qcb_graph_sim::SimServer,
    store: Arc<MemoryTokenStore>,
    consent: &'static str,
    tamper: impl FnOnce(&mut Vec<(String, String)>) + Send + 'static,
) -> (qcb_graph::Result<Credentials>, Visit) {
    let (tx, rx) = oneshot::channel();
    let result = SignIn::new(&config(sim))
        .expect("sign-in")
        .interactive(store, &options(), move |url| {
            let url = url.to_string();
            tokio::spawn(async move {
                let _ = tx.send(browse(url, consent, tamper).await);
            });
            Ok(())
        })
        .await;
    (result, rx.await.expect("browser ran"))
}

#[tokio::test]
async fn pkce_sign_in_end_to_end() {
    let sim = start(AuthConfig::default()).await;
    let store = Arc::new(MemoryTokenStore::new());
    let (creds, visit) = sign_in(&sim, store.clone(), "accept", |_| {}).await;
    let creds = creds.expect("signed in");
    assert!(creds.is_delegated());

    // what the client asked for
    let q = query(&visit.authorize_url);
    assert_eq!(get(&q, "response_type"), Some("code"));
    assert_eq!(get(&q, "code_challenge_method"), Some("S256"));
    let challenge = get(&q, "code_challenge").expect("challenge");
    assert_eq!(URL_SAFE_NO_PAD.decode(challenge).expect("b64").len(), 32);
    let state = get(&q, "state").expect("state");
    assert!(state.len() >= 22, "state has entropy");
    let redirect = get(&q, "redirect_uri").expect("redirect");
    assert!(redirect.starts_with("http://127.0.0.1:"), "{redirect}");
    let scope = get(&q, "scope").expect("scope");
    assert!(scope.contains("offline_access") && scope.contains("Mail.ReadWrite"));
    // the browser came back to the listener and got a friendly page without the code
    assert!(visit.location.starts_with(redirect), "{}", visit.location);
    assert_eq!(visit.status, 200);
    assert!(visit.page.contains("You are signed in"), "{}", visit.page);
    let code = get(&query(&visit.location), "code")
        .expect("code")
        .to_string();
    assert!(!visit.page.contains(&code));
    assert_eq!(store.history().len(), 1, "the refresh token was saved");

    // the delegated client: its own mailbox, by /me and by its user id; not the directory
    let client = GraphClient::with_credentials(config(&sim), creds).expect("client");
    assert!(client.is_delegated());
    let me = client.me().await.expect("me");
    assert_eq!(me.user_principal_name, "alice@contoso.example");
    assert_eq!(client.user(&me.id).await.expect("own user").id, me.id);
    let folders = client.mail_folders(&me.id).await.expect("own folders");
    let inbox = folders
        .iter()
        .find(|f| f.display_name == "Inbox")
        .expect("inbox");
    let page = client
        .messages_delta(&me.id, &inbox.id, None, 50)
        .await
        .expect("delta");
    assert!(!page.items.is_empty());
    let err = client.users().await.expect_err("directory");
    assert_eq!(err.status(), Some(403));
    assert_eq!(err.code(), Some("Authorization_RequestDenied"));
    // the sign-in's access token is used: one token call (the code), no refresh
    assert_eq!(token_calls(&sim.admin().request_log()).len(), 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_wrong_state_is_refused() {
    let sim = start(AuthConfig::default()).await;
    let store = Arc::new(MemoryTokenStore::new());
    let (result, visit) = sign_in(&sim, store.clone(), "accept", |form| {
        for (k, v) in form.iter_mut() {
            if k == "state" {
                *v = "forged-state".into();
            }
        }
    })
    .await;
    let err = result.expect_err("forged state");
    match &err {
        GraphError::SignIn { code, .. } => assert_eq!(code, "state_mismatch"),
        other => panic!("expected a sign-in error, got {other:?}"),
    }
    assert_eq!(visit.status, 400);
    assert!(visit.page.contains("refused"), "{}", visit.page);
    assert!(
        token_calls(&sim.admin().request_log()).is_empty(),
        "the code was not redeemed"
    );
    assert!(store.history().is_empty());
    sim.shutdown().await;
}

#[tokio::test]
async fn declined_consent_is_a_sign_in_error() {
    let sim = start(AuthConfig::default()).await;
    let store = Arc::new(MemoryTokenStore::new());
    let (result, visit) = sign_in(&sim, store.clone(), "deny", |_| {}).await;
    let err = result.expect_err("declined");
    assert!(
        matches!(&err, GraphError::SignIn { code, message, .. }
            if code == "access_denied" && message.starts_with("AADSTS65004")),
        "{err:?}"
    );
    assert_eq!(visit.status, 200);
    assert!(visit.page.contains("did not complete"), "{}", visit.page);
    assert!(store.history().is_empty());
    sim.shutdown().await;
}

#[tokio::test]
async fn a_browser_that_cannot_open_and_a_sign_in_nobody_finishes() {
    let sim = start(AuthConfig::default()).await;
    let sign_in = SignIn::new(&config(&sim)).expect("sign-in");
    let err = sign_in
        .interactive(Arc::new(MemoryTokenStore::new()), &options(), |_| {
            Err(std::io::Error::other("no display"))
        })
        .await
        .expect_err("no browser");
    assert!(
        matches!(&err, GraphError::SignIn { code, message, .. } if code == "browser" && message.contains("no display")),
        "{err:?}"
    );
    let short = InteractiveOptions {
        timeout: Duration::from_millis(300),
        ..options()
    };
    let err = sign_in
        .interactive(Arc::new(MemoryTokenStore::new()), &short, |_| Ok(()))
        .await
        .expect_err("timeout");
    assert!(
        matches!(&err, GraphError::SignIn { code, .. } if code == "timeout"),
        "{err:?}"
    );
    sim.shutdown().await;
}
