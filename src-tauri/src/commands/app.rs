use serde::Serialize;
use tauri::State;

use crate::commands::repo::RepoSummary;
use crate::error::ApiResult;
use crate::state::AppState;

/// What the window learns at start: the app, its tenant, and the repository already open.
#[derive(Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct AppInfo {
    version: &'static str,
    demo_tenant: bool,
    graph_url: String,
    default_repo_path: String,
    /// The folder of the app's log files (one a day, the last 14 kept); `open_log_folder`
    /// opens it.
    log_dir: String,
    /// Non-null when a repository is already open.
    repo: Option<RepoSummary>,
}

#[tauri::command]
pub async fn app_info(state: State<'_, AppState>) -> ApiResult<AppInfo> {
    let repo = match state.current_repo() {
        Some(h) => Some(RepoSummary::of(h).await?),
        None => None,
    };
    Ok(AppInfo {
        version: env!("CARGO_PKG_VERSION"),
        demo_tenant: state.demo,
        graph_url: state.connection.graph_url.clone(),
        default_repo_path: state.default_repo_path.display().to_string(),
        log_dir: state.log_dir.display().to_string(),
        repo,
    })
}
