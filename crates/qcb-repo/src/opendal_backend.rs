//! Repository files in object storage (S3 and S3-compatible servers), through Apache OpenDAL.
//!
//! The object layout is the folder layout of [`LocalBackend`](crate::LocalBackend) under an
//! optional prefix: `config`, `keys/<name>`, `data/<xx>/<name>`, `index/<name>`,
//! `snapshots/<name>`, `locks/<name>`. Object stores have no folders, so there is nothing to
//! create up front.
//!
//! Atomicity: an S3 `PutObject` of a whole object is atomic: a reader sees either no object or
//! all of its bytes, never a prefix. Every repository file is written with one `PutObject`
//! (packs are at most a few tens of MiB), so the write-once, never-half-a-file rule of the
//! local backend holds without temporary names or renames. A retried `PutObject` writes the
//! same bytes under the same name, so retries are harmless.
//!
//! The [`Backend`] trait is synchronous. OpenDAL is asynchronous, so each backend owns a small
//! tokio runtime of its own and every operation is spawned onto it while the calling thread
//! waits on a channel. That works from a plain thread, from `spawn_blocking`, and (although
//! the engine never does it, as it would block a worker) from inside another runtime's async
//! task, where `block_on` would panic with "Cannot start a runtime from within a runtime".
//!
//! Transient failures (5xx answers, throttling, timeouts, dropped connections) are retried by
//! OpenDAL's retry layer a bounded number of times with exponential backoff; permanent ones
//! (403, a missing bucket, bad configuration) fail at once with an error naming the bucket and
//! endpoint.

use std::future::Future;
use std::io::ErrorKind as IoKind;
use std::path::{Path, PathBuf};
use std::time::Duration;

use opendal::layers::{RetryLayer, TimeoutLayer};
use opendal::{ErrorKind as DalKind, Operator};

use crate::backend::{Backend, FileKind, check_name, is_valid_name};
use crate::error::{Error, Result};
use crate::location::{S3Location, Secret};

/// How many times a transient failure is retried before it is reported.
pub const RETRIES: usize = 4;

/// A repository in object storage, through an OpenDAL [`Operator`].
pub struct OpendalBackend {
    op: Operator,
    handle: tokio::runtime::Handle,
    /// Owned so that it lives as long as the backend; taken (and shut down without waiting)
    /// on drop, which is safe even when the backend is dropped inside an async task.
    runtime: Option<tokio::runtime::Runtime>,
    /// What [`Backend::location`] returns (an `s3:` URL without keys, or a folder).
    location: String,
    /// How errors name the store, e.g. `S3 bucket "b" at http://127.0.0.1:8333`.
    target: String,
}

impl std::fmt::Debug for OpendalBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The operator holds the keys: only the location is shown.
        f.debug_struct("OpendalBackend")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

impl Drop for OpendalBackend {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

/// How long one attempt at a storage request may take before it counts as failed (and is
/// retried like any transient error).
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// A whole request without a body stream (stat, delete, list page).
    pub request: Duration,
    /// Each read or write of a body stream.
    pub io: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            request: Duration::from_secs(60),
            io: Duration::from_secs(120),
        }
    }
}

impl OpendalBackend {
    /// A repository in an S3 bucket (AWS or any S3-compatible server). Keys come from
    /// `location` only: no AWS config files, environment or instance metadata are consulted.
    /// Nothing is sent until the first operation.
    pub fn s3(location: &S3Location) -> Result<OpendalBackend> {
        Self::s3_with(location, Timeouts::default())
    }

    /// [`OpendalBackend::s3`] with other time limits per attempt.
    pub fn s3_with(location: &S3Location, timeouts: Timeouts) -> Result<OpendalBackend> {
        let root = if location.prefix.is_empty() {
            "/".to_string()
        } else {
            format!("/{}/", location.prefix)
        };
        let builder = opendal::services::S3::default()
            .endpoint(&location.endpoint)
            .bucket(&location.bucket)
            .region(&location.region)
            .root(&root)
            .credential_provider_chain(reqsign_core::ProvideCredentialChain::new().push(Keys {
                access_key_id: location.access_key_id.clone(),
                secret_access_key: location.secret_access_key.clone(),
            }))
            .disable_config_load()
            .disable_ec2_metadata();
        let target = format!("S3 bucket {:?} at {}", location.bucket, location.endpoint);
        let op = Operator::new(builder)
            .map_err(|e| Error::InvalidArgument(format!("cannot use {target}: {}", e.message())))?;
        Self::from_operator_with(op, location.to_string(), target, timeouts)
    }

    /// A repository in a local folder through OpenDAL's `fs` service: the same code path as
    /// S3, for tests. [`LocalBackend`](crate::LocalBackend) remains the local backend to use.
    pub fn fs(root: &Path) -> Result<OpendalBackend> {
        let builder = opendal::services::Fs::default().root(&root.to_string_lossy());
        let target = format!("folder {}", root.display());
        let op = Operator::new(builder)
            .map_err(|e| Error::InvalidArgument(format!("cannot use {target}: {}", e.message())))?;
        Self::from_operator(op, root.display().to_string(), target)
    }

    /// Wraps any OpenDAL operator (with its root already set to the repository), adding the
    /// timeout and retry layers. `location` is what the repository reports as its location;
    /// `target` is how errors name the store. Neither may contain secrets.
    pub fn from_operator(
        op: Operator,
        location: impl Into<String>,
        target: impl Into<String>,
    ) -> Result<OpendalBackend> {
        Self::from_operator_with(op, location, target, Timeouts::default())
    }

    /// [`OpendalBackend::from_operator`] with other time limits per attempt.
    pub fn from_operator_with(
        op: Operator,
        location: impl Into<String>,
        target: impl Into<String>,
        timeouts: Timeouts,
    ) -> Result<OpendalBackend> {
        let location = location.into();
        opendal::install_default();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("qcb-storage")
            .enable_all()
            .build()
            .map_err(Error::io(
                "start the storage runtime for",
                location_path(&location),
            ))?;
        // Timeout inside retry: an attempt that times out is retried like any transient error.
        let op = op
            .layer(
                TimeoutLayer::new()
                    .with_timeout(timeouts.request)
                    .with_io_timeout(timeouts.io),
            )
            .layer(
                RetryLayer::new()
                    .with_max_times(RETRIES)
                    .with_min_delay(Duration::from_millis(200))
                    .with_max_delay(Duration::from_secs(10))
                    .with_jitter(),
            );
        Ok(OpendalBackend {
            op,
            handle: runtime.handle().clone(),
            runtime: Some(runtime),
            location,
            target: target.into(),
        })
    }

    /// Checks that the store answers and that the keys may list it: a missing bucket or a
    /// refused key is reported here, by name, rather than as "not a repository".
    pub fn check_access(&self) -> Result<()> {
        let op = self.op.clone();
        self.block(async move { op.list_with("").limit(1).await })?
            .map(|_| ())
            .map_err(|e| self.error("list", "", e))
    }

    /// Whether the repository's prefix holds no object at all.
    pub fn is_empty(&self) -> Result<bool> {
        let op = self.op.clone();
        let entries = self
            .block(async move { op.list_with("").recursive(true).limit(2).await })?
            .map_err(|e| self.error("list", "", e))?;
        Ok(!entries.iter().any(|e| {
            let p = e.path();
            !p.is_empty() && p != "/" && !p.ends_with('/')
        }))
    }

    /// Runs `fut` on the backend's runtime and waits for it on this thread.
    fn block<T, F>(&self, fut: F) -> Result<T>
    where
        T: Send + 'static,
        F: Future<Output = T> + Send + 'static,
    {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.handle.spawn(async move {
            let _ = tx.send(fut.await);
        });
        rx.recv().map_err(|_| Error::Io {
            op: "wait for",
            path: location_path(&self.location),
            source: std::io::Error::other("the storage task ended without an answer"),
        })
    }

    /// Maps an OpenDAL error to a repository error naming the object and the store.
    fn error(&self, op: &'static str, object: &str, e: opendal::Error) -> Error {
        let path = if object.is_empty() {
            location_path(&self.location)
        } else {
            location_path(&format!("{}/{object}", self.location))
        };
        let target = &self.target;
        // OpenDAL's message, then the causes under it ("connection refused", ...).
        let mut text = e.to_string();
        let mut cause = std::error::Error::source(&e);
        while let Some(c) = cause {
            let c_text = c.to_string();
            if !text.contains(&c_text) {
                text = format!("{text}: {c_text}");
            }
            cause = c.source();
        }
        let reason = s3_reason(e.message());
        let e_kind = e.kind();
        let retried = e.is_temporary() || e.is_persistent();
        let e = text;
        let (kind, detail) = match e_kind {
            DalKind::NotFound => (IoKind::NotFound, format!("no such object in {target}")),
            DalKind::PermissionDenied => (
                IoKind::PermissionDenied,
                format!(
                    "access denied by {target} (check the access key, the secret key and the \
                     bucket's permissions): {reason}"
                ),
            ),
            DalKind::ConfigInvalid => (
                IoKind::InvalidInput,
                format!("{target} refused the request (does the bucket exist?): {reason}"),
            ),
            DalKind::Unsupported => (
                IoKind::Unsupported,
                format!("{target} does not support this: {e}"),
            ),
            // Persistent: temporary, and still failing after the retries.
            _ if retried => (
                IoKind::TimedOut,
                format!("{target} still failing after {RETRIES} retries: {e}"),
            ),
            _ => (IoKind::Other, format!("{target}: {e}")),
        };
        Error::Io {
            op,
            path,
            source: std::io::Error::new(kind, detail),
        }
    }
}

/// The keys of an S3 location, for signing. reqsign logs its credential providers with
/// `Debug` (at debug level), and its own static provider shows the secret: this one does not.
struct Keys {
    access_key_id: String,
    secret_access_key: Secret,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &self.secret_access_key)
            .finish()
    }
}

impl reqsign_core::ProvideCredential for Keys {
    type Credential = reqsign_aws_v4::Credential;

    async fn provide_credential(
        &self,
        _: &reqsign_core::Context,
    ) -> reqsign_core::Result<Option<Self::Credential>> {
        Ok(Some(reqsign_aws_v4::Credential {
            access_key_id: self.access_key_id.clone(),
            secret_access_key: self.secret_access_key.expose().to_string(),
            session_token: None,
            expires_in: None,
        }))
    }
}

/// The S3 error code and message out of OpenDAL's rendering of an S3 error body
/// (`S3Error { code: "NoSuchBucket", message: "...", .. }`), or the message as it is.
fn s3_reason(message: &str) -> String {
    let field = |name: &str| {
        let start = message.find(&format!("{name}: \""))? + name.len() + 3;
        let len = message[start..].find('"')?;
        Some(message[start..start + len].to_string())
    };
    match (field("code"), field("message")) {
        (Some(code), Some(text)) if !code.is_empty() => format!("{code}: {text}"),
        _ => message.to_string(),
    }
}

fn location_path(s: &str) -> PathBuf {
    PathBuf::from(s)
}

/// The object path of a repository file, relative to the operator's root.
fn object_path(kind: FileKind, name: &str) -> String {
    match kind {
        FileKind::Config => "config".to_string(),
        FileKind::Pack => format!("data/{}/{name}", &name[..2.min(name.len())]),
        _ => format!("{}/{name}", kind.dir()),
    }
}

impl Backend for OpendalBackend {
    fn location(&self) -> String {
        self.location.clone()
    }

    fn create_layout(&self) -> Result<()> {
        // Object stores have no folders; the fs service creates parents on write.
        Ok(())
    }

    fn write(&self, kind: FileKind, name: &str, bytes: &[u8]) -> Result<()> {
        check_name(kind, name)?;
        let path = object_path(kind, name);
        let op = self.op.clone();
        let body = bytes.to_vec();
        let p = path.clone();
        self.block(async move { op.write(&p, body).await })?
            .map(|_| ())
            .map_err(|e| self.error("write", &path, e))
    }

    fn read(&self, kind: FileKind, name: &str) -> Result<Vec<u8>> {
        check_name(kind, name)?;
        let path = object_path(kind, name);
        let op = self.op.clone();
        let p = path.clone();
        self.block(async move { op.read(&p).await })?
            .map(|b| b.to_vec())
            .map_err(|e| self.error("read", &path, e))
    }

    fn read_range(&self, kind: FileKind, name: &str, offset: u64, len: usize) -> Result<Vec<u8>> {
        check_name(kind, name)?;
        let path = object_path(kind, name);
        let end = offset + len as u64;
        let short = || {
            Error::corrupt(
                format!("{}/{path}", self.location),
                format!("file ends before byte {end}"),
            )
        };
        if len == 0 {
            // An empty range reads nothing, but the object must still be there.
            self.size(kind, name)?;
            return Ok(Vec::new());
        }
        let op = self.op.clone();
        let p = path.clone();
        match self.block(async move { op.read_with(&p).range(offset..end).await })? {
            Ok(buf) if buf.len() == len => Ok(buf.to_vec()),
            Ok(_) => Err(short()),
            Err(e) if e.kind() == DalKind::RangeNotSatisfied => Err(short()),
            Err(e) if matches!(e.kind(), DalKind::NotFound | DalKind::PermissionDenied) => {
                Err(self.error("read", &path, e))
            }
            // A short answer surfaces as "too little data" (or a server's own error): if the
            // object is shorter than the range, that is damage; otherwise report the error.
            Err(e) => match self.size(kind, name) {
                Ok(size) if size < end => Err(short()),
                _ => Err(self.error("read", &path, e)),
            },
        }
    }

    fn size(&self, kind: FileKind, name: &str) -> Result<u64> {
        check_name(kind, name)?;
        let path = object_path(kind, name);
        let op = self.op.clone();
        let p = path.clone();
        self.block(async move { op.stat(&p).await })?
            .map(|m| m.content_length())
            .map_err(|e| self.error("stat", &path, e))
    }

    fn list(&self, kind: FileKind) -> Result<Vec<String>> {
        if kind == FileKind::Config {
            return Ok(if self.exists(kind, "config")? {
                vec!["config".to_string()]
            } else {
                Vec::new()
            });
        }
        let dir = format!("{}/", kind.dir());
        let op = self.op.clone();
        let d = dir.clone();
        let recursive = kind == FileKind::Pack;
        let entries =
            match self.block(async move { op.list_with(&d).recursive(recursive).await })? {
                Ok(entries) => entries,
                Err(e) if e.kind() == DalKind::NotFound => Vec::new(),
                Err(e) => return Err(self.error("list", &dir, e)),
            };
        let mut out: Vec<String> = entries
            .iter()
            .filter_map(|entry| {
                let parts: Vec<&str> = entry.path().split('/').collect();
                // keys/<name>, or data/<xx>/<name> for packs, like the local layout.
                let name = match (kind, parts.as_slice()) {
                    (FileKind::Pack, [_, _, name]) => name,
                    (FileKind::Pack, _) => return None,
                    (_, [_, name]) => name,
                    _ => return None,
                };
                is_valid_name(kind, name).then(|| name.to_string())
            })
            .collect();
        out.sort();
        out.dedup();
        Ok(out)
    }

    fn exists(&self, kind: FileKind, name: &str) -> Result<bool> {
        check_name(kind, name)?;
        let path = object_path(kind, name);
        let op = self.op.clone();
        let p = path.clone();
        match self.block(async move { op.stat(&p).await })? {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == DalKind::NotFound => Ok(false),
            Err(e) => Err(self.error("stat", &path, e)),
        }
    }

    fn delete(&self, kind: FileKind, name: &str) -> Result<()> {
        check_name(kind, name)?;
        let path = object_path(kind, name);
        let op = self.op.clone();
        let p = path.clone();
        match self.block(async move { op.delete(&p).await })? {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == DalKind::NotFound => Ok(()),
            Err(e) => Err(self.error("delete", &path, e)),
        }
    }
}
