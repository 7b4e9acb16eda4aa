//! How a server behaves beyond its data: throttling, faults, token
//! lifetimes ([`SimOptions`], given to [`crate::SimServer::start_with`] and
//! changeable at run time through [`crate::Admin`] and `/_sim/`), and the
//! run-time state behind them ([`Protocol`]).

use std::sync::{Mutex, MutexGuard};

use serde::{Deserialize, Serialize};

use crate::faults::{FaultConfig, Faults};
use crate::identity::Identity;
use crate::throttle::{Throttle, ThrottleConfig};

/// Token and sign-in timings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AuthConfig {
    /// Access token lifetime (Entra: about an hour). Default 3600.
    pub token_lifetime_secs: u64,
    /// Device code flow: minimum seconds between polls (`interval`). Default 5.
    pub device_code_interval_secs: u64,
    /// Device code flow: how long a code stays valid. Default 900.
    pub device_code_lifetime_secs: u64,
    /// Authorization codes stay valid this long. Default 600.
    pub auth_code_lifetime_secs: u64,
    /// Refresh tokens stay valid this long (sliding). Default 90 days.
    pub refresh_token_lifetime_secs: u64,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            token_lifetime_secs: 3600,
            device_code_interval_secs: 5,
            device_code_lifetime_secs: 900,
            auth_code_lifetime_secs: 600,
            refresh_token_lifetime_secs: 90 * 24 * 3600,
        }
    }
}

/// Everything about a server that is not its data. Default: no throttling,
/// no faults, Entra's token lifetimes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct SimOptions {
    pub throttle: ThrottleConfig,
    pub faults: FaultConfig,
    pub auth: AuthConfig,
    /// How much of a large tenant stays in memory.
    pub memory: MemoryConfig,
}

/// How many generated mailboxes stay in memory. A tenant is generated
/// lazily, mailbox by mailbox on first touch, when it has more than
/// [`MemoryConfig::LAZY_ABOVE_ITEMS`] messages or when `resident_mailboxes`
/// is set; otherwise everything is generated at start and stays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct MemoryConfig {
    /// Most unchanged generated mailboxes kept in memory at once (least
    /// recently used ones are dropped and regenerated identically when
    /// touched again). `None`: [`MemoryConfig::DEFAULT_RESIDENT`] for a
    /// tenant above [`MemoryConfig::LAZY_ABOVE_ITEMS`] messages, no limit
    /// (eager generation) below.
    pub resident_mailboxes: Option<usize>,
}

impl MemoryConfig {
    /// Tenants with more messages than this are generated lazily.
    pub const LAZY_ABOVE_ITEMS: usize = 200_000;
    /// Resident mailboxes of a lazily generated tenant by default: the
    /// engine's 4 mailboxes at a time, plus one, so that the mailbox a
    /// client has just finished (touched last, so not the least recently
    /// used) is not the only one that could make room for its next.
    pub const DEFAULT_RESIDENT: usize = 5;

    /// The resident limit for a tenant: `None` for eager generation.
    pub(crate) fn resident_for(&self, spec: &crate::TenantSpec) -> Option<usize> {
        let mailboxes = spec.users + spec.shared_mailboxes();
        match self.resident_mailboxes {
            Some(n) => Some(n.max(1)),
            None if mailboxes.saturating_mul(spec.messages_per_user) > Self::LAZY_ABOVE_ITEMS => {
                Some(Self::DEFAULT_RESIDENT)
            }
            None => None,
        }
    }
}

/// Run-time protocol state, beside the tenant (its own locks).
pub(crate) struct Protocol {
    pub throttle: Throttle,
    pub faults: Faults,
    /// Open attachment upload sessions (`routes/upload.rs`).
    pub uploads: crate::routes::upload::Uploads,
    /// Open mailbox import sessions (`routes/mailbox.rs`).
    pub imports: crate::routes::mailbox::Imports,
    auth: Mutex<AuthConfig>,
    identity: Mutex<Identity>,
}

impl Protocol {
    pub fn new(options: SimOptions, identity: Identity) -> Self {
        Self {
            throttle: Throttle::new(options.throttle),
            faults: Faults::new(options.faults),
            uploads: Default::default(),
            imports: Default::default(),
            auth: Mutex::new(options.auth),
            identity: Mutex::new(identity),
        }
    }

    pub fn auth(&self) -> AuthConfig {
        self.auth.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn set_auth(&self, a: AuthConfig) {
        *self.auth.lock().unwrap_or_else(|e| e.into_inner()) = a;
    }

    pub fn identity(&self) -> MutexGuard<'_, Identity> {
        self.identity.lock().unwrap_or_else(|e| e.into_inner())
    }
}
