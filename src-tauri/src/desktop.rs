//! The app's place on the desktop: the tray icon and its menu, notifications, the system
//! browser, the native folder dialog, hiding to the tray, and the "Run on Client" scheduler
//! that runs this machine's backup sets while the app runs (window open or not).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use chrono::Utc;
use qcb_engine::NoProgress;
use qcb_engine::sets::{RunOn, RunStatus, SetRunReport};
use tauri::menu::{CheckMenuItem, Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Manager};
use tauri_plugin_notification::NotificationExt;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

const TRAY_ID: &str = "main";

/// Shows the main window and brings it to the front (tray "Open", a second launch).
pub fn show_main(app: &AppHandle) {
    if let Some(w) = app.get_webview_window("main") {
        let _ = w.unminimize();
        let _ = w.show();
        let _ = w.set_focus();
    }
}

/// The tray's first line: what runs now. Linux trays (StatusNotifierItem through
/// libappindicator) show no tooltips, so the status is a disabled menu item there and the
/// tooltip elsewhere.
struct TrayStatus(MenuItem<tauri::Wry>);

/// The tray icon: a status line, Open, Back up all now, Pause schedules, Quit.
pub fn install_tray(app: &AppHandle) -> tauri::Result<()> {
    let status = MenuItem::with_id(app, "status", status_text(app), false, None::<&str>)?;
    let open = MenuItem::with_id(app, "open", "Open QCBackup Manager", true, None::<&str>)?;
    let backup_all = MenuItem::with_id(app, "backup-all", "Back up all now", true, None::<&str>)?;
    let pause = CheckMenuItem::with_id(app, "pause", "Pause schedules", true, false, None::<&str>)?;
    let quit = MenuItem::with_id(app, "quit", "Quit", true, None::<&str>)?;
    let menu = Menu::with_items(
        app,
        &[
            &status,
            &PredefinedMenuItem::separator(app)?,
            &open,
            &backup_all,
            &pause,
            &PredefinedMenuItem::separator(app)?,
            &quit,
        ],
    )?;
    app.manage(TrayStatus(status));
    let mut tray = TrayIconBuilder::with_id(TRAY_ID)
        .tooltip(status_text(app))
        .menu(&menu)
        .on_menu_event(move |app, event| match event.id().as_ref() {
            "open" => show_main(app),
            "backup-all" => {
                let app = app.clone();
                tauri::async_runtime::spawn(async move { back_up_all(&app).await });
            }
            "pause" => {
                let state = app.state::<AppState>();
                let paused = !state.schedules_paused.load(Ordering::SeqCst);
                state.schedules_paused.store(paused, Ordering::SeqCst);
                let _ = pause.set_checked(paused);
                tracing::info!(paused, "schedules paused from the tray");
                refresh_status(app);
            }
            "quit" => app.exit(0),
            _ => {}
        });
    if let Some(icon) = app.default_window_icon() {
        tray = tray.icon(icon.clone());
    }
    tray.build(app)?;
    Ok(())
}

/// What runs now, in one line.
fn status_text(app: &AppHandle) -> String {
    let state = app.state::<AppState>();
    let running = state.jobs.running("set:");
    if !running.is_empty() {
        format!("Backing up {}", running.join(", "))
    } else if state.schedules_paused.load(Ordering::SeqCst) {
        "Schedules paused".to_string()
    } else {
        "Idle".to_string()
    }
}

/// Updates the tray's status line and tooltip from what runs now.
pub fn refresh_status(app: &AppHandle) {
    let text = status_text(app);
    if let Some(status) = app.try_state::<TrayStatus>() {
        let _ = status.0.set_text(&text);
    }
    if let Some(tray) = app.tray_by_id(TRAY_ID) {
        let _ = tray.set_tooltip(Some(format!("QCBackup Manager: {text}")));
    }
}

/// Tray "Back up all now": every set of this machine, one after another.
async fn back_up_all(app: &AppHandle) {
    let state = app.state::<AppState>();
    let names = match qcb_engine::api::sets_overview(
        state.sets.clone(),
        state.secrets.clone(),
        None,
        Vec::new(),
    )
    .await
    {
        Ok(sets) => sets.into_iter().map(|s| s.name).collect::<Vec<_>>(),
        Err(e) => {
            tracing::warn!(code = e.code(), "tray: could not list the backup sets");
            return;
        }
    };
    for name in names {
        let _ = run_set(app, &state, &name, "manual", Arc::new(NoProgress)).await;
    }
}

/// Runs a set now (from the window, the tray or the scheduler), stoppable with `set_stop`;
/// a scheduled run that ends badly (or well, if asked) shows a notification.
pub async fn run_set(
    app: &AppHandle,
    state: &AppState,
    name: &str,
    trigger: &str,
    progress: Arc<dyn qcb_engine::Progress>,
) -> ApiResult<SetRunReport> {
    let (_slot, stopped) = state.jobs.start(
        &crate::state::set_slot(name),
        &format!("The backup set {name:?} is already running."),
    )?;
    refresh_status(app);
    let ctx = state.run_context(trigger);
    let result =
        qcb_engine::sets::run_set_until(&ctx, name, Utc::now(), progress, stopped.wait()).await;
    drop(_slot);
    refresh_status(app);
    if trigger == "schedule" {
        notify_run(app, state, name, &result);
    }
    Ok(result?)
}

/// The notification for a scheduled run: always for warnings and failures, for successes
/// only when the settings ask for it.
fn notify_run(
    app: &AppHandle,
    state: &AppState,
    name: &str,
    result: &qcb_engine::Result<SetRunReport>,
) {
    let on_success = qcb_engine::AppSettings::load(&state.settings_path)
        .map(|s| s.notify_on_success)
        .unwrap_or(false);
    let (title, body) = match result {
        Ok(r) if r.status == RunStatus::Succeeded && !on_success => return,
        Ok(r) if r.status == RunStatus::Succeeded => (
            format!("Backup of {name} finished"),
            format!("{} items backed up.", r.backup.items),
        ),
        Ok(r) => (
            format!("Backup of {name} finished with warnings"),
            match (&r.retention_error, r.backup.failed.len()) {
                (_, n) if n > 0 => {
                    format!("{n} item(s) could not be backed up. Open the report in the app.")
                }
                (Some(e), _) => format!("Old snapshots were not removed: {e}"),
                _ => "Open the report in the app.".into(),
            },
        ),
        Err(e) if e.code() == "cancelled" => return,
        Err(e) => (format!("Backup of {name} failed"), e.to_string()),
    };
    if let Err(e) = app
        .notification()
        .builder()
        .title(&title)
        .body(&body)
        .show()
    {
        tracing::warn!(error = %e, "the notification could not be shown");
    }
}

/// The "Run on Client" scheduler: runs this machine's sets when their schedules say, while
/// the app runs (also with the window closed to the tray). Paused from the tray.
pub async fn run_scheduler(app: AppHandle) {
    const POLL: Duration = Duration::from_secs(30);
    loop {
        let state = app.state::<AppState>();
        let mut wait = POLL;
        if !state.schedules_paused.load(Ordering::SeqCst) {
            let ctx = state.run_context("schedule");
            match qcb_engine::sets::due_sets(&ctx, RunOn::Client, &chrono::Local).await {
                Ok((due, next)) => {
                    for name in due {
                        tracing::info!(set = %name, "scheduled run starting");
                        match run_set(&app, &state, &name, "schedule", Arc::new(NoProgress)).await {
                            Ok(r) => {
                                tracing::info!(set = %name, status = ?r.status, "scheduled run finished")
                            }
                            Err(e) => {
                                tracing::warn!(set = %name, code = e.code, "scheduled run did not finish")
                            }
                        }
                    }
                    if let Some(n) = next.and_then(|n| (n - Utc::now()).to_std().ok()) {
                        wait = wait.min(n);
                    }
                }
                Err(e) => tracing::warn!(
                    code = e.code(),
                    "the scheduler could not read the backup sets"
                ),
            }
        }
        tokio::time::sleep(wait.max(Duration::from_secs(1))).await;
    }
}

/// Opens `url` in the system browser (the sign-in page of the PKCE flow).
pub fn open_url(app: &AppHandle, url: &str) -> std::io::Result<()> {
    use tauri_plugin_opener::OpenerExt;
    app.opener()
        .open_url(url, None::<&str>)
        .map_err(|e| std::io::Error::other(e.to_string()))
}

/// A native folder dialog; `None` when cancelled.
pub async fn pick_folder(app: &AppHandle, title: &str) -> ApiResult<Option<String>> {
    use tauri_plugin_dialog::DialogExt;
    let (tx, rx) = tokio::sync::oneshot::channel();
    app.dialog()
        .file()
        .set_title(title)
        .pick_folder(move |picked| {
            let _ = tx.send(picked);
        });
    let picked = rx
        .await
        .map_err(|_| ApiError::new("internal", "the folder dialog closed without an answer"))?;
    picked
        .map(|p| {
            p.into_path().map(|p| p.display().to_string()).map_err(|e| {
                ApiError::new("invalid_input", format!("that folder cannot be used: {e}"))
            })
        })
        .transpose()
}

/// What the desktop does with saved settings: start at login (an autostart entry of the
/// desktop session, e.g. `~/.config/autostart` on Linux).
pub fn apply_settings(app: &AppHandle, settings: &qcb_engine::AppSettings) -> ApiResult<()> {
    use tauri_plugin_autostart::ManagerExt;
    let launcher = app.autolaunch();
    let now = launcher.is_enabled().unwrap_or(false);
    let result = match (settings.start_at_login, now) {
        (true, false) => launcher.enable(),
        (false, true) => launcher.disable(),
        _ => Ok(()),
    };
    result.map_err(|e| {
        ApiError::new(
            "internal",
            format!("the settings were saved, but starting at login could not be changed: {e}"),
        )
    })
}

/// Opens the log folder in the file manager.
pub fn open_log_folder(app: &AppHandle) -> ApiResult<()> {
    use tauri_plugin_opener::OpenerExt;
    let dir = app
        .path()
        .app_log_dir()
        .map_err(|e| ApiError::new("internal", e.to_string()))?;
    std::fs::create_dir_all(&dir)
        .map_err(|e| ApiError::new("internal", format!("{}: {e}", dir.display())))?;
    app.opener()
        .open_path(dir.display().to_string(), None::<&str>)
        .map_err(|e| {
            ApiError::new(
                "internal",
                format!("the file manager could not be opened: {e}"),
            )
        })
}
