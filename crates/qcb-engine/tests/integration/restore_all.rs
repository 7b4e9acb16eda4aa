//! Restore of every category: a round trip (backup → delete everything → restore to the
//! original location) leaves the mailbox as it was; a second run writes nothing; keep-both and
//! overwrite; another mailbox; a dry run writes nothing; no meeting message is ever sent.

use std::collections::BTreeMap;
use std::sync::Arc;

use qcb_engine::{BackupOptions, NoProgress, OnConflict, RestoreTarget};
use serde_json::{Value, json};

use super::support::{World, at, restore_opts, world};

async fn backup_all(w: &World, minutes: i64) {
    let r = qcb_engine::backup(
        w.graph.clone(),
        w.repo.repository().clone(),
        BackupOptions::new(at(minutes), "t"),
        Arc::new(NoProgress),
    )
    .await
    .unwrap();
    assert!(r.failed.is_empty(), "{:?}", r.failed);
}

/// Removes what the server sets (ids, change keys, times of change) from an item's JSON.
fn strip(v: &mut Value, extra: &[&str]) {
    if let Some(o) = v.as_object_mut() {
        o.retain(|k, _| {
            !k.starts_with('@')
                && ![
                    "id",
                    "changeKey",
                    "createdDateTime",
                    "lastModifiedDateTime",
                    "bodyLastModifiedDateTime",
                    "parentFolderId",
                    "iCalUId",
                    "uid",
                    "webLink",
                    "seriesMasterId",
                    "transactionId",
                ]
                .contains(&k.as_str())
                && !extra.contains(&k.as_str())
        });
    }
}

fn sorted(mut list: Vec<Value>) -> Vec<Value> {
    list.sort_by_key(|v| v.to_string());
    list
}

/// A mailbox's contacts, events, tasks, rules and mail as Graph and the emulator's admin API
/// show them, without ids and server-set fields, by container path.
async fn state(w: &World, uid: &str) -> BTreeMap<String, Vec<Value>> {
    let g = &w.graph;
    let admin = w.sim.admin();
    let mut out = BTreeMap::new();

    let folders = g.contact_folders(uid).await.unwrap();
    let name_of = |id: &str| -> String {
        let mut names = Vec::new();
        let mut cur = Some(id.to_string());
        while let Some(c) = cur {
            let Some(f) = folders.iter().find(|f| f["id"] == c.as_str()) else {
                break;
            };
            names.push(f["displayName"].as_str().unwrap().to_string());
            cur = f["parentFolderId"].as_str().map(str::to_string);
        }
        names.reverse();
        names.join("/")
    };
    for f in &folders {
        let fid = f["id"].as_str().unwrap();
        let mut items = Vec::new();
        let mut link = None;
        loop {
            let p = g
                .contacts_delta(uid, fid, link.as_deref(), 100)
                .await
                .unwrap();
            items.extend(p.items);
            match (p.next_link, p.delta_link) {
                (Some(n), _) => link = Some(n),
                _ => break,
            }
        }
        let mut list = Vec::new();
        for mut c in items {
            let photo = g
                .contact_photo(uid, c["id"].as_str().unwrap())
                .await
                .unwrap();
            strip(&mut c, &[]);
            c["photo"] = json!(photo.map(|p| p.len()));
            list.push(c);
        }
        out.insert(format!("Contacts/{}", name_of(fid)), sorted(list));
    }

    for cal in g.calendars(uid).await.unwrap() {
        let cid = cal["id"].as_str().unwrap();
        let mut list = Vec::new();
        for mut e in g.calendar_events(uid, cid).await.unwrap() {
            let id = e["id"].as_str().unwrap().to_string();
            if e["type"] == "seriesMaster" {
                let cancelled = g.cancelled_occurrences(uid, &id).await.unwrap();
                // OID.<master id>.<date>: the date is what counts.
                e["cancelledOccurrences"] = json!(
                    cancelled
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|c| c.as_str().unwrap().rsplit('.').next().unwrap().to_string())
                        .collect::<Vec<_>>()
                );
            }
            let mut attachments = g.event_attachments(uid, &id).await.unwrap();
            for a in &mut attachments {
                strip(a, &[]);
            }
            e["attachments"] = Value::Array(sorted(attachments));
            let meeting = e["attendees"].as_array().is_some_and(|a| !a.is_empty());
            // A restored meeting is the mailbox's copy of it, so that nobody is notified
            // (docs/restore.md): only `isOrganizer` differs.
            strip(&mut e, if meeting { &["isOrganizer"] } else { &[] });
            if let Some(xs) = e["exceptionOccurrences"].as_array_mut() {
                for x in xs {
                    // An exception's new time is applied in UTC.
                    strip(
                        x,
                        &[
                            "isOrganizer",
                            "originalStartTimeZone",
                            "originalEndTimeZone",
                        ],
                    );
                }
            }
            list.push(e);
        }
        out.insert(
            format!("Calendars/{}", cal["name"].as_str().unwrap()),
            sorted(list),
        );
    }

    for l in g.todo_lists(uid).await.unwrap() {
        let lid = l["id"].as_str().unwrap();
        let mut list = g.tasks(uid, lid).await.unwrap();
        for t in &mut list {
            strip(t, &[]);
        }
        out.insert(
            format!("Tasks/{}", l["displayName"].as_str().unwrap()),
            sorted(list),
        );
    }

    let mut rules = g.inbox_rules(uid).await.unwrap();
    for r in &mut rules {
        strip(r, &[]);
    }
    out.insert("Settings/inboxRules".into(), sorted(rules));

    // Recoverable Items > Deletions fills as the test deletes (Exchange soft-deletes there):
    // it is the service's record of deletions, not state a restore brings back.
    for f in admin
        .folders(uid)
        .into_iter()
        .filter(|f| f.well_known_name.as_deref() != Some("recoverableitemsdeletions"))
    {
        let list: Vec<Value> = admin
            .messages(uid, &f.id)
            .into_iter()
            .map(|m| {
                json!({
                    "subject": m.subject, "isRead": m.is_read, "isDraft": m.is_draft,
                    "received": m.received_date_time, "sent": m.sent_date_time,
                    "internetMessageId": m.internet_message_id,
                    "importance": m.importance, "flag": m.flag_status, "categories": m.categories,
                    "attachments": m.attachment_names, "mime": String::from_utf8_lossy(&m.mime),
                })
            })
            .collect();
        out.insert(format!("Mail/{}", f.path), sorted(list));
    }
    out
}

/// Deletes every contact, event, task, rule and message of the mailbox, and the contact
/// folders and task lists that can be deleted.
async fn delete_everything(w: &World, uid: &str) {
    let g = &w.graph;
    let admin = w.sim.admin();
    for f in admin.contact_folders(uid) {
        for c in admin.contacts(uid, &f.id) {
            assert!(admin.delete_contact(uid, &c.id));
        }
    }
    for f in admin.contact_folders(uid) {
        if !f.is_default && g.delete_contact_folder(uid, &f.id).await.is_ok() {
            continue;
        }
    }
    for c in admin.calendars(uid) {
        for e in admin.events(uid, &c.id) {
            assert!(admin.delete_event(uid, &e.id));
        }
    }
    for l in admin.todo_lists(uid) {
        for t in admin.tasks(uid, &l.id) {
            assert!(admin.delete_task(uid, &t.id));
        }
        if l.wellknown_list_name == "none" {
            g.delete_todo_list(uid, &l.id).await.unwrap();
        }
    }
    for r in g.inbox_rules(uid).await.unwrap() {
        g.delete_inbox_rule(uid, r["id"].as_str().unwrap())
            .await
            .unwrap();
    }
    for f in admin.folders(uid) {
        for m in admin.messages(uid, &f.id) {
            assert!(admin.delete_message(uid, &m.id));
        }
    }
}

fn writes(w: &World) -> Vec<String> {
    w.sim
        .admin()
        .request_log()
        .into_iter()
        .filter(|r| r.method != "GET")
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_category_comes_back_to_its_original_place_once_and_nobody_is_notified() {
    let w = world(20).await;
    let alice = w.alice();
    let admin = w.sim.admin();
    let upn = &alice.user_principal_name;
    backup_all(&w, 0).await;
    let before = state(&w, &alice.id).await;
    assert!(before.keys().any(|k| k == "Contacts/Contacts/Team 👥"));
    let items: usize = before.values().map(Vec::len).sum();
    // What the comparison covers: a series with a moved and a cancelled occurrence and an
    // attachment, an event in its own time zone, a meeting, contacts with photos, rules, mail.
    let events: Vec<&Value> = before
        .iter()
        .filter(|(k, _)| k.starts_with("Calendars/"))
        .flat_map(|(_, v)| v)
        .collect();
    assert!(events.iter().any(|e| {
        e["exceptionOccurrences"]
            .as_array()
            .is_some_and(|x| !x.is_empty())
            && e["cancelledOccurrences"]
                .as_array()
                .is_some_and(|x| !x.is_empty())
            && e["attachments"].as_array().is_some_and(|x| !x.is_empty())
    }));
    assert!(
        events
            .iter()
            .any(|e| e["originalStartTimeZone"] == "W. Europe Standard Time")
    );
    assert!(
        events
            .iter()
            .any(|e| e["responseStatus"]["response"] == "accepted")
    );
    assert!(events.iter().any(|e| e["isOrganizer"] == true));
    assert!(
        before["Contacts/Contacts"]
            .iter()
            .any(|c| c["photo"].as_u64().is_some())
    );
    assert!(!before["Settings/inboxRules"].is_empty());
    assert!(before["Mail/Inbox"].len() > 3);

    delete_everything(&w, &alice.id).await;
    let emptied = state(&w, &alice.id).await;
    assert!(emptied.values().all(Vec::is_empty), "{emptied:#?}");
    assert!(!emptied.contains_key("Tasks/Einkauf 🛒"));
    assert!(!emptied.contains_key("Contacts/Lieferanten"));

    // A dry run lists the writes and makes none.
    admin.clear_request_log();
    let mut opts = restore_opts(&format!("/{upn}"), RestoreTarget::Original);
    opts.dry_run = true;
    let dry = w.restore_with(opts.clone()).await;
    assert!(dry.dry_run);
    assert_eq!(writes(&w), Vec::<String>::new(), "a dry run writes nothing");
    assert_eq!(dry.items_restored, 0);
    let kinds = |kind: &str| dry.planned.iter().filter(|p| p.kind == kind).count();
    assert_eq!(
        kinds("contact"),
        before
            .iter()
            .filter(|(k, _)| k.starts_with("Contacts/"))
            .map(|(_, v)| v.len())
            .sum::<usize>()
    );
    assert_eq!(
        kinds("event"),
        before
            .iter()
            .filter(|(k, _)| k.starts_with("Calendars/"))
            .map(|(_, v)| v.len())
            .sum::<usize>()
    );
    assert_eq!(
        kinds("task"),
        before
            .iter()
            .filter(|(k, _)| k.starts_with("Tasks/"))
            .map(|(_, v)| v.len())
            .sum::<usize>()
    );
    assert_eq!(kinds("rule"), before["Settings/inboxRules"].len());
    assert!(
        dry.planned
            .iter()
            .any(|p| p.action == "create-folder" && p.folder == "Contacts/Lieferanten"),
        "{:?}",
        dry.planned
    );
    assert!(state(&w, &alice.id).await.values().all(Vec::is_empty));

    // The restore brings everything back as it was.
    opts.dry_run = false;
    let r = w.restore_with(opts.clone()).await;
    assert!(r.failed.is_empty(), "{:?}", r.failed);
    assert_eq!(r.target_folder, "");
    assert_eq!(r.items_restored as usize, items);
    // Only the mailbox settings are reported as not written.
    assert_eq!(r.skipped.len(), 1, "{:?}", r.skipped);
    assert_eq!(r.skipped[0].item_id, "mailboxSettings");
    let after = state(&w, &alice.id).await;
    for (k, v) in &before {
        assert_eq!(after.get(k), Some(v), "{k} differs after the round trip");
    }
    assert_eq!(after.len(), before.len(), "{:?}", after.keys());
    assert_eq!(admin.meeting_messages(), vec![], "no meeting message sent");

    // The same restore again writes nothing.
    admin.clear_request_log();
    let again = w.restore_with(opts).await;
    assert!(again.failed.is_empty(), "{:?}", again.failed);
    assert_eq!(again.items_restored, 0);
    assert_eq!(again.folders_created, 0);
    assert_eq!(writes(&w), Vec::<String>::new());
    assert_eq!(state(&w, &alice.id).await, before);

    // A backup of the restored mailbox holds the same items.
    backup_all(&w, 10).await;
    for cat in ["Contacts", "Calendars", "Tasks"] {
        let path = format!("/{upn}/{cat}");
        let count = |snap: &str| {
            fn walk(w: &World, snap: &str, path: &str) -> usize {
                let b = w.repo.browse(snap, path).unwrap();
                b.items.len()
                    + b.folders
                        .iter()
                        .map(|f| walk(w, snap, &f.path))
                        .sum::<usize>()
            }
            walk(&w, snap, &path)
        };
        let snaps = w.repo.snapshots().unwrap();
        assert_eq!(
            count(&snaps[0].short_id),
            count(&snaps[1].short_id),
            "{cat}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn keep_both_adds_copies_and_overwrite_puts_changed_items_back() {
    let w = world(5).await;
    let alice = w.alice();
    let admin = w.sim.admin();
    let upn = &alice.user_principal_name;
    backup_all(&w, 0).await;
    let before = state(&w, &alice.id).await;
    let count = |s: &BTreeMap<String, Vec<Value>>, prefix: &str| -> usize {
        s.iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .map(|(_, v)| v.len())
            .sum()
    };

    // Change a contact and a task; delete an event.
    let folder = admin
        .contact_folders(&alice.id)
        .into_iter()
        .find(|f| f.display_name == "Lieferanten")
        .unwrap();
    let contact = admin.contacts(&alice.id, &folder.id)[0].clone();
    assert!(admin.update_contact(
        &alice.id,
        &contact.id,
        qcb_graph_sim::ContactPatch {
            job_title: Some("Changed".into()),
            ..Default::default()
        }
    ));
    let list = &admin.todo_lists(&alice.id)[0];
    let task = admin.tasks(&alice.id, &list.id)[0].clone();
    admin
        .update_task(
            &alice.id,
            &task.id,
            qcb_graph_sim::TaskPatch {
                importance: Some(qcb_graph_sim::Importance::Low),
                status: Some("waitingOnOthers".into()),
                ..Default::default()
            },
        )
        .unwrap();
    let cal = &admin.calendars(&alice.id)[0];
    let single = admin
        .events(&alice.id, &cal.id)
        .into_iter()
        .find(|e| e.kind == "singleInstance" && e.attendees.is_empty())
        .unwrap();
    assert!(admin.delete_event(&alice.id, &single.id));

    // Overwrite: the changed ones are put back, the deleted one comes back, nothing doubles,
    // and the meeting Alice organizes is left alone (deleting it would notify its attendees).
    let mut opts = restore_opts(&format!("/{upn}"), RestoreTarget::Original);
    opts.on_conflict = OnConflict::Overwrite;
    let r = w.restore_with(opts).await;
    assert!(r.failed.is_empty(), "{:?}", r.failed);
    assert!(r.items_overwritten > 0);
    assert!(
        r.skipped
            .iter()
            .any(|s| s.reason.contains("would send its attendees a cancellation")),
        "{:?}",
        r.skipped
    );
    let after = state(&w, &alice.id).await;
    assert_eq!(after, before);
    assert_eq!(admin.meeting_messages(), vec![]);

    // Keep both: contacts, events and tasks are there twice; the next skip run adds nothing.
    let mut opts = restore_opts(&format!("/{upn}/Contacts"), RestoreTarget::Original);
    opts.on_conflict = OnConflict::KeepBoth;
    let r = w.restore_with(opts.clone()).await;
    assert!(r.failed.is_empty(), "{:?}", r.failed);
    for cat in ["Calendars", "Tasks"] {
        opts.path = format!("/{upn}/{cat}");
        let r = w.restore_with(opts.clone()).await;
        assert!(r.failed.is_empty(), "{:?}", r.failed);
    }
    let doubled = state(&w, &alice.id).await;
    for prefix in ["Contacts/", "Calendars/", "Tasks/"] {
        assert_eq!(
            count(&doubled, prefix),
            2 * count(&before, prefix),
            "{prefix}"
        );
    }
    opts.on_conflict = OnConflict::Skip;
    for cat in ["Contacts", "Calendars", "Tasks"] {
        opts.path = format!("/{upn}/{cat}");
        let r = w.restore_with(opts.clone()).await;
        assert_eq!(r.items_restored, 0, "{cat}");
    }
    assert_eq!(state(&w, &alice.id).await, doubled);
    assert_eq!(admin.meeting_messages(), vec![]);
}

#[tokio::test(flavor = "multi_thread")]
async fn contacts_calendars_and_tasks_restore_into_a_folder_of_another_mailbox() {
    let w = world(5).await;
    let alice = w.alice();
    let admin = w.sim.admin();
    let bob = admin
        .users()
        .into_iter()
        .find(|u| u.id != alice.id)
        .unwrap();
    backup_all(&w, 0).await;
    let from = state(&w, &alice.id).await;
    let mut opts = restore_opts(
        &format!("/{}", alice.user_principal_name),
        RestoreTarget::Folder("From Alice".into()),
    );
    opts.target_mailbox = Some(bob.user_principal_name.clone());
    let r = w.restore_with(opts.clone()).await;
    assert!(r.failed.is_empty(), "{:?}", r.failed);
    assert_eq!(r.mailbox, bob.user_principal_name);
    let to = state(&w, &bob.id).await;
    let subjects = |list: &[Value], key: &str| -> Vec<String> {
        let mut s: Vec<String> = list
            .iter()
            .map(|v| v[key].as_str().unwrap_or_default().to_string())
            .collect();
        s.sort();
        s
    };
    for (k, v) in &from {
        let (cat, name) = k.split_once('/').unwrap();
        let (there, key) = match cat {
            "Contacts" => (format!("Contacts/From Alice/{name}"), "displayName"),
            "Calendars" => (format!("Calendars/{name} (From Alice)"), "subject"),
            "Tasks" => (format!("Tasks/{name} (From Alice)"), "title"),
            "Mail" if !v.is_empty() => (format!("Mail/From Alice/{name}"), "subject"),
            _ => continue,
        };
        let got = to.get(&there).unwrap_or_else(|| panic!("no {there}"));
        assert_eq!(subjects(got, key), subjects(v, key), "{there}");
    }
    assert_eq!(admin.meeting_messages(), vec![]);
    // Again: nothing new.
    let again = w.restore_with(opts).await;
    assert_eq!(again.items_restored, 0);
    assert_eq!(state(&w, &bob.id).await, to);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_single_contact_event_task_or_message_is_restored_alone() {
    let w = world(5).await;
    let alice = w.alice();
    let admin = w.sim.admin();
    let upn = &alice.user_principal_name;
    backup_all(&w, 0).await;
    let before = state(&w, &alice.id).await;

    let folder = admin
        .contact_folders(&alice.id)
        .into_iter()
        .find(|f| f.display_name == "Lieferanten")
        .unwrap();
    let contact = admin.contacts(&alice.id, &folder.id)[0].clone();
    let cal = admin
        .calendars(&alice.id)
        .into_iter()
        .find(|c| c.is_default)
        .unwrap();
    let series = admin
        .events(&alice.id, &cal.id)
        .into_iter()
        .find(|e| !e.exception_dates.is_empty())
        .unwrap();
    let list = admin
        .todo_lists(&alice.id)
        .into_iter()
        .find(|l| l.wellknown_list_name == "defaultList")
        .unwrap();
    let task = admin.tasks(&alice.id, &list.id)[0].clone();
    let inbox = w.folder(&alice.id, "Inbox");
    let message = admin.messages(&alice.id, &inbox.id)[0].clone();
    assert!(admin.delete_contact(&alice.id, &contact.id));
    assert!(admin.delete_event(&alice.id, &series.id));
    assert!(admin.delete_task(&alice.id, &task.id));
    assert!(admin.delete_message(&alice.id, &message.id));

    for path in [
        format!("Contacts/Lieferanten/{}", contact.id),
        format!("Calendars/{}/{}", cal.name, series.id),
        format!("Tasks/{}/{}", list.display_name, task.id),
        format!("Mail/Inbox/{}", message.id),
    ] {
        let r = w
            .restore_with(restore_opts(
                &format!("/{upn}/{path}"),
                RestoreTarget::Original,
            ))
            .await;
        assert!(r.failed.is_empty(), "{path}: {:?}", r.failed);
        assert_eq!(r.items_restored, 1, "{path}");
        assert_eq!(r.items_skipped, 0, "{path}");
    }
    assert_eq!(state(&w, &alice.id).await, before);
    assert_eq!(admin.meeting_messages(), vec![]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_point_in_time_chooses_the_snapshot_and_a_folder_can_leave_its_subfolders_out() {
    let w = world(5).await;
    let alice = w.alice();
    let admin = w.sim.admin();
    let upn = &alice.user_principal_name;
    backup_all(&w, 0).await;
    let folder = admin
        .contact_folders(&alice.id)
        .into_iter()
        .find(|f| f.display_name == "Lieferanten")
        .unwrap();
    let contact = admin.contacts(&alice.id, &folder.id)[0].clone();
    assert!(admin.update_contact(
        &alice.id,
        &contact.id,
        qcb_graph_sim::ContactPatch {
            job_title: Some("Changed later".into()),
            ..Default::default()
        }
    ));
    backup_all(&w, 60).await;

    // The newest snapshot at or before minute 30 is the first one: the contact as it was.
    let mut opts = restore_opts(
        &format!("/{upn}/Contacts/Lieferanten/{}", contact.id),
        RestoreTarget::Folder("Then".into()),
    );
    opts.at_or_before = Some(at(30));
    let r = w.restore_with(opts.clone()).await;
    assert_eq!(r.items_restored, 1, "{r:?}");
    let now = state(&w, &alice.id).await;
    let then = &now["Contacts/Then/Lieferanten"];
    assert_eq!(then.len(), 1);
    assert_ne!(then[0]["jobTitle"], "Changed later");
    assert!(
        now["Contacts/Lieferanten"]
            .iter()
            .any(|c| c["jobTitle"] == "Changed later")
    );
    opts.at_or_before = Some(at(-30));
    let e = qcb_engine::restore(
        w.graph.clone(),
        w.repo.repository().clone(),
        opts,
        Arc::new(NoProgress),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code(), "not_found");

    // Not recursive: the default contact folder without its subfolder "Team 👥".
    let mut opts = restore_opts(
        &format!("/{upn}/Contacts/Contacts"),
        RestoreTarget::Folder("Flat".into()),
    );
    opts.recursive = false;
    let r = w.restore_with(opts).await;
    assert!(r.failed.is_empty(), "{:?}", r.failed);
    let after = state(&w, &alice.id).await;
    assert_eq!(
        after["Contacts/Flat/Contacts"].len(),
        after["Contacts/Contacts"].len()
    );
    assert!(
        !after
            .keys()
            .any(|k| k.starts_with("Contacts/Flat/Contacts/"))
    );
    assert_eq!(r.items_restored as usize, after["Contacts/Contacts"].len());
}

#[tokio::test(flavor = "multi_thread")]
async fn inbox_rules_restored_into_another_mailbox_act_on_its_own_folders() {
    let w = world(5).await;
    let alice = w.alice();
    let admin = w.sim.admin();
    let bob = admin
        .users()
        .into_iter()
        .find(|u| u.id != alice.id)
        .unwrap();
    backup_all(&w, 0).await;
    let rule = w
        .graph
        .inbox_rules(&alice.id)
        .await
        .unwrap()
        .into_iter()
        .find(|r| r["actions"]["moveToFolder"].is_string())
        .unwrap();
    let folder_id = rule["actions"]["moveToFolder"].as_str().unwrap();
    let path = admin
        .folders(&alice.id)
        .into_iter()
        .find(|f| f.id == folder_id)
        .unwrap()
        .path;
    let mut opts = restore_opts(
        &format!("/{}", alice.user_principal_name),
        RestoreTarget::Original,
    );
    opts.target_mailbox = Some(bob.user_principal_name.clone());
    let r = w.restore_with(opts).await;
    assert!(r.failed.is_empty(), "{:?}", r.failed);
    let copy = w
        .graph
        .inbox_rules(&bob.id)
        .await
        .unwrap()
        .into_iter()
        .find(|r| r["displayName"] == rule["displayName"])
        .unwrap();
    assert_eq!(
        copy["actions"]["moveToFolder"].as_str(),
        Some(w.folder(&bob.id, &path).id.as_str()),
        "{path}"
    );
    assert_eq!(admin.meeting_messages(), vec![]);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_event_attachment_above_3_mb_comes_back_through_an_upload_session() {
    let w = world(5).await;
    let alice = w.alice();
    let admin = w.sim.admin();
    let cal = admin
        .calendars(&alice.id)
        .into_iter()
        .find(|c| c.is_default)
        .unwrap();
    let event = admin
        .events(&alice.id, &cal.id)
        .into_iter()
        .find(|e| e.kind == "singleInstance" && e.attendees.is_empty())
        .unwrap();
    let big: Vec<u8> = (0..3_500_000u32).map(|i| (i % 251) as u8).collect();
    w.graph
        .upload_event_attachment(
            &alice.id,
            &event.id,
            &qcb_graph::UploadFile {
                name: "plan.bin",
                content_type: "application/octet-stream",
                is_inline: false,
                content_id: None,
                bytes: &big,
            },
        )
        .await
        .unwrap();
    backup_all(&w, 0).await;
    let before = state(&w, &alice.id).await;
    assert!(admin.delete_event(&alice.id, &event.id));
    admin.clear_request_log();
    let r = w
        .restore_with(restore_opts(
            &format!(
                "/{}/Calendars/{}/{}",
                alice.user_principal_name, cal.name, event.id
            ),
            RestoreTarget::Original,
        ))
        .await;
    assert!(r.failed.is_empty(), "{:?}", r.failed);
    assert!(
        admin
            .request_log()
            .iter()
            .any(|l| l.method == "PUT" && l.path.contains("AttachmentSessions"))
    );
    assert_eq!(state(&w, &alice.id).await, before);
}

#[tokio::test(flavor = "multi_thread")]
async fn mailbox_settings_come_back_on_overwrite_when_the_app_may_write_them() {
    let w = world(5).await;
    let alice = w.alice();
    backup_all(&w, 0).await;
    let writable = |v: Value| -> Value {
        let keep = [
            "automaticRepliesSetting",
            "dateFormat",
            "delegateMeetingMessageDeliveryOptions",
            "language",
            "timeFormat",
            "timeZone",
            "workingHours",
        ];
        Value::Object(
            v.as_object()
                .unwrap()
                .iter()
                .filter(|(k, _)| keep.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        )
    };
    let original = writable(w.graph.mailbox_settings(&alice.id).await.unwrap());
    // The tenant's app reads settings only; an admin grants it MailboxSettings.ReadWrite.
    let app = w.sim.credentials().client_id;
    let roles = [
        "Mail.ReadWrite",
        "User.Read.All",
        "MailboxSettings.ReadWrite",
        "Contacts.ReadWrite",
        "Calendars.ReadWrite",
        "Tasks.ReadWrite.All",
    ];
    w.sim
        .admin()
        .set_app_permissions(&app, &roles, &[])
        .unwrap();
    let writer = Arc::new(super::support::connection(&w.sim).client().unwrap());
    // Someone turns on automatic replies and moves the mailbox to another time zone.
    writer
        .update_mailbox_settings(
            &alice.id,
            &json!({
                "automaticRepliesSetting": {
                    "status": "alwaysEnabled",
                    "internalReplyMessage": "Away until Monday",
                    "externalReplyMessage": "Away until Monday",
                },
                "timeZone": "Pacific Standard Time",
            }),
        )
        .await
        .unwrap();
    let changed = writable(w.graph.mailbox_settings(&alice.id).await.unwrap());
    assert_ne!(changed, original);
    let restore = |graph: Arc<qcb_engine::GraphClient>, on_conflict, dry_run, target| {
        let mut o = restore_opts(&format!("/{}/Settings", alice.user_principal_name), target);
        o.on_conflict = on_conflict;
        o.dry_run = dry_run;
        qcb_engine::restore(graph, w.repo.repository().clone(), o, Arc::new(NoProgress))
    };
    let skipped = |r: &qcb_engine::RestoreReport| -> String {
        r.skipped
            .iter()
            .find(|s| s.item_id == "mailboxSettings")
            .map(|s| s.reason.clone())
            .unwrap_or_default()
    };
    // Skip (the default) and keep-both leave them alone and say how to put them back; so does
    // a folder target (settings apply to the whole mailbox).
    for policy in [OnConflict::Skip, OnConflict::KeepBoth] {
        let r = restore(writer.clone(), policy, false, RestoreTarget::Original)
            .await
            .unwrap();
        assert!(skipped(&r).contains("--on-conflict overwrite"), "{r:?}");
    }
    let r = restore(
        writer.clone(),
        OnConflict::Overwrite,
        false,
        RestoreTarget::Folder("X".into()),
    )
    .await
    .unwrap();
    assert!(skipped(&r).contains("not into a folder"), "{r:?}");
    // A dry run plans the overwrite and writes nothing.
    let r = restore(
        writer.clone(),
        OnConflict::Overwrite,
        true,
        RestoreTarget::Original,
    )
    .await
    .unwrap();
    assert!(
        r.planned
            .iter()
            .any(|p| p.kind == "mailboxSettings" && p.action == "overwrite"),
        "{:?}",
        r.planned
    );
    // Without the permission (a token issued before the grant) only this item fails, by name.
    let r = restore(
        w.graph.clone(),
        OnConflict::Overwrite,
        false,
        RestoreTarget::Original,
    )
    .await
    .unwrap();
    let failed: Vec<_> = r.failed.iter().map(|f| (&f.item_id, &f.reason)).collect();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0].0, "mailboxSettings");
    assert!(
        failed[0].1.contains("MailboxSettings.ReadWrite"),
        "{failed:?}"
    );
    assert_eq!(
        writable(writer.mailbox_settings(&alice.id).await.unwrap()),
        changed
    );
    // With it, they are back as backed up; a second run finds nothing to do.
    let r = restore(
        writer.clone(),
        OnConflict::Overwrite,
        false,
        RestoreTarget::Original,
    )
    .await
    .unwrap();
    assert!(r.failed.is_empty(), "{:?}", r.failed);
    assert_eq!(
        writable(writer.mailbox_settings(&alice.id).await.unwrap()),
        original
    );
    let r = restore(
        writer,
        OnConflict::Overwrite,
        false,
        RestoreTarget::Original,
    )
    .await
    .unwrap();
    assert!(skipped(&r).contains("already as backed up"), "{r:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_task_is_recognised_by_its_id_or_its_restore_link_after_a_rename() {
    let w = world(5).await;
    let alice = w.alice();
    let admin = w.sim.admin();
    let upn = &alice.user_principal_name;
    backup_all(&w, 0).await;
    let list = admin.todo_lists(&alice.id)[0].clone();
    let titles = |admin: &qcb_graph_sim::Admin| -> Vec<String> {
        let mut t: Vec<String> = admin
            .tasks(&alice.id, &list.id)
            .into_iter()
            .map(|t| t.title)
            .collect();
        t.sort();
        t
    };
    let backed_up = titles(&admin);
    assert!(!backed_up.is_empty());
    let rename = |id: &str, title: &str| {
        admin
            .update_task(
                &alice.id,
                id,
                qcb_graph_sim::TaskPatch {
                    title: Some(title.into()),
                    ..Default::default()
                },
            )
            .unwrap();
    };
    let path = format!("/{upn}/Tasks/{}", list.display_name);
    let opts = |on_conflict| {
        let mut o = restore_opts(&path, RestoreTarget::Original);
        o.on_conflict = on_conflict;
        o
    };

    // The original, renamed since the backup, is the same task (same id): not restored again.
    let first = admin.tasks(&alice.id, &list.id)[0].clone();
    rename(&first.id, "Renamed since the backup");
    let r = w.restore_with(opts(OnConflict::Skip)).await;
    assert_eq!(r.items_restored, 0, "{:?}", r.skipped);
    assert_eq!(titles(&admin).len(), backed_up.len());

    // Gone and restored: each copy names its original in a linked resource...
    for t in admin.tasks(&alice.id, &list.id) {
        assert!(admin.delete_task(&alice.id, &t.id));
    }
    let r = w.restore_with(opts(OnConflict::Skip)).await;
    assert!(r.failed.is_empty(), "{:?}", r.failed);
    assert_eq!(r.items_restored as usize, backed_up.len());
    assert_eq!(titles(&admin), backed_up);
    for t in w.graph.tasks_with_links(&alice.id, &list.id).await.unwrap() {
        let links = t["linkedResources"].as_array().unwrap();
        assert_eq!(links.len(), 1, "{t}");
        assert_eq!(links[0]["applicationName"], "QCBackup Manager");
        assert!(links[0]["externalId"].is_string());
    }
    // ...so a copy renamed afterwards is still recognised: nothing doubles, and overwrite
    // puts the backed-up title back on that same copy.
    let copy = admin.tasks(&alice.id, &list.id)[0].clone();
    rename(&copy.id, "Renamed after the restore");
    let r = w.restore_with(opts(OnConflict::Skip)).await;
    assert_eq!(r.items_restored, 0, "{:?}", r.skipped);
    let r = w.restore_with(opts(OnConflict::Overwrite)).await;
    assert!(r.failed.is_empty(), "{:?}", r.failed);
    assert_eq!(titles(&admin), backed_up);
    assert!(
        admin
            .tasks(&alice.id, &list.id)
            .iter()
            .any(|t| t.id == copy.id),
        "updated in place"
    );
}
