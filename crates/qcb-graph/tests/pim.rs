//! Contacts, calendars, To Do tasks, mailbox settings and inbox rules against the emulator.

use qcb_graph::{ClientSecret, GraphClient, GraphConfig};
use qcb_graph_sim::{SimServer, TenantSpec};

async fn client() -> (SimServer, GraphClient) {
    let sim = SimServer::start(
        TenantSpec {
            seed: 5,
            users: 1,
            messages_per_user: 20,
            shared_mailboxes: None,
        },
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let c = sim.credentials();
    let cfg = GraphConfig {
        graph_url: sim.graph_url(),
        authority: sim.base_url(),
        tenant_id: c.tenant_id,
        client_id: c.client_id,
        client_secret: ClientSecret::new(c.client_secret),
        retry: Default::default(),
    };
    (sim, GraphClient::new(cfg).unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn contacts_with_delta_and_photos_match_the_emulator() {
    let (sim, g) = client().await;
    let admin = sim.admin();
    let user = admin.users().remove(0);
    let folders = g.contact_folders(&user.id).await.unwrap();
    assert_eq!(folders.len(), admin.contact_folders(&user.id).len());
    let mut contacts = 0;
    let mut photos = 0;
    for f in &folders {
        let fid = f["id"].as_str().unwrap();
        let mut link = None;
        let mut seen = Vec::new();
        let delta = loop {
            let page = g
                .contacts_delta(&user.id, fid, link.as_deref(), 3)
                .await
                .unwrap();
            seen.extend(page.items);
            match (page.next_link, page.delta_link) {
                (Some(n), _) => link = Some(n),
                (None, Some(d)) => break d,
                (None, None) => unreachable!(),
            }
        };
        assert_eq!(seen.len(), admin.contacts(&user.id, fid).len());
        for c in &seen {
            let id = c["id"].as_str().unwrap();
            if g.contact_photo(&user.id, id).await.unwrap().is_some() {
                photos += 1;
            }
        }
        contacts += seen.len();
        // Nothing changed: the next round is empty.
        let again = g
            .contacts_delta(&user.id, fid, Some(&delta), 50)
            .await
            .unwrap();
        assert!(again.items.is_empty() && again.removed.is_empty());
    }
    assert!(
        contacts > 0 && photos > 0,
        "{contacts} contacts, {photos} photos"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn calendars_events_series_tasks_settings_and_rules() {
    let (sim, g) = client().await;
    let admin = sim.admin();
    let user = admin.users().remove(0);
    let calendars = g.calendars(&user.id).await.unwrap();
    assert_eq!(calendars.len(), admin.calendars(&user.id).len());
    let mut masters = 0;
    let mut with_exceptions = 0;
    let mut with_cancellations = 0;
    let mut attachments = 0;
    for cal in &calendars {
        let cid = cal["id"].as_str().unwrap();
        for e in g.calendar_events(&user.id, cid).await.unwrap() {
            let id = e["id"].as_str().unwrap();
            if e["type"] == "seriesMaster" {
                masters += 1;
                assert!(e["recurrence"].is_object());
                if e["exceptionOccurrences"]
                    .as_array()
                    .is_some_and(|a| !a.is_empty())
                {
                    with_exceptions += 1;
                }
                let cancelled = g.cancelled_occurrences(&user.id, id).await.unwrap();
                if cancelled.as_array().is_some_and(|a| !a.is_empty()) {
                    with_cancellations += 1;
                }
            }
            if e["hasAttachments"] == true {
                let a = g.event_attachments(&user.id, id).await.unwrap();
                assert!(!a.is_empty());
                attachments += a.len();
            }
        }
    }
    assert!(masters > 0 && with_exceptions > 0 && with_cancellations > 0 && attachments > 0);

    let lists = g.todo_lists(&user.id).await.unwrap();
    assert_eq!(lists.len(), admin.todo_lists(&user.id).len());
    let lid = lists[0]["id"].as_str().unwrap();
    let page = g.tasks_delta(&user.id, lid, None, 100).await.unwrap();
    assert_eq!(page.items.len(), admin.tasks(&user.id, lid).len());
    assert!(page.delta_link.is_some() || page.next_link.is_some());

    let settings = g.mailbox_settings(&user.id).await.unwrap();
    assert!(settings["timeZone"].is_string(), "{settings}");
    let rules = g.inbox_rules(&user.id).await.unwrap();
    assert_eq!(rules.len(), admin.message_rules(&user.id).len());
    assert!(!rules.is_empty());
}
