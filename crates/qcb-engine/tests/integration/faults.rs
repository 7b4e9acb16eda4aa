//! Item-level faults: a message whose download fails is reported, the run goes on, and the
//! next run retries it; a restored event that cannot be completed is removed, so the next
//! restore brings it back. A small proxy in front of the emulator fails chosen requests.

use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use qcb_engine::NoProgress;

use super::support::{at, connection, world};

#[derive(Clone)]
struct Proxy {
    upstream: String,
    /// This proxy's own base URL: Graph's absolute paging links are rewritten to it.
    me: Arc<Mutex<String>>,
    /// Paths that contain every `*`-separated part of an entry are answered with 404
    /// ErrorItemNotFound.
    fail: Arc<Mutex<Vec<String>>>,
    /// An entry starting with "POST " fails only POSTs, with 503 Service Unavailable.
    seen: Arc<Mutex<Vec<String>>>,
    http: reqwest::Client,
}

async fn forward(State(p): State<Proxy>, req: Request) -> Response {
    let path_q = req
        .uri()
        .path_and_query()
        .map(|x| x.as_str().to_string())
        .unwrap_or_default();
    let path = req.uri().path().to_string();
    p.seen
        .lock()
        .unwrap()
        .push(format!("{} {path}", req.method()));
    let post_503 = p.fail.lock().unwrap().iter().any(|f| {
        f.strip_prefix("POST ")
            .is_some_and(|pat| req.method() == "POST" && path.contains(pat))
    });
    if post_503 {
        return Response::builder()
            .status(StatusCode::SERVICE_UNAVAILABLE)
            .header("content-type", "application/json")
            .body(Body::from(
                r#"{"error":{"code":"ServiceUnavailable","message":"Service unavailable."}}"#,
            ))
            .unwrap();
    }
    if p.fail
        .lock()
        .unwrap()
        .iter()
        .filter(|f| !f.starts_with("POST "))
        .any(|f| f.split('*').all(|part| path.contains(part)))
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
    // Graph's paging links are absolute: point them at the proxy so later pages come here too.
    let text = resp.bytes().await.unwrap();
    let me = p.me.lock().unwrap().clone();
    let text = String::from_utf8(text.to_vec())
        .map(|t| Bytes::from(t.replace(&p.upstream, &me)))
        .unwrap_or(text);
    b.body(Body::from(text)).unwrap()
}

async fn start_proxy(w: &super::support::World) -> (Proxy, Arc<qcb_engine::GraphClient>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let proxy = Proxy {
        upstream: w.sim.base_url(),
        me: Arc::new(Mutex::new(format!("http://{addr}"))),
        fail: Arc::default(),
        seen: Arc::default(),
        http: reqwest::Client::new(),
    };
    let app = axum::Router::new()
        .fallback(forward)
        .with_state(proxy.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let mut conn = connection(&w.sim);
    conn.graph_url = format!("http://{addr}/v1.0");
    conn.authority = format!("http://{addr}");
    (proxy, Arc::new(conn.client().unwrap()))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_item_is_reported_the_run_goes_on_and_the_next_run_retries_it() {
    let w = world(40).await;
    let alice = w.alice();
    let inbox = w.folder(&alice.id, "Inbox");
    let victim = w.sim.admin().messages(&alice.id, &inbox.id).remove(0);

    let (proxy, graph) = start_proxy(&w).await;
    proxy
        .fail
        .lock()
        .unwrap()
        .push(format!("{}/$value", victim.id));

    let first = w.backup_via(&graph, 0).await.unwrap();
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
    let second = w.backup_via(&graph, 5).await.unwrap();
    assert!(second.failed.is_empty(), "{:?}", second.failed);
    assert_eq!(second.items as usize, total);
    assert_eq!(
        w.mime_downloads(),
        vec![victim.id.clone()],
        "only the missed message is downloaded"
    );
    let inbox_now = w
        .repo
        .browse(
            "latest",
            &format!("/{}/Mail/Inbox", alice.user_principal_name),
        )
        .unwrap();
    assert!(inbox_now.items.iter().any(|i| i.id == victim.id));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_folder_that_cannot_be_read_keeps_its_previous_version_and_the_mailbox_stays() {
    let w = world(40).await;
    let alice = w.alice();
    let inbox = w.folder(&alice.id, "Inbox");
    let (proxy, graph) = start_proxy(&w).await;
    let first = w.backup_via(&graph, 0).await.unwrap();
    assert!(first.failed.is_empty());
    let path = format!("/{}/Mail/Inbox", alice.user_principal_name);
    let before = w.repo.browse("latest", &path).unwrap().items;

    // Every delta request of the Inbox now fails with an item-not-found error.
    let id_prefix: String = inbox.id.split('=').next().unwrap().to_string();
    proxy
        .fail
        .lock()
        .unwrap()
        .push(format!("{id_prefix}*/messages/delta"));
    w.sim.admin().add_message(
        &alice.id,
        &inbox.id,
        qcb_graph_sim::NewMessage::generated(5),
    );
    let second = w.backup_via(&graph, 5).await.unwrap();
    assert_eq!(second.failed.len(), 1, "{:?}", second.failed);
    assert_eq!(second.failed[0].folder, "Inbox");
    assert!(
        second.failed[0].reason.contains("previous version kept"),
        "{}",
        second.failed[0].reason
    );
    assert_eq!(second.mailboxes, 2, "the mailbox is still in the snapshot");
    let kept = w.repo.browse("latest", &path).unwrap().items;
    assert_eq!(kept, before, "the Inbox as it was in the last snapshot");

    // Once the folder can be read again, the new message arrives.
    proxy.fail.lock().unwrap().clear();
    let third = w.backup_via(&graph, 10).await.unwrap();
    assert!(third.failed.is_empty(), "{:?}", third.failed);
    assert_eq!(
        w.repo.browse("latest", &path).unwrap().items.len(),
        before.len() + 1
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_mailbox_that_cannot_be_read_is_carried_forward_and_reported() {
    let w = world(30).await;
    let alice = w.alice();
    let (proxy, graph) = start_proxy(&w).await;
    // Never backed up and unreadable: reported, not in the snapshot.
    proxy
        .fail
        .lock()
        .unwrap()
        .push(format!("/users/{}/mailFolders", alice.id));
    let first = w.backup_via(&graph, 0).await.unwrap();
    assert_eq!(first.mailboxes, 1);
    assert!(
        first
            .failed
            .iter()
            .any(|f| f.mailbox == alice.user_principal_name
                && f.reason.starts_with("mailbox not backed up:")),
        "{:?}",
        first.failed
    );

    proxy.fail.lock().unwrap().clear();
    let second = w.backup_via(&graph, 5).await.unwrap();
    assert_eq!(second.mailboxes, 2);
    assert!(second.failed.is_empty());

    // Unreadable again: the last version stays in the new snapshot, with the reason.
    proxy
        .fail
        .lock()
        .unwrap()
        .push(format!("/users/{}/mailFolders", alice.id));
    let third = w.backup_via(&graph, 10).await.unwrap();
    assert_eq!(third.mailboxes, 2);
    assert_eq!(third.items, second.items);
    assert!(
        third.failed[0].reason.contains("previous version kept"),
        "{:?}",
        third.failed
    );
    let path = format!("/{}/Mail/Inbox", alice.user_principal_name);
    assert_eq!(
        w.repo.browse("latest", &path).unwrap().items.len(),
        w.sim
            .admin()
            .messages(&alice.id, &w.folder(&alice.id, "Inbox").id)
            .len()
    );

    // Every mailbox unreadable and nothing to carry: the job fails, with its own code.
    let fresh = world(5).await;
    let (proxy, graph) = start_proxy(&fresh).await;
    proxy.fail.lock().unwrap().push("/mailFolders".into());
    let err = qcb_engine::backup(
        graph,
        fresh.repo.repository().clone(),
        super::support::mail_opts(at(0), "t"),
        Arc::new(NoProgress),
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), "job_failed", "{err}");
    assert!(fresh.repo.snapshots().unwrap().is_empty());
}

/// Opens the repository afresh, as a new process would, and backs up into it with the request
/// log cleared first.
async fn reopen_and_backup(
    w: &super::support::World,
    minutes: i64,
    cache: &std::path::Path,
) -> (qcb_engine::RepoHandle, qcb_engine::BackupReport) {
    let root = std::path::PathBuf::from(w.repo.repository().location());
    let repo = qcb_engine::RepoHandle::open(&root, "pw", cache).unwrap();
    w.sim.admin().clear_request_log();
    let report = qcb_engine::backup(
        w.graph.clone(),
        repo.repository().clone(),
        super::support::mail_opts(at(minutes), "t"),
        Arc::new(NoProgress),
    )
    .await
    .unwrap();
    (repo, report)
}

/// `check` finds nothing wrong with the latest snapshot.
fn assert_latest_is_whole(repo: &qcb_engine::RepoHandle) {
    let snap = repo.repository().find_snapshot("latest").unwrap();
    let problems: Vec<String> = repo
        .repository()
        .check_structure()
        .unwrap()
        .into_iter()
        .filter(|p| p.contains(snap.id.short()))
        .collect();
    assert!(problems.is_empty(), "{problems:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn items_whose_stored_data_was_lost_are_downloaded_again() {
    let w = world(20).await;
    let first = w.backup(0).await;
    // Lose every index file: the packs are still there, but nothing says what is in them.
    let root = std::path::PathBuf::from(w.repo.repository().location());
    for f in std::fs::read_dir(root.join("index")).unwrap() {
        std::fs::remove_file(f.unwrap().path()).unwrap();
    }
    let cache = tempfile::tempdir().unwrap();
    let (repo, second) = reopen_and_backup(&w, 5, cache.path()).await;
    assert!(second.failed.is_empty(), "{:?}", second.failed);
    assert_eq!(
        second.items_fetched, first.items,
        "every item downloaded again"
    );
    assert_eq!(w.mime_downloads().len() as u64, first.items);
    // The new snapshot is whole again.
    assert_latest_is_whole(&repo);
}

#[tokio::test(flavor = "multi_thread")]
async fn carried_over_items_whose_blobs_no_index_lists_are_downloaded_again() {
    let w = world(20).await;
    let admin = w.sim.admin();
    let root = std::path::PathBuf::from(w.repo.repository().location());
    let first = w.backup(0).await;
    let first_index: Vec<_> = std::fs::read_dir(root.join("index"))
        .unwrap()
        .map(|f| f.unwrap().path())
        .collect();
    assert_eq!(first_index.len(), 1);
    // A new message in every folder: the second snapshot's trees are all new (and in the
    // second index), while the old messages' data stays listed only in the first index.
    for u in admin.users() {
        for (i, f) in admin
            .folders(&u.id)
            .into_iter()
            .filter(|f| !f.path.is_empty())
            .enumerate()
        {
            admin.add_message(
                &u.id,
                &f.id,
                qcb_graph_sim::NewMessage::generated(1000 + i as u64),
            );
        }
    }
    let second = w.backup(5).await;
    assert!(second.failed.is_empty());
    std::fs::remove_file(&first_index[0]).unwrap();

    let cache = tempfile::tempdir().unwrap();
    let (repo, third) = reopen_and_backup(&w, 10, cache.path()).await;
    assert!(third.failed.is_empty(), "{:?}", third.failed);
    assert_eq!(third.items, second.items);
    assert_eq!(
        third.items_fetched, first.items,
        "exactly the messages whose data was only in the lost index"
    );
    assert_latest_is_whole(&repo);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_create_that_may_have_happened_is_never_sent_twice() {
    let w = world(20).await;
    w.backup(0).await;
    let alice = w.alice();
    let (proxy, graph) = start_proxy(&w).await;
    // Every message create answers 503: it might have been carried out, so it is not repeated.
    proxy.fail.lock().unwrap().push("POST /messages".into());
    let opts = super::support::restore_opts(
        &format!("/{}/Mail/Inbox/Receipts", alice.user_principal_name),
        qcb_engine::RestoreTarget::Folder("Retry test".into()),
    );
    let r = qcb_engine::restore(
        graph,
        w.repo.repository().clone(),
        opts,
        Arc::new(NoProgress),
    )
    .await
    .unwrap();
    let items = w
        .sim
        .admin()
        .messages(&alice.id, &w.folder(&alice.id, "Inbox/Receipts").id)
        .len();
    assert!(items > 0);
    assert_eq!(
        r.failed.len(),
        items,
        "each message reported, none restored"
    );
    assert_eq!(r.items_restored, 0);
    let posts = proxy
        .seen
        .lock()
        .unwrap()
        .iter()
        .filter(|s| s.starts_with("POST ") && s.ends_with("/messages"))
        .count();
    assert_eq!(posts, items, "one create request per message, no retries");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_mailbox_named_twice_is_backed_up_once() {
    let w = world(10).await;
    let alice = w.alice();
    let mut opts = super::support::mail_opts(at(0), "t");
    opts.mailboxes = vec![alice.user_principal_name.clone(), alice.id.clone()];
    let r = qcb_engine::backup(
        w.graph.clone(),
        w.repo.repository().clone(),
        opts,
        Arc::new(NoProgress),
    )
    .await
    .unwrap();
    assert_eq!(r.mailboxes, 1);
    assert!(r.failed.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_series_whose_exceptions_cannot_be_applied_is_removed_and_the_next_run_restores_it() {
    let w = world(5).await;
    let alice = w.alice();
    let admin = w.sim.admin();
    let b = qcb_engine::backup(
        w.graph.clone(),
        w.repo.repository().clone(),
        qcb_engine::BackupOptions::new(super::support::at(0), "t"),
        Arc::new(NoProgress),
    )
    .await
    .unwrap();
    assert!(b.failed.is_empty(), "{:?}", b.failed);
    let cal = admin
        .calendars(&alice.id)
        .into_iter()
        .find(|c| c.is_default)
        .unwrap();
    let summary = |list: Vec<qcb_graph_sim::EventInfo>| {
        let mut s: Vec<_> = list
            .into_iter()
            .map(|e| (e.subject, e.start, e.exception_dates, e.cancelled_dates))
            .collect();
        s.sort();
        s
    };
    let events = admin.events(&alice.id, &cal.id);
    let before = summary(events.clone());
    let series = events
        .iter()
        .filter(|e| !e.exception_dates.is_empty() || !e.cancelled_dates.is_empty())
        .count();
    assert!(series > 0);
    for e in &events {
        assert!(admin.delete_event(&alice.id, &e.id));
    }

    // Listing a new series' occurrences fails: those events are reported and not left behind
    // half restored (they would pass for restored next time).
    let (proxy, graph) = start_proxy(&w).await;
    proxy.fail.lock().unwrap().push("/instances".into());
    let opts = super::support::restore_opts(
        &format!("/{}/Calendars/{}", alice.user_principal_name, cal.name),
        qcb_engine::RestoreTarget::Original,
    );
    let r = qcb_engine::restore(
        graph,
        w.repo.repository().clone(),
        opts.clone(),
        Arc::new(NoProgress),
    )
    .await
    .unwrap();
    assert_eq!(r.failed.len(), series, "{:?}", r.failed);
    assert_eq!(
        admin.events(&alice.id, &cal.id).len(),
        events.len() - series,
        "no half-restored series left"
    );

    let again = w.restore_with(opts).await;
    assert!(again.failed.is_empty(), "{:?}", again.failed);
    assert_eq!(again.items_restored as usize, series);
    assert_eq!(summary(admin.events(&alice.id, &cal.id)), before);
    assert_eq!(admin.meeting_messages(), vec![]);
}

/// A folder create that gets no usable answer (here a 503, twice) is looked up and made again,
/// once; a message create whose connection breaks fails that one message (it may or may not
/// have been made), not the whole restore.
#[tokio::test(flavor = "multi_thread")]
async fn a_folder_create_without_an_answer_is_made_once_and_a_broken_message_create_fails_one_item()
{
    use qcb_graph_sim::{Fault, FaultConfig, FaultRule};
    let w = world(20).await;
    w.backup(0).await;
    let alice = w.alice();
    let post = |path: &str, nth, times, fault| FaultRule {
        method: Some("POST".into()),
        path_contains: path.into(),
        query_contains: None,
        nth,
        times,
        fault,
    };
    w.sim.admin().set_faults(FaultConfig {
        rules: vec![
            post(
                "/mailFolders",
                1,
                2,
                Fault::ServiceUnavailable { retry_after: None },
            ),
            post("/messages", 2, 1, Fault::ConnectionReset),
        ],
        ..Default::default()
    });
    let opts = super::support::restore_opts(
        &format!("/{}/Mail/Inbox/Receipts", alice.user_principal_name),
        qcb_engine::RestoreTarget::Folder("Broken answers".into()),
    );
    let r = qcb_engine::restore(
        w.graph.clone(),
        w.repo.repository().clone(),
        opts,
        Arc::new(NoProgress),
    )
    .await
    .expect("the restore rides out both");
    let admin = w.sim.admin();
    let folders = admin.folders(&alice.id);
    let made: Vec<&str> = folders
        .iter()
        .filter(|f| f.path.starts_with("Broken answers"))
        .map(|f| f.path.as_str())
        .collect();
    assert_eq!(
        made,
        ["Broken answers", "Broken answers/Receipts"],
        "each folder once"
    );
    let backed_up = admin
        .messages(&alice.id, &w.folder(&alice.id, "Inbox/Receipts").id)
        .len();
    assert_eq!(r.failed.len(), 1, "{:#?}", r.failed);
    assert!(
        r.failed[0].reason.contains("may or may not"),
        "{}",
        r.failed[0].reason
    );
    assert_eq!(r.items_restored as usize, backed_up - 1);
    assert_eq!(r.folders_created, 2);
    let logged = admin.request_log();
    let injected: Vec<&str> = logged.iter().filter_map(|l| l.fault.as_deref()).collect();
    assert_eq!(
        injected,
        [
            "service_unavailable",
            "service_unavailable",
            "connection_reset"
        ]
    );
}
