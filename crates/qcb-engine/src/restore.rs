//! Restore: a mailbox or folder from a snapshot into a folder of a mailbox, as received
//! (non-draft) messages with their original dates, read state, flag, importance, categories,
//! headers, body and attachments.

use std::sync::Arc;
use std::time::Instant;

use qcb_graph::{GraphClient, MailFolder};
use qcb_repo::{Node, NodeKind, Repository};
use serde_json::{Value, json};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::error::{EngineError, Result};
use crate::mime;
use crate::progress::{Phase, Progress, ProgressEvent};
use crate::types::{FailedItem, RestoreReport};

/// Graph takes a create-message request of up to 4 MB; attachments above 3 MB need an upload
/// session.
const INLINE_ATTACHMENT_LIMIT: usize = 3 * 1024 * 1024;

#[derive(Debug, Clone)]
pub struct RestoreOptions {
    /// `latest`, a snapshot id or a unique prefix.
    pub snapshot: String,
    /// `/mailbox` or `/mailbox/Folder/Sub` inside the snapshot.
    pub path: String,
    /// Restore into this mailbox instead of the one the items came from.
    pub target_mailbox: Option<String>,
    /// The top-level folder that receives the restored hierarchy (created if missing).
    pub to_folder: String,
    pub requests_per_mailbox: usize,
}

/// One folder to recreate, parent-first, with its items.
struct PlanFolder {
    /// Names under the target folder.
    rel: Vec<String>,
    items: Vec<Node>,
}

struct Plan {
    mailbox: String,
    user_id: Option<String>,
    folders: Vec<PlanFolder>,
    /// Categories in the chosen scope that this restore leaves out (not restorable yet).
    left_out: Vec<String>,
}

fn plan(repo: &Repository, opts: &RestoreOptions) -> Result<Plan> {
    let snap = repo.find_snapshot(&opts.snapshot)?;
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
            "give a path that starts with a mailbox, e.g. /alice@contoso.com/Inbox".into(),
        ));
    };
    let root = repo.load_tree(&snap.tree)?;
    let mbx = root
        .get(mailbox)
        .filter(|n| n.kind == NodeKind::Dir)
        .ok_or_else(|| not_found("mailbox"))?;
    let user_id = mbx.attrs["userId"].as_str().map(str::to_string);
    let mut tree = repo.load_tree(&mbx.subtree.ok_or_else(|| not_found("mailbox"))?)?;
    // Snapshots with item categories keep mail under `Mail`; older ones have the mail folders
    // right under the mailbox.
    let mut rest: &[String] = rest;
    let categories: Vec<&Node> = tree
        .nodes
        .iter()
        .filter(|n| n.kind == NodeKind::Dir && n.attrs["category"].is_string())
        .collect();
    let mut left_out = Vec::new();
    if !categories.is_empty() {
        let wanted = rest
            .first()
            .map(String::as_str)
            .unwrap_or(crate::categories::MAIL);
        if rest.is_empty() {
            left_out = categories
                .iter()
                .map(|n| n.name.clone())
                .filter(|n| n != crate::categories::MAIL)
                .collect();
        }
        if wanted != crate::categories::MAIL {
            return Err(EngineError::InvalidInput(format!(
                "restoring {wanted:?} is not supported yet: only mail folders can be restored \
                 (give a path such as /{mailbox}/Mail/Inbox)"
            )));
        }
        let mail = categories
            .iter()
            .find(|n| n.name == crate::categories::MAIL)
            .and_then(|n| n.subtree)
            .ok_or_else(|| not_found("mail category"))?;
        tree = repo.load_tree(&mail)?;
        rest = rest.get(1..).unwrap_or(&[]);
    }
    let mut node: Option<Node> = None;
    for name in rest {
        let n = tree
            .get(name)
            .filter(|n| n.kind == NodeKind::Dir)
            .cloned()
            .ok_or_else(|| not_found("folder"))?;
        tree = repo.load_tree(&n.subtree.ok_or_else(|| not_found("folder"))?)?;
        node = Some(n);
    }
    let mut folders = Vec::new();
    match node {
        // A folder: recreate it (and everything under it) inside the target folder.
        Some(n) => collect(repo, vec![n.name.clone()], &tree, &mut folders)?,
        // A whole mailbox: every top-level folder.
        None => {
            for n in tree.nodes.iter().filter(|n| n.kind == NodeKind::Dir) {
                let sub = repo.load_tree(&n.subtree.ok_or_else(|| not_found("folder"))?)?;
                collect(repo, vec![n.name.clone()], &sub, &mut folders)?;
            }
        }
    }
    Ok(Plan {
        mailbox: mailbox.clone(),
        user_id,
        folders,
        left_out,
    })
}

fn collect(
    repo: &Repository,
    rel: Vec<String>,
    tree: &qcb_repo::Tree,
    out: &mut Vec<PlanFolder>,
) -> Result<()> {
    let items = tree
        .nodes
        .iter()
        .filter(|n| n.kind == NodeKind::Item)
        .cloned()
        .collect();
    out.push(PlanFolder {
        rel: rel.clone(),
        items,
    });
    for n in tree.nodes.iter().filter(|n| n.kind == NodeKind::Dir) {
        if let Some(sub) = n.subtree {
            let mut r = rel.clone();
            r.push(n.name.clone());
            collect(repo, r, &repo.load_tree(&sub)?, out)?;
        }
    }
    Ok(())
}

/// Restores a folder or mailbox from a snapshot into `opts.to_folder`.
#[tracing::instrument(skip_all)]
pub async fn restore(
    graph: Arc<GraphClient>,
    repo: Repository,
    opts: RestoreOptions,
    progress: Arc<dyn Progress>,
) -> Result<RestoreReport> {
    let started = Instant::now();
    if opts.to_folder.trim().is_empty() {
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
    let total: u64 = plan.folders.iter().map(|f| f.items.len() as u64).sum();
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
    let event = |phase, folder: Option<String>, done| {
        progress.event(ProgressEvent {
            phase,
            mailbox: Some(user.user_principal_name.clone()),
            folder,
            items_done: done,
            items_total: total,
            bytes_done: 0,
        });
    };
    event(Phase::Listing, None, 0);

    // Folders first, parents before children.
    let mut existing = graph.mail_folders(&user.id).await?;
    let top = find_or_create(&graph, &user.id, &mut existing, None, opts.to_folder.trim()).await?;
    let mut created = 0u64;
    // (folder id, whether this restore created it)
    let mut folder_ids: Vec<(String, bool)> = Vec::with_capacity(plan.folders.len());
    for f in &plan.folders {
        let mut parent = top.id.clone();
        let mut new = false;
        for name in &f.rel {
            let before = existing.len();
            let folder =
                find_or_create(&graph, &user.id, &mut existing, Some(&parent), name).await?;
            new = existing.len() > before;
            parent = folder.id;
        }
        created += u64::from(new);
        folder_ids.push((parent, new));
    }

    let limit = Arc::new(Semaphore::new(opts.requests_per_mailbox.clamp(1, 4)));
    // A whole-mailbox restore says what it could not bring back, rather than leaving it out
    // silently.
    let mut failed: Vec<FailedItem> = plan
        .left_out
        .iter()
        .map(|category| FailedItem {
            mailbox: plan.mailbox.clone(),
            folder: category.clone(),
            item_id: String::new(),
            reason: format!("{category} were not restored: only mail can be restored so far"),
        })
        .collect();
    let mut restored = 0u64;
    let mut skipped = 0u64;
    for (f, (folder_id, new)) in plan.folders.iter().zip(&folder_ids) {
        let folder_label = f.rel.join("/");
        event(
            Phase::Folder,
            Some(folder_label.clone()),
            restored + skipped,
        );
        // A message already in the target folder (same Internet message id and received time,
        // from an earlier run of this restore, say) is skipped, never duplicated.
        let present: std::collections::HashSet<(String, String)> = if *new {
            Default::default()
        } else {
            graph
                .folder_messages(&user.id, folder_id, "internetMessageId,receivedDateTime")
                .await?
                .iter()
                .map(|m| {
                    (
                        m["internetMessageId"].as_str().unwrap_or("").to_string(),
                        m["receivedDateTime"].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect()
        };
        let mut jobs = JoinSet::new();
        for item in f.items.clone() {
            let key = (
                item.attrs["internetMessageId"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
                item.attrs["receivedDateTime"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
            );
            if !key.0.is_empty() && present.contains(&key) {
                skipped += 1;
                continue;
            }
            let (graph, repo, limit, user_id, folder_id) = (
                graph.clone(),
                repo.clone(),
                limit.clone(),
                user.id.clone(),
                folder_id.clone(),
            );
            jobs.spawn(async move {
                let _permit = limit.acquire_owned().await.expect("semaphore open");
                let name = item.name.clone();
                (
                    name,
                    restore_item(&graph, repo, &user_id, &folder_id, item).await,
                )
            });
        }
        while let Some(joined) = jobs.join_next().await {
            let (item_id, r) = joined?;
            match r {
                Ok(()) => restored += 1,
                Err(EngineError::Graph(e)) if e.is_fatal() => return Err(e.into()),
                Err(e @ EngineError::Repo(qcb_repo::Error::Io { .. })) => return Err(e),
                Err(e) => {
                    tracing::warn!(item = %item_id, error = %e, "item not restored");
                    failed.push(FailedItem {
                        mailbox: user.user_principal_name.clone(),
                        folder: folder_label.clone(),
                        item_id,
                        reason: e.to_string(),
                    });
                }
            }
            event(
                Phase::Items,
                Some(folder_label.clone()),
                restored + skipped + failed.len() as u64,
            );
        }
    }
    event(Phase::Done, None, total);
    Ok(RestoreReport {
        mailbox: user.user_principal_name,
        target_folder: opts.to_folder.trim().to_string(),
        folders_created: created,
        items_restored: restored,
        items_skipped: skipped,
        failed,
        duration_ms: started.elapsed().as_millis() as u64,
    })
}

async fn find_or_create(
    graph: &GraphClient,
    user_id: &str,
    existing: &mut Vec<MailFolder>,
    parent: Option<&str>,
    name: &str,
) -> Result<MailFolder> {
    let matches = |f: &MailFolder| {
        f.display_name == name
            && match parent {
                Some(p) => f.parent_folder_id.as_deref() == Some(p),
                // Top level: a folder whose parent is not itself in the list (msgfolderroot).
                None => f
                    .parent_folder_id
                    .as_ref()
                    .is_none_or(|p| !existing.iter().any(|o| &o.id == p)),
            }
    };
    if let Some(f) = existing.iter().find(|f| matches(f)) {
        return Ok(f.clone());
    }
    let f = graph.create_folder(user_id, parent, name).await?;
    existing.push(f.clone());
    Ok(f)
}

async fn restore_item(
    graph: &GraphClient,
    repo: Repository,
    user_id: &str,
    folder_id: &str,
    item: Node,
) -> Result<()> {
    let body = tokio::task::spawn_blocking(move || -> Result<Value> {
        let mime = repo.read_content(&item.content)?;
        let meta: Value = match item.meta {
            Some(m) => serde_json::from_slice(&repo.read_data(&m)?)
                .map_err(|e| EngineError::Internal(format!("item properties: {e}")))?,
            None => Value::Null,
        };
        let parts = mime::split(&mime).map_err(EngineError::InvalidInput)?;
        message_json(&meta, &parts)
    })
    .await??;
    graph.create_message(user_id, folder_id, &body).await?;
    Ok(())
}

/// The JSON create request that brings a message back as it was.
fn message_json(meta: &Value, parts: &mime::MimeParts) -> Result<Value> {
    use base64::Engine;
    let inline_bytes: usize = parts.attachments.iter().map(|a| a.bytes.len()).sum();
    if inline_bytes > INLINE_ATTACHMENT_LIMIT {
        return Err(EngineError::InvalidInput(format!(
            "attachments of {inline_bytes} bytes exceed the 3 MB a single request can carry; restoring them needs an upload session, which this version does not do yet"
        )));
    }
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
        .map(|a| {
            json!({
                "@odata.type": "#microsoft.graph.fileAttachment",
                "name": a.name, "contentType": a.content_type, "isInline": a.is_inline,
                "contentId": a.content_id,
                "contentBytes": base64::engine::general_purpose::STANDARD.encode(&a.bytes),
            })
        })
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
    Ok(Value::Object(m))
}
