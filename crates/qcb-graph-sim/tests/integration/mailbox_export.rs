//! Full-fidelity mailbox export and import (`/admin/exchange/mailboxes`):
//! folder and item delta, `exportItems` (up to 20 ids, per-item errors),
//! `createImportSession`, the pre-authenticated import URL (create and
//! update), round trips that keep every property, permissions.

use qcb_graph_sim::AppRegistration;
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::common::{self, Harness, IMMUTABLE, graph_error_code, json_ok, send};

const ALICE: &str = "alice@contoso.example";

async fn mailbox_id(h: &Harness, user: &str) -> String {
    let v = h
        .get_json(&format!("/users/{user}/settings/exchange"))
        .await;
    let id = v["primaryMailboxId"].as_str().expect("primaryMailboxId");
    assert!(id.starts_with("MBX:"), "{id}");
    id.to_string()
}

fn admin_path(mbx: &str, rest: &str) -> String {
    format!("/admin/exchange/mailboxes/{mbx}{rest}")
}

/// Follows a delta round to its deltaLink: (items, pages, deltaLink).
async fn round(h: &Harness, url: &str, prefer: Option<&str>) -> (Vec<Value>, usize, String) {
    let mut out = Vec::new();
    let mut pages = 0;
    let mut next = h.url(url);
    loop {
        let mut rb = h.get(&next);
        if let Some(p) = prefer {
            rb = rb.header("Prefer", p);
        }
        let v = json_ok(rb).await;
        pages += 1;
        out.extend(v["value"].as_array().expect("value").iter().cloned());
        if let Some(n) = v["@odata.nextLink"].as_str() {
            next = n.to_string();
        } else {
            let d = v["@odata.deltaLink"].as_str().expect("deltaLink");
            return (out, pages, d.to_string());
        }
    }
}

#[tokio::test]
async fn folder_delta_lists_the_mail_folders_as_mailbox_folders() {
    let h = common::start(common::small()).await;
    let mbx = mailbox_id(&h, ALICE).await;
    let (folders, pages, delta) = round(
        &h,
        &admin_path(&mbx, "/folders/delta"),
        Some("odata.maxpagesize=4"),
    )
    .await;
    assert!(pages > 2, "{pages}");
    let alice = h.alice().id;
    let expected: Vec<String> = h
        .get_all(&format!("/users/{ALICE}/mailFolders/delta"))
        .await
        .iter()
        .map(|f| f["id"].as_str().expect("id").to_string())
        .collect();
    // The mail folders, and (tested in mailbox_export_pim) the contact,
    // calendar and task folders.
    let mut seen: Vec<String> = folders
        .iter()
        .filter(|f| {
            f["type"]
                .as_str()
                .is_some_and(|t| t.starts_with("IPF.Note"))
        })
        .map(|f| f["id"].as_str().expect("id").to_string())
        .collect();
    let mut want = expected.clone();
    seen.sort();
    want.sort();
    assert_eq!(seen, want);
    let inbox = folders
        .iter()
        .find(|f| f["displayName"] == "Inbox")
        .expect("inbox");
    assert_eq!(inbox["@odata.type"], "#microsoft.graph.mailboxFolder");
    assert_eq!(inbox["type"], "IPF.Note");
    assert_eq!(
        inbox["totalItemCount"],
        h.sim
            .admin()
            .messages(&alice, &h.folder(&alice, "Inbox").id)
            .len()
    );
    assert!(inbox.get("wellKnownName").is_none(), "v1.0 has none");
    assert!(delta.contains("$deltatoken="), "{delta}");
    // nothing changed: an empty round; a new folder shows up in the next
    let (again, _, delta) = round(&h, &delta, None).await;
    assert!(again.is_empty(), "{again:?}");
    let root = h.folder(&alice, "Inbox").id;
    h.sim
        .admin()
        .create_folder(&alice, &root, "Restored")
        .expect("folder");
    let (again, _, _) = round(&h, &delta, None).await;
    assert_eq!(again.len(), 1);
    assert_eq!(again[0]["displayName"], "Restored");
    // childFolders/delta: the folders below one folder
    let (children, _, _) = round(
        &h,
        &admin_path(&mbx, &format!("/folders/{root}/childFolders/delta")),
        None,
    )
    .await;
    assert!(children.iter().any(|f| f["displayName"] == "Restored"));
    assert!(children.iter().all(|f| f["displayName"] != "Inbox"));
    // beta names the well-known folders
    let v = json_ok(h.get(&format!(
        "{}/beta{}",
        h.sim.base_url(),
        admin_path(&mbx, "/folders/delta")
    )))
    .await;
    assert!(
        v["value"]
            .as_array()
            .expect("value")
            .iter()
            .all(|f| f.get("wellKnownName").is_some())
    );
    // $select, unknown mailbox, bad property
    let v = h
        .get_json(&admin_path(&mbx, "/folders/delta?$select=displayName"))
        .await;
    let f = &v["value"][0];
    assert!(f["id"].is_string() && f["displayName"].is_string());
    assert!(f.get("totalItemCount").is_none());
    let (s, v) = send(h.get(&admin_path(
        "MBX:00000000-0000-0000-0000-000000000000@contoso.example",
        "/folders/delta",
    )))
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    let (s, _) = send(h.get(&admin_path(&mbx, "/folders/delta?$select=nope"))).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    h.sim.shutdown().await;
}

#[tokio::test]
async fn item_delta_pages_the_messages_of_a_folder_and_reports_removals() {
    let h = common::start(common::small()).await;
    let mbx = mailbox_id(&h, ALICE).await;
    let alice = h.alice().id;
    let inbox = h.folder(&alice, "Inbox").id;
    let url = admin_path(&mbx, &format!("/folders/{inbox}/items/delta"));
    let (items, pages, delta) = round(&h, &url, Some("odata.maxpagesize=6")).await;
    let stored = h.sim.admin().messages(&alice, &inbox);
    assert!(pages >= stored.len().div_ceil(6));
    let mut seen: Vec<&str> = items
        .iter()
        .map(|i| i["id"].as_str().expect("id"))
        .collect();
    let mut want: Vec<&str> = stored.iter().map(|m| m.regular_id.as_str()).collect();
    seen.sort();
    want.sort();
    assert_eq!(seen, want);
    let it = &items[0];
    assert_eq!(it["@odata.type"], "#microsoft.graph.mailboxItem");
    assert_eq!(it["type"], "IPM.Note");
    assert!(it["size"].as_u64().expect("size") > 1000);
    assert!(
        it["changeKey"]
            .as_str()
            .expect("ck")
            .starts_with("CQAAABYAAA")
    );
    assert!(
        it["@odata.etag"]
            .as_str()
            .expect("etag")
            .starts_with("W/\"")
    );
    // ImmutableId gives the immutable ids
    let (items, _, _) = round(&h, &url, Some(IMMUTABLE)).await;
    let mut seen: Vec<&str> = items
        .iter()
        .map(|i| i["id"].as_str().expect("id"))
        .collect();
    let mut want: Vec<&str> = stored.iter().map(|m| m.id.as_str()).collect();
    seen.sort();
    want.sort();
    assert_eq!(seen, want);
    // a deletion is an @removed entry in the next round
    let gone = &stored[0];
    assert!(h.sim.admin().delete_message(&alice, &gone.id));
    let (again, _, _) = round(&h, &delta, None).await;
    assert_eq!(again.len(), 1, "{again:?}");
    assert_eq!(again[0]["id"], gone.regular_id.as_str());
    assert_eq!(again[0]["@removed"]["reason"], "deleted");
    // a token of another folder is refused; $orderby beyond receivedDateTime desc too
    let drafts = h.folder(&alice, "Drafts").id;
    let token = delta.split("$deltatoken=").nth(1).expect("token");
    let (s, v) = send(h.get(&format!(
        "{}?$deltatoken={token}",
        admin_path(&mbx, &format!("/folders/{drafts}/items/delta"))
    )))
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(graph_error_code(&v), "syncStateNotFound");
    let (s, _) = send(h.get(&format!("{url}?$orderby=subject"))).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let v = h
        .get_json(&format!("{url}?$orderby=receivedDateTime%20desc&$top=3"))
        .await;
    assert_eq!(v["value"].as_array().expect("value").len(), 3);
    h.sim.shutdown().await;
}

/// A message's Graph JSON without what differs between two copies of it.
fn comparable(mut v: Value) -> Value {
    let m = v.as_object_mut().expect("object");
    for k in [
        "@odata.context",
        "@odata.etag",
        "id",
        "changeKey",
        "parentFolderId",
        "lastModifiedDateTime",
        "webLink",
    ] {
        m.remove(k);
    }
    if let Some(atts) = m.get_mut("attachments").and_then(Value::as_array_mut) {
        for a in atts {
            a.as_object_mut().expect("attachment").remove("id");
        }
    }
    v
}

#[tokio::test]
async fn export_then_import_recreates_the_item_with_every_property() {
    let h = common::start(common::small()).await;
    let mbx = mailbox_id(&h, ALICE).await;
    let alice = h.alice().id;
    let inbox = h.folder(&alice, "Inbox").id;
    let stored = h.sim.admin().messages(&alice, &inbox);
    let with_att = stored
        .iter()
        .find(|m| m.has_attachments && m.transport_headers.is_some() && m.is_read)
        .or_else(|| stored.iter().find(|m| m.has_attachments))
        .expect("a message with attachments");
    let other = stored.iter().find(|m| m.id != with_att.id).expect("other");

    // export: two items, one unknown, one malformed
    let unknown = {
        let mut s = other.regular_id.clone();
        s.replace_range(40..44, "AAAA");
        s
    };
    let v = json_ok(
        h.req(reqwest::Method::POST, &admin_path(&mbx, "/exportItems"))
            .json(&json!({"itemIds": [with_att.regular_id, other.id, unknown, "nope"]})),
    )
    .await;
    let value = v["value"].as_array().expect("value");
    assert_eq!(value.len(), 4);
    assert_eq!(value[0]["itemId"], with_att.regular_id.as_str());
    assert_eq!(value[0]["changeKey"], with_att.change_key.as_str());
    let data = value[0]["data"].as_str().expect("data").to_string();
    assert!(data.len() > 1000);
    assert!(value[1]["data"].is_string());
    assert!(value[2]["error"]["code"].is_string(), "{}", value[2]);
    assert!(value[2].get("data").is_none());
    assert_eq!(value[3]["error"]["code"], "ErrorInvalidIdMalformed");
    // the limit of 20, the parameter spelled as the CSDL does
    let many: Vec<&str> = std::iter::repeat_n(other.id.as_str(), 21).collect();
    let (s, v) = send(
        h.req(reqwest::Method::POST, &admin_path(&mbx, "/exportItems"))
            .json(&json!({"ItemIds": many})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    let twenty: Vec<&str> = std::iter::repeat_n(other.id.as_str(), 20).collect();
    let v = json_ok(
        h.req(reqwest::Method::POST, &admin_path(&mbx, "/exportItems"))
            .json(&json!({"ItemIds": twenty})),
    )
    .await;
    assert_eq!(v["value"].as_array().expect("value").len(), 20);

    // import session
    let session = json_ok(h.req(
        reqwest::Method::POST,
        &admin_path(&mbx, "/createImportSession"),
    ))
    .await;
    let import_url = session["importUrl"]
        .as_str()
        .expect("importUrl")
        .to_string();
    assert!(
        import_url.contains("/importItem?authtoken="),
        "{import_url}"
    );
    assert!(session["expirationDateTime"].is_string());
    let target = h
        .sim
        .admin()
        .create_folder(&alice, &inbox, "Restored")
        .expect("folder");
    let body = json!({"FolderId": target, "Mode": "create", "Data": data});
    // pre-authenticated: an Authorization header is refused, as is a bad token
    let (s, _) = send(h.http.post(&import_url).bearer_auth(&h.token).json(&body)).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let bad = format!("{}x", import_url);
    let (s, v) = send(h.http.post(&bad).json(&body)).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
    // edited data is refused
    let mut edited = data.clone().into_bytes();
    edited[200] = if edited[200] == b'A' { b'B' } else { b'A' };
    let (s, v) = send(h.http.post(&import_url).json(&json!({
        "FolderId": target, "Mode": "create", "Data": String::from_utf8(edited).expect("ascii")
    })))
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    // create
    let v = json_ok(h.http.post(&import_url).json(&body)).await;
    let new_id = v["itemId"].as_str().expect("itemId").to_string();
    let new_ck = v["changeKey"].as_str().expect("changeKey").to_string();
    assert_ne!(new_id, with_att.regular_id);

    // the copy has every property of the original
    let q = "?$expand=attachments,singleValueExtendedProperties";
    let orig = h
        .get_json(&format!(
            "/users/{ALICE}/messages/{}{q}",
            with_att.regular_id
        ))
        .await;
    let copy = h
        .get_json(&format!("/users/{ALICE}/messages/{new_id}{q}"))
        .await;
    assert_eq!(copy["parentFolderId"], target.as_str());
    assert_eq!(copy["changeKey"], new_ck.as_str());
    assert_eq!(comparable(copy), comparable(orig));
    let headers = |id: String| {
        let h = &h;
        async move {
            h.get_json(&format!(
                "/users/{ALICE}/messages/{id}?$select=internetMessageHeaders"
            ))
            .await["internetMessageHeaders"]
                .clone()
        }
    };
    let orig_headers = headers(with_att.regular_id.clone()).await;
    assert!(orig_headers.as_array().is_some_and(|a| !a.is_empty()));
    assert_eq!(headers(new_id.clone()).await, orig_headers);
    let mime_orig = h
        .get_bytes(&format!(
            "/users/{ALICE}/messages/{}/$value",
            with_att.regular_id
        ))
        .await;
    let mime_copy = h
        .get_bytes(&format!("/users/{ALICE}/messages/{new_id}/$value"))
        .await;
    assert_eq!(mime_copy, mime_orig);

    // update: the original changes, its new export replaces the copy's content
    let patched = json_ok(
        h.req(
            reqwest::Method::PATCH,
            &format!("/users/{ALICE}/messages/{}", with_att.regular_id),
        )
        .json(&json!({"isRead": false, "categories": ["Restored"], "importance": "high"})),
    )
    .await;
    assert_eq!(patched["isRead"], false);
    let v = json_ok(
        h.req(reqwest::Method::POST, &admin_path(&mbx, "/exportItems"))
            .json(&json!({"itemIds": [with_att.regular_id]})),
    )
    .await;
    let data2 = v["value"][0]["data"].as_str().expect("data").to_string();
    assert_ne!(data2, data);
    let (s, v) = send(h.http.post(&import_url).json(&json!({
        "FolderId": target, "Mode": "update", "Data": data2,
        "ItemId": new_id, "ChangeKey": with_att.change_key,
    })))
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "stale change key: {v}");
    let (s, v) = send(h.http.post(&import_url).json(&json!({
        "FolderId": target, "Mode": "update", "Data": data2,
    })))
    .await;
    assert_eq!(
        s,
        StatusCode::BAD_REQUEST,
        "update needs ItemId and ChangeKey: {v}"
    );
    let (s, v) = send(h.http.post(&import_url).json(&json!({
        "FolderId": target, "Mode": "create", "Data": data2, "ItemId": new_id,
    })))
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "create takes no ItemId: {v}");
    let v = json_ok(h.http.post(&import_url).json(&json!({
        "FolderId": target, "Mode": "update", "Data": data2,
        "ItemId": new_id, "ChangeKey": new_ck,
    })))
    .await;
    assert_eq!(v["itemId"], new_id.as_str());
    assert_ne!(v["changeKey"], new_ck.as_str());
    let copy = h
        .get_json(&format!("/users/{ALICE}/messages/{new_id}"))
        .await;
    assert_eq!(copy["isRead"], false);
    assert_eq!(copy["importance"], "high");
    assert_eq!(copy["categories"], json!(["Restored"]));

    // into another mailbox (bob's), through its own session
    let bob_mbx = mailbox_id(&h, "bob@contoso.example").await;
    let session = json_ok(h.req(
        reqwest::Method::POST,
        &admin_path(&bob_mbx, "/createImportSession"),
    ))
    .await;
    let bob_url = session["importUrl"].as_str().expect("url").to_string();
    let v = json_ok(h.http.post(&bob_url).json(&json!({
        "FolderId": "inbox", "Mode": "create", "Data": data
    })))
    .await;
    let bob_copy = h
        .get_json(&format!(
            "/users/bob@contoso.example/messages/{}",
            v["itemId"].as_str().expect("id")
        ))
        .await;
    assert_eq!(
        bob_copy["subject"],
        orig_subject(&h, &with_att.regular_id).await
    );
    // alice's session URL does not reach bob's mailbox
    let forged = import_url.replace(&mbx, &bob_mbx);
    let (s, _) = send(h.http.post(&forged).json(&body)).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    h.sim.shutdown().await;
}

async fn orig_subject(h: &Harness, id: &str) -> Value {
    h.get_json(&format!("/users/{ALICE}/messages/{id}?$select=subject"))
        .await["subject"]
        .clone()
}

#[tokio::test]
async fn mailbox_export_import_needs_its_own_permissions() {
    let h = common::start(common::small()).await;
    let mbx = mailbox_id(&h, ALICE).await;
    let alice = h.alice().id;
    let inbox = h.folder(&alice, "Inbox").id;
    let reg = h
        .sim
        .admin()
        .register_app(AppRegistration {
            client_secret: Some("s3cret".into()),
            application_permissions: vec![
                "Mail.ReadWrite".into(),
                "MailboxFolder.Read.All".into(),
                "MailboxItem.Export.All".into(),
            ],
            ..AppRegistration::default()
        })
        .expect("register");
    let (s, v) = send(h.http.post(h.sim.token_url()).form(&[
        ("grant_type", "client_credentials"),
        ("client_id", reg.client_id.as_str()),
        ("client_secret", "s3cret"),
        ("scope", "https://graph.microsoft.com/.default"),
    ]))
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let token = v["access_token"].as_str().expect("token").to_string();
    let get = |p: &str| h.http.get(h.url(p)).bearer_auth(&token);
    let post = |p: &str| h.http.post(h.url(p)).bearer_auth(&token);
    assert_eq!(
        send(get(&admin_path(&mbx, "/folders/delta"))).await.0,
        StatusCode::OK
    );
    // items delta needs MailboxItem.Read.All (or ImportExport.All)
    let (s, v) = send(get(&admin_path(
        &mbx,
        &format!("/folders/{inbox}/items/delta"),
    )))
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(graph_error_code(&v), "ErrorAccessDenied");
    // export is allowed, the import session is not
    let m = &h.sim.admin().messages(&alice, &inbox)[0];
    let (s, _) =
        send(post(&admin_path(&mbx, "/exportItems")).json(&json!({"itemIds": [m.id]}))).await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = send(post(&admin_path(&mbx, "/createImportSession"))).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(graph_error_code(&v), "ErrorAccessDenied");
    // Mail.ReadWrite alone does not reach the admin API
    h.sim
        .admin()
        .set_app_permissions(&reg.client_id, &["Mail.ReadWrite"], &[])
        .expect("set");
    let v = send(h.http.post(h.sim.token_url()).form(&[
        ("grant_type", "client_credentials"),
        ("client_id", reg.client_id.as_str()),
        ("client_secret", "s3cret"),
        ("scope", "https://graph.microsoft.com/.default"),
    ]))
    .await
    .1;
    let token = v["access_token"].as_str().expect("token").to_string();
    let (s, _) = send(
        h.http
            .get(h.url(&admin_path(&mbx, "/folders/delta")))
            .bearer_auth(&token),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // the request log names the mailbox of admin API requests
    assert!(
        h.sim
            .admin()
            .request_log()
            .iter()
            .any(|r| r.path.contains("/admin/exchange/mailboxes/")
                && r.mailbox.as_deref() == Some(alice.as_str()))
    );
    h.sim.shutdown().await;
}
