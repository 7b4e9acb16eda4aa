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

/// The mail requests of the last run, by kind: `(folder hierarchy deltas, message deltas,
/// anything else)`, the last as paths.
fn mail_requests(w: &super::support::World) -> (usize, usize, Vec<String>) {
    let (mut folders, mut messages, mut other) = (0, 0, Vec::new());
    for r in w.sim.admin().request_log() {
        if r.path.ends_with("/mailFolders/delta") {
            folders += 1;
        } else if r.path.ends_with("/messages/delta") {
            messages += 1;
        } else if r.path.contains("/mailFolders") {
            other.push(format!("{} {}", r.method, r.path));
        }
    }
    (folders, messages, other)
}

/// The folder hierarchy follows `mailFolders/delta` from the link the last snapshot saved: a
/// run where nothing changed sends only delta requests (one for the hierarchy and one per
/// folder of each mailbox; no folder listing, no lookup of Recoverable Items), a folder made
/// since then arrives through that delta with its messages, and an expired hierarchy link
/// falls back to the whole hierarchy without downloading anything again.
#[tokio::test(flavor = "multi_thread")]
async fn the_folder_tree_follows_its_delta_link_and_a_quiet_run_sends_only_delta_requests() {
    use qcb_graph_sim::{Fault, FaultConfig, FaultRule};
    let w = world(40).await;
    let admin = w.sim.admin();
    let alice = w.alice();
    let first = w.backup(0).await;
    let (folders, _, other) = mail_requests(&w);
    assert_eq!(folders, 2, "one hierarchy delta per mailbox");
    assert!(
        !other.iter().any(|p| p.contains("childFolders")),
        "no folder listing: {other:?}"
    );

    admin.clear_request_log();
    let quiet = w.backup(10).await;
    assert_eq!(quiet.items_fetched, 0);
    assert_eq!(quiet.items, first.items);
    let (folders, messages, other) = mail_requests(&w);
    assert_eq!(folders, 2, "one hierarchy delta per mailbox");
    let folder_count: usize = [&alice.id, &w.sim.admin().users()[1].id]
        .iter()
        .map(|u| admin.folders(u).len())
        .sum();
    assert!(
        messages >= folder_count,
        "a message delta per folder: {messages} for {folder_count} folders"
    );
    assert!(other.is_empty(), "only delta requests: {other:?}");

    // A folder made between runs, with a message in it.
    let inbox = w.folder(&alice.id, "Inbox");
    let projects = admin
        .create_folder(&alice.id, &inbox.id, "Projects 2027")
        .expect("folder");
    let added = admin.add_message(&alice.id, &projects, NewMessage::generated(7));
    admin.clear_request_log();
    let third = w.backup(20).await;
    assert_eq!(third.items_fetched, 1, "only the new message");
    let (_, _, other) = mail_requests(&w);
    assert!(
        other.iter().all(|p| p.ends_with("/$value")),
        "the new folder came through the hierarchy's delta: {other:?}"
    );
    let snaps = w.repo.snapshots().unwrap();
    let path = format!("/{}/Mail/Inbox/Projects 2027", alice.user_principal_name);
    let listed = w.repo.browse(&snaps[2].id, &path).unwrap();
    assert_eq!(
        listed
            .items
            .iter()
            .map(|i| i.id.as_str())
            .collect::<Vec<_>>(),
        [added.as_str()]
    );

    // The hierarchy's delta link expired: the whole hierarchy again, nothing downloaded.
    admin.set_faults(FaultConfig {
        rules: vec![FaultRule {
            query_contains: Some("$deltatoken".into()),
            times: 0,
            ..FaultRule::nth(1, "/mailFolders/delta", Fault::SyncStateNotFound)
        }],
        ..Default::default()
    });
    admin.clear_request_log();
    let fourth = w.backup(30).await;
    admin.clear_faults();
    assert_eq!(fourth.items_fetched, 0);
    assert_eq!(fourth.items, third.items);
    assert!(fourth.failed.is_empty(), "{:?}", fourth.failed);
    let (folders, _, _) = mail_requests(&w);
    assert_eq!(
        folders, 4,
        "per mailbox: the expired link, then a first round"
    );

    // Renamed and moved in Outlook: the hierarchy delta reports the folder as changed; the
    // next snapshot has it at its new place with its message, nothing downloaded again.
    admin
        .rename_folder(&alice.id, &projects, "Projects 2028")
        .expect("rename");
    admin
        .move_folder(&alice.id, &projects, "deleteditems")
        .expect("move");
    admin.clear_request_log();
    let fifth = w.backup(40).await;
    assert_eq!(
        fifth.items_fetched, 0,
        "a moved folder is not downloaded again"
    );
    assert_eq!(fifth.items, fourth.items);
    let snaps = w.repo.snapshots().unwrap();
    let upn = &alice.user_principal_name;
    let moved = w
        .repo
        .browse(
            &snaps[4].id,
            &format!("/{upn}/Mail/Deleted Items/Projects 2028"),
        )
        .unwrap();
    assert_eq!(
        moved
            .items
            .iter()
            .map(|i| i.id.as_str())
            .collect::<Vec<_>>(),
        [added.as_str()]
    );
    assert!(
        w.repo
            .browse(&snaps[4].id, &format!("/{upn}/Mail/Inbox/Projects 2027"))
            .is_err(),
        "the old place is gone from the new snapshot"
    );
}
