//! Shared helpers: start a server, get a token, call Graph.

use qcb_graph_sim::{SimServer, TenantSpec};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::Value;

pub const IMMUTABLE: &str = "IdType=\"ImmutableId\"";

pub struct Harness {
    pub sim: SimServer,
    pub http: reqwest::Client,
    pub token: String,
    pub graph: String,
}

/// A small tenant that still has every folder shape and message kind.
pub fn small() -> TenantSpec {
    TenantSpec {
        seed: 7,
        users: 3,
        messages_per_user: 60,
        shared_mailboxes: None,
    }
}

pub async fn start(spec: TenantSpec) -> Harness {
    start_with(spec, qcb_graph_sim::SimOptions::default()).await
}

/// [`start`] with throttling, faults or token timings.
pub async fn start_with(spec: TenantSpec, options: qcb_graph_sim::SimOptions) -> Harness {
    let sim = SimServer::start_with(spec, options, "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("start simulator");
    let http = reqwest::Client::new();
    let token = fetch_token(&http, &sim).await;
    let graph = sim.graph_url();
    Harness {
        sim,
        http,
        token,
        graph,
    }
}

pub async fn fetch_token(http: &reqwest::Client, sim: &SimServer) -> String {
    let c = sim.credentials();
    let resp = http
        .post(format!(
            "{}/{}/oauth2/v2.0/token",
            sim.base_url(),
            c.tenant_id
        ))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", c.client_id.as_str()),
            ("client_secret", c.client_secret.as_str()),
            ("scope", "https://graph.microsoft.com/.default"),
        ])
        .send()
        .await
        .expect("token request");
    assert_eq!(resp.status(), StatusCode::OK);
    let v: Value = resp.json().await.expect("token json");
    v["access_token"]
        .as_str()
        .expect("access_token")
        .to_string()
}

impl Harness {
    /// `path` relative to `/v1.0` (starting with `/`) or an absolute URL.
    pub fn url(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}{path}", self.graph)
        }
    }

    pub fn req(&self, method: Method, path: &str) -> RequestBuilder {
        self.http
            .request(method, self.url(path))
            .bearer_auth(&self.token)
    }

    pub fn get(&self, path: &str) -> RequestBuilder {
        self.req(Method::GET, path)
    }

    /// GET that must answer 200 with JSON.
    pub async fn get_json(&self, path: &str) -> Value {
        json_ok(self.get(path)).await
    }

    pub async fn get_bytes(&self, path: &str) -> Vec<u8> {
        let resp = self.get(path).send().await.expect("send");
        assert_eq!(resp.status(), StatusCode::OK, "GET {path}");
        resp.bytes().await.expect("bytes").to_vec()
    }

    /// Follows `@odata.nextLink` and returns every item.
    pub async fn get_all(&self, path: &str) -> Vec<Value> {
        let mut out = Vec::new();
        let mut next = Some(self.url(path));
        while let Some(url) = next {
            let v = self.get_json(&url).await;
            out.extend(v["value"].as_array().expect("value").iter().cloned());
            next = v["@odata.nextLink"].as_str().map(str::to_string);
        }
        out
    }

    /// GET on the unauthenticated admin API (`path` after `/_sim`), as JSON.
    pub async fn sim_json<T: DeserializeOwned>(&self, path: &str) -> T {
        self.http
            .get(format!("{}/_sim{path}", self.sim.base_url()))
            .send()
            .await
            .expect("send")
            .json()
            .await
            .expect("json")
    }

    pub fn alice(&self) -> qcb_graph_sim::UserInfo {
        self.sim.admin().users().into_iter().next().expect("alice")
    }

    pub fn folder(&self, user: &str, path: &str) -> qcb_graph_sim::FolderInfo {
        self.sim
            .admin()
            .folders(user)
            .into_iter()
            .find(|f| f.path == path)
            .unwrap_or_else(|| panic!("no folder {path}"))
    }
}

pub async fn json_ok(rb: RequestBuilder) -> Value {
    let resp = rb.send().await.expect("send");
    let status = resp.status();
    let text = resp.text().await.expect("text");
    assert_eq!(status, StatusCode::OK, "body: {text}");
    serde_json::from_str(&text).expect("json")
}

/// Sends; must answer 201 with JSON.
pub async fn json_created(rb: RequestBuilder) -> Value {
    let resp = rb.send().await.expect("send");
    let status = resp.status();
    let text = resp.text().await.expect("text");
    assert_eq!(status, StatusCode::CREATED, "body: {text}");
    serde_json::from_str(&text).expect("json")
}

/// Sends and returns (status, JSON body or Null).
pub async fn send(rb: RequestBuilder) -> (StatusCode, Value) {
    let resp = rb.send().await.expect("send");
    let status = resp.status();
    let text = resp.text().await.expect("text");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Asserts Graph's error shape and returns the code.
pub fn graph_error_code(v: &Value) -> String {
    let e = &v["error"];
    assert!(e["message"].is_string(), "message in {v}");
    let inner = &e["innerError"];
    assert!(inner["date"].is_string(), "innerError.date in {v}");
    assert!(
        inner["request-id"].is_string(),
        "innerError.request-id in {v}"
    );
    assert!(
        inner["client-request-id"].is_string(),
        "innerError.client-request-id in {v}"
    );
    e["code"].as_str().expect("code").to_string()
}
