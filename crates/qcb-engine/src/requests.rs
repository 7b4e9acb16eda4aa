//! Restore and export as a desktop form asks for them: several paths of one snapshot at
//! once (items picked in the browser or in search results), with a target, a conflict policy
//! and a dry run. Each path runs through [`crate::restore`] / [`crate::export`]; a path that
//! fails becomes a failed report instead of hiding what the others did.

use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::{EngineError, Result};
use crate::progress::Progress;
use crate::restore::{OnConflict, RestoreOptions, RestoreTarget};
use crate::types::{FailedItem, RestoreReport};
use crate::{ExportOptions, ExportReport, GraphClient, MailFormat, RepoHandle};

/// Where restored items go, as a form sends it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum TargetForm {
    Original,
    Folder { name: String },
}

/// A restore of some paths of one snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct RestoreRequest {
    pub snapshot_id: String,
    /// Browse paths: `/mailbox`, `/mailbox/Mail/Inbox`, `/mailbox/Mail/Inbox/<id>`; `/` is the
    /// whole snapshot.
    pub paths: Vec<String>,
    pub target_mailbox: Option<String>,
    pub target: TargetForm,
    pub recursive: bool,
    pub on_conflict: OnConflict,
    pub dry_run: bool,
    /// The backup set whose sign-in writes (the front end resolves it; `None`: the caller's
    /// default connection).
    pub set_name: Option<String>,
}

/// An export of some paths of one snapshot to files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ExportRequest {
    pub snapshot_id: String,
    pub paths: Vec<String>,
    pub recursive: bool,
    pub mail_format: MailFormat,
    pub event_files: bool,
    pub target: String,
    pub zip: bool,
    pub dry_run: bool,
    /// Also write into a folder that already holds files (none is ever overwritten).
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(as = "Option<bool>", optional))]
    pub allow_non_empty: bool,
}

fn check_paths(paths: &[String]) -> Result<()> {
    if paths.is_empty() {
        return Err(EngineError::InvalidInput(
            "choose what to restore: a mailbox, folder or items".into(),
        ));
    }
    if let Some(p) = paths.iter().find(|p| p.trim().is_empty()) {
        return Err(EngineError::InvalidInput(format!("an empty path ({p:?})")));
    }
    Ok(())
}

/// The mailbox a browse path starts with (`/alice@x/Mail/Inbox` → `alice@x`).
fn mailbox_of(path: &str) -> &str {
    path.trim_start_matches('/').split('/').next().unwrap_or("")
}

/// Runs a restore request: one report per path (the whole snapshot: one per mailbox).
pub async fn restore_request(
    graph: Arc<GraphClient>,
    repo: Arc<RepoHandle>,
    req: RestoreRequest,
    progress: Arc<dyn Progress>,
) -> Result<Vec<RestoreReport>> {
    check_paths(&req.paths)?;
    let target = match &req.target {
        TargetForm::Original => RestoreTarget::Original,
        TargetForm::Folder { name } if name.trim().is_empty() => {
            return Err(EngineError::InvalidInput(
                "name the folder to restore into".into(),
            ));
        }
        TargetForm::Folder { name } => RestoreTarget::Folder(name.trim().to_string()),
    };
    let target_mailbox = req
        .target_mailbox
        .as_ref()
        .map(|m| m.trim().to_string())
        .filter(|m| !m.is_empty());
    let base = |path: &str| RestoreOptions {
        snapshot: req.snapshot_id.clone(),
        at_or_before: None,
        path: path.to_string(),
        target_mailbox: target_mailbox.clone(),
        target: target.clone(),
        recursive: req.recursive,
        on_conflict: req.on_conflict,
        dry_run: req.dry_run,
        requests_per_mailbox: 4,
    };
    let mut reports = Vec::new();
    for path in &req.paths {
        if path.trim() == "/" {
            let opts = RestoreOptions {
                target_mailbox: None,
                ..base("/")
            };
            if target_mailbox.is_some() {
                return Err(EngineError::InvalidInput(
                    "a whole snapshot goes back into its own mailboxes; restore one mailbox \
                     to put it into another"
                        .into(),
                ));
            }
            let all = crate::restore_mailboxes(
                graph.clone(),
                repo.repository().clone(),
                opts,
                Vec::new(),
                8,
                progress.clone(),
            )
            .await?;
            reports.extend(all);
            continue;
        }
        let run = crate::restore(
            graph.clone(),
            repo.repository().clone(),
            base(path),
            progress.clone(),
        )
        .await;
        match run {
            Ok(r) => reports.push(r),
            // A path not in the snapshot fails alone; sign-in and repository failures stop
            // everything.
            Err(e @ EngineError::Repo(qcb_repo::Error::PathNotFound { .. })) => {
                reports.push(failed_path(path, &target_mailbox, req.dry_run, &e));
            }
            Err(
                e @ (EngineError::Repo(_)
                | EngineError::Graph(qcb_graph::GraphError::SignIn { .. })),
            ) => {
                return Err(e);
            }
            Err(e) => reports.push(failed_path(path, &target_mailbox, req.dry_run, &e)),
        }
    }
    Ok(reports)
}

/// The report of a path that could not be restored at all.
fn failed_path(
    path: &str,
    target_mailbox: &Option<String>,
    dry_run: bool,
    e: &EngineError,
) -> RestoreReport {
    RestoreReport {
        mailbox: target_mailbox
            .clone()
            .unwrap_or_else(|| mailbox_of(path).to_string()),
        target_folder: String::new(),
        dry_run,
        folders_created: 0,
        items_restored: 0,
        items_overwritten: 0,
        items_skipped: 0,
        skipped: Vec::new(),
        failed: vec![FailedItem {
            mailbox: mailbox_of(path).to_string(),
            folder: path.to_string(),
            item_id: String::new(),
            reason: format!("[{}] {e}", e.code()),
        }],
        planned: Vec::new(),
        duration_ms: 0,
    }
}

/// Runs an export request: one report per path, all into the same target folder (files
/// already there are never overwritten; a folder that already holds files needs
/// `allow_non_empty`, except for the request's own earlier paths). A zip holds one path.
pub async fn export_request(
    repo: Arc<RepoHandle>,
    req: ExportRequest,
    progress: Arc<dyn Progress>,
) -> Result<Vec<ExportReport>> {
    check_paths(&req.paths)?;
    if req.target.trim().is_empty() {
        return Err(EngineError::InvalidInput(
            "choose the folder to export into".into(),
        ));
    }
    if req.zip && req.paths.len() > 1 {
        return Err(EngineError::InvalidInput(
            "a zip file holds one mailbox, folder or item: export the others into a folder, \
             or one at a time"
                .into(),
        ));
    }
    let mut reports = Vec::new();
    for (i, path) in req.paths.iter().enumerate() {
        let path = if path.trim() == "/" {
            ""
        } else {
            path.as_str()
        };
        let opts = ExportOptions {
            snapshot: req.snapshot_id.clone(),
            recursive: req.recursive,
            mail_format: req.mail_format,
            event_files: req.event_files,
            zip: req.zip,
            allow_non_empty: req.allow_non_empty || i > 0,
            dry_run: req.dry_run,
            ..ExportOptions::new(path, PathBuf::from(req.target.trim()))
        };
        reports.push(crate::export(repo.repository().clone(), opts, progress.clone()).await?);
    }
    Ok(reports)
}
