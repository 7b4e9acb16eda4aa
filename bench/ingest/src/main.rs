//! `qcb-bench`: the ingest half of the repository benchmark (`bench/run-ingest.sh`).
//!
//! ```text
//! qcb-bench init --repo DIR [--password-env VAR] [--keychain SERVICE]
//! qcb-bench ingest --repo DIR --source DIR [--workers N] [--budget-mib M] [--buffers B]
//!                  [--password-env VAR] [--keychain SERVICE]
//! qcb-bench verify --repo DIR --source DIR [--password-env VAR]
//! qcb-bench kdf
//! ```
//!
//! `init` creates the repository (and with `--keychain` keeps its password and remembered key
//! there), as `restic init` does before restic's first backup; `bench/run-ingest.sh` runs it
//! untimed. `verify` (not timed) reads the newest snapshot back and compares every item with its file:
//! same names, same bytes, nothing missing and nothing extra. `kdf` times one Argon2id
//! derivation with the default parameters (the fixed cost of opening a repository).
//!
//! Stores a directory of files as one snapshot, the way the engine stores a mailbox: one
//! `Node::item` per file (content through `Writer::save_content`'s chunking), one tree per
//! directory, saved bottom-up, then `commit`. Creates the repository when the folder is missing
//! or empty (default Argon2id parameters), otherwise opens it and uses the newest snapshot as
//! parent: a file whose size and mtime equal its node's `attrs` in the parent is carried over
//! without being read (restic's rule), every other file is read and hashed.
//!
//! Threads, all through qcb-repo's public API:
//! * a lister lists directories and `stat`s their files, depth first in name order, from
//!   before the repository is opened and at most [`LISTINGS_AHEAD`] directories ahead;
//! * two tree loaders read the parent's trees ahead of the walk (entering a directory asks for
//!   all its subdirectories' trees, first one first);
//! * a walker compares each listing with the parent's tree and decides per file "reuse" or
//!   "read", sending read jobs to the workers and an ordered event stream to the writer; while
//!   nothing in a directory has changed it holds the directory's events back, and a directory
//!   unchanged throughout (every file, recursively, no name added or gone) reaches the writer as
//!   the parent's node alone, so its tree is neither sent nor stored again;
//! * `--workers` readers read each file, cut it with [`qcb_repo::chunk_boundaries`], compute
//!   each chunk's [`Repository::blob_id`] and, for chunks the repository lacks, compress it
//!   ([`Repository::prepare_blob`]);
//! * the writer (main thread) skips chunks the repository already has
//!   ([`qcb_repo::Writer::contains`]) and hands the new ones, prepared (hashed and compressed)
//!   by the readers, to `Writer::save_prepared`, which appends them to the open pack; full packs
//!   are encrypted, hashed and written (`O_DIRECT` on Linux, then fsync) by the writer's own
//!   upload thread while the next pack fills, exactly as in a backup.
//!   `QCB_BENCH_NO_PREPARE=1` makes the writer hash and compress instead (diagnosis only).
//!
//! Bytes read but not yet stored are bounded by `--budget-mib` (default 16) and the number of
//! files in flight by a fixed pool of `--buffers` read buffers (default 16) that the workers
//! reuse (up to 256 KiB each: a larger file gets a buffer of its own, freed once stored; keeping
//! buffers up to 1 MiB let the pool's resident size grow with the corpus as more of them met a
//! large file), so memory does not grow with the corpus. Prints one JSON object (counts and a
//! timing breakdown) on stdout.
//!
//! With `--keychain SERVICE` the repository password and its remembered key live in the OS
//! keychain under the entries a backup set uses (`repository:<repo>`,
//! `repository-key:<repo>`), and the repository is opened as a set's scheduled run opens it
//! ([`Repository::open_remembering`]: no Argon2id while the remembered key applies); the
//! password is put there from the environment when missing. Without it every run derives the
//! key from the password, as a server given `QCBACKUP_PASSWORD` does.

/// The allocator the shipped binaries use, so the figures are theirs.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, Sender, SyncSender, channel, sync_channel};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant, UNIX_EPOCH};

use std::io::Read;

use qcb_repo::{
    Backend, BlobId, BlobType, KdfParams, LocalBackend, LockKind, Node, NodeKind, PreparedBlob,
    Repository, SnapshotMeta, Tree, chunk_boundaries,
};
use serde_json::json;

type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

const TAG: &str = "qcb-bench";
/// Directories the lister may have listed ahead of the walker.
const LISTINGS_AHEAD: usize = 32;
/// Threads loading the parent snapshot's trees.
const TREE_LOADERS: usize = 2;
/// Read buffers up to this capacity are reused; larger ones are freed after use.
const KEEP_BUFFER: usize = 256 * 1024;

#[derive(PartialEq)]
enum Command {
    Init,
    Ingest,
    Verify,
}

struct Args {
    command: Command,
    repo: PathBuf,
    source: PathBuf,
    password_env: String,
    workers: usize,
    budget: u64,
    buffers: usize,
    keychain: Option<String>,
}

fn usage() -> ! {
    eprintln!(
        "usage: qcb-bench init --repo DIR [--password-env VAR] [--keychain SERVICE]\n       \
         qcb-bench ingest|verify --repo DIR --source DIR [--workers N] [--budget-mib M] \
         [--buffers B] [--password-env VAR (default QCB_PASSWORD)] [--keychain SERVICE]"
    );
    std::process::exit(2)
}

fn parse_args() -> Args {
    let mut it = std::env::args().skip(1);
    let command = match it.next().as_deref() {
        Some("init") => Command::Init,
        Some("ingest") => Command::Ingest,
        Some("verify") => Command::Verify,
        _ => usage(),
    };
    let mut repo = None;
    let mut source = None;
    let mut password_env = "QCB_PASSWORD".to_string();
    let mut workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let mut budget_mib = 16u64;
    let mut buffers = 0usize;
    let mut keychain = None;
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_else(|| usage());
        match flag.as_str() {
            "--repo" => repo = Some(PathBuf::from(value)),
            "--source" => source = Some(PathBuf::from(value)),
            "--password-env" => password_env = value,
            "--workers" => workers = value.parse().unwrap_or_else(|_| usage()),
            "--budget-mib" => budget_mib = value.parse().unwrap_or_else(|_| usage()),
            "--buffers" => buffers = value.parse().unwrap_or_else(|_| usage()),
            "--keychain" => keychain = Some(value),
            _ => usage(),
        }
    }
    let source = match (&command, source) {
        (Command::Init, None) => PathBuf::new(),
        (_, source) => source.unwrap_or_else(|| usage()),
    };
    Args {
        command,
        repo: repo.unwrap_or_else(|| usage()),
        source,
        password_env,
        workers: workers.max(1),
        budget: budget_mib.max(1) * 1024 * 1024,
        buffers: if buffers == 0 { 16 } else { buffers },
        keychain,
    }
}

/// What the walker tells the writer, in tree order.
enum Event {
    Enter(String),
    /// A file unchanged since the parent snapshot: its node, carried over unread.
    Reused(Box<Node>),
    /// A file being read by a worker under this sequence number.
    Read {
        name: String,
        size: u64,
        mtime_ns: i64,
        seq: u64,
    },
    /// A whole directory unchanged since the parent snapshot (every file, recursively, and no
    /// name added or gone): the parent's node for it, whose tree is stored already.
    Unchanged {
        node: Box<Node>,
        files: u64,
    },
    Exit,
    Failed(String),
}

struct Job {
    seq: u64,
    path: PathBuf,
    size: u64,
    buffer: Vec<u8>,
}

/// A file read and hashed by a worker: its bytes and, per chunk, `(start, end, id)`.
/// A chunk of a file: its byte range, its blob id, and its blob prepared for the writer when
/// the repository does not have it yet.
type Chunk = (usize, usize, BlobId, Option<PreparedBlob>);

struct Done {
    seq: u64,
    data: Vec<u8>,
    result: Result<Vec<Chunk>, String>,
    read: Duration,
    hash: Duration,
}

/// Bytes read by workers and not yet stored by the writer, and the read buffers.
///
/// A file is read into one of a fixed set of buffers that go round walker → worker → writer →
/// back here: their number bounds the files in flight, and reusing them keeps large buffers
/// from being allocated on one thread and freed on another, which makes the allocator's heap
/// (and so the peak RSS) grow with the corpus.
struct Budget {
    state: Mutex<(u64, Vec<Vec<u8>>)>,
    freed: Condvar,
    cap: u64,
}

impl Budget {
    fn new(cap: u64, buffers: usize) -> Self {
        Budget {
            state: Mutex::new((0, (0..buffers).map(|_| Vec::new()).collect())),
            freed: Condvar::new(),
            cap,
        }
    }

    fn acquire(&self, n: u64) -> Vec<u8> {
        let mut s = self.state.lock().expect("budget lock");
        // One file larger than the whole budget still goes through, alone.
        while s.1.is_empty() || (s.0 > 0 && s.0 + n > self.cap) {
            s = self.freed.wait(s).expect("budget lock");
        }
        s.0 += n;
        s.1.pop().expect("a free buffer")
    }

    fn release(&self, n: u64, mut buffer: Vec<u8>) {
        // A buffer that held a large file is not kept: buffers × largest file would be retained.
        if buffer.capacity() > KEEP_BUFFER {
            buffer = Vec::new();
        }
        let mut s = self.state.lock().expect("budget lock");
        s.0 -= n;
        s.1.push(buffer);
        self.freed.notify_all();
    }
}

fn mtime_ns(meta: &std::fs::Metadata) -> i64 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos() as i64)
}

fn unchanged(node: &Node, size: u64, mtime_ns: i64) -> bool {
    node.kind == NodeKind::Item
        && node.attrs.get("size").and_then(|v| v.as_u64()) == Some(size)
        && node.attrs.get("mtime").and_then(|v| v.as_i64()) == Some(mtime_ns)
}

struct Walker {
    /// Where the parent snapshot's trees are loaded.
    trees: Arc<TreeQueue>,
    /// Every directory's entries, in the order of the walk, from [`list`].
    listings: Receiver<Result<Listing, String>>,
    events: SyncSender<Event>,
    jobs: Sender<Job>,
    budget: Arc<Budget>,
    next_seq: u64,
    /// The directories being walked, outermost first.
    levels: Vec<Level>,
    /// Time spent waiting for the lister's next listing, and for the parent's trees from the
    /// loaders (the listing and loading themselves run on those threads).
    wait_listings: Duration,
    wait_trees: Duration,
}

/// Loads the parent snapshot's trees on a thread of its own, so that decrypting and parsing
/// them overlaps with listing and `stat`-ing. Entering a directory, the walker asks for all its
/// subdirectories' trees; the newest requests are served first (first subdirectory first), so
/// trees load in the order the depth-first walk needs them.
#[derive(Default)]
struct TreeQueue {
    state: Mutex<(Vec<TreeRequest>, bool)>,
    more: Condvar,
}

type TreeRequest = (BlobId, SyncSender<Result<Tree, String>>);

impl TreeQueue {
    /// Asks for `requests`, the first one to be served first.
    fn push(&self, mut requests: Vec<TreeRequest>) {
        requests.reverse();
        self.state
            .lock()
            .expect("tree queue lock")
            .0
            .extend(requests);
        self.more.notify_one();
    }

    fn close(&self) {
        self.state.lock().expect("tree queue lock").1 = true;
        self.more.notify_all();
    }

    /// Serves requests until closed; returns the time spent loading.
    fn serve(&self, repo: &Repository) -> Duration {
        let mut busy = Duration::ZERO;
        loop {
            let (id, reply) = {
                let mut s = self.state.lock().expect("tree queue lock");
                loop {
                    if let Some(r) = s.0.pop() {
                        break r;
                    }
                    if s.1 {
                        return busy;
                    }
                    s = self.more.wait(s).expect("tree queue lock");
                }
            };
            let t = Instant::now();
            let tree = repo.load_tree(&id).map_err(|e| e.to_string());
            busy += t.elapsed();
            let _ = reply.send(tree);
        }
    }
}

/// A directory and its entries, sorted by name: name, type, and size and mtime for files.
type Listing = (
    PathBuf,
    Vec<(String, std::fs::FileType, Option<(u64, i64)>)>,
);

/// Lists `dir` and, depth first in name order (the walk's order), every directory under it,
/// sending each listing as soon as it is made: run on a thread of its own, from before the
/// repository is opened, so listing and `stat`-ing overlap with opening it and with loading
/// the parent's trees. `out` is bounded ([`LISTINGS_AHEAD`]).
fn list(dir: &Path, out: &SyncSender<Result<Listing, String>>) -> bool {
    let listed = (|| -> std::io::Result<Listing> {
        let mut entries = Vec::new();
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let ft = entry.file_type()?;
            // Relative to the open folder (fstatat): no walk of the whole path per file.
            let meta = if ft.is_file() {
                let m = entry.metadata()?;
                Some((m.len(), mtime_ns(&m)))
            } else {
                None
            };
            entries.push((name, ft, meta));
        }
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        Ok((dir.to_path_buf(), entries))
    })();
    let (dirs, ok) = match listed {
        Ok(l) => {
            let dirs: Vec<PathBuf> =
                l.1.iter()
                    .filter(|e| e.1.is_dir())
                    .map(|e| dir.join(&e.0))
                    .collect();
            (dirs, out.send(Ok(l)).is_ok())
        }
        Err(e) => {
            let _ = out.send(Err(format!("{}: {e}", dir.display())));
            return false;
        }
    };
    ok && dirs.iter().all(|d| list(d, out))
}

/// A directory's tree in the parent snapshot.
enum ParentTree {
    Loaded(Tree),
    Loading(Receiver<Result<Tree, String>>),
}

/// A directory being walked: the parent snapshot's node and tree for it, and, while nothing
/// in it has been found changed, the events held back. Held events are sent once something
/// changes; a directory found unchanged throughout becomes one [`Event::Unchanged`] instead,
/// so the writer neither receives its files nor stores its tree again.
struct Level {
    parent: Option<(Node, Tree)>,
    /// The subdirectories' trees being loaded, by their index in the parent tree.
    subtrees: HashMap<usize, Receiver<Result<Tree, String>>>,
    held: Option<Vec<Held>>,
    /// Files in it, counting those of unchanged subdirectories.
    files: u64,
}

enum Held {
    /// The unchanged file at this index of the level's parent tree.
    File(usize),
    Event(Event),
}

impl Walker {
    /// Sends `ev`, or holds it back while the innermost directory may still be unchanged.
    fn send(&mut self, ev: Event) -> Res<()> {
        match self.levels.last_mut().and_then(|l| l.held.as_mut()) {
            Some(held) => held.push(Held::Event(ev)),
            None => self.events.send(ev)?,
        }
        Ok(())
    }

    /// Something in the innermost directory changed, so it and every directory around it
    /// did: sends what they held back, outermost first, and holds nothing more for them.
    fn changed(&mut self) -> Res<()> {
        for level in &mut self.levels {
            let Some(held) = level.held.take() else {
                continue;
            };
            for h in held {
                let ev = match h {
                    Held::Event(ev) => ev,
                    Held::File(i) => {
                        let (_, tree) = level.parent.as_ref().expect("held levels have a parent");
                        Event::Reused(Box::new(tree.nodes[i].clone()))
                    }
                };
                self.events.send(ev)?;
            }
        }
        Ok(())
    }

    /// Walks `dir`; `parent` is the parent snapshot's node for it and its tree (being loaded
    /// while the directory is listed).
    fn walk(&mut self, dir: &Path, name: String, parent: Option<(Node, ParentTree)>) -> Res<()> {
        let t = Instant::now();
        let (listed, entries) = self.listings.recv().map_err(|_| "the lister stopped")??;
        if listed != dir {
            return Err(format!(
                "lister and walker disagree: {} against {}",
                listed.display(),
                dir.display()
            )
            .into());
        }
        self.wait_listings += t.elapsed();
        let parent = match parent {
            None => None,
            Some((node, ParentTree::Loaded(tree))) => Some((node, tree)),
            Some((node, ParentTree::Loading(rx))) => {
                let t = Instant::now();
                let tree = rx.recv().map_err(|_| "the tree loader stopped")??;
                self.wait_trees += t.elapsed();
                Some((node, tree))
            }
        };
        let held = match parent {
            Some(_) => Some(vec![Held::Event(Event::Enter(name))]),
            None => {
                self.changed()?;
                self.events.send(Event::Enter(name))?;
                None
            }
        };
        let mut subtrees = HashMap::new();
        if let Some((_, tree)) = &parent {
            let mut requests = Vec::new();
            for (i, n) in tree.nodes.iter().enumerate() {
                if let (NodeKind::Dir, Some(id)) = (n.kind, &n.subtree) {
                    let (tx, rx) = sync_channel(1);
                    requests.push((*id, tx));
                    subtrees.insert(i, rx);
                }
            }
            self.trees.push(requests);
        }
        self.levels.push(Level {
            parent,
            subtrees,
            held,
            files: 0,
        });
        let mut matched = 0;
        for (name, ft, meta) in entries {
            let level = self.levels.last_mut().expect("a level per directory");
            let old = level.parent.as_ref().and_then(|(_, t)| {
                let i = t
                    .nodes
                    .binary_search_by(|n| n.name.as_str().cmp(&name))
                    .ok()?;
                Some((i, &t.nodes[i]))
            });
            if ft.is_dir() {
                let subtree = match old {
                    Some((i, n)) if n.kind == NodeKind::Dir => {
                        matched += 1;
                        level
                            .subtrees
                            .remove(&i)
                            .map(|rx| (n.clone(), ParentTree::Loading(rx)))
                    }
                    _ => None,
                };
                self.walk(&dir.join(&name), name, subtree)?;
            } else if let Some((size, mtime_ns)) = meta {
                level.files += 1;
                match old {
                    Some((i, n)) if unchanged(n, size, mtime_ns) => {
                        matched += 1;
                        match level.held.as_mut() {
                            Some(held) => held.push(Held::File(i)),
                            None => self.events.send(Event::Reused(Box::new(n.clone())))?,
                        }
                    }
                    _ => {
                        self.changed()?;
                        let buffer = self.budget.acquire(size);
                        let seq = self.next_seq;
                        self.next_seq += 1;
                        self.jobs.send(Job {
                            seq,
                            path: dir.join(&name),
                            size,
                            buffer,
                        })?;
                        self.events.send(Event::Read {
                            name,
                            size,
                            mtime_ns,
                            seq,
                        })?;
                    }
                }
            }
        }
        let level = self.levels.last().expect("a level per directory");
        let gone = level
            .parent
            .as_ref()
            .is_some_and(|(_, t)| matched != t.nodes.len());
        if gone {
            self.changed()?;
        }
        let level = self.levels.pop().expect("a level per directory");
        match (level.held, level.parent) {
            (Some(_), Some((node, _))) => {
                if let Some(outer) = self.levels.last_mut() {
                    outer.files += level.files;
                }
                self.send(Event::Unchanged {
                    node: Box::new(node),
                    files: level.files,
                })
            }
            _ => Ok(self.events.send(Event::Exit)?),
        }
    }
}

fn worker(repo: Repository, jobs: Arc<Mutex<Receiver<Job>>>, done: Sender<Done>, prepare: bool) {
    loop {
        let job = match jobs.lock().expect("job queue lock").recv() {
            Ok(j) => j,
            Err(_) => return,
        };
        let t0 = Instant::now();
        let mut data = job.buffer;
        data.clear();
        let read = std::fs::File::open(&job.path).and_then(|mut f| {
            data.reserve(job.size as usize);
            f.read_to_end(&mut data)
        });
        let read_time = t0.elapsed();
        let t1 = Instant::now();
        let result = read
            .map(|_| {
                chunk_boundaries(&data)
                    .map(|(s, e)| {
                        let id = repo.blob_id(&data[s..e]);
                        let p = (prepare && !repo.has_blob(&id))
                            .then(|| repo.prepare_blob(BlobType::Data, &data[s..e]));
                        (s, e, id, p)
                    })
                    .collect()
            })
            .map_err(|e| format!("{}: {e}", job.path.display()));
        let hash = t1.elapsed();
        if done
            .send(Done {
                seq: job.seq,
                data,
                result,
                read: read_time,
                hash,
            })
            .is_err()
        {
            return;
        }
    }
}

#[derive(Default)]
struct Counts {
    files: u64,
    files_read: u64,
    files_reused: u64,
    dirs: u64,
    dirs_unchanged: u64,
    bytes_read: u64,
    chunks_known: u64,
    chunks_new: u64,
    wait: Duration,
    wait_walker: Duration,
    save: Duration,
    trees: Duration,
    read: Duration,
    hash: Duration,
}

fn run(args: Args) -> Res<serde_json::Value> {
    let started = Instant::now();
    // At most LISTINGS_AHEAD directories listed ahead of the walker: memory stays flat.
    let (listings_tx, listings) = sync_channel(LISTINGS_AHEAD);
    let lister = {
        let source = args.source.clone();
        std::thread::Builder::new()
            .name("qcb-lister".into())
            .spawn(move || list(&source, &listings_tx))?
    };
    let fresh = !args.repo.exists() || std::fs::read_dir(&args.repo)?.next().is_none();
    let (repo, key, keychain, remember) = open(&args, fresh)?;
    let t_open = started.elapsed();
    let lock = repo.lock(LockKind::Shared)?;
    let t_lock = started.elapsed();
    let parent = repo
        .list_snapshots()?
        .into_iter()
        .rev()
        .find(|s| s.tags.iter().any(|t| t == TAG));
    let parent_tree = match &parent {
        Some(s) => Some((
            Node::dir(String::new(), s.tree, json!({})),
            ParentTree::Loaded(repo.load_tree(&s.tree)?),
        )),
        None => None,
    };
    let opened = started.elapsed();

    let (ev_tx, ev_rx) = sync_channel::<Event>(4096);
    let (job_tx, job_rx) = channel::<Job>();
    let (done_tx, done_rx) = channel::<Done>();
    let budget = Arc::new(Budget::new(args.budget, args.buffers));
    let job_rx = Arc::new(Mutex::new(job_rx));
    let workers: Vec<std::thread::JoinHandle<()>> = (0..args.workers)
        .map(|i| {
            let (repo, jobs, done) = (repo.clone(), job_rx.clone(), done_tx.clone());
            // Hash and compress on the reader threads (QCB_BENCH_NO_PREPARE=1: on the writer).
            let prepare = std::env::var_os("QCB_BENCH_NO_PREPARE").is_none();
            std::thread::Builder::new()
                .name(format!("qcb-reader-{i}"))
                .spawn(move || worker(repo, jobs, done, prepare))
        })
        .collect::<Result<_, _>>()?;
    drop(done_tx);
    let trees = Arc::new(TreeQueue::default());
    let loaders: Vec<std::thread::JoinHandle<Duration>> = (0..TREE_LOADERS)
        .map(|i| {
            let (repo, trees) = (repo.clone(), trees.clone());
            std::thread::Builder::new()
                .name(format!("qcb-tree-loader-{i}"))
                .spawn(move || trees.serve(&repo))
        })
        .collect::<Result<_, _>>()?;
    let walker = {
        let mut w = Walker {
            trees: trees.clone(),
            listings,
            events: ev_tx,
            jobs: job_tx,
            budget: budget.clone(),
            next_seq: 0,
            levels: Vec::new(),
            wait_listings: Duration::ZERO,
            wait_trees: Duration::ZERO,
        };
        let source = args.source.clone();
        std::thread::Builder::new()
            .name("qcb-walker".into())
            .spawn(move || {
                if let Err(e) = w.walk(&source, String::new(), parent_tree) {
                    let _ = w.events.send(Event::Failed(e.to_string()));
                }
                (w.wait_listings, w.wait_trees)
            })?
    };

    let mut writer = repo.writer();
    let mut c = Counts::default();
    let mut stack: Vec<(String, Vec<Node>)> = Vec::new();
    let mut ready: BTreeMap<u64, Done> = BTreeMap::new();
    let mut root = None;
    loop {
        let t = Instant::now();
        let Ok(ev) = ev_rx.recv() else { break };
        c.wait_walker += t.elapsed();
        match ev {
            Event::Enter(name) => stack.push((name, Vec::new())),
            Event::Unchanged { node, files } => {
                c.files += files;
                c.files_reused += files;
                c.dirs_unchanged += 1;
                match stack.last_mut() {
                    Some(parent) => parent.1.push(*node),
                    None => root = Some(node.subtree.ok_or("the parent's root has no tree")?),
                }
            }
            Event::Reused(node) => {
                c.files += 1;
                c.files_reused += 1;
                stack
                    .last_mut()
                    .ok_or("file outside a directory")?
                    .1
                    .push(*node);
            }
            Event::Read {
                name,
                size,
                mtime_ns,
                seq,
            } => {
                c.files += 1;
                let node = {
                    let t = Instant::now();
                    let done = loop {
                        if let Some(d) = ready.remove(&seq) {
                            break d;
                        }
                        let d = done_rx.recv().map_err(|_| "workers stopped")?;
                        ready.insert(d.seq, d);
                    };
                    c.wait += t.elapsed();
                    c.read += done.read;
                    c.hash += done.hash;
                    let (data, chunks) = (done.data, done.result?);
                    let t = Instant::now();
                    let mut ids = Vec::with_capacity(chunks.len());
                    for (s, e, id, prepared) in chunks {
                        if writer.contains(&id) {
                            c.chunks_known += 1;
                        } else if let Some(p) = prepared {
                            writer.save_prepared(p)?;
                            c.chunks_new += 1;
                        } else {
                            let stored = writer.save_data(&data[s..e])?;
                            debug_assert_eq!(stored, id);
                            c.chunks_new += 1;
                        }
                        ids.push(id);
                    }
                    c.save += t.elapsed();
                    c.files_read += 1;
                    let len = data.len() as u64;
                    c.bytes_read += len;
                    budget.release(size, data);
                    Node::item(
                        name,
                        ids,
                        len,
                        None,
                        json!({ "size": size, "mtime": mtime_ns }),
                    )
                };
                stack
                    .last_mut()
                    .ok_or("file outside a directory")?
                    .1
                    .push(node);
            }
            Event::Exit => {
                let (name, nodes) = stack.pop().ok_or("unbalanced walk")?;
                let t = Instant::now();
                let id = writer.save_tree(&Tree { nodes })?;
                c.trees += t.elapsed();
                c.dirs += 1;
                match stack.last_mut() {
                    Some(parent) => parent.1.push(Node::dir(name, id, json!({}))),
                    None => root = Some(id),
                }
            }
            Event::Failed(e) => return Err(e.into()),
        }
    }
    let walked = walker.join().map_err(|_| "walker panicked");
    trees.close();
    let (wait_listings, wait_trees) = walked?;
    lister.join().map_err(|_| "lister panicked")?;
    let mut load_trees = Duration::ZERO;
    for l in loaders {
        load_trees += l.join().map_err(|_| "tree loader panicked")?;
    }
    for w in workers {
        w.join().map_err(|_| "worker panicked")?;
    }
    let root = root.ok_or("the walk produced no root")?;
    let stats = writer.stats();
    let t = Instant::now();
    let mut meta = SnapshotMeta::new(root, "qcb-bench", chrono::Utc::now());
    meta.parent = parent.as_ref().map(|s| s.id.clone());
    meta.tags = vec![TAG.to_string()];
    meta.summary = json!({ "files": c.files, "files_read": c.files_read });
    let snap = writer.commit(meta)?;
    let commit = t.elapsed();
    if let Some(r) = remember {
        r.join().map_err(|_| "keychain writer panicked")??;
    }
    lock.release()?;
    let secs = |d: Duration| (d.as_secs_f64() * 1000.0).round() / 1000.0;
    Ok(json!({
        "snapshot": snap.id.0,
        "parent": parent.map(|s| s.id.0),
        "fresh_repository": fresh,
        "key": key,
        "workers": args.workers,
        "buffers": args.buffers,
        "files": c.files,
        "files_read": c.files_read,
        "files_reused": c.files_reused,
        "dirs": c.dirs,
        "dirs_unchanged": c.dirs_unchanged,
        "bytes_read": c.bytes_read,
        "chunks_new": c.chunks_new,
        "chunks_known": c.chunks_known,
        "blobs_new": stats.blobs_new,
        "bytes_stored": stats.bytes_stored,
        "packs": stats.packs,
        "seconds": {
            "total": secs(started.elapsed()),
            "open_and_lock": secs(opened),
            "open": secs(t_open),
            "keychain": secs(keychain),
            "lock": secs(t_lock - t_open),
            "parent": secs(opened - t_lock),
            "writer_waiting_for_workers": secs(c.wait),
            "writer_waiting_for_walker": secs(c.wait_walker),
            "walker_waiting_for_listings": secs(wait_listings),
            "walker_waiting_for_trees": secs(wait_trees),
            "tree_loader_busy": secs(load_trees),
            "writer_save_data": secs(c.save),
            "writer_save_tree": secs(c.trees),
            "commit": secs(commit),
            "workers_read": secs(c.read),
            "workers_chunk_and_hash": secs(c.hash),
        },
    }))
}

/// Creates or opens the repository; says how the key was obtained ("password": Argon2id,
/// "remembered": the keychain's remembered key).
/// Writing to the keychain (the password on the first run, a renewed remembered key) happens on
/// a thread of its own, joined at the end of the run: a set's password is in the keychain
/// before its first run, and storing the remembered key need not hold up the backup.
fn open(args: &Args, fresh: bool) -> Res<Opened> {
    use qcb_engine::secrets::{
        KeychainStore, SecretStore, remembered_key_entry, repository_password_entry,
    };
    let env = || {
        std::env::var(&args.password_env)
            .map_err(|_| format!("set the repository password in ${}", args.password_env))
    };
    let backend: Box<dyn Backend> = Box::new(LocalBackend::new(&args.repo));
    let Some(service) = &args.keychain else {
        let password = env()?;
        let repo = if fresh {
            Repository::init(backend, password.as_bytes(), KdfParams::default())?
        } else {
            Repository::open(backend, password.as_bytes())?
        };
        return Ok((repo, "password", Duration::ZERO, None));
    };
    let store = KeychainStore::new(service.as_str());
    let name = args.repo.display().to_string();
    let (password_entry, key_entry) = (
        repository_password_entry(&name),
        remembered_key_entry(&name),
    );
    // Both entries at once, as a set's run reads them: each read is a round trip to the
    // Secret Service.
    let t = Instant::now();
    let (password, remembered) = std::thread::scope(|scope| {
        let remembered = scope.spawn(|| store.get(&key_entry));
        let password = store.get(&password_entry);
        (password, remembered.join().expect("keychain read panicked"))
    });
    let keychain = t.elapsed();
    let (password, stored) = match password? {
        Some(p) => (p, true),
        None => (env()?, false),
    };
    let (repo, renewed) = if fresh {
        let r = Repository::init(backend, password.as_bytes(), KdfParams::default())?;
        let k = r.remembered_key(password.as_bytes());
        (r, Some(k))
    } else {
        let remembered = remembered?;
        match Repository::open_remembering(backend, password.as_bytes(), remembered.as_deref())? {
            (r, qcb_repo::Remembered::Used) => (r, None),
            (r, qcb_repo::Remembered::Renewed(k)) => (r, Some(k)),
        }
    };
    let how = if renewed.is_some() {
        "password"
    } else {
        "remembered"
    };
    let remember = (!stored || renewed.is_some()).then(|| {
        std::thread::spawn(move || -> Res<()> {
            if !stored {
                store.set(&password_entry, &password)?;
            }
            if let Some(k) = renewed {
                store.set_beside(&password_entry, &key_entry, k.expose())?;
            }
            Ok(())
        })
    });
    Ok((repo, how, keychain, remember))
}

/// The open repository, how its key was obtained, the time spent reading the keychain, and the
/// thread storing what is to be kept there.
type Opened = (
    Repository,
    &'static str,
    Duration,
    Option<std::thread::JoinHandle<Res<()>>>,
);

/// `qcb-bench init`: creates the repository (default Argon2id parameters) and, with
/// `--keychain`, keeps its password and remembered key there, as the desktop's "create a
/// repository" does before a set's first run. Not timed by the benchmark, like `restic init`.
fn init(args: Args) -> Res<serde_json::Value> {
    if args.repo.exists() && std::fs::read_dir(&args.repo)?.next().is_some() {
        return Err(format!("{} is not empty", args.repo.display()).into());
    }
    let (repo, _, _, remember) = open(&args, true)?;
    if let Some(r) = remember {
        r.join().map_err(|_| "keychain writer panicked")??;
    }
    Ok(json!({ "repository": repo.id(), "keychain": args.keychain.is_some() }))
}

/// Compares the newest snapshot with the folder: every file is an item with the same bytes.
fn verify(args: Args) -> Res<serde_json::Value> {
    let password = std::env::var(&args.password_env)
        .map_err(|_| format!("set the repository password in ${}", args.password_env))?;
    let repo = Repository::open_local(&args.repo, password.as_bytes())?;
    let snap = repo.find_snapshot("latest")?;
    let (mut files, mut bytes) = (0u64, 0u64);
    let mut stack = vec![(args.source.clone(), snap.tree)];
    while let Some((dir, tree_id)) = stack.pop() {
        let tree = repo.load_tree(&tree_id)?;
        let mut on_disk: Vec<String> = std::fs::read_dir(&dir)?
            .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect::<Result<_, _>>()?;
        on_disk.sort();
        let in_tree: Vec<&str> = tree.nodes.iter().map(|n| n.name.as_str()).collect();
        if on_disk != in_tree {
            return Err(format!("{}: names differ from the snapshot", dir.display()).into());
        }
        for node in tree.nodes {
            let path = dir.join(&node.name);
            match (node.kind, node.subtree) {
                (NodeKind::Dir, Some(sub)) => stack.push((path, sub)),
                (NodeKind::Item, _) => {
                    let stored = repo.read_content(&node.content)?;
                    if stored != std::fs::read(&path)? {
                        return Err(format!("{}: content differs", path.display()).into());
                    }
                    files += 1;
                    bytes += stored.len() as u64;
                }
                _ => return Err(format!("{}: bad node", path.display()).into()),
            }
        }
    }
    Ok(json!({ "snapshot": snap.id.0, "files_verified": files, "bytes_verified": bytes }))
}

/// `qcb-bench kdf`: times Argon2id with the default parameters, the fixed cost of opening a
/// repository (best of 5, after one warm-up).
fn kdf() -> Res<serde_json::Value> {
    let params = KdfParams::default();
    let salt = [7u8; 32];
    params.derive(b"password", &salt)?;
    let best = (0..5)
        .map(|_| {
            let t = Instant::now();
            params.derive(b"password", &salt).map(|_| t.elapsed())
        })
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .min()
        .unwrap_or_default();
    Ok(json!({ "params": params, "seconds": best.as_secs_f64() }))
}

fn main() {
    if std::env::args().nth(1).as_deref() == Some("kdf") {
        match kdf() {
            Ok(report) => println!("{report}"),
            Err(e) => {
                eprintln!("qcb-bench: {e}");
                std::process::exit(1);
            }
        }
        return;
    }
    let args = parse_args();
    let result = match args.command {
        Command::Init => init(args),
        Command::Ingest => run(args),
        Command::Verify => verify(args),
    };
    match result {
        Ok(report) => println!("{report}"),
        Err(e) => {
            eprintln!("qcb-bench: {e}");
            std::process::exit(1);
        }
    }
}
