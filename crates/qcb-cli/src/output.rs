//! What the CLI prints: human text, or JSON with `--json`.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use qcb_engine::{
    BackupReport, Browse, CheckReport, ForgetReport, ItemVersionInfo, KeyInfo, LockInfo, Phase,
    Progress, ProgressEvent, PruneReport, RepoHandle, RestoreReport, SnapshotInfo,
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

    /// The reports of a restore of several mailboxes: a JSON array, or each in turn.
    pub fn restore_reports(&self, rs: &[RestoreReport]) {
        if self.json {
            self.print_json(serde_json::to_value(rs).expect("json"));
            return;
        }
        for r in rs {
            self.restore_report(r);
        }
        let failed = rs.iter().filter(|r| !r.failed.is_empty()).count();
        println!(
            "{} mailbox(es) restored, {} of them with failures",
            rs.len(),
            failed
        );
    }

    pub fn restore_report(&self, r: &RestoreReport) {
        if self.json {
            self.print_json(serde_json::to_value(r).expect("json"));
            return;
        }
        let place = if r.target_folder.is_empty() {
            format!("{} (original location)", r.mailbox)
        } else {
            format!("{} / {}", r.mailbox, r.target_folder)
        };
        if r.dry_run {
            println!(
                "dry run: would write {} item(s) and {} folder(s) into {place}; {} skipped; nothing was written",
                r.planned
                    .iter()
                    .filter(|p| p.action != "create-folder")
                    .count(),
                r.planned
                    .iter()
                    .filter(|p| p.action == "create-folder")
                    .count(),
                r.items_skipped,
            );
            for p in &r.planned {
                println!(
                    "  {:<13} {:<13} {}  {}",
                    p.action, p.kind, p.folder, p.item_id
                );
            }
        } else {
            println!(
                "restored {} item(s) into {place} ({} overwritten, {} skipped, {} folder(s) created) in {:.1} s",
                r.items_restored,
                r.items_overwritten,
                r.items_skipped,
                r.folders_created,
                r.duration_ms as f64 / 1000.0
            );
        }
        // Skips other than "already there" are worth reading.
        for s in r
            .skipped
            .iter()
            .filter(|s| !s.reason.ends_with("is already there"))
        {
            println!("  skipped {} {}: {}", s.folder, s.item_id, s.reason);
        }
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

    pub fn check(&self, r: &CheckReport) {
        if self.json {
            self.print_json(json!({ "ok": r.problems.is_empty(), "report": r }));
            return;
        }
        println!(
            "{} snapshot(s) checked; {} of {} pack(s) read, {} blob(s) verified",
            r.snapshots, r.packs_read, r.packs_total, r.blobs_verified
        );
        if r.problems.is_empty() {
            println!("no errors were found");
        }
        for p in &r.problems {
            println!("damaged: {p}");
        }
    }

    /// The forget report, and the prune report when `--prune` ran one (one JSON document).
    pub fn forget(&self, r: &ForgetReport, pruned: Option<&PruneReport>) {
        if self.json {
            let mut v = json!(r);
            if let Some(p) = pruned {
                v["prune"] = json!(p);
            }
            self.print_json(v);
            return;
        }
        for e in &r.entries {
            let verdict = match (e.keep, r.dry_run) {
                (true, _) => "keep",
                (false, true) => "would remove",
                (false, false) => "removed",
            };
            let group = if e.group.is_empty() { "-" } else { &e.group };
            println!(
                "{}  {}  {group:<16} {verdict:<12} {}",
                e.short_id,
                e.time,
                e.reasons.join("; ")
            );
        }
        if r.dry_run {
            let n = r.entries.iter().filter(|e| !e.keep).count();
            println!("dry run: {n} snapshot(s) would be removed; nothing was changed");
        } else {
            println!("{} snapshot(s) removed", r.removed);
        }
        match pruned {
            Some(p) => self.prune(p),
            None if !r.dry_run => println!("run `qcbackup prune` to free their data"),
            None => {}
        }
    }

    pub fn prune(&self, r: &PruneReport) {
        if self.json {
            self.print_json(json!(r));
            return;
        }
        let verb = if r.dry_run { "would remove" } else { "removed" };
        println!(
            "{} pack(s) before; {verb} {} unused, {} rewritten, {} left by interrupted runs; {} blob(s), {}",
            r.packs_before,
            r.packs_unused,
            r.packs_repacked,
            r.packs_orphaned,
            r.blobs_removed,
            human_bytes(r.bytes_removed)
        );
        if r.dry_run {
            println!("dry run: nothing was changed");
        }
    }

    pub fn versions(&self, list: &[ItemVersionInfo]) {
        if self.json {
            self.print_json(json!(list));
            return;
        }
        if list.is_empty() {
            println!("no snapshot holds this item");
        }
        for v in list {
            println!(
                "{}  {}  {:>10}  {}  {}",
                v.short_id,
                v.time,
                human_bytes(v.size),
                if v.changed { "changed" } else { "same   " },
                v.path
            );
        }
    }

    pub fn keys(&self, keys: &[KeyInfo]) {
        if self.json {
            self.print_json(json!(keys));
            return;
        }
        for k in keys {
            println!(
                "{} {}  {}  {}  argon2id {} MiB x{}",
                if k.current { "*" } else { " " },
                &k.id[..12],
                k.created,
                k.hostname,
                k.memory_kib / 1024,
                k.iterations
            );
        }
    }

    pub fn locks(&self, locks: &[LockInfo]) {
        if self.json {
            self.print_json(json!(locks));
            return;
        }
        if locks.is_empty() {
            println!("no locks");
        }
        for l in locks {
            println!(
                "{}  {:?}  pid {} on {}  refreshed {}{}",
                &l.id[..12],
                l.kind,
                l.pid,
                l.hostname,
                l.refreshed
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                if l.stale { "  (stale)" } else { "" }
            );
        }
    }

    /// A one-line result for small commands.
    pub fn done(&self, message: &str, value: serde_json::Value) {
        if self.json {
            self.print_json(value);
        } else {
            println!("{message}");
        }
    }
}
