//! Opening, reading and writing a repository.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, RwLock};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::FORMAT_VERSION;
use crate::backend::{Backend, FileKind, LocalBackend};
use crate::crypto::{self, KdfParams, MasterKey};
use crate::error::{Error, Result};
use crate::ids::{BlobId, BlobType, SnapshotId};
use crate::index::{INDEX_AAD, Index, IndexFile, PackEntry};
use crate::keyfile::KeyFile;
use crate::pack::{self, PackBuilder, TARGET_PACK_SIZE};
use crate::tree::{SNAPSHOT_AAD, Snapshot, SnapshotFile, SnapshotMeta, Tree};
use crate::upload::PackUploader;

const CONFIG_AAD: &[u8] = b"qcbackup config v1";
const LOCAL_AAD: &[u8] = b"qcbackup local spool v1";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct Config {
    version: u32,
    id: String,
    created: String,
}

/// An open, unlocked repository. Cheap to clone; safe to share between threads.
#[derive(Clone)]
pub struct Repository {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) backend: Box<dyn Backend>,
    pub(crate) key: MasterKey,
    config: Config,
    pub(crate) index: RwLock<Index>,
    /// Index files already merged into `index`.
    pub(crate) index_files: std::sync::Mutex<std::collections::HashSet<String>>,
    /// The key file this process opened the repository with.
    pub(crate) key_name: std::sync::Mutex<String>,
    /// Index files that could not be read: name → what is wrong. Skipped (their blobs count as
    /// missing) so that one damaged file does not lock everyone out; `check` reports them and
    /// `prune` refuses to run while there are any.
    pub(crate) damaged_index: std::sync::Mutex<std::collections::BTreeMap<String, String>>,
}

impl std::fmt::Debug for Repository {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Repository")
            .field("id", &self.inner.config.id)
            .field("location", &self.inner.backend.location())
            .finish()
    }
}

pub(crate) fn hostname() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|s| s.trim().to_string())
        })
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

impl Repository {
    /// Creates a repository in an empty (or missing) local folder.
    pub fn init_local(path: &Path, password: &[u8], params: KdfParams) -> Result<Repository> {
        if path.exists() {
            let mut entries = std::fs::read_dir(path).map_err(Error::io("read folder", path))?;
            if entries.next().is_some() {
                return Err(Error::AlreadyExists {
                    path: path.to_path_buf(),
                });
            }
        }
        Self::init(Box::new(LocalBackend::new(path)), password, params)
    }

    /// Creates a repository on an empty backend.
    pub fn init(
        backend: Box<dyn Backend>,
        password: &[u8],
        params: KdfParams,
    ) -> Result<Repository> {
        if password.is_empty() {
            return Err(Error::InvalidArgument(
                "the repository password must not be empty".into(),
            ));
        }
        if backend.exists(FileKind::Config, "config")? {
            return Err(Error::AlreadyExists {
                path: backend.location().into(),
            });
        }
        backend.create_layout()?;
        let key = MasterKey::generate();
        let now = chrono::Utc::now().to_rfc3339();
        let kf = KeyFile::wrap(&key, password, params, &hostname(), &now)
            .map_err(Error::InvalidArgument)?;
        let kf_bytes = serde_json::to_vec_pretty(&kf).expect("key file serialises");
        let key_name = sha256_hex(&kf_bytes);
        backend.write(FileKind::Key, &key_name, &kf_bytes)?;
        let config = Config {
            version: FORMAT_VERSION,
            id: hex::encode(crypto::random_salt()),
            created: now,
        };
        let sealed = crypto::seal(
            &key,
            CONFIG_AAD,
            &serde_json::to_vec(&config).expect("config serialises"),
        );
        // The config is written last: a folder without it is not (yet) a repository.
        backend.write(FileKind::Config, "config", &sealed)?;
        tracing::info!(location = %backend.location(), id = %config.id, "repository created");
        Ok(Repository {
            inner: Arc::new(Inner {
                backend,
                key,
                config,
                index: RwLock::new(Index::default()),
                index_files: Default::default(),
                key_name: std::sync::Mutex::new(key_name),
                damaged_index: Default::default(),
            }),
        })
    }

    pub fn open_local(path: &Path, password: &[u8]) -> Result<Repository> {
        Self::open(Box::new(LocalBackend::new(path)), password)
    }

    /// Opens a repository: finds a key file the password opens, reads the config and loads the index.
    pub fn open(backend: Box<dyn Backend>, password: &[u8]) -> Result<Repository> {
        let location = backend.location();
        if !backend.exists(FileKind::Config, "config")? {
            return Err(Error::NotARepository {
                path: location.into(),
            });
        }
        let keys = backend.list(FileKind::Key)?;
        let mut key = None;
        let mut damaged = Vec::new();
        let mut parsed = Vec::new();
        for name in &keys {
            let bytes = backend.read(FileKind::Key, name)?;
            match serde_json::from_slice::<KeyFile>(&bytes) {
                Ok(k) => parsed.push((name, k)),
                Err(e) => damaged.push(Error::corrupt(format!("keys/{name}"), e.to_string())),
            }
        }
        // Cheapest key files first: a planted key file with maximal cost parameters cannot
        // delay opening with a genuine one.
        parsed.sort_by_key(|(_, k)| {
            u64::from(k.kdf_params.memory_kib) * u64::from(k.kdf_params.iterations)
        });
        for (name, parsed) in parsed {
            match parsed.unwrap_key(password) {
                Ok(Some(k)) => {
                    key = Some((k, name.clone()));
                    break;
                }
                Ok(None) => {}
                Err(e) => damaged.push(Error::corrupt(format!("keys/{name}"), e)),
            }
        }
        let (key, key_name) = match key {
            Some(k) => k,
            None if !damaged.is_empty() && damaged.len() == keys.len() => {
                return Err(damaged.remove(0));
            }
            None => {
                return Err(Error::WrongPassword {
                    path: location.into(),
                    keys: keys.len(),
                });
            }
        };
        Self::open_with_key(backend, key, key_name)?.map_err(|_| {
            Error::corrupt(
                "config",
                "failed authentication (damaged, or from another repository)",
            )
        })
    }

    /// The rest of opening once the master key is known: reads and authenticates the config,
    /// loads the index. `Ok(Err(backend))` when the config does not authenticate under `key`
    /// (a damaged config, or a key from another repository).
    pub(crate) fn open_with_key(
        backend: Box<dyn Backend>,
        key: MasterKey,
        key_name: String,
    ) -> Result<std::result::Result<Repository, Box<dyn Backend>>> {
        let sealed = backend.read(FileKind::Config, "config")?;
        let Some(plain) = crypto::open(&key, CONFIG_AAD, &sealed) else {
            return Ok(Err(backend));
        };
        let config: Config =
            serde_json::from_slice(&plain).map_err(|e| Error::corrupt("config", e.to_string()))?;
        if config.version != FORMAT_VERSION {
            return Err(Error::UnsupportedVersion {
                found: config.version,
                supported: FORMAT_VERSION,
            });
        }
        let repo = Repository {
            inner: Arc::new(Inner {
                backend,
                key,
                config,
                index: RwLock::new(Index::default()),
                index_files: Default::default(),
                key_name: std::sync::Mutex::new(key_name),
                damaged_index: Default::default(),
            }),
        };
        repo.load_index()?;
        Ok(Ok(repo))
    }

    fn load_index(&self) -> Result<()> {
        self.refresh_index().map(|_| ())
    }

    /// Forgets the loaded index and reads every index file again. Needed after taking a lock:
    /// a `prune` that ran since `open` may have replaced index files and removed packs.
    pub fn reload_index(&self) -> Result<()> {
        let mut known = self.inner.index_files.lock().expect("index files lock");
        let mut fresh = Index::default();
        let mut names = std::collections::HashSet::new();
        let mut damaged = std::collections::BTreeMap::new();
        for name in self.inner.backend.list(FileKind::Index)? {
            if let Err(e) = self.merge_index_file(&mut fresh, &name) {
                Self::index_damaged(&mut damaged, &name, e)?;
            }
            names.insert(name);
        }
        *self.inner.index.write().expect("index lock") = fresh;
        *known = names;
        *self.inner.damaged_index.lock().expect("damaged index lock") = damaged;
        Ok(())
    }

    /// Brings the loaded index up to date after taking a lock. Index files are write-once and
    /// only a prune removes them, after writing the files that replace them: when every file
    /// the loaded index was built from is still there, merging the new ones gives exactly what
    /// reading them all again would (a prune that stopped before removing anything left
    /// agreeing copies, whose packs are all still there). When one is gone, everything is read
    /// again.
    pub fn sync_index(&self) -> Result<()> {
        let names: std::collections::HashSet<String> = self
            .inner
            .backend
            .list(FileKind::Index)?
            .into_iter()
            .collect();
        let unchanged = self
            .inner
            .index_files
            .lock()
            .expect("index files lock")
            .iter()
            .all(|n| names.contains(n));
        if unchanged {
            // One listing: on S3 each is a request.
            self.merge_new_index_files(names).map(|_| ())
        } else {
            self.reload_index()
        }
    }

    /// Records a damaged index file, or passes on an error that is not damage (I/O).
    fn index_damaged(
        damaged: &mut std::collections::BTreeMap<String, String>,
        name: &str,
        e: Error,
    ) -> Result<()> {
        match e {
            Error::Corrupt { .. } => {
                tracing::warn!(error = %e, "damaged index file skipped");
                damaged.insert(name.to_string(), e.to_string());
                Ok(())
            }
            e => Err(e),
        }
    }

    /// Index files that could not be read, with what is wrong with each.
    pub fn damaged_index_files(&self) -> Vec<String> {
        self.inner
            .damaged_index
            .lock()
            .expect("damaged index lock")
            .values()
            .cloned()
            .collect()
    }

    fn merge_index_file(&self, index: &mut Index, name: &str) -> Result<()> {
        let file = self.read_sealed::<IndexFile>(FileKind::Index, name, INDEX_AAD)?;
        if file.version != 1 {
            return Err(Error::corrupt(
                format!("index/{name}"),
                format!("unknown index version {}", file.version),
            ));
        }
        for pack in &file.packs {
            index
                .add_pack(pack)
                .map_err(|e| Error::corrupt(format!("index/{name}"), e))?;
        }
        Ok(())
    }

    /// Merges index files written since the last look (by another process, for example).
    /// Returns how many were new.
    pub fn refresh_index(&self) -> Result<usize> {
        self.merge_new_index_files(self.inner.backend.list(FileKind::Index)?)
    }

    /// Merges the index files among `names` that the loaded index does not have yet.
    fn merge_new_index_files(&self, names: impl IntoIterator<Item = String>) -> Result<usize> {
        let mut known = self.inner.index_files.lock().expect("index files lock");
        let mut added = 0;
        for name in names {
            if known.contains(&name) {
                continue;
            }
            let mut index = self.inner.index.write().expect("index lock");
            match self.merge_index_file(&mut index, &name) {
                Ok(()) => added += 1,
                Err(e) => Self::index_damaged(
                    &mut self.inner.damaged_index.lock().expect("damaged index lock"),
                    &name,
                    e,
                )?,
            }
            known.insert(name);
        }
        Ok(added)
    }

    /// Reads a whole encrypted file, verifying that its bytes hash to its name first.
    pub(crate) fn read_sealed<T: serde::de::DeserializeOwned>(
        &self,
        kind: FileKind,
        name: &str,
        aad: &[u8],
    ) -> Result<T> {
        let label = format!("{}/{name}", kind.dir());
        let bytes = self.inner.backend.read(kind, name)?;
        if sha256_hex(&bytes) != name {
            return Err(Error::corrupt(
                label,
                "content does not match its name (damaged or truncated)",
            ));
        }
        let plain = crypto::open(&self.inner.key, aad, &bytes).ok_or_else(|| {
            Error::corrupt(
                &label,
                "failed authentication (damaged, or from another repository)",
            )
        })?;
        serde_json::from_slice(&plain).map_err(|e| Error::corrupt(label, e.to_string()))
    }

    pub(crate) fn write_sealed<T: Serialize>(
        &self,
        kind: FileKind,
        aad: &[u8],
        value: &T,
    ) -> Result<String> {
        let plain = serde_json::to_vec(value).expect("repository records serialise");
        let sealed = crypto::seal(&self.inner.key, aad, &plain);
        let name = sha256_hex(&sealed);
        self.inner.backend.write(kind, &name, &sealed)?;
        Ok(name)
    }

    pub fn id(&self) -> &str {
        &self.inner.config.id
    }

    /// Compresses and encrypts data this machine keeps outside the repository on its behalf
    /// (a backup's downloads that no snapshot holds yet), under the repository's master key:
    /// such files are as unreadable without the password as the repository itself.
    pub fn seal_local(&self, plaintext: &[u8]) -> Vec<u8> {
        crypto::seal(&self.inner.key, LOCAL_AAD, &pack::encode_payload(plaintext))
    }

    /// Reverses [`Repository::seal_local`].
    pub fn unseal_local(&self, sealed: &[u8]) -> Result<Vec<u8>> {
        let payload = crypto::open(&self.inner.key, LOCAL_AAD, sealed).ok_or_else(|| {
            Error::corrupt(
                "local spool",
                "failed authentication (damaged, or not of this repository)",
            )
        })?;
        pack::decode_payload(&payload).map_err(|e| Error::corrupt("local spool", e))
    }

    pub fn location(&self) -> String {
        self.inner.backend.location()
    }

    /// Hashes and compresses a blob, on any thread, for [`Writer::save_prepared`]: the costly
    /// part of storing a blob, done in parallel by callers that have several to store.
    pub fn prepare_blob(&self, blob_type: BlobType, plaintext: &[u8]) -> PreparedBlob {
        PreparedBlob {
            id: self.blob_id(plaintext),
            blob_type,
            payload: pack::Payload::encode(plaintext),
            raw_length: plaintext.len(),
        }
    }

    /// Prepares the blobs of an item's content, cut as [`Writer::save_content`] cuts it. Chunks
    /// the repository already has are not compressed again (`None`).
    pub fn prepare_content(&self, content: &[u8]) -> Vec<(BlobId, Option<PreparedBlob>)> {
        chunk_boundaries(content)
            .map(|(s, e)| self.prepare_chunk(&content[s..e]))
            .collect()
    }

    /// Prepares one data blob already cut (by [`ContentChunker`], say); `None` when the
    /// repository has it.
    pub fn prepare_chunk(&self, chunk: &[u8]) -> (BlobId, Option<PreparedBlob>) {
        let id = self.blob_id(chunk);
        let prepared = (!self.has_blob(&id)).then(|| self.prepare_blob(BlobType::Data, chunk));
        (id, prepared)
    }

    /// The id a blob with this content has (or would have) in this repository.
    pub fn blob_id(&self, plaintext: &[u8]) -> BlobId {
        self.inner.key.blob_id(plaintext)
    }

    pub fn has_blob(&self, id: &BlobId) -> bool {
        self.inner.index.read().expect("index lock").contains(id)
    }

    /// (blobs, packs) in the loaded index.
    pub fn index_stats(&self) -> (usize, usize) {
        let i = self.inner.index.read().expect("index lock");
        (i.blob_count(), i.pack_count())
    }

    /// Reads, authenticates and decompresses one blob.
    pub fn read_blob(&self, id: &BlobId, expected: BlobType) -> Result<Vec<u8>> {
        let lookup = || self.inner.index.read().expect("index lock").get(id);
        let loc = match lookup() {
            Some(l) => l,
            // Another writer may have added it since this repository was opened.
            None if self.refresh_index()? > 0 => {
                lookup().ok_or_else(|| Error::MissingBlob(id.to_hex()))?
            }
            None => return Err(Error::MissingBlob(id.to_hex())),
        };
        if loc.entry.blob_type != expected {
            return Err(Error::corrupt(
                format!("data/{}", loc.pack),
                format!(
                    "blob {id} is {:?}, expected {expected:?}",
                    loc.entry.blob_type
                ),
            ));
        }
        let ct = self.inner.backend.read_range(
            FileKind::Pack,
            &loc.pack,
            loc.entry.offset,
            loc.entry.length as usize,
        )?;
        pack::decode_blob(&self.inner.key, &loc.salt, loc.seq, &loc.entry, &ct)
            .map_err(|e| Error::corrupt(format!("data/{}", loc.pack), e))
    }

    pub fn read_data(&self, id: &BlobId) -> Result<Vec<u8>> {
        self.read_blob(id, BlobType::Data)
    }

    /// Reads an item's content: its blobs concatenated.
    pub fn read_content(&self, ids: &[BlobId]) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        for id in ids {
            out.extend_from_slice(&self.read_data(id)?);
        }
        Ok(out)
    }

    pub fn load_tree(&self, id: &BlobId) -> Result<Tree> {
        let bytes = self.read_blob(id, BlobType::Tree)?;
        serde_json::from_slice(&bytes)
            .map_err(|e| Error::corrupt(format!("tree {id}"), e.to_string()))
    }

    pub fn load_snapshot(&self, id: &SnapshotId) -> Result<Snapshot> {
        if id.0.len() != 64
            || !id
                .0
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(Error::SnapshotNotFound(id.0.clone()));
        }
        if !self.inner.backend.exists(FileKind::Snapshot, &id.0)? {
            return Err(Error::SnapshotNotFound(id.0.clone()));
        }
        let f: SnapshotFile = self.read_sealed(FileKind::Snapshot, &id.0, SNAPSHOT_AAD)?;
        if f.version != 1 {
            return Err(Error::corrupt(
                format!("snapshots/{}", id.0),
                format!("unknown snapshot version {}", f.version),
            ));
        }
        Ok(Snapshot::from_file(id.clone(), f))
    }

    /// Snapshot ids, unordered. Cheap: no file is read.
    pub fn snapshot_ids(&self) -> Result<Vec<SnapshotId>> {
        Ok(self
            .inner
            .backend
            .list(FileKind::Snapshot)?
            .into_iter()
            .map(SnapshotId)
            .collect())
    }

    /// Every snapshot, oldest first.
    ///
    /// A damaged snapshot file is left out (with a warning) so that one bad file cannot stop
    /// every later backup and listing; `check` names it.
    pub fn list_snapshots(&self) -> Result<Vec<Snapshot>> {
        let mut out = Vec::new();
        for id in self.snapshot_ids()? {
            match self.load_snapshot(&id) {
                Ok(s) => out.push(s),
                Err(e @ Error::Corrupt { .. }) => {
                    tracing::warn!(error = %e, "damaged snapshot skipped")
                }
                Err(e) => return Err(e),
            }
        }
        out.sort_by(|a, b| a.time.cmp(&b.time).then_with(|| a.id.cmp(&b.id)));
        Ok(out)
    }

    /// Resolves `latest`, a full id or a unique prefix (at least 4 hex digits).
    pub fn find_snapshot(&self, spec: &str) -> Result<Snapshot> {
        if spec == "latest" {
            return self
                .list_snapshots()?
                .pop()
                .ok_or_else(|| Error::SnapshotNotFound(spec.into()));
        }
        if spec.len() < 4 || !spec.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Error::SnapshotNotFound(spec.into()));
        }
        let spec_lc = spec.to_ascii_lowercase();
        let matches: Vec<_> = self
            .snapshot_ids()?
            .into_iter()
            .filter(|id| id.0.starts_with(&spec_lc))
            .collect();
        match matches.len() {
            0 => Err(Error::SnapshotNotFound(spec.into())),
            1 => self.load_snapshot(&matches[0]),
            _ => Err(Error::AmbiguousSnapshot(spec.into())),
        }
    }

    /// Starts writing new blobs and, at the end, a snapshot.
    pub fn writer(&self) -> Writer {
        Writer {
            repo: self.clone(),
            pack: PackBuilder::new(),
            upload: PackUploader::new(self.clone()),
            pending: HashMap::new(),
            written: Vec::new(),
            last_index: std::time::Instant::now(),
            checkpoint: (CHECKPOINT_PACKS, CHECKPOINT_INTERVAL),
            stats: WriterStats::default(),
        }
    }
}

/// A blob hashed and compressed, ready to be encrypted into a pack by its writer.
pub struct PreparedBlob {
    pub id: BlobId,
    blob_type: BlobType,
    payload: pack::Payload,
    raw_length: usize,
}

/// Items up to this size are stored as one blob.
pub const CHUNK_THRESHOLD: usize = 512 * 1024;
/// FastCDC (2020) parameters for larger items: minimum, average and maximum chunk size.
pub const CHUNK_MIN: u32 = 64 * 1024;
pub const CHUNK_AVG: u32 = 256 * 1024;
pub const CHUNK_MAX: u32 = 1024 * 1024;

/// Where an item's content is cut into blobs: `(start, end)` byte ranges covering it in order.
pub fn chunk_boundaries(content: &[u8]) -> Box<dyn Iterator<Item = (usize, usize)> + '_> {
    if content.len() <= CHUNK_THRESHOLD {
        return Box::new(std::iter::once((0, content.len())));
    }
    Box::new(cdc(content))
}

/// FastCDC (2020) cuts of `content` with the repository's parameters, whatever its size.
fn cdc(content: &[u8]) -> impl Iterator<Item = (usize, usize)> + '_ {
    fastcdc::v2020::FastCDC::new(content, CHUNK_MIN, CHUNK_AVG, CHUNK_MAX)
        .map(|c| (c.offset, c.offset + c.length))
}

/// [`chunk_boundaries`] for content that arrives in pieces (a download), holding at most
/// about [`CHUNK_MAX`] bytes plus the piece being added: it cuts exactly where
/// `chunk_boundaries` cuts the whole content, so a streamed item dedupes against a stored one.
#[derive(Default)]
pub struct ContentChunker {
    buf: Vec<u8>,
    /// Whether a chunk was handed out (the content is over [`CHUNK_THRESHOLD`]).
    cutting: bool,
    total: u64,
}

impl ContentChunker {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the next piece; returns the chunks that are now complete.
    pub fn push(&mut self, piece: &[u8]) -> Vec<Vec<u8>> {
        self.total += piece.len() as u64;
        self.buf.extend_from_slice(piece);
        let mut out = Vec::new();
        // A cut depends only on the bytes from the chunk's start to at most CHUNK_MAX further,
        // and on whether the content ends before that: with CHUNK_MAX bytes buffered, the first
        // cut is the one the whole content would get.
        while self.buf.len() >= CHUNK_MAX as usize {
            let (_, end) = cdc(&self.buf)
                .next()
                .expect("a non-empty buffer has a chunk");
            out.push(self.buf.drain(..end).collect());
            self.cutting = true;
        }
        out
    }

    /// The remaining chunks once the content is complete.
    pub fn finish(self) -> Vec<Vec<u8>> {
        if !self.cutting && self.buf.len() <= CHUNK_THRESHOLD {
            return vec![self.buf];
        }
        cdc(&self.buf)
            .map(|(s, e)| self.buf[s..e].to_vec())
            .collect()
    }

    /// Bytes pushed so far.
    pub fn total(&self) -> u64 {
        self.total
    }
}

/// Counts of what a writer stored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WriterStats {
    pub blobs_new: u64,
    pub blobs_known: u64,
    pub bytes_in: u64,
    pub bytes_stored: u64,
    pub packs: u64,
}

/// Collects new blobs into packs and commits them with a snapshot.
///
/// Write order: packs as they fill, then one index file naming them, then the snapshot. Full
/// packs are encrypted and stored on a thread of their own while the next one fills
/// (`upload.rs`); an index file names only packs already stored. A writer dropped without
/// `commit` leaves only unreferenced packs behind, never a snapshot that points at missing data;
/// after a pack could not be stored it refuses to commit.
pub struct Writer {
    repo: Repository,
    pack: PackBuilder,
    upload: PackUploader,
    /// Blobs added by this writer and not yet in the shared index: id → pack slot.
    pending: HashMap<BlobId, ()>,
    /// Packs stored but not yet named by an index file.
    written: Vec<PackEntry>,
    last_index: std::time::Instant,
    checkpoint: (usize, std::time::Duration),
    stats: WriterStats,
}

/// A writer names its stored packs in an index file at least this often (in packs, and in
/// time), so that a backup killed midway leaves indexed data the next run reuses instead of
/// uploading it again. The pack still being stored when the index is written is named by the
/// next one: a kill loses at most this many packs plus that one.
const CHECKPOINT_PACKS: usize = 4;
const CHECKPOINT_INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);

impl Writer {
    pub fn save_data(&mut self, plaintext: &[u8]) -> Result<BlobId> {
        self.save_blob(BlobType::Data, plaintext)
    }

    /// Stores an item's content: whole when small, otherwise split by content-defined chunking
    /// (FastCDC) so that a large attachment mailed to many people, or kept in many versions,
    /// is stored once. Returns the blob ids whose plaintexts concatenate to `content`.
    pub fn save_content(&mut self, content: &[u8]) -> Result<Vec<BlobId>> {
        chunk_boundaries(content)
            .map(|(start, end)| self.save_data(&content[start..end]))
            .collect()
    }

    pub fn save_tree(&mut self, tree: &Tree) -> Result<BlobId> {
        let mut sorted = tree.clone();
        sorted.nodes.sort_by(|a, b| a.name.cmp(&b.name));
        if let Some(w) = sorted.nodes.windows(2).find(|w| w[0].name == w[1].name) {
            return Err(Error::InvalidArgument(format!(
                "two nodes named {:?} in one tree",
                w[0].name
            )));
        }
        let bytes = serde_json::to_vec(&sorted).expect("trees serialise");
        self.save_blob(BlobType::Tree, &bytes)
    }

    /// Stores a blob unless the repository (or this writer) already has it.
    pub fn save_blob(&mut self, blob_type: BlobType, plaintext: &[u8]) -> Result<BlobId> {
        let id = self.repo.blob_id(plaintext);
        if self.pending.contains_key(&id) || self.repo.has_blob(&id) {
            self.stats.bytes_in += plaintext.len() as u64;
            self.stats.blobs_known += 1;
            return Ok(id);
        }
        let prepared = PreparedBlob {
            id,
            blob_type,
            payload: pack::Payload::encode(plaintext),
            raw_length: plaintext.len(),
        };
        self.save_prepared(prepared)
    }

    /// Stores a blob prepared (hashed and compressed) by [`Repository::prepare_blob`], unless
    /// the repository or this writer already has it.
    pub fn save_prepared(&mut self, blob: PreparedBlob) -> Result<BlobId> {
        self.upload.check()?;
        let id = blob.id;
        self.stats.bytes_in += blob.raw_length as u64;
        if self.pending.contains_key(&id) || self.repo.has_blob(&id) {
            self.stats.blobs_known += 1;
            return Ok(id);
        }
        if blob.raw_length > u32::MAX as usize - 1024 {
            return Err(Error::InvalidArgument(format!(
                "blob of {} bytes is too large for one blob",
                blob.raw_length
            )));
        }
        self.stats.bytes_stored +=
            self.pack
                .add_encoded(id, blob.blob_type, &blob.payload, blob.raw_length);
        self.stats.blobs_new += 1;
        self.pending.insert(id, ());
        if self.pack.len() >= TARGET_PACK_SIZE {
            self.flush_pack()?;
        }
        Ok(id)
    }

    /// Stores content prepared by [`Repository::prepare_content`]; returns its blob ids.
    pub fn save_prepared_content(
        &mut self,
        prepared: Vec<(BlobId, Option<PreparedBlob>)>,
    ) -> Result<Vec<BlobId>> {
        let mut ids = Vec::with_capacity(prepared.len());
        for (id, blob) in prepared {
            match blob {
                Some(b) => {
                    self.save_prepared(b)?;
                }
                // Known when prepared; it may since have been pruned only under an exclusive
                // lock, which a writer's holder excludes.
                None => self.stats.blobs_known += 1,
            }
            ids.push(id);
        }
        Ok(ids)
    }

    fn flush_pack(&mut self) -> Result<()> {
        if self.pack.is_empty() {
            return Ok(());
        }
        self.upload.submit(std::mem::take(&mut self.pack))?;
        self.stats.packs += 1;
        let stored = self.upload.stored()?;
        self.written.extend(stored);
        self.pack = self.upload.next_pack();
        if self.written.len() >= self.checkpoint.0 || self.last_index.elapsed() >= self.checkpoint.1
        {
            self.write_index()?;
        }
        Ok(())
    }

    /// Writes one index file naming the packs written since the last one, and adds them to
    /// the shared in-memory index.
    fn write_index(&mut self) -> Result<()> {
        self.last_index = std::time::Instant::now();
        if self.written.is_empty() {
            return Ok(());
        }
        let file = IndexFile {
            version: 1,
            packs: std::mem::take(&mut self.written),
        };
        let name = self.repo.write_sealed(FileKind::Index, INDEX_AAD, &file)?;
        let mut index = self.repo.inner.index.write().expect("index lock");
        for p in &file.packs {
            index
                .add_pack(p)
                .map_err(|e| Error::corrupt("new index", e))?;
        }
        self.repo
            .inner
            .index_files
            .lock()
            .expect("index files lock")
            .insert(name);
        Ok(())
    }

    /// Changes how often packs are named in an index file (default: every 4 packs or 60 s).
    pub fn checkpoint_every(&mut self, packs: usize, interval: std::time::Duration) {
        self.checkpoint = (packs.max(1), interval);
    }

    /// Whether the repository has this blob, or this writer holds it for its next commit.
    pub fn contains(&self, id: &BlobId) -> bool {
        self.pending.contains_key(id) || self.repo.has_blob(id)
    }

    pub fn stats(&self) -> WriterStats {
        self.stats
    }

    /// Writes the last pack, the index for everything written, then the snapshot.
    pub fn commit(mut self, meta: SnapshotMeta) -> Result<Snapshot> {
        if !self.pending.contains_key(&meta.tree) && !self.repo.has_blob(&meta.tree) {
            return Err(Error::MissingBlob(meta.tree.to_hex()));
        }
        self.flush_pack()?;
        let stored = self.upload.drain()?;
        self.written.extend(stored);
        self.write_index()?;
        let file = SnapshotFile {
            version: 1,
            time: meta.time,
            hostname: meta.hostname,
            program: format!("qcbackup {}", env!("CARGO_PKG_VERSION")),
            tree: meta.tree,
            parent: meta.parent,
            tags: meta.tags,
            summary: meta.summary,
        };
        let name = self
            .repo
            .write_sealed(FileKind::Snapshot, SNAPSHOT_AAD, &file)?;
        tracing::info!(snapshot = %&name[..8], new_blobs = self.stats.blobs_new, "snapshot committed");
        Ok(Snapshot::from_file(SnapshotId(name), file))
    }
}
