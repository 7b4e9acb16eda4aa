use qcb_engine::{SearchQuery, SearchResults};
use tauri::State;

use crate::error::ApiResult;
use crate::state::AppState;

/// Full-text search across the open repository's snapshots.
#[tauri::command]
pub async fn search(state: State<'_, AppState>, query: SearchQuery) -> ApiResult<SearchResults> {
    Ok(qcb_engine::api::search(state.repo()?, query).await?)
}
