//! The QCBackup Manager desktop shell. The only crate that knows Tauri: it owns the window,
//! the app state and the commands, and calls the engine for everything else.

mod commands;
mod desktop;
mod error;
mod state;

use tauri::{Manager, WindowEvent};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

pub(crate) fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .unwrap_or_else(|| "desktop".into())
}

/// Logs to stderr and to daily-rotated files in the app's log folder (14 kept). The level is
/// QCBACKUP_LOG when set, else the settings' log level. Nothing secret or from a mailbox is
/// logged by the engine at any level.
fn init_logging(
    log_dir: &std::path::Path,
    level: qcb_engine::LogLevel,
) -> Option<tracing_appender::non_blocking::WorkerGuard> {
    let level = format!("{level:?}").to_lowercase();
    let filter = || {
        tracing_subscriber::EnvFilter::try_from_env("QCBACKUP_LOG")
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(&level))
    };
    let file = std::fs::create_dir_all(log_dir).ok().and_then(|()| {
        tracing_appender::rolling::Builder::new()
            .rotation(tracing_appender::rolling::Rotation::DAILY)
            .filename_prefix("qcbackup-desktop")
            .filename_suffix("log")
            .max_log_files(14)
            .build(log_dir)
            .ok()
    });
    let stderr = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    // Each backup set run's own log, for the job history.
    let runs = qcb_engine::runlog::RunLogLayer::new(log_dir.join("runs"));
    match file {
        Some(appender) => {
            let (writer, guard) = tracing_appender::non_blocking(appender);
            let to_file = tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .with_writer(writer);
            let _ = tracing_subscriber::registry()
                .with(filter())
                .with(stderr)
                .with(to_file)
                .with(runs)
                .try_init();
            Some(guard)
        }
        None => {
            let _ = tracing_subscriber::registry()
                .with(filter())
                .with(stderr)
                .with(runs)
                .try_init();
            None
        }
    }
}

/// Starts the app: one tokio runtime, handed to Tauri, the main window, the tray and the
/// scheduler of this machine's backup sets.
pub fn run() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    tauri::async_runtime::set(runtime.handle().clone());

    tauri::Builder::default()
        // First, so that a second launch only brings the running app's window forward.
        .plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| {
            tracing::info!("second launch: showing the running app");
            desktop::show_main(app);
        }))
        .plugin(tauri_plugin_notification::init())
        .plugin(tauri_plugin_autostart::init(
            tauri_plugin_autostart::MacosLauncher::LaunchAgent,
            None,
        ))
        .plugin(tauri_plugin_dialog::init())
        .plugin(tauri_plugin_opener::init())
        .setup(|app| {
            let data_dir = app.path().app_data_dir()?;
            let cache_dir = app.path().app_cache_dir()?;
            let config_dir = app.path().app_config_dir()?;
            let log_dir = app.path().app_log_dir()?;
            let settings = qcb_engine::AppSettings::load(&config_dir.join("settings.json"))
                .unwrap_or_default();
            if let Some(guard) = init_logging(&log_dir, settings.log_level) {
                app.manage(guard);
            }
            let identifier = app.config().identifier.clone();
            let state = tauri::async_runtime::block_on(state::AppState::new(
                data_dir,
                cache_dir,
                config_dir,
                log_dir,
                identifier,
            ))
            .map_err(|e| e.to_string())?;
            tracing::info!(demo = state.demo, graph = %state.connection.graph_url, "tenant connection ready");
            app.manage(state);
            if let Err(e) = desktop::install_tray(app.handle()) {
                // No tray on this desktop: the app still works, with its window.
                tracing::warn!(error = %e, "the tray icon could not be created");
            }
            tauri::async_runtime::spawn(desktop::run_scheduler(app.handle().clone()));
            Ok(())
        })
        .on_window_event(|window, event| {
            if let WindowEvent::CloseRequested { api, .. } = event {
                let app = window.app_handle();
                let to_tray = app.tray_by_id("main").is_some()
                    && qcb_engine::AppSettings::load(&app.state::<state::AppState>().settings_path)
                        .map(|s| s.close_to_tray)
                        .unwrap_or(true);
                if to_tray {
                    // Schedules keep running; the tray's Open brings the window back.
                    api.prevent_close();
                    let _ = window.hide();
                }
            }
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
            commands::settings::open_log_folder,
            commands::snapshots::item_versions,
            commands::sets::sets_list,
            commands::sets::set_get,
            commands::sets::set_save,
            commands::sets::set_remove,
            commands::sets::set_run,
            commands::sets::set_stop,
            commands::sets::history_list,
            commands::sets::history_log,
            commands::signin::demo_connection,
            commands::signin::signin_app,
            commands::signin::signin_device,
            commands::signin::signin_browser,
            commands::signin::signin_cancel,
            commands::directory::connection_test,
            commands::directory::directory_mailboxes,
            commands::directory::directory_folders,
            commands::search::search,
            commands::restore::restore_run,
            commands::restore::export_run,
            commands::restore::job_cancel,
            commands::restore::pick_folder,
        ])
        .run(tauri::generate_context!())
        .expect("error while running QCBackup Manager");
}
