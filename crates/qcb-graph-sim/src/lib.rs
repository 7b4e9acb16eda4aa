//! A Microsoft Graph emulator that behaves like Exchange Online for mail, as
//! Microsoft documents it: app-only auth, users, mail folders, messages,
//! MIME (`$value`), delta queries, immutable ids, create from JSON and MIME.
//!
//! It is QCBackup's demo tenant and the server every test talks to. The
//! tenant is generated deterministically from [`TenantSpec::seed`].
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use qcb_graph_sim::{SimServer, TenantSpec};
//! let sim = SimServer::start(TenantSpec::demo(), "127.0.0.1:0".parse().unwrap()).await?;
//! let creds = sim.credentials();
//! println!("{} {} {}", sim.graph_url(), creds.tenant_id, creds.client_id);
//! let admin = sim.admin();
//! let alice = &admin.users()[0];
//! println!("{} folders", admin.folders(&alice.id).len());
//! sim.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! Module map: `data/` generates the tenant, `store` holds the state and the
//! change sequence, `mime` renders and parses MIME, `delta` does delta
//! queries, `json` renders Graph JSON, `odata` parses query options,
//! `routes/` has the HTTP handlers (`auth`, `users`, `mail`, `sim`), `error`
//! the Graph error shape, `admin` the library admin API.

mod activity;
mod admin;
mod admin_protocol;
mod conn;
mod data;
mod delta;
mod error;
mod export;
mod faults;
mod identity;
mod ids;
mod json;
mod mime;
mod model;
mod odata;
mod options;
mod pim;
mod quota;
mod resident;
mod rng;
mod routes;
mod store;
mod throttle;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

pub use activity::{Activity, ActivityReport};
pub use admin::{
    Admin, AttachmentInfo, FolderInfo, LoggedRequest, MessagePatch, MessageView, NewAttachment,
    NewMessage, Residency, UserInfo,
};
pub use error::SimError;
pub use faults::{Fault, FaultConfig, FaultRule};
pub use identity::AppRegistration;
pub use model::{BodyType, EmailAddress, FlagStatus, Importance};
pub use options::{AuthConfig, MemoryConfig, SimOptions};
pub use pim::MeetingMessage;
pub use pim::admin::{
    CalendarInfo, ContactFolderInfo, ContactInfo, ContactPatch, EventInfo, EventPatch,
    MessageRuleInfo, NewContact, NewEvent, NewRecurrence, NewTask, TaskInfo, TaskPatch,
    TodoListInfo,
};
pub use throttle::ThrottleConfig;

/// What tenant to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TenantSpec {
    pub seed: u64,
    pub users: usize,
    pub messages_per_user: usize,
    /// Shared mailboxes added after the users; `None`: one per ten users (see
    /// [`TenantSpec::shared_mailboxes`]).
    pub shared_mailboxes: Option<usize>,
}

impl TenantSpec {
    /// The demo tenant: seed 1, 2 users (alice, bob), 150 messages each,
    /// and one shared mailbox (`support@`, see [`TenantSpec::shared_mailboxes`]).
    pub fn demo() -> Self {
        Self {
            seed: 1,
            users: 2,
            messages_per_user: 150,
            shared_mailboxes: Some(1),
        }
    }
}

impl TenantSpec {
    /// How many shared mailboxes the generator adds after the users: the
    /// `shared_mailboxes` field when set (one in the demo tenant,
    /// [`TenantSpec::demo`]), otherwise one per ten users (none below ten
    /// users, so small test tenants are users only).
    ///
    /// A shared mailbox is what Exchange makes it: a user object with its
    /// account disabled (`accountEnabled` false) and no licence, listed in
    /// `/users` and reachable by id and userPrincipalName, whose
    /// `mailboxSettings.userPurpose` is `shared`. It has mail, contacts,
    /// calendars and tasks like any other mailbox.
    pub fn shared_mailboxes(&self) -> usize {
        self.shared_mailboxes.unwrap_or(self.users / 10)
    }
}

impl Default for TenantSpec {
    fn default() -> Self {
        Self::demo()
    }
}

/// The app registration clients use for the client-credentials flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimCredentials {
    pub tenant_id: String,
    pub client_id: String,
    pub client_secret: String,
}

/// State shared by the HTTP handlers and [`Admin`].
pub(crate) struct Shared {
    tenant: Mutex<store::Tenant>,
    /// `http://127.0.0.1:PORT`
    pub base_url: String,
    /// Throttling, faults, identity (`options.rs`).
    pub(crate) proto: options::Protocol,
}

impl Shared {
    /// Locks the tenant; a panic in another holder does not poison it for us.
    /// Mailboxes above the resident limit are dropped here, when no
    /// reference into one can be alive (`resident.rs`).
    pub(crate) fn lock(&self) -> MutexGuard<'_, store::Tenant> {
        let mut t = self.tenant.lock().unwrap_or_else(|e| e.into_inner());
        t.mailboxes.evict();
        t
    }

    pub(crate) fn graph_url(&self) -> String {
        format!("{}/v1.0", self.base_url)
    }
}

/// A running emulator.
pub struct SimServer {
    shared: Arc<Shared>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for SimServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimServer")
            .field("base_url", &self.shared.base_url)
            .finish_non_exhaustive()
    }
}

impl SimServer {
    /// Generates the tenant and serves it on `addr` (usually `127.0.0.1:0`).
    pub async fn start(spec: TenantSpec, addr: SocketAddr) -> std::io::Result<SimServer> {
        Self::start_with(spec, SimOptions::default(), addr).await
    }

    /// [`SimServer::start`] with throttling, faults and token timings.
    pub async fn start_with(
        spec: TenantSpec,
        options: SimOptions,
        addr: SocketAddr,
    ) -> std::io::Result<SimServer> {
        let tenant = data::generate(&spec, options.memory.resident_for(&spec));
        let identity = identity::Identity::new(&tenant.client_id, &tenant.client_secret);
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let local = listener.local_addr()?;
        let host = if local.ip().is_unspecified() {
            std::net::IpAddr::from([127, 0, 0, 1])
        } else {
            local.ip()
        };
        let base_url = match host {
            std::net::IpAddr::V4(ip) => format!("http://{ip}:{}", local.port()),
            std::net::IpAddr::V6(ip) => format!("http://[{ip}]:{}", local.port()),
        };
        let shared = Arc::new(Shared {
            tenant: Mutex::new(tenant),
            base_url,
            proto: options::Protocol::new(options, identity),
        });
        let app = routes::service(shared.clone())
            .into_make_service_with_connect_info::<conn::ConnControl>();
        let listener = conn::SimListener(listener);
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = rx.await;
                })
                .await;
            if let Err(e) = served {
                tracing::error!("graph simulator stopped: {e}");
            }
        });
        tracing::info!(base_url = %shared.base_url, "graph simulator listening");
        Ok(SimServer {
            shared,
            shutdown: Some(tx),
            task: Some(task),
        })
    }

    /// `http://127.0.0.1:PORT`; also the identity authority: the token
    /// endpoint is `{base_url}/{tenant_id}/oauth2/v2.0/token`.
    pub fn base_url(&self) -> String {
        self.shared.base_url.clone()
    }

    /// `{base_url}/v1.0`
    pub fn graph_url(&self) -> String {
        self.shared.graph_url()
    }

    /// `{base_url}/{tenant_id}/oauth2/v2.0/token`
    pub fn token_url(&self) -> String {
        format!(
            "{}/{}/oauth2/v2.0/token",
            self.shared.base_url,
            self.shared.lock().tenant_id
        )
    }

    pub fn credentials(&self) -> SimCredentials {
        let t = self.shared.lock();
        SimCredentials {
            tenant_id: t.tenant_id.clone(),
            client_id: t.client_id.clone(),
            client_secret: t.client_secret.clone(),
        }
    }

    pub fn admin(&self) -> Admin {
        Admin {
            shared: self.shared.clone(),
        }
    }

    /// Stops accepting connections and waits for the server task.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for SimServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}
