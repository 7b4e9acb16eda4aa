//! The whole tenant under faults (issue 5, "Tests"): every category of several mailboxes backed
//! up while 10% of Graph requests fail (429 with Retry-After, 503, 504, connection resets,
//! truncated bodies), access tokens expire and are revoked mid-run, and delta tokens are
//! invalidated (a paging token in the middle of the full run, saved delta links between runs).
//! After the full run and after an incremental run over a changed tenant, the snapshot equals
//! the emulator's ground truth item for item, and no item is reported failed: every fault
//! injected here is one the engine must ride out by retrying, so a failed item is a bug.

use std::collections::BTreeMap;
use std::sync::Arc;

use qcb_engine::{
    BackupOptions, BackupReport, NoProgress, OnConflict, RepoHandle, RestoreOptions, RestoreTarget,
};
use qcb_graph_sim::{
    AuthConfig, ContactPatch, EmailAddress, EventPatch, Fault, FaultConfig, FaultRule,
    MessagePatch, NewContact, NewEvent, NewMessage, NewRecurrence, NewTask, SimOptions, SimServer,
    TaskPatch, TenantSpec,
};
use qcb_repo::{Node, NodeKind, Repository};
use serde_json::Value;

use super::support::{at, connection};

/// Every kind of transient fault, drawn uniformly by the emulator.
fn transient_faults(seed: u64) -> FaultConfig {
    FaultConfig {
        seed,
        rate: 0.10,
        kinds: vec![
            Fault::TooManyRequests { retry_after: 1 },
            Fault::ServiceUnavailable {
                retry_after: Some(1),
            },
            Fault::ServiceUnavailable { retry_after: None },
            Fault::GatewayTimeout { retry_after: None },
            Fault::ConnectionReset,
            Fault::TruncatedBody,
        ],
        path_contains: String::new(),
        rules: Vec::new(),
    }
}

fn rule(path: &str, query: Option<&str>, nth: u64, fault: Fault) -> FaultRule {
    FaultRule {
        method: Some("GET".into()),
        path_contains: path.into(),
        query_contains: query.map(str::to_string),
        nth,
        times: 1,
        fault,
    }
}

/// The `nth` sign-in (token request) gets `fault`.
fn token_rule(nth: u64, fault: Fault) -> FaultRule {
    FaultRule {
        method: Some("POST".into()),
        ..rule("/oauth2/v2.0/token", None, nth, fault)
    }
}

/// What one item is, as far as the comparison goes.
type Items = BTreeMap<String, String>;
/// Container id → its items; per mailbox and category.
type Truth = BTreeMap<(String, &'static str), BTreeMap<String, Items>>;

/// A hash of a MIME source, with its length.
fn mime_hash(bytes: &[u8]) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::hash::DefaultHasher::new();
    bytes.hash(&mut h);
    format!("{}:{:016x}", bytes.len(), h.finish())
}

fn names(v: &Value) -> Vec<String> {
    let mut n: Vec<String> = v
        .as_array()
        .map(|a| {
            a.iter()
                .map(|x| x["name"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default();
    n.sort();
    n
}

fn len(v: &Value) -> usize {
    v.as_array().map_or(0, Vec::len)
}

/// The emulator's tenant as it is now.
fn ground_truth(sim: &SimServer) -> Truth {
    let admin = sim.admin();
    let mut t = Truth::new();
    for u in admin.users() {
        let upn = u.user_principal_name.clone();
        let mail = t.entry((upn.clone(), "Mail")).or_default();
        for f in admin.folders(&u.id) {
            if f.path.is_empty() {
                continue;
            }
            let items = mail.entry(f.id.clone()).or_default();
            for m in admin.messages(&u.id, &f.id) {
                items.insert(m.id, format!("{} {}", m.change_key, mime_hash(&m.mime)));
            }
        }
        // Recoverable Items (Deletions) sits outside the folder tree the admin API lists.
        for m in admin.messages(&u.id, "recoverableitemsdeletions") {
            let d = format!("{} {}", m.change_key, mime_hash(&m.mime));
            mail.entry(m.folder_id.clone()).or_default().insert(m.id, d);
        }
        let contacts = t.entry((upn.clone(), "Contacts")).or_default();
        for f in admin.contact_folders(&u.id) {
            let items = contacts.entry(f.id.clone()).or_default();
            for c in admin.contacts(&u.id, &f.id) {
                items.insert(
                    c.id,
                    format!(
                        "{} {} {:?} photo={}",
                        c.change_key, c.display_name, c.email_addresses, c.has_photo
                    ),
                );
            }
        }
        let calendars = t.entry((upn.clone(), "Calendars")).or_default();
        for c in admin.calendars(&u.id) {
            let items = calendars.entry(c.id.clone()).or_default();
            for e in admin.events(&u.id, &c.id) {
                let mut att = e.attachment_names.clone();
                att.sort();
                items.insert(
                    e.id,
                    format!(
                        "{} {} {} exceptions={} cancelled={} attachments={att:?}",
                        e.change_key,
                        e.subject,
                        e.kind,
                        e.exception_dates.len(),
                        e.cancelled_dates.len()
                    ),
                );
            }
        }
        let tasks = t.entry((upn.clone(), "Tasks")).or_default();
        for l in admin.todo_lists(&u.id) {
            let items = tasks.entry(l.id.clone()).or_default();
            for task in admin.tasks(&u.id, &l.id) {
                items.insert(task.id, format!("{} {}", task.title, task.status));
            }
        }
        let mut rules: Vec<String> = admin
            .message_rules(&u.id)
            .into_iter()
            .map(|r| {
                format!(
                    "{} {} {} {}",
                    r.id, r.display_name, r.sequence, r.is_enabled
                )
            })
            .collect();
        rules.sort();
        t.entry((upn, "Settings")).or_default().insert(
            "settings".into(),
            Items::from([("inboxRules".into(), rules.join("; "))]),
        );
    }
    t
}

/// Dirs below `node` that stand for a container (`attr` names the container's id), each
/// with its items.
fn containers(repo: &Repository, node: &Node, attr: &str, out: &mut BTreeMap<String, Vec<Node>>) {
    let Some(sub) = node.subtree else { return };
    for n in repo.load_tree(&sub).unwrap().nodes {
        if n.kind != NodeKind::Dir {
            continue;
        }
        if let (Some(id), Some(s)) = (n.attrs[attr].as_str(), n.subtree) {
            let items = repo
                .load_tree(&s)
                .unwrap()
                .nodes
                .into_iter()
                .filter(|x| x.kind == NodeKind::Item)
                .collect();
            out.insert(id.to_string(), items);
        }
        containers(repo, &n, attr, out);
    }
}

fn json_of(repo: &Repository, n: &Node) -> Value {
    serde_json::from_slice(&repo.read_content(&n.content).unwrap()).unwrap()
}

/// The latest snapshot, described the way [`ground_truth`] describes the tenant.
fn snapshot_truth(repo: &Repository) -> Truth {
    snapshot_truth_of(repo, "latest")
}

fn snapshot_truth_of(repo: &Repository, spec: &str) -> Truth {
    let snap = if spec == "latest^" {
        let all = repo.list_snapshots().unwrap();
        all[all.len() - 2].clone()
    } else {
        repo.find_snapshot(spec).unwrap()
    };
    let mut t = Truth::new();
    for mbx in repo.load_tree(&snap.tree).unwrap().nodes {
        let upn = mbx.name.clone();
        for cat in repo.load_tree(&mbx.subtree.unwrap()).unwrap().nodes {
            let (name, attr): (&'static str, &str) = match cat.name.as_str() {
                "Mail" => ("Mail", "folderId"),
                "Contacts" => ("Contacts", "containerId"),
                "Calendars" => ("Calendars", "containerId"),
                "Tasks" => ("Tasks", "containerId"),
                "Settings" => ("Settings", "containerId"),
                other => panic!("unexpected category {other}"),
            };
            let mut found = BTreeMap::new();
            containers(repo, &cat, attr, &mut found);
            let entry = t.entry((upn.clone(), name)).or_default();
            for (cid, nodes) in found {
                let items = entry.entry(cid).or_default();
                for n in nodes {
                    let key = n.attrs["changeKey"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string();
                    let desc = match name {
                        "Mail" => {
                            format!(
                                "{key} {}",
                                mime_hash(&repo.read_content(&n.content).unwrap())
                            )
                        }
                        "Contacts" => {
                            let v = json_of(repo, &n);
                            assert_eq!(v["changeKey"], key.as_str());
                            let mails: Vec<&str> = v["emailAddresses"]
                                .as_array()
                                .unwrap()
                                .iter()
                                .map(|e| e["address"].as_str().unwrap())
                                .collect();
                            format!(
                                "{key} {} {mails:?} photo={}",
                                v["displayName"].as_str().unwrap(),
                                n.meta.is_some()
                            )
                        }
                        "Calendars" => {
                            let v = json_of(repo, &n);
                            assert_eq!(v["changeKey"], key.as_str());
                            format!(
                                "{key} {} {} exceptions={} cancelled={} attachments={:?}",
                                v["subject"].as_str().unwrap(),
                                v["type"].as_str().unwrap(),
                                len(&v["exceptionOccurrences"]),
                                len(&v["cancelledOccurrences"]),
                                names(&v["attachments"]),
                            )
                        }
                        "Tasks" => {
                            let v = json_of(repo, &n);
                            format!(
                                "{} {}",
                                v["title"].as_str().unwrap(),
                                v["status"].as_str().unwrap()
                            )
                        }
                        _ => {
                            let v = json_of(repo, &n);
                            if n.name != "inboxRules" {
                                assert!(v.is_object(), "{}", n.name);
                                continue;
                            }
                            let mut rules: Vec<String> = v
                                .as_array()
                                .unwrap()
                                .iter()
                                .map(|r| {
                                    format!(
                                        "{} {} {} {}",
                                        r["id"].as_str().unwrap(),
                                        r["displayName"].as_str().unwrap(),
                                        r["sequence"],
                                        r["isEnabled"]
                                    )
                                })
                                .collect();
                            rules.sort();
                            rules.join("; ")
                        }
                    };
                    items.insert(n.name.clone(), desc);
                }
            }
        }
    }
    t
}

/// One way the snapshot differs from the tenant: where (mailbox and category, container id,
/// item id) and what.
struct Difference {
    key: (String, &'static str),
    container: Option<String>,
    item: Option<String>,
    text: String,
}

/// Every difference between the tenant as `want` describes it and the snapshot (`got`).
fn differences(want: &Truth, got: &Truth) -> Vec<Difference> {
    let mut diffs = Vec::new();
    let mut diff = |key: &(String, &'static str), c: Option<&String>, i: Option<&String>, text| {
        diffs.push(Difference {
            key: key.clone(),
            container: c.cloned(),
            item: i.cloned(),
            text,
        })
    };
    for (k, containers) in want {
        let Some(have) = got.get(k) else {
            diff(
                k,
                None,
                None,
                format!("{k:?}: category missing from the snapshot"),
            );
            continue;
        };
        for (cid, items) in containers {
            let Some(h) = have.get(cid) else {
                diff(
                    k,
                    Some(cid),
                    None,
                    format!("{k:?} {cid}: container missing"),
                );
                continue;
            };
            for (id, d) in items {
                match h.get(id) {
                    None => diff(
                        k,
                        Some(cid),
                        Some(id),
                        format!("{k:?} {cid} {id}: missing ({d})"),
                    ),
                    Some(x) if x != d => diff(
                        k,
                        Some(cid),
                        Some(id),
                        format!("{k:?} {cid} {id}: stored {x}, tenant {d}"),
                    ),
                    _ => {}
                }
            }
            for id in h.keys().filter(|id| !items.contains_key(*id)) {
                diff(
                    k,
                    Some(cid),
                    Some(id),
                    format!("{k:?} {cid} {id}: in the snapshot, not the tenant"),
                );
            }
        }
        // (An empty folder the admin API does not list, such as an empty Deletions folder, may
        // be in the snapshot.)
        for (cid, _) in have
            .iter()
            .filter(|(c, items)| !containers.contains_key(*c) && !items.is_empty())
        {
            diff(
                k,
                Some(cid),
                None,
                format!("{k:?} {cid}: container not in the tenant"),
            );
        }
    }
    for k in got.keys().filter(|k| !want.contains_key(*k)) {
        diff(k, None, None, format!("{k:?}: not in the tenant"));
    }
    diffs
}

/// Compares item for item and names the differences. `stale` lists (mailbox, container id)
/// reported as not backed up this run: they must hold exactly what the previous snapshot held.
fn assert_matches(sim: &SimServer, repo: &Repository, when: &str, stale: &[(String, String)]) {
    let mut want = ground_truth(sim);
    if !stale.is_empty() {
        let before = snapshot_truth_of(repo, "latest^");
        for (upn, cid) in stale {
            let (k, old) = before
                .iter()
                .find_map(|(k, c)| {
                    (k.0 == *upn)
                        .then_some(c.get(cid).map(|o| (k.clone(), o)))
                        .flatten()
                })
                .expect("the stale container is in the previous snapshot");
            want.get_mut(&k).unwrap().insert(cid.clone(), old.clone());
        }
    }
    let diffs: Vec<String> = differences(&want, &snapshot_truth(repo))
        .into_iter()
        .map(|d| d.text)
        .collect();
    assert!(
        diffs.is_empty(),
        "{when}: {} differences:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
    let items: usize = want
        .values()
        .flat_map(|c| c.values())
        .map(|i| i.len())
        .sum();
    assert!(
        items > 250,
        "{when}: a tenant worth the name ({items} items)"
    );
}

async fn run(
    graph: &Arc<qcb_engine::GraphClient>,
    repo: &RepoHandle,
    minutes: i64,
) -> BackupReport {
    qcb_engine::backup(
        graph.clone(),
        repo.repository().clone(),
        BackupOptions {
            // Small pages: delta queries page, so paging tokens can be invalidated midway.
            page_size: 3,
            ..BackupOptions::new(at(minutes), "faults")
        },
        Arc::new(NoProgress),
    )
    .await
    .unwrap()
}

/// Faults the log says the emulator injected, by kind.
fn injected(sim: &SimServer) -> BTreeMap<String, usize> {
    let mut by_kind = BTreeMap::new();
    for r in sim.admin().request_log() {
        if let Some(f) = r.fault {
            *by_kind.entry(f).or_insert(0) += 1;
        }
    }
    by_kind
}

/// A tiny GIF (the emulator reads its size), different for each `n`.
fn gif(n: u64) -> Vec<u8> {
    let mut b = b"GIF89a\x01\x00\x01\x00\x00\x00\x00".to_vec();
    b.extend_from_slice(&n.to_le_bytes());
    b
}

/// Adds, changes, deletes and moves items in every category of every mailbox. (The emulator
/// moves only mail between folders; contacts, events and tasks get a new container instead
/// where it has one.)
fn change_tenant(sim: &SimServer, round: u64) {
    let admin = sim.admin();
    for (n, u) in admin.users().into_iter().enumerate() {
        let n = n as u64 + round * 100;
        let uid = &u.id;
        // Mail: one new in the Inbox, one read and renamed, one deleted, one moved to Archive,
        // and a new folder with a message in it.
        let folders = admin.folders(uid);
        let by_path = |p: &str| folders.iter().find(|f| f.path == p).unwrap().id.clone();
        let (inbox, archive) = (by_path("Inbox"), by_path("Archive"));
        admin.add_message(uid, &inbox, NewMessage::generated(5000 + n));
        let msgs = admin.messages(uid, &inbox);
        assert!(admin.update_message(
            uid,
            &msgs[0].id,
            MessagePatch {
                is_read: Some(!msgs[0].is_read),
                subject: Some(format!("changed {n}")),
                ..Default::default()
            }
        ));
        assert!(admin.delete_message(uid, &msgs[1].id));
        assert!(admin.move_message(uid, &msgs[2].id, &archive));
        let fresh = admin
            .create_folder(uid, &inbox, &format!("Neu {round}"))
            .unwrap();
        admin.add_message(uid, &fresh, NewMessage::generated(6000 + n));

        // Contacts: new, renamed, deleted, a photo added, and a new folder with one contact.
        let cfs = admin.contact_folders(uid);
        let default = cfs.iter().find(|f| f.is_default).unwrap().id.clone();
        let contacts = admin.contacts(uid, &default);
        admin
            .add_contact(
                uid,
                &default,
                NewContact {
                    given_name: "Zoë".into(),
                    surname: format!("Neu{n}"),
                    display_name: format!("Zoë Neu{n}"),
                    email_addresses: vec![EmailAddress {
                        name: "Zoë".into(),
                        address: format!("zoe{n}@example.org"),
                    }],
                    photo: Some(gif(n)),
                    ..Default::default()
                },
            )
            .unwrap();
        assert!(admin.update_contact(
            uid,
            &contacts[0].id,
            ContactPatch {
                display_name: Some(format!("Renamed {n}")),
                job_title: Some("Fault tolerant".into()),
                ..Default::default()
            }
        ));
        assert!(admin.delete_contact(uid, &contacts[1].id));
        admin
            .set_contact_photo(uid, &contacts[2].id, Some(gif(n + 1)))
            .unwrap();
        let cf = admin
            .create_contact_folder(uid, Some(&default), &format!("Fresh {round}"))
            .unwrap();
        admin
            .add_contact(
                uid,
                &cf,
                NewContact {
                    display_name: format!("In folder {n}"),
                    ..Default::default()
                },
            )
            .unwrap();

        // Calendars: a new single event and a new series with a cancelled occurrence, an
        // event renamed, an exception made, one deleted.
        let cal = admin
            .calendars(uid)
            .into_iter()
            .find(|c| c.is_default)
            .unwrap();
        let events = admin.events(uid, &cal.id);
        admin
            .add_event(
                uid,
                &cal.id,
                NewEvent {
                    subject: format!("Single {n}"),
                    start: "2026-12-01T09:00:00Z".into(),
                    end: "2026-12-01T10:00:00Z".into(),
                    ..Default::default()
                },
            )
            .unwrap();
        let series = admin
            .add_event(
                uid,
                &cal.id,
                NewEvent {
                    subject: format!("Series {n}"),
                    start: "2026-12-07T15:00:00Z".into(),
                    end: "2026-12-07T15:30:00Z".into(),
                    recurrence: Some(NewRecurrence {
                        pattern: "weekly".into(),
                        interval: 1,
                        count: 4,
                    }),
                    ..Default::default()
                },
            )
            .unwrap();
        admin.cancel_occurrence(uid, &series, "2026-12-14").unwrap();
        let single = events.iter().find(|e| e.kind == "singleInstance").unwrap();
        admin
            .update_event(
                uid,
                &single.id,
                EventPatch {
                    subject: Some(format!("Moved {n}")),
                    location: Some("Raum 4".into()),
                    ..Default::default()
                },
            )
            .unwrap();
        let master = events.iter().find(|e| e.kind == "seriesMaster").unwrap();
        admin
            .update_event(
                uid,
                &master.id,
                EventPatch {
                    subject: Some(format!("Series renamed {n}")),
                    ..Default::default()
                },
            )
            .unwrap();
        let gone = events
            .iter()
            .rfind(|e| e.kind == "singleInstance" && e.id != single.id)
            .unwrap();
        assert!(admin.delete_event(uid, &gone.id));

        // Tasks: new, completed, deleted.
        let list = admin
            .todo_lists(uid)
            .into_iter()
            .find(|l| l.wellknown_list_name == "defaultList")
            .unwrap();
        let tasks = admin.tasks(uid, &list.id);
        admin
            .add_task(
                uid,
                &list.id,
                NewTask {
                    title: format!("Task {n}"),
                    body: "under faults".into(),
                    ..Default::default()
                },
            )
            .unwrap();
        admin
            .update_task(
                uid,
                &tasks[0].id,
                TaskPatch {
                    status: Some("completed".into()),
                    title: Some(format!("Done {n}")),
                    ..Default::default()
                },
            )
            .unwrap();
        assert!(admin.delete_task(uid, &tasks[1].id));
    }
}

/// A rule for one container's delta query (its id in the path).
/// The seed of the random fault draws: 1, or `QCB_FAULT_SEED` to try other draws.
fn fault_seed() -> u64 {
    std::env::var("QCB_FAULT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1)
}

/// An empty repository and its cache, in folders that live as long as the second value.
fn fresh_repo() -> (RepoHandle, [tempfile::TempDir; 2]) {
    let (repo_dir, cache) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let repo = RepoHandle::create(
        &repo_dir.path().join("repo"),
        "pw",
        qcb_engine::KdfParams::insecure_for_tests(),
        cache.path(),
    )
    .unwrap();
    (repo, [repo_dir, cache])
}

fn delta_rule(container: &str, what: &str, token: &str, nth: u64, fault: Fault) -> FaultRule {
    rule(
        &format!("{container}/{what}/delta"),
        Some(token),
        nth,
        fault,
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn every_category_survives_faults_and_equals_the_tenant_item_for_item() {
    let sim = SimServer::start_with(
        TenantSpec {
            seed: 11,
            users: 4,
            messages_per_user: 40,
            shared_mailboxes: None,
        },
        SimOptions {
            auth: AuthConfig {
                // Expires every couple of seconds: many times during each run.
                token_lifetime_secs: 3,
                ..Default::default()
            },
            ..Default::default()
        },
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let admin = sim.admin();
    // Seeded, so every run meets the same faults; QCB_FAULT_SEED tries other draws. (Random
    // faults are drawn per request, whatever the order requests arrive in; scripted ones name
    // one container each, so they too hit the same requests every time.)
    let seed = fault_seed();
    let (repo, _dirs) = fresh_repo();
    let graph = Arc::new(connection(&sim).client().unwrap());

    // Per mailbox: its Inbox, Archive, a contact folder and a task list.
    let users = admin.users();
    assert_eq!(users.len(), 4);
    let spots: Vec<(String, String, String, String)> = users
        .iter()
        .map(|u| {
            let folders = admin.folders(&u.id);
            let path = |p: &str| folders.iter().find(|f| f.path == p).unwrap().id.clone();
            // The fullest contact folder and task list: their deltas page.
            let contacts = admin
                .contact_folders(&u.id)
                .into_iter()
                .max_by_key(|f| f.contact_count)
                .unwrap()
                .id;
            let tasks = admin
                .todo_lists(&u.id)
                .into_iter()
                .max_by_key(|l| l.task_count)
                .unwrap()
                .id;
            (path("Inbox"), path("Archive"), contacts, tasks)
        })
        .collect();

    // A few more tasks, so that task lists page too.
    for (u, spot) in users.iter().zip(&spots) {
        for i in 0..4 {
            admin
                .add_task(
                    &u.id,
                    &spot.3,
                    NewTask {
                        title: format!("Extra {i}"),
                        ..Default::default()
                    },
                )
                .unwrap();
        }
    }

    // Full run: random faults, each kind also scripted once, the identity platform failing
    // while tokens are renewed, every token revoked twice, and paging tokens of the first
    // round invalidated in mail, contacts and tasks.
    let mut faults = transient_faults(seed);
    faults.rules = vec![
        rule("/contactFolders", None, 2, Fault::ConnectionReset),
        rule("/events", None, 3, Fault::TruncatedBody),
        rule(
            "/todo/lists",
            None,
            2,
            Fault::GatewayTimeout { retry_after: None },
        ),
        rule(
            "/$value",
            None,
            5,
            Fault::TooManyRequests { retry_after: 1 },
        ),
        rule(
            "/mailboxSettings",
            None,
            2,
            Fault::ServiceUnavailable {
                retry_after: Some(1),
            },
        ),
        rule("/messageRules", None, 1, Fault::TruncatedBody),
        token_rule(
            2,
            Fault::ServiceUnavailable {
                retry_after: Some(1),
            },
        ),
        token_rule(4, Fault::ConnectionReset),
        token_rule(6, Fault::TooManyRequests { retry_after: 1 }),
        token_rule(8, Fault::TruncatedBody),
        rule("", None, 60, Fault::RevokeTokens),
        rule("", None, 250, Fault::RevokeTokens),
        delta_rule(
            &spots[0].0,
            "messages",
            "$skiptoken",
            2,
            Fault::SyncStateNotFound,
        ),
        delta_rule(
            &spots[1].0,
            "messages",
            "$skiptoken",
            3,
            Fault::SyncStateGone,
        ),
        delta_rule(
            &spots[2].2,
            "contacts",
            "$skiptoken",
            1,
            Fault::SyncStateGone,
        ),
        delta_rule(
            &spots[3].3,
            "tasks",
            "$skiptoken",
            1,
            Fault::SyncStateNotFound,
        ),
    ];
    admin.set_faults(faults);
    let first = run(&graph, &repo, 0).await;
    let kinds = injected(&sim);
    let sign_ins = admin
        .request_log()
        .iter()
        .filter(|r| r.path.ends_with("/oauth2/v2.0/token"))
        .count();
    admin.clear_faults();
    assert!(first.failed.is_empty(), "full run: {:#?}", first.failed);
    assert!(
        sign_ins >= 4,
        "tokens expired or were revoked mid-run: {sign_ins} sign-ins"
    );
    assert_matches(&sim, repo.repository(), "after the full run", &[]);
    for (k, at_least) in [
        ("too_many_requests", 2),
        ("service_unavailable", 2),
        ("gateway_timeout", 1),
        ("connection_reset", 2),
        ("truncated_body", 3),
        ("revoke_tokens", 2),
        ("sync_state_not_found", 2),
        ("sync_state_gone", 2),
    ] {
        assert!(
            kinds.get(k).is_some_and(|n| *n >= at_least),
            "{k} injected fewer than {at_least} times: {kinds:?}"
        );
    }

    // The tenant changes; the saved delta links of some folders, contact folders and task
    // lists are no longer valid; the incremental run meets faults too. Alice's Inbox is
    // invalidated twice in the run: its delta link, then a paging token of the enumeration
    // that starts over. The engine starts a folder over once per run, so that folder is
    // reported (not backed up this run, previous version kept) and the next run catches up.
    change_tenant(&sim, 1);
    admin.clear_request_log();
    let mut faults = transient_faults(seed + 1);
    faults.rules = vec![
        delta_rule(
            &spots[0].0,
            "messages",
            "$deltatoken",
            1,
            Fault::SyncStateGone,
        ),
        delta_rule(
            &spots[0].0,
            "messages",
            "$skiptoken",
            1,
            Fault::SyncStateNotFound,
        ),
        delta_rule(
            &spots[1].1,
            "messages",
            "$deltatoken",
            1,
            Fault::SyncStateNotFound,
        ),
        delta_rule(
            &spots[2].0,
            "messages",
            "$deltatoken",
            1,
            Fault::SyncStateGone,
        ),
        delta_rule(
            &spots[0].2,
            "contacts",
            "$deltatoken",
            1,
            Fault::SyncStateNotFound,
        ),
        delta_rule(
            &spots[3].2,
            "contacts",
            "$deltatoken",
            1,
            Fault::SyncStateGone,
        ),
        delta_rule(&spots[1].3, "tasks", "$deltatoken", 1, Fault::SyncStateGone),
        rule("", None, 50, Fault::RevokeTokens),
    ];
    admin.set_faults(faults.clone());
    let second = run(&graph, &repo, 10).await;
    let kinds = injected(&sim);
    admin.clear_faults();
    let alice = &users[0].user_principal_name;
    let failed: Vec<(&str, &str)> = second
        .failed
        .iter()
        .map(|f| (f.mailbox.as_str(), f.folder.as_str()))
        .collect();
    assert_eq!(
        failed,
        [(alice.as_str(), "Inbox")],
        "incremental run: {:#?}",
        second.failed
    );
    assert!(second.failed[0].reason.contains("previous version kept"));
    assert!(
        kinds.get("sync_state_gone").is_some_and(|n| *n >= 4),
        "{kinds:?}"
    );
    assert!(
        kinds.get("sync_state_not_found").is_some_and(|n| *n >= 3),
        "{kinds:?}"
    );
    assert_matches(
        &sim,
        repo.repository(),
        "after the incremental run",
        &[(alice.clone(), spots[0].0.clone())],
    );
    assert!(
        second.items_fetched < first.items_fetched / 2,
        "incremental: {} fetched of {} at first",
        second.items_fetched,
        first.items_fetched
    );

    // The next run, under random faults again, picks up what the Inbox missed.
    admin.clear_request_log();
    admin.set_faults(transient_faults(seed + 2));
    let third = run(&graph, &repo, 20).await;
    admin.clear_faults();
    assert!(third.failed.is_empty(), "third run: {:#?}", third.failed);
    assert_matches(&sim, repo.repository(), "after the run that follows", &[]);
    sim.shutdown().await;
}

/// Every transient fault kind, slow answers included, on `rate` of all requests.
fn faults_at(seed: u64, rate: f64) -> FaultConfig {
    let mut f = transient_faults(seed);
    f.rate = rate;
    f.kinds.push(Fault::Slow { millis: 300 });
    f
}

/// Whether the report names `d`: its item, its container (by display name), its category, or
/// the whole mailbox.
fn reported(
    failed: &[qcb_engine::FailedItem],
    names: &BTreeMap<String, String>,
    d: &Difference,
) -> bool {
    let name = d.container.as_ref().and_then(|c| names.get(c));
    failed.iter().filter(|f| f.mailbox == d.key.0).any(|f| {
        f.folder.is_empty()
            || f.folder.eq_ignore_ascii_case(d.key.1)
            || name.is_some_and(|n| f.folder == *n || f.folder.ends_with(&format!("/{n}")))
            || d.item.as_ref().is_some_and(|i| f.item_id == *i)
    })
}

/// Container id → display name, over every mailbox and category.
fn container_names(sim: &SimServer) -> BTreeMap<String, String> {
    let admin = sim.admin();
    let mut names = BTreeMap::new();
    for u in admin.users() {
        for f in admin.folders(&u.id) {
            names.insert(f.id, f.display_name);
        }
        for f in admin.contact_folders(&u.id) {
            names.insert(f.id, f.display_name);
        }
        for c in admin.calendars(&u.id) {
            names.insert(c.id, c.name);
        }
        for l in admin.todo_lists(&u.id) {
            names.insert(l.id, l.display_name);
        }
    }
    names
}

/// Subjects of the messages below `path` of the latest snapshot, by folder path relative to
/// `path`, with the item ids.
fn snapshot_mail(
    repo: &RepoHandle,
    path: &str,
    rel: &str,
    out: &mut BTreeMap<String, Vec<(String, String)>>,
) {
    let b = repo.browse("latest", path).unwrap();
    out.entry(rel.to_string())
        .or_default()
        .extend(b.items.into_iter().map(|i| (i.subject, i.id)));
    for f in b.folders {
        let sub = if rel.is_empty() {
            f.name.clone()
        } else {
            format!("{rel}/{}", f.name)
        };
        snapshot_mail(repo, &f.path, &sub, out);
    }
}

/// Subjects of the messages in the emulator below the top-level folder `top`, by path below it.
fn restored_mail(sim: &SimServer, user_id: &str, top: &str) -> BTreeMap<String, Vec<String>> {
    let admin = sim.admin();
    let mut out = BTreeMap::new();
    for f in admin.folders(user_id) {
        let Some(rel) = f.path.strip_prefix(&format!("{top}/")) else {
            continue;
        };
        let mut subjects: Vec<String> = admin
            .messages(user_id, &f.id)
            .into_iter()
            .map(|m| m.subject)
            .collect();
        subjects.sort();
        out.insert(rel.to_string(), subjects);
    }
    out
}

/// One round of the fault-rate suite: a full backup and a restore of a mailbox's mail while
/// `rate` of all requests fail. Each either completes whole or names, in its report, every
/// container or item it did not get right; a run without faults afterwards makes both whole.
async fn backup_and_restore_at(rate: f64) {
    let sim = SimServer::start_with(
        TenantSpec {
            seed: 21,
            users: 2,
            messages_per_user: 100,
            shared_mailboxes: Some(0),
        },
        SimOptions::default(),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let admin = sim.admin();
    let seed = fault_seed();
    let (repo, _dirs) = fresh_repo();
    let graph = Arc::new(connection(&sim).client().unwrap());
    let names = container_names(&sim);

    admin.set_faults(faults_at(seed, rate));
    let first = qcb_engine::backup(
        graph.clone(),
        repo.repository().clone(),
        BackupOptions {
            page_size: 5,
            ..BackupOptions::new(at(0), "rates")
        },
        Arc::new(NoProgress),
    )
    .await;
    let kinds = injected(&sim);
    admin.clear_faults();
    let injected_total: usize = kinds.values().sum();
    let requests = admin.request_log().len();
    assert!(
        injected_total as f64 >= requests as f64 * rate * 0.5,
        "{rate}: {injected_total} faults in {requests} requests: {kinds:?}"
    );
    match &first {
        Ok(report) => {
            let unreported: Vec<String> =
                differences(&ground_truth(&sim), &snapshot_truth(repo.repository()))
                    .into_iter()
                    .filter(|d| !reported(&report.failed, &names, d))
                    .map(|d| d.text)
                    .collect();
            assert!(
                unreported.is_empty(),
                "{rate}: the snapshot differs from the tenant where the report is silent:\n{}\nreport: {:#?}",
                unreported.join("\n"),
                report.failed
            );
            eprintln!(
                "{rate}: backup complete but for {} reported item(s) or folder(s); {requests} requests, {kinds:?}",
                report.failed.len()
            );
        }
        Err(e) => {
            // Ending the job is a precise report too, provided nothing half-done was committed.
            assert!(
                repo.repository().list_snapshots().unwrap().is_empty(),
                "{rate}: {e}"
            );
            assert!(!e.to_string().is_empty());
            eprintln!("{rate}: backup ended with `{e}`; {requests} requests, {kinds:?}");
        }
    }
    admin.clear_request_log();
    let again = run(&graph, &repo, 10).await;
    assert!(
        again.failed.is_empty(),
        "{rate}: fault-free run: {:#?}",
        again.failed
    );
    assert_matches(
        &sim,
        repo.repository(),
        &format!("{rate}: after the fault-free run"),
        &[],
    );

    // Alice's mail, restored into a folder of its own while the faults are back.
    let alice = admin.users().into_iter().next().unwrap();
    let top = format!("Under faults {}", (rate * 100.0) as u32);
    let mail = format!("/{}/Mail", alice.user_principal_name);
    let mut backed_up = BTreeMap::new();
    snapshot_mail(&repo, &mail, "Mail", &mut backed_up);
    let opts = RestoreOptions {
        snapshot: "latest".into(),
        at_or_before: None,
        path: mail.clone(),
        target_mailbox: None,
        target: RestoreTarget::Folder(top.clone()),
        recursive: true,
        on_conflict: OnConflict::Skip,
        dry_run: false,
        requests_per_mailbox: 4,
    };
    admin.set_faults(faults_at(seed + 1, rate));
    let restored = qcb_engine::restore(
        graph.clone(),
        repo.repository().clone(),
        opts.clone(),
        Arc::new(NoProgress),
    )
    .await;
    admin.clear_faults();
    let now = restored_mail(&sim, &alice.id, &top);
    let failed = match &restored {
        Ok(r) => {
            eprintln!(
                "{rate}: restore under faults: {} restored, {} reported",
                r.items_restored,
                r.failed.len()
            );
            r.failed.clone()
        }
        Err(e) => {
            eprintln!("{rate}: restore ended with `{e}`");
            Vec::new()
        }
    };
    // Per folder and subject (subjects repeat): copies missing there <= items of that subject
    // the report names (by id, or the whole folder); never more copies than backed up.
    let mut silent = Vec::new();
    for (folder, items) in &backed_up {
        let rel = folder.strip_prefix("Mail/").unwrap_or(folder);
        let have = now.get(rel).cloned().unwrap_or_default();
        let whole_folder = failed.iter().any(|f| {
            f.item_id.is_empty()
                && (f.folder.is_empty() || f.folder.strip_prefix(&format!("{top}/")) == Some(rel))
        });
        let subjects: std::collections::BTreeSet<&String> = items.iter().map(|(s, _)| s).collect();
        for subject in subjects {
            let ids: Vec<&String> = items
                .iter()
                .filter(|(s, _)| s == subject)
                .map(|(_, id)| id)
                .collect();
            let got = have.iter().filter(|s| *s == subject).count();
            assert!(
                got <= ids.len(),
                "{rate}: {folder}: '{subject}' restored {got} times, backed up {}",
                ids.len()
            );
            let named = ids
                .iter()
                .filter(|id| failed.iter().any(|f| f.item_id == ***id))
                .count();
            if got + named < ids.len() && !whole_folder && restored.is_ok() {
                silent.push(format!(
                    "{folder}: {subject} ({got} there, {} backed up, {named} reported)",
                    ids.len()
                ));
            }
        }
    }
    assert!(
        silent.is_empty(),
        "{rate}: restore missed without saying so:\n{}\nreport: {failed:#?}",
        silent.join("\n")
    );

    // Run again without faults: every message there exactly once.
    let r = qcb_engine::restore(
        graph.clone(),
        repo.repository().clone(),
        opts,
        Arc::new(NoProgress),
    )
    .await
    .unwrap();
    assert!(r.failed.is_empty(), "{rate}: {:#?}", r.failed);
    let now = restored_mail(&sim, &alice.id, &top);
    for (folder, items) in &backed_up {
        let mut want: Vec<String> = items.iter().map(|(s, _)| s.clone()).collect();
        want.sort();
        let have = now
            .get(folder.strip_prefix("Mail/").unwrap_or(folder))
            .cloned()
            .unwrap_or_default();
        assert_eq!(have, want, "{rate}: {folder} after the fault-free restore");
    }
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn at_5_percent_faults_backup_and_restore_are_whole_or_say_what_they_missed() {
    backup_and_restore_at(0.05).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn at_20_percent_faults_backup_and_restore_are_whole_or_say_what_they_missed() {
    backup_and_restore_at(0.20).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn at_50_percent_faults_backup_and_restore_are_whole_or_say_what_they_missed() {
    backup_and_restore_at(0.50).await;
}
