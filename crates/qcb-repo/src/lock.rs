//! Repository locks, so that several agents can write into one repository while `prune` (which
//! deletes data) runs alone.
//!
//! A lock is an encrypted file in `locks/`. Backups, restores and checks take a *shared* lock;
//! `forget` and `prune` take an *exclusive* one. Taking a lock writes the lock file first and
//! then lists the others: if a conflicting live lock exists, the new one is removed again and
//! the caller is told who holds the repository. Two processes that race both see each other,
//! so at worst both back off; never do both proceed. A holder rewrites its lock file every
//! [`LockOptions::refresh_every`]; a lock not refreshed for [`LockOptions::stale_after`], or
//! left by a process on this host that no longer runs, is stale and ignored.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::backend::FileKind;
use crate::error::{Error, Result};
use crate::repository::{Repository, hostname};

pub(crate) const LOCK_AAD: &[u8] = b"qcbackup lock v1";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LockKind {
    /// Many holders at once: backup, restore, check.
    Shared,
    /// One holder and nobody else: forget, prune.
    Exclusive,
}

/// Timing of locks. The defaults suit real use; tests shorten them.
#[derive(Debug, Clone, Copy)]
pub struct LockOptions {
    pub refresh_every: Duration,
    pub stale_after: Duration,
    /// How long to keep trying while another process holds a conflicting lock.
    pub wait: Duration,
}

impl Default for LockOptions {
    fn default() -> Self {
        LockOptions {
            refresh_every: Duration::from_secs(5 * 60),
            stale_after: Duration::from_secs(30 * 60),
            wait: Duration::ZERO,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct LockFile {
    version: u32,
    kind: LockKind,
    hostname: String,
    pid: u32,
    created: DateTime<Utc>,
    refreshed: DateTime<Utc>,
    /// Makes every lock file's name unique even for identical fields.
    nonce: String,
}

/// A lock someone holds, as `repo locks` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct LockInfo {
    pub id: String,
    pub kind: LockKind,
    pub hostname: String,
    pub pid: u32,
    pub created: DateTime<Utc>,
    pub refreshed: DateTime<Utc>,
    pub stale: bool,
}

impl LockInfo {
    fn describe(&self) -> String {
        format!(
            "{} lock of process {} on {}, taken {}",
            match self.kind {
                LockKind::Shared => "a shared",
                LockKind::Exclusive => "an exclusive",
            },
            self.pid,
            self.hostname,
            self.created.format("%Y-%m-%d %H:%M:%S UTC")
        )
    }
}

struct State {
    name: Mutex<String>,
    stop: Mutex<bool>,
    wake: Condvar,
    last_refresh: Mutex<Instant>,
    released: AtomicBool,
}

/// A held lock. Refreshed in the background; released when dropped.
pub struct RepoLock {
    repo: Repository,
    kind: LockKind,
    options: LockOptions,
    state: Arc<State>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for RepoLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RepoLock")
            .field("kind", &self.kind)
            .finish()
    }
}

/// Whether process `pid` of this machine has ended (Linux); `false` where that cannot be told
/// without platform calls (callers then rely on other signs, such as a lock's refresh time).
pub fn process_is_gone(pid: u32) -> bool {
    if cfg!(target_os = "linux") {
        !std::path::Path::new("/proc").join(pid.to_string()).exists()
    } else {
        false
    }
}

impl Repository {
    /// Takes a lock with default timing. See [`Repository::lock_with`].
    pub fn lock(&self, kind: LockKind) -> Result<RepoLock> {
        self.lock_with(kind, LockOptions::default())
    }

    /// Takes a lock, waiting up to `options.wait` for conflicting holders to finish, then
    /// brings the index up to date ([`Repository::sync_index`]: a prune may have rewritten it
    /// since the repository was opened).
    pub fn lock_with(&self, kind: LockKind, options: LockOptions) -> Result<RepoLock> {
        let deadline = Instant::now() + options.wait;
        loop {
            match self.try_lock(kind, options) {
                Ok(lock) => {
                    self.sync_index()?;
                    return Ok(lock);
                }
                Err(Error::Locked { .. }) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(200).min(options.wait));
                }
                Err(e) => return Err(e),
            }
        }
    }

    fn try_lock(&self, kind: LockKind, options: LockOptions) -> Result<RepoLock> {
        let name = self.write_lock_file(kind, Utc::now())?;
        let conflict = self
            .list_locks_with(options.stale_after)?
            .into_iter()
            .filter(|l| l.id != name && !l.stale)
            .find(|l| kind == LockKind::Exclusive || l.kind == LockKind::Exclusive);
        if let Some(holder) = conflict {
            self.inner.backend.delete(FileKind::Lock, &name)?;
            return Err(Error::Locked {
                holder: holder.describe(),
            });
        }
        let state = Arc::new(State {
            name: Mutex::new(name),
            stop: Mutex::new(false),
            wake: Condvar::new(),
            last_refresh: Mutex::new(Instant::now()),
            released: AtomicBool::new(false),
        });
        let thread = {
            let repo = self.clone();
            let state = state.clone();
            let created = Utc::now();
            std::thread::Builder::new()
                .name("qcb-lock-refresh".into())
                .spawn(move || refresh_loop(repo, state, kind, options, created))
                .map_err(|e| Error::Io {
                    op: "start lock refresh thread",
                    path: self.location().into(),
                    source: e,
                })?
        };
        tracing::debug!(?kind, "repository lock taken");
        Ok(RepoLock {
            repo: self.clone(),
            kind,
            options,
            state,
            thread: Some(thread),
        })
    }

    fn write_lock_file(&self, kind: LockKind, created: DateTime<Utc>) -> Result<String> {
        let file = LockFile {
            version: 1,
            kind,
            hostname: hostname(),
            pid: std::process::id(),
            created,
            refreshed: Utc::now(),
            nonce: hex::encode(crate::crypto::random_salt()),
        };
        self.write_sealed(FileKind::Lock, LOCK_AAD, &file)
    }

    /// Every lock file, with whether it is stale under the default timing. Lock files that do
    /// not decrypt (damaged, or planted by someone without the key) are listed as stale
    /// exclusive locks of pid 0 so that `unlock` can remove them; they never block anyone.
    pub fn list_locks(&self) -> Result<Vec<LockInfo>> {
        self.list_locks_with(LockOptions::default().stale_after)
    }

    fn list_locks_with(&self, stale_after: Duration) -> Result<Vec<LockInfo>> {
        let me = hostname();
        let now = Utc::now();
        let mut out = Vec::new();
        for name in self.inner.backend.list(FileKind::Lock)? {
            let file = match self.read_sealed::<LockFile>(FileKind::Lock, &name, LOCK_AAD) {
                Ok(f) => f,
                // Removed between listing and reading: its holder released it.
                Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                    continue;
                }
                Err(Error::Corrupt { .. }) => {
                    tracing::warn!(lock = %&name[..8], "unreadable lock file ignored");
                    out.push(LockInfo {
                        id: name,
                        kind: LockKind::Exclusive,
                        hostname: String::new(),
                        pid: 0,
                        created: DateTime::<Utc>::UNIX_EPOCH,
                        refreshed: DateTime::<Utc>::UNIX_EPOCH,
                        stale: true,
                    });
                    continue;
                }
                Err(e) => return Err(e),
            };
            let age = (now - file.refreshed).to_std().unwrap_or(Duration::ZERO);
            let stale = age > stale_after
                || (file.hostname == me
                    && file.pid != std::process::id()
                    && process_is_gone(file.pid));
            out.push(LockInfo {
                id: name,
                kind: file.kind,
                hostname: file.hostname,
                pid: file.pid,
                created: file.created,
                refreshed: file.refreshed,
                stale,
            });
        }
        Ok(out)
    }

    /// Removes stale locks (or, with `all`, every lock: only when you know no other process
    /// uses the repository). Returns how many were removed.
    pub fn unlock(&self, all: bool) -> Result<usize> {
        let mut removed = 0;
        for lock in self.list_locks()? {
            if all || lock.stale {
                self.inner.backend.delete(FileKind::Lock, &lock.id)?;
                removed += 1;
            }
        }
        Ok(removed)
    }
}

fn refresh_loop(
    repo: Repository,
    state: Arc<State>,
    kind: LockKind,
    options: LockOptions,
    created: DateTime<Utc>,
) {
    loop {
        // The predicate is checked before sleeping, so a stop requested before this thread
        // first ran is not missed.
        let stop = state.stop.lock().expect("lock state");
        let (stop, _) = state
            .wake
            .wait_timeout_while(stop, options.refresh_every, |stop| !*stop)
            .expect("lock state");
        if *stop {
            return;
        }
        drop(stop);
        // Write the new lock file before removing the old one: there is never a moment
        // without a lock file.
        match repo.write_lock_file(kind, created) {
            Ok(new) => {
                let old = std::mem::replace(&mut *state.name.lock().expect("lock state"), new);
                *state.last_refresh.lock().expect("lock state") = Instant::now();
                if let Err(e) = repo.inner.backend.delete(FileKind::Lock, &old) {
                    tracing::warn!(error = %e, "could not remove the previous lock file");
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not refresh the repository lock"),
        }
    }
}

impl RepoLock {
    pub fn kind(&self) -> LockKind {
        self.kind
    }

    /// Fails if the lock has not been refreshed for so long that other processes may have
    /// treated it as stale (e.g. the machine slept): the holder must not commit then.
    pub fn check_valid(&self) -> Result<()> {
        let since = self
            .state
            .last_refresh
            .lock()
            .expect("lock state")
            .elapsed();
        if since > self.options.stale_after {
            return Err(Error::Locked {
                holder: format!(
                    "nobody: this process's own lock went stale ({}s without refresh)",
                    since.as_secs()
                ),
            });
        }
        Ok(())
    }

    /// Releases the lock now (dropping does the same, logging instead of returning errors).
    pub fn release(mut self) -> Result<()> {
        self.stop_thread();
        let name = self.state.name.lock().expect("lock state").clone();
        self.state.released.store(true, Ordering::SeqCst);
        self.repo.inner.backend.delete(FileKind::Lock, &name)
    }

    fn stop_thread(&mut self) {
        *self.state.stop.lock().expect("lock state") = true;
        self.state.wake.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for RepoLock {
    fn drop(&mut self) {
        self.stop_thread();
        if !self.state.released.load(Ordering::SeqCst) {
            let name = self.state.name.lock().expect("lock state").clone();
            if let Err(e) = self.repo.inner.backend.delete(FileKind::Lock, &name) {
                tracing::warn!(error = %e, "could not remove the repository lock file");
            }
        }
    }
}
