//! The desktop UI's TypeScript types are generated from the Rust DTOs (ts-rs), never written
//! twice. Each crate that owns DTOs exports them into a fresh folder in a test and calls
//! [`sync_generated`] with the committed folder: the test fails when they differ, and
//! `QCB_WRITE_TS=1` (`make ts-types`) rewrites the committed folder instead.

use std::collections::BTreeMap;
use std::path::Path;

/// Every `.ts` file under `dir`, by its path relative to `dir` (ts-rs puts library types such
/// as `serde_json/JsonValue.ts` in subfolders).
fn ts_files(dir: &Path) -> std::io::Result<BTreeMap<String, String>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) -> std::io::Result<()> {
        let entries = match std::fs::read_dir(dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        for e in entries {
            let p = e?.path();
            if p.is_dir() {
                walk(root, &p, out)?;
            } else if p.extension().is_some_and(|e| e == "ts") {
                let rel = p
                    .strip_prefix(root)
                    .unwrap_or(&p)
                    .to_string_lossy()
                    .into_owned();
                out.insert(rel, std::fs::read_to_string(&p)?);
            }
        }
        Ok(())
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out)?;
    Ok(out)
}

/// Compares the types just exported into `fresh` with the committed folder `committed`
/// (or, with `QCB_WRITE_TS` set, replaces `committed` with them). Returns how many files were
/// exported; an error names the stale files.
pub fn sync_generated(committed: &Path, fresh: &Path) -> Result<usize, String> {
    let io = |e: std::io::Error| e.to_string();
    let now = ts_files(fresh).map_err(io)?;
    if std::env::var_os("QCB_WRITE_TS").is_some() {
        let _ = std::fs::remove_dir_all(committed);
        for (name, text) in &now {
            let path = committed.join(name);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(io)?;
            }
            std::fs::write(path, text).map_err(io)?;
        }
        return Ok(now.len());
    }
    let before = ts_files(committed).map_err(io)?;
    let stale: Vec<&String> = now
        .keys()
        .chain(before.keys().filter(|k| !now.contains_key(*k)))
        .filter(|k| now.get(*k) != before.get(*k))
        .collect();
    if stale.is_empty() {
        Ok(now.len())
    } else {
        Err(format!(
            "{} is out of date for {stale:?}: run `make ts-types` and commit",
            committed.display()
        ))
    }
}
