//! Backup of the mailbox items besides mail: contacts, calendars, To Do tasks, and the
//! mailbox's settings and inbox rules.
//!
//! In a snapshot, each mailbox holds one dir per category (`Mail`, `Contacts`, `Calendars`,
//! `Tasks`, `Settings`, with `attrs.category`); inside, one dir per container (contact folder,
//! calendar, task list) with `attrs.containerId` and, where Graph has delta queries, the
//! container's `attrs.deltaLink`; inside those, one item per contact, event or task, named by
//! its immutable id, whose content is the item's full Graph JSON (events with their exception
//! occurrences, cancelled occurrences and attachments embedded; a contact's photo, when it has
//! one, in the item's `meta` blob).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use qcb_graph::{GraphError, User};
use qcb_repo::{Node, NodeKind, Repository, Tree};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::backup::{Shared, aborts_job, is_expired_sync_state};
use crate::error::{EngineError, Result};
use crate::types::FailedItem;

pub const MAIL: &str = "Mail";
pub const CONTACTS: &str = "Contacts";
pub const CALENDARS: &str = "Calendars";
pub const TASKS: &str = "Tasks";
pub const SETTINGS: &str = "Settings";

/// Which kinds of mailbox item a backup includes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Categories {
    pub mail: bool,
    pub contacts: bool,
    pub calendars: bool,
    pub tasks: bool,
    /// Mailbox settings and inbox rules.
    pub settings: bool,
}

impl Default for Categories {
    fn default() -> Self {
        Categories {
            mail: true,
            contacts: true,
            calendars: true,
            tasks: true,
            settings: true,
        }
    }
}

impl Categories {
    /// Parses `mail,contacts,calendars,tasks,settings` (any subset, or `all`).
    /// `all`, or the chosen categories comma separated (what [`Categories::parse`] reads).
    pub fn to_text(&self) -> String {
        if *self == Categories::default() {
            return "all".into();
        }
        [
            (self.mail, "mail"),
            (self.contacts, "contacts"),
            (self.calendars, "calendars"),
            (self.tasks, "tasks"),
            (self.settings, "settings"),
        ]
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, n)| *n)
        .collect::<Vec<_>>()
        .join(",")
    }

    pub fn parse(text: &str) -> std::result::Result<Categories, String> {
        let mut c = Categories {
            mail: false,
            contacts: false,
            calendars: false,
            tasks: false,
            settings: false,
        };
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match part.to_ascii_lowercase().as_str() {
                "all" => c = Categories::default(),
                "mail" => c.mail = true,
                "contacts" => c.contacts = true,
                "calendars" | "calendar" => c.calendars = true,
                "tasks" => c.tasks = true,
                "settings" | "rules" => c.settings = true,
                other => {
                    return Err(format!(
                        "unknown category {other:?}: use mail, contacts, calendars, tasks, settings or all"
                    ));
                }
            }
        }
        if c == (Categories {
            mail: false,
            contacts: false,
            calendars: false,
            tasks: false,
            settings: false,
        }) {
            return Err("choose at least one category".into());
        }
        Ok(c)
    }
}

/// What the last snapshot held for one category.
#[derive(Default)]
pub(crate) struct PrevCategory {
    pub node: Option<Node>,
    /// Container id → (delta link, items by id).
    pub containers: HashMap<String, (Option<String>, HashMap<String, Node>)>,
}

/// Reads a category dir of an earlier snapshot.
pub(crate) fn load_category(repo: &Repository, node: &Node) -> Result<PrevCategory> {
    let mut prev = PrevCategory {
        node: Some(node.clone()),
        ..Default::default()
    };
    // A container whose tree cannot be read (its blob was only in a lost index file, say) is
    // enumerated afresh; the rest of the category still serves as the base.
    let load = |id: &qcb_repo::BlobId| -> Result<Option<Tree>> {
        match repo.load_tree(id) {
            Ok(t) => Ok(Some(t)),
            Err(e @ (qcb_repo::Error::MissingBlob(_) | qcb_repo::Error::Corrupt { .. })) => {
                tracing::warn!(error = %e, "container in the previous snapshot unreadable; enumerating it again");
                Ok(None)
            }
            Err(e) => Err(e.into()),
        }
    };
    let mut stack: Vec<qcb_repo::BlobId> = node.subtree.into_iter().collect();
    while let Some(id) = stack.pop() {
        let Some(tree) = load(&id)? else { continue };
        for n in tree.nodes {
            if n.kind != NodeKind::Dir {
                continue;
            }
            let Some(sub) = n.subtree else { continue };
            if let Some(cid) = n.attrs["containerId"].as_str() {
                let Some(sub_tree) = load(&sub)? else {
                    continue;
                };
                let items = sub_tree
                    .nodes
                    .into_iter()
                    .filter(|x| x.kind == NodeKind::Item)
                    .map(|x| (x.name.clone(), x))
                    .collect();
                let link = n.attrs["deltaLink"].as_str().map(str::to_string);
                prev.containers.insert(cid.to_string(), (link, items));
            }
            stack.push(sub);
        }
    }
    Ok(prev)
}

/// The outcome of backing up one category of one mailbox.
pub(crate) struct CategoryResult {
    /// `None` when the category could not be read and no earlier snapshot had it.
    pub node: Option<Node>,
    pub items: u64,
    pub bytes: u64,
    pub fetched: u64,
    pub failed: Vec<FailedItem>,
}

/// One container (contact folder, calendar, task list) as backed up.
struct Container {
    id: String,
    parent: Option<String>,
    name: String,
    delta_link: Option<String>,
    items: Vec<Node>,
}

/// The permission a category needs, for messages that say what to grant.
fn permission(category: &str) -> &'static str {
    match category {
        CONTACTS => "Contacts.Read (or Contacts.ReadWrite to restore)",
        CALENDARS => "Calendars.Read (or Calendars.ReadWrite to restore)",
        TASKS => "Tasks.Read.All (or Tasks.ReadWrite.All to restore)",
        _ => "MailboxSettings.Read",
    }
}

/// Backs up one non-mail category. Errors that end only this category (a missing permission,
/// a mailbox without that feature) keep the last snapshot's copy and are reported; errors
/// that end the job are returned.
pub(crate) async fn backup_category(
    shared: &Arc<Shared>,
    user: &User,
    category: &'static str,
    prev: Option<&PrevCategory>,
) -> Result<CategoryResult> {
    let empty = PrevCategory::default();
    let prev = prev.unwrap_or(&empty);
    let result = match category {
        CONTACTS => contacts(shared, user, prev).await,
        CALENDARS => calendars(shared, user, prev).await,
        TASKS => tasks(shared, user, prev).await,
        _ => settings(shared, user, prev).await,
    };
    let (containers, fetched, failed) = match result {
        Ok(r) => r,
        Err(EngineError::Graph(e)) if !aborts_job(&e) => {
            tracing::warn!(mailbox = %user.id, category, error = %e, "category not backed up");
            let why = if e.status() == Some(403) {
                format!(
                    "{category} not backed up: access denied; the app needs the permission {} ({e})",
                    permission(category)
                )
            } else {
                format!("{category} not backed up: {e}")
            };
            return Ok(CategoryResult {
                items: prev.containers.values().map(|c| c.1.len() as u64).sum(),
                bytes: 0,
                fetched: 0,
                failed: vec![FailedItem {
                    mailbox: user.user_principal_name.clone(),
                    folder: category.into(),
                    item_id: String::new(),
                    reason: match &prev.node {
                        Some(_) => format!("{why}; the previous version is kept"),
                        None => why,
                    },
                }],
                node: prev.node.clone(),
            });
        }
        Err(e) => return Err(e),
    };
    let writer = shared.writer.clone();
    tokio::task::spawn_blocking(move || {
        let mut w = writer
            .lock()
            .map_err(|_| EngineError::Internal("writer lock poisoned".into()))?;
        let items: u64 = containers.iter().map(|c| c.items.len() as u64).sum();
        let bytes: u64 = containers
            .iter()
            .flat_map(|c| c.items.iter().map(|n| n.size))
            .sum();
        let nodes = build_containers(&mut w, &containers, None)?;
        let subtree = w.save_tree(&Tree { nodes })?;
        Ok(CategoryResult {
            node: Some(Node::dir(
                category,
                subtree,
                json!({ "category": category.to_lowercase(), "itemCount": items }),
            )),
            items,
            bytes,
            fetched,
            failed,
        })
    })
    .await?
}

/// Nests containers under their parents; sibling names are made unique.
fn build_containers(
    w: &mut qcb_repo::Writer,
    all: &[Container],
    parent: Option<&str>,
) -> Result<Vec<Node>> {
    let ids: HashSet<&str> = all.iter().map(|c| c.id.as_str()).collect();
    let mut nodes = Vec::new();
    let mut taken = HashSet::new();
    for c in all
        .iter()
        .filter(|c| c.parent.as_deref().filter(|p| ids.contains(p)) == parent)
    {
        let mut content = c.items.clone();
        let children = build_containers(w, all, Some(&c.id))?;
        let child_count = children.len();
        content.extend(children);
        let subtree = w.save_tree(&Tree { nodes: content })?;
        let base = if c.name.is_empty() {
            c.id.clone()
        } else {
            c.name.clone()
        };
        let mut name = base.clone();
        let mut n = 2;
        while !taken.insert(name.clone()) {
            name = format!("{base} ({n})");
            n += 1;
        }
        nodes.push(Node::dir(
            name,
            subtree,
            json!({
                "containerId": c.id, "displayName": c.name, "deltaLink": c.delta_link,
                "itemCount": c.items.len(), "childCount": child_count,
            }),
        ));
    }
    Ok(nodes)
}

type Outcome = (Vec<Container>, u64, Vec<FailedItem>);

/// Stores an item's JSON (and an optional extra blob) and makes its node.
async fn store(
    shared: &Arc<Shared>,
    id: String,
    json_value: Value,
    extra: Option<Vec<u8>>,
    attrs: Value,
) -> Result<Node> {
    let (writer, repo) = (shared.writer.clone(), shared.repo.clone());
    tokio::task::spawn_blocking(move || {
        let bytes = serde_json::to_vec(&json_value).expect("json");
        let prepared = repo.prepare_content(&bytes);
        let extra = extra.map(|b| repo.prepare_blob(qcb_repo::BlobType::Data, &b));
        let mut w = writer
            .lock()
            .map_err(|_| EngineError::Internal("writer lock poisoned".into()))?;
        let content = w.save_prepared_content(prepared)?;
        let meta = extra.map(|b| w.save_prepared(b)).transpose()?;
        let size = bytes.len() as u64;
        Ok(Node::item(id, content, size, meta, attrs))
    })
    .await?
}

/// The version stamp of an item: its `changeKey`, or (To Do tasks have none) its etag.
fn version(v: &Value) -> Option<&str> {
    v["changeKey"]
        .as_str()
        .or(v["@odata.etag"].as_str())
        .filter(|k| !k.is_empty())
}

fn unchanged<'a>(prev: Option<&'a HashMap<String, Node>>, id: &str, v: &Value) -> Option<&'a Node> {
    let key = version(v)?;
    prev?
        .get(id)
        .filter(|n| n.attrs["changeKey"].as_str() == Some(key))
}

/// Runs a delta query to its end from `link` (or from scratch), restarting once from scratch
/// when the saved token has expired. Returns the items seen, the ids removed, the new delta
/// link, and whether it restarted (then `removed` is meaningless and the caller starts empty).
async fn run_delta<F, Fut>(
    mut link: Option<String>,
    mut page: F,
) -> Result<(Vec<Value>, Vec<String>, String, bool)>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: std::future::Future<Output = std::result::Result<qcb_graph::DeltaPage, GraphError>>,
{
    let (mut items, mut removed, mut restarted) = (Vec::new(), Vec::new(), false);
    loop {
        let p = match page(link.clone()).await {
            Ok(p) => p,
            Err(e) if !restarted && link.is_some() && is_expired_sync_state(&e) => {
                restarted = true;
                link = None;
                items.clear();
                removed.clear();
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        items.extend(p.items);
        removed.extend(p.removed);
        match (p.next_link, p.delta_link) {
            (Some(n), _) => link = Some(n),
            (None, Some(d)) => return Ok((items, removed, d, restarted)),
            (None, None) => unreachable!("qcb-graph rejects pages without either link"),
        }
    }
}

/// The ids of `items` whose stored data the repository no longer has (a lost index or pack):
/// they must not be carried over as unchanged.
fn lost_ids(shared: &Shared, items: Option<&HashMap<String, Node>>) -> Result<HashSet<String>> {
    let Some(items) = items else {
        return Ok(HashSet::new());
    };
    let w = shared
        .writer
        .lock()
        .map_err(|_| EngineError::Internal("writer lock poisoned".into()))?;
    Ok(items
        .iter()
        .filter(|(_, n)| !n.data_blobs().all(|b| w.contains(b)))
        .map(|(id, _)| id.clone())
        .collect())
}

/// Where a container's items are, for the reasons of items that failed.
struct Place<'a> {
    mailbox: &'a str,
    folder: String,
}

/// Brings one delta-tracked container (a contact folder, a calendar, a task list) up to date
/// from its saved delta link: drops removed items, keeps unchanged ones, and stores changed ones
/// with `store_item` (given the item's stored copy, if it is intact), which answers the node
/// and whether it stored anything new, or `None` when
/// the item could not be read this time (the caller reports why). Then the item keeps its last
/// copy and the saved link stays where it was, so the next run asks for the change again.
/// An unchanged item whose stored data the repository lost is read again with `refetch` (its
/// current JSON, `None` when it is gone) and stored anew; when that fails it is reported
/// (`failed`) and left out of the snapshot rather than claimed without its bytes.
/// Returns the items (sorted), the delta link to save and how many items were stored.
async fn sync_container<P, PF, S, SF, R, RF>(
    shared: &Arc<Shared>,
    place: Place<'_>,
    before: Option<&(Option<String>, HashMap<String, Node>)>,
    page: P,
    mut store_item: S,
    mut refetch: R,
    failed: &mut Vec<FailedItem>,
) -> Result<(Vec<Node>, Option<String>, u64)>
where
    P: FnMut(Option<String>) -> PF,
    PF: std::future::Future<Output = std::result::Result<qcb_graph::DeltaPage, GraphError>>,
    S: FnMut(String, Value, Option<Node>) -> SF,
    SF: std::future::Future<Output = Result<Option<(Node, bool)>>>,
    R: FnMut(String) -> RF,
    RF: std::future::Future<Output = std::result::Result<Option<Value>, GraphError>>,
{
    let link = before.and_then(|b| b.0.clone());
    let prev_items = before.map(|b| &b.1);
    let lost = lost_ids(shared, prev_items)?;
    let (changed, removed, delta, restarted) = run_delta(link.clone(), page).await?;
    let mut items: HashMap<String, Node> = match (prev_items, restarted || link.is_none()) {
        (Some(p), false) => p.clone(),
        _ => HashMap::new(),
    };
    for id in removed {
        items.remove(&id);
    }
    shared.tracker.add_total(changed.len() as u64);
    let (mut stored, mut incomplete) = (0, false);
    let mut fresh: HashSet<String> = HashSet::new();
    let mut queue: Vec<(String, Value)> = changed
        .into_iter()
        .filter_map(|v| Some((v["id"].as_str()?.to_string(), v)))
        .collect();
    // First what the delta reports, then the carried-over items whose data was lost.
    for pass in 0..2 {
        for (id, v) in std::mem::take(&mut queue) {
            fresh.insert(id.clone());
            if !lost.contains(&id)
                && let Some(n) = unchanged(prev_items, &id, &v)
            {
                items.insert(id, n.clone());
                shared.tracker.done(1, 0);
                continue;
            }
            // A stored copy whose data was lost is no copy.
            let prev = prev_items
                .and_then(|p| p.get(&id))
                .filter(|_| !lost.contains(&id))
                .cloned();
            match store_item(id.clone(), v, prev.clone()).await? {
                Some((node, new)) => {
                    shared.tracker.done(1, if new { node.size } else { 0 });
                    stored += u64::from(new);
                    items.insert(id, node);
                }
                None => {
                    incomplete = true;
                    shared.tracker.done(1, 0);
                    match prev {
                        Some(n) => items.insert(id, n),
                        None => items.remove(&id),
                    };
                }
            }
        }
        if pass == 1 {
            break;
        }
        let again: Vec<String> = lost
            .iter()
            .filter(|id| items.contains_key(*id) && !fresh.contains(*id))
            .cloned()
            .collect();
        for id in again {
            items.remove(&id);
            tracing::warn!(item = %id, "stored copy missing from the repository; reading it again");
            match refetch(id.clone()).await {
                Ok(Some(v)) => {
                    shared.tracker.add_total(1);
                    queue.push((id, v));
                }
                Ok(None) => {}
                Err(e) if aborts_job(&e) => return Err(e.into()),
                Err(e) => failed.push(FailedItem {
                    mailbox: place.mailbox.to_string(),
                    folder: place.folder.clone(),
                    item_id: id,
                    reason: format!(
                        "the stored copy is missing from the repository and it could not be \
                         read again: {e}"
                    ),
                }),
            }
        }
    }
    let mut items: Vec<Node> = items.into_values().collect();
    items.sort_by(|a, b| a.name.cmp(&b.name));
    Ok((items, if incomplete { link } else { Some(delta) }, stored))
}

async fn contacts(shared: &Arc<Shared>, user: &User, prev: &PrevCategory) -> Result<Outcome> {
    let g = &shared.graph;
    let mut out = Vec::new();
    let mut fetched = 0u64;
    let mut failed = Vec::new();
    for f in g.contact_folders(&user.id).await? {
        let fid = f["id"].as_str().unwrap_or_default().to_string();
        let place = Place {
            mailbox: &user.user_principal_name,
            folder: format!("{CONTACTS}/{}", f["displayName"].as_str().unwrap_or("")),
        };
        let (items, delta, stored) = sync_container(
            shared,
            place,
            prev.containers.get(&fid),
            |l| {
                let (g, uid, fid) = (g.clone(), user.id.clone(), fid.clone());
                let size = shared.page_size;
                async move { g.contacts_delta(&uid, &fid, l.as_deref(), size).await }
            },
            |id, v, _prev| {
                let (g, uid, shared) = (g.clone(), user.id.clone(), shared.clone());
                async move {
                    let photo = g.contact_photo(&uid, &id).await?;
                    let email = v["emailAddresses"][0]["address"].as_str().unwrap_or("");
                    let attrs = json!({
                        "kind": "contact", "subject": v["displayName"], "from": email,
                        "receivedDateTime": v["lastModifiedDateTime"], "changeKey": v["changeKey"],
                        "hasAttachments": photo.is_some(),
                    });
                    Ok(Some((store(&shared, id, v, photo, attrs).await?, true)))
                }
            },
            |id| {
                let (g, uid) = (g.clone(), user.id.clone());
                async move { gone_is_none(g.contact(&uid, &id).await) }
            },
            &mut failed,
        )
        .await?;
        fetched += stored;
        out.push(Container {
            id: fid,
            parent: f["parentFolderId"].as_str().map(str::to_string),
            name: f["displayName"].as_str().unwrap_or_default().to_string(),
            delta_link: delta,
            items,
        });
    }
    Ok((out, fetched, failed))
}

/// An item read again: `None` when it no longer exists.
fn gone_is_none(
    r: std::result::Result<Value, GraphError>,
) -> std::result::Result<Option<Value>, GraphError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

/// Calendars through the beta event delta (series masters and single events; v1.0's
/// `calendarView/delta` needs a window and expands series): a changed event is read whole
/// (modified occurrences expanded) with its cancelled occurrences and attachments; an
/// unchanged one (same changeKey) keeps its stored copy. The first round, which the delta only
/// lists by id, takes the full events from one listing of the calendar instead of a GET each.
async fn calendars(shared: &Arc<Shared>, user: &User, prev: &PrevCategory) -> Result<Outcome> {
    let g = &shared.graph;
    let mut out = Vec::new();
    let mut fetched = 0u64;
    let failed = Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut unreadable = Vec::new();
    for cal in g.calendars(&user.id).await? {
        let cid = cal["id"].as_str().unwrap_or_default().to_string();
        let name = cal["name"].as_str().unwrap_or_default().to_string();
        let before = prev.containers.get(&cid);
        // Without a saved link every event comes back: read them in pages of 50 at once.
        let listed: Arc<std::sync::Mutex<HashMap<String, Value>>> = Arc::new(
            std::sync::Mutex::new(match before.and_then(|b| b.0.as_ref()) {
                Some(_) => HashMap::new(),
                None => g
                    .calendar_events(&user.id, &cid)
                    .await?
                    .into_iter()
                    .filter_map(|v| Some((v["id"].as_str()?.to_string(), v)))
                    .collect(),
            }),
        );
        let place = Place {
            mailbox: &user.user_principal_name,
            folder: format!("{CALENDARS}/{name}"),
        };
        let (items, delta, stored) = sync_container(
            shared,
            place,
            before,
            |l| {
                let (g, uid, cid) = (g.clone(), user.id.clone(), cid.clone());
                let size = shared.page_size;
                async move { g.events_delta(&uid, &cid, l.as_deref(), size).await }
            },
            |id, _stub, prev| {
                let (g, user, shared) = (g.clone(), user.clone(), shared.clone());
                let (listed, failed, folder) = (
                    listed.clone(),
                    failed.clone(),
                    format!("{CALENDARS}/{name}"),
                );
                async move {
                    let whole = listed.lock().expect("listed").remove(&id);
                    let r = async {
                        let mut v = match whole {
                            Some(v) => v,
                            None => g.event(&user.id, &id).await?,
                        };
                        if let Some(n) = prev.filter(|n| {
                            version(&v).is_some() && n.attrs["changeKey"].as_str() == version(&v)
                        }) {
                            return Ok(Err(n));
                        }
                        if v["type"] == "seriesMaster" {
                            v["cancelledOccurrences"] =
                                g.cancelled_occurrences(&user.id, &id).await?;
                        }
                        if v["hasAttachments"] == true {
                            v["attachments"] =
                                Value::Array(g.event_attachments(&user.id, &id).await?);
                        }
                        Ok::<_, GraphError>(Ok(v))
                    }
                    .await;
                    let v = match r {
                        Ok(Ok(v)) => v,
                        Ok(Err(unchanged)) => return Ok(Some((unchanged, false))),
                        Err(e) if aborts_job(&e) => return Err(e.into()),
                        Err(e) => {
                            failed.lock().expect("failed").push(FailedItem {
                                mailbox: user.user_principal_name.clone(),
                                folder,
                                item_id: id,
                                reason: e.to_string(),
                            });
                            return Ok(None);
                        }
                    };
                    let attrs = json!({
                        "kind": "event", "subject": v["subject"],
                        "from": v["organizer"]["emailAddress"]["address"],
                        "receivedDateTime": v["start"]["dateTime"], "changeKey": v["changeKey"],
                        "hasAttachments": v["hasAttachments"], "type": v["type"],
                    });
                    Ok(Some((store(&shared, id, v, None, attrs).await?, true)))
                }
            },
            // Read whole by the step above (it GETs what the listing did not give).
            |id| async move { Ok(Some(json!({ "id": id }))) },
            &mut unreadable,
        )
        .await?;
        fetched += stored;
        out.push(Container {
            id: cid,
            parent: None,
            name,
            delta_link: delta,
            items,
        });
    }
    let mut failed = std::mem::take(&mut *failed.lock().expect("failed"));
    failed.append(&mut unreadable);
    Ok((out, fetched, failed))
}

async fn tasks(shared: &Arc<Shared>, user: &User, prev: &PrevCategory) -> Result<Outcome> {
    let g = &shared.graph;
    let mut out = Vec::new();
    let mut fetched = 0u64;
    let mut failed = Vec::new();
    for list in g.todo_lists(&user.id).await? {
        let lid = list["id"].as_str().unwrap_or_default().to_string();
        let place = Place {
            mailbox: &user.user_principal_name,
            folder: format!("{TASKS}/{}", list["displayName"].as_str().unwrap_or("")),
        };
        let (items, delta, stored) = sync_container(
            shared,
            place,
            prev.containers.get(&lid),
            |l| {
                let (g, uid, lid) = (g.clone(), user.id.clone(), lid.clone());
                let size = shared.page_size;
                async move { g.tasks_delta(&uid, &lid, l.as_deref(), size).await }
            },
            |id, v, _prev| {
                let shared = shared.clone();
                async move {
                    let attrs = json!({
                        "kind": "task", "subject": v["title"], "from": "",
                        "receivedDateTime": v["lastModifiedDateTime"], "status": v["status"],
                        "changeKey": version(&v),
                    });
                    Ok(Some((store(&shared, id, v, None, attrs).await?, true)))
                }
            },
            |id| {
                let (g, uid, lid) = (g.clone(), user.id.clone(), lid.clone());
                async move { gone_is_none(g.task(&uid, &lid, &id).await) }
            },
            &mut failed,
        )
        .await?;
        fetched += stored;
        out.push(Container {
            id: lid,
            parent: None,
            name: list["displayName"].as_str().unwrap_or_default().to_string(),
            delta_link: delta,
            items,
        });
    }
    Ok((out, fetched, failed))
}

async fn settings(shared: &Arc<Shared>, user: &User, prev: &PrevCategory) -> Result<Outcome> {
    let g = &shared.graph;
    let mailbox = g.mailbox_settings(&user.id).await?;
    let rules = Value::Array(g.inbox_rules(&user.id).await?);
    let before = prev.containers.get("settings").map(|c| &c.1);
    let mut items = Vec::new();
    let mut changed = 0;
    for (name, v, subject) in [
        ("mailboxSettings", mailbox, "Mailbox settings"),
        ("inboxRules", rules, "Inbox rules"),
    ] {
        let attrs = json!({ "kind": "settings", "subject": subject, "from": "" });
        let node = store(shared, name.into(), v, None, attrs).await?;
        // Read whole every time (they are small); counted as fetched only when they changed.
        if before
            .and_then(|b| b.get(name))
            .is_none_or(|p| p.content != node.content)
        {
            changed += 1;
        }
        items.push(node);
    }
    Ok((
        vec![Container {
            id: "settings".into(),
            parent: None,
            name: "Mailbox".into(),
            delta_link: None,
            items,
        }],
        changed,
        Vec::new(),
    ))
}
