use qcb_graph_sim::{MessagePatch, NewMessage};

use super::support::world;

#[tokio::test(flavor = "multi_thread")]
async fn second_backup_downloads_only_what_changed_and_old_snapshots_keep_old_versions() {
    let w = world(80).await;
    let admin = w.sim.admin();
    let alice = w.alice();
    let inbox = w.folder(&alice.id, "Inbox");
    let first = w.backup(0).await;
    assert_eq!(first.items_fetched, first.items);

    let msgs = admin.messages(&alice.id, &inbox.id);
    assert!(msgs.len() >= 4, "inbox has {} messages", msgs.len());
    let added = admin.add_message(&alice.id, &inbox.id, NewMessage::generated(99));
    let changed = &msgs[0];
    assert!(admin.update_message(
        &alice.id,
        &changed.id,
        MessagePatch {
            is_read: Some(!changed.is_read),
            subject: Some("Edited subject".into()),
            ..Default::default()
        }
    ));
    let deleted = &msgs[1];
    assert!(admin.delete_message(&alice.id, &deleted.id));
    admin.clear_request_log();

    let second = w.backup(10).await;
    let mut downloaded = w.mime_downloads();
    downloaded.sort();
    let mut expected = vec![added.clone(), changed.id.clone()];
    expected.sort();
    assert_eq!(
        downloaded, expected,
        "only the new and the changed message are downloaded"
    );
    assert_eq!(second.items_fetched, 2);
    assert_eq!(second.items, first.items, "one added, one deleted");
    // Every Graph request carries the immutable-id preference.
    assert!(
        admin
            .request_log()
            .iter()
            .filter(|r| r.path.starts_with("/v1.0/"))
            .all(|r| r
                .prefer
                .as_deref()
                .unwrap_or("")
                .contains("IdType=\"ImmutableId\""))
    );

    let snaps = w.repo.snapshots().unwrap();
    assert_eq!(snaps.len(), 2);
    let path = format!("/{}/Mail/Inbox", alice.user_principal_name);
    let old = w.repo.browse(&snaps[0].id, &path).unwrap();
    let new = w.repo.browse(&snaps[1].id, &path).unwrap();
    assert!(
        old.items.iter().any(|i| i.id == deleted.id),
        "the old snapshot still has the deleted message"
    );
    assert!(!new.items.iter().any(|i| i.id == deleted.id));
    assert!(new.items.iter().any(|i| i.id == added));
    assert_eq!(
        old.items
            .iter()
            .find(|i| i.id == changed.id)
            .unwrap()
            .subject,
        changed.subject
    );
    assert_eq!(
        new.items
            .iter()
            .find(|i| i.id == changed.id)
            .unwrap()
            .subject,
        "Edited subject"
    );
    assert_eq!(
        new.items
            .iter()
            .find(|i| i.id == changed.id)
            .unwrap()
            .is_read,
        !changed.is_read
    );

    // Nothing changed: no message is downloaded and no data is added but the small trees.
    admin.clear_request_log();
    let third = w.backup(20).await;
    assert!(w.mime_downloads().is_empty());
    assert_eq!(third.items_fetched, 0);
    assert_eq!(third.items, second.items);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_message_moved_between_folders_is_not_downloaded_again() {
    let w = world(60).await;
    let admin = w.sim.admin();
    let alice = w.alice();
    let inbox = w.folder(&alice.id, "Inbox");
    let archive = w.folder(&alice.id, "Archive");
    w.backup(0).await;
    let m = admin.messages(&alice.id, &inbox.id).remove(0);
    assert!(admin.move_message(&alice.id, &m.id, &archive.id));
    admin.clear_request_log();
    let r = w.backup(5).await;
    let moved = admin.message(&alice.id, &m.id).unwrap();
    let downloads = w.mime_downloads();
    if moved.change_key == m.change_key {
        assert!(
            downloads.is_empty(),
            "same changeKey after a move: nothing to download, got {downloads:?}"
        );
    } else {
        assert_eq!(downloads, vec![m.id.clone()]);
    }
    let snaps = w.repo.snapshots().unwrap();
    let arch = w
        .repo
        .browse(
            &snaps[1].id,
            &format!("/{}/Mail/Archive", alice.user_principal_name),
        )
        .unwrap();
    assert!(
        arch.items.iter().any(|i| i.id == m.id),
        "the moved message is in Archive in the new snapshot"
    );
    let inb = w
        .repo
        .browse(
            &snaps[1].id,
            &format!("/{}/Mail/Inbox", alice.user_principal_name),
        )
        .unwrap();
    assert!(!inb.items.iter().any(|i| i.id == m.id));
    assert!(r.failed.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn progress_counts_up_to_the_total_and_never_steps_back() {
    use std::sync::{Arc, Mutex};
    let w = world(150).await;
    for _ in 0..3 {
        let seen: Arc<Mutex<Vec<qcb_engine::ProgressEvent>>> = Arc::default();
        let sink = seen.clone();
        let progress = Arc::new(move |e: qcb_engine::ProgressEvent| sink.lock().unwrap().push(e));
        let report = qcb_engine::backup(
            w.graph.clone(),
            w.repo.repository().clone(),
            super::support::mail_opts(super::support::at(0), "t"),
            progress,
        )
        .await
        .unwrap();
        let seen = seen.lock().unwrap();
        assert!(
            seen.windows(2).all(|p| p[1].items_done >= p[0].items_done),
            "items_done stepped back"
        );
        let last = seen.last().unwrap();
        assert_eq!(last.phase, qcb_engine::Phase::Done);
        assert_eq!(last.items_done, report.items);
        assert_eq!(last.items_total, report.items);
    }
}
