use qcb_engine::{Browse, ItemPreview, ItemVersionInfo, SnapshotInfo};
use tauri::State;

use crate::error::ApiResult;
use crate::state::AppState;

#[tauri::command]
pub async fn snapshots_list(state: State<'_, AppState>) -> ApiResult<Vec<SnapshotInfo>> {
    Ok(qcb_engine::api::list_snapshots(state.repo()?).await?)
}

#[tauri::command]
pub async fn snapshot_browse(
    state: State<'_, AppState>,
    snapshot_id: String,
    path: String,
) -> ApiResult<Browse> {
    Ok(qcb_engine::api::browse(state.repo()?, snapshot_id, path).await?)
}

#[tauri::command]
pub async fn item_preview(
    state: State<'_, AppState>,
    snapshot_id: String,
    path: String,
) -> ApiResult<ItemPreview> {
    Ok(qcb_engine::api::item_preview(state.repo()?, snapshot_id, path).await?)
}

/// Every snapshot's copy of one item, oldest first (following moves between folders).
#[tauri::command]
pub async fn item_versions(
    state: State<'_, AppState>,
    item_id: String,
) -> ApiResult<Vec<ItemVersionInfo>> {
    Ok(qcb_engine::api::item_versions(state.repo()?, item_id).await?)
}
