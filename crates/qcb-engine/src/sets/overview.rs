//! What a dashboard shows of each set: its last run, next run, size, items per run, and what
//! needs the user (a sign-in to renew, a missing permission, an unreachable repository).

use chrono::{DateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use super::store::{RunRecord, RunStatus, SetStore};
use super::{BackupSet, RunOn, SecretKind, category_names};
use crate::error::Result;
use crate::secrets::SecretStore;
use crate::types::SnapshotInfo;

/// Something about a set the user has to act on.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct SetWarning {
    /// `signin_expired`, `missing_secret`, `permission_missing`, `repo_unreachable`,
    /// `last_run_failed`.
    pub code: String,
    pub message: String,
}

/// One set on the dashboard.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct SetOverview {
    pub name: String,
    pub run_on: RunOn,
    pub schedule: String,
    pub repository: String,
    pub mailboxes_label: String,
    pub categories: Vec<String>,
    pub last_run: Option<RunRecord>,
    pub next_run: Option<DateTime<Utc>>,
    /// Stored size of the newest snapshot the set made, when it is in `snapshots`.
    pub size_bytes: Option<u64>,
    /// Items of the last runs that made a snapshot, oldest first (at most 20).
    pub items_per_run: Vec<u64>,
    pub running: bool,
    pub warnings: Vec<SetWarning>,
}

/// Runs looked at per set for the sparkline.
const SPARK_RUNS: usize = 20;

/// The overview of every set. `snapshots` are the open repository's (for sizes), `running`
/// names the sets this process runs now, `zone` reads schedules' clock times. Reads the
/// secret store (to warn about missing secrets): call off the async workers.
pub fn overview<Tz: TimeZone>(
    store: &SetStore,
    secrets: &dyn SecretStore,
    snapshots: &[SnapshotInfo],
    running: &[String],
    zone: &Tz,
) -> Result<Vec<SetOverview>> {
    let mut out = Vec::new();
    for stored in store.list()? {
        let set = stored.set;
        let runs = store.runs(Some(&set.name), SPARK_RUNS)?;
        let last_run = runs.first().cloned();
        let last_started = store.last_started(&set.name)?;
        let next_run = set
            .schedule
            .next_due(last_started, stored.created, zone)
            .map(|t| t.with_timezone(&Utc));
        let size_bytes = runs
            .iter()
            .filter_map(|r| r.snapshot_id.as_deref())
            .find_map(|id| snapshots.iter().find(|s| s.id == id))
            .map(|s| s.size_bytes);
        let items_per_run = runs
            .iter()
            .rev()
            .filter(|r| r.snapshot_id.is_some())
            .map(|r| r.items)
            .collect();
        let is_running = running.iter().any(|r| r.eq_ignore_ascii_case(&set.name))
            || last_run
                .as_ref()
                .is_some_and(|r| r.status == RunStatus::Running);
        out.push(SetOverview {
            warnings: warnings(&set, last_run.as_ref(), secrets),
            name: set.name.clone(),
            run_on: set.run_on,
            schedule: set.schedule.to_string(),
            repository: set.repository.clone(),
            mailboxes_label: mailboxes_label(&set),
            categories: category_names(&set.categories),
            last_run,
            next_run,
            size_bytes,
            items_per_run,
            running: is_running,
        });
    }
    Ok(out)
}

/// `All users`, `All users and shared mailboxes`, `alice@x`, `3 mailboxes` …
pub fn mailboxes_label(set: &BackupSet) -> String {
    let m = &set.mailboxes;
    if m.is_everything() || m.all_users {
        return "All users".into();
    }
    let mut parts = Vec::new();
    match m.users.as_slice() {
        [] => {}
        [one] => parts.push(one.clone()),
        many => parts.push(format!("{} mailboxes", many.len())),
    }
    if m.filter.is_some() {
        parts.push("users matching a filter".into());
    }
    if m.shared {
        parts.push("shared mailboxes".into());
    }
    parts.join(", ")
}

fn warnings(
    set: &BackupSet,
    last: Option<&RunRecord>,
    secrets: &dyn SecretStore,
) -> Vec<SetWarning> {
    let mut out = Vec::new();
    for (kind, entry) in set.secret_entries() {
        let message = match kind {
            SecretKind::RepositoryPassword => {
                "The repository password is not in the keychain, so the set cannot run on its \
                 own: edit the set and store the password."
            }
            SecretKind::RefreshToken => {
                "No sign-in is stored for this set: edit the set and sign in again."
            }
            SecretKind::ClientSecret | SecretKind::ClientCertificate => {
                "The app's client secret or certificate is not in the keychain: edit the set \
                 and sign in again."
            }
        };
        match secrets.get(&entry) {
            Ok(Some(_)) => {}
            Ok(None) => out.push(SetWarning {
                code: "missing_secret".into(),
                message: message.into(),
            }),
            Err(e) => out.push(SetWarning {
                code: "keychain".into(),
                message: format!("The keychain could not be read: {e}"),
            }),
        }
    }
    if let Some(r) = last.filter(|r| r.status == RunStatus::Failed) {
        let text = r.message.clone().unwrap_or_default();
        // Failed runs record `[code] message`.
        let code = text
            .strip_prefix('[')
            .and_then(|t| t.split_once(']'))
            .map(|(c, _)| c)
            .unwrap_or("");
        let (code, hint) = match code {
            "sign_in" => (
                "signin_expired",
                "The sign-in was refused or has expired: edit the set and sign in again.",
            ),
            "access_denied" => (
                "permission_missing",
                "Microsoft 365 refused access: run the permission check in the set's wizard \
                 and grant what it names.",
            ),
            "repository" | "locked" | "access_denied_repo" => (
                "repo_unreachable",
                "The repository could not be used: check that its folder or bucket is \
                 reachable.",
            ),
            _ => ("last_run_failed", "The last run failed."),
        };
        out.push(SetWarning {
            code: code.into(),
            message: format!("{hint} ({text})"),
        });
    }
    out
}
