//! Restore: a mailbox, a category, a folder (with or without its subfolders) or a single item
//! from a snapshot (or the newest one at or before a point in time), back where it came from or
//! into a new folder, of the same mailbox or another one.
//!
//! Mail comes back as received (non-draft) messages with their original dates, read state, flag,
//! importance, categories, headers, body and attachments; contacts, events, To Do tasks and
//! inbox rules through `restore_pim`. What is already there is skipped, overwritten or kept
//! beside the restored copy ([`OnConflict`]); a second run of the same restore writes nothing
//! twice. A dry run lists what would be written and writes nothing.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use qcb_graph::{GraphClient, MailFolder};
use qcb_repo::{Node, NodeKind, Repository};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::categories::{CALENDARS, CONTACTS, MAIL, SETTINGS, TASKS};
use crate::error::{EngineError, Result};
use crate::mime;
use crate::progress::{Phase, Progress, ProgressEvent};
use crate::types::{FailedItem, PlannedWrite, RestoreReport};

/// Graph takes a request of up to 4 MB: a message whose JSON with its attachments fits is
/// created in one request; otherwise it is created without them and each is added after it,
/// in order, those of 3 MB or more through an upload session.
const CREATE_REQUEST_LIMIT: usize = 4 * 1024 * 1024;
/// Attachments below this size are added by a plain POST; from it on, through an upload session.
const INLINE_ATTACHMENT_LIMIT: usize = 3 * 1024 * 1024;
/// An attached message is added as an item attachment in one request of at most 4 MB (there
/// is no upload session for items); its JSON is somewhat larger than its MIME. A larger one
/// comes back as a `.eml` file attachment through an upload session.
const ITEM_ATTACHMENT_LIMIT: usize = 3 * 1024 * 1024 + 512 * 1024;
/// Attached messages nested deeper than this come back as `.eml` file attachments: every level
/// of an item attachment nests Graph's JSON further, and a hostile message can nest them
/// without end.
const MAX_ITEM_NESTING: usize = 8;
/// The largest attachment Exchange Online takes.
const MAX_ATTACHMENT: usize = 150 * 1024 * 1024;

/// Where restored items go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "to", content = "folder")]
pub enum RestoreTarget {
    /// Back where they came from: the same folder path, contact folder, calendar or task list
    /// (recreated when it no longer exists).
    Original,
    /// Into a top-level folder of this name (created when missing) that holds the original
    /// hierarchy. Calendars and task lists, which do not nest, become `Name (Folder)`.
    Folder(String),
}

impl RestoreTarget {
    /// The safe default: a new folder named after the time of the restore,
    /// `Restored 2026-11-27 14:03`.
    pub fn restored_at(time: chrono::NaiveDateTime) -> RestoreTarget {
        RestoreTarget::Folder(format!("Restored {}", time.format("%Y-%m-%d %H:%M")))
    }

    /// `original`, or `folder NAME` (the words of `--to`).
    pub fn parse(words: &[String]) -> std::result::Result<RestoreTarget, String> {
        match words {
            [w] if w.eq_ignore_ascii_case("original") => Ok(RestoreTarget::Original),
            [w, name] if w.eq_ignore_ascii_case("folder") && !name.trim().is_empty() => {
                Ok(RestoreTarget::Folder(name.trim().to_string()))
            }
            _ => Err(format!(
                "unknown restore target {:?}: use `original` or `folder NAME`",
                words.join(" ")
            )),
        }
    }
}

/// What to do when the item being restored is still there (or was restored before).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
pub enum OnConflict {
    /// Leave it and skip the backed-up one (a re-run fills gaps without duplicates).
    #[default]
    Skip,
    /// Replace it with the backed-up one.
    Overwrite,
    /// Restore the backed-up one beside it.
    KeepBoth,
}

impl OnConflict {
    pub fn parse(text: &str) -> std::result::Result<OnConflict, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "skip" => Ok(OnConflict::Skip),
            "overwrite" => Ok(OnConflict::Overwrite),
            "keep-both" | "keepboth" => Ok(OnConflict::KeepBoth),
            other => Err(format!(
                "unknown conflict policy {other:?}: use skip, overwrite or keep-both"
            )),
        }
    }
}

#[derive(Debug, Clone)]
pub struct RestoreOptions {
    /// `latest`, a snapshot id or a unique prefix. Ignored when `at_or_before` is set.
    pub snapshot: String,
    /// The point in time: the newest snapshot taken at or before it.
    pub at_or_before: Option<chrono::DateTime<chrono::Utc>>,
    /// `/mailbox`, `/mailbox/Category[/Folder/Sub][/item id]` (`Mail`, `Contacts`, `Calendars`,
    /// `Tasks`, `Settings`) inside the snapshot.
    pub path: String,
    /// Restore into this mailbox instead of the one the items came from.
    pub target_mailbox: Option<String>,
    pub target: RestoreTarget,
    /// With `false`, a folder's subfolders are left out (a whole mailbox or category: the
    /// top-level folders only).
    pub recursive: bool,
    pub on_conflict: OnConflict,
    /// Write nothing; report what would be written.
    pub dry_run: bool,
    pub requests_per_mailbox: usize,
}

/// The extended property a restore stores the backed-up item's id in (contacts, events), so a
/// later restore recognises its own copies.
pub(crate) const ORIGINAL_ID_PROPERTY: &str =
    "String {6d1c2a4e-8f0b-4c3a-9e57-3b2f1d0c9a84} Name QCBackupOriginalId";

/// One container to restore (mail folder, contact folder, calendar, task list), parent-first.
pub(crate) struct PlanContainer {
    /// Display names from the category's root to this container.
    pub path: Vec<String>,
    pub items: Vec<Node>,
}

pub(crate) struct CategoryPlan {
    /// `Mail`, `Contacts`, `Calendars`, `Tasks` or `Settings`.
    pub category: String,
    /// How many leading names of each path lie above the chosen folder (a folder target drops
    /// them: restoring `Inbox/Projects` into `X` makes `X/Projects`).
    pub above: usize,
    pub containers: Vec<PlanContainer>,
}

struct Plan {
    mailbox: String,
    user_id: Option<String>,
    categories: Vec<CategoryPlan>,
    /// The snapshot's mail folders: id → display names from the top (for the folders inbox
    /// rules name).
    mail_folders: HashMap<String, Vec<String>>,
}

fn display_name(n: &Node) -> String {
    n.attrs["displayName"]
        .as_str()
        .filter(|s| !s.is_empty())
        .unwrap_or(&n.name)
        .to_string()
}

/// The snapshot a restore or export reads: the newest one taken at or before `at_or_before`
/// when given, else `snapshot` (`latest`, an id or a unique prefix).
pub(crate) fn choose_snapshot(
    repo: &Repository,
    snapshot: &str,
    at_or_before: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<qcb_repo::Snapshot> {
    match at_or_before {
        Some(t) => repo
            .list_snapshots()?
            .into_iter()
            .rfind(|s| s.time <= t)
            .ok_or_else(|| {
                EngineError::NotFound(format!(
                    "no snapshot was taken at or before {}",
                    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                ))
            }),
        None => Ok(repo.find_snapshot(snapshot.trim())?),
    }
}

fn plan(repo: &Repository, opts: &RestoreOptions) -> Result<Plan> {
    let snap = choose_snapshot(repo, &opts.snapshot, opts.at_or_before)?;
    let names = qcb_repo::split_path(&opts.path);
    let not_found = |what| {
        EngineError::Repo(qcb_repo::Error::PathNotFound {
            snapshot: snap.id.short().into(),
            path: opts.path.clone(),
            what,
        })
    };
    let Some((mailbox, rest)) = names.split_first() else {
        return Err(EngineError::InvalidInput(
            "give a path that starts with a mailbox, e.g. /alice@contoso.com/Mail/Inbox".into(),
        ));
    };
    let root = repo.load_tree(&snap.tree)?;
    let mbx = root
        .get(mailbox)
        .filter(|n| n.kind == NodeKind::Dir)
        .ok_or_else(|| not_found("mailbox"))?;
    let user_id = mbx.attrs["userId"].as_str().map(str::to_string);
    let tree = repo.load_tree(&mbx.subtree.ok_or_else(|| not_found("mailbox"))?)?;
    let category_dirs: Vec<&Node> = tree
        .nodes
        .iter()
        .filter(|n| n.kind == NodeKind::Dir && n.attrs["category"].is_string())
        .collect();
    // (category, its tree, the folder names chosen inside it)
    let mut chosen: Vec<(String, qcb_repo::Tree, &[String])> = Vec::new();
    if category_dirs.is_empty() {
        // Snapshots from before item categories keep the mail folders right under the mailbox.
        chosen.push((MAIL.to_string(), tree.clone(), rest));
    } else {
        let wanted: Option<&String> = rest.first();
        for c in &category_dirs {
            if wanted.is_some_and(|w| *w != c.name) {
                continue;
            }
            let sub = repo.load_tree(&c.subtree.ok_or_else(|| not_found("category"))?)?;
            chosen.push((c.name.clone(), sub, rest.get(1..).unwrap_or(&[])));
        }
        if let Some(w) = wanted
            && chosen.is_empty()
        {
            return Err(EngineError::InvalidInput(format!(
                "{w:?} is not a category of this snapshot: give a path such as /{mailbox}/Mail/Inbox, \
                 /{mailbox}/Contacts or /{mailbox}/Calendars"
            )));
        }
    }
    // Inbox rules name mail folders by id: where each one was, to find it in the target.
    let mut mail_folders = HashMap::new();
    if chosen.iter().any(|(c, ..)| c == SETTINGS) {
        let mail = match category_dirs.iter().find(|n| n.name == MAIL) {
            Some(m) => m.subtree.map(|t| repo.load_tree(&t)).transpose()?,
            None if category_dirs.is_empty() => Some(tree.clone()),
            None => None,
        };
        if let Some(mail) = mail {
            folder_ids(repo, &mail, &mut Vec::new(), &mut mail_folders)?;
        }
    }
    let mut categories = Vec::new();
    // Mail first, then the rest by name (a rule may move mail into a restored folder).
    chosen.sort_by_key(|(c, ..)| (c != MAIL, c.clone()));
    for (category, mut tree, sub) in chosen {
        let mut path = Vec::new();
        let mut single = None;
        for (i, name) in sub.iter().enumerate() {
            // A single item: the last name of the path.
            if i + 1 == sub.len()
                && let Some(item) = tree.get(name).filter(|n| n.kind == NodeKind::Item)
            {
                single = Some(item.clone());
                break;
            }
            let n = tree
                .get(name)
                .filter(|n| n.kind == NodeKind::Dir)
                .cloned()
                .ok_or_else(|| not_found("folder"))?;
            tree = repo.load_tree(&n.subtree.ok_or_else(|| not_found("folder"))?)?;
            path.push(display_name(&n));
        }
        let mut containers = Vec::new();
        let above = path.len().saturating_sub(1);
        if let Some(item) = single {
            containers.push(PlanContainer {
                path,
                items: vec![item],
            });
        } else if path.is_empty() {
            for n in tree.nodes.iter().filter(|n| n.kind == NodeKind::Dir) {
                let sub = repo.load_tree(&n.subtree.ok_or_else(|| not_found("folder"))?)?;
                let Some(name) = restored_name(n, &sub) else {
                    continue;
                };
                collect(repo, vec![name], &sub, opts.recursive, &mut containers)?;
            }
        } else {
            collect(repo, path, &tree, opts.recursive, &mut containers)?;
        }
        categories.push(CategoryPlan {
            category,
            above,
            containers,
        });
    }
    Ok(Plan {
        mailbox: mailbox.clone(),
        user_id,
        categories,
        mail_folders,
    })
}

fn folder_ids(
    repo: &Repository,
    tree: &qcb_repo::Tree,
    path: &mut Vec<String>,
    out: &mut HashMap<String, Vec<String>>,
) -> Result<()> {
    for n in tree.nodes.iter().filter(|n| n.kind == NodeKind::Dir) {
        path.push(display_name(n));
        if let Some(id) = n.attrs["folderId"].as_str() {
            out.insert(id.to_string(), path.clone());
        }
        if let Some(sub) = n.subtree {
            folder_ids(repo, &repo.load_tree(&sub)?, path, out)?;
        }
        path.pop();
    }
    Ok(())
}

fn collect(
    repo: &Repository,
    path: Vec<String>,
    tree: &qcb_repo::Tree,
    recursive: bool,
    out: &mut Vec<PlanContainer>,
) -> Result<()> {
    let items = tree
        .nodes
        .iter()
        .filter(|n| n.kind == NodeKind::Item)
        .cloned()
        .collect();
    out.push(PlanContainer {
        path: path.clone(),
        items,
    });
    if !recursive {
        return Ok(());
    }
    for n in tree.nodes.iter().filter(|n| n.kind == NodeKind::Dir) {
        if let Some(sub) = n.subtree {
            let sub = repo.load_tree(&sub)?;
            let Some(name) = restored_name(n, &sub) else {
                continue;
            };
            let mut p = path.clone();
            p.push(name);
            collect(repo, p, &sub, true, out)?;
        }
    }
    Ok(())
}

/// Where a restore puts the items of Recoverable Items > Deletions.
pub(crate) const RECOVERED_DELETIONS: &str = "Recovered deleted items";

/// The name a folder of the snapshot is restored under; `None`: not restored. Items can only
/// be created in a mailbox's normal folders, so what Exchange kept in Recoverable Items >
/// Deletions comes back into a folder of its own, and an empty Deletions is not recreated.
fn restored_name(n: &Node, sub: &qcb_repo::Tree) -> Option<String> {
    if n.attrs["wellKnownName"] == "recoverableitemsdeletions" {
        return (!sub.nodes.is_empty()).then(|| RECOVERED_DELETIONS.to_string());
    }
    Some(display_name(n))
}

/// What a restore is doing and has done so far, shared by the categories.
pub(crate) struct Run {
    pub graph: Arc<GraphClient>,
    pub repo: Repository,
    pub user_id: String,
    pub upn: String,
    pub target: RestoreTarget,
    pub on_conflict: OnConflict,
    pub dry_run: bool,
    pub requests: usize,
    /// The snapshot's mail folders: id → display names from the top.
    pub mail_folders: HashMap<String, Vec<String>>,
    pub progress: Arc<dyn Progress>,
    pub total: u64,
    pub folders_created: u64,
    pub restored: u64,
    pub overwritten: u64,
    pub skipped: Vec<FailedItem>,
    pub failed: Vec<FailedItem>,
    pub planned: Vec<PlannedWrite>,
}

/// What to do with one backed-up item.
pub(crate) enum Action {
    Skip,
    Create,
    /// Replace the item with this id.
    Replace(String),
}

impl Run {
    /// The path a container is restored to (mail and contact folders nest; for a folder target
    /// the folder comes first).
    pub fn nested_path(&self, cat: &CategoryPlan, c: &PlanContainer) -> Vec<String> {
        match &self.target {
            RestoreTarget::Original => c.path.clone(),
            RestoreTarget::Folder(name) => std::iter::once(name.trim().to_string())
                .chain(c.path[cat.above.min(c.path.len())..].iter().cloned())
                .collect(),
        }
    }

    /// The name a calendar or task list is restored to (they do not nest): its own name, or
    /// `Name (Folder)` for a folder target.
    pub fn flat_name(&self, c: &PlanContainer) -> String {
        let own = c.path.last().cloned().unwrap_or_default();
        match &self.target {
            RestoreTarget::Original => own,
            RestoreTarget::Folder(name) => format!("{own} ({})", name.trim()),
        }
    }

    pub fn event(&self, phase: Phase, folder: Option<String>) {
        self.progress.event(ProgressEvent {
            phase,
            mailbox: Some(self.upn.clone()),
            folder,
            items_done: self.restored + self.skipped.len() as u64 + self.failed.len() as u64,
            items_total: self.total,
            bytes_done: 0,
            pace: Default::default(),
        });
    }

    /// Decides what to do with an item, given the id of the one already there (if any), and
    /// records skips and, in a dry run, the planned write. Returns `None` when nothing is to be
    /// written now.
    pub fn decide(
        &mut self,
        kind: &str,
        folder: &str,
        item_id: &str,
        existing: Option<String>,
    ) -> Option<Action> {
        let action = match (existing, self.on_conflict) {
            (None, _) | (Some(_), OnConflict::KeepBoth) => Action::Create,
            (Some(_), OnConflict::Skip) => Action::Skip,
            (Some(id), OnConflict::Overwrite) => Action::Replace(id),
        };
        match action {
            Action::Skip => {
                self.skip(folder, item_id, format!("the {kind} is already there"));
                None
            }
            a if self.dry_run => {
                self.plan(
                    if matches!(a, Action::Replace(_)) {
                        "overwrite"
                    } else {
                        "create"
                    },
                    kind,
                    folder,
                    item_id,
                );
                None
            }
            a => Some(a),
        }
    }

    pub fn skip(&mut self, folder: &str, item_id: &str, reason: String) {
        self.skipped.push(FailedItem {
            mailbox: self.upn.clone(),
            folder: folder.to_string(),
            item_id: item_id.to_string(),
            reason,
        });
    }

    pub fn plan(&mut self, action: &str, kind: &str, folder: &str, item_id: &str) {
        self.planned.push(PlannedWrite {
            action: action.into(),
            kind: kind.into(),
            folder: folder.into(),
            item_id: item_id.into(),
        });
    }

    /// Records an item's outcome; errors that end the job (sign-in, service unreachable,
    /// repository I/O) are returned.
    pub fn record(
        &mut self,
        folder: &str,
        item_id: &str,
        replaced: bool,
        r: Result<()>,
    ) -> Result<()> {
        match r {
            Ok(()) => {
                self.restored += 1;
                self.overwritten += u64::from(replaced);
            }
            Err(EngineError::Graph(e)) if e.is_fatal() => return Err(e.into()),
            Err(e @ EngineError::Repo(qcb_repo::Error::Io { .. })) => return Err(e),
            Err(e) => {
                tracing::warn!(item = %item_id, error = %e, "item not restored");
                self.failed.push(FailedItem {
                    mailbox: self.upn.clone(),
                    folder: folder.to_string(),
                    item_id: item_id.to_string(),
                    reason: e.to_string(),
                });
            }
        }
        Ok(())
    }

    /// Records a finished message write of `restore_mail`.
    fn record_mail(
        &mut self,
        joined: std::result::Result<(String, String, bool, Result<()>), tokio::task::JoinError>,
    ) -> Result<()> {
        let (label, item_id, replaced, r) = joined?;
        self.record(&label, &item_id, replaced, r)?;
        self.event(Phase::Items, Some(label));
        Ok(())
    }

    /// An item's stored JSON and its extra blob (a contact's photo), read off the async workers.
    pub async fn read_item(&self, item: &Node) -> Result<(Value, Option<Vec<u8>>)> {
        read_item(&self.repo, item).await
    }

    /// Runs the writes of one container with up to `requests` in flight (the per-mailbox
    /// limit backups keep too), recording each outcome as it finishes.
    pub async fn run_jobs(&mut self, label: &str, jobs: Vec<Job>) -> Result<()> {
        let limit = Arc::new(Semaphore::new(self.requests));
        let mut set = JoinSet::new();
        for job in jobs {
            let limit = limit.clone();
            set.spawn(async move {
                let _permit = limit.acquire_owned().await.expect("semaphore open");
                (job.item_id, job.replaced, job.work.await)
            });
        }
        while let Some(joined) = set.join_next().await {
            let (item_id, replaced, r) = joined?;
            self.record(label, &item_id, replaced, r)?;
            self.event(Phase::Items, Some(label.to_string()));
        }
        Ok(())
    }
}

/// One item's writes, to run beside others.
pub(crate) struct Job {
    pub item_id: String,
    /// It replaces an item already there.
    pub replaced: bool,
    pub work: std::pin::Pin<Box<dyn std::future::Future<Output = Result<()>> + Send>>,
}

/// An item's stored JSON and its extra blob (a contact's photo), read off the async workers.
pub(crate) async fn read_item(repo: &Repository, item: &Node) -> Result<(Value, Option<Vec<u8>>)> {
    let (repo, item) = (repo.clone(), item.clone());
    tokio::task::spawn_blocking(move || -> Result<_> {
        let bytes = repo.read_content(&item.content)?;
        let v = serde_json::from_slice(&bytes)
            .map_err(|e| EngineError::Internal(format!("item {}: {e}", item.name)))?;
        let extra = item.meta.map(|m| repo.read_data(&m)).transpose()?;
        Ok((v, extra))
    })
    .await?
}

/// Restores a mailbox, category or folder from a snapshot.
#[tracing::instrument(skip_all)]
pub async fn restore(
    graph: Arc<GraphClient>,
    repo: Repository,
    opts: RestoreOptions,
    progress: Arc<dyn Progress>,
) -> Result<RestoreReport> {
    let started = Instant::now();
    if let RestoreTarget::Folder(name) = &opts.target
        && name.trim().is_empty()
    {
        return Err(EngineError::InvalidInput(
            "the target folder name must not be empty".into(),
        ));
    }
    let (plan_repo, plan_opts) = (repo.clone(), opts.clone());
    // A shared lock for the whole run: no prune removes what is being restored.
    let (_lock, plan) = tokio::task::spawn_blocking(move || -> Result<_> {
        let lock = plan_repo.lock(qcb_repo::LockKind::Shared)?;
        Ok((lock, plan(&plan_repo, &plan_opts)?))
    })
    .await??;
    let target = opts
        .target_mailbox
        .clone()
        .or(plan.user_id.clone())
        .unwrap_or_else(|| plan.mailbox.clone());
    let user = graph.user(&target).await.map_err(|e| match e {
        e if e.is_not_found() => EngineError::NotFound(format!(
            "target mailbox {target:?} does not exist in the tenant"
        )),
        e => e.into(),
    })?;
    let mut run = Run {
        graph,
        repo,
        user_id: user.id.clone(),
        upn: user.user_principal_name.clone(),
        target: opts.target.clone(),
        on_conflict: opts.on_conflict,
        dry_run: opts.dry_run,
        requests: opts.requests_per_mailbox.clamp(1, 4),
        mail_folders: plan.mail_folders.clone(),
        progress,
        total: plan
            .categories
            .iter()
            .flat_map(|c| &c.containers)
            .map(|c| c.items.len() as u64)
            .sum(),
        folders_created: 0,
        restored: 0,
        overwritten: 0,
        skipped: Vec::new(),
        failed: Vec::new(),
        planned: Vec::new(),
    };
    run.event(Phase::Listing, None);
    for cat in &plan.categories {
        match cat.category.as_str() {
            MAIL => restore_mail(&mut run, cat).await?,
            CONTACTS => crate::restore_pim::contacts(&mut run, cat).await?,
            CALENDARS => crate::restore_pim::calendars(&mut run, cat).await?,
            TASKS => crate::restore_pim::tasks(&mut run, cat).await?,
            SETTINGS => crate::restore_pim::settings(&mut run, cat).await?,
            other => run.skip(
                other,
                "",
                format!("{other} is not a category this version restores"),
            ),
        }
    }
    run.event(Phase::Done, None);
    Ok(RestoreReport {
        mailbox: run.upn,
        target_folder: match &opts.target {
            RestoreTarget::Original => String::new(),
            RestoreTarget::Folder(name) => name.trim().to_string(),
        },
        dry_run: opts.dry_run,
        folders_created: run.folders_created,
        items_restored: run.restored,
        items_overwritten: run.overwritten,
        items_skipped: run.skipped.len() as u64,
        skipped: run.skipped,
        failed: run.failed,
        planned: run.planned,
        duration_ms: started.elapsed().as_millis() as u64,
    })
}

/// Restores every mailbox of a snapshot (or those named in `mailboxes`), each into itself,
/// `concurrency` mailboxes at a time: each has its own per-mailbox request limit, as in a
/// backup. `opts.path` is ignored (each mailbox is restored whole) and `opts.target_mailbox`
/// must be empty. One report per mailbox, in the snapshot's order; a mailbox that cannot be
/// restored at all (its user is gone, say) gets a report with that one failure, and only
/// errors that stop every mailbox (sign-in, the service unreachable, the repository
/// unreadable) end the whole run.
#[tracing::instrument(skip_all)]
pub async fn restore_mailboxes(
    graph: Arc<GraphClient>,
    repo: Repository,
    mut opts: RestoreOptions,
    mailboxes: Vec<String>,
    concurrency: usize,
    progress: Arc<dyn Progress>,
) -> Result<Vec<RestoreReport>> {
    if opts.target_mailbox.is_some() {
        return Err(EngineError::InvalidInput(
            "restoring several mailboxes puts each back into itself; restore one mailbox to \
             put it into another"
                .into(),
        ));
    }
    let (list_repo, which, at) = (repo.clone(), opts.snapshot.clone(), opts.at_or_before);
    let (snapshot, names) = tokio::task::spawn_blocking(move || -> Result<_> {
        let snap = choose_snapshot(&list_repo, &which, at)?;
        let root = list_repo.load_tree(&snap.tree)?;
        let names: Vec<String> = root
            .nodes
            .iter()
            .filter(|n| n.kind == NodeKind::Dir)
            .map(|n| n.name.clone())
            .collect();
        Ok((snap.id.to_string(), names))
    })
    .await??;
    for m in &mailboxes {
        if !names.iter().any(|n| n.eq_ignore_ascii_case(m)) {
            return Err(EngineError::NotFound(format!(
                "mailbox {m:?} is not in snapshot {}",
                &snapshot[..8.min(snapshot.len())]
            )));
        }
    }
    let chosen: Vec<String> = names
        .into_iter()
        .filter(|n| mailboxes.is_empty() || mailboxes.iter().any(|m| m.eq_ignore_ascii_case(n)))
        .collect();
    // Every mailbox from the same snapshot, even if a backup adds one meanwhile.
    opts.snapshot = snapshot;
    opts.at_or_before = None;
    let limit = Arc::new(Semaphore::new(concurrency.max(1)));
    let mut set = JoinSet::new();
    for (n, name) in chosen.iter().enumerate() {
        let mut o = opts.clone();
        o.path = format!("/{name}");
        let (graph, repo, progress, limit) =
            (graph.clone(), repo.clone(), progress.clone(), limit.clone());
        set.spawn(async move {
            let _permit = limit.acquire_owned().await.expect("semaphore open");
            (n, restore(graph, repo, o, progress).await)
        });
    }
    let mut reports: Vec<Option<RestoreReport>> = vec![None; chosen.len()];
    while let Some(joined) = set.join_next().await {
        let (n, r) = joined?;
        reports[n] = Some(match r {
            Ok(report) => report,
            Err(EngineError::Graph(e)) if e.is_fatal() => return Err(e.into()),
            Err(e @ EngineError::Repo(qcb_repo::Error::Io { .. })) => return Err(e),
            Err(e) => RestoreReport {
                mailbox: chosen[n].clone(),
                target_folder: match &opts.target {
                    RestoreTarget::Original => String::new(),
                    RestoreTarget::Folder(name) => name.trim().to_string(),
                },
                dry_run: opts.dry_run,
                failed: vec![FailedItem {
                    mailbox: chosen[n].clone(),
                    folder: String::new(),
                    item_id: String::new(),
                    reason: e.to_string(),
                }],
                ..Default::default()
            },
        });
    }
    Ok(reports.into_iter().flatten().collect())
}

/// Restores the mail folders of a plan. Folders are made (parents first) and listed one after
/// another, but their messages are written as one stream: the next folder is prepared while
/// the last messages of the one before are still being written, so the mailbox has its
/// `requests` writes in flight from the first message to the last, across folders.
async fn restore_mail(run: &mut Run, cat: &CategoryPlan) -> Result<()> {
    let graph = run.graph.clone();
    let user_id = run.user_id.clone();
    let limit = Arc::new(Semaphore::new(run.requests));
    let mut existing = {
        let _permit = limit.clone().acquire_owned().await.expect("semaphore open");
        graph.mail_folders(&user_id).await?
    };
    let mut jobs = JoinSet::new();
    for f in &cat.containers {
        let path = run.nested_path(cat, f);
        let label = path.join("/");
        run.event(Phase::Folder, Some(label.clone()));
        // Folder requests queue for a permit behind the messages already spawned (the
        // semaphore is fair), so they never exceed the mailbox's limit either.
        let permit = limit.clone().acquire_owned().await.expect("semaphore open");
        // Folders first, parents before children; `None` once one is missing in a dry run.
        let mut parent: Option<String> = None;
        let mut folder_id: Option<String> = None;
        let mut new = false;
        for (depth, name) in path.iter().enumerate() {
            if depth > 0 && parent.is_none() {
                break;
            }
            match find_folder(&existing, parent.as_deref(), name) {
                Some(found) => {
                    folder_id = Some(found.id.clone());
                }
                None if run.dry_run => {
                    let at = path[..=depth].join("/");
                    if !run
                        .planned
                        .iter()
                        .any(|p| p.folder == at && p.kind == "folder")
                    {
                        run.plan("create-folder", "folder", &at, "");
                    }
                    folder_id = None;
                    new = true;
                }
                None => {
                    let (g, uid, parent) = (&graph, &user_id, parent.as_deref());
                    let created = create_container(
                        || g.create_folder(uid, parent, name),
                        || async move {
                            let now = g.mail_folders(uid).await?;
                            Ok(find_folder(&now, parent, name).cloned())
                        },
                    )
                    .await?;
                    folder_id = Some(created.id.clone());
                    existing.push(created);
                    run.folders_created += 1;
                    new = true;
                }
            }
            parent = folder_id.clone();
        }
        // Messages already there (same Internet message id and received time: the original,
        // or a copy from an earlier run of this restore). A copy that an interrupted run left
        // half made (created, its attachments not all added) does not count: it is removed and
        // the message restored again.
        let mut present: HashMap<(String, String), Vec<String>> = HashMap::new();
        let mut half_made = Vec::new();
        if let (Some(fid), false) = (&folder_id, new) {
            let query = format!(
                "$select=id,internetMessageId,receivedDateTime\
                 &$expand=singleValueExtendedProperties($filter=id eq '{RESTORE_STATE}')"
            );
            for m in graph.folder_messages(&user_id, fid, &query).await? {
                let id = m["id"].as_str().unwrap_or("").to_string();
                if restore_state(&m) == Some(RESTORE_INCOMPLETE) {
                    half_made.push(id);
                } else {
                    present.entry(key_of(&m)).or_default().push(id);
                }
            }
        }
        if !run.dry_run {
            for id in half_made {
                if let Err(e) = graph.delete_message(&user_id, &id).await {
                    // It stays marked; the next run tries again.
                    tracing::warn!(message = %id, error = %e, "half-restored message not removed");
                }
            }
        }
        drop(permit);
        for item in f.items.clone() {
            let key = key_of(&item.attrs);
            let there = if key.0.is_empty() {
                None
            } else {
                present.get_mut(&key).and_then(Vec::pop)
            };
            let Some(action) = run.decide("message", &label, &item.name, there) else {
                continue;
            };
            let Some(fid) = folder_id.clone() else {
                continue;
            };
            let (graph, repo, limit, uid, label) = (
                graph.clone(),
                run.repo.clone(),
                limit.clone(),
                user_id.clone(),
                label.clone(),
            );
            jobs.spawn(async move {
                let _permit = limit.acquire_owned().await.expect("semaphore open");
                let name = item.name.clone();
                let replaced = matches!(action, Action::Replace(_));
                let r = async {
                    if let Action::Replace(old) = &action {
                        graph.delete_message(&uid, old).await?;
                    }
                    restore_message(&graph, repo, &uid, &fid, item).await
                }
                .await;
                (label, name, replaced, r)
            });
        }
        // Record what has finished so far; the rest keeps running while the next folder is
        // prepared.
        while let Some(joined) = jobs.try_join_next() {
            run.record_mail(joined)?;
        }
    }
    while let Some(joined) = jobs.join_next().await {
        run.record_mail(joined)?;
    }
    Ok(())
}

/// A named extended property (in QCBackup's own property set) on a message that a restore
/// creates first and completes with attachments after: `incomplete` until the last one is
/// added, then `complete`. A crash in between leaves a message marked incomplete, which the
/// next run replaces instead of taking it for restored.
const RESTORE_STATE: &str =
    "String {6f1c2a9e-4b7d-4e35-9a0c-5d8e3f2b1a74} Name QCBackupRestoreState";
const RESTORE_INCOMPLETE: &str = "incomplete";
const RESTORE_COMPLETE: &str = "complete";

fn restore_state(message: &Value) -> Option<&str> {
    message["singleValueExtendedProperties"]
        .as_array()?
        .iter()
        .find(|p| {
            p["id"]
                .as_str()
                .is_some_and(|id| id.eq_ignore_ascii_case(RESTORE_STATE))
        })?["value"]
        .as_str()
}

fn key_of(v: &Value) -> (String, String) {
    (
        v["internetMessageId"].as_str().unwrap_or("").to_string(),
        v["receivedDateTime"].as_str().unwrap_or("").to_string(),
    )
}

/// Whether a folder (contact folder, calendar, task list) named `existing` is the one a restore
/// means by `wanted`: Exchange trims a new folder's name and refuses a second folder whose name
/// differs only in case, so `Projects` is restored into an existing `projects`, and a folder
/// backed up as ` Notes ` is found again as `Notes`.
pub(crate) fn same_folder_name(existing: &str, wanted: &str) -> bool {
    existing.trim().to_lowercase() == wanted.trim().to_lowercase()
}

/// Whether a create that ended with `e` may have been carried out all the same: the answer
/// was an error of the service or the gateway, or never arrived whole.
fn outcome_unknown(e: &qcb_graph::GraphError) -> bool {
    use qcb_graph::GraphError as G;
    match e {
        G::Interrupted { .. }
        | G::Unreachable { .. }
        | G::Malformed { .. }
        | G::Throttled { .. } => true,
        G::Api { status, .. } => matches!(status, 500 | 502 | 503 | 504),
        _ => false,
    }
}

/// How many times a container is created before the restore gives up on it.
const CREATE_ATTEMPTS: u32 = 4;

/// Creates a container whose name its parent holds only once (a mail or contact folder, a
/// calendar, a task list), riding out creates whose outcome is unknown. The client does not
/// repeat a POST that got a 503, a 504 or no whole answer (Exchange may have made the folder
/// all the same), so this looks with `find` first: a container of that name there now is the
/// one just made; otherwise it creates again, up to [`CREATE_ATTEMPTS`] times. A repeated
/// create of a folder that was made after all is refused (409 `ErrorFolderExists`), and the
/// look settles that too.
pub(crate) async fn create_container<T, C, F>(
    create: impl Fn() -> C,
    find: impl Fn() -> F,
) -> Result<T>
where
    C: Future<Output = qcb_graph::Result<T>>,
    F: Future<Output = qcb_graph::Result<Option<T>>>,
{
    let mut attempt = 1;
    loop {
        let e = match create().await {
            Ok(made) => return Ok(made),
            Err(e) => e,
        };
        let exists = e.status() == Some(409);
        if !(exists || outcome_unknown(&e)) {
            return Err(e.into());
        }
        if let Some(found) = find().await? {
            return Ok(found);
        }
        if exists || attempt >= CREATE_ATTEMPTS {
            return Err(e.into());
        }
        tracing::warn!(attempt, error = %e, "creating a folder failed; trying again");
        tokio::time::sleep(std::time::Duration::from_secs(1 << attempt)).await;
        attempt += 1;
    }
}

/// The folder `name` under `parent` (or at the top of the mailbox).
pub(crate) fn find_folder<'a>(
    existing: &'a [MailFolder],
    parent: Option<&str>,
    name: &str,
) -> Option<&'a MailFolder> {
    existing.iter().find(|f| {
        same_folder_name(&f.display_name, name)
            && match parent {
                Some(p) => f.parent_folder_id.as_deref() == Some(p),
                // Top level: a folder whose parent is not itself in the list (msgfolderroot).
                None => f
                    .parent_folder_id
                    .as_ref()
                    .is_none_or(|p| !existing.iter().any(|o| &o.id == p)),
            }
    })
}

async fn restore_message(
    graph: &GraphClient,
    repo: Repository,
    user_id: &str,
    folder_id: &str,
    item: Node,
) -> Result<()> {
    let (body, later) = tokio::task::spawn_blocking(move || -> Result<_> {
        let mime = repo.read_content(&item.content)?;
        let meta: Value = match item.meta {
            Some(m) => serde_json::from_slice(&repo.read_data(&m)?)
                .map_err(|e| EngineError::Internal(format!("item properties: {e}")))?,
            None => Value::Null,
        };
        let mut parts = mime::split(&mime).map_err(EngineError::InvalidInput)?;
        if let Some(big) = parts
            .attachments
            .iter()
            .find(|a| a.bytes.len() > MAX_ATTACHMENT)
        {
            return Err(EngineError::InvalidInput(format!(
                "an attachment of {} bytes exceeds the 150 MB Exchange Online takes",
                big.bytes.len()
            )));
        }
        // Graph takes at most 4 MB in one request, attachments base64-encoded: they go in the
        // create request only when it stays below that with the body and headers.
        let request_bytes: usize = parts
            .attachments
            .iter()
            .map(|a| a.bytes.len().div_ceil(3) * 4 + a.name.len() + 512)
            .sum::<usize>()
            + parts.body.len() * 11 / 10
            + parts.header_block.len() * 11 / 10
            + 16 * 1024;
        let without_attachments =
            (parts.body.len() + parts.header_block.len()) * 11 / 10 + 16 * 1024;
        if without_attachments > CREATE_REQUEST_LIMIT {
            return Err(EngineError::InvalidInput(format!(
                "its body and headers ({} bytes) are larger than the 4 MB Graph takes in one \
                 request, so it cannot be recreated in a mailbox; export it to a file instead",
                parts.body.len() + parts.header_block.len()
            )));
        }
        let later = if request_bytes > CREATE_REQUEST_LIMIT {
            std::mem::take(&mut parts.attachments)
        } else {
            Vec::new()
        };
        let mut body = message_json(&meta, &parts, 0);
        if !later.is_empty() {
            body["singleValueExtendedProperties"]
                .as_array_mut()
                .expect("message_json writes the list")
                .push(json!({ "id": RESTORE_STATE, "value": RESTORE_INCOMPLETE }));
        }
        Ok((body, later))
    })
    .await??;
    let created = graph.create_message(user_id, folder_id, &body).await?;
    if later.is_empty() {
        return Ok(());
    }
    let id = created["id"].as_str().unwrap_or_default().to_string();
    let added = async {
        for a in &later {
            // Small ones (an attached message of any size up to a create request's limit, as
            // Graph takes item attachments only that way) go in one request each.
            if a.bytes.len() < INLINE_ATTACHMENT_LIMIT
                || (a.content_type == "message/rfc822" && a.bytes.len() < ITEM_ATTACHMENT_LIMIT)
            {
                graph
                    .add_message_attachment(user_id, &id, &attachment_json(a, 1))
                    .await?;
            } else {
                let file = qcb_graph::UploadFile {
                    name: &a.name,
                    content_type: &a.content_type,
                    is_inline: a.is_inline,
                    content_id: a.content_id.as_deref(),
                    bytes: &a.bytes,
                };
                graph.upload_message_attachment(user_id, &id, &file).await?;
            }
        }
        let done = json!({ "singleValueExtendedProperties": [
            { "id": RESTORE_STATE, "value": RESTORE_COMPLETE }
        ] });
        graph.update_message(user_id, &id, &done).await?;
        Ok::<_, qcb_graph::GraphError>(())
    }
    .await;
    if let Err(e) = added {
        // Without all its attachments it would pass for restored next time.
        if let Err(d) = graph.delete_message(user_id, &id).await {
            tracing::warn!(message = %id, error = %d, "incomplete restored message not removed");
        }
        return Err(e.into());
    }
    Ok(())
}

/// Graph's JSON for one attachment: an attached message (`message/rfc822`) becomes an
/// `itemAttachment` holding that message, with its own body, headers, dates and attachments
/// (nested ones too); everything else a `fileAttachment`. An attached message that cannot be
/// parsed, or is nested `MAX_ITEM_NESTING` deep, comes back as the file it is. `depth` is how
/// many attached messages hold this attachment (1 on the restored message itself).
fn attachment_json(a: &mime::MimeAttachment, depth: usize) -> Value {
    use base64::Engine;
    if a.content_type == "message/rfc822"
        && depth <= MAX_ITEM_NESTING
        && let Ok(parts) = mime::split(&a.bytes)
        && let Ok(meta) = mime::headers_meta(&a.bytes)
    {
        let mut item = message_json(&meta, &parts, depth);
        item["@odata.type"] = json!("#microsoft.graph.message");
        return json!({
            "@odata.type": "#microsoft.graph.itemAttachment",
            "name": a.name,
            "item": item,
        });
    }
    json!({
        "@odata.type": "#microsoft.graph.fileAttachment",
        "name": a.name, "contentType": a.content_type, "isInline": a.is_inline,
        "contentId": a.content_id,
        "contentBytes": base64::engine::general_purpose::STANDARD.encode(&a.bytes),
    })
}

/// The JSON create request that brings a message back as it was (with the attachments left in
/// `parts`); `depth` as for [`attachment_json`], 0 for the restored message.
fn message_json(meta: &Value, parts: &mime::MimeParts, depth: usize) -> Value {
    let mut m = serde_json::Map::new();
    for key in [
        "subject",
        "importance",
        "categories",
        "internetMessageId",
        "from",
        "sender",
        "toRecipients",
        "ccRecipients",
        "bccRecipients",
        "replyTo",
        "flag",
        "inferenceClassification",
    ] {
        if let Some(v) = meta.get(key).filter(|v| !v.is_null()) {
            m.insert(key.into(), v.clone());
        }
    }
    m.insert(
        "body".into(),
        json!({ "contentType": parts.body_type, "content": parts.body }),
    );
    let attachments: Vec<Value> = parts
        .attachments
        .iter()
        .map(|a| attachment_json(a, depth + 1))
        .collect();
    if !attachments.is_empty() {
        m.insert("attachments".into(), Value::Array(attachments));
    }
    let mut ext = Vec::new();
    if meta["isDraft"].as_bool() != Some(true) {
        // PidTagMessageFlags: MSGFLAG_READ (1) or nothing (0); never MSGFLAG_UNSENT, so the
        // message is a received one, not a draft.
        let flags = if meta["isRead"].as_bool() == Some(true) {
            "1"
        } else {
            "0"
        };
        ext.push(json!({ "id": "Integer 0x0E07", "value": flags }));
    }
    if let Some(t) = meta["receivedDateTime"].as_str() {
        ext.push(json!({ "id": "SystemTime 0x0E06", "value": t }));
    }
    if let Some(t) = meta["sentDateTime"].as_str() {
        ext.push(json!({ "id": "SystemTime 0x0039", "value": t }));
    }
    if !parts.header_block.is_empty() {
        ext.push(json!({ "id": "String 0x007D", "value": parts.header_block }));
    }
    m.insert("singleValueExtendedProperties".into(), Value::Array(ext));
    Value::Object(m)
}
