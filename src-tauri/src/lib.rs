//! The QCBackup Manager desktop shell. The only crate that knows Tauri: it owns the window,
//! the app state and the commands, and calls the engine for everything else.

mod commands;
mod error;
mod state;

use tauri::Manager;

pub(crate) fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .unwrap_or_else(|| "desktop".into())
}

/// Starts the app: one tokio runtime, handed to Tauri, and the main window.
pub fn run() {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("QCBACKUP_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    tauri::async_runtime::set(runtime.handle().clone());

    tauri::Builder::default()
        .setup(|app| {
            let data_dir = app.path().app_data_dir()?;
            let cache_dir = app.path().app_cache_dir()?;
            let config_dir = app.path().app_config_dir()?;
            let identifier = app.config().identifier.clone();
            let state = tauri::async_runtime::block_on(state::AppState::new(
                data_dir, cache_dir, config_dir, identifier,
            ))?;
            tracing::info!(demo = state.demo, graph = %state.connection.graph_url, "tenant connection ready");
            app.manage(state);
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            commands::app::app_info,
            commands::repo::repo_open,
            commands::snapshots::snapshots_list,
            commands::snapshots::snapshot_browse,
            commands::snapshots::item_preview,
            commands::backup::backup_run,
            commands::settings::settings_get,
            commands::settings::settings_set,
        ])
        .run(tauri::generate_context!())
        .expect("error while running QCBackup Manager");
}
