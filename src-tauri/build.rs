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
        ]),
    ))
    .expect("tauri-build failed");
}
