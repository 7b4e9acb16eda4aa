//! Mail folder tree: root listing and paging, hidden folders, well-known
//! names, childFolders, create (and ErrorFolderExists), errors.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::common::{self, graph_error_code, send};

#[tokio::test]
async fn folder_tree_well_known_names_and_paging() {
    let h = common::start(common::small()).await;
    let alice = h.alice();
    let base = format!("/users/{}/mailFolders", alice.user_principal_name);

    // Default page size 10: the root has 11 visible folders.
    let first = h.get_json(&base).await;
    assert_eq!(first["value"].as_array().map(Vec::len), Some(10));
    assert!(first["@odata.context"].is_string());
    let next = first["@odata.nextLink"].as_str().expect("nextLink");
    assert!(next.starts_with(&h.graph), "{next}");
    let visible = h.get_all(&base).await;
    let names: Vec<&str> = visible
        .iter()
        .filter_map(|f| f["displayName"].as_str())
        .collect();
    assert_eq!(
        names,
        [
            "Archive",
            "Conversation History",
            "Deleted Items",
            "Drafts",
            "Empty Folder",
            "Inbox",
            "Junk Email",
            "Kundenkorrespondenz — Ümlaut 📁",
            "Outbox",
            "RSS Feeds",
            "Sent Items"
        ]
    );
    for f in &visible {
        assert_eq!(f["isHidden"], false);
        for k in [
            "id",
            "displayName",
            "parentFolderId",
            "childFolderCount",
            "unreadItemCount",
            "totalItemCount",
            "isHidden",
        ] {
            assert!(f.get(k).is_some(), "{k} in {f}");
        }
    }
    let root = h.get_json(&format!("{base}/msgfolderroot")).await;
    assert!(visible.iter().all(|f| f["parentFolderId"] == root["id"]));
    assert_eq!(root["displayName"], "Top of Information Store");

    let with_hidden = h
        .get_all(&format!("{base}?includeHiddenFolders=true&$top=50"))
        .await;
    assert_eq!(with_hidden.len(), 12);
    assert!(
        with_hidden
            .iter()
            .any(|f| f["displayName"] == "Clutter" && f["isHidden"] == true)
    );

    // Well-known names resolve to the folders with those display names.
    for (wk, name) in [
        ("inbox", "Inbox"),
        ("sentitems", "Sent Items"),
        ("drafts", "Drafts"),
        ("deleteditems", "Deleted Items"),
        ("junkemail", "Junk Email"),
        ("archive", "Archive"),
        ("outbox", "Outbox"),
        ("msgfolderroot", "Top of Information Store"),
        ("Inbox", "Inbox"),
    ] {
        let f = h.get_json(&format!("{base}/{wk}")).await;
        assert_eq!(f["displayName"], name, "{wk}");
        let by_id = h
            .get_json(&format!("{base}/{}", f["id"].as_str().expect("id")))
            .await;
        assert_eq!(by_id["id"], f["id"]);
    }

    // Inbox → Projects → 2026 → Q4, and Receipts
    let inbox = h.get_json(&format!("{base}/inbox")).await;
    assert_eq!(inbox["childFolderCount"], 2);
    let kids = h.get_all(&format!("{base}/inbox/childFolders")).await;
    let kid_names: Vec<&str> = kids
        .iter()
        .filter_map(|f| f["displayName"].as_str())
        .collect();
    assert_eq!(kid_names, ["Projects", "Receipts"]);
    let mut cur = kids[0]["id"].as_str().expect("id").to_string();
    for name in ["2026", "Q4"] {
        let c = h.get_all(&format!("{base}/{cur}/childFolders")).await;
        assert_eq!(c.len(), 1);
        assert_eq!(c[0]["displayName"], name);
        assert_eq!(c[0]["parentFolderId"].as_str(), Some(cur.as_str()));
        cur = c[0]["id"].as_str().expect("id").to_string();
    }
    assert!(
        h.get_all(&format!("{base}/{cur}/childFolders"))
            .await
            .is_empty()
    );

    // Counts agree with the admin view; the empty folder is empty.
    let admin = h.sim.admin();
    let infos = admin.folders(&alice.id);
    let q4 = infos
        .iter()
        .find(|f| f.path == "Inbox/Projects/2026/Q4")
        .expect("Q4");
    assert_eq!(q4.id, cur);
    let empty = infos
        .iter()
        .find(|f| f.display_name == "Empty Folder")
        .expect("empty");
    assert_eq!(empty.total_item_count, 0);
    for f in &visible {
        let info = infos
            .iter()
            .find(|i| Some(i.id.as_str()) == f["id"].as_str())
            .expect("known");
        assert_eq!(f["totalItemCount"], info.total_item_count);
        assert_eq!(f["unreadItemCount"], info.unread_item_count);
    }
    let inbox_info = infos
        .iter()
        .find(|f| f.well_known_name.as_deref() == Some("inbox"))
        .expect("inbox");
    assert!(inbox_info.total_item_count > 5);

    // Paths are case-insensitive, ids are not.
    let lower = h
        .get_json(&format!("/users/{}/mailfolders/INBOX", alice.id))
        .await;
    assert_eq!(lower["id"], inbox["id"]);

    // $select
    let sel = h
        .get_json(&format!("{base}/inbox?$select=displayName"))
        .await;
    let mut keys: Vec<&str> = sel
        .as_object()
        .expect("obj")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(keys, ["@odata.context", "displayName", "id"]);
    h.sim.shutdown().await;
}

#[tokio::test]
async fn create_folders_and_errors() {
    let h = common::start(common::small()).await;
    let alice = h.alice();
    let base = format!("/users/{}/mailFolders", alice.id);

    let (status, v) = send(
        h.req(Method::POST, &base)
            .json(&json!({"displayName": "Restored 2026"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    assert_eq!(v["displayName"], "Restored 2026");
    assert_eq!(v["totalItemCount"], 0);
    let id = v["id"].as_str().expect("id").to_string();

    let (status, v) = send(
        h.req(Method::POST, &base)
            .json(&json!({"displayName": "restored 2026"})),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(graph_error_code(&v), "ErrorFolderExists");

    let (status, child) = send(
        h.req(Method::POST, &format!("{base}/{id}/childFolders"))
            .json(&json!({"displayName": "Inbox ✉️"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(child["parentFolderId"].as_str(), Some(id.as_str()));
    assert!(
        h.sim
            .admin()
            .folders(&alice.id)
            .iter()
            .any(|f| f.path == "Restored 2026/Inbox ✉️")
    );

    let (status, v) = send(h.req(Method::POST, &base).json(&json!({}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    graph_error_code(&v);
    let (status, v) = send(
        h.req(Method::POST, &base)
            .body("{not json")
            .header("content-type", "application/json"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(graph_error_code(&v), "BadRequest");

    // malformed id → 400, unknown but well-formed → 404, unknown user → 404
    let (status, v) = send(h.get(&format!("{base}/AAMkAGIgarbage"))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(graph_error_code(&v), "ErrorInvalidIdMalformed");
    let bob = &h.sim.admin().users()[1];
    let bobs_inbox = h.folder(&bob.id, "Inbox").id;
    let (status, v) = send(h.get(&format!("{base}/{bobs_inbox}"))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(graph_error_code(&v), "ErrorItemNotFound");
    let (status, v): (StatusCode, Value) =
        send(h.get("/users/nobody@contoso.example/mailFolders")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(graph_error_code(&v), "ErrorInvalidUser");
    h.sim.shutdown().await;
}

#[tokio::test]
async fn folder_hierarchy_delta() {
    let h = common::start(common::small()).await;
    let alice = h.alice();
    let all_known = h.sim.admin().folders(&alice.id);
    let mut next = h.url(&format!("/users/{}/mailFolders/delta", alice.id));
    let mut seen = Vec::new();
    let delta_link = loop {
        let v = common::json_ok(h.get(&next).header("prefer", "odata.maxpagesize=5")).await;
        let page = v["value"].as_array().expect("value");
        assert!(page.len() <= 5);
        seen.extend(
            page.iter()
                .filter_map(|f| f["displayName"].as_str().map(str::to_string)),
        );
        match v["@odata.nextLink"].as_str() {
            Some(n) => next = n.to_string(),
            None => {
                break v["@odata.deltaLink"]
                    .as_str()
                    .expect("deltaLink")
                    .to_string();
            }
        }
    };
    // every folder below msgfolderroot, hidden ones included
    assert_eq!(seen.len(), all_known.len() - 1);
    assert!(seen.iter().any(|n| n == "Q4") && seen.iter().any(|n| n == "Clutter"));

    let (status, _) = send(
        h.req(
            Method::POST,
            &format!("/users/{}/mailFolders/inbox/childFolders", alice.id),
        )
        .json(&json!({"displayName": "New one"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let v = common::json_ok(h.get(&delta_link)).await;
    let names: Vec<&str> = v["value"]
        .as_array()
        .expect("value")
        .iter()
        .filter_map(|f| f["displayName"].as_str())
        .collect();
    assert_eq!(names, ["New one"]);
    let delta_link = v["@odata.deltaLink"]
        .as_str()
        .expect("deltaLink")
        .to_string();

    // Renamed and moved (user activity): the folder comes back in the next round, changed,
    // with the same id; refused changes report why and change nothing.
    let admin = h.sim.admin();
    let id = admin
        .folders(&alice.id)
        .into_iter()
        .find(|f| f.display_name == "New one")
        .expect("new folder")
        .id;
    admin
        .rename_folder(&alice.id, &id, "Renamed")
        .expect("rename");
    admin
        .move_folder(&alice.id, &id, "deleteditems")
        .expect("move");
    assert!(
        admin.rename_folder(&alice.id, "inbox", "Post").is_err(),
        "well-known"
    );
    assert!(
        admin.move_folder(&alice.id, &id, &id).is_err(),
        "below itself"
    );
    admin
        .create_folder(&alice.id, "deleteditems", "Taken")
        .expect("sibling");
    assert!(
        admin.rename_folder(&alice.id, &id, "TAKEN").is_err(),
        "a name its parent has, case-insensitive"
    );
    let v = common::json_ok(h.get(&delta_link)).await;
    let changed: Vec<&Value> = v["value"]
        .as_array()
        .expect("value")
        .iter()
        .filter(|f| f["displayName"] != "Taken")
        .collect();
    assert_eq!(changed.len(), 1, "{v}");
    assert_eq!(changed[0]["id"], id.as_str());
    assert_eq!(changed[0]["displayName"], "Renamed");
    let deleted_items = admin
        .folders(&alice.id)
        .into_iter()
        .find(|f| f.display_name == "Deleted Items")
        .expect("Deleted Items")
        .id;
    assert_eq!(changed[0]["parentFolderId"], deleted_items.as_str());
    h.sim.shutdown().await;
}
