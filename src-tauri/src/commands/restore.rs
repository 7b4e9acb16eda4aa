//! Restore to Microsoft 365 and export to files, of items picked in the browser or search.

use std::sync::Arc;

use qcb_engine::requests::{ExportRequest, RestoreRequest};
use qcb_engine::{ExportReport, ProgressEvent, RestoreReport};
use tauri::ipc::Channel;
use tauri::{AppHandle, State};

use super::ChannelProgress;
use crate::error::ApiResult;
use crate::state::{AppState, JOB_SLOT, until_stopped};

const BUSY: &str = "A restore or export is already running; wait for it or stop it first.";

#[tauri::command]
pub async fn restore_run(
    state: State<'_, AppState>,
    request: RestoreRequest,
    on_progress: Channel<ProgressEvent>,
) -> ApiResult<Vec<RestoreReport>> {
    let repo = state.repo()?;
    let (_job, stopped) = state.jobs.start(JOB_SLOT, BUSY)?;
    let progress = Arc::new(ChannelProgress::stoppable(on_progress, &stopped));
    let graph = state
        .restore_client(request.set_name.clone(), &request.snapshot_id)
        .await?;
    let job = qcb_engine::requests::restore_request(graph, repo, request, progress);
    until_stopped(job, stopped).await
}

#[tauri::command]
pub async fn export_run(
    state: State<'_, AppState>,
    request: ExportRequest,
    on_progress: Channel<ProgressEvent>,
) -> ApiResult<Vec<ExportReport>> {
    let repo = state.repo()?;
    let (_job, stopped) = state.jobs.start(JOB_SLOT, BUSY)?;
    let progress = Arc::new(ChannelProgress::stoppable(on_progress, &stopped));
    let job = qcb_engine::requests::export_request(repo, request, progress);
    until_stopped(job, stopped).await
}

#[tauri::command]
pub async fn job_cancel(state: State<'_, AppState>) -> ApiResult<()> {
    state.jobs.stop(JOB_SLOT);
    Ok(())
}

/// A native folder dialog; `None` when the person cancels it.
#[tauri::command]
pub async fn pick_folder(app: AppHandle, title: String) -> ApiResult<Option<String>> {
    crate::desktop::pick_folder(&app, &title).await
}
