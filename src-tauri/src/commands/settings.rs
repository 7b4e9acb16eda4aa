use qcb_engine::AppSettings;
use tauri::{AppHandle, State};

use crate::error::ApiResult;
use crate::state::AppState;

#[tauri::command]
pub async fn settings_get(state: State<'_, AppState>) -> ApiResult<AppSettings> {
    Ok(qcb_engine::api::settings_get(state.settings_path.clone()).await?)
}

/// Validates and saves the settings, then applies what the desktop does with them (start at
/// login).
#[tauri::command]
pub async fn settings_set(
    app: AppHandle,
    state: State<'_, AppState>,
    settings: AppSettings,
) -> ApiResult<AppSettings> {
    let saved = qcb_engine::api::settings_set(state.settings_path.clone(), settings).await?;
    crate::desktop::apply_settings(&app, &saved)?;
    Ok(saved)
}

/// Opens the folder of the app's log files in the file manager.
#[tauri::command]
pub async fn open_log_folder(app: AppHandle) -> ApiResult<()> {
    crate::desktop::open_log_folder(&app)
}
