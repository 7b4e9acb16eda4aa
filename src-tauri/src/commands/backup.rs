use std::sync::Arc;

use qcb_engine::{BackupOptions, BackupReport, ProgressEvent};
use tauri::State;
use tauri::ipc::Channel;

use super::ChannelProgress;
use crate::error::ApiResult;
use crate::state::AppState;

/// Backs up every mailbox of the connected tenant into the open repository.
#[tauri::command]
pub async fn backup_run(
    state: State<'_, AppState>,
    on_progress: Channel<ProgressEvent>,
) -> ApiResult<BackupReport> {
    let repo = state.repo()?;
    let _running = state.start_backup()?;
    let graph = Arc::new(state.connection.client()?);
    let mut opts = BackupOptions::new(chrono::Utc::now(), state.hostname.clone());
    opts.spool_dir = Some(state.cache_root.clone());
    if let Ok(settings) = qcb_engine::AppSettings::load(&state.settings_path) {
        opts.mailbox_concurrency = settings.concurrency as usize;
    }
    Ok(qcb_engine::backup(
        graph,
        repo.repository().clone(),
        opts,
        Arc::new(ChannelProgress::new(on_progress)),
    )
    .await?)
}
