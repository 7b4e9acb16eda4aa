//! Mailbox quotas: a write that would take a mailbox over its quota
//! (`Admin::set_mailbox_quota`, Exchange's ProhibitSendReceiveQuota) is
//! refused with 507 `ErrorQuotaExceeded` and stores nothing; deleting frees
//! room; reads are never refused; no quota (the default) refuses nothing.

use base64::Engine as _;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::common::{self, Harness, graph_error_code, send};

const ALICE: &str = "alice@contoso.example";
const MB: usize = 1024 * 1024;

async fn create_message(h: &Harness, subject: &str, body_len: usize) -> (StatusCode, Value) {
    send(
        h.req(Method::POST, &format!("/users/{ALICE}/messages"))
            .json(&json!({
                "subject": subject,
                "body": {"contentType": "text", "content": "x".repeat(body_len)},
            })),
    )
    .await
}

fn assert_quota_exceeded(s: StatusCode, v: &Value) {
    assert_eq!(s, StatusCode::INSUFFICIENT_STORAGE, "{v}");
    assert_eq!(graph_error_code(v), "ErrorQuotaExceeded");
}

fn drafts_subjects(h: &Harness, alice: &str) -> Vec<String> {
    let drafts = h.folder(alice, "Drafts").id;
    h.sim
        .admin()
        .messages(alice, &drafts)
        .into_iter()
        .map(|m| m.subject)
        .collect()
}

#[tokio::test]
async fn a_write_over_the_quota_gets_507_and_deleting_frees_room() {
    let h = common::start(common::small()).await;
    let admin = h.sim.admin();
    let alice = h.alice().id;
    assert_eq!(
        admin.mailbox_quota(&alice),
        Some(None),
        "unlimited by default"
    );
    let big = create_message(&h, "big one", 40_000).await;
    assert_eq!(big.0, StatusCode::CREATED, "{}", big.1);
    let big_id = big.1["id"].as_str().expect("id").to_string();
    let size = admin.mailbox_size(&alice).expect("size");
    admin
        .set_mailbox_quota(&alice, Some(size + 10_000))
        .expect("quota");

    // fits
    let (s, v) = create_message(&h, "fits", 2_000).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let grown = admin.mailbox_size(&alice).expect("size");
    assert!(grown >= size + 2_000, "{size} -> {grown}");

    // would exceed: 507, nothing stored
    let (s, v) = create_message(&h, "too big", 20_000).await;
    assert_quota_exceeded(s, &v);
    assert!(!drafts_subjects(&h, &alice).contains(&"too big".to_string()));
    assert_eq!(admin.mailbox_size(&alice), Some(grown));

    // the same as MIME
    let mime = format!(
        "From: Alice <{ALICE}>\r\nTo: bob@contoso.example\r\nSubject: mime too big\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{}\r\n",
        "y".repeat(20_000)
    );
    let (s, v) = send(
        h.req(Method::POST, &format!("/users/{ALICE}/messages"))
            .header("content-type", "text/plain")
            .body(base64::engine::general_purpose::STANDARD.encode(mime)),
    )
    .await;
    assert_quota_exceeded(s, &v);
    assert!(!drafts_subjects(&h, &alice).contains(&"mime too big".to_string()));

    // an attachment that would exceed
    let fits_id = admin
        .messages(&alice, &h.folder(&alice, "Drafts").id)
        .into_iter()
        .find(|m| m.subject == "fits")
        .expect("fits")
        .id;
    let (s, v) = send(
        h.req(
            Method::POST,
            &format!("/users/{ALICE}/messages/{fits_id}/attachments"),
        )
        .json(&json!({
            "@odata.type": "#microsoft.graph.fileAttachment",
            "name": "big.bin",
            "contentBytes": base64::engine::general_purpose::STANDARD.encode(vec![7u8; 20_000]),
        })),
    )
    .await;
    assert_quota_exceeded(s, &v);
    assert!(admin.attachments(&alice, &fits_id).is_empty());

    // reading is never refused
    let (s, _) = send(h.get(&format!("/users/{ALICE}/messages?$top=5"))).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = send(h.get(&format!("/users/{ALICE}/messages/{big_id}/$value"))).await;
    assert_eq!(s, StatusCode::OK);

    // DELETE (to Recoverable Items, which has its own quota) frees room
    let (s, _) = send(h.req(Method::DELETE, &format!("/users/{ALICE}/messages/{big_id}"))).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert!(admin.mailbox_size(&alice).expect("size") < grown);
    let (s, v) = create_message(&h, "too big", 20_000).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let again = v["id"].as_str().expect("id").to_string();

    // full again; permanentDelete frees room as well
    let (s, v) = create_message(&h, "no room", 30_000).await;
    assert_quota_exceeded(s, &v);
    let (s, _) = send(h.req(
        Method::POST,
        &format!("/users/{ALICE}/messages/{again}/permanentDelete"),
    ))
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, v) = create_message(&h, "room again", 15_000).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");

    // without a quota nothing is refused
    admin.set_mailbox_quota(&alice, None).expect("quota");
    let (s, v) = create_message(&h, "unlimited", 200_000).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    // another mailbox is not affected by alice's quota
    admin.set_mailbox_quota(&alice, Some(1)).expect("quota");
    let (s, v) = send(
        h.req(Method::POST, "/users/bob@contoso.example/messages")
            .json(&json!({"subject": "bob has room"})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
}

#[tokio::test]
async fn a_full_mailbox_refuses_folders_contacts_events_and_tasks() {
    let h = common::start(common::small()).await;
    let admin = h.sim.admin();
    let alice = h.alice().id;
    let size = admin.mailbox_size(&alice).expect("size");
    admin.set_mailbox_quota(&alice, Some(size)).expect("quota");
    let lists = h.get_all(&format!("/users/{ALICE}/todo/lists")).await;
    let lid = lists[0]["id"].as_str().expect("list id").to_string();
    let attempts: Vec<(String, Value)> = vec![
        (
            format!("/users/{ALICE}/mailFolders"),
            json!({"displayName": "New folder"}),
        ),
        (
            format!("/users/{ALICE}/contactFolders"),
            json!({"displayName": "New contacts"}),
        ),
        (
            format!("/users/{ALICE}/contacts"),
            json!({"givenName": "Zoe", "surname": "Full"}),
        ),
        (
            format!("/users/{ALICE}/events"),
            json!({
                "subject": "No room",
                "start": {"dateTime": "2026-12-01T10:00:00", "timeZone": "UTC"},
                "end": {"dateTime": "2026-12-01T11:00:00", "timeZone": "UTC"},
            }),
        ),
        (
            format!("/users/{ALICE}/todo/lists/{lid}/tasks"),
            json!({"title": "No room"}),
        ),
        (
            format!("/users/{ALICE}/todo/lists"),
            json!({"displayName": "No room"}),
        ),
        (
            format!("/users/{ALICE}/calendars"),
            json!({"name": "No room"}),
        ),
    ];
    for (path, body) in &attempts {
        let (s, v) = send(h.req(Method::POST, path).json(body)).await;
        assert_quota_exceeded(s, &v);
    }
    assert_eq!(admin.mailbox_size(&alice), Some(size), "nothing stored");
    assert!(
        !admin
            .folders(&alice)
            .iter()
            .any(|f| f.display_name == "New folder")
    );
    // moving within the mailbox adds nothing
    let inbox = h.folder(&alice, "Inbox").id;
    let m = &admin.messages(&alice, &inbox)[0];
    let (s, v) = send(
        h.req(
            Method::POST,
            &format!("/users/{ALICE}/messages/{}/move", m.id),
        )
        .json(&json!({"destinationId": "archive"})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");

    // with room, the same writes pass
    admin
        .set_mailbox_quota(&alice, Some(size + 100_000))
        .expect("quota");
    for (path, body) in &attempts {
        let (s, v) = send(h.req(Method::POST, path).json(body)).await;
        assert_eq!(s, StatusCode::CREATED, "{path}: {v}");
    }

    // the admin API over HTTP
    let base = h.sim.base_url();
    let v: Value = h
        .http
        .put(format!("{base}/_sim/users/{ALICE}/quota"))
        .json(&json!({"quota": 12345}))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_eq!(v["quota"], json!(12345));
    assert!(v["size"].as_u64().expect("size") > 12345);
    let v: Value = h.sim_json(&format!("/users/{ALICE}/quota")).await;
    assert_eq!(v["quota"], json!(12345));
    assert_eq!(admin.mailbox_quota(&alice), Some(Some(12345)));
    let (s, _) = send(
        h.http
            .put(format!("{base}/_sim/users/{ALICE}/quota"))
            .json(&json!({"quota": null})),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(admin.mailbox_quota(&alice), Some(None));
    let (s, _) = send(h.http.get(format!("{base}/_sim/users/nobody/quota"))).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn upload_sessions_are_refused_when_the_attachment_would_not_fit() {
    let h = common::start(common::small()).await;
    let admin = h.sim.admin();
    let alice = h.alice().id;
    let (s, v) = create_message(&h, "with upload", 10).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let mid = v["id"].as_str().expect("id").to_string();
    let size = admin.mailbox_size(&alice).expect("size");
    let upload = 3 * MB + 1000;
    let session = |n: usize| {
        h.req(
            Method::POST,
            &format!("/users/{ALICE}/messages/{mid}/attachments/createUploadSession"),
        )
        .json(&json!({"AttachmentItem": {
            "attachmentType": "file", "name": "big.bin", "size": n}}))
    };
    admin
        .set_mailbox_quota(&alice, Some((size as usize + 2 * MB) as u64))
        .expect("quota");
    let (s, v) = send(session(upload)).await;
    assert_quota_exceeded(s, &v);

    // room at creation, none at the last range: refused, kept, then accepted
    admin
        .set_mailbox_quota(&alice, Some((size as usize + 4 * MB) as u64))
        .expect("quota");
    let (s, v) = send(session(upload)).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let url = v["uploadUrl"].as_str().expect("uploadUrl").to_string();
    let data = vec![42u8; upload];
    let put = |range: String, body: Vec<u8>| {
        h.http
            .put(&url)
            .header("content-range", range)
            .header("content-type", "application/octet-stream")
            .body(body)
    };
    let (s, v) = send(put(
        format!("bytes 0-{}/{upload}", 2 * MB - 1),
        data[..2 * MB].to_vec(),
    ))
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    admin.set_mailbox_quota(&alice, Some(size)).expect("quota");
    let last = || {
        put(
            format!("bytes {}-{}/{upload}", 2 * MB, upload - 1),
            data[2 * MB..].to_vec(),
        )
    };
    let (s, v) = send(last()).await;
    assert_quota_exceeded(s, &v);
    assert!(admin.attachments(&alice, &mid).is_empty());
    admin
        .set_mailbox_quota(&alice, Some((size as usize + 4 * MB) as u64))
        .expect("quota");
    let resp = last().send().await.expect("send");
    assert_eq!(resp.status(), StatusCode::CREATED);
    assert_eq!(admin.attachments(&alice, &mid).len(), 1);
}

#[tokio::test]
async fn imports_into_a_full_mailbox_are_refused() {
    let h = common::start(common::small()).await;
    let admin = h.sim.admin();
    let alice = h.alice().id;
    let mbx = h
        .get_json(&format!("/users/{ALICE}/settings/exchange"))
        .await["primaryMailboxId"]
        .as_str()
        .expect("primaryMailboxId")
        .to_string();
    let admin_path = |rest: &str| format!("/admin/exchange/mailboxes/{mbx}{rest}");
    let inbox = h.folder(&alice, "Inbox").id;
    let m = admin.messages(&alice, &inbox)[0].clone();
    let v = common::json_ok(
        h.req(Method::POST, &admin_path("/exportItems"))
            .json(&json!({"itemIds": [m.id]})),
    )
    .await;
    let data = v["value"][0]["data"].as_str().expect("data").to_string();
    let session = common::json_ok(h.req(Method::POST, &admin_path("/createImportSession"))).await;
    let url = session["importUrl"]
        .as_str()
        .expect("importUrl")
        .to_string();

    let size = admin.mailbox_size(&alice).expect("size");
    admin
        .set_mailbox_quota(&alice, Some(size + 100))
        .expect("quota");
    let before = admin.messages(&alice, &inbox).len();
    let body = json!({"FolderId": inbox, "Mode": "create", "Data": data});
    let (s, v) = send(h.http.post(&url).json(&body)).await;
    assert_quota_exceeded(s, &v);
    assert_eq!(admin.messages(&alice, &inbox).len(), before);
    // at the quota no import session is created either
    admin.set_mailbox_quota(&alice, Some(size)).expect("quota");
    let (s, v) = send(h.req(Method::POST, &admin_path("/createImportSession"))).await;
    assert_quota_exceeded(s, &v);
    // with room the import passes
    admin
        .set_mailbox_quota(&alice, Some(size * 2))
        .expect("quota");
    let (s, v) = send(h.http.post(&url).json(&body)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(admin.messages(&alice, &inbox).len(), before + 1);
}
