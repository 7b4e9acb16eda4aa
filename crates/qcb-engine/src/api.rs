//! Async entry points for front ends: each runs the blocking repository work off the async
//! workers, so a CLI subcommand or a desktop command is a one-line call.

use std::path::PathBuf;
use std::sync::Arc;

use crate::error::Result;
use crate::handle::RepoHandle;
use qcb_repo::{
    KdfParams, KeyInfo, LockInfo, LockKind, PruneOptions, PruneReport, ReadData, RetentionPolicy,
};

use crate::types::{
    Browse, CheckReport, ForgetEntry, ForgetReport, ItemPreview, ItemVersionInfo, SnapshotInfo,
};

/// Runs blocking work (disk, SQLite, crypto) off the async workers.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(f).await?
}

/// Opens a repository in a folder, or creates one when `create` is set (with the default
/// Argon2id cost).
pub async fn open_repository(
    path: PathBuf,
    password: String,
    cache_root: PathBuf,
    create: bool,
) -> Result<Arc<RepoHandle>> {
    open_repository_at(
        qcb_repo::Location::Local(path),
        password,
        cache_root,
        create,
    )
    .await
}

/// Opens (or, with `create`, creates) a repository at any location: a folder or an S3 bucket
/// prefix (`qcb_repo::Location`, e.g. parsed from `s3:http://host:port/bucket/prefix`).
pub async fn open_repository_at(
    location: qcb_repo::Location,
    password: String,
    cache_root: PathBuf,
    create: bool,
) -> Result<Arc<RepoHandle>> {
    blocking(move || {
        let h = if create {
            RepoHandle::create_at(
                &location,
                &password,
                qcb_repo::KdfParams::default(),
                &cache_root,
            )?
        } else {
            RepoHandle::open_at(&location, &password, &cache_root)?
        };
        Ok(Arc::new(h))
    })
    .await
}

/// Opens an existing repository whose password `password` was read from `secrets` (entry
/// `repository_password_entry(name)`, `name` being the repository as the set names it), with
/// the key remembered beside that password (`remembered`: what `secrets` holds under
/// `remembered_key_entry(name)`) when it still applies; a fresh one is remembered there when
/// it did not (a keychain that refuses is logged and otherwise ignored: the repository is
/// open). What a scheduled run does, so that a run with nothing to back up does not spend its
/// time deriving the key.
pub async fn open_repository_remembered(
    location: qcb_repo::Location,
    name: String,
    password: String,
    remembered: Option<String>,
    cache_root: PathBuf,
    secrets: Arc<dyn crate::secrets::SecretStore>,
) -> Result<Arc<RepoHandle>> {
    blocking(move || {
        let (handle, renewed) =
            RepoHandle::open_remembering(&location, &password, remembered.as_deref(), &cache_root)?;
        if let Some(key) = renewed {
            let beside = crate::secrets::repository_password_entry(&name);
            let entry = crate::secrets::remembered_key_entry(&name);
            if let Err(e) = secrets.set_beside(&beside, &entry, key.expose()) {
                tracing::warn!(
                    code = e.code(),
                    "the repository key could not be remembered"
                );
            }
        }
        Ok(Arc::new(handle))
    })
    .await
}

pub async fn list_snapshots(repo: Arc<RepoHandle>) -> Result<Vec<SnapshotInfo>> {
    blocking(move || repo.snapshots()).await
}

pub async fn browse(repo: Arc<RepoHandle>, snapshot: String, path: String) -> Result<Browse> {
    blocking(move || repo.browse(&snapshot, &path)).await
}

/// Checks the repository's structure (every snapshot, tree and referenced blob, and that the
/// packs they are in exist), then reads and verifies the packs `read_data` selects (none when
/// `None`). Holds a shared lock, so no prune runs meanwhile.
pub async fn check(repo: Arc<RepoHandle>, read_data: Option<ReadData>) -> Result<CheckReport> {
    blocking(move || {
        let r = repo.repository();
        let _lock = r.lock(LockKind::Shared)?;
        let mut problems = r.check_structure()?;
        let data = match read_data {
            Some(which) => r.check_data(which)?,
            None => Default::default(),
        };
        problems.extend(data.problems);
        Ok(CheckReport {
            snapshots: r.snapshot_ids()?.len() as u64,
            packs_total: data.packs_total as u64,
            packs_read: data.packs_read as u64,
            blobs_verified: data.blobs_verified as u64,
            problems,
        })
    })
    .await
}

fn time_text(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Applies a retention policy: decides, with reasons, which snapshots go, and removes them
/// unless `dry_run`. Takes an exclusive lock (unless `dry_run`). Data is freed by [`prune`].
pub async fn forget(
    repo: Arc<RepoHandle>,
    policy: RetentionPolicy,
    dry_run: bool,
) -> Result<ForgetReport> {
    forget_group(repo, policy, None, dry_run).await
}

/// [`forget`] restricted to one group of snapshots (their tags sorted and joined by commas,
/// e.g. a backup set's `set:<name>`); other groups are left alone.
pub async fn forget_group(
    repo: Arc<RepoHandle>,
    policy: RetentionPolicy,
    group: Option<String>,
    dry_run: bool,
) -> Result<ForgetReport> {
    blocking(move || {
        let r = repo.repository();
        let _lock = if dry_run {
            None
        } else {
            Some(r.lock(LockKind::Exclusive)?)
        };
        let mut decisions = r.plan_forget(&policy, chrono::Utc::now())?;
        if let Some(g) = &group {
            decisions.retain(|d| &d.group == g);
        }
        let removed = if dry_run {
            0
        } else {
            r.forget(&decisions)? as u64
        };
        Ok(ForgetReport {
            dry_run,
            removed,
            entries: decisions
                .into_iter()
                .map(|d| ForgetEntry {
                    short_id: d.snapshot.short().to_string(),
                    snapshot_id: d.snapshot.0,
                    time: time_text(d.time),
                    group: d.group,
                    keep: d.keep,
                    reasons: d.reasons,
                })
                .collect(),
        })
    })
    .await
}

/// Removes data no snapshot uses. Takes an exclusive lock (a dry run only a shared one).
pub async fn prune(repo: Arc<RepoHandle>, options: PruneOptions) -> Result<PruneReport> {
    blocking(move || {
        let r = repo.repository();
        let _lock = r.lock(if options.dry_run {
            LockKind::Shared
        } else {
            LockKind::Exclusive
        })?;
        Ok(r.prune(options)?)
    })
    .await
}

/// Full-text search across every snapshot (or one), bringing the local search index up to
/// date first (reading new snapshots' items off the async workers). Bad query syntax is
/// `invalid_input`.
pub async fn search(
    repo: Arc<RepoHandle>,
    query: crate::search::SearchQuery,
) -> Result<crate::search::SearchResults> {
    blocking(move || repo.search(&query)).await
}

/// Every snapshot's copy of one item (by its id), oldest first, following moves.
pub async fn item_versions(repo: Arc<RepoHandle>, item_id: String) -> Result<Vec<ItemVersionInfo>> {
    blocking(move || {
        let r = repo.repository();
        Ok(r.item_versions(&item_id)?
            .into_iter()
            .map(|v| ItemVersionInfo {
                short_id: v.snapshot.short().to_string(),
                snapshot_id: v.snapshot.0,
                time: time_text(v.time),
                path: v.path,
                size: v.node.size,
                subject: v.node.attrs["subject"].as_str().unwrap_or("").to_string(),
                changed: v.changed,
            })
            .collect())
    })
    .await
}

/// One message of a snapshot as the preview pane shows it (MIME parsing off the async workers).
pub async fn item_preview(
    repo: Arc<RepoHandle>,
    snapshot: String,
    path: String,
) -> Result<ItemPreview> {
    blocking(move || repo.item_preview(&snapshot, &path)).await
}

/// Exports part of a snapshot to files on disk or into a zip (see [`crate::ExportOptions`]).
pub async fn export(
    repo: Arc<RepoHandle>,
    options: crate::ExportOptions,
    progress: Arc<dyn crate::Progress>,
) -> Result<crate::ExportReport> {
    crate::export(repo.repository().clone(), options, progress).await
}

/// Rebuilds the local catalog from the repository alone.
pub async fn rebuild_catalog(repo: Arc<RepoHandle>) -> Result<usize> {
    blocking(move || repo.rebuild_catalog()).await
}

pub async fn list_keys(repo: Arc<RepoHandle>) -> Result<Vec<KeyInfo>> {
    blocking(move || Ok(repo.repository().list_keys()?)).await
}

/// Adds a password that opens the repository; returns the new key's id.
pub async fn add_key(repo: Arc<RepoHandle>, password: String) -> Result<String> {
    blocking(move || {
        Ok(repo
            .repository()
            .add_key(password.as_bytes(), KdfParams::default())?)
    })
    .await
}

pub async fn remove_key(repo: Arc<RepoHandle>, id: String) -> Result<String> {
    blocking(move || Ok(repo.repository().remove_key(&id)?)).await
}

/// Changes the password this repository was opened with; no data is re-encrypted.
pub async fn change_password(repo: Arc<RepoHandle>, new_password: String) -> Result<String> {
    blocking(move || {
        Ok(repo
            .repository()
            .change_password(new_password.as_bytes(), KdfParams::default())?)
    })
    .await
}

pub async fn list_locks(repo: Arc<RepoHandle>) -> Result<Vec<LockInfo>> {
    blocking(move || Ok(repo.repository().list_locks()?)).await
}

/// Removes stale locks (every lock with `all`). Returns how many.
pub async fn unlock(repo: Arc<RepoHandle>, all: bool) -> Result<usize> {
    blocking(move || Ok(repo.repository().unlock(all)?)).await
}

/// Saved app settings (defaults when none were saved).
pub async fn settings_get(path: PathBuf) -> Result<crate::AppSettings> {
    blocking(move || crate::AppSettings::load(&path)).await
}

/// Validates and saves app settings; returns what was saved.
pub async fn settings_set(
    path: PathBuf,
    settings: crate::AppSettings,
) -> Result<crate::AppSettings> {
    blocking(move || {
        settings.save(&path)?;
        Ok(settings)
    })
    .await
}

/// What opening a repository for a person (rather than a server) returns: the handle, and a
/// warning when the password could not be remembered (the repository is open regardless).
pub struct Opened {
    pub handle: Arc<RepoHandle>,
    pub keychain_warning: Option<String>,
}

/// Opens or creates a repository (a folder, or an S3 bucket prefix) for a person: the
/// password comes from `secrets` when `password` is empty, and so does an S3 location's secret
/// key when its `secret_access_key` is empty; afterwards both are remembered there
/// (`remember`) or forgotten (`!remember`). A keychain that cannot be used never stops the
/// repository from opening; it is reported in [`Opened::keychain_warning`].
pub async fn open_repository_for_user(
    mut location: qcb_repo::Location,
    password: String,
    cache_root: PathBuf,
    create: bool,
    remember: bool,
    secrets: Arc<dyn crate::secrets::SecretStore>,
) -> Result<Opened> {
    let text = location.to_string();
    let entry = crate::secrets::repository_password_entry(&text);
    let (key_id_entry, key_entry) = crate::secrets::s3_key_entries(&text);
    let stored = |e: String| {
        let s = secrets.clone();
        async move { blocking(move || s.get(&e)).await }
    };
    let password = if password.is_empty() && !create {
        stored(entry.clone()).await?.ok_or_else(|| {
            crate::EngineError::InvalidInput(
                "Enter the repository password (none is remembered for this repository).".into(),
            )
        })?
    } else {
        password
    };
    let mut s3_keys = None;
    if let qcb_repo::Location::S3(s3) = &mut location {
        if s3.secret_access_key.expose().is_empty() {
            let key = stored(key_entry.clone()).await?.ok_or_else(|| {
                crate::EngineError::InvalidInput(
                    "Enter the S3 secret access key (none is remembered for this repository)."
                        .into(),
                )
            })?;
            s3.secret_access_key = qcb_repo::Secret::new(key);
        }
        s3_keys = Some((
            s3.access_key_id.clone(),
            s3.secret_access_key.expose().to_string(),
        ));
    }
    let mut warning = None;
    let remembered_entry = crate::secrets::remembered_key_entry(&text);
    let (handle, renewed) = if create {
        let handle = open_repository_at(location, password.clone(), cache_root, true).await?;
        let key = handle.repository().remembered_key(password.as_bytes());
        (handle, Some(key))
    } else {
        let (secrets, e, pw) = (secrets.clone(), remembered_entry.clone(), password.clone());
        blocking(move || {
            // An unreadable keychain is reported below, when remembering fails too.
            let remembered = secrets.get(&e).ok().flatten();
            let (h, renewed) =
                RepoHandle::open_remembering(&location, &pw, remembered.as_deref(), &cache_root)?;
            Ok((Arc::new(h), renewed))
        })
        .await?
    };
    let result = blocking(move || {
        if remember {
            secrets.set(&entry, &password)?;
            if let Some(key) = renewed {
                secrets.set_beside(&entry, &remembered_entry, key.expose())?;
            }
            if let Some((id, key)) = &s3_keys {
                secrets.set(&key_id_entry, id)?;
                secrets.set(&key_entry, key)?;
            }
            Ok(())
        } else {
            secrets.delete(&remembered_entry)?;
            secrets.delete(&entry)?;
            if s3_keys.is_some() {
                secrets.delete(&key_id_entry)?;
                secrets.delete(&key_entry)?;
            }
            Ok(())
        }
    })
    .await;
    if let Err(e) = result {
        tracing::warn!(code = e.code(), "the keychain could not be used");
        warning = Some(e.to_string());
    }
    Ok(Opened {
        handle,
        keychain_warning: warning,
    })
}

/// Every backup set as a dashboard shows it (see [`crate::sets::overview`]); `repo` is the
/// open repository (for snapshot sizes), `running` the sets the caller runs now.
pub async fn sets_overview(
    store: Arc<crate::sets::SetStore>,
    secrets: Arc<dyn crate::secrets::SecretStore>,
    repo: Option<Arc<RepoHandle>>,
    running: Vec<String>,
) -> Result<Vec<crate::sets::SetOverview>> {
    blocking(move || {
        let snapshots = match repo {
            Some(r) => r.snapshots()?,
            None => Vec::new(),
        };
        crate::sets::overview(
            &store,
            secrets.as_ref(),
            &snapshots,
            &running,
            &chrono::Local,
        )
    })
    .await
}

/// A saved set as the desktop form edits it.
pub async fn set_get(
    store: Arc<crate::sets::SetStore>,
    name: String,
) -> Result<crate::sets::SetForm> {
    blocking(move || Ok(crate::sets::SetForm::from(&store.get(&name)?.set))).await
}

/// Validates and saves a set from the desktop form (`replace`: over the set of that name).
pub async fn set_save(
    store: Arc<crate::sets::SetStore>,
    form: crate::sets::SetForm,
    replace: bool,
) -> Result<()> {
    blocking(move || {
        let stored = if replace {
            Some(store.get(&form.name)?.set)
        } else {
            None
        };
        let set = form.to_set(stored.as_ref())?;
        store.save(&set, replace, chrono::Utc::now())
    })
    .await
}

/// Removes a saved set (its snapshots and history stay).
pub async fn set_remove(store: Arc<crate::sets::SetStore>, name: String) -> Result<()> {
    blocking(move || store.remove(&name)).await
}

/// The job history, newest first: of one set or of all; `limit` 0 means all.
pub async fn history(
    store: Arc<crate::sets::SetStore>,
    set_name: Option<String>,
    limit: usize,
) -> Result<Vec<crate::sets::RunRecord>> {
    blocking(move || store.runs(set_name.as_deref(), limit)).await
}

/// The log of one set run (its last `max` bytes) from the folder a
/// [`crate::runlog::RunLogLayer`] writes.
pub async fn run_log(dir: PathBuf, run_id: i64, max: usize) -> Result<String> {
    blocking(move || crate::runlog::read_run_log(&dir, run_id, max)).await
}
