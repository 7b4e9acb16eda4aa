//! `qcbackup search`: full-text search across every snapshot (or one), to find what to restore.

use std::process::ExitCode;

use clap::Args;
use qcb_engine::{SearchQuery, SearchResults};

use crate::output::Output;

#[derive(Args)]
pub struct SearchArgs {
    #[command(flatten)]
    repo: crate::RepoArgs,
    /// Words to find (all of them) in subject, sender, recipients, body and attachment names;
    /// "a phrase", prefix*, OR, NOT, ( ), and subject: from: to: body: attachment: columns.
    text: String,
    /// Only this mailbox (its address).
    #[arg(long)]
    mailbox: Option<String>,
    /// Only this folder and its subfolders, as a path inside its category (Inbox/Projects).
    #[arg(long)]
    folder: Option<String>,
    /// Only mail, contacts, calendars, tasks or settings.
    #[arg(long)]
    category: Option<String>,
    /// Received (or starting, or changed) on or after this date (2026-11-01) or RFC 3339 time.
    #[arg(long = "from")]
    from_date: Option<String>,
    /// Received on or before this date (its end, UTC) or RFC 3339 time.
    #[arg(long = "to")]
    to_date: Option<String>,
    /// Only items with attachments.
    #[arg(long)]
    has_attachments: bool,
    /// Only this snapshot (latest, an id or a unique prefix); default: every snapshot.
    #[arg(long)]
    snapshot: Option<String>,
    /// At most this many hits (at most 1000).
    #[arg(long, default_value_t = 20)]
    limit: usize,
}

pub async fn run(args: SearchArgs, out: &Output) -> anyhow::Result<ExitCode> {
    let handle = args.repo.open().await?;
    let query = SearchQuery {
        text: args.text,
        mailbox: args.mailbox,
        folder: args.folder,
        category: args.category,
        from_date: args.from_date,
        to_date: args.to_date,
        has_attachments: args.has_attachments.then_some(true),
        snapshot: args.snapshot,
        limit: args.limit.max(1),
    };
    let results = qcb_engine::api::search(handle, query).await?;
    if out.is_json() {
        println!("{}", serde_json::to_string_pretty(&results).expect("json"));
    } else {
        print_human(&results);
    }
    Ok(ExitCode::SUCCESS)
}

fn short(id: &str) -> &str {
    &id[..id.len().min(8)]
}

fn print_human(r: &SearchResults) {
    for h in &r.hits {
        let date = h.date.get(..10).unwrap_or(&h.date);
        let clip = if h.has_attachments {
            " (attachments)"
        } else {
            ""
        };
        println!("{date}  {}  {}{clip}", h.category, h.subject);
        if !h.from.is_empty() {
            println!("    from {}", h.from);
        }
        if !h.snippet.is_empty() {
            println!("    {}", h.snippet.replace(['\n', '\r'], " "));
        }
        if let Some(p) = h.places.first() {
            let more = match h.places.len() {
                1 => String::new(),
                n => format!(
                    " (and {} older snapshot{})",
                    n - 1,
                    if n == 2 { "" } else { "s" }
                ),
            };
            println!("    {} {}{more}", short(&p.snapshot_id), p.path);
        }
    }
    let shown = r.hits.len() as u64;
    if shown < r.total {
        println!(
            "{shown} of {} matching items (use --limit for more)",
            r.total
        );
    } else {
        println!(
            "{} matching item{}",
            r.total,
            if r.total == 1 { "" } else { "s" }
        );
    }
}
