use std::path::PathBuf;
use std::sync::Arc;

use qcb_engine::RepoHandle;
use serde::{Deserialize, Serialize};
use tauri::State;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RepoSummary {
    id: String,
    path: String,
    snapshot_count: usize,
    /// Set when the password could not be remembered in the OS keychain.
    keychain_warning: Option<String>,
}

impl RepoSummary {
    pub async fn of(h: Arc<RepoHandle>) -> ApiResult<RepoSummary> {
        let (id, path) = (h.repository().id().to_string(), h.repository().location());
        let snapshot_count = qcb_engine::api::list_snapshots(h).await?.len();
        Ok(RepoSummary {
            id,
            path,
            snapshot_count,
            keychain_warning: None,
        })
    }
}

/// Where the repository is, as the UI describes it.
#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum RepoLocation {
    Local {
        path: String,
    },
    #[serde(rename_all = "camelCase")]
    S3 {
        endpoint: String,
        bucket: String,
    },
}

/// Opens (or, with `create`, initialises) a repository; remembers its password in the OS
/// keychain when asked (an empty password uses the remembered one).
#[tauri::command]
pub async fn repo_open(
    state: State<'_, AppState>,
    location: RepoLocation,
    password: String,
    create: bool,
    remember: bool,
) -> ApiResult<RepoSummary> {
    let path = match location {
        RepoLocation::Local { path } if !path.trim().is_empty() => PathBuf::from(path.trim()),
        RepoLocation::Local { .. } => {
            return Err(ApiError::new(
                "invalid_input",
                "Choose a folder for the repository.",
            ));
        }
        RepoLocation::S3 { endpoint, bucket } => {
            return Err(ApiError::new(
                "invalid_input",
                format!(
                    "S3 storage ({bucket} at {endpoint}) is not available in this version of \
                     the desktop app yet; use the qcbackup command line, or a local folder."
                ),
            ));
        }
    };
    let opened = qcb_engine::api::open_repository_for_user(
        path,
        password,
        state.cache_root.clone(),
        create,
        remember,
        state.secrets.clone(),
    )
    .await?;
    state.set_repo(opened.handle.clone());
    let mut summary = RepoSummary::of(opened.handle).await?;
    summary.keychain_warning = opened.keychain_warning;
    Ok(summary)
}
