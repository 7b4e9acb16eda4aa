use std::path::PathBuf;
use std::sync::Arc;

use qcb_engine::RepoHandle;
use serde::Serialize;
use tauri::State;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RepoSummary {
    id: String,
    path: String,
    snapshot_count: usize,
}

impl RepoSummary {
    pub async fn of(h: Arc<RepoHandle>) -> ApiResult<RepoSummary> {
        let (id, path) = (h.repository().id().to_string(), h.repository().location());
        let snapshot_count = qcb_engine::api::list_snapshots(h).await?.len();
        Ok(RepoSummary {
            id,
            path,
            snapshot_count,
        })
    }
}

/// Opens (or, with `create`, initialises) the repository at `path`.
#[tauri::command]
pub async fn repo_open(
    state: State<'_, AppState>,
    path: String,
    password: String,
    create: bool,
) -> ApiResult<RepoSummary> {
    if path.trim().is_empty() {
        return Err(ApiError::new(
            "invalid_input",
            "Choose a folder for the repository.",
        ));
    }
    let handle = qcb_engine::api::open_repository(
        PathBuf::from(path.trim()),
        password,
        state.cache_root.clone(),
        create,
    )
    .await?;
    state.set_repo(handle.clone());
    RepoSummary::of(handle).await
}
