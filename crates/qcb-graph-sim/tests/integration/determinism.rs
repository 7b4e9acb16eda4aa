//! The same seed gives the same tenant, byte for byte.

use qcb_graph_sim::TenantSpec;

use super::common::{self, IMMUTABLE};

#[tokio::test]
async fn same_seed_same_tenant() {
    let spec = TenantSpec {
        seed: 42,
        users: 3,
        messages_per_user: 40,
        shared_mailboxes: None,
    };
    let a = common::start(spec).await;
    let b = common::start(spec).await;
    assert_eq!(a.sim.credentials(), b.sim.credentials());
    let (aa, ba) = (a.sim.admin(), b.sim.admin());
    assert_eq!(aa.users(), ba.users());

    // HTTP views are identical once the base URL is factored out.
    let norm = |s: String, h: &common::Harness| s.replace(&h.graph, "GRAPH");
    let users_a = norm(a.get_json("/users").await.to_string(), &a);
    let users_b = norm(b.get_json("/users").await.to_string(), &b);
    assert_eq!(users_a, users_b);

    for u in aa.users() {
        let fa = aa.folders(&u.id);
        assert_eq!(fa, ba.folders(&u.id));
        let tree_a = norm(
            a.get_json(&format!(
                "/users/{}/mailFolders?includeHiddenFolders=true&$top=100",
                u.id
            ))
            .await
            .to_string(),
            &a,
        );
        let tree_b = norm(
            b.get_json(&format!(
                "/users/{}/mailFolders?includeHiddenFolders=true&$top=100",
                u.id
            ))
            .await
            .to_string(),
            &b,
        );
        assert_eq!(tree_a, tree_b);
        for f in &fa {
            let ma = aa.messages(&u.id, &f.id);
            let mb = ba.messages(&u.id, &f.id);
            assert_eq!(ma.len(), mb.len());
            for (x, y) in ma.iter().zip(&mb) {
                assert_eq!(x.id, y.id);
                assert_eq!(x.change_key, y.change_key);
                assert!(x.mime == y.mime, "MIME of {} differs", x.subject);
                assert_eq!(x, y);
            }
            let list = format!(
                "/users/{}/mailFolders/{}/messages?$top=100&$expand=attachments",
                u.id, f.id
            );
            let ja = norm(
                common::json_ok(a.get(&list).header("prefer", IMMUTABLE))
                    .await
                    .to_string(),
                &a,
            );
            let jb = norm(
                common::json_ok(b.get(&list).header("prefer", IMMUTABLE))
                    .await
                    .to_string(),
                &b,
            );
            assert_eq!(ja, jb, "JSON of {}", f.path);
        }
    }
    // and a MIME through HTTP
    let alice = aa.users().remove(0);
    let m = aa.messages(&alice.id, "inbox").remove(0);
    let path = format!("/users/{}/messages/{}/$value", alice.id, m.id);
    assert_eq!(a.get_bytes(&path).await, b.get_bytes(&path).await);

    let c = common::start(TenantSpec { seed: 43, ..spec }).await;
    assert_ne!(c.sim.credentials().tenant_id, a.sim.credentials().tenant_id);
    assert_ne!(c.sim.admin().users()[0].id, alice.id);
    for h in [a, b, c] {
        h.sim.shutdown().await;
    }
}

#[tokio::test]
async fn demo_tenant_has_the_documented_shape() {
    let spec = TenantSpec::demo();
    assert_eq!((spec.seed, spec.users, spec.messages_per_user), (1, 2, 150));
    let h = common::start(spec).await;
    let admin = h.sim.admin();
    let users = admin.users();
    assert_eq!(users.len(), 3, "alice, bob and the shared mailbox support@");
    assert_eq!(users[2].user_principal_name, "support@contoso.example");
    for u in &users {
        let folders = admin.folders(&u.id);
        let total: usize = folders.iter().map(|f| f.total_item_count).sum();
        assert_eq!(total, 150);
        let paths: Vec<&str> = folders.iter().map(|f| f.path.as_str()).collect();
        for p in [
            "Inbox",
            "Inbox/Projects",
            "Inbox/Projects/2026",
            "Inbox/Projects/2026/Q4",
            "Inbox/Receipts",
            "Sent Items",
            "Drafts",
            "Deleted Items",
            "Junk Email",
            "Archive",
            "Outbox",
            "Kundenkorrespondenz — Ümlaut 📁",
            "Empty Folder",
        ] {
            assert!(paths.contains(&p), "{p} missing in {paths:?}");
        }
        let all: Vec<qcb_graph_sim::MessageView> = folders
            .iter()
            .flat_map(|f| admin.messages(&u.id, &f.id))
            .collect();
        assert!(all.iter().any(|m| m.is_read) && all.iter().any(|m| !m.is_read));
        assert!(all.iter().any(|m| m.is_draft));
        assert!(
            all.iter()
                .any(|m| m.flag_status == qcb_graph_sim::FlagStatus::Flagged)
        );
        assert!(all.iter().any(|m| !m.categories.is_empty()));
        assert!(
            all.iter()
                .any(|m| m.importance == qcb_graph_sim::Importance::High)
        );
        assert!(
            all.iter()
                .any(|m| m.importance == qcb_graph_sim::Importance::Low)
        );
        assert!(all.iter().any(|m| m.has_attachments));
        assert!(
            all.iter()
                .any(|m| m.body_content_type == qcb_graph_sim::BodyType::Html)
        );
        assert!(
            all.iter()
                .any(|m| m.body_content_type == qcb_graph_sim::BodyType::Text)
        );
        assert!(
            all.iter().any(|m| m
                .subject
                .chars()
                .any(|c| ('\u{3040}'..='\u{30ff}').contains(&c))),
            "Japanese"
        );
        assert!(
            all.iter().any(|m| m.subject.contains('ü')
                || m.subject.contains('Ä')
                || m.subject.contains('ß')),
            "German"
        );
        assert!(
            all.iter()
                .any(|m| m.subject.chars().any(|c| c as u32 >= 0x1F300)),
            "emoji"
        );
        let epoch = "2026-11-01T00:00:00Z";
        let oldest = "2026-08-03T00:00:00Z";
        assert!(all.iter().all(
            |m| m.received_date_time.as_str() < epoch && m.received_date_time.as_str() > oldest
        ));
        // ids look like Exchange's
        for m in &all {
            assert!(m.id.len() >= 140 && m.regular_id.len() >= 140);
            assert!(m.id.contains('-') && m.id.contains('_'));
            assert!(m.regular_id.starts_with("AAMkA"));
        }
        assert!(folders.iter().any(|f| f.id.ends_with('=')));
        assert!(all.iter().any(|m| m.regular_id.ends_with('=')));
    }
    h.sim.shutdown().await;
}

#[tokio::test]
async fn same_seed_same_contacts_events_tasks() {
    let spec = TenantSpec {
        seed: 42,
        users: 2,
        messages_per_user: 40,
        shared_mailboxes: None,
    };
    let a = common::start(spec).await;
    let b = common::start(spec).await;
    let (aa, ba) = (a.sim.admin(), b.sim.admin());
    for u in aa.users() {
        assert_eq!(aa.contact_folders(&u.id), ba.contact_folders(&u.id));
        assert_eq!(aa.calendars(&u.id), ba.calendars(&u.id));
        assert_eq!(aa.todo_lists(&u.id), ba.todo_lists(&u.id));
        assert_eq!(aa.message_rules(&u.id), ba.message_rules(&u.id));
        let window = "startDateTime=2026-08-01T00:00:00Z&endDateTime=2027-01-01T00:00:00Z";
        for path in [
            format!("/users/{}/contacts?$top=100", u.id),
            format!("/users/{}/events?$top=100", u.id),
            format!("/users/{}/calendarView?{window}&$top=500", u.id),
            format!("/users/{}/todo/lists", u.id),
            format!("/users/{}/mailFolders/inbox/messageRules", u.id),
        ] {
            let ja = a
                .get_json(&path)
                .await
                .to_string()
                .replace(&a.graph, "GRAPH");
            let jb = b
                .get_json(&path)
                .await
                .to_string()
                .replace(&b.graph, "GRAPH");
            assert_eq!(ja, jb, "{path}");
        }
        let with_photo = aa
            .contact_folders(&u.id)
            .iter()
            .flat_map(|f| aa.contacts(&u.id, &f.id))
            .find(|c| c.has_photo)
            .expect("a contact with a photo");
        let p = format!("/users/{}/contacts/{}/photo/$value", u.id, with_photo.id);
        assert_eq!(a.get_bytes(&p).await, b.get_bytes(&p).await);
    }
    // The demo tenant has every kind of item.
    let u = aa.users().remove(0);
    assert!(aa.contacts(&u.id, "contacts").len() >= 5);
    let events = aa.events(&u.id, "calendar");
    assert!(events.iter().any(|e| e.kind == "seriesMaster"
        && !e.exception_dates.is_empty()
        && !e.cancelled_dates.is_empty()));
    assert!(events.iter().any(|e| e.kind == "singleInstance"));
    assert!(!aa.tasks(&u.id, "defaultList").is_empty());
    for h in [a, b] {
        h.sim.shutdown().await;
    }
}
