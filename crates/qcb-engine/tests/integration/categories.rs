//! Contacts, calendars, tasks and settings: backed up completely, incrementally, and reported
//! by name when a permission is missing.

use std::sync::Arc;

use qcb_engine::{BackupOptions, BackupReport, NoProgress};

use super::support::{World, at, world};

async fn backup_all(w: &World, minutes: i64) -> BackupReport {
    qcb_engine::backup(
        w.graph.clone(),
        w.repo.repository().clone(),
        BackupOptions::new(at(minutes), "t"),
        Arc::new(NoProgress),
    )
    .await
    .unwrap()
}

/// Items under a browse path, recursively.
fn count_items(w: &World, path: &str) -> usize {
    let b = w.repo.browse("latest", path).unwrap();
    b.items.len()
        + b.folders
            .iter()
            .map(|f| count_items(w, &f.path))
            .sum::<usize>()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_category_is_backed_up_completely_then_incrementally() {
    let w = world(20).await;
    let alice = w.alice();
    let admin = w.sim.admin();
    let upn = &alice.user_principal_name;
    let first = backup_all(&w, 0).await;
    assert!(first.failed.is_empty(), "{:?}", first.failed);

    let top: Vec<String> = w
        .repo
        .browse("latest", &format!("/{upn}"))
        .unwrap()
        .folders
        .into_iter()
        .map(|f| f.name)
        .collect();
    assert_eq!(top, ["Calendars", "Contacts", "Mail", "Settings", "Tasks"]);

    let contacts: usize = admin
        .contact_folders(&alice.id)
        .iter()
        .map(|f| admin.contacts(&alice.id, &f.id).len())
        .sum();
    assert!(contacts > 0);
    assert_eq!(count_items(&w, &format!("/{upn}/Contacts")), contacts);
    let events: usize = admin
        .calendars(&alice.id)
        .iter()
        .map(|c| admin.events(&alice.id, &c.id).len())
        .sum();
    assert_eq!(count_items(&w, &format!("/{upn}/Calendars")), events);
    let tasks: usize = admin
        .todo_lists(&alice.id)
        .iter()
        .map(|l| admin.tasks(&alice.id, &l.id).len())
        .sum();
    assert_eq!(count_items(&w, &format!("/{upn}/Tasks")), tasks);
    assert_eq!(count_items(&w, &format!("/{upn}/Settings")), 2);

    // A series master keeps its recurrence, exceptions and cancelled occurrences.
    let cal = w
        .repo
        .browse("latest", &format!("/{upn}/Calendars"))
        .unwrap();
    let mut found_series = false;
    for c in &cal.folders {
        for item in w.repo.browse("latest", &c.path).unwrap().items {
            let p = w
                .repo
                .item_preview("latest", &format!("{}/{}", c.path, item.id))
                .unwrap();
            let json: serde_json::Value = serde_json::from_str(p.text.as_deref().unwrap()).unwrap();
            if json["type"] == "seriesMaster" {
                found_series = true;
                assert!(json["recurrence"].is_object());
                assert!(json.get("cancelledOccurrences").is_some());
                assert!(json.get("exceptionOccurrences").is_some());
            }
        }
    }
    assert!(found_series);

    // Change one contact, delete one task, add nothing else: only those are fetched again.
    let folder = &admin.contact_folders(&alice.id)[0];
    let contact = admin.contacts(&alice.id, &folder.id)[0].clone();
    assert!(admin.update_contact(
        &alice.id,
        &contact.id,
        qcb_graph_sim::ContactPatch {
            job_title: Some("Chief Restorer".into()),
            ..Default::default()
        }
    ));
    let list = &admin.todo_lists(&alice.id)[0];
    let task = admin.tasks(&alice.id, &list.id)[0].clone();
    assert!(admin.delete_task(&alice.id, &task.id));
    let second = backup_all(&w, 10).await;
    assert!(second.failed.is_empty(), "{:?}", second.failed);
    // Only the changed contact is new (settings are read whole but did not change).
    assert_eq!(second.items_fetched, 1, "{second:?}");
    assert_eq!(count_items(&w, &format!("/{upn}/Tasks")), tasks - 1);
    let path = format!("/{upn}/Contacts/{}/{}", folder.display_name, contact.id);
    let now = w.repo.item_preview("latest", &path).unwrap();
    assert!(now.text.unwrap().contains("Chief Restorer"));
    let before = w.repo.item_preview(&first.snapshot_id, &path).unwrap();
    assert!(!before.text.unwrap().contains("Chief Restorer"));

    // Restoring the whole mailbox into a folder brings every category back and says what it
    // did not write.
    let r = w.restore(&format!("/{upn}"), "Whole mailbox", None).await;
    assert!(r.failed.is_empty(), "{:?}", r.failed);
    assert!(r.items_restored as usize > contacts + events + tasks);
    let not_written: Vec<(&str, &str)> = r
        .skipped
        .iter()
        .map(|f| (f.folder.as_str(), f.item_id.as_str()))
        .collect();
    assert_eq!(
        not_written,
        [
            ("Settings/Mailbox", "inboxRules"),
            ("Settings/Mailbox", "mailboxSettings")
        ],
        "{:?}",
        r.skipped
    );
    assert!(
        r.skipped[0]
            .reason
            .contains("inbox rules are restored only")
    );
    // A path that names no category is a clear error.
    let e = qcb_engine::restore(
        w.graph.clone(),
        w.repo.repository().clone(),
        super::support::restore_opts(
            &format!("/{upn}/Notes"),
            qcb_engine::RestoreTarget::Folder("x".into()),
        ),
        Arc::new(NoProgress),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code(), "invalid_input");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_permission_is_reported_by_name_and_the_rest_is_backed_up() {
    let w = world(10).await;
    let admin = w.sim.admin();
    let app = w.sim.credentials().client_id;
    backup_all(&w, 0).await;
    // The app loses Contacts.ReadWrite (as an admin might revoke it).
    admin
        .set_app_permissions(
            &app,
            &[
                "Mail.ReadWrite",
                "User.Read.All",
                "MailboxSettings.Read",
                "Calendars.ReadWrite",
                "Tasks.ReadWrite.All",
            ],
            &[],
        )
        .unwrap();
    let graph = Arc::new(super::support::connection(&w.sim).client().unwrap());
    let r = qcb_engine::backup(
        graph,
        w.repo.repository().clone(),
        BackupOptions::new(at(5), "t"),
        Arc::new(NoProgress),
    )
    .await
    .unwrap();
    let contacts: Vec<_> = r.failed.iter().filter(|f| f.folder == "Contacts").collect();
    assert_eq!(contacts.len(), r.mailboxes as usize, "{:?}", r.failed);
    assert!(
        contacts[0].reason.contains("Contacts.Read"),
        "{}",
        contacts[0].reason
    );
    assert!(contacts[0].reason.contains("previous version is kept"));
    assert_eq!(
        r.failed.len(),
        contacts.len(),
        "nothing else failed: {:?}",
        r.failed
    );
    // The contacts of the last snapshot are still in this one.
    let upn = w.alice().user_principal_name;
    assert!(count_items(&w, &format!("/{upn}/Contacts")) > 0);
    assert!(count_items(&w, &format!("/{upn}/Mail")) > 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn calendars_follow_the_event_delta_and_read_only_changed_events() {
    let w = world(5).await;
    let alice = w.alice();
    let admin = w.sim.admin();
    let upn = &alice.user_principal_name;
    let first = backup_all(&w, 0).await;
    assert!(first.failed.is_empty(), "{:?}", first.failed);
    let cal = admin.calendars(&alice.id)[0].clone();
    let events = admin.events(&alice.id, &cal.id);
    let series = events
        .iter()
        .find(|e| e.kind == "seriesMaster")
        .unwrap()
        .clone();
    let single = events
        .iter()
        .find(|e| e.kind == "singleInstance")
        .unwrap()
        .clone();
    // One occurrence of the series is moved (it becomes an exception of the master), and a
    // single event is deleted.
    let instances = w
        .graph
        .event_instances(
            &alice.id,
            &series.id,
            "2020-01-01T00:00:00",
            "2035-01-01T00:00:00",
            "UTC",
        )
        .await
        .unwrap();
    let occurrence = instances[1]["id"].as_str().unwrap();
    w.graph
        .update_event(
            &alice.id,
            occurrence,
            &serde_json::json!({ "subject": "Review, moved" }),
        )
        .await
        .unwrap();
    assert!(admin.delete_event(&alice.id, &single.id));
    let calendar_reads = |w: &super::support::World| -> Vec<String> {
        w.sim
            .admin()
            .request_log()
            .into_iter()
            .filter(|l| l.method == "GET" && l.path.contains(&format!("/users/{}/", alice.id)))
            .filter(|l| l.path.contains("/calendars/") || l.path.contains("/events"))
            .map(|l| l.path)
            .collect()
    };
    admin.clear_request_log();
    let second = backup_all(&w, 10).await;
    assert!(second.failed.is_empty(), "{:?}", second.failed);
    assert_eq!(
        second.items_fetched, 1,
        "only the series master: {second:?}"
    );
    let reads = calendar_reads(&w);
    // No calendar is listed again: one delta request per calendar, then the changed master
    // read whole with its cancelled occurrences.
    assert!(reads.iter().all(|p| !p.ends_with("/events")), "{reads:#?}");
    let calendars = admin.calendars(&alice.id).len();
    assert_eq!(
        reads
            .iter()
            .filter(|p| p.ends_with("/events/delta"))
            .count(),
        calendars,
        "{reads:#?}"
    );
    assert!(
        reads
            .iter()
            .any(|p| p.ends_with(&format!("/events/{}", series.id))),
        "{reads:#?}"
    );
    let dir = format!("/{upn}/Calendars/{}", cal.name);
    let names: Vec<String> = w
        .repo
        .browse("latest", &dir)
        .unwrap()
        .items
        .into_iter()
        .map(|i| i.id)
        .collect();
    assert!(!names.contains(&single.id), "the deleted event is gone");
    assert_eq!(names.len(), events.len() - 1);
    let stored = w
        .repo
        .item_preview("latest", &format!("{dir}/{}", series.id))
        .unwrap();
    assert!(stored.text.unwrap().contains("Review, moved"));
    // Nothing changed: nothing is read but the deltas.
    admin.clear_request_log();
    let third = backup_all(&w, 20).await;
    assert_eq!(third.items_fetched, 0, "{third:?}");
    let reads = calendar_reads(&w);
    assert_eq!(reads.len(), calendars, "{reads:#?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn contacts_events_and_tasks_whose_stored_data_was_lost_are_read_again() {
    let w = world(5).await;
    let admin = w.sim.admin();
    let root = std::path::PathBuf::from(w.repo.repository().location());
    let opts = |minutes| {
        let mut o = BackupOptions::new(at(minutes), "t");
        o.categories = qcb_engine::Categories::parse("contacts,calendars,tasks").unwrap();
        o
    };
    let run = |repo: qcb_repo::Repository, minutes| {
        qcb_engine::backup(w.graph.clone(), repo, opts(minutes), Arc::new(NoProgress))
    };
    let first = run(w.repo.repository().clone(), 0).await.unwrap();
    assert!(first.failed.is_empty(), "{:?}", first.failed);
    let first_index: Vec<_> = std::fs::read_dir(root.join("index"))
        .unwrap()
        .map(|f| f.unwrap().path())
        .collect();
    assert_eq!(first_index.len(), 1);
    // One change in every contact folder, calendar and task list of every mailbox: the second
    // snapshot's container trees are new (in the second index), while the unchanged items'
    // data stays listed only in the first.
    let mut changed = 0u64;
    for u in admin.users() {
        for f in admin.contact_folders(&u.id) {
            if let Some(c) = admin.contacts(&u.id, &f.id).first() {
                assert!(admin.update_contact(
                    &u.id,
                    &c.id,
                    qcb_graph_sim::ContactPatch {
                        job_title: Some("Changed".into()),
                        ..Default::default()
                    }
                ));
                changed += 1;
            }
        }
        for c in admin.calendars(&u.id) {
            if let Some(e) = admin.events(&u.id, &c.id).first() {
                admin
                    .update_event(
                        &u.id,
                        &e.id,
                        qcb_graph_sim::EventPatch {
                            location: Some("Room 2".into()),
                            ..Default::default()
                        },
                    )
                    .unwrap();
                changed += 1;
            }
        }
        for l in admin.todo_lists(&u.id) {
            if let Some(t) = admin.tasks(&u.id, &l.id).first() {
                admin
                    .update_task(
                        &u.id,
                        &t.id,
                        qcb_graph_sim::TaskPatch {
                            title: Some("Changed".into()),
                            ..Default::default()
                        },
                    )
                    .unwrap();
                changed += 1;
            }
        }
    }
    let second = run(w.repo.repository().clone(), 5).await.unwrap();
    assert!(second.failed.is_empty(), "{:?}", second.failed);
    assert_eq!(second.items_fetched, changed);
    std::fs::remove_file(&first_index[0]).unwrap();

    let cache = tempfile::tempdir().unwrap();
    let repo = qcb_engine::RepoHandle::open(&root, "pw", cache.path()).unwrap();
    let third = run(repo.repository().clone(), 10).await.unwrap();
    assert!(third.failed.is_empty(), "{:?}", third.failed);
    assert_eq!(third.items, second.items);
    // Every unchanged item, and the changed ones that share a blob with their first version
    // (a contact's unchanged photo), is read again; not the whole category: the rest of the
    // second snapshot still serves as the base.
    assert!(
        third.items_fetched >= first.items - changed && third.items_fetched < first.items,
        "{} read again of {} ({changed} changed since the lost index)",
        third.items_fetched,
        first.items
    );
    let snap = repo.repository().find_snapshot("latest").unwrap();
    let problems: Vec<String> = repo
        .repository()
        .check_structure()
        .unwrap()
        .into_iter()
        .filter(|p| p.contains(snap.id.short()))
        .collect();
    assert!(problems.is_empty(), "{problems:?}");
}
