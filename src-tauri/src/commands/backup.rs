use std::sync::Arc;

use qcb_engine::{BackupOptions, BackupReport, Progress, ProgressEvent};
use tauri::State;
use tauri::ipc::Channel;

use crate::error::ApiResult;
use crate::state::AppState;

/// Streams engine progress to the window that started the job.
struct ChannelProgress(Channel<ProgressEvent>);

impl Progress for ChannelProgress {
    fn event(&self, event: ProgressEvent) {
        // A closed window just stops listening; the backup goes on.
        let _ = self.0.send(event);
    }
}

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
    Ok(qcb_engine::backup(
        graph,
        repo.repository().clone(),
        opts,
        Arc::new(ChannelProgress(on_progress)),
    )
    .await?)
}
