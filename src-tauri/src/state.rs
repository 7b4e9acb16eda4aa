//! What the desktop app keeps between commands: the open repository, the tenant connection
//! (the embedded demo tenant unless configured otherwise), the backup sets and their job
//! history, the jobs running now (so they can be stopped) and where its files go.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use qcb_engine::secrets::{KeychainStore, SecretStore};
use qcb_engine::sets::{ConnectionForm, RunContext, SetStore};
use qcb_engine::{Connection, GraphClient, RepoHandle};
use qcb_graph_sim::{SimServer, TenantSpec};
use tokio::sync::watch;

use crate::error::{ApiError, ApiResult};

/// The port the demo tenant prefers, so the demo sets saved last time still point at it (a
/// set of the demo tenant is re-pointed at start-up when another port had to be used).
const DEMO_PORT: u16 = 47_865;

/// A stop button: `stop()` ends the job that holds the matching [`Stopped`].
#[derive(Clone)]
pub struct Stop(watch::Sender<bool>);

impl Stop {
    pub fn stop(&self) {
        let _ = self.0.send(true);
    }
}

/// Resolves once the job is asked to stop.
#[derive(Clone)]
pub struct Stopped(watch::Receiver<bool>);

impl Stopped {
    pub fn is_set(&self) -> bool {
        *self.0.borrow()
    }

    pub async fn wait(mut self) {
        // An error means the sender is gone: nobody can stop the job any more.
        if self.0.wait_for(|s| *s).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

fn stop_pair() -> (Stop, Stopped) {
    let (tx, rx) = watch::channel(false);
    (Stop(tx), Stopped(rx))
}

/// The jobs running now, by slot (`set:<name>`, `restore`, `sign-in`), each with its stop.
#[derive(Default)]
pub struct Jobs(Mutex<HashMap<String, Stop>>);

/// Frees a job's slot when the job ends, however it ends.
pub struct JobGuard<'a> {
    jobs: &'a Jobs,
    slot: String,
}

impl Drop for JobGuard<'_> {
    fn drop(&mut self) {
        if let Ok(mut m) = self.jobs.0.lock() {
            m.remove(&self.slot);
        }
    }
}

impl Jobs {
    /// Claims `slot`, or says what already runs there.
    pub fn start(&self, slot: &str, busy: &str) -> ApiResult<(JobGuard<'_>, Stopped)> {
        let mut m = self
            .0
            .lock()
            .map_err(|_| ApiError::new("internal", "job table lock poisoned"))?;
        if m.contains_key(slot) {
            return Err(ApiError::new("already_running", busy.to_string()));
        }
        let (stop, stopped) = stop_pair();
        m.insert(slot.to_string(), stop);
        Ok((
            JobGuard {
                jobs: self,
                slot: slot.to_string(),
            },
            stopped,
        ))
    }

    /// Stops the job in `slot`; `false` when none runs there.
    pub fn stop(&self, slot: &str) -> bool {
        match self.0.lock().ok().and_then(|m| m.get(slot).cloned()) {
            Some(s) => {
                s.stop();
                true
            }
            None => false,
        }
    }

    /// The slots in use whose name starts with `prefix`, without it.
    pub fn running(&self, prefix: &str) -> Vec<String> {
        self.0
            .lock()
            .map(|m| {
                m.keys()
                    .filter_map(|k| k.strip_prefix(prefix).map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// The slot of the restore or export running now (one at a time).
pub const JOB_SLOT: &str = "job";
/// The slot of a sign-in waiting for the person.
pub const SIGN_IN_SLOT: &str = "sign-in";

/// Runs `job` until it ends or `stopped` says stop (then `cancelled`).
pub async fn until_stopped<T>(
    job: impl std::future::Future<Output = qcb_engine::Result<T>>,
    stopped: Stopped,
) -> ApiResult<T> {
    tokio::select! {
        r = job => Ok(r?),
        () = stopped.wait() => Err(ApiError::new(
            "cancelled",
            "Stopped. What was written before stopping stays.",
        )),
    }
}

/// The slot of a backup set's run.
pub fn set_slot(name: &str) -> String {
    format!("set:{}", name.to_lowercase())
}

pub struct AppState {
    repo: RwLock<Option<Arc<RepoHandle>>>,
    pub connection: Connection,
    pub demo: bool,
    pub cache_root: PathBuf,
    pub default_repo_path: PathBuf,
    /// The app settings file (appearance, concurrency, log level; nothing secret).
    pub settings_path: PathBuf,
    /// The app's log files.
    pub log_dir: PathBuf,
    /// Backup sets and the job history (SQLite).
    pub sets: Arc<SetStore>,
    /// Repository passwords, client secrets and refresh tokens: the OS keychain.
    pub secrets: Arc<dyn SecretStore>,
    /// Read once at start-up: the host name recorded in snapshots.
    pub hostname: String,
    pub jobs: Jobs,
    /// The tray's "Pause schedules": scheduled runs wait while set.
    pub schedules_paused: AtomicBool,
    backup_running: AtomicBool,
    /// Keeps the embedded demo tenant serving for as long as the app runs.
    _demo_tenant: Option<SimServer>,
}

/// Clears the running flag when a backup ends, however it ends.
pub struct RunningGuard<'a>(&'a AtomicBool);

impl Drop for RunningGuard<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

impl AppState {
    /// Uses the tenant named by QCBACKUP_GRAPH_URL / QCBACKUP_AUTHORITY / QCBACKUP_TENANT_ID /
    /// QCBACKUP_CLIENT_ID / QCBACKUP_CLIENT_SECRET when QCBACKUP_TENANT_ID is set, else starts
    /// the demo tenant on 127.0.0.1.
    pub async fn new(
        data_dir: PathBuf,
        cache_root: PathBuf,
        config_dir: PathBuf,
        log_dir: PathBuf,
        identifier: String,
    ) -> Result<AppState, Box<dyn std::error::Error>> {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let (connection, demo_tenant) = match env("QCBACKUP_TENANT_ID") {
            Some(tenant_id) => (
                Connection {
                    graph_url: env("QCBACKUP_GRAPH_URL")
                        .unwrap_or_else(|| "https://graph.microsoft.com/v1.0".into()),
                    authority: env("QCBACKUP_AUTHORITY")
                        .unwrap_or_else(|| "https://login.microsoftonline.com".into()),
                    tenant_id,
                    client_id: env("QCBACKUP_CLIENT_ID").unwrap_or_default(),
                    client_secret: env("QCBACKUP_CLIENT_SECRET").unwrap_or_default(),
                },
                None,
            ),
            None => {
                let sim =
                    match SimServer::start(TenantSpec::demo(), ([127, 0, 0, 1], DEMO_PORT).into())
                        .await
                    {
                        Ok(sim) => sim,
                        // Another copy of the demo (a test, the CLI's `demo`) holds the port.
                        Err(_) => {
                            SimServer::start(TenantSpec::demo(), ([127, 0, 0, 1], 0).into()).await?
                        }
                    };
                let c = sim.credentials();
                let conn = Connection {
                    graph_url: sim.graph_url(),
                    authority: sim.base_url(),
                    tenant_id: c.tenant_id,
                    client_id: c.client_id,
                    client_secret: c.client_secret,
                };
                (conn, Some(sim))
            }
        };
        std::fs::create_dir_all(&data_dir)?;
        let sets = Arc::new(SetStore::open(&data_dir.join("sets.sqlite"))?);
        if demo_tenant.is_some() {
            let moved = sets.repoint_tenant(
                &connection.tenant_id,
                &connection.graph_url,
                &connection.authority,
                chrono::Utc::now(),
            )?;
            if moved > 0 {
                tracing::info!(
                    sets = moved,
                    "demo tenant sets follow the emulator's address"
                );
            }
        }
        Ok(AppState {
            repo: RwLock::new(None),
            demo: demo_tenant.is_some(),
            connection,
            cache_root,
            default_repo_path: data_dir.join("repository"),
            settings_path: config_dir.join("settings.json"),
            log_dir,
            sets,
            secrets: Arc::new(KeychainStore::new(identifier)),
            hostname: crate::hostname(),
            jobs: Jobs::default(),
            schedules_paused: AtomicBool::new(false),
            backup_running: AtomicBool::new(false),
            _demo_tenant: demo_tenant,
        })
    }

    pub fn repo(&self) -> ApiResult<Arc<RepoHandle>> {
        self.repo
            .read()
            .map_err(|_| ApiError::new("internal", "state lock poisoned"))?
            .clone()
            .ok_or_else(|| {
                ApiError::new(
                    "repo_not_open",
                    "No repository is open. Create or open one first.",
                )
            })
    }

    pub fn current_repo(&self) -> Option<Arc<RepoHandle>> {
        self.repo.read().ok().and_then(|r| r.clone())
    }

    pub fn set_repo(&self, handle: Arc<RepoHandle>) {
        if let Ok(mut r) = self.repo.write() {
            *r = Some(handle);
        }
    }

    /// Claims the single backup slot, or says a backup is already running.
    pub fn start_backup(&self) -> ApiResult<RunningGuard<'_>> {
        if self.backup_running.swap(true, Ordering::SeqCst) {
            return Err(ApiError::new(
                "already_running",
                "A backup is already running.",
            ));
        }
        Ok(RunningGuard(&self.backup_running))
    }

    /// Waits for a sign-in that `signin_cancel` can abandon.
    pub async fn signing_in(
        &self,
        flow: impl std::future::Future<Output = qcb_engine::Result<qcb_engine::connect::SignedIn>>,
    ) -> ApiResult<qcb_engine::connect::SignedIn> {
        let (_slot, stopped) = self.jobs.start(
            SIGN_IN_SLOT,
            "A sign-in is already waiting; finish or cancel it first.",
        )?;
        tokio::select! {
            r = flow => Ok(r?),
            () = stopped.wait() => Err(ApiError::new("cancelled", "The sign-in was cancelled.")),
        }
    }

    /// Every set as the dashboard shows it.
    pub async fn sets_overview(&self) -> ApiResult<Vec<qcb_engine::sets::SetOverview>> {
        Ok(qcb_engine::api::sets_overview(
            self.sets.clone(),
            self.secrets.clone(),
            self.current_repo(),
            self.jobs.running("set:"),
        )
        .await?)
    }

    /// One set as the dashboard shows it.
    pub async fn set_overview(&self, name: &str) -> ApiResult<qcb_engine::sets::SetOverview> {
        self.sets_overview()
            .await?
            .into_iter()
            .find(|s| s.name.eq_ignore_ascii_case(name))
            .ok_or_else(|| {
                ApiError::new(
                    "not_found",
                    format!("there is no backup set named {name:?}"),
                )
            })
    }

    /// Stops a running set.
    pub fn stop_set(&self, name: &str) -> ApiResult<()> {
        if self.jobs.stop(&set_slot(name)) {
            Ok(())
        } else {
            Err(ApiError::new(
                "not_found",
                format!("the backup set {name:?} is not running"),
            ))
        }
    }

    /// What a set's run needs (`trigger`: `manual` or `schedule`), with the settings'
    /// concurrency.
    pub fn run_context(&self, trigger: &str) -> RunContext {
        RunContext {
            store: self.sets.clone(),
            secrets: self.secrets.clone(),
            cache_dir: self.cache_root.clone(),
            hostname: self.hostname.clone(),
            trigger: trigger.into(),
            mailbox_concurrency: qcb_engine::AppSettings::load(&self.settings_path)
                .ok()
                .map(|s| s.concurrency as usize),
        }
    }

    /// The demo tenant's app connection (its secret stays here), when the app runs on it.
    pub fn demo_connection(&self) -> Option<ConnectionForm> {
        self.demo.then(|| ConnectionForm {
            tenant_id: self.connection.tenant_id.clone(),
            client_id: self.connection.client_id.clone(),
            auth: qcb_engine::sets::AuthMethod::ClientSecret,
            certificate: None,
            account: None,
            graph_url: self.connection.graph_url.clone(),
            authority: self.connection.authority.clone(),
        })
    }

    /// The secret a sign-in uses: the one typed in, or for the demo tenant's own app, the
    /// demo's (which the UI never sees).
    pub fn app_secret(
        &self,
        form: &ConnectionForm,
        secret: qcb_engine::connect::AppSecret,
    ) -> qcb_engine::connect::AppSecret {
        let typed = secret
            .client_secret
            .as_deref()
            .is_some_and(|s| !s.trim().is_empty());
        match self.demo_connection() {
            Some(demo)
                if !typed
                    && demo.tenant_id == form.tenant_id.trim()
                    && demo.client_id == form.client_id.trim() =>
            {
                qcb_engine::connect::AppSecret {
                    client_secret: Some(self.connection.client_secret.clone()),
                    certificate_pem: None,
                }
            }
            _ => secret,
        }
    }

    /// The Graph client a restore of `snapshot` writes with: the sign-in of `set_name`, else
    /// of the set whose run made the snapshot, else the app's own connection (the demo
    /// tenant, or the tenant named by QCBACKUP_TENANT_ID).
    pub async fn restore_client(
        &self,
        set_name: Option<String>,
        snapshot: &str,
    ) -> ApiResult<Arc<GraphClient>> {
        let chosen = set_name.is_some();
        let (store, snapshot) = (self.sets.clone(), snapshot.to_string());
        let set = tokio::task::spawn_blocking(move || {
            let name = match set_name {
                Some(n) => Some(n),
                None => store.set_of_snapshot(&snapshot)?,
            };
            match name.map(|n| store.get(&n)).transpose() {
                Ok(s) => Ok(s.map(|s| s.set)),
                // The set that made the snapshot was removed since: use the app's connection.
                Err(qcb_engine::EngineError::NotFound(_)) if !chosen => Ok(None),
                Err(e) => Err(e),
            }
        })
        .await
        .map_err(|e| ApiError::new("internal", e.to_string()))??;
        if let Some(set) = set {
            let form = ConnectionForm::from(&set.connection);
            return Ok(Arc::new(
                qcb_engine::connect::client(&form, self.secrets.clone()).await?,
            ));
        }
        if self.connection.client_id.is_empty() {
            return Err(ApiError::new(
                "invalid_input",
                "No backup set made this snapshot, and the app has no connection of its own: \
                 restore through a backup set.",
            ));
        }
        Ok(Arc::new(self.connection.client()?))
    }
}
