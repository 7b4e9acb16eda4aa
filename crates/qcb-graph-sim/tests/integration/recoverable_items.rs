//! Recoverable Items > Deletions (`recoverableitemsdeletions`): outside
//! msgfolderroot, so never listed; reachable by its well-known name; where
//! Graph's DELETE puts a message; `permanentDelete` purges.

use reqwest::{Method, StatusCode};

use super::common::{self, IMMUTABLE, send};

#[tokio::test]
async fn delete_moves_into_deletions_and_permanent_delete_purges() {
    let h = common::start(common::small()).await;
    let admin = h.sim.admin();
    let uid = h.alice().id;
    let deletions = admin
        .folder(&uid, "recoverableitemsdeletions")
        .expect("Deletions");
    assert_eq!(deletions.display_name, "Deletions");
    assert_eq!(deletions.total_item_count, 0);
    // not in the IPM subtree: neither /mailFolders (hidden ones included),
    // nor mailFolders/delta, nor Admin::folders
    for path in [
        format!("/users/{uid}/mailFolders?includeHiddenFolders=true&$top=100"),
        format!("/users/{uid}/mailFolders/delta"),
    ] {
        let all = h.get_all(&path).await;
        assert!(!all.is_empty());
        assert!(
            all.iter().all(
                |f| f["id"] != deletions.id.as_str() && f["displayName"] != "Recoverable Items"
            ),
            "{path}"
        );
    }
    assert!(admin.folders(&uid).iter().all(|f| f.id != deletions.id));
    // but GET by well-known name or id works
    let base = format!("/users/{uid}/mailFolders/recoverableitemsdeletions");
    let v = h.get_json(&base).await;
    assert_eq!(v["id"], deletions.id.as_str());
    assert_eq!(v["displayName"], "Deletions");
    assert_eq!(v["totalItemCount"], 0);
    let parent = v["parentFolderId"].as_str().expect("parent").to_string();
    let root = h
        .get_json(&format!("/users/{uid}/mailFolders/msgfolderroot"))
        .await;
    assert_ne!(root["id"], parent.as_str());
    let v = h
        .get_json(&format!("/users/{uid}/mailFolders/{}", deletions.id))
        .await;
    assert_eq!(v["displayName"], "Deletions");

    // delta rounds before the deletion
    let inbox_delta = format!("/users/{uid}/mailFolders/inbox/messages/delta");
    let (inbox_items, inbox_link) = rounds(&h, &inbox_delta).await;
    let (del_items, del_link) = rounds(&h, &format!("{base}/messages/delta")).await;
    assert!(del_items.is_empty());
    let victim = inbox_items[0]["id"].as_str().expect("id").to_string();

    let resp = h
        .req(Method::DELETE, &format!("/users/{uid}/messages/{victim}"))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);

    // the inbox reports it removed, Deletions reports it new
    let (changes, _) = rounds(&h, &inbox_link).await;
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(changes[0]["@removed"]["reason"], "deleted");
    let (changes, _) = rounds(&h, &del_link).await;
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert!(changes[0].get("@removed").is_none());
    let now_id = changes[0]["id"].as_str().expect("id").to_string();
    assert_ne!(now_id, victim, "a move changes the regular id");
    let listed = h.get_all(&format!("{base}/messages")).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["parentFolderId"], deletions.id.as_str());
    assert_eq!(
        admin
            .folder(&uid, "recoverableitemsdeletions")
            .expect("Deletions")
            .total_item_count,
        1
    );
    // /users/{id}/messages covers the IPM subtree only
    let all = h
        .get_all(&format!("/users/{uid}/messages?$select=id&$top=500"))
        .await;
    assert!(all.iter().all(|m| m["id"] != now_id.as_str()));
    // its immutable id still finds it there
    let imm = send(
        h.get(&format!("{base}/messages?$select=id"))
            .header("Prefer", IMMUTABLE),
    )
    .await
    .1["value"][0]["id"]
        .as_str()
        .expect("immutable id")
        .to_string();
    let (status, v) = send(h.get(&format!("/users/{uid}/messages/{imm}"))).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["parentFolderId"], deletions.id.as_str());
    let (status, _) = send(h.get(&format!("{base}/messages/{now_id}/$value"))).await;
    assert_eq!(status, StatusCode::OK);

    // permanentDelete (through the folder path): gone for every id
    let resp = h
        .req(
            Method::POST,
            &format!("{base}/messages/{now_id}/permanentDelete"),
        )
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let (status, _) = send(h.get(&format!("/users/{uid}/messages/{imm}"))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (changes, _) = rounds(&h, &del_link).await;
    assert!(
        changes.iter().all(|c| c.get("@removed").is_some()),
        "{changes:?}"
    );
    assert!(h.get_all(&format!("{base}/messages")).await.is_empty());

    // permanentDelete straight from the inbox skips Deletions
    let other = inbox_items[1]["id"].as_str().expect("id").to_string();
    let resp = h
        .req(
            Method::POST,
            &format!("/users/{uid}/messages/{other}/permanentDelete"),
        )
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert!(h.get_all(&format!("{base}/messages")).await.is_empty());
    let (status, _) = send(h.get(&format!("/users/{uid}/messages/{other}"))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // DELETE of a message already in Deletions purges it
    let third = inbox_items[2]["id"].as_str().expect("id").to_string();
    let resp = h
        .req(Method::DELETE, &format!("/users/{uid}/messages/{third}"))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let in_deletions = h.get_all(&format!("{base}/messages")).await;
    assert_eq!(in_deletions.len(), 1);
    let id = in_deletions[0]["id"].as_str().expect("id");
    let resp = h
        .req(Method::DELETE, &format!("/users/{uid}/messages/{id}"))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert!(h.get_all(&format!("{base}/messages")).await.is_empty());
    h.sim.shutdown().await;
}

/// Follows a delta round to its deltaLink: (items, deltaLink).
async fn rounds(h: &common::Harness, start: &str) -> (Vec<serde_json::Value>, String) {
    let mut out = Vec::new();
    let mut url = h.url(start);
    loop {
        let v = h.get_json(&url).await;
        out.extend(v["value"].as_array().expect("value").iter().cloned());
        if let Some(n) = v["@odata.nextLink"].as_str() {
            url = n.to_string();
        } else {
            let link = v["@odata.deltaLink"].as_str().expect("deltaLink");
            return (out, link.to_string());
        }
    }
}
