//! What the desktop app keeps between commands: the open repository, the tenant connection
//! (the embedded demo tenant unless configured otherwise) and where its files go.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use qcb_engine::secrets::{KeychainStore, SecretStore};
use qcb_engine::{Connection, RepoHandle};
use qcb_graph_sim::{SimServer, TenantSpec};

use crate::error::{ApiError, ApiResult};

pub struct AppState {
    repo: RwLock<Option<Arc<RepoHandle>>>,
    pub connection: Connection,
    pub demo: bool,
    pub cache_root: PathBuf,
    pub default_repo_path: PathBuf,
    /// The app settings file (appearance, concurrency, log level; nothing secret).
    pub settings_path: PathBuf,
    /// Repository passwords the user asked to remember: the OS keychain.
    pub secrets: Arc<dyn SecretStore>,
    /// Read once at start-up: the host name recorded in snapshots.
    pub hostname: String,
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
        identifier: String,
    ) -> std::io::Result<AppState> {
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
                let sim = SimServer::start(TenantSpec::demo(), ([127, 0, 0, 1], 0).into()).await?;
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
        Ok(AppState {
            repo: RwLock::new(None),
            demo: demo_tenant.is_some(),
            connection,
            cache_root,
            default_repo_path: data_dir.join("repository"),
            settings_path: config_dir.join("settings.json"),
            secrets: Arc::new(KeychainStore::new(identifier)),
            hostname: crate::hostname(),
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
}
