//! The desktop UI's TypeScript types of the engine's DTOs are generated from these Rust types
//! (ts-rs), not written twice: this test writes them to a temporary folder and fails when
//! `ui/src/lib/backend/generated` differs. `QCB_WRITE_TS=1` rewrites that folder instead
//! (`make ts-types`).
#![cfg(feature = "ts")]

use std::path::{Path, PathBuf};

use ts_rs::TS;

fn export(dir: &Path) {
    use qcb_engine::*;
    // Counts and sizes travel as JSON numbers (all far below 2^53).
    let cfg = ts_rs::Config::new()
        .with_large_int("number")
        .with_out_dir(dir);
    macro_rules! all {
        ($($t:ty),* $(,)?) => { $( <$t>::export_all(&cfg).unwrap_or_else(|e| panic!("{}: {e}", stringify!($t))); )* };
    }
    all!(
        ProgressEvent,
        SnapshotInfo,
        Browse,
        BackupReport,
        RestoreReport,
        ItemPreview,
        ItemVersionInfo,
        CheckReport,
        AppSettings,
        ConnectionReport,
        SearchQuery,
        SearchResults,
        ExportReport,
        requests::RestoreRequest,
        requests::ExportRequest,
        connect::AppSecret,
        connect::SignedIn,
        connect::MailboxChoice,
        connect::FolderChoice,
        sets::SetForm,
        sets::SetOverview,
        sets::SetRunReport,
    );
}

#[test]
fn the_ui_types_are_generated_from_the_rust_dtos() {
    let committed: PathBuf =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ui/src/lib/backend/generated");
    let fresh = tempfile::tempdir().unwrap();
    export(fresh.path());
    let exported =
        qcb_engine::ts::sync_generated(&committed, fresh.path()).unwrap_or_else(|e| panic!("{e}"));
    assert!(exported > 20, "exported {exported} types");
}
