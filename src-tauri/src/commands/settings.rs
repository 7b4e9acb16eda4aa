use qcb_engine::AppSettings;
use tauri::State;

use crate::error::ApiResult;
use crate::state::AppState;

#[tauri::command]
pub async fn settings_get(state: State<'_, AppState>) -> ApiResult<AppSettings> {
    Ok(qcb_engine::api::settings_get(state.settings_path.clone()).await?)
}

#[tauri::command]
pub async fn settings_set(
    state: State<'_, AppState>,
    settings: AppSettings,
) -> ApiResult<AppSettings> {
    Ok(qcb_engine::api::settings_set(state.settings_path.clone(), settings).await?)
}
