use std::sync::Arc;

use qcb_engine::{NoProgress, OnConflict, RestoreOptions, RestoreTarget};

use super::support::world;

#[tokio::test(flavor = "multi_thread")]
async fn restore_a_folder_tree_into_a_new_folder_as_received_messages_with_identical_mime() {
    let w = world(120).await;
    let report = w.backup(0).await;
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    assert_eq!(report.items_fetched, report.items);
    let alice = w.alice();
    let admin = w.sim.admin();

    // Every message in the mailbox is in the snapshot.
    let in_tenant: usize = admin
        .folders(&alice.id)
        .iter()
        .map(|f| admin.messages(&alice.id, &f.id).len())
        .sum();
    let snap = w.repo.snapshots().unwrap().pop().unwrap();
    assert!(snap.mailboxes.contains(&alice.user_principal_name));

    let time = chrono::NaiveDate::from_ymd_opt(2026, 11, 27)
        .unwrap()
        .and_hms_opt(14, 3, 0)
        .unwrap();
    let opts = RestoreOptions {
        snapshot: snap.short_id.clone(),
        at_or_before: None,
        path: format!("/{}/Mail/Inbox", alice.user_principal_name),
        target_mailbox: None,
        target: RestoreTarget::restored_at(time),
        recursive: true,
        on_conflict: OnConflict::Skip,
        dry_run: false,
        requests_per_mailbox: 4,
    };
    let r = qcb_engine::restore(
        w.graph.clone(),
        w.repo.repository().clone(),
        opts,
        Arc::new(NoProgress),
    )
    .await
    .unwrap();
    assert!(r.failed.is_empty(), "{:?}", r.failed);

    // Inbox and every folder under it come back under the new folder, message for message.
    let mut compared = 0;
    for original in admin
        .folders(&alice.id)
        .into_iter()
        .filter(|f| f.path == "Inbox" || f.path.starts_with("Inbox/"))
    {
        let copy = w.folder(
            &alice.id,
            &format!("Restored 2026-11-27 14:03/{}", original.path),
        );
        let (mut a, mut b) = (
            admin.messages(&alice.id, &original.id),
            admin.messages(&alice.id, &copy.id),
        );
        assert_eq!(a.len(), b.len(), "folder {}", original.path);
        a.sort_by(|x, y| x.internet_message_id.cmp(&y.internet_message_id));
        b.sort_by(|x, y| x.internet_message_id.cmp(&y.internet_message_id));
        for (o, c) in a.iter().zip(&b) {
            assert_eq!(o.internet_message_id, c.internet_message_id);
            assert_ne!(o.id, c.id, "a new item");
            assert!(
                o.mime == c.mime,
                "MIME of {:?} differs after restore",
                o.subject
            );
            assert_eq!(o.received_date_time, c.received_date_time);
            assert_eq!(o.sent_date_time, c.sent_date_time);
            assert_eq!(o.is_read, c.is_read);
            assert_eq!(o.is_draft, c.is_draft, "not turned into a draft");
            assert_eq!(o.importance, c.importance);
            assert_eq!(o.flag_status, c.flag_status);
            assert_eq!(o.categories, c.categories);
            assert_eq!(o.attachment_names, c.attachment_names);
            compared += 1;
        }
    }
    assert_eq!(compared as u64, r.items_restored);
    assert!(
        compared > 20,
        "a meaningful sample: {compared} of {in_tenant}"
    );
    assert!(
        admin
            .folders(&alice.id)
            .iter()
            .any(|f| f.path.starts_with("Restored 2026-11-27 14:03/Inbox/")),
        "subfolders recreated"
    );

    // Running the same restore again creates nothing twice: every message is already there.
    let again = w
        .restore(
            &format!("/{}/Mail/Inbox", alice.user_principal_name),
            "Restored 2026-11-27 14:03",
            None,
        )
        .await;
    assert_eq!(again.items_restored, 0);
    assert_eq!(again.items_skipped, r.items_restored);
    assert_eq!(again.folders_created, 0);
    let copy_inbox = w.folder(&alice.id, "Restored 2026-11-27 14:03/Inbox");
    assert_eq!(
        admin.messages(&alice.id, &copy_inbox.id).len(),
        admin
            .messages(&alice.id, &w.folder(&alice.id, "Inbox").id)
            .len()
    );

    // Restoring again into the same top folder reuses it instead of making a second one.
    let r2 = w
        .restore(
            &format!("/{}/Mail/Inbox/Projects", alice.user_principal_name),
            "Restored 2026-11-27 14:03",
            None,
        )
        .await;
    let paths: Vec<String> = admin
        .folders(&alice.id)
        .into_iter()
        .map(|f| f.path)
        .collect();
    assert_eq!(
        paths
            .iter()
            .filter(|p| *p == "Restored 2026-11-27 14:03")
            .count(),
        1,
        "{paths:?}"
    );
    let mut unique = paths.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), paths.len(), "no folder path twice: {paths:?}");
    let projects = w.folder(&alice.id, "Restored 2026-11-27 14:03/Projects");
    assert_eq!(
        admin.messages(&alice.id, &projects.id).len(),
        admin
            .messages(&alice.id, &w.folder(&alice.id, "Inbox/Projects").id)
            .len()
    );
    assert!(r2.failed.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn restore_into_another_mailbox() {
    let w = world(40).await;
    w.backup(0).await;
    let alice = w.alice();
    let bob = w
        .sim
        .admin()
        .users()
        .into_iter()
        .find(|u| u.id != alice.id)
        .unwrap();
    let r = w
        .restore(
            &format!("/{}/Mail/Inbox", alice.user_principal_name),
            "From Alice",
            Some(&bob.user_principal_name),
        )
        .await;
    assert_eq!(r.mailbox, bob.user_principal_name);
    let copy = w.folder(&bob.id, "From Alice/Inbox");
    let inbox = w.folder(&alice.id, "Inbox");
    assert_eq!(
        w.sim.admin().messages(&bob.id, &copy.id).len(),
        w.sim.admin().messages(&alice.id, &inbox.id).len()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_backed_up_message_previews_with_its_subject_sender_body_and_attachments() {
    let w = world(40).await;
    w.backup(0).await;
    let alice = w.alice();
    let admin = w.sim.admin();
    let inbox = w.folder(&alice.id, "Inbox");
    let base = format!("/{}/Mail/Inbox", alice.user_principal_name);
    let mut with_attachments = 0;
    for m in admin.messages(&alice.id, &inbox.id) {
        let path = format!(
            "{base}/{}",
            qcb_repo::join_path(&[&m.id]).trim_start_matches('/')
        );
        let p = w.repo.item_preview("latest", &path).unwrap();
        assert_eq!(p.subject, m.subject);
        assert_eq!(p.date, m.received_date_time);
        let from = m.from.as_ref().unwrap();
        assert!(p.from.contains(&from.address), "{} vs {:?}", p.from, from);
        assert!(p.html.is_some() || p.text.is_some());
        let named: Vec<_> = p.attachments.iter().map(|a| a.name.clone()).collect();
        for n in &named {
            assert!(
                m.attachment_names.contains(n),
                "{n} not in {:?}",
                m.attachment_names
            );
        }
        assert!(p.attachments.iter().all(|a| a.size > 0));
        with_attachments += usize::from(!named.is_empty());
    }
    assert!(
        with_attachments > 0,
        "the corpus has messages with attachments"
    );
    let missing = w.repo.item_preview("latest", &format!("{base}/no-such-id"));
    assert_eq!(missing.unwrap_err().code(), "not_found");
}

#[tokio::test(flavor = "multi_thread")]
async fn attachments_above_3_mb_come_back_through_an_upload_session_with_identical_mime() {
    let w = world(5).await;
    let alice = w.alice();
    let admin = w.sim.admin();
    let inbox = w.folder(&alice.id, "Inbox");
    // A small attachment, then one of 4.5 MB: the message is created without them, then each
    // is added in order (the large one through an upload session).
    let big: Vec<u8> = (0..4_500_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let mut m = qcb_graph_sim::NewMessage::generated(99);
    m.subject = "Quarterly scans".into();
    m.received_date_time = Some("2026-10-01T08:00:00Z".into());
    m.sent_date_time = Some("2026-10-01T07:59:00Z".into());
    m.internet_message_id = Some("<scans-q3@contoso.example>".into());
    m.attachments = vec![
        qcb_graph_sim::NewAttachment {
            name: "notes.txt".into(),
            content_type: "text/plain".into(),
            content: b"see the scans".to_vec(),
            is_inline: false,
            content_id: None,
        },
        qcb_graph_sim::NewAttachment {
            name: "scans.pdf".into(),
            content_type: "application/pdf".into(),
            content: big,
            is_inline: false,
            content_id: None,
        },
    ];
    let id = admin.add_message(&alice.id, &inbox.id, m);
    w.backup(0).await;
    admin.clear_request_log();
    let r = w
        .restore(
            &format!("/{}/Mail/Inbox", alice.user_principal_name),
            "Big restore",
            None,
        )
        .await;
    assert!(r.failed.is_empty(), "{:?}", r.failed);
    assert!(
        admin
            .request_log()
            .iter()
            .any(|l| l.method == "PUT" && l.path.contains("AttachmentSessions")),
        "an upload session was used"
    );
    let original = admin.message(&alice.id, &id).unwrap();
    let copy = admin
        .messages(&alice.id, &w.folder(&alice.id, "Big restore/Inbox").id)
        .into_iter()
        .find(|c| c.internet_message_id == original.internet_message_id)
        .unwrap();
    assert!(!copy.is_draft);
    assert_eq!(copy.attachment_names, ["notes.txt", "scans.pdf"]);
    assert_eq!(copy.received_date_time, original.received_date_time);
    assert!(copy.mime == original.mime, "MIME differs after restore");
}
