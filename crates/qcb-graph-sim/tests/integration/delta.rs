//! Delta queries: paging with odata.maxpagesize, tokens, incremental rounds
//! with adds/updates/deletes/moves, and invalid tokens.

use std::collections::BTreeSet;

use qcb_graph_sim::{MessagePatch, NewMessage, TenantSpec};
use reqwest::StatusCode;
use serde_json::Value;

use super::common::{self, IMMUTABLE, graph_error_code, send};

fn spec() -> TenantSpec {
    TenantSpec {
        seed: 11,
        users: 2,
        messages_per_user: 120,
        shared_mailboxes: None,
    }
}

/// One page: (response JSON, Preference-Applied).
async fn page(h: &common::Harness, url: &str, max: Option<usize>) -> (Value, String) {
    let mut rb = h.get(url).header("prefer", IMMUTABLE);
    if let Some(n) = max {
        rb = rb.header("prefer", format!("odata.maxpagesize={n}"));
    }
    let resp = rb.send().await.expect("send");
    assert_eq!(resp.status(), StatusCode::OK);
    let applied = resp
        .headers()
        .get("preference-applied")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    (resp.json().await.expect("json"), applied)
}

/// A whole round: all items and the deltaLink.
async fn round(h: &common::Harness, url: &str, max: Option<usize>) -> (Vec<Value>, String, usize) {
    let mut items = Vec::new();
    let mut next = url.to_string();
    let mut pages = 0;
    loop {
        let (v, applied) = page(h, &next, max).await;
        pages += 1;
        assert!(v["@odata.context"].is_string());
        let value = v["value"].as_array().expect("value");
        if let Some(n) = max {
            assert!(value.len() <= n);
            assert!(
                applied.contains(&format!("odata.maxpagesize={n}")),
                "{applied}"
            );
        }
        items.extend(value.iter().cloned());
        match (
            v["@odata.nextLink"].as_str(),
            v["@odata.deltaLink"].as_str(),
        ) {
            (Some(n), None) => {
                assert!(n.starts_with(&h.graph) && n.contains("$skiptoken="), "{n}");
                next = n.to_string();
            }
            (None, Some(d)) => {
                assert!(d.starts_with(&h.graph) && d.contains("$deltatoken="), "{d}");
                return (items, d.to_string(), pages);
            }
            other => panic!("a page needs exactly one of nextLink/deltaLink: {other:?}"),
        }
    }
}

fn ids(items: &[Value]) -> BTreeSet<String> {
    items
        .iter()
        .filter_map(|i| i["id"].as_str().map(str::to_string))
        .collect()
}

#[tokio::test]
async fn delta_pages_then_reports_exactly_the_changes() {
    let h = common::start(spec()).await;
    let admin = h.sim.admin();
    let alice = h.alice();
    let inbox = h.folder(&alice.id, "Inbox");
    let archive = h.folder(&alice.id, "Archive");
    let originals = admin.messages(&alice.id, &inbox.id);
    assert!(
        originals.len() > 21,
        "inbox needs several pages: {}",
        originals.len()
    );

    let start = format!(
        "/users/{}/mailFolders/{}/messages/delta?$select=subject,isRead",
        alice.id, inbox.id
    );
    let (items, delta_link, pages) = round(&h, &start, Some(7)).await;
    assert_eq!(pages, originals.len().div_ceil(7));
    assert_eq!(items.len(), originals.len());
    let expected: BTreeSet<String> = originals.iter().map(|m| m.id.clone()).collect();
    assert_eq!(ids(&items), expected);
    for i in &items {
        assert_eq!(i["@odata.type"], "#microsoft.graph.message");
        for k in i.as_object().expect("obj").keys() {
            assert!(
                ["@odata.type", "@odata.etag", "id", "subject", "isRead"].contains(&k.as_str()),
                "unexpected {k}: $select must carry over to later pages"
            );
        }
    }

    // Nothing changed: an empty round.
    let (again, delta_link2, _) = round(&h, &delta_link, Some(7)).await;
    assert!(again.is_empty(), "{again:?}");

    // Changes: add, update, delete, move out, move in.
    let added = admin.add_message(&alice.id, "inbox", NewMessage::generated(5));
    let updated = &originals[0];
    assert!(admin.update_message(
        &alice.id,
        &updated.id,
        MessagePatch {
            is_read: Some(!updated.is_read),
            ..Default::default()
        }
    ));
    let deleted = &originals[1];
    assert!(admin.delete_message(&alice.id, &deleted.id));
    let moved_out = &originals[2];
    assert!(admin.move_message(&alice.id, &moved_out.id, &archive.id));
    let moved_in = admin
        .messages(&alice.id, &archive.id)
        .into_iter()
        .find(|m| m.id != moved_out.id)
        .expect("archive message");
    assert!(admin.move_message(&alice.id, &moved_in.id, "inbox"));
    // a change elsewhere is not reported for the inbox
    let other = admin
        .messages(&alice.id, &archive.id)
        .into_iter()
        .find(|m| m.id != moved_out.id)
        .expect("another");
    assert!(admin.update_message(
        &alice.id,
        &other.id,
        MessagePatch {
            subject: Some("elsewhere".into()),
            ..Default::default()
        }
    ));

    let (changes, next_delta, _) = round(&h, &delta_link2, Some(7)).await;
    let (removed, present): (Vec<Value>, Vec<Value>) = changes
        .into_iter()
        .partition(|c| c.get("@removed").is_some());
    let expect_present: BTreeSet<String> =
        [added.clone(), updated.id.clone(), moved_in.id.clone()].into();
    let expect_removed: BTreeSet<String> = [deleted.id.clone(), moved_out.id.clone()].into();
    assert_eq!(ids(&present), expect_present);
    assert_eq!(ids(&removed), expect_removed);
    for r in &removed {
        assert_eq!(r["@removed"]["reason"], "deleted");
        assert_eq!(r["@odata.type"], "#microsoft.graph.message");
    }
    let upd = present
        .iter()
        .find(|p| p["id"] == updated.id.as_str())
        .expect("updated");
    assert_eq!(upd["isRead"], !updated.is_read);
    assert!(
        present.iter().all(|p| p.get("body").is_none()),
        "$select kept across rounds"
    );

    // and then quiet again
    let (quiet, _, _) = round(&h, &next_delta, None).await;
    assert!(quiet.is_empty());
    h.sim.shutdown().await;
}

#[tokio::test]
async fn delta_default_page_size_regular_ids_and_change_type() {
    let h = common::start(spec()).await;
    let admin = h.sim.admin();
    let alice = h.alice();
    let inbox = h.folder(&alice.id, "Inbox");
    let n = admin.messages(&alice.id, &inbox.id).len();

    // Default page size is 10; without the ImmutableId preference ids are regular.
    let url = format!(
        "/users/{}/mailFolders/inbox/messages/delta",
        alice.user_principal_name
    );
    let mut next = h.url(&url);
    let mut seen = 0;
    let delta_link = loop {
        let v = common::json_ok(h.get(&next)).await;
        let page = v["value"].as_array().expect("value");
        assert!(page.len() <= 10);
        for m in page {
            assert!(
                m["id"].as_str().unwrap_or("").starts_with("AAMkA"),
                "regular id"
            );
            assert!(m.get("body").is_some(), "all properties by default");
        }
        seen += page.len();
        if let Some(n) = v["@odata.nextLink"].as_str() {
            assert_eq!(page.len(), 10);
            next = n.to_string();
        } else {
            break v["@odata.deltaLink"]
                .as_str()
                .expect("deltaLink")
                .to_string();
        }
    };
    assert_eq!(seen, n);

    // A move out shows the old regular id as removed.
    let victim = admin.messages(&alice.id, &inbox.id).remove(0);
    assert!(admin.move_message(&alice.id, &victim.id, "archive"));
    let v = common::json_ok(h.get(&delta_link)).await;
    let value = v["value"].as_array().expect("value");
    assert_eq!(value.len(), 1);
    assert_eq!(value[0]["id"], victim.regular_id.as_str());
    assert!(value[0].get("@removed").is_some());

    // changeType=created: only additions in later rounds.
    let start = format!(
        "/users/{}/mailFolders/inbox/messages/delta?changeType=created",
        alice.id
    );
    let (all, created_link, _) = round(&h, &start, Some(50)).await;
    assert_eq!(all.len(), n - 1);
    let first = admin.messages(&alice.id, "inbox").remove(0);
    admin.update_message(
        &alice.id,
        &first.id,
        MessagePatch {
            is_read: Some(!first.is_read),
            ..Default::default()
        },
    );
    let added = admin.add_message(&alice.id, "inbox", NewMessage::generated(77));
    let (changes, _, _) = round(&h, &created_link, None).await;
    assert_eq!(ids(&changes), [added].into());
    h.sim.shutdown().await;
}

#[tokio::test]
async fn invalid_delta_tokens() {
    let h = common::start(spec()).await;
    let alice = h.alice();
    let start = format!("/users/{}/mailFolders/inbox/messages/delta", alice.id);
    let (_, delta_link, _) = round(&h, &start, Some(100)).await;

    // tampered
    let tampered = format!(
        "{}x",
        delta_link.trim_end_matches(|c: char| c.is_ascii_alphanumeric())
    );
    let (status, v) = send(h.get(&tampered)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(graph_error_code(&v), "syncStateNotFound");
    let (status, v) = send(h.get(&format!("{start}?$skiptoken=AAAA"))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(graph_error_code(&v), "syncStateNotFound");

    // used on another folder
    let archive = h.folder(&alice.id, "Archive");
    let token = delta_link.split("$deltatoken=").nth(1).expect("token");
    let (status, v) = send(h.get(&format!(
        "/users/{}/mailFolders/{}/messages/delta?$deltatoken={token}",
        alice.id, archive.id
    )))
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(graph_error_code(&v), "syncStateNotFound");

    // from an earlier run of a server with the same seed: sync state gone (410 + Location)
    let other = common::start(spec()).await;
    let moved = delta_link.replace(&h.graph, &other.graph);
    let resp = other.get(&moved).send().await.expect("send");
    assert_eq!(resp.status(), StatusCode::GONE);
    let location = resp
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .unwrap_or("")
        .to_string();
    assert!(
        location.starts_with(&other.graph) && location.ends_with("/messages/delta"),
        "{location}"
    );
    let v: Value = resp.json().await.expect("json");
    assert_eq!(graph_error_code(&v), "syncStateNotFound");
    other.sim.shutdown().await;
    h.sim.shutdown().await;
}
