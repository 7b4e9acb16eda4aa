//! The generator's rarer shapes: a folder chain 30 levels deep with unicode
//! and emoji names, item attachments, and one 150 MB file attachment made
//! only when read.

use reqwest::StatusCode;

use super::common::{self, IMMUTABLE, send};
use qcb_graph_sim::{MemoryConfig, SimOptions, TenantSpec};

#[tokio::test]
async fn deep_folder_chain_and_item_attachments() {
    let h = common::start(TenantSpec {
        seed: 4,
        users: 1,
        messages_per_user: 1_000,
        shared_mailboxes: None,
    })
    .await;
    let admin = h.sim.admin();
    let uid = h.alice().id;
    let folders = admin.folders(&uid);
    let deepest = folders
        .iter()
        .max_by_key(|f| f.path.split('/').count())
        .expect("folders");
    assert_eq!(deepest.path.split('/').count(), 30, "{}", deepest.path);
    assert!(
        deepest
            .path
            .starts_with("Archive/Altablage 🗄️/Ebene 3 — 階層3 ")
    );
    // the chain holds mail at several levels, the deepest included
    let in_chain: usize = folders
        .iter()
        .filter(|f| f.path.starts_with("Archive/Altablage"))
        .map(|f| f.total_item_count)
        .sum();
    assert!(in_chain >= 10, "{in_chain}");
    // Graph walks it by childFolders, down to level 30
    let mut id = h
        .get_json(&format!("/users/{uid}/mailFolders/archive"))
        .await["id"]
        .as_str()
        .expect("id")
        .to_string();
    for level in 2..=30 {
        let v = h
            .get_json(&format!("/users/{uid}/mailFolders/{id}/childFolders"))
            .await;
        let child = v["value"]
            .as_array()
            .expect("value")
            .iter()
            .find(|c| {
                c["displayName"]
                    .as_str()
                    .is_some_and(|n| n.contains("Altablage") || n.starts_with("Ebene"))
            })
            .unwrap_or_else(|| panic!("level {level}: {v}"))
            .clone();
        id = child["id"].as_str().expect("id").to_string();
    }
    assert_eq!(id, deepest.id);
    let leaf = h.get_json(&format!("/users/{uid}/mailFolders/{id}")).await;
    assert_eq!(leaf["childFolderCount"], 0);

    // item attachments: every 50th message has an attached message
    let mut items = 0;
    for f in &folders {
        for m in admin.messages(&uid, &f.id) {
            for a in admin.attachments(&uid, &m.id) {
                if a.kind != "item" {
                    continue;
                }
                items += 1;
                if items > 1 {
                    continue;
                }
                let (status, v) = send(h.get(&format!(
                    "/users/{uid}/messages/{}/attachments/{}",
                    m.id, a.id
                )))
                .await;
                assert_eq!(status, StatusCode::OK, "{v}");
                assert_eq!(v["@odata.type"], "#microsoft.graph.itemAttachment");
                assert_eq!(v["name"], a.name.as_str());
                let mime = h
                    .get_bytes(&format!("/users/{uid}/messages/{}/$value", m.id))
                    .await;
                let mime = String::from_utf8_lossy(&mime);
                assert!(mime.contains("message/rfc822"), "{mime}");
                let (status, v) = send(h.get(&format!("/users/{uid}/messages/{}", m.id))).await;
                assert_eq!(status, StatusCode::OK);
                assert_eq!(v["hasAttachments"], true);
            }
        }
    }
    assert!((15..=25).contains(&items), "{items}");
    h.sim.shutdown().await;
}

#[tokio::test]
async fn a_large_tenant_has_one_150_mb_attachment_rendered_on_read() {
    // 20 × 1,000 messages: mailbox 0 carries the large attachment; only it
    // is generated (lazily, one resident).
    let h = common::start_with(
        TenantSpec {
            seed: 5,
            users: 20,
            messages_per_user: 1_000,
            shared_mailboxes: None,
        },
        SimOptions {
            memory: MemoryConfig {
                resident_mailboxes: Some(1),
            },
            ..Default::default()
        },
    )
    .await;
    let admin = h.sim.admin();
    let uid = h.alice().id;
    let mut large = Vec::new();
    let mut sizes = Vec::new();
    for f in admin.folders(&uid) {
        for m in admin.messages(&uid, &f.id) {
            for a in admin.attachments(&uid, &m.id) {
                if a.kind == "file" && !a.is_inline {
                    sizes.push(a.size);
                }
                if a.size > 50 * 1024 * 1024 {
                    large.push((m.id.clone(), a));
                }
            }
        }
    }
    assert_eq!(large.len(), 1, "{large:?}");
    let small = sizes.iter().min().copied().unwrap_or(0);
    assert!((1_000..4 * 1024).contains(&small), "smallest {small}");
    let (mid, a) = &large[0];
    assert!(a.size <= 150 * 1024 * 1024 && a.size > 149 * 1024 * 1024);
    assert_eq!(a.content_type, "application/pdf");
    let resp = h
        .get(&format!(
            "/users/{uid}/messages/{mid}/attachments/{}/$value",
            a.id
        ))
        .header("Prefer", IMMUTABLE)
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::OK);
    let bytes = resp.bytes().await.expect("bytes");
    assert_eq!(bytes.len(), a.size);
    assert!(bytes.starts_with(b"%PDF-1.4"));
    assert!(bytes.ends_with(b"%%EOF\n"));
    h.sim.shutdown().await;
}
