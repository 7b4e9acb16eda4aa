//! Async entry points for front ends: each runs the blocking repository work off the async
//! workers, so a CLI subcommand or a desktop command is a one-line call.

use std::path::PathBuf;
use std::sync::Arc;

use crate::error::Result;
use crate::handle::RepoHandle;
use crate::types::{Browse, SnapshotInfo};

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f).await?
}

/// Opens a repository, or creates one when `create` is set (with the default Argon2id cost).
pub async fn open_repository(
    path: PathBuf,
    password: String,
    cache_root: PathBuf,
    create: bool,
) -> Result<Arc<RepoHandle>> {
    blocking(move || {
        let h = if create {
            RepoHandle::create(
                &path,
                &password,
                qcb_repo::KdfParams::default(),
                &cache_root,
            )?
        } else {
            RepoHandle::open(&path, &password, &cache_root)?
        };
        Ok(Arc::new(h))
    })
    .await
}

pub async fn list_snapshots(repo: Arc<RepoHandle>) -> Result<Vec<SnapshotInfo>> {
    blocking(move || repo.snapshots()).await
}

pub async fn browse(repo: Arc<RepoHandle>, snapshot: String, path: String) -> Result<Browse> {
    blocking(move || repo.browse(&snapshot, &path)).await
}

/// Checks the repository's structure (every snapshot, tree and referenced blob) and then reads
/// and verifies every blob. One line per problem; empty when all is well.
pub async fn check(repo: Arc<RepoHandle>) -> Result<Vec<String>> {
    blocking(move || {
        let r = repo.repository();
        let mut problems = r.check_structure()?;
        problems.extend(r.check_data()?);
        Ok(problems)
    })
    .await
}
