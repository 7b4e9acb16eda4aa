fn main() {
    // Every command the UI may call is listed here; capabilities/main.json grants them to the
    // main window and nothing else.
    tauri_build::try_build(tauri_build::Attributes::new().app_manifest(
        tauri_build::AppManifest::new().commands(&[
            "app_info",
            "repo_open",
            "snapshots_list",
            "snapshot_browse",
            "item_preview",
            "backup_run",
            "settings_get",
            "settings_set",
            "open_log_folder",
            "item_versions",
            "sets_list",
            "set_get",
            "set_save",
            "set_remove",
            "set_run",
            "set_stop",
            "history_list",
            "history_log",
            "demo_connection",
            "signin_app",
            "signin_device",
            "signin_browser",
            "signin_cancel",
            "connection_test",
            "directory_mailboxes",
            "directory_folders",
            "search",
            "restore_run",
            "export_run",
            "job_cancel",
            "pick_folder",
        ]),
    ))
    .expect("tauri-build failed");
}
