//! `qcbackup set …`, `qcbackup history` and `qcbackup daemon`: saved backup sets, their job
//! history, and the scheduler that runs them on a server ("Run on Server").

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, Subcommand};
use qcb_engine::secrets::{Chain, DirStore, KeychainStore, SecretStore};
use qcb_engine::sets::{
    AuthMethod, BackupSet, CategoriesText, DaemonOptions, RunContext, RunOn, RunStatus, Schedule,
    SecretKind, SetConnection, SetStore,
};
use qcb_engine::{Categories, EngineError, FolderFilter, MailboxSelection};

use crate::output::Output;
use crate::{PolicyArgs, default_cache_dir, hostname, xdg_dir};

/// Where sets, history and secrets are kept.
#[derive(Args, Clone)]
pub struct StateArgs {
    /// The state database (backup sets and job history). Default:
    /// $XDG_CONFIG_HOME/qcbackup/state.db.
    #[arg(long, env = "QCBACKUP_STATE_DB", global = true)]
    state_db: Option<PathBuf>,
    /// Keep and read secrets as files in this folder (servers without a keychain) instead of
    /// the OS keychain. QCBACKUP_PASSWORD and QCBACKUP_CLIENT_SECRET, when set, come first.
    #[arg(long, env = "QCBACKUP_SECRETS_DIR", global = true)]
    secrets_dir: Option<PathBuf>,
    /// Folder for the local catalog caches (default: $XDG_CACHE_HOME/qcbackup).
    #[arg(long, env = "QCBACKUP_CACHE_DIR", global = true)]
    cache_dir: Option<PathBuf>,
}

#[derive(Subcommand)]
pub enum SetCommand {
    /// Create (or with --replace, change) a backup set.
    Create(Box<CreateArgs>),
    /// Add a set from a TOML file (as `set export` writes it).
    Import {
        file: PathBuf,
        /// Replace a set of the same name.
        #[arg(long)]
        replace: bool,
    },
    /// Write a set as TOML (to stdout, or a file), to run it elsewhere.
    Export {
        name: String,
        #[arg(long, short = 'o')]
        output: Option<PathBuf>,
    },
    /// List the sets with their schedule and last run.
    List,
    /// Show one set as TOML.
    Show { name: String },
    /// Remove a set (its snapshots and history stay).
    Remove { name: String },
    /// Run a set now.
    Run { name: String },
    /// Test connection: sign in as the set does and report, per mailbox and category, what
    /// can be read and written and which permission is missing (exit 4 when a read fails).
    Test {
        name: String,
        /// Probe at most this many mailboxes (0: all).
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Store one of a set's secrets in the secret store (keychain, or --secrets-dir).
    Secret {
        name: String,
        /// repository-password, client-secret, client-certificate or refresh-token.
        #[arg(value_parser = SecretKind::parse)]
        kind: SecretKind,
        /// Read it from this file (the first line; a certificate: the whole PEM file).
        #[arg(long, conflicts_with = "from_env")]
        from_file: Option<PathBuf>,
        /// Read it from this environment variable.
        #[arg(long)]
        from_env: Option<String>,
    },
}

#[derive(Args)]
pub struct CreateArgs {
    name: String,
    /// The destination repository: a folder or an s3: URL.
    #[arg(long, short = 'r')]
    repo: String,
    /// Directory (tenant) id.
    #[arg(long)]
    tenant: String,
    /// Application (client) id of the Entra app.
    #[arg(long)]
    client_id: String,
    /// client-secret, certificate or delegated.
    #[arg(long, default_value = "client-secret", value_parser = parse_auth)]
    auth: AuthMethod,
    /// With --auth certificate: a PEM file with the certificate and its private key (else the
    /// PEM is kept in the secret store).
    #[arg(long)]
    certificate: Option<PathBuf>,
    /// With --auth delegated: the account that signed in.
    #[arg(long)]
    account: Option<String>,
    #[arg(long, default_value = "https://graph.microsoft.com/v1.0")]
    graph_url: String,
    #[arg(long, default_value = "https://login.microsoftonline.com")]
    authority: String,
    /// A mailbox by address or id; repeat for several.
    #[arg(long = "mailbox", short = 'm')]
    mailboxes: Vec<String>,
    /// Every user of the directory.
    #[arg(long)]
    all_users: bool,
    /// Users matching an OData $filter, e.g. "userType eq 'Member'".
    #[arg(long)]
    filter: Option<String>,
    /// Every shared mailbox.
    #[arg(long)]
    shared: bool,
    /// Categories: any of mail, contacts, calendars, tasks, settings, or all.
    #[arg(long, default_value = "all", value_parser = Categories::parse)]
    categories: Categories,
    /// Categories for one mailbox: MAILBOX=mail,contacts. Repeat for several.
    #[arg(long = "mailbox-categories", value_parser = parse_mailbox_categories)]
    mailbox_categories: Vec<(String, Categories)>,
    /// Back up only these folders (paths such as Inbox/Projects; * and ** allowed).
    #[arg(long = "include-folder")]
    include_folders: Vec<String>,
    /// Leave these folders out.
    #[arg(long = "exclude-folder")]
    exclude_folders: Vec<String>,
    /// manual, every 6h, hourly, daily 02:30, weekdays 22:00, weekly mon,thu 03:00.
    #[arg(long, default_value = "manual", value_parser = Schedule::parse)]
    schedule: Schedule,
    /// Who runs it on schedule: server (`qcbackup daemon`) or client (the desktop app).
    #[arg(long, default_value = "server", value_parser = parse_run_on)]
    run_on: RunOn,
    #[command(flatten)]
    policy: PolicyArgs,
    /// Replace a set of the same name.
    #[arg(long)]
    replace: bool,
}

fn parse_auth(s: &str) -> Result<AuthMethod, String> {
    match s {
        "client-secret" => Ok(AuthMethod::ClientSecret),
        "certificate" => Ok(AuthMethod::Certificate),
        "delegated" => Ok(AuthMethod::Delegated),
        _ => Err(format!(
            "{s:?}: choose client-secret, certificate or delegated"
        )),
    }
}

fn parse_run_on(s: &str) -> Result<RunOn, String> {
    match s {
        "server" => Ok(RunOn::Server),
        "client" => Ok(RunOn::Client),
        _ => Err(format!("{s:?}: choose server or client")),
    }
}

fn parse_mailbox_categories(s: &str) -> Result<(String, Categories), String> {
    let (mbx, cats) = s
        .split_once('=')
        .ok_or_else(|| format!("{s:?}: write MAILBOX=mail,contacts"))?;
    Ok((mbx.trim().to_string(), Categories::parse(cats)?))
}

impl CreateArgs {
    fn set(self) -> BackupSet {
        let policy = self.policy.policy();
        BackupSet {
            name: self.name,
            run_on: self.run_on,
            repository: self.repo,
            schedule: self.schedule,
            connection: SetConnection {
                tenant_id: self.tenant,
                client_id: self.client_id,
                auth: self.auth,
                certificate: self.certificate,
                account: self.account,
                graph_url: self.graph_url,
                authority: self.authority,
            },
            mailboxes: MailboxSelection {
                all_users: self.all_users,
                users: self.mailboxes,
                filter: self.filter,
                shared: self.shared,
            },
            categories: self.categories,
            mailbox_categories: self
                .mailbox_categories
                .into_iter()
                .map(|(m, c)| (m, CategoriesText(c)))
                .collect(),
            folders: FolderFilter {
                include: self.include_folders,
                exclude: self.exclude_folders,
            },
            retention: (!policy.is_empty()).then_some(policy),
        }
    }
}

impl StateArgs {
    fn db_path(&self) -> PathBuf {
        self.state_db
            .clone()
            .unwrap_or_else(|| xdg_dir("XDG_CONFIG_HOME", ".config").join("state.db"))
    }

    async fn store(&self) -> anyhow::Result<Arc<SetStore>> {
        let path = self.db_path();
        Ok(Arc::new(
            tokio::task::spawn_blocking(move || SetStore::open(&path)).await??,
        ))
    }

    /// Environment variables first, then the secrets folder or the OS keychain.
    fn secrets(&self) -> Arc<dyn SecretStore> {
        let last: Box<dyn SecretStore> = match &self.secrets_dir {
            Some(dir) => Box::new(DirStore::new(dir)),
            None => Box::new(KeychainStore::new("com.qcbackup.manager")),
        };
        Arc::new(Chain(vec![Box::new(EnvByKind), last]))
    }

    async fn context(&self, trigger: &str) -> anyhow::Result<RunContext> {
        Ok(RunContext {
            store: self.store().await?,
            secrets: self.secrets(),
            cache_dir: self.cache_dir.clone().unwrap_or_else(default_cache_dir),
            hostname: tokio::task::spawn_blocking(hostname).await?,
            trigger: trigger.into(),
            mailbox_concurrency: None,
        })
    }
}

/// QCBACKUP_PASSWORD for every repository password and QCBACKUP_CLIENT_SECRET for every
/// client secret, when set (read-only).
struct EnvByKind;

impl SecretStore for EnvByKind {
    fn get(&self, name: &str) -> qcb_engine::Result<Option<String>> {
        let var = if name.starts_with("repository:") {
            "QCBACKUP_PASSWORD"
        } else if name.starts_with("client-secret:") {
            "QCBACKUP_CLIENT_SECRET"
        } else {
            return Ok(None);
        };
        Ok(std::env::var(var).ok().filter(|v| !v.is_empty()))
    }
    fn set(&self, name: &str, _: &str) -> qcb_engine::Result<()> {
        Err(EngineError::InvalidInput(format!(
            "cannot store {name:?} in environment variables"
        )))
    }
    fn writable(&self) -> bool {
        false
    }
    fn delete(&self, _: &str) -> qcb_engine::Result<()> {
        Ok(())
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> qcb_engine::Result<T> + Send + 'static,
) -> anyhow::Result<T> {
    Ok(tokio::task::spawn_blocking(f).await??)
}

pub async fn run_set_command(
    command: SetCommand,
    state: StateArgs,
    out: &Output,
) -> anyhow::Result<ExitCode> {
    let now = chrono::Utc::now();
    match command {
        SetCommand::Create(args) => {
            let replace = args.replace;
            let set = args.set();
            let store = state.store().await?;
            let s = set.clone();
            blocking(move || store.save(&s, replace, now)).await?;
            out.done(
                &format!(
                    "backup set {:?} saved; store its secrets with `qcbackup set secret`",
                    set.name
                ),
                serde_json::json!({ "name": set.name, "secrets": secret_list(&set) }),
            );
        }
        SetCommand::Import { file, replace } => {
            let text = tokio::fs::read_to_string(&file)
                .await
                .with_context(|| format!("reading {}", file.display()))?;
            let set = BackupSet::from_toml(&text)?;
            let store = state.store().await?;
            let s = set.clone();
            blocking(move || store.save(&s, replace, now)).await?;
            out.done(
                &format!("backup set {:?} imported", set.name),
                serde_json::json!({ "name": set.name, "secrets": secret_list(&set) }),
            );
        }
        SetCommand::Export { name, output } => {
            let store = state.store().await?;
            let set = blocking(move || store.get(&name)).await?.set;
            let text = set.to_toml()?;
            match output {
                Some(path) => {
                    tokio::fs::write(&path, &text)
                        .await
                        .with_context(|| format!("writing {}", path.display()))?;
                    out.done(
                        &format!("backup set {:?} written to {}", set.name, path.display()),
                        serde_json::json!({ "name": set.name, "file": path }),
                    );
                }
                None => print!("{text}"),
            }
        }
        SetCommand::Show { name } => {
            let store = state.store().await?;
            let stored = blocking(move || store.get(&name)).await?;
            if out.is_json() {
                println!("{}", serde_json::to_string_pretty(&stored)?);
            } else {
                print!("{}", stored.set.to_toml()?);
            }
        }
        SetCommand::List => {
            let store = state.store().await?;
            let rows = blocking(move || {
                let mut rows = Vec::new();
                for s in store.list()? {
                    let last = store.runs(Some(&s.set.name), 1)?.into_iter().next();
                    let next = s.set.schedule.next_due(
                        store.last_started(&s.set.name)?,
                        s.created,
                        &chrono::Local,
                    );
                    rows.push((s, last, next));
                }
                Ok(rows)
            })
            .await?;
            if out.is_json() {
                let v: Vec<_> = rows
                    .iter()
                    .map(|(s, last, next)| {
                        serde_json::json!({
                            "name": s.set.name, "runOn": s.set.run_on, "schedule": s.set.schedule,
                            "repository": s.set.repository, "lastRun": last, "nextRun": next,
                        })
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else if rows.is_empty() {
                println!("no backup sets; create one with `qcbackup set create`");
            } else {
                for (s, last, next) in rows {
                    let last = last.map_or("never run".to_string(), |r| {
                        format!(
                            "last run {} {}",
                            short_time(r.started),
                            status_text(r.status)
                        )
                    });
                    let next = next.map_or(String::new(), |n| format!(", next {}", short_time(n)));
                    println!(
                        "{}  [{} on {}]  {}{}",
                        s.set.name,
                        s.set.schedule,
                        match s.set.run_on {
                            RunOn::Server => "server",
                            RunOn::Client => "client",
                        },
                        last,
                        next
                    );
                }
            }
        }
        SetCommand::Remove { name } => {
            let store = state.store().await?;
            let n = name.clone();
            blocking(move || store.remove(&n)).await?;
            out.done(
                &format!("backup set {name:?} removed (its snapshots and history stay)"),
                serde_json::json!({ "removed": name }),
            );
        }
        SetCommand::Run { name } => {
            let ctx = state.context("manual").await?;
            let report = qcb_engine::sets::run_set(&ctx, &name, now, out.progress_sink()).await?;
            out.backup_report(&report.backup);
            if let Some(e) = &report.retention_error {
                eprintln!("warning: retention not applied: {e}");
            } else if let Some(r) = &report.retention
                && !out.is_json()
            {
                println!("retention: {} snapshot(s) forgotten", r.removed);
            }
            return Ok(match report.status {
                RunStatus::Succeeded => ExitCode::SUCCESS,
                _ => ExitCode::from(3),
            });
        }
        SetCommand::Test { name, limit } => {
            let ctx = state.context("manual").await?;
            let report = qcb_engine::sets::test_set(&ctx, &name, limit).await?;
            return Ok(print_connection_report(out, &report));
        }
        SetCommand::Secret {
            name,
            kind,
            from_file,
            from_env,
        } => {
            let store = state.store().await?;
            let set = blocking(move || store.get(&name)).await?.set;
            let entry = set.secret_entry(kind).ok_or_else(|| {
                EngineError::InvalidInput(format!(
                    "backup set {:?} does not use a {kind:?} (it uses: {})",
                    set.name,
                    secret_list(&set).join(", ")
                ))
            })?;
            let value = match (from_file, from_env) {
                (Some(f), _) => {
                    let text = tokio::fs::read_to_string(&f)
                        .await
                        .with_context(|| format!("reading {}", f.display()))?;
                    if kind == SecretKind::ClientCertificate {
                        text
                    } else {
                        text.lines().next().unwrap_or("").to_string()
                    }
                }
                (None, Some(var)) => std::env::var(&var)
                    .map_err(|_| anyhow::anyhow!("the environment variable {var} is not set"))?,
                (None, None) => anyhow::bail!("give the secret with --from-file or --from-env"),
            };
            if value.trim().is_empty() {
                anyhow::bail!("the secret is empty");
            }
            let secrets = state.secrets();
            let e = entry.clone();
            blocking(move || secrets.set(&e, &value)).await?;
            out.done(
                &format!("stored the {} of backup set {:?}", kind.as_str(), set.name),
                serde_json::json!({ "entry": entry }),
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn secret_list(set: &BackupSet) -> Vec<&'static str> {
    set.secret_entries()
        .into_iter()
        .map(|(k, _)| k.as_str())
        .collect()
}

fn short_time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.with_timezone(&chrono::Local)
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

fn status_text(s: RunStatus) -> &'static str {
    match s {
        RunStatus::Running => "(running)",
        RunStatus::Succeeded => "(succeeded)",
        RunStatus::Warning => "(finished with warnings)",
        RunStatus::Failed => "(failed)",
        RunStatus::Interrupted => "(interrupted)",
    }
}

pub async fn history(
    state: StateArgs,
    set: Option<String>,
    limit: usize,
    out: &Output,
) -> anyhow::Result<ExitCode> {
    let store = state.store().await?;
    let runs = blocking(move || {
        store.mark_interrupted(&hostname(), chrono::Utc::now())?;
        store.runs(set.as_deref(), limit)
    })
    .await?;
    if out.is_json() {
        println!("{}", serde_json::to_string_pretty(&runs)?);
        return Ok(ExitCode::SUCCESS);
    }
    if runs.is_empty() {
        println!("no runs recorded");
    }
    for r in runs {
        let took = r
            .finished
            .map(|f| format!(" in {}s", (f - r.started).num_seconds()))
            .unwrap_or_default();
        println!(
            "#{} {} {} {}{}  {} items ({} fetched), {} failed, snapshot {}{}",
            r.id,
            short_time(r.started),
            r.set_name,
            status_text(r.status),
            took,
            r.items,
            r.items_fetched,
            r.failed_items,
            r.snapshot_id
                .as_deref()
                .map_or("-", |s| &s[..s.len().min(8)]),
            r.message.map(|m| format!("  — {m}")).unwrap_or_default()
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn daemon(state: StateArgs, poll: u64) -> anyhow::Result<ExitCode> {
    let ctx = state.context("schedule").await?;
    tracing::info!(db = %ctx.store.path().display(), "qcbackup daemon started");
    // Ctrl-C, or SIGTERM from systemd: the run in progress is recorded as interrupted.
    #[cfg(unix)]
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("installing the SIGTERM handler")?;
    let shutdown = async move {
        #[cfg(unix)]
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    };
    qcb_engine::sets::run_daemon(
        ctx,
        DaemonOptions {
            poll: std::time::Duration::from_secs(poll.max(1)),
            run_on: RunOn::Server,
        },
        chrono::Local,
        shutdown,
    )
    .await?;
    Ok(ExitCode::SUCCESS)
}

/// Prints a connection test; exit 0 when everything chosen can be read (write gaps are
/// warnings: they only matter for restores), 4 otherwise.
pub fn print_connection_report(out: &Output, r: &qcb_engine::ConnectionReport) -> ExitCode {
    use qcb_engine::Access;
    let reads_fail = r.directory.read != Access::Ok
        || r.mailboxes
            .iter()
            .flat_map(|m| &m.categories)
            .any(|c| c.read != Access::Ok);
    if out.is_json() {
        println!(
            "{}",
            serde_json::to_string_pretty(r).expect("report serialises")
        );
    } else {
        let word = |a: Access| match a {
            Access::Ok => "ok",
            Access::Missing => "MISSING",
            Access::Unknown => "unknown",
            Access::Error => "ERROR",
        };
        println!("signed in as the {}", r.sign_in);
        if let Some(g) = &r.granted {
            println!("granted: {}", g.join(", "));
        }
        let line = |who: &str, c: &qcb_engine::CategoryAccess| {
            println!(
                "{who:<32} {:<10} read {:<8} write {:<8}{}",
                c.category,
                word(c.read),
                word(c.write),
                if c.missing.is_empty() {
                    String::new()
                } else {
                    format!(" missing: {}", c.missing.join(", "))
                }
            );
            if let Some(d) = &c.detail {
                println!("{:<32}   {d}", "");
            }
            if let Some(f) = &c.fix {
                println!("{:<32}   fix: {f}", "");
            }
        };
        line("(directory)", &r.directory);
        for m in &r.mailboxes {
            for c in &m.categories {
                line(&m.mailbox, c);
            }
        }
        if r.not_tested > 0 {
            println!("{} more mailbox(es) not tested (--limit)", r.not_tested);
        }
        println!(
            "{}",
            if r.problems == 0 {
                "everything can be backed up and restored".to_string()
            } else {
                format!("{} problem(s)", r.problems)
            }
        );
    }
    if reads_fail {
        ExitCode::from(4)
    } else {
        ExitCode::SUCCESS
    }
}
