//! `qcbackup export`: part of a snapshot as files on this computer (.eml or .mbox, .ics, .vcf),
//! in a folder or one .zip file.

use std::path::PathBuf;
use std::process::ExitCode;

use chrono::{DateTime, NaiveDate, Utc};
use clap::Args;
use qcb_engine::{ExportOptions, ExportReport, MailFormat};

use crate::output::Output;

#[derive(Args)]
pub struct ExportArgs {
    #[command(flatten)]
    repo: crate::RepoArgs,
    /// `latest`, a snapshot id or a unique prefix (with --at-or-before: `latest`).
    snapshot: String,
    /// What to export: `/mailbox`, `/mailbox/Mail/Inbox`, `/mailbox/Contacts`, one item
    /// (`/mailbox/Mail/Inbox/<id>`), or nothing for every mailbox.
    #[arg(default_value = "")]
    path: String,
    /// The folder to write into (created when missing; must be empty unless
    /// --allow-non-empty), or with --zip the .zip file to create.
    #[arg(long, short = 'o')]
    to: PathBuf,
    /// Mail as one .eml file per message, or one .mbox file per folder.
    #[arg(long, default_value = "eml", value_parser = MailFormat::parse)]
    format: MailFormat,
    /// Write one .zip file instead of a folder.
    #[arg(long)]
    zip: bool,
    /// List what would be written, and write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Only the items directly in the chosen folder, not its subfolders.
    #[arg(long)]
    no_recursive: bool,
    /// One .ics file per event instead of one per calendar.
    #[arg(long)]
    event_files: bool,
    /// Write into a folder that already holds files (nothing in it is overwritten: new files
    /// whose names are taken get a suffix).
    #[arg(long)]
    allow_non_empty: bool,
    /// Use the newest snapshot taken at or before this time: RFC 3339, or a date (its end,
    /// UTC).
    #[arg(long, value_parser = parse_time)]
    at_or_before: Option<DateTime<Utc>>,
}

fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text.trim()) {
        return Ok(t.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(23, 59, 59))
        .map(|t| t.and_utc())
        .ok_or_else(|| format!("{text:?}: give a date (2026-11-27) or an RFC 3339 time"))
}

fn human_bytes(n: u64) -> String {
    match n {
        n if n >= 1 << 30 => format!("{:.1} GiB", n as f64 / (1u64 << 30) as f64),
        n if n >= 1 << 20 => format!("{:.1} MiB", n as f64 / (1u64 << 20) as f64),
        n if n >= 1 << 10 => format!("{:.1} KiB", n as f64 / 1024.0),
        n => format!("{n} B"),
    }
}

pub async fn run(args: ExportArgs, out: &Output) -> anyhow::Result<ExitCode> {
    if args.at_or_before.is_some() && args.snapshot != "latest" {
        anyhow::bail!(qcb_engine::EngineError::InvalidInput(
            "give either a snapshot or --at-or-before (with the snapshot `latest`)".into()
        ));
    }
    let handle = args.repo.open().await?;
    let opts = ExportOptions {
        snapshot: args.snapshot,
        at_or_before: args.at_or_before,
        path: args.path,
        recursive: !args.no_recursive,
        mail_format: args.format,
        event_files: args.event_files,
        target: args.to,
        zip: args.zip,
        allow_non_empty: args.allow_non_empty,
        dry_run: args.dry_run,
    };
    let report = qcb_engine::api::export(handle, opts, out.progress_sink()).await?;
    print(&report, out);
    Ok(if report.failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(3)
    })
}

fn print(r: &ExportReport, out: &Output) {
    if out.is_json() {
        println!("{}", serde_json::to_string_pretty(r).expect("json"));
        return;
    }
    if r.dry_run {
        for f in &r.written {
            println!("{}  ({} item(s))", f.path, f.items);
        }
    }
    println!(
        "{} {} message(s), {} event(s), {} contact(s), {} task(s), {} other item(s) {} {} file(s) \
         ({}) {} {} from snapshot {} in {:.1} s",
        if r.dry_run {
            "would export"
        } else {
            "exported"
        },
        r.messages,
        r.events,
        r.contacts,
        r.tasks,
        r.other,
        if r.dry_run { "as" } else { "into" },
        r.files,
        human_bytes(r.bytes),
        if r.zip { "in the zip" } else { "under" },
        r.target,
        &r.snapshot_id[..8.min(r.snapshot_id.len())],
        r.duration_ms as f64 / 1000.0
    );
    if !r.failed.is_empty() {
        println!("{} item(s) could not be exported:", r.failed.len());
        for f in &r.failed {
            println!(
                "  {} / {} / {}: {}",
                f.mailbox, f.folder, f.item_id, f.reason
            );
        }
    }
}
