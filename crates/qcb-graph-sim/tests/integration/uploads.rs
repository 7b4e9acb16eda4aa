//! Attachment upload sessions: createUploadSession (3–150 MB), ranges PUT
//! in order to the pre-authenticated URL without Authorization, bad
//! ranges refused, 201 + Location on the last range, cancel, upload bytes
//! throttled per mailbox.

use qcb_graph_sim::{SimOptions, ThrottleConfig};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::common::{self, Harness, graph_error_code, send};

const MB: usize = 1024 * 1024;

async fn draft(h: &Harness) -> String {
    let (s, v) = send(
        h.req(Method::POST, "/users/alice@contoso.example/messages")
            .json(&json!({"subject": "with a big attachment"})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v["id"].as_str().expect("id").to_string()
}

async fn session(h: &Harness, mid: &str, size: usize) -> (StatusCode, Value) {
    send(
        h.req(
            Method::POST,
            &format!("/users/alice@contoso.example/messages/{mid}/attachments/createUploadSession"),
        )
        .json(&json!({"AttachmentItem": {
            "attachmentType": "file", "name": "video.bin", "size": size,
            "contentType": "application/octet-stream"}})),
    )
    .await
}

fn data(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 31 % 251) as u8).collect()
}

async fn put(http: &reqwest::Client, url: &str, range: &str, body: Vec<u8>) -> reqwest::Response {
    http.put(url)
        .header("content-range", range)
        .header("content-type", "application/octet-stream")
        .body(body)
        .send()
        .await
        .expect("send")
}

#[tokio::test]
async fn a_large_attachment_uploads_in_ordered_ranges() {
    let h = common::start(common::small()).await;
    let mid = draft(&h).await;
    let size = 5 * MB + 500_000;
    let bytes = data(size);
    let (s, v) = session(&h, &mid, size).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["nextExpectedRanges"], json!(["0-"]));
    assert!(v["expirationDateTime"].is_string());
    assert!(
        v["@odata.context"]
            .as_str()
            .unwrap_or("")
            .ends_with("$metadata#microsoft.graph.uploadSession")
    );
    let url = v["uploadUrl"].as_str().expect("uploadUrl").to_string();
    assert!(
        url.contains("/AttachmentSessions('") && url.contains("authtoken="),
        "{url}"
    );

    let total = size;
    let r = put(
        &h.http,
        &url,
        &format!("bytes 0-{}/{total}", MB - 1),
        bytes[..MB].to_vec(),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["nextExpectedRanges"], json!([MB.to_string()]));
    // The request log puts the range on the session's mailbox, with its length: the bytes
    // count against that mailbox's upload limit.
    let alice = h
        .sim
        .admin()
        .users()
        .into_iter()
        .find(|u| u.user_principal_name.starts_with("alice@"))
        .expect("alice")
        .id;
    let logged = h
        .sim
        .admin()
        .request_log()
        .into_iter()
        .rfind(|l| l.method == "PUT")
        .expect("the PUT is logged");
    assert_eq!(logged.mailbox.as_deref(), Some(alice.as_str()));
    assert_eq!(logged.request_bytes, MB as u64);

    // out of order: 416; with an Authorization header: 401; wrong total,
    // a range past the end, a body that does not match the range: 400
    let r = put(
        &h.http,
        &url,
        &format!("bytes {}-{}/{total}", 2 * MB, 3 * MB - 1),
        bytes[2 * MB..3 * MB].to_vec(),
    )
    .await;
    assert_eq!(r.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    let r = h
        .http
        .put(&url)
        .bearer_auth(&h.token)
        .header(
            "content-range",
            format!("bytes {MB}-{}/{total}", 2 * MB - 1),
        )
        .body(bytes[MB..2 * MB].to_vec())
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = put(
        &h.http,
        &url,
        &format!("bytes {MB}-{}/{}", 2 * MB - 1, total + 1),
        bytes[MB..2 * MB].to_vec(),
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = put(
        &h.http,
        &url,
        &format!("bytes {}-{total}/{total}", total - 10),
        vec![0; 11],
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = put(
        &h.http,
        &url,
        &format!("bytes {MB}-{}/{total}", 2 * MB - 1),
        bytes[MB..2 * MB - 10].to_vec(),
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = put(&h.http, &url, "0-10", vec![0; 11]).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    // a range over the 4 MB request limit
    let r = put(
        &h.http,
        &url,
        &format!("bytes {MB}-{}/{total}", total - 1),
        bytes[MB..].to_vec(),
    )
    .await;
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // go on in order
    let r = put(
        &h.http,
        &url,
        &format!("bytes {MB}-{}/{total}", 3 * MB - 1),
        bytes[MB..3 * MB].to_vec(),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let done = put(
        &h.http,
        &url,
        &format!("bytes {}-{}/{total}", 3 * MB, total - 1),
        bytes[3 * MB..].to_vec(),
    )
    .await;
    assert_eq!(done.status(), StatusCode::CREATED);
    let location = done.headers()["location"]
        .to_str()
        .expect("ascii")
        .to_string();
    let aid = location
        .rsplit_once("Attachments('")
        .and_then(|(_, r)| r.strip_suffix("')"))
        .expect("attachment id in Location")
        .to_string();
    let meta = h
        .get_json(&format!(
            "/users/alice@contoso.example/messages/{mid}/attachments/{aid}?$select=name,size"
        ))
        .await;
    assert_eq!(meta["name"], "video.bin");
    assert_eq!(meta["size"], size);
    let got = h
        .get_bytes(&format!(
            "/users/alice@contoso.example/messages/{mid}/attachments/{aid}/$value"
        ))
        .await;
    assert!(got == bytes, "the uploaded bytes come back");
    // the session is gone
    let r = put(&h.http, &url, &format!("bytes 0-9/{total}"), vec![0; 10]).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    h.sim.shutdown().await;
}

#[tokio::test]
async fn upload_session_limits_and_cancel() {
    let h = common::start(common::small()).await;
    let mid = draft(&h).await;
    let (s, v) = session(&h, &mid, 2 * MB).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(
        graph_error_code(&v),
        "ErrorAttachmentSizeShouldNotBeLessThanMinimumSize"
    );
    let (s, _) = session(&h, &mid, 151 * MB).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _) = send(
        h.req(
            Method::POST,
            &format!("/users/alice@contoso.example/messages/{mid}/attachments/createUploadSession"),
        )
        .json(&json!({"AttachmentItem": {"attachmentType": "item", "name": "x", "size": 4 * MB}})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, v) = session(&h, "AAMkAGIbogus", 4 * MB).await;
    assert_eq!(
        (s, graph_error_code(&v).as_str()),
        (StatusCode::BAD_REQUEST, "ErrorInvalidIdMalformed")
    );
    // needs a token to create
    let (s, _) = send(
        h.http
            .post(h.url(&format!(
                "/users/alice@contoso.example/messages/{mid}/attachments/createUploadSession"
            )))
            .json(
                &json!({"AttachmentItem": {"attachmentType": "file", "name": "x", "size": 4 * MB}}),
            ),
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);

    let (_, v) = session(&h, &mid, 4 * MB).await;
    let url = v["uploadUrl"].as_str().expect("url").to_string();
    let forged = url.replace("authtoken=", "authtoken=x");
    let r = put(
        &h.http,
        &forged,
        &format!("bytes 0-9/{}", 4 * MB),
        vec![0; 10],
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = h.http.delete(&url).send().await.expect("send");
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = put(&h.http, &url, &format!("bytes 0-9/{}", 4 * MB), vec![0; 10]).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    h.sim.shutdown().await;
}

#[tokio::test]
async fn upload_ranges_count_against_the_upload_limit() {
    let options = SimOptions {
        throttle: ThrottleConfig {
            upload_bytes_per_window: 5 * MB as u64,
            ..ThrottleConfig::exchange()
        },
        ..SimOptions::default()
    };
    let h = common::start_with(common::small(), options).await;
    let mid = draft(&h).await;
    let size = 6 * MB;
    let (_, v) = session(&h, &mid, size).await;
    let url = v["uploadUrl"].as_str().expect("url").to_string();
    for i in 0..3 {
        let r = put(
            &h.http,
            &url,
            &format!("bytes {}-{}/{size}", i * 2 * MB, (i + 1) * 2 * MB - 1),
            data(2 * MB),
        )
        .await;
        if i < 2 {
            assert_eq!(r.status(), StatusCode::OK, "range {i}");
        } else {
            assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
            assert!(r.headers().contains_key("retry-after"));
        }
    }
    h.sim.shutdown().await;
}

#[tokio::test]
async fn an_event_attachment_uploads_too() {
    let h = common::start(common::small()).await;
    let events = h
        .get_json("/users/alice@contoso.example/events?$top=1&$select=subject")
        .await;
    let eid = events["value"][0]["id"]
        .as_str()
        .expect("an event")
        .to_string();
    let size = 3 * MB + 10;
    let (s, v) = send(
        h.req(
            Method::POST,
            &format!("/users/alice@contoso.example/events/{eid}/attachments/createUploadSession"),
        )
        .json(
            &json!({"AttachmentItem": {"attachmentType": "file", "name": "agenda.pdf",
                                         "size": size, "contentType": "application/pdf"}}),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let url = v["uploadUrl"].as_str().expect("url").to_string();
    assert!(url.contains("/Events('"), "{url}");
    let bytes = data(size);
    let done = put(
        &h.http,
        &url,
        &format!("bytes 0-{}/{size}", size - 1),
        bytes.clone(),
    )
    .await;
    assert_eq!(done.status(), StatusCode::CREATED);
    let location = done.headers()["location"]
        .to_str()
        .expect("ascii")
        .to_string();
    let aid = location
        .rsplit_once("Attachments('")
        .and_then(|(_, r)| r.strip_suffix("')"))
        .expect("attachment id")
        .to_string();
    let got = h
        .get_bytes(&format!(
            "/users/alice@contoso.example/events/{eid}/attachments/{aid}/$value"
        ))
        .await;
    assert!(got == bytes);
    h.sim.shutdown().await;
}
