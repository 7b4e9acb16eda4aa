//! What the CLI prints: human text, or JSON with `--json`.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use qcb_engine::{
    BackupReport, Browse, Phase, Progress, ProgressEvent, RepoHandle, RestoreReport, SnapshotInfo,
};
use serde_json::json;

pub struct Output {
    json: bool,
}

struct StderrProgress {
    json: bool,
    last: Mutex<(Option<Phase>, Option<Instant>)>,
}

impl Progress for StderrProgress {
    fn event(&self, e: ProgressEvent) {
        if self.json {
            eprintln!(
                "{}",
                serde_json::to_string(&json!({ "progress": e })).expect("json")
            );
            return;
        }
        let Ok(mut last) = self.last.lock() else {
            return;
        };
        let phase_changed =
            last.0 != Some(e.phase) && !matches!(e.phase, Phase::Items | Phase::Folder);
        let due = last.1.is_none_or(|t| t.elapsed().as_secs() >= 1);
        if phase_changed || due {
            *last = (Some(e.phase), Some(Instant::now()));
            eprintln!("{}", crate::progress_line(&e));
        }
    }
}

fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

impl Output {
    pub fn new(json: bool) -> Self {
        Output { json }
    }

    pub fn is_json(&self) -> bool {
        self.json
    }

    pub fn progress_sink(&self) -> Arc<dyn Progress> {
        Arc::new(StderrProgress {
            json: self.json,
            last: Mutex::new((None, None)),
        })
    }

    fn print_json(&self, v: serde_json::Value) {
        println!("{}", serde_json::to_string_pretty(&v).expect("json"));
    }

    pub fn error(&self, e: &anyhow::Error) {
        let code = e
            .downcast_ref::<qcb_engine::EngineError>()
            .map(|e| e.code())
            .unwrap_or("error");
        if self.json {
            self.print_json(json!({ "error": { "code": code, "message": format!("{e:#}") } }));
        } else {
            eprintln!("error: {e:#}");
        }
    }

    pub fn created(&self, h: &RepoHandle) {
        let repo = h.repository();
        if self.json {
            self.print_json(json!({ "id": repo.id(), "location": repo.location() }));
        } else {
            println!(
                "created repository {} at {}",
                &repo.id()[..8],
                repo.location()
            );
            println!(
                "Keep the password safe: without it the backups cannot be read by anyone, including us."
            );
        }
    }

    pub fn backup_report(&self, r: &BackupReport) {
        if self.json {
            self.print_json(serde_json::to_value(r).expect("json"));
            return;
        }
        println!(
            "snapshot {} saved: {} mailbox(es), {} folders, {} items ({} downloaded, {} added to the repository) in {:.1} s",
            &r.snapshot_id[..8],
            r.mailboxes,
            r.folders,
            r.items,
            r.items_fetched,
            human_bytes(r.bytes_added),
            r.duration_ms as f64 / 1000.0
        );
        self.failures(&r.failed);
    }

    fn failures(&self, failed: &[qcb_engine::FailedItem]) {
        if !failed.is_empty() {
            println!(
                "{} item(s) failed and will be retried next run:",
                failed.len()
            );
            for f in failed {
                println!(
                    "  {} / {} / {}: {}",
                    f.mailbox, f.folder, f.item_id, f.reason
                );
            }
        }
    }

    pub fn restore_report(&self, r: &RestoreReport) {
        if self.json {
            self.print_json(serde_json::to_value(r).expect("json"));
            return;
        }
        println!(
            "restored {} item(s) into {} / {} ({} already there and skipped, {} folder(s) created) in {:.1} s",
            r.items_restored,
            r.mailbox,
            r.target_folder,
            r.items_skipped,
            r.folders_created,
            r.duration_ms as f64 / 1000.0
        );
        self.failures(&r.failed);
    }

    pub fn snapshots(&self, list: &[SnapshotInfo]) {
        if self.json {
            self.print_json(serde_json::to_value(list).expect("json"));
            return;
        }
        if list.is_empty() {
            println!("no snapshots yet");
            return;
        }
        println!(
            "{:<10} {:<22} {:<16} {:>7} {:>10}  mailboxes",
            "id", "time (UTC)", "host", "items", "size"
        );
        for s in list {
            println!(
                "{:<10} {:<22} {:<16} {:>7} {:>10}  {}",
                s.short_id,
                s.time,
                s.hostname,
                s.item_count,
                human_bytes(s.size_bytes),
                s.mailboxes.join(", ")
            );
        }
    }

    pub fn browse(&self, b: &Browse) {
        if self.json {
            self.print_json(serde_json::to_value(b).expect("json"));
            return;
        }
        for f in &b.folders {
            println!(
                "{}/  ({} items, {} subfolders)",
                f.path, f.item_count, f.child_count
            );
        }
        for i in &b.items {
            println!(
                "{}  {:>9}  {}{}  {}  [{}]",
                i.received_date_time,
                human_bytes(i.size),
                if i.is_read { " " } else { "*" },
                if i.has_attachments { "@" } else { " " },
                i.subject,
                i.from
            );
        }
    }

    pub fn check(&self, problems: &[String]) {
        if self.json {
            self.print_json(json!({ "ok": problems.is_empty(), "problems": problems }));
        } else if problems.is_empty() {
            println!("no errors were found");
        } else {
            for p in problems {
                println!("damaged: {p}");
            }
        }
    }
}
