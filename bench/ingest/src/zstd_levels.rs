//! Which zstd level suits mail: compresses every chunk of a corpus (cut as qcb-repo cuts items)
//! at several levels, on one thread, and prints one JSON line per level with the bytes in and
//! out (a chunk zstd does not shrink counts raw, as qcb-repo stores it) and the time taken.
//!
//! `qcb-zstd-levels <corpus folder> [levels, default 1,2,3,5,7,9]`

use std::path::{Path, PathBuf};
use std::time::Instant;

fn files(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        if e.file_type()?.is_dir() {
            files(&e.path(), out)?;
        } else {
            out.push(e.path());
        }
    }
    Ok(())
}

fn main() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let dir = args
        .next()
        .ok_or("usage: qcb-zstd-levels <corpus folder> [levels, e.g. 1,3,5]")?;
    let levels: Vec<i32> = args
        .next()
        .unwrap_or_else(|| "1,2,3,5,7,9".into())
        .split(',')
        .map(|l| l.trim().parse().map_err(|_| format!("bad level {l:?}")))
        .collect::<Result<_, _>>()?;
    let mut paths = Vec::new();
    files(Path::new(&dir), &mut paths).map_err(|e| format!("{dir}: {e}"))?;
    paths.sort();
    // Read everything first so the timing is compression only.
    let data: Vec<Vec<u8>> = paths
        .iter()
        .map(|p| std::fs::read(p).map_err(|e| format!("{}: {e}", p.display())))
        .collect::<Result<_, _>>()?;
    for level in levels {
        let mut c = zstd::bulk::Compressor::new(level).map_err(|e| e.to_string())?;
        let (mut bytes_in, mut bytes_out) = (0u64, 0u64);
        let started = Instant::now();
        for d in &data {
            for (s, e) in qcb_repo::chunk_boundaries(d) {
                let chunk = &d[s..e];
                let packed = c.compress(chunk).map_err(|e| e.to_string())?;
                bytes_in += chunk.len() as u64;
                bytes_out += packed.len().min(chunk.len()) as u64;
            }
        }
        let seconds = started.elapsed().as_secs_f64();
        println!(
            "{}",
            serde_json::json!({
                "level": level, "files": data.len(), "bytes_in": bytes_in,
                "bytes_out": bytes_out, "seconds": seconds,
            })
        );
    }
    Ok(())
}
