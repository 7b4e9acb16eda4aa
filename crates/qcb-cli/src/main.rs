//! `qcbackup`: the headless QCBackup front end ("Run on Server"). It calls the same engine API
//! as the desktop app.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};
use qcb_engine::{
    BackupOptions, Categories, Connection, EngineError, OnConflict, ProgressEvent, PruneOptions,
    ReadData, RestoreOptions, RestoreTarget, RetentionPolicy, Span,
};

/// jemalloc rather than glibc's malloc, whose per-thread arenas kept freed memory while a
/// backup ran (about 200 threads): on the load harness's 75,630 items peak memory fell from
/// 925 to 599 MiB and stopped growing with the run, and CPU time by 14% (docs/reliability.md,
/// "Load").
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

mod demo;
mod export;
mod output;
mod search;
mod sets;

use output::Output;

/// Back up and restore Microsoft 365 mailboxes into an encrypted, deduplicated repository.
///
/// Exit status: 0 success; 1 failure; 2 bad usage; 3 finished, but some items failed (see the
/// report); 4 wrong password, sign-in refused or permission missing; 5 snapshot, path or mailbox
/// not found; 6 the repository is locked by another process.
#[derive(Parser)]
#[command(name = "qcbackup", version, propagate_version = true)]
struct Cli {
    /// Print results as JSON on stdout and progress as JSON lines on stderr.
    #[arg(long, global = true)]
    json: bool,
    /// Log detail on stderr: error, warn, info, debug (never secrets or mail content).
    #[arg(long, global = true, default_value = "warn", env = "QCBACKUP_LOG")]
    log: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone)]
struct RepoArgs {
    /// Repository: a folder, or an S3 bucket as s3:http[s]://host[:port]/bucket[/prefix] with
    /// keys in QCBACKUP_S3_ACCESS_KEY_ID and QCBACKUP_S3_SECRET_ACCESS_KEY (or AWS_ACCESS_KEY_ID
    /// and AWS_SECRET_ACCESS_KEY) and the region in QCBACKUP_S3_REGION (default us-east-1).
    #[arg(long, short = 'r', env = "QCBACKUP_REPO")]
    repo: qcb_repo::Location,
    /// Read the repository password from this file (first line). Otherwise QCBACKUP_PASSWORD.
    #[arg(long, env = "QCBACKUP_PASSWORD_FILE")]
    password_file: Option<PathBuf>,
    /// Folder for the local catalog cache (default: $XDG_CACHE_HOME/qcbackup).
    #[arg(long, env = "QCBACKUP_CACHE_DIR")]
    cache_dir: Option<PathBuf>,
}

#[derive(Args, Clone)]
struct TenantArgs {
    /// Microsoft Graph base URL.
    #[arg(
        long,
        env = "QCBACKUP_GRAPH_URL",
        default_value = "https://graph.microsoft.com/v1.0"
    )]
    graph_url: String,
    /// Microsoft identity platform authority.
    #[arg(
        long,
        env = "QCBACKUP_AUTHORITY",
        default_value = "https://login.microsoftonline.com"
    )]
    authority: String,
    /// Directory (tenant) id.
    #[arg(long, env = "QCBACKUP_TENANT_ID")]
    tenant: String,
    /// Application (client) id of the Entra app. Its secret is read from QCBACKUP_CLIENT_SECRET,
    /// unless it signs in with a certificate.
    #[arg(long, env = "QCBACKUP_CLIENT_ID")]
    client_id: String,
    /// Sign in with this certificate instead of a secret: a PEM file holding the certificate
    /// registered on the app and its unencrypted RSA private key.
    #[arg(long, env = "QCBACKUP_CLIENT_CERTIFICATE")]
    client_certificate: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Manage the repository itself.
    Repo {
        #[command(subcommand)]
        command: RepoCommand,
    },
    /// Back up mailboxes (every user when no --mailbox is given) into a new snapshot.
    Backup {
        #[command(flatten)]
        repo: RepoArgs,
        #[command(flatten)]
        tenant: TenantArgs,
        /// A mailbox (user principal name or id); repeat for several.
        #[arg(long = "mailbox", short = 'm')]
        mailboxes: Vec<String>,
        /// Tag the snapshot (e.g. the backup set's name); retention policies judge each set
        /// of tags on its own. Repeat for several.
        #[arg(long = "tag")]
        tags: Vec<String>,
        /// What to back up: any of mail, contacts, calendars, tasks, settings (comma separated),
        /// or all.
        #[arg(long, default_value = "all", value_parser = Categories::parse)]
        categories: Categories,
        /// How many mailboxes are backed up at once. Each keeps within Exchange's own limit
        /// (10,000 requests per 10 minutes per mailbox), so an organisation's backup goes as
        /// fast as this many mailboxes' budgets, or the machine, allow.
        #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
        mailbox_concurrency: u16,
    },
    /// List snapshots, oldest first.
    Snapshots {
        #[command(flatten)]
        repo: RepoArgs,
    },
    /// List the folders and messages under a path of a snapshot.
    Ls {
        #[command(flatten)]
        repo: RepoArgs,
        /// `latest`, a snapshot id or a unique prefix.
        snapshot: String,
        /// `/mailbox/Folder/Sub`; empty lists the mailboxes.
        #[arg(default_value = "")]
        path: String,
    },
    /// Restore a mailbox, a category (mail, contacts, calendars, tasks, rules) or a folder: back
    /// where it was, or into a new folder (the default, `Restored <date time>`); mail as received
    /// messages with their original dates; no meeting invitation is sent.
    Restore {
        #[command(flatten)]
        repo: RepoArgs,
        #[command(flatten)]
        tenant: TenantArgs,
        snapshot: String,
        /// `/mailbox`, `/mailbox/Mail/Folder/Sub`, `/mailbox/Contacts[/Folder]`,
        /// `/mailbox/Calendars[/Calendar]`, `/mailbox/Tasks[/List]` or `/mailbox/Settings`;
        /// `/` restores every mailbox of the snapshot, each into itself, several at once.
        path: String,
        /// Where to: `original` (same folders, recreated when missing) or `folder NAME` (a
        /// top-level folder holding the original hierarchy). Default: `folder "Restored <now>"`.
        #[arg(long, num_args = 1..=2, value_names = ["original|folder", "NAME"], conflicts_with = "to_folder")]
        to: Option<Vec<String>>,
        /// Same as `--to folder NAME`.
        #[arg(long, value_name = "NAME")]
        to_folder: Option<String>,
        /// Restore into another mailbox of the same tenant.
        #[arg(long)]
        to_mailbox: Option<String>,
        /// When the item is still there: skip it, overwrite it, or keep both.
        #[arg(long, default_value = "skip", value_parser = OnConflict::parse)]
        on_conflict: OnConflict,
        /// Leave a folder's subfolders out.
        #[arg(long)]
        no_recursive: bool,
        /// Restore from the newest snapshot taken at or before this time: RFC 3339, or a date
        /// (its end, UTC); give the snapshot as `latest`.
        #[arg(long, value_name = "TIME", value_parser = parse_point_in_time)]
        at_or_before: Option<chrono::DateTime<chrono::Utc>>,
        /// List what would be written, and write nothing.
        #[arg(long)]
        dry_run: bool,
        /// With the path `/` (every mailbox of the snapshot, each into itself): how many
        /// mailboxes are restored at once.
        #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
        mailbox_concurrency: u16,
    },
    /// Export part of a snapshot to files: .eml or .mbox, .ics, .vcf, in a folder or a .zip.
    Export(export::ExportArgs),
    /// Search every snapshot's mail, contacts, events and tasks (subject, sender, recipients,
    /// body, attachment names), with filters; shows where each hit is, to restore it.
    Search(search::SearchArgs),
    /// Verify the repository: every snapshot's trees and blobs are indexed, and every blob reads back intact.
    Check {
        #[command(flatten)]
        repo: RepoArgs,
        /// Also read, decrypt and verify every stored blob.
        #[arg(long)]
        read_data: bool,
        /// Read only this share of the packs, chosen at random (e.g. 10%).
        #[arg(long, value_name = "PERCENT", conflicts_with = "read_data", value_parser = parse_read_data)]
        read_data_subset: Option<ReadData>,
    },
    /// Apply a retention policy: remove snapshots no rule keeps (each tag set on its own).
    Forget {
        #[command(flatten)]
        repo: RepoArgs,
        #[command(flatten)]
        policy: PolicyArgs,
        /// Show what would be removed and why, and change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Run `prune` afterwards.
        #[arg(long, conflicts_with = "dry_run")]
        prune: bool,
    },
    /// Remove data that no snapshot uses any more.
    Prune {
        #[command(flatten)]
        repo: RepoArgs,
        /// Show what would be removed and change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Rewrite packs whose unused share is above this.
        #[arg(long, default_value = "10%", value_parser = parse_percent)]
        max_unused: f64,
    },
    /// List every snapshot's copy of one item (its id as `ls` shows it), following moves.
    Versions {
        #[command(flatten)]
        repo: RepoArgs,
        item_id: String,
    },
    /// Saved backup sets: create, import/export as TOML, list, run, store their secrets.
    Set {
        #[command(subcommand)]
        command: sets::SetCommand,
        #[command(flatten)]
        state: sets::StateArgs,
    },
    /// Test connection: sign in and report, per mailbox and category, what can be read and
    /// written, naming each missing permission and the admin step that grants it (exit 4 when
    /// something cannot be read).
    TestConnection {
        #[command(flatten)]
        tenant: TenantArgs,
        /// A mailbox (address or id); repeat for several. None: every mailbox.
        #[arg(long = "mailbox", short = 'm')]
        mailboxes: Vec<String>,
        #[arg(long, default_value = "all", value_parser = Categories::parse)]
        categories: Categories,
        /// Probe at most this many mailboxes (0: all).
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// The job history: every run of every backup set, newest first.
    History {
        /// Only this set's runs.
        #[arg(long)]
        set: Option<String>,
        /// At most this many runs (0: all).
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// Print the log of this run (by its #id), from the daemon's `--log-dir`.
        #[arg(long, value_name = "RUN", requires = "log_dir")]
        show_log: Option<i64>,
        /// The folder the daemon logs to (its `--log-dir`).
        #[arg(long)]
        log_dir: Option<PathBuf>,
        #[command(flatten)]
        state: sets::StateArgs,
    },
    /// Run the backup sets marked `run-on = "server"` on their schedules until stopped
    /// (SIGTERM or Ctrl-C). See docs/daemon.md for a systemd unit.
    Daemon {
        /// Look at the sets at least this often (seconds), to notice new and changed ones.
        #[arg(long, default_value_t = 60)]
        poll: u64,
        /// Write logs to daily-rotated files in this folder (14 kept) instead of stderr.
        #[arg(long, env = "QCBACKUP_LOG_DIR")]
        log_dir: Option<PathBuf>,
        #[command(flatten)]
        state: sets::StateArgs,
    },
    /// Start the built-in demo tenant and run a backup, a listing and a restore against it.
    Demo {
        /// Keep the demo repository in this folder instead of a temporary one.
        #[arg(long)]
        dir: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum RepoCommand {
    /// Create a new repository in an empty or missing folder.
    Init {
        #[command(flatten)]
        repo: RepoArgs,
    },
    /// Manage the passwords (key files) that open the repository.
    Key {
        #[command(subcommand)]
        command: KeyCommand,
    },
    /// Recreate the local catalog cache from the repository alone (e.g. on a new machine).
    RebuildCatalog {
        #[command(flatten)]
        repo: RepoArgs,
    },
    /// List the locks held on the repository.
    Locks {
        #[command(flatten)]
        repo: RepoArgs,
    },
    /// Remove stale locks (left by processes that were killed or machines that went away).
    Unlock {
        #[command(flatten)]
        repo: RepoArgs,
        /// Remove every lock, live or not: only when no other process uses the repository.
        #[arg(long)]
        all: bool,
    },
}

#[derive(Subcommand)]
enum KeyCommand {
    /// List key files; `*` marks the one the password opened.
    List {
        #[command(flatten)]
        repo: RepoArgs,
    },
    /// Add a password (read from QCBACKUP_NEW_PASSWORD or --new-password-file).
    Add {
        #[command(flatten)]
        repo: RepoArgs,
        #[command(flatten)]
        new: NewPasswordArgs,
    },
    /// Remove a key file by id or unique prefix (not the one in use, not the last one).
    Remove {
        #[command(flatten)]
        repo: RepoArgs,
        id: String,
    },
    /// Change the password in use; no data is re-encrypted.
    Passwd {
        #[command(flatten)]
        repo: RepoArgs,
        #[command(flatten)]
        new: NewPasswordArgs,
    },
}

#[derive(Args, Clone)]
struct NewPasswordArgs {
    /// Read the new password from this file (first line). Otherwise QCBACKUP_NEW_PASSWORD.
    #[arg(long)]
    new_password_file: Option<PathBuf>,
}

impl NewPasswordArgs {
    fn read(&self) -> anyhow::Result<String> {
        use anyhow::Context;
        let p = match &self.new_password_file {
            Some(f) => std::fs::read_to_string(f)
                .with_context(|| format!("reading the password file {}", f.display()))?
                .lines()
                .next()
                .unwrap_or("")
                .to_string(),
            None => std::env::var("QCBACKUP_NEW_PASSWORD").map_err(|_| {
                anyhow::anyhow!(
                    "no new password: set QCBACKUP_NEW_PASSWORD or pass --new-password-file"
                )
            })?,
        };
        Ok(p)
    }
}

/// Retention rules; a snapshot is kept if any rule keeps it.
#[derive(Args, Clone)]
struct PolicyArgs {
    /// Keep the newest N snapshots.
    #[arg(long, value_name = "N")]
    keep_last: Option<u32>,
    /// Keep every snapshot taken within this span of now (e.g. 30d, 36h, 8w, 6m, 2y).
    #[arg(long, value_name = "SPAN", value_parser = Span::parse)]
    keep_within: Option<Span>,
    /// Keep the newest snapshot of each of the last N hours.
    #[arg(long, value_name = "N")]
    keep_hourly: Option<u32>,
    /// Keep the newest snapshot of each of the last N days.
    #[arg(long, value_name = "N")]
    keep_daily: Option<u32>,
    /// Keep the newest snapshot of each of the last N ISO weeks.
    #[arg(long, value_name = "N")]
    keep_weekly: Option<u32>,
    /// Keep the newest snapshot of each of the last N months.
    #[arg(long, value_name = "N")]
    keep_monthly: Option<u32>,
    /// Keep the newest snapshot of each of the last N years.
    #[arg(long, value_name = "N")]
    keep_yearly: Option<u32>,
    /// Items deleted from a mailbox stay restorable at least this long (e.g. 30d).
    #[arg(long, value_name = "SPAN", value_parser = Span::parse)]
    keep_deleted: Option<Span>,
}

impl PolicyArgs {
    fn policy(&self) -> RetentionPolicy {
        RetentionPolicy {
            keep_last: self.keep_last,
            keep_within: self.keep_within,
            keep_hourly: self.keep_hourly,
            keep_daily: self.keep_daily,
            keep_weekly: self.keep_weekly,
            keep_monthly: self.keep_monthly,
            keep_yearly: self.keep_yearly,
            deleted_item_retention: self.keep_deleted,
        }
    }
}

fn parse_read_data(text: &str) -> Result<ReadData, String> {
    ReadData::parse(text)
}

fn parse_percent(text: &str) -> Result<f64, String> {
    let n: f64 = text
        .trim()
        .strip_suffix('%')
        .ok_or_else(|| format!("{text:?}: give a percentage such as 10%"))?
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a percentage"))?;
    if !(0.0..=100.0).contains(&n) {
        return Err(format!("{text:?}: between 0% and 100%"));
    }
    Ok(n / 100.0)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_new(&cli.log)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    // The daemon may log to rotating files; the guard flushes them at exit.
    let _log_guard = match &cli.command {
        Command::Daemon {
            log_dir: Some(dir), ..
        } => match log_files(dir) {
            Ok((writer, guard)) => {
                use tracing_subscriber::layer::SubscriberExt;
                use tracing_subscriber::util::SubscriberInitExt;
                tracing_subscriber::registry()
                    .with(filter)
                    .with(
                        tracing_subscriber::fmt::layer()
                            .with_writer(writer)
                            .with_ansi(false),
                    )
                    // Each run's own log, for `qcbackup history --show-log`.
                    .with(qcb_engine::runlog::RunLogLayer::new(dir.join("runs")))
                    .init();
                Some(guard)
            }
            Err(e) => {
                eprintln!("error: logs in {}: {e}", dir.display());
                return ExitCode::from(2);
            }
        },
        _ => {
            tracing_subscriber::fmt()
                .with_writer(std::io::stderr)
                .with_env_filter(filter)
                .init();
            None
        }
    };
    let out = Output::new(cli.json);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    match runtime.block_on(run(cli.command, &out)) {
        Ok(code) => code,
        Err(e) => {
            out.error(&e);
            ExitCode::from(exit_code(&e))
        }
    }
}

/// Daily-rotated log files `qcbackup.YYYY-MM-DD.log` in `dir`, the newest 14 kept.
fn log_files(
    dir: &std::path::Path,
) -> anyhow::Result<(
    tracing_appender::non_blocking::NonBlocking,
    tracing_appender::non_blocking::WorkerGuard,
)> {
    std::fs::create_dir_all(dir)?;
    let appender = tracing_appender::rolling::Builder::new()
        .rotation(tracing_appender::rolling::Rotation::DAILY)
        .filename_prefix("qcbackup")
        .filename_suffix("log")
        .max_log_files(14)
        .build(dir)?;
    Ok(tracing_appender::non_blocking(appender))
}

/// A point in time: RFC 3339, or a date (its end, UTC).
fn parse_point_in_time(text: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text.trim()) {
        return Ok(t.with_timezone(&chrono::Utc));
    }
    chrono::NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(23, 59, 59))
        .map(|t| t.and_utc())
        .ok_or_else(|| format!("{text:?}: give a date (2026-11-27) or an RFC 3339 time"))
}

fn exit_code(e: &anyhow::Error) -> u8 {
    match e.downcast_ref::<EngineError>().map(EngineError::code) {
        Some("wrong_password" | "sign_in" | "access_denied" | "missing_secret") => 4,
        Some("not_found") => 5,
        Some("locked") => 6,
        _ => 1,
    }
}

impl RepoArgs {
    fn password(&self) -> anyhow::Result<String> {
        use anyhow::Context;
        if let Some(f) = &self.password_file {
            let s = std::fs::read_to_string(f)
                .with_context(|| format!("reading the password file {}", f.display()))?;
            return Ok(s.lines().next().unwrap_or("").to_string());
        }
        std::env::var("QCBACKUP_PASSWORD").map_err(|_| {
            anyhow::anyhow!("no repository password: set QCBACKUP_PASSWORD or pass --password-file")
        })
    }

    fn cache_dir(&self) -> PathBuf {
        self.cache_dir.clone().unwrap_or_else(default_cache_dir)
    }

    /// The password, read off the async workers (it may come from a file).
    async fn password_async(&self) -> anyhow::Result<String> {
        let args = self.clone();
        tokio::task::spawn_blocking(move || args.password()).await?
    }

    async fn open(&self) -> anyhow::Result<Arc<qcb_engine::RepoHandle>> {
        Ok(qcb_engine::api::open_repository_at(
            self.repo.clone(),
            self.password_async().await?,
            self.cache_dir(),
            false,
        )
        .await?)
    }
}

fn default_cache_dir() -> PathBuf {
    xdg_dir("XDG_CACHE_HOME", ".cache")
}

/// `$VAR/qcbackup`, else `$HOME/<home_sub>/qcbackup` (the XDG base directories).
fn xdg_dir(var: &str, home_sub: &str) -> PathBuf {
    std::env::var_os(var)
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(home_sub)))
        .unwrap_or_else(std::env::temp_dir)
        .join("qcbackup")
}

impl TenantArgs {
    fn connection(&self, client_secret: String) -> Connection {
        Connection {
            graph_url: self.graph_url.clone(),
            authority: self.authority.clone(),
            tenant_id: self.tenant.clone(),
            client_id: self.client_id.clone(),
            client_secret,
        }
    }

    /// A Graph client signed in as the app: with its certificate when one is given, else with
    /// its client secret.
    async fn client(&self) -> anyhow::Result<Arc<qcb_engine::GraphClient>> {
        if let Some(path) = self.client_certificate.clone() {
            let cert = tokio::task::spawn_blocking(move || {
                qcb_graph::ClientCertificate::from_pem_file(&path)
            })
            .await??;
            let conn = self.connection(String::new());
            return Ok(Arc::new(
                conn.client_with(qcb_graph::Credentials::Certificate(cert))?,
            ));
        }
        let client_secret = std::env::var("QCBACKUP_CLIENT_SECRET").map_err(|_| {
            anyhow::anyhow!(
                "no client secret: set QCBACKUP_CLIENT_SECRET, or sign in with a certificate \
                 (--client-certificate)"
            )
        })?;
        Ok(Arc::new(self.connection(client_secret).client()?))
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

async fn run(command: Command, out: &Output) -> anyhow::Result<ExitCode> {
    match command {
        Command::Repo {
            command: RepoCommand::Init { repo },
        } => {
            let handle = qcb_engine::api::open_repository_at(
                repo.repo.clone(),
                repo.password_async().await?,
                repo.cache_dir(),
                true,
            )
            .await?;
            out.created(&handle);
            Ok(ExitCode::SUCCESS)
        }
        Command::Repo {
            command: RepoCommand::RebuildCatalog { repo },
        } => {
            let handle = repo.open().await?;
            let n = qcb_engine::api::rebuild_catalog(handle).await?;
            out.done(
                &format!("catalog rebuilt from the repository: {n} snapshot(s)"),
                serde_json::json!({ "snapshots": n }),
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Repo {
            command: RepoCommand::Locks { repo },
        } => {
            let handle = repo.open().await?;
            out.locks(&qcb_engine::api::list_locks(handle).await?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Repo {
            command: RepoCommand::Unlock { repo, all },
        } => {
            let handle = repo.open().await?;
            let n = qcb_engine::api::unlock(handle, all).await?;
            out.done(
                &format!("{n} lock(s) removed"),
                serde_json::json!({ "removed": n }),
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Repo {
            command: RepoCommand::Key { command },
        } => run_key(command, out).await,
        Command::Backup {
            repo,
            tenant,
            mailboxes,
            tags,
            categories,
            mailbox_concurrency,
        } => {
            let handle = repo.open().await?;
            let graph = tenant.client().await?;
            let host = tokio::task::spawn_blocking(hostname).await?;
            let mut opts = BackupOptions::new(chrono::Utc::now(), host);
            opts.mailboxes = mailboxes;
            opts.tags = tags;
            opts.categories = categories;
            opts.mailbox_concurrency = usize::from(mailbox_concurrency);
            opts.spool_dir = Some(repo.cache_dir());
            let progress = out.progress_sink();
            let report =
                qcb_engine::backup(graph, handle.repository().clone(), opts, progress).await?;
            out.backup_report(&report);
            Ok(if report.failed.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(3)
            })
        }
        Command::Set { command, state } => sets::run_set_command(command, state, out).await,
        Command::TestConnection {
            tenant,
            mailboxes,
            categories,
            limit,
        } => {
            let graph = tenant.client().await?;
            let report = qcb_engine::test_connection(
                graph,
                &tenant.client_id,
                qcb_engine::ConnectionTest {
                    mailboxes,
                    selection: Default::default(),
                    categories,
                    limit,
                },
            )
            .await?;
            Ok(sets::print_connection_report(out, &report))
        }
        Command::History {
            show_log: Some(run),
            log_dir: Some(dir),
            ..
        } => {
            print!(
                "{}",
                qcb_engine::api::run_log(dir.join("runs"), run, usize::MAX).await?
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::History {
            set, limit, state, ..
        } => sets::history(state, set, limit, out).await,
        Command::Daemon { poll, state, .. } => sets::daemon(state, poll).await,
        Command::Snapshots { repo } => {
            let handle = repo.open().await?;
            let list = qcb_engine::api::list_snapshots(handle).await?;
            out.snapshots(&list);
            Ok(ExitCode::SUCCESS)
        }
        Command::Ls {
            repo,
            snapshot,
            path,
        } => {
            let handle = repo.open().await?;
            let browse = qcb_engine::api::browse(handle, snapshot, path).await?;
            out.browse(&browse);
            Ok(ExitCode::SUCCESS)
        }
        Command::Restore {
            repo,
            tenant,
            snapshot,
            path,
            to,
            to_folder,
            to_mailbox,
            on_conflict,
            no_recursive,
            at_or_before,
            dry_run,
            mailbox_concurrency,
        } => {
            if at_or_before.is_some() && snapshot != "latest" {
                return Err(EngineError::InvalidInput(
                    "give either a snapshot or --at-or-before (with the snapshot `latest`)".into(),
                )
                .into());
            }
            let target = match (to, to_folder) {
                (Some(words), _) => {
                    RestoreTarget::parse(&words).map_err(EngineError::InvalidInput)?
                }
                (None, Some(name)) => RestoreTarget::Folder(name),
                (None, None) => RestoreTarget::restored_at(chrono::Local::now().naive_local()),
            };
            let handle = repo.open().await?;
            let graph = tenant.client().await?;
            let opts = RestoreOptions {
                snapshot,
                at_or_before,
                path,
                target_mailbox: to_mailbox,
                target,
                recursive: !no_recursive,
                on_conflict,
                dry_run,
                requests_per_mailbox: 4,
            };
            if opts.path.trim() == "/" {
                let reports = qcb_engine::restore_mailboxes(
                    graph,
                    handle.repository().clone(),
                    opts,
                    Vec::new(),
                    usize::from(mailbox_concurrency),
                    out.progress_sink(),
                )
                .await?;
                out.restore_reports(&reports);
                return Ok(if reports.iter().all(|r| r.failed.is_empty()) {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::from(3)
                });
            }
            let report = qcb_engine::restore(
                graph,
                handle.repository().clone(),
                opts,
                out.progress_sink(),
            )
            .await?;
            out.restore_report(&report);
            Ok(if report.failed.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(3)
            })
        }
        Command::Export(args) => export::run(args, out).await,
        Command::Search(args) => search::run(args, out).await,
        Command::Check {
            repo,
            read_data,
            read_data_subset,
        } => {
            let handle = repo.open().await?;
            let which = read_data_subset.or(read_data.then_some(ReadData::All));
            let report = qcb_engine::api::check(handle, which).await?;
            out.check(&report);
            Ok(if report.problems.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Forget {
            repo,
            policy,
            dry_run,
            prune,
        } => {
            let handle = repo.open().await?;
            let report = qcb_engine::api::forget(handle.clone(), policy.policy(), dry_run).await?;
            let pruned = if prune {
                Some(qcb_engine::api::prune(handle, PruneOptions::default()).await?)
            } else {
                None
            };
            out.forget(&report, pruned.as_ref());
            Ok(ExitCode::SUCCESS)
        }
        Command::Prune {
            repo,
            dry_run,
            max_unused,
        } => {
            let handle = repo.open().await?;
            let r = qcb_engine::api::prune(
                handle,
                PruneOptions {
                    max_unused,
                    dry_run,
                },
            )
            .await?;
            out.prune(&r);
            Ok(ExitCode::SUCCESS)
        }
        Command::Versions { repo, item_id } => {
            let handle = repo.open().await?;
            let list = qcb_engine::api::item_versions(handle, item_id).await?;
            out.versions(&list);
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo { dir } => demo::run(dir, out).await,
    }
}

async fn run_key(command: KeyCommand, out: &Output) -> anyhow::Result<ExitCode> {
    match command {
        KeyCommand::List { repo } => {
            out.keys(&qcb_engine::api::list_keys(repo.open().await?).await?);
        }
        KeyCommand::Add { repo, new } => {
            let password = tokio::task::spawn_blocking(move || new.read()).await??;
            let id = qcb_engine::api::add_key(repo.open().await?, password).await?;
            out.done(
                &format!("key {} added", &id[..12]),
                serde_json::json!({ "id": id }),
            );
        }
        KeyCommand::Remove { repo, id } => {
            let id = qcb_engine::api::remove_key(repo.open().await?, id).await?;
            out.done(
                &format!("key {} removed", &id[..12]),
                serde_json::json!({ "id": id }),
            );
        }
        KeyCommand::Passwd { repo, new } => {
            let password = tokio::task::spawn_blocking(move || new.read()).await??;
            let id = qcb_engine::api::change_password(repo.open().await?, password).await?;
            out.done(
                &format!("password changed (new key {})", &id[..12]),
                serde_json::json!({ "id": id }),
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Progress on stderr: JSON lines, or a human line at most every second and on phase changes.
fn human_duration(secs: u64) -> String {
    match secs {
        0..60 => format!("{secs}s"),
        60..3600 => format!("{}m{:02}s", secs / 60, secs % 60),
        _ => format!("{}h{:02}m", secs / 3600, secs % 3600 / 60),
    }
}

pub(crate) fn progress_line(e: &ProgressEvent) -> String {
    let place = match (&e.mailbox, &e.folder) {
        (Some(m), Some(f)) => format!(" {m} / {f}"),
        (Some(m), None) => format!(" {m}"),
        _ => String::new(),
    };
    let mut pace = String::new();
    if e.pace.items_per_second > 0.0 {
        pace.push_str(&format!(", {:.1} items/s", e.pace.items_per_second));
    }
    if let Some(eta) = e.pace.eta_seconds {
        pace.push_str(&format!(", about {} left", human_duration(eta)));
    }
    if e.pace.throttled_now > 0 {
        pace.push_str(&format!(
            ", {} request(s) waiting on Exchange throttling",
            e.pace.throttled_now
        ));
    }
    format!(
        "{}{place}: {}/{} items, {} KiB{pace}",
        format!("{:?}", e.phase).to_lowercase(),
        e.items_done,
        e.items_total,
        e.bytes_done / 1024
    )
}
