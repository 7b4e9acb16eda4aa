//! The desktop UI's TypeScript types of the engine's DTOs are generated from these Rust types
//! (ts-rs), not written twice: this test writes them to a temporary folder and fails when
//! `ui/src/lib/backend/generated` differs. `QCB_WRITE_TS=1` rewrites that folder instead
//! (`make ts-types`).
#![cfg(feature = "ts")]

use std::collections::BTreeMap;
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

/// Every `.ts` file under `dir`, by its path relative to `dir` (ts-rs puts library types such
/// as `serde_json/JsonValue.ts` in subfolders).
fn files(dir: &Path) -> BTreeMap<String, String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for e in rd {
            let p = e.expect("entry").path();
            if p.is_dir() {
                walk(root, &p, out);
            } else if p.extension().is_some_and(|e| e == "ts") {
                let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
                out.insert(rel, std::fs::read_to_string(&p).expect("read"));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

#[test]
fn the_ui_types_are_generated_from_the_rust_dtos() {
    let committed: PathBuf =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ui/src/lib/backend/generated");
    let fresh = tempfile::tempdir().unwrap();
    export(fresh.path());
    let now = files(fresh.path());
    assert!(now.len() > 20, "exported {} types", now.len());
    if std::env::var_os("QCB_WRITE_TS").is_some() {
        let _ = std::fs::remove_dir_all(&committed);
        std::fs::create_dir_all(&committed).unwrap();
        for (name, text) in &now {
            let path = committed.join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        return;
    }
    let before = files(&committed);
    let stale: Vec<&String> = now
        .keys()
        .chain(before.keys())
        .filter(|k| now.get(*k) != before.get(*k))
        .collect();
    assert!(
        stale.is_empty(),
        "ui/src/lib/backend/generated is out of date for {stale:?}: run `make ts-types` and commit"
    );
}
