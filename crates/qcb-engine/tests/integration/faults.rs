//! Item-level faults: a message whose download fails is reported, the run goes on, and the
//! next run retries it. A small proxy in front of the emulator fails chosen requests.

use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use qcb_engine::{BackupOptions, NoProgress};

use super::support::{at, connection, world};

#[derive(Clone)]
struct Proxy {
    upstream: String,
    /// Paths (ending with this) answered with 404 ErrorItemNotFound.
    fail: Arc<Mutex<Vec<String>>>,
    http: reqwest::Client,
}

async fn forward(State(p): State<Proxy>, req: Request) -> Response {
    let path_q = req
        .uri()
        .path_and_query()
        .map(|x| x.as_str().to_string())
        .unwrap_or_default();
    if p.fail
        .lock()
        .unwrap()
        .iter()
        .any(|f| req.uri().path().ends_with(f.as_str()))
    {
        return Response::builder()
            .status(StatusCode::NOT_FOUND)
            .header("content-type", "application/json")
            .body(Body::from(r#"{"error":{"code":"ErrorItemNotFound","message":"The specified object was not found in the store."}}"#))
            .unwrap();
    }
    let (parts, body) = req.into_parts();
    let body: Bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    let mut out = p
        .http
        .request(parts.method.clone(), format!("{}{path_q}", p.upstream))
        .body(body);
    for (k, v) in parts.headers.iter().filter(|(k, _)| *k != "host") {
        out = out.header(k, v);
    }
    let resp = out.send().await.unwrap();
    let mut b = Response::builder().status(resp.status().as_u16());
    for (k, v) in resp.headers() {
        b = b.header(k, v);
    }
    // Graph's paging links are absolute and lead straight to the emulator; only requests the
    // client builds itself (like $value) pass through here.
    let text = resp.bytes().await.unwrap();
    b.body(Body::from(text)).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_item_is_reported_the_run_goes_on_and_the_next_run_retries_it() {
    let w = world(40).await;
    let alice = w.alice();
    let inbox = w.folder(&alice.id, "Inbox");
    let victim = w.sim.admin().messages(&alice.id, &inbox.id).remove(0);

    let proxy = Proxy {
        upstream: w.sim.base_url(),
        fail: Arc::new(Mutex::new(vec![format!("{}/$value", victim.id)])),
        http: reqwest::Client::new(),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new()
        .fallback(forward)
        .with_state(proxy.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let mut conn = connection(&w.sim);
    conn.graph_url = format!("http://{addr}/v1.0");
    conn.authority = format!("http://{addr}");
    let graph = Arc::new(conn.client().unwrap());
    let run = |minutes| {
        let (graph, repo) = (graph.clone(), w.repo.repository().clone());
        async move {
            qcb_engine::backup(
                graph,
                repo,
                BackupOptions::new(at(minutes), "t"),
                Arc::new(NoProgress),
            )
            .await
            .unwrap()
        }
    };

    let first = run(0).await;
    assert_eq!(first.failed.len(), 1, "{:?}", first.failed);
    assert_eq!(first.failed[0].item_id, victim.id);
    assert_eq!(first.failed[0].folder, "Inbox");
    assert!(
        first.failed[0].reason.contains("ErrorItemNotFound"),
        "{}",
        first.failed[0].reason
    );
    let admin = w.sim.admin();
    let total: usize = admin
        .users()
        .iter()
        .flat_map(|u| admin.folders(&u.id))
        .map(|f| f.total_item_count)
        .sum();
    assert_eq!(
        first.items as usize,
        total - 1,
        "everything else is in the snapshot"
    );

    // The fault clears; nothing changes in the mailbox; the next run picks the item up.
    proxy.fail.lock().unwrap().clear();
    w.sim.admin().clear_request_log();
    let second = run(5).await;
    assert!(second.failed.is_empty(), "{:?}", second.failed);
    assert_eq!(second.items as usize, total);
    assert_eq!(
        w.mime_downloads(),
        vec![victim.id.clone()],
        "only the missed message is downloaded"
    );
    let inbox_now = w
        .repo
        .browse("latest", &format!("/{}/Inbox", alice.user_principal_name))
        .unwrap();
    assert!(inbox_now.items.iter().any(|i| i.id == victim.id));
}
