//! Export to the local computer: a snapshot's mailbox, category, folder or single item written
//! as files that mail, calendar and address-book programs open.
//!
//! - Mail: one `.eml` per message (the stored MIME source, byte for byte), or one `.mbox` per
//!   folder (mboxrd, as Thunderbird reads it), next to a directory of the same name holding
//!   its subfolders.
//! - Calendars: one `.ics` per calendar (or, with `event_files`, per event), with recurrence,
//!   exceptions, cancelled occurrences, attendees and time zones.
//! - Contacts: one `.vcf` (vCard 3.0) per contact folder, photos included.
//! - Tasks: one `.ics` of VTODOs per list. Settings: the stored JSON.
//!
//! The output keeps the snapshot's tree (`<mailbox>/<Category>/<folders>`) as directories with
//! names that are safe on Windows, macOS and Linux, in a folder or in one `.zip` file. Nothing
//! that exists is ever overwritten. An item that cannot be read is reported and the export
//! goes on.

pub(crate) mod ics;
pub(crate) mod lines;
mod mbox;
mod names;
mod tz;
pub(crate) mod vcf;

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Utc};
use qcb_repo::{Node, NodeKind, Repository, Snapshot};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{EngineError, Result};
use crate::progress::{Phase, Progress, ProgressEvent};
use crate::types::FailedItem;

pub use names::{NameSet, safe_stem};

/// How mail is written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum MailFormat {
    /// One `.eml` file per message.
    #[default]
    Eml,
    /// One `.mbox` file per folder.
    Mbox,
}

impl MailFormat {
    pub fn parse(text: &str) -> std::result::Result<MailFormat, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "eml" => Ok(MailFormat::Eml),
            "mbox" => Ok(MailFormat::Mbox),
            other => Err(format!("unknown mail format {other:?}: use eml or mbox")),
        }
    }
}

/// What to export and where.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportOptions {
    /// `latest`, a snapshot id or a unique prefix. Ignored when `at_or_before` is set.
    pub snapshot: String,
    /// Use the newest snapshot taken at or before this time instead.
    pub at_or_before: Option<DateTime<Utc>>,
    /// `""` (every mailbox), `/mailbox`, `/mailbox/Mail/Inbox`, `/mailbox/Contacts/Contacts`,
    /// or one item (`/mailbox/Mail/Inbox/<id>`).
    pub path: String,
    /// Include subfolders (default). Without it, only the items directly in the chosen folder.
    pub recursive: bool,
    pub mail_format: MailFormat,
    /// One `.ics` per event instead of one per calendar.
    pub event_files: bool,
    /// The folder to write into (created when missing), or with `zip` the `.zip` file to create.
    pub target: PathBuf,
    pub zip: bool,
    /// Write into a folder that already holds files (existing files are still never
    /// overwritten: new names get a suffix).
    pub allow_non_empty: bool,
    /// Only list what would be written.
    pub dry_run: bool,
}

impl ExportOptions {
    /// The defaults: latest snapshot, recursive, `.eml`, one `.ics` per calendar, a folder.
    pub fn new(path: impl Into<String>, target: impl Into<PathBuf>) -> ExportOptions {
        ExportOptions {
            snapshot: "latest".into(),
            at_or_before: None,
            path: path.into(),
            recursive: true,
            mail_format: MailFormat::Eml,
            event_files: false,
            target: target.into(),
            zip: false,
            allow_non_empty: false,
            dry_run: false,
        }
    }
}

/// One file written (or, in a dry run, that would be written).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ExportedFile {
    /// Relative to the target folder (or inside the zip), `/`-separated.
    pub path: String,
    /// How many items it holds.
    pub items: u64,
    /// Its size (in a dry run, the stored size of its items).
    pub bytes: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ExportReport {
    pub snapshot_id: String,
    /// The snapshot's time, RFC 3339 UTC.
    pub snapshot_time: String,
    pub target: String,
    pub dry_run: bool,
    pub zip: bool,
    pub messages: u64,
    pub events: u64,
    pub contacts: u64,
    pub tasks: u64,
    /// Settings and other stored JSON items.
    pub other: u64,
    /// Directories created (entries, in a zip).
    pub folders: u64,
    pub files: u64,
    /// Bytes of the files written (in a dry run, the stored size of the items).
    pub bytes: u64,
    pub written: Vec<ExportedFile>,
    /// Items that could not be exported, and why.
    pub failed: Vec<FailedItem>,
    pub duration_ms: u64,
}

/// Exports part of a snapshot to files. All the work (repository reads, disk writes) runs on
/// a blocking thread; the repository holds a shared lock meanwhile, so no prune removes what
/// is being read.
#[tracing::instrument(skip_all)]
pub async fn export(
    repo: Repository,
    opts: ExportOptions,
    progress: Arc<dyn Progress>,
) -> Result<ExportReport> {
    tokio::task::spawn_blocking(move || export_blocking(&repo, &opts, progress.as_ref())).await?
}

fn export_blocking(
    repo: &Repository,
    opts: &ExportOptions,
    progress: &dyn Progress,
) -> Result<ExportReport> {
    let started = Instant::now();
    let _lock = repo.lock(qcb_repo::LockKind::Shared)?;
    let snap = choose_snapshot(repo, opts)?;
    let folders = plan(repo, &snap, opts)?;
    let mut out = Out::open(opts)?;
    let mut ctx = Ctx {
        repo,
        opts,
        progress,
        report: ExportReport {
            snapshot_id: snap.id.0.clone(),
            snapshot_time: snap.time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            target: opts.target.display().to_string(),
            dry_run: opts.dry_run,
            zip: opts.zip,
            ..Default::default()
        },
        done: 0,
        total: folders.iter().map(|f| f.items.len() as u64).sum(),
        bytes: 0,
    };
    let result = folders
        .iter()
        .try_for_each(|f| ctx.folder(&mut out, f))
        .and_then(|()| out.finish());
    if let Err(e) = result {
        out.abandon();
        return Err(e);
    }
    let mut report = ctx.report;
    report.folders = out.folders;
    report.files = report.written.len() as u64;
    report.bytes = report.written.iter().map(|f| f.bytes).sum();
    report.duration_ms = started.elapsed().as_millis() as u64;
    ctx.progress.event(ProgressEvent {
        phase: Phase::Done,
        mailbox: None,
        folder: None,
        items_done: ctx.done,
        items_total: ctx.total,
        bytes_done: report.bytes,
        pace: Default::default(),
    });
    tracing::info!(
        files = report.files,
        bytes = report.bytes,
        failed = report.failed.len(),
        "export finished"
    );
    Ok(report)
}

fn choose_snapshot(repo: &Repository, opts: &ExportOptions) -> Result<Snapshot> {
    crate::restore::choose_snapshot(repo, &opts.snapshot, opts.at_or_before)
}

/// What kind of files a category becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Mail,
    Contacts,
    Calendars,
    Tasks,
    /// Settings and anything else stored as JSON: written as `.json`.
    Json,
}

fn kind_of(category_dir: &Node) -> Kind {
    let c = category_dir.attrs["category"]
        .as_str()
        .unwrap_or(&category_dir.name)
        .to_ascii_lowercase();
    match c.as_str() {
        "mail" => Kind::Mail,
        "contacts" => Kind::Contacts,
        "calendars" => Kind::Calendars,
        "tasks" => Kind::Tasks,
        _ => Kind::Json,
    }
}

/// One folder to export: its items (or the one item chosen).
struct PlanFolder {
    mailbox: String,
    kind: Kind,
    /// The category dir's name (`Mail`, `Contacts`…).
    category: String,
    /// Folder names below the category dir.
    rel: Vec<String>,
    items: Vec<Node>,
}

impl PlanFolder {
    /// The output directory of the folder itself (`<mailbox>/<Category>/<rel…>`).
    fn dir(&self) -> Vec<String> {
        let mut d = vec![self.mailbox.clone(), self.category.clone()];
        d.extend(self.rel.iter().cloned());
        d
    }

    /// Where a one-file-per-folder format goes: beside the folder's directory, named after it.
    fn file_place(&self) -> (Vec<String>, String) {
        let mut d = self.dir();
        let name = d.pop().unwrap_or_default();
        (d, name)
    }

    fn label(&self) -> String {
        let mut p = vec![self.category.as_str()];
        p.extend(self.rel.iter().map(String::as_str));
        p.join("/")
    }
}

fn plan(repo: &Repository, snap: &Snapshot, opts: &ExportOptions) -> Result<Vec<PlanFolder>> {
    let names = qcb_repo::split_path(&opts.path);
    let not_found = |what| {
        EngineError::Repo(qcb_repo::Error::PathNotFound {
            snapshot: snap.id.short().into(),
            path: opts.path.clone(),
            what,
        })
    };
    if !opts.recursive && names.len() < 3 {
        return Err(EngineError::InvalidInput(
            "a non-recursive export needs a folder path, such as /alice@contoso.com/Mail/Inbox"
                .into(),
        ));
    }
    let root = repo.load_tree(&snap.tree)?;
    let mailboxes: Vec<&Node> = match names.first() {
        None => root
            .nodes
            .iter()
            .filter(|n| n.kind == NodeKind::Dir)
            .collect(),
        Some(m) => vec![
            root.get(m)
                .filter(|n| n.kind == NodeKind::Dir)
                .ok_or_else(|| not_found("mailbox"))?,
        ],
    };
    let mut out = Vec::new();
    for mbx in mailboxes {
        let tree = repo.load_tree(&mbx.subtree.ok_or_else(|| not_found("mailbox"))?)?;
        let has_categories = tree
            .nodes
            .iter()
            .any(|n| n.kind == NodeKind::Dir && n.attrs["category"].is_string());
        let rest = names.get(1..).unwrap_or(&[]);
        // Older snapshots keep the mail folders right under the mailbox.
        let (kind, category, mut tree, rest) = if !has_categories {
            let rest = match rest.first() {
                Some(c) if c == crate::categories::MAIL => &rest[1..],
                _ => rest,
            };
            (Kind::Mail, crate::categories::MAIL.to_string(), tree, rest)
        } else if let Some(cat) = rest.first() {
            let node = tree
                .get(cat)
                .filter(|n| n.kind == NodeKind::Dir)
                .ok_or_else(|| not_found("category"))?;
            let sub = repo.load_tree(&node.subtree.ok_or_else(|| not_found("category"))?)?;
            (kind_of(node), node.name.clone(), sub, &rest[1..])
        } else {
            for node in tree.nodes.iter().filter(|n| n.kind == NodeKind::Dir) {
                let sub = repo.load_tree(&node.subtree.ok_or_else(|| not_found("category"))?)?;
                let mut f = PlanFolder {
                    mailbox: mbx.name.clone(),
                    kind: kind_of(node),
                    category: node.name.clone(),
                    rel: vec![],
                    items: vec![],
                };
                walk(repo, &mut f, &sub, true, &mut out)?;
            }
            continue;
        };
        let mut folder = PlanFolder {
            mailbox: mbx.name.clone(),
            kind,
            category,
            rel: vec![],
            items: vec![],
        };
        for (i, name) in rest.iter().enumerate() {
            let node = tree.get(name).ok_or_else(|| not_found("folder or item"))?;
            match (node.kind, node.subtree) {
                (NodeKind::Dir, Some(sub)) => {
                    folder.rel.push(name.clone());
                    tree = repo.load_tree(&sub)?;
                }
                (NodeKind::Item, _) if i + 1 == rest.len() => {
                    folder.items.push(node.clone());
                    out.push(folder);
                    return Ok(out);
                }
                _ => return Err(not_found("folder")),
            }
        }
        walk(repo, &mut folder, &tree, opts.recursive, &mut out)?;
    }
    Ok(out)
}

/// Adds `folder` (with the items of `tree`) and, when `recursive`, its subfolders.
fn walk(
    repo: &Repository,
    folder: &mut PlanFolder,
    tree: &qcb_repo::Tree,
    recursive: bool,
    out: &mut Vec<PlanFolder>,
) -> Result<()> {
    let items: Vec<Node> = tree
        .nodes
        .iter()
        .filter(|n| n.kind == NodeKind::Item)
        .cloned()
        .collect();
    // The category dir itself holds only folders.
    if !folder.rel.is_empty() || !items.is_empty() {
        out.push(PlanFolder {
            mailbox: folder.mailbox.clone(),
            kind: folder.kind,
            category: folder.category.clone(),
            rel: folder.rel.clone(),
            items,
        });
    }
    if recursive {
        for n in tree.nodes.iter().filter(|n| n.kind == NodeKind::Dir) {
            let Some(sub) = n.subtree else { continue };
            folder.rel.push(n.name.clone());
            walk(repo, folder, &repo.load_tree(&sub)?, true, out)?;
            folder.rel.pop();
        }
    }
    Ok(())
}

/// Where files go: a folder, a zip file, or nowhere (a dry run).
enum Sink {
    Dir,
    Zip(Box<zip::ZipWriter<BufWriter<File>>>),
    DryRun,
}

/// The output: names handed out per directory, directories made so far.
struct Out {
    sink: Sink,
    root: PathBuf,
    /// For a zip: the file this export created (removed again if the export fails).
    created_zip: Option<PathBuf>,
    names: HashMap<String, NameSet>,
    dirs: HashMap<Vec<String>, String>,
    folders: u64,
    zip_time: Option<zip::DateTime>,
}

fn write_error(path: &str, e: impl std::fmt::Display) -> EngineError {
    EngineError::JobFailed(format!("cannot write {path}: {e}"))
}

fn join(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_string()
    } else {
        format!("{parent}/{name}")
    }
}

/// Counts what passes through.
struct Counting<W> {
    inner: W,
    n: u64,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.n += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl Out {
    fn open(opts: &ExportOptions) -> Result<Out> {
        let target = &opts.target;
        let invalid = |m: String| Err(EngineError::InvalidInput(m));
        let mut out = Out {
            sink: Sink::DryRun,
            root: target.clone(),
            created_zip: None,
            names: HashMap::new(),
            dirs: HashMap::new(),
            folders: 0,
            zip_time: None,
        };
        if opts.zip {
            if target.symlink_metadata().is_ok() {
                return invalid(format!(
                    "{} already exists: give the name of a new .zip file",
                    target.display()
                ));
            }
            let parent = target
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            if !parent.is_dir() {
                return invalid(format!(
                    "the folder {} for the zip file does not exist",
                    parent.display()
                ));
            }
            if opts.dry_run {
                return Ok(out);
            }
            let file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(target)
                .map_err(|e| write_error(&target.display().to_string(), e))?;
            out.created_zip = Some(target.clone());
            out.sink = Sink::Zip(Box::new(zip::ZipWriter::new(BufWriter::new(file))));
            let now = Utc::now().naive_utc();
            use chrono::{Datelike, Timelike};
            out.zip_time = zip::DateTime::from_date_and_time(
                now.year().clamp(1980, 2107) as u16,
                now.month() as u8,
                now.day() as u8,
                now.hour() as u8,
                now.minute() as u8,
                now.second() as u8,
            )
            .ok();
            return Ok(out);
        }
        // The target itself may be a link to a folder (the user named it); inside it, nothing
        // that exists is followed or reused.
        match target.metadata() {
            Ok(m) if !m.is_dir() => {
                return invalid(format!("{} exists and is not a folder", target.display()));
            }
            Ok(_) => {
                let non_empty = std::fs::read_dir(target)
                    .map_err(|e| write_error(&target.display().to_string(), e))?
                    .next()
                    .is_some();
                if non_empty && !opts.allow_non_empty {
                    return invalid(format!(
                        "the folder {} is not empty: choose an empty or new folder, or allow \
                         writing into it (existing files are never overwritten)",
                        target.display()
                    ));
                }
            }
            Err(_) if opts.dry_run => {}
            Err(_) => std::fs::create_dir_all(target)
                .map_err(|e| write_error(&target.display().to_string(), e))?,
        }
        if !opts.dry_run {
            out.sink = Sink::Dir;
        }
        Ok(out)
    }

    /// A unique safe name in the output directory `parent`.
    fn allocate(&mut self, parent: &str, stem: &str, ext: &str) -> String {
        let on_disk = matches!(self.sink, Sink::Dir) || self.created_zip.is_none();
        let base = self.root.join(parent);
        self.names
            .entry(parent.to_string())
            .or_default()
            .allocate(stem, ext, |n| {
                on_disk && base.join(n).symlink_metadata().is_ok()
            })
    }

    /// The output directory for a tree path (made on first use). Returns its relative path.
    fn dir(&mut self, raw: &[String]) -> Result<String> {
        let Some((last, parent_raw)) = raw.split_last() else {
            return Ok(String::new());
        };
        if let Some(d) = self.dirs.get(raw) {
            return Ok(d.clone());
        }
        let parent = self.dir(parent_raw)?;
        let name = self.allocate(&parent, last, "");
        let rel = join(&parent, &name);
        match &mut self.sink {
            Sink::Dir => {
                std::fs::create_dir(self.root.join(&rel)).map_err(|e| write_error(&rel, e))?
            }
            Sink::Zip(z) => {
                let o = zip::write::SimpleFileOptions::default();
                let o = match self.zip_time {
                    Some(t) => o.last_modified_time(t),
                    None => o,
                };
                z.add_directory(format!("{rel}/"), o)
                    .map_err(|e| write_error(&rel, e))?
            }
            Sink::DryRun => {}
        }
        self.folders += 1;
        self.dirs.insert(raw.to_vec(), rel.clone());
        Ok(rel)
    }

    /// Writes one file with `write` (never called in a dry run). Returns its relative path and
    /// size, or `None` when this is a dry run.
    fn file(
        &mut self,
        dir: &[String],
        stem: &str,
        ext: &str,
        modified: Option<DateTime<Utc>>,
        write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
    ) -> Result<(String, Option<u64>)> {
        let parent = self.dir(dir)?;
        let name = self.allocate(&parent, stem, ext);
        let rel = join(&parent, &name);
        let size = match &mut self.sink {
            Sink::DryRun => None,
            Sink::Dir => {
                let path = self.root.join(&rel);
                let file = OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(&path)
                    .map_err(|e| write_error(&rel, e))?;
                let mut w = Counting {
                    inner: BufWriter::new(file),
                    n: 0,
                };
                write(&mut w).map_err(|e| write_error(&rel, e))?;
                let file = w
                    .inner
                    .into_inner()
                    .map_err(|e| write_error(&rel, e.error()))?;
                if let Some(t) = modified {
                    // Cosmetic (sorting by date in a file manager): a failure does not matter.
                    let _ = file.set_modified(t.into());
                }
                Some(w.n)
            }
            Sink::Zip(z) => {
                let mut o = zip::write::SimpleFileOptions::default()
                    .compression_method(zip::CompressionMethod::Deflated)
                    .large_file(ext == "mbox");
                if let Some(t) = self.zip_time {
                    o = o.last_modified_time(t);
                }
                z.start_file(rel.as_str(), o)
                    .map_err(|e| write_error(&rel, e))?;
                let mut w = Counting {
                    inner: z.as_mut(),
                    n: 0,
                };
                write(&mut w).map_err(|e| write_error(&rel, e))?;
                Some(w.n)
            }
        };
        Ok((rel, size))
    }

    fn finish(&mut self) -> Result<()> {
        if let Sink::Zip(z) = std::mem::replace(&mut self.sink, Sink::DryRun) {
            let path = self.root.display().to_string();
            let w = z.finish().map_err(|e| write_error(&path, e))?;
            let file = w.into_inner().map_err(|e| write_error(&path, e.error()))?;
            file.sync_all().map_err(|e| write_error(&path, e))?;
            self.created_zip = None;
        }
        Ok(())
    }

    /// After a failure: removes a half-written zip (files written into a folder stay).
    fn abandon(&mut self) {
        self.sink = Sink::DryRun;
        if let Some(p) = self.created_zip.take() {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// The job's state: counts and failures.
struct Ctx<'a> {
    repo: &'a Repository,
    opts: &'a ExportOptions,
    progress: &'a dyn Progress,
    report: ExportReport,
    done: u64,
    total: u64,
    /// Bytes of the files recorded so far (for progress).
    bytes: u64,
}

/// A message's file name: its received time and subject.
fn message_stem(node: &Node) -> String {
    let a = &node.attrs;
    let when = a["receivedDateTime"]
        .as_str()
        .and_then(|t| t.parse::<DateTime<Utc>>().ok())
        .map(|t| t.format("%Y-%m-%d %H%M").to_string())
        .unwrap_or_default();
    let subject = a["subject"].as_str().unwrap_or("").trim();
    let subject = if subject.is_empty() {
        "(no subject)"
    } else {
        subject
    };
    let subject: String = subject.chars().take(80).collect();
    format!("{when} {subject}").trim().to_string()
}

fn received(node: &Node) -> Option<DateTime<Utc>> {
    node.attrs["receivedDateTime"].as_str()?.parse().ok()
}

impl Ctx<'_> {
    fn fail(&mut self, f: &PlanFolder, node: &Node, reason: impl Into<String>) {
        let reason = reason.into();
        tracing::warn!(item = %node.name, reason = %reason, "item not exported");
        self.report.failed.push(FailedItem {
            mailbox: f.mailbox.clone(),
            folder: f.label(),
            item_id: node.name.clone(),
            reason,
        });
    }

    fn tick(&mut self, f: &PlanFolder, n: u64) {
        self.done += n;
        self.progress.event(ProgressEvent {
            phase: Phase::Items,
            mailbox: Some(f.mailbox.clone()),
            folder: Some(f.label()),
            items_done: self.done,
            items_total: self.total,
            bytes_done: self.bytes,
            pace: Default::default(),
        });
    }

    fn count(&mut self, kind: Kind, n: u64) {
        let r = &mut self.report;
        match kind {
            Kind::Mail => r.messages += n,
            Kind::Contacts => r.contacts += n,
            Kind::Calendars => r.events += n,
            Kind::Tasks => r.tasks += n,
            Kind::Json => r.other += n,
        }
    }

    fn record(&mut self, path: String, items: u64, size: Option<u64>, stored: u64) {
        let bytes = size.unwrap_or(stored);
        self.bytes += bytes;
        self.report
            .written
            .push(ExportedFile { path, items, bytes });
    }

    /// Reads an item's content, recording a failure when it cannot be read.
    fn read(&mut self, f: &PlanFolder, node: &Node) -> Option<Vec<u8>> {
        match self.repo.read_content(&node.content) {
            Ok(b) => Some(b),
            Err(e) => {
                self.fail(f, node, format!("cannot be read from the repository: {e}"));
                None
            }
        }
    }

    /// Reads an item's JSON content (and its extra blob, e.g. a contact's photo).
    fn read_json(&mut self, f: &PlanFolder, node: &Node) -> Option<(Value, Option<Vec<u8>>)> {
        let bytes = self.read(f, node)?;
        let value = match serde_json::from_slice::<Value>(&bytes) {
            Ok(v) => v,
            Err(e) => {
                self.fail(f, node, format!("the stored item is not valid JSON: {e}"));
                return None;
            }
        };
        let extra = match node.meta.map(|m| self.repo.read_data(&m)).transpose() {
            Ok(x) => x,
            Err(e) => {
                self.fail(f, node, format!("its photo cannot be read: {e}"));
                None
            }
        };
        Some((value, extra))
    }

    fn folder(&mut self, out: &mut Out, f: &PlanFolder) -> Result<()> {
        if self.progress.stopped() {
            return Err(EngineError::Cancelled(
                "the export was stopped; the files written so far stay".into(),
            ));
        }
        self.progress.event(ProgressEvent {
            phase: Phase::Folder,
            mailbox: Some(f.mailbox.clone()),
            folder: Some(f.label()),
            items_done: self.done,
            items_total: self.total,
            bytes_done: self.bytes,
            pace: Default::default(),
        });
        let dry = self.opts.dry_run;
        let stored: u64 = f.items.iter().map(|n| n.size).sum();
        match f.kind {
            Kind::Mail if self.opts.mail_format == MailFormat::Mbox => {
                let (dir, name) = f.file_place();
                if dry {
                    let (path, _) = out.file(&dir, &name, "mbox", None, |_| Ok(()))?;
                    self.record(path, f.items.len() as u64, None, stored);
                    self.count(Kind::Mail, f.items.len() as u64);
                    self.tick(f, f.items.len() as u64);
                    return Ok(());
                }
                let mut written = 0u64;
                let (path, size) = out.file(&dir, &name, "mbox", None, |w| {
                    for node in &f.items {
                        let Some(mime) = self.read(f, node) else {
                            self.tick(f, 1);
                            continue;
                        };
                        let props: Value = node
                            .meta
                            .and_then(|m| self.repo.read_data(&m).ok())
                            .and_then(|b| serde_json::from_slice(&b).ok())
                            .unwrap_or_default();
                        mbox::write_message(w, &mbox::from_line(&props, &node.attrs), &mime)?;
                        written += 1;
                        self.tick(f, 1);
                    }
                    Ok(())
                })?;
                self.record(path, written, size, stored);
                self.count(Kind::Mail, written);
            }
            Kind::Mail => {
                // The folder's directory, even when it holds no message.
                out.dir(&f.dir())?;
                for node in &f.items {
                    let stem = message_stem(node);
                    if dry {
                        let (path, _) = out.file(&f.dir(), &stem, "eml", None, |_| Ok(()))?;
                        self.record(path, 1, None, node.size);
                        self.count(Kind::Mail, 1);
                        self.tick(f, 1);
                        continue;
                    }
                    if let Some(mime) = self.read(f, node) {
                        let (path, size) =
                            out.file(&f.dir(), &stem, "eml", received(node), |w| {
                                w.write_all(&mime)
                            })?;
                        self.record(path, 1, size, node.size);
                        self.count(Kind::Mail, 1);
                    }
                    self.tick(f, 1);
                }
            }
            Kind::Contacts | Kind::Calendars | Kind::Tasks if f.items.is_empty() => {}
            Kind::Calendars if self.opts.event_files => {
                for node in &f.items {
                    let subject = node.attrs["subject"].as_str().unwrap_or("(no subject)");
                    let date = node.attrs["receivedDateTime"]
                        .as_str()
                        .and_then(|d| d.get(..10))
                        .unwrap_or("");
                    let stem = format!("{date} {subject}");
                    if dry {
                        let (path, _) = out.file(&f.dir(), &stem, "ics", None, |_| Ok(()))?;
                        self.record(path, 1, None, node.size);
                        self.count(Kind::Calendars, 1);
                    } else if let Some((v, _)) = self.read_json(f, node) {
                        let mut cal = ics::Calendar::default();
                        match cal.add_event(&v) {
                            Ok(()) => {
                                let text = cal.finish(subject);
                                let (path, size) = out.file(&f.dir(), &stem, "ics", None, |w| {
                                    w.write_all(text.as_bytes())
                                })?;
                                self.record(path, 1, size, node.size);
                                self.count(Kind::Calendars, 1);
                            }
                            Err(why) => self.fail(f, node, why),
                        }
                    }
                    self.tick(f, 1);
                }
            }
            kind @ (Kind::Contacts | Kind::Calendars | Kind::Tasks) => {
                let (dir, name) = f.file_place();
                let ext = if kind == Kind::Contacts { "vcf" } else { "ics" };
                if dry {
                    let (path, _) = out.file(&dir, &name, ext, None, |_| Ok(()))?;
                    self.record(path, f.items.len() as u64, None, stored);
                    self.count(kind, f.items.len() as u64);
                    self.tick(f, f.items.len() as u64);
                    return Ok(());
                }
                let mut cal = ics::Calendar::default();
                let mut cards = lines::Lines::default();
                let mut n = 0u64;
                for node in &f.items {
                    if let Some((v, extra)) = self.read_json(f, node) {
                        let added = match kind {
                            Kind::Contacts => {
                                vcf::contact(&mut cards, &v, extra.as_deref());
                                Ok(())
                            }
                            Kind::Calendars => cal.add_event(&v),
                            _ => cal.add_task(&v),
                        };
                        match added {
                            Ok(()) => n += 1,
                            Err(why) => self.fail(f, node, why),
                        }
                    }
                    self.tick(f, 1);
                }
                if n == 0 {
                    return Ok(());
                }
                let text = if kind == Kind::Contacts {
                    cards.out
                } else {
                    cal.finish(&name)
                };
                let (path, size) =
                    out.file(&dir, &name, ext, None, |w| w.write_all(text.as_bytes()))?;
                self.record(path, n, size, stored);
                self.count(kind, n);
            }
            Kind::Json => {
                for node in &f.items {
                    if dry {
                        let (path, _) = out.file(&f.dir(), &node.name, "json", None, |_| Ok(()))?;
                        self.record(path, 1, None, node.size);
                        self.count(Kind::Json, 1);
                    } else if let Some((v, _)) = self.read_json(f, node) {
                        let text = serde_json::to_vec_pretty(&v).unwrap_or_default();
                        let (path, size) =
                            out.file(&f.dir(), &node.name, "json", None, |w| w.write_all(&text))?;
                        self.record(path, 1, size, node.size);
                        self.count(Kind::Json, 1);
                    }
                    self.tick(f, 1);
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use qcb_repo::{BlobId, KdfParams, SnapshotMeta, Tree};
    use serde_json::json;

    /// A snapshot with one readable and one unreadable message, and the same for contacts.
    fn damaged_repo(dir: &Path) -> Repository {
        let repo =
            Repository::init_local(&dir.join("repo"), b"pw", KdfParams::insecure_for_tests())
                .unwrap();
        let mut w = repo.writer();
        let mime = b"Subject: good\r\n\r\nFrom me\r\n";
        let good = w.save_content(mime).unwrap();
        let contact = w
            .save_content(br#"{"id":"c1","displayName":"Ann Example"}"#)
            .unwrap();
        let missing = |b| vec![BlobId([b; 32])];
        let mut tree = |nodes| w.save_tree(&Tree { nodes }).unwrap();
        let inbox = tree(vec![
            Node::item(
                "m1",
                good,
                mime.len() as u64,
                None,
                json!({"subject": "good", "receivedDateTime": "2026-11-02T09:00:00Z"}),
            ),
            Node::item("m2", missing(7), 10, None, json!({"subject": "lost"})),
        ]);
        let folder = tree(vec![
            Node::item("c1", contact, 40, None, json!({"kind": "contact"})),
            Node::item("c2", missing(8), 40, None, json!({"kind": "contact"})),
        ]);
        let mail = tree(vec![Node::dir("Inbox", inbox, json!({}))]);
        let contacts = tree(vec![Node::dir(
            "Contacts",
            folder,
            json!({"containerId": "f"}),
        )]);
        let mbx = tree(vec![
            Node::dir("Mail", mail, json!({"category": "mail"})),
            Node::dir("Contacts", contacts, json!({"category": "contacts"})),
        ]);
        let root = tree(vec![Node::dir("a@example.org", mbx, json!({}))]);
        w.commit(SnapshotMeta::new(root, "t", Utc::now())).unwrap();
        repo
    }

    #[test]
    fn an_unreadable_item_is_reported_and_the_export_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        let repo = damaged_repo(dir.path());
        for format in [MailFormat::Eml, MailFormat::Mbox] {
            let target = dir.path().join(format!("{format:?}"));
            let mut opts = ExportOptions::new("/a@example.org", &target);
            opts.mail_format = format;
            let r = export_blocking(&repo, &opts, &crate::NoProgress).unwrap();
            assert_eq!((r.messages, r.contacts), (1, 1), "{r:?}");
            let failed: Vec<(&str, &str)> = r
                .failed
                .iter()
                .map(|f| (f.folder.as_str(), f.item_id.as_str()))
                .collect();
            assert_eq!(failed, [("Contacts/Contacts", "c2"), ("Mail/Inbox", "m2")]);
            assert!(r.failed.iter().all(|f| f.reason.contains("cannot be read")));
            assert_eq!(r.files, 2);
            let vcf = std::fs::read_to_string(target.join("a@example.org/Contacts/Contacts.vcf"))
                .unwrap();
            assert!(vcf.contains("FN:Ann Example\r\n") && vcf.ends_with("END:VCARD\r\n"));
            if format == MailFormat::Eml {
                let eml = target.join("a@example.org/Mail/Inbox/2026-11-02 0900 good.eml");
                assert_eq!(
                    std::fs::read(eml).unwrap(),
                    b"Subject: good\r\n\r\nFrom me\r\n"
                );
            } else {
                let mbox =
                    std::fs::read_to_string(target.join("a@example.org/Mail/Inbox.mbox")).unwrap();
                assert_eq!(
                    mbox,
                    "From MAILER-DAEMON Mon Nov  2 09:00:00 2026\nSubject: good\n\n>From me\n\n"
                );
            }
        }
    }

    #[test]
    fn targets_that_exist_are_refused_and_a_dry_run_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let repo = damaged_repo(dir.path());
        let file = dir.path().join("taken.zip");
        std::fs::write(&file, b"mine").unwrap();
        let mut opts = ExportOptions::new("", &file);
        opts.zip = true;
        let e = export_blocking(&repo, &opts, &crate::NoProgress).unwrap_err();
        assert_eq!(e.code(), "invalid_input");
        assert_eq!(std::fs::read(&file).unwrap(), b"mine");
        // A plain file where a folder should be.
        let opts = ExportOptions::new("", &file);
        assert!(export_blocking(&repo, &opts, &crate::NoProgress).is_err());
        // A link to an empty folder is a folder the user named.
        #[cfg(unix)]
        {
            let real = dir.path().join("real");
            std::fs::create_dir(&real).unwrap();
            std::os::unix::fs::symlink(&real, dir.path().join("link")).unwrap();
            let opts = ExportOptions::new("", dir.path().join("link"));
            let r = export_blocking(&repo, &opts, &crate::NoProgress).unwrap();
            assert_eq!(r.files, 2);
            assert!(real.join("a@example.org/Contacts/Contacts.vcf").exists());
        }
        // A dry run of a zip lists the files and creates nothing.
        let mut opts = ExportOptions::new("", dir.path().join("new.zip"));
        opts.zip = true;
        opts.dry_run = true;
        let r = export_blocking(&repo, &opts, &crate::NoProgress).unwrap();
        assert!(!dir.path().join("new.zip").exists());
        let paths: Vec<&str> = r.written.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "a@example.org/Contacts/Contacts.vcf",
                "a@example.org/Mail/Inbox/2026-11-02 0900 good.eml",
                "a@example.org/Mail/Inbox/lost.eml"
            ]
        );
    }
}
