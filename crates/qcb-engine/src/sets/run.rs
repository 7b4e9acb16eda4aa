//! Running a backup set: sign in, back up, apply the set's retention, record the run.

use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::store::{RunOutcome, RunStatus, SetStore};
use super::{AuthMethod, BackupSet, SecretKind};
use crate::api::blocking;
use crate::error::{EngineError, Result};
use crate::progress::Progress;
use crate::secrets::SecretStore;
use crate::types::{BackupReport, Connection, ForgetReport};
use crate::{BackupOptions, PruneOptions};

/// What a set's run needs besides the set.
#[derive(Clone)]
pub struct RunContext {
    pub store: Arc<SetStore>,
    pub secrets: Arc<dyn SecretStore>,
    /// Where the repositories' catalog caches live.
    pub cache_dir: PathBuf,
    pub hostname: String,
    /// `manual`, `schedule` or `client`: recorded in the history.
    pub trigger: String,
    /// Mailboxes backed up at once (the desktop's Settings → concurrency); `None`: the
    /// engine's default.
    pub mailbox_concurrency: Option<usize>,
}

/// What one run of a set did.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct SetRunReport {
    pub run_id: i64,
    pub set_name: String,
    pub status: super::RunStatus,
    pub backup: BackupReport,
    /// The set's retention, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub retention: Option<ForgetReport>,
    /// Why retention could not be applied (the backup itself is fine).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub retention_error: Option<String>,
}

/// Runs the set named `name` now and records the run in the history, whatever its outcome.
/// Item failures make a run end with [`RunStatus::Warning`]; a run that could not make a
/// snapshot returns the error (also recorded).
pub async fn run_set(
    ctx: &RunContext,
    name: &str,
    now: DateTime<Utc>,
    progress: Arc<dyn Progress>,
) -> Result<SetRunReport> {
    run_set_until(ctx, name, now, progress, std::future::pending()).await
}

/// [`run_set`], stopped when `stop` completes: the run is then recorded as interrupted and
/// ends in [`EngineError::Cancelled`]; the next run resumes from what the repository holds.
pub async fn run_set_until(
    ctx: &RunContext,
    name: &str,
    now: DateTime<Utc>,
    progress: Arc<dyn Progress>,
    stop: impl std::future::Future<Output = ()>,
) -> Result<SetRunReport> {
    let (store, n) = (ctx.store.clone(), name.to_string());
    let set = blocking(move || store.get(&n)).await?.set;
    let (store, set_name, trigger, host) = (
        ctx.store.clone(),
        set.name.clone(),
        ctx.trigger.clone(),
        ctx.hostname.clone(),
    );
    let run_id = blocking(move || store.start_run(&set_name, &trigger, &host, now)).await?;
    let clock = std::time::Instant::now();
    tracing::info!(set = %set.name, run = run_id, "backup set run started");
    let logged = tracing::Instrument::instrument(
        run_inner(ctx, &set, now, progress),
        tracing::info_span!(crate::runlog::RUN_SPAN, run = run_id),
    );
    let result = tokio::select! {
        r = logged => r,
        () = stop => Err(EngineError::Cancelled(format!(
            "the backup of {:?} was stopped before it finished",
            set.name
        ))),
    };
    let (status, outcome) = match &result {
        Ok((backup, retention, retention_error)) => {
            let warning = !backup.failed.is_empty() || retention_error.is_some();
            let mut notes = Vec::new();
            if !backup.failed.is_empty() {
                notes.push(format!("{} item(s) failed", backup.failed.len()));
            }
            if let Some(e) = retention_error {
                notes.push(format!("retention not applied: {e}"));
            }
            (
                if warning {
                    RunStatus::Warning
                } else {
                    RunStatus::Succeeded
                },
                RunOutcome {
                    snapshot_id: Some(backup.snapshot_id.clone()),
                    mailboxes: backup.mailboxes,
                    items: backup.items,
                    items_fetched: backup.items_fetched,
                    bytes_added: backup.bytes_added,
                    failed_items: backup.failed.len() as u64,
                    snapshots_forgotten: retention.as_ref().map_or(0, |r| r.removed),
                    message: (!notes.is_empty()).then(|| notes.join("; ")),
                    report: Some(serde_json::json!({
                        "failed": backup.failed,
                        "durationMs": backup.duration_ms,
                    })),
                },
            )
        }
        Err(e @ EngineError::Cancelled(_)) => (
            RunStatus::Interrupted,
            RunOutcome {
                message: Some(format!("stopped by the user: {e}")),
                ..Default::default()
            },
        ),
        Err(e) => (
            RunStatus::Failed,
            RunOutcome {
                message: Some(format!("[{}] {e}", e.code())),
                ..Default::default()
            },
        ),
    };
    let store = ctx.store.clone();
    let finished = now + chrono::Duration::from_std(clock.elapsed()).unwrap_or_default();
    blocking(move || store.finish_run(run_id, status, finished, &outcome)).await?;
    tracing::info!(set = %set.name, run = run_id, status = ?status, "backup set run finished");
    let (backup, retention, retention_error) = result?;
    Ok(SetRunReport {
        run_id,
        set_name: set.name,
        status,
        backup,
        retention,
        retention_error,
    })
}

type Inner = (BackupReport, Option<ForgetReport>, Option<String>);

async fn run_inner(
    ctx: &RunContext,
    set: &BackupSet,
    now: DateTime<Utc>,
    progress: Arc<dyn Progress>,
) -> Result<Inner> {
    // The key remembered beside the password is read alongside it: each keychain read is a
    // round trip to the OS's secret service.
    let remembered = {
        let secrets = ctx.secrets.clone();
        let entry = crate::secrets::remembered_key_entry(&set.repository);
        tokio::task::spawn_blocking(move || secrets.get(&entry))
    };
    let password = secret(ctx, set, SecretKind::RepositoryPassword).await?;
    let remembered = match remembered.await {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => {
            tracing::warn!(
                code = e.code(),
                "the remembered repository key could not be read"
            );
            None
        }
        Err(_) => None,
    };
    // An S3 repository's keys: the environment (servers), else the secret store (where the
    // desktop keeps them when the repository is opened with "remember").
    let (repository, secrets) = (set.repository.clone(), ctx.secrets.clone());
    let location = blocking(move || {
        let (id_entry, key_entry) = crate::secrets::s3_key_entries(&repository);
        qcb_repo::Location::parse_with_env(&repository, |k| {
            std::env::var(k).ok().filter(|v| !v.is_empty()).or_else(|| {
                let entry = match k {
                    "QCBACKUP_S3_ACCESS_KEY_ID" => &id_entry,
                    "QCBACKUP_S3_SECRET_ACCESS_KEY" => &key_entry,
                    _ => return None,
                };
                secrets.get(entry).ok().flatten()
            })
        })
        .map_err(|e| EngineError::InvalidInput(format!("repository {repository:?}: {e}")))
    })
    .await?;
    let handle = crate::api::open_repository_remembered(
        location,
        set.repository.clone(),
        password,
        remembered,
        ctx.cache_dir.clone(),
        ctx.secrets.clone(),
    )
    .await?;
    let graph = Arc::new(client(ctx, set).await?);
    let mut opts = BackupOptions::new(now, ctx.hostname.clone());
    opts.selection = set.mailboxes.clone();
    opts.categories = set.categories;
    opts.mailbox_categories = set
        .mailbox_categories
        .iter()
        .map(|(k, v)| (k.clone(), v.0))
        .collect();
    opts.folders = set.folders.clone();
    opts.tags = vec![set.tag()];
    opts.spool_dir = Some(ctx.cache_dir.clone());
    if let Some(n) = ctx.mailbox_concurrency {
        opts.mailbox_concurrency = n.clamp(1, 16);
    }
    let backup = crate::backup(graph, handle.repository().clone(), opts, progress).await?;
    let Some(policy) = set.retention.clone() else {
        return Ok((backup, None, None));
    };
    match apply_retention(handle, policy, set.tag()).await {
        Ok(r) => Ok((backup, Some(r), None)),
        Err(e) => {
            tracing::warn!(set = %set.name, code = e.code(), "retention not applied");
            Ok((backup, None, Some(e.to_string())))
        }
    }
}

async fn apply_retention(
    handle: Arc<crate::RepoHandle>,
    policy: qcb_repo::RetentionPolicy,
    group: String,
) -> Result<ForgetReport> {
    let report = crate::api::forget_group(handle.clone(), policy, Some(group), false).await?;
    if report.removed > 0 {
        crate::api::prune(handle, PruneOptions::default()).await?;
    }
    Ok(report)
}

/// "Test connection" for a saved set: signs in the way the set does and probes its mailboxes
/// and categories (at most `limit` mailboxes; 0: all).
pub async fn test_set(
    ctx: &RunContext,
    name: &str,
    limit: usize,
) -> Result<crate::ConnectionReport> {
    let (store, n) = (ctx.store.clone(), name.to_string());
    let set = blocking(move || store.get(&n)).await?.set;
    let graph = Arc::new(client(ctx, &set).await?);
    crate::test_connection(
        graph,
        &set.connection.client_id,
        crate::ConnectionTest {
            mailboxes: Vec::new(),
            selection: set.mailboxes.clone(),
            categories: set.categories,
            limit,
        },
    )
    .await
}

async fn secret(ctx: &RunContext, set: &BackupSet, kind: SecretKind) -> Result<String> {
    let entry = set
        .secret_entry(kind)
        .ok_or_else(|| EngineError::Internal(format!("the set has no {kind:?} entry")))?;
    let (secrets, e) = (ctx.secrets.clone(), entry.clone());
    blocking(move || secrets.get(&e)).await?.ok_or_else(|| {
        let kind_text = kind.as_str();
        EngineError::MissingSecret(format!(
            "backup set {:?}: no {kind_text} in the secret store (entry {entry:?}); store it \
             with `qcbackup set secret {:?} {kind_text}`",
            set.name, set.name
        ))
    })
}

/// A Graph client signed in the way the set says.
async fn client(ctx: &RunContext, set: &BackupSet) -> Result<crate::GraphClient> {
    let name = set.name.clone();
    connection_client(ctx.secrets.clone(), &set.connection, move |kind, entry| {
        let kind_text = kind.as_str();
        EngineError::MissingSecret(format!(
            "backup set {name:?}: no {kind_text} in the secret store (entry {entry:?}); store it \
             with `qcbackup set secret {name:?} {kind_text}`"
        ))
    })
    .await
}

/// A Graph client for a set's connection, its secret read from `secrets` (`missing` words
/// the error when the secret is not there).
pub async fn connection_client(
    secrets: Arc<dyn SecretStore>,
    c: &super::SetConnection,
    missing: impl Fn(SecretKind, &str) -> EngineError,
) -> Result<crate::GraphClient> {
    let read = |kind: SecretKind| {
        let entry = c.secret_entry(kind).unwrap_or_default();
        let secrets = secrets.clone();
        let missing = &missing;
        async move {
            let e = entry.clone();
            blocking(move || secrets.get(&e))
                .await?
                .ok_or_else(|| missing(kind, &entry))
        }
    };
    let conn = Connection {
        graph_url: c.graph_url.clone(),
        authority: c.authority.clone(),
        tenant_id: c.tenant_id.clone(),
        client_id: c.client_id.clone(),
        client_secret: String::new(),
    };
    match c.auth {
        AuthMethod::ClientSecret => Connection {
            client_secret: read(SecretKind::ClientSecret).await?,
            ..conn
        }
        .client(),
        AuthMethod::Certificate => {
            let cert = match &c.certificate {
                Some(path) => {
                    let path = path.clone();
                    blocking(move || Ok(qcb_graph::ClientCertificate::from_pem_file(&path)?))
                        .await?
                }
                None => {
                    let pem = read(SecretKind::ClientCertificate).await?;
                    qcb_graph::ClientCertificate::from_pem(&pem)?
                }
            };
            conn.client_with(qcb_graph::Credentials::Certificate(cert))
        }
        AuthMethod::Delegated => {
            // Fails early with a clear message when no one has signed in yet.
            read(SecretKind::RefreshToken).await?;
            let entry = c.secret_entry(SecretKind::RefreshToken).unwrap_or_default();
            let store = crate::secrets::TokenInStore::new(secrets.clone(), entry);
            conn.client_with(qcb_graph::Credentials::delegated(
                Arc::new(store),
                qcb_graph::DEFAULT_DELEGATED_SCOPES,
            ))
        }
    }
}
