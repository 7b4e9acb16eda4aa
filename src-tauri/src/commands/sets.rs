//! Backup sets (the dashboard and the wizard) and the job history.

use std::sync::Arc;

use qcb_engine::ProgressEvent;
use qcb_engine::sets::{RunRecord, SetForm, SetOverview, SetRunReport};
use tauri::ipc::Channel;
use tauri::{AppHandle, State};

use super::ChannelProgress;
use crate::error::ApiResult;
use crate::state::AppState;

#[tauri::command]
pub async fn sets_list(state: State<'_, AppState>) -> ApiResult<Vec<SetOverview>> {
    state.sets_overview().await
}

#[tauri::command]
pub async fn set_get(state: State<'_, AppState>, name: String) -> ApiResult<SetForm> {
    Ok(qcb_engine::api::set_get(state.sets.clone(), name).await?)
}

/// Validates and saves a set; returns it as the dashboard shows it.
#[tauri::command]
pub async fn set_save(
    state: State<'_, AppState>,
    form: SetForm,
    replace: bool,
) -> ApiResult<SetOverview> {
    let name = form.name.clone();
    qcb_engine::api::set_save(state.sets.clone(), form, replace).await?;
    state.set_overview(&name).await
}

#[tauri::command]
pub async fn set_remove(state: State<'_, AppState>, name: String) -> ApiResult<()> {
    Ok(qcb_engine::api::set_remove(state.sets.clone(), name).await?)
}

/// Backs the set up now, streaming progress; `set_stop` ends it early.
#[tauri::command]
pub async fn set_run(
    app: AppHandle,
    state: State<'_, AppState>,
    name: String,
    on_progress: Channel<ProgressEvent>,
) -> ApiResult<SetRunReport> {
    crate::desktop::run_set(
        &app,
        &state,
        &name,
        "manual",
        Arc::new(ChannelProgress::new(on_progress)),
    )
    .await
}

#[tauri::command]
pub async fn set_stop(state: State<'_, AppState>, name: String) -> ApiResult<()> {
    state.stop_set(&name)
}

#[tauri::command]
pub async fn history_list(
    state: State<'_, AppState>,
    set_name: Option<String>,
    limit: usize,
) -> ApiResult<Vec<RunRecord>> {
    Ok(qcb_engine::api::history(state.sets.clone(), set_name, limit).await?)
}

/// The log of one run (its last megabyte), as the app wrote it while the run went on.
#[tauri::command]
pub async fn history_log(state: State<'_, AppState>, run_id: i64) -> ApiResult<String> {
    Ok(qcb_engine::api::run_log(state.log_dir.join("runs"), run_id, 1 << 20).await?)
}
