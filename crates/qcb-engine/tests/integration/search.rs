//! Full-text search across snapshots: every searchable field, every filter, versions that
//! changed between snapshots, items deleted from the mailbox, bad query syntax.

use std::sync::Arc;

use qcb_engine::{BackupOptions, NoProgress, SearchQuery, SearchResults};
use qcb_graph_sim::{BodyType, EmailAddress, MessagePatch, NewAttachment, NewContact, NewMessage};

use super::support::{World, at, world};

fn addr(name: &str, address: &str) -> EmailAddress {
    EmailAddress {
        name: name.into(),
        address: address.into(),
    }
}

async fn backup_all(w: &World, minutes: i64) -> String {
    let r = qcb_engine::backup(
        w.graph.clone(),
        w.repo.repository().clone(),
        BackupOptions::new(at(minutes), "t"),
        Arc::new(NoProgress),
    )
    .await
    .unwrap();
    assert!(r.failed.is_empty(), "{:?}", r.failed);
    r.snapshot_id
}

async fn search(w: &World, q: SearchQuery) -> SearchResults {
    qcb_engine::api::search(w.repo.clone(), q).await.unwrap()
}

async fn ids(w: &World, q: SearchQuery) -> Vec<String> {
    let mut v: Vec<String> = search(w, q)
        .await
        .hits
        .into_iter()
        .map(|h| h.item_id)
        .collect();
    v.sort();
    v
}

fn text(t: &str) -> SearchQuery {
    SearchQuery {
        text: t.into(),
        ..Default::default()
    }
}

fn one(id: &str) -> Vec<String> {
    vec![id.to_string()]
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread")]
async fn search_finds_every_field_with_filters_across_snapshots() {
    let w = world(6).await;
    let admin = w.sim.admin();
    let alice = w.alice();
    let bob = admin
        .users()
        .into_iter()
        .find(|u| u.user_principal_name.starts_with("bob"))
        .unwrap();
    let inbox = w.folder(&alice.id, "Inbox");
    let projects = admin.create_folder(&alice.id, &inbox.id, "Zephyr").unwrap();
    let budget = admin.add_message(
        &alice.id,
        &inbox.id,
        NewMessage {
            subject: "Zanzibar budget review".into(),
            body_content_type: BodyType::Html,
            body: "<html><body><p>The <b>pelican</b> numbers are final.</p></body></html>".into(),
            from: Some(addr("Carol Quill", "carol@partner.example")),
            to: vec![addr("Alice", &alice.user_principal_name)],
            cc: vec![addr("Zoltan Valeska", "zoltan@vendor.example")],
            received_date_time: Some("2026-03-10T09:00:00Z".into()),
            sent_date_time: Some("2026-03-10T08:59:00Z".into()),
            attachments: vec![NewAttachment {
                name: "forecast-q4.xlsx".into(),
                content_type: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
                    .into(),
                content: b"PK not really a spreadsheet".to_vec(),
                is_inline: false,
                content_id: None,
            }],
            ..Default::default()
        },
    );
    let notes = admin.add_message(
        &alice.id,
        &projects,
        NewMessage {
            subject: "Weekly zanzibar notes".into(),
            body: "Bring the marmalade.".into(),
            from: Some(addr("Erin Stone", "erin@example.org")),
            received_date_time: Some("2026-06-01T12:00:00Z".into()),
            sent_date_time: Some("2026-06-01T11:59:00Z".into()),
            ..Default::default()
        },
    );
    let bob_inbox = w.folder(&bob.id, "Inbox");
    let bobs = admin.add_message(
        &bob.id,
        &bob_inbox.id,
        NewMessage {
            subject: "Zanzibar trip".into(),
            body: "Quokka tickets booked.".into(),
            from: Some(addr("Frank", "frank@example.org")),
            received_date_time: Some("2026-01-05T07:00:00Z".into()),
            sent_date_time: Some("2026-01-05T06:59:00Z".into()),
            ..Default::default()
        },
    );
    let contact_folder = admin.contact_folders(&alice.id)[0].id.clone();
    let contact = admin
        .add_contact(
            &alice.id,
            &contact_folder,
            NewContact {
                given_name: "Ophelia".into(),
                surname: "Zanzibar".into(),
                email_addresses: vec![addr("Ophelia", "ophelia@example.net")],
                personal_notes: Some("met the harbourmaster".into()),
                ..Default::default()
            },
        )
        .unwrap();
    let first = backup_all(&w, 0).await;

    // Every field.
    let all = search(&w, text("zanzibar")).await;
    assert_eq!(all.total, 4, "three messages and a contact");
    assert_eq!(
        ids(&w, text("zanzibar")).await,
        sorted(vec![
            budget.clone(),
            notes.clone(),
            bobs.clone(),
            contact.clone()
        ])
    );
    assert_eq!(ids(&w, text("carol@partner.example")).await, one(&budget));
    assert_eq!(ids(&w, text("from:quill")).await, one(&budget));
    assert_eq!(ids(&w, text("zoltan@vendor.example")).await, one(&budget));
    assert_eq!(ids(&w, text("to:valeska")).await, one(&budget));
    let body = search(&w, text("pelican")).await;
    assert_eq!(body.total, 1);
    let hit = &body.hits[0];
    assert_eq!(hit.item_id, budget);
    assert_eq!(hit.subject, "Zanzibar budget review");
    assert_eq!(hit.from, "Carol Quill <carol@partner.example>");
    assert_eq!(hit.date, "2026-03-10T09:00:00Z");
    assert_eq!(hit.category, "mail");
    assert!(hit.has_attachments);
    assert!(hit.snippet.contains("«pelican»"), "{}", hit.snippet);
    assert!(
        !hit.snippet.contains("<b>"),
        "HTML is stripped: {}",
        hit.snippet
    );
    assert_eq!(
        hit.places[0].path,
        format!("/{}/Mail/Inbox/{budget}", alice.user_principal_name)
    );
    assert_eq!(hit.places[0].snapshot_id, first);
    assert_eq!(ids(&w, text("forecast-q4.xlsx")).await, one(&budget));
    assert_eq!(ids(&w, text("attachment:forecast-q*")).await, one(&budget));
    assert_eq!(ids(&w, text("marmal*")).await, one(&notes));
    assert_eq!(ids(&w, text("harbourmaster")).await, one(&contact));

    // Every filter.
    let q = |f: &dyn Fn(&mut SearchQuery)| {
        let mut q = text("zanzibar");
        f(&mut q);
        q
    };
    assert_eq!(
        ids(
            &w,
            q(&|q| q.mailbox = Some(bob.user_principal_name.to_uppercase()))
        )
        .await,
        one(&bobs)
    );
    assert_eq!(
        ids(
            &w,
            q(&|q| {
                q.mailbox = Some(alice.user_principal_name.clone());
                q.folder = Some("Inbox".into());
            })
        )
        .await,
        sorted(vec![budget.clone(), notes.clone()]),
        "a folder includes its subfolders"
    );
    assert_eq!(
        ids(&w, q(&|q| q.folder = Some("inbox/zephyr".into()))).await,
        one(&notes)
    );
    assert_eq!(
        ids(&w, q(&|q| q.category = Some("contacts".into()))).await,
        one(&contact)
    );
    assert_eq!(
        ids(&w, q(&|q| q.category = Some("mail".into())))
            .await
            .len(),
        3
    );
    assert_eq!(
        ids(&w, q(&|q| q.from_date = Some("2026-03-10".into())))
            .await
            .len(),
        3,
        "the budget mail, the notes and the contact (changed now)"
    );
    assert_eq!(
        ids(
            &w,
            q(&|q| {
                q.from_date = Some("2026-01-01".into());
                q.to_date = Some("2026-03-10".into());
            })
        )
        .await,
        sorted(vec![budget.clone(), bobs.clone()]),
        "the end date is inclusive"
    );
    assert_eq!(
        ids(&w, q(&|q| q.to_date = Some("2026-03-10T08:59:59Z".into()))).await,
        one(&bobs)
    );
    assert_eq!(
        ids(
            &w,
            q(&|q| {
                q.has_attachments = Some(true);
                q.category = Some("mail".into());
            })
        )
        .await,
        one(&budget)
    );
    assert_eq!(ids(&w, q(&|q| q.limit = 2)).await.len(), 2);
    assert_eq!(search(&w, q(&|q| q.limit = 2)).await.total, 4);

    // A change and a deletion, then a second snapshot.
    assert!(admin.update_message(
        &alice.id,
        &notes,
        MessagePatch {
            subject: Some("Weekly zanzibar notes revised".into()),
            ..Default::default()
        }
    ));
    assert!(admin.delete_message(&alice.id, &budget));
    let second = backup_all(&w, 10).await;

    let versions = search(&w, q(&|q| q.folder = Some("Inbox/Zephyr".into()))).await;
    assert_eq!(versions.total, 2, "both versions of the changed message");
    let mut subjects: Vec<(&str, Vec<&str>)> = versions
        .hits
        .iter()
        .map(|h| {
            assert_eq!(h.item_id, notes);
            (
                h.subject.as_str(),
                h.places.iter().map(|p| p.snapshot_id.as_str()).collect(),
            )
        })
        .collect();
    subjects.sort();
    assert_eq!(
        subjects,
        [
            ("Weekly zanzibar notes", vec![first.as_str()]),
            ("Weekly zanzibar notes revised", vec![second.as_str()]),
        ]
    );
    let deleted = search(&w, text("pelican")).await;
    assert_eq!(
        deleted.total, 1,
        "deleted from the mailbox, still in the first snapshot"
    );
    let places: Vec<&str> = deleted.hits[0]
        .places
        .iter()
        .map(|p| p.snapshot_id.as_str())
        .collect();
    assert_eq!(places, [first.as_str()]);
    let mut latest_only = text("pelican");
    latest_only.snapshot = Some("latest".into());
    assert_eq!(search(&w, latest_only).await.total, 0);
    let unchanged = search(&w, text("quokka")).await;
    assert_eq!(unchanged.total, 1, "an unchanged message is one hit");
    let places: Vec<&str> = unchanged.hits[0]
        .places
        .iter()
        .map(|p| p.snapshot_id.as_str())
        .collect();
    assert_eq!(places, [second.as_str(), first.as_str()], "newest first");

    // Bad input is invalid_input, never a panic.
    for bad in ["\"unbalanced", "zanzibar AND", "(zanzibar", "NOT", "   "] {
        let e = qcb_engine::api::search(w.repo.clone(), text(bad))
            .await
            .unwrap_err();
        assert_eq!(e.code(), "invalid_input", "{bad:?}: {e}");
    }
    let e = qcb_engine::api::search(
        w.repo.clone(),
        q(&|q| q.from_date = Some("yesterday".into())),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code(), "invalid_input");
    let e = qcb_engine::api::search(w.repo.clone(), q(&|q| q.category = Some("junk".into())))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "invalid_input");

    // A cache: rebuilding the catalog empties it, the next search rebuilds it.
    w.repo.rebuild_catalog().unwrap();
    assert_eq!(search(&w, text("zanzibar")).await.total, 5);
}
