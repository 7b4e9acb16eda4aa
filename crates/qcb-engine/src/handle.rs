use std::path::{Path, PathBuf};
use std::sync::Mutex;

use qcb_repo::{Catalog, KdfParams, Location, NodeKind, Repository, SnapshotId};

use crate::error::{EngineError, Result};
use crate::types::{AttachmentInfo, Browse, FolderEntry, ItemEntry, ItemPreview, SnapshotInfo};

/// An open repository with its local catalog. Its methods block (disk, SQLite, crypto): call
/// them from `spawn_blocking` in async code.
pub struct RepoHandle {
    repo: Repository,
    catalog: Mutex<Catalog>,
    /// The search index (`search.sqlite` beside the catalog), opened on first use.
    search: Mutex<Option<crate::search::SearchIndex>>,
    search_path: PathBuf,
}

impl std::fmt::Debug for RepoHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RepoHandle")
            .field("repo", &self.repo)
            .finish()
    }
}

impl RepoHandle {
    /// Creates a repository in an empty or missing folder.
    pub fn create(
        path: &Path,
        password: &str,
        kdf: KdfParams,
        cache_root: &Path,
    ) -> Result<RepoHandle> {
        Self::create_at(
            &Location::Local(path.to_path_buf()),
            password,
            kdf,
            cache_root,
        )
    }

    /// Creates a repository at a location: an empty or missing folder, or an S3 bucket prefix
    /// holding nothing yet.
    pub fn create_at(
        location: &Location,
        password: &str,
        kdf: KdfParams,
        cache_root: &Path,
    ) -> Result<RepoHandle> {
        let repo = Repository::init_at(location, password.as_bytes(), kdf)?;
        Self::with_catalog(repo, cache_root)
    }

    pub fn open(path: &Path, password: &str, cache_root: &Path) -> Result<RepoHandle> {
        Self::open_at(&Location::Local(path.to_path_buf()), password, cache_root)
    }

    /// Opens the repository at a location (a folder or an S3 bucket prefix).
    pub fn open_at(location: &Location, password: &str, cache_root: &Path) -> Result<RepoHandle> {
        let repo = Repository::open_at(location, password.as_bytes())?;
        Self::with_catalog(repo, cache_root)
    }

    /// Opens the repository at a location with the key remembered from an earlier open when
    /// it still applies (no key derivation; see [`qcb_repo::RememberedKey`]). Returns the key
    /// to remember instead when it did not (none, or it no longer fits).
    pub fn open_remembering(
        location: &Location,
        password: &str,
        remembered: Option<&str>,
        cache_root: &Path,
    ) -> Result<(RepoHandle, Option<qcb_repo::RememberedKey>)> {
        let (repo, how) =
            Repository::open_at_remembering(location, password.as_bytes(), remembered)?;
        let renewed = match how {
            qcb_repo::Remembered::Used => None,
            qcb_repo::Remembered::Renewed(k) => Some(k),
        };
        Ok((Self::with_catalog(repo, cache_root)?, renewed))
    }

    fn with_catalog(repo: Repository, cache_root: &Path) -> Result<RepoHandle> {
        let catalog = Catalog::open(&Self::catalog_path(cache_root, repo.id()), repo.id())?;
        Ok(RepoHandle {
            search_path: cache_root.join(repo.id()).join("search.sqlite"),
            repo,
            catalog: Mutex::new(catalog),
            search: Mutex::new(None),
        })
    }

    /// Where the catalog of a repository lives under a cache folder.
    pub fn catalog_path(cache_root: &Path, repo_id: &str) -> PathBuf {
        cache_root.join(repo_id).join("catalog.sqlite")
    }

    pub fn repository(&self) -> &Repository {
        &self.repo
    }

    pub(crate) fn catalog(&self) -> Result<std::sync::MutexGuard<'_, Catalog>> {
        self.catalog
            .lock()
            .map_err(|_| EngineError::Internal("catalog lock poisoned".into()))
    }

    /// The search index, opened (created) on first use.
    pub(crate) fn search_index(
        &self,
    ) -> Result<std::sync::MutexGuard<'_, Option<crate::search::SearchIndex>>> {
        let mut slot = self
            .search
            .lock()
            .map_err(|_| EngineError::Internal("search index lock poisoned".into()))?;
        if slot.is_none() {
            *slot = Some(crate::search::SearchIndex::open(&self.search_path)?);
        }
        Ok(slot)
    }

    /// Every snapshot, oldest first (brings the catalog up to date first).
    pub fn snapshots(&self) -> Result<Vec<SnapshotInfo>> {
        let mut cat = self.catalog()?;
        cat.sync(&self.repo)?;
        Ok(cat
            .snapshots()?
            .into_iter()
            .map(|s| {
                let sum = &s.summary;
                SnapshotInfo {
                    short_id: s.id.short().to_string(),
                    id: s.id.0,
                    time: s.time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    hostname: s.hostname,
                    mailboxes: sum["mailboxes"]
                        .as_array()
                        .map(|a| {
                            a.iter()
                                .filter_map(|m| m.as_str().map(str::to_string))
                                .collect()
                        })
                        .unwrap_or_default(),
                    item_count: sum["items"].as_u64().unwrap_or(0),
                    size_bytes: sum["bytes"].as_u64().unwrap_or(0),
                }
            })
            .collect())
    }

    /// Throws the local catalog away and rebuilds it from the repository alone (as on a new
    /// machine). Returns how many snapshots it now holds.
    pub fn rebuild_catalog(&self) -> Result<usize> {
        // The search index goes too (it is rebuilt on the next search). Its lock is taken
        // before the catalog's, never while holding it, as `search` does.
        if let Some(idx) = self.search_index()?.as_mut() {
            idx.clear()?;
        }
        let mut cat = self.catalog()?;
        cat.clear()?;
        Ok(cat.sync(&self.repo)?)
    }

    /// A message as the preview pane shows it. `path` is the item's browse path: its folder's
    /// path, then the item id (`/mailbox/Inbox/<id>`).
    pub fn item_preview(&self, snapshot: &str, path: &str) -> Result<ItemPreview> {
        let snap = self.repo.find_snapshot(snapshot.trim())?;
        let names = qcb_repo::split_path(path);
        let not_found = || {
            EngineError::Repo(qcb_repo::Error::PathNotFound {
                snapshot: snap.id.short().to_string(),
                path: path.to_string(),
                what: "message",
            })
        };
        let Some((item, dirs)) = names.split_last() else {
            return Err(not_found());
        };
        let mut tree = self.repo.load_tree(&snap.tree)?;
        for d in dirs {
            let sub = tree
                .get(d)
                .filter(|n| n.kind == NodeKind::Dir)
                .and_then(|n| n.subtree)
                .ok_or_else(not_found)?;
            tree = self.repo.load_tree(&sub)?;
        }
        let node = tree
            .get(item)
            .filter(|n| n.kind == NodeKind::Item)
            .ok_or_else(not_found)?;
        let props: serde_json::Value = match node.meta {
            Some(m) => serde_json::from_slice(&self.repo.read_data(&m)?).unwrap_or_default(),
            None => serde_json::Value::Null,
        };
        let raw = self.repo.read_content(&node.content)?;
        if let Some(kind) = node.attrs["kind"].as_str() {
            // Contacts, events, tasks and settings are stored as Graph JSON: shown as text.
            let value: serde_json::Value = serde_json::from_slice(&raw).unwrap_or_default();
            return Ok(ItemPreview {
                subject: node.attrs["subject"].as_str().unwrap_or(kind).to_string(),
                from: node.attrs["from"].as_str().unwrap_or("").to_string(),
                to: vec![],
                cc: vec![],
                date: node.attrs["receivedDateTime"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
                html: None,
                text: Some(serde_json::to_string_pretty(&value).unwrap_or_default()),
                attachments: vec![],
            });
        }
        let parts = crate::mime::split(&raw).map_err(EngineError::InvalidInput)?;
        let address = |v: &serde_json::Value| {
            let a = &v["emailAddress"];
            match (a["name"].as_str(), a["address"].as_str()) {
                (Some(n), Some(addr)) if !n.is_empty() && n != addr => format!("{n} <{addr}>"),
                (_, Some(addr)) => addr.to_string(),
                (Some(n), None) => n.to_string(),
                _ => String::new(),
            }
        };
        let list = |key: &str| -> Vec<String> {
            props[key]
                .as_array()
                .map(|a| a.iter().map(address).filter(|s| !s.is_empty()).collect())
                .unwrap_or_default()
        };
        let is_html = parts.body_type == "html";
        let body = cut_for_preview(parts.body, is_html);
        let (html, text) = if is_html {
            (Some(body), None)
        } else {
            (None, Some(body))
        };
        Ok(ItemPreview {
            subject: props["subject"]
                .as_str()
                .or(node.attrs["subject"].as_str())
                .unwrap_or("")
                .to_string(),
            from: address(&props["from"]),
            to: list("toRecipients"),
            cc: list("ccRecipients"),
            date: props["receivedDateTime"]
                .as_str()
                .or(node.attrs["receivedDateTime"].as_str())
                .unwrap_or("")
                .to_string(),
            html,
            text,
            attachments: parts
                .attachments
                .into_iter()
                .filter(|a| !a.is_inline)
                .map(|a| AttachmentInfo {
                    name: a.name,
                    size: a.bytes.len() as u64,
                    content_type: a.content_type,
                })
                .collect(),
        })
    }

    /// Resolves `latest`, an id or a unique id prefix to a full snapshot id.
    pub fn resolve_snapshot(&self, spec: &str) -> Result<SnapshotId> {
        Ok(self.repo.find_snapshot(spec.trim())?.id)
    }

    /// The folders and items directly under `path` (`""` lists the mailboxes).
    pub fn browse(&self, snapshot: &str, path: &str) -> Result<Browse> {
        let id = self.resolve_snapshot(snapshot)?;
        let mut cat = self.catalog()?;
        cat.sync(&self.repo)?;
        let nodes = cat.list(&id, path)?;
        let base = qcb_repo::join_path(&qcb_repo::split_path(path));
        let mut folders = Vec::new();
        let mut items = Vec::new();
        for n in nodes {
            let a = &n.attrs;
            match n.kind {
                NodeKind::Dir => folders.push(FolderEntry {
                    path: format!("{base}{}", qcb_repo::join_path(&[&n.name])),
                    item_count: a["itemCount"].as_u64().unwrap_or(0),
                    child_count: a["childCount"].as_u64().unwrap_or(0),
                    name: n.name,
                }),
                NodeKind::Item => items.push(ItemEntry {
                    subject: a["subject"].as_str().unwrap_or("").to_string(),
                    from: a["from"].as_str().unwrap_or("").to_string(),
                    received_date_time: a["receivedDateTime"].as_str().unwrap_or("").to_string(),
                    size: n.size,
                    is_read: a["isRead"].as_bool().unwrap_or(false),
                    has_attachments: a["hasAttachments"].as_bool().unwrap_or(false),
                    id: n.name,
                }),
            }
        }
        items.sort_by(|a, b| {
            b.received_date_time
                .cmp(&a.received_date_time)
                .then_with(|| a.id.cmp(&b.id))
        });
        Ok(Browse {
            snapshot_id: id.0,
            path: base,
            folders,
            items,
        })
    }
}

/// The most of a message body a preview shows: more is of no use on screen and would stall
/// the webview (a hostile message can carry 100 MB on one line).
const PREVIEW_BODY_LIMIT: usize = 1024 * 1024;

/// `body`, cut to [`PREVIEW_BODY_LIMIT`] at a character boundary with a note saying so.
fn cut_for_preview(mut body: String, html: bool) -> String {
    if body.len() <= PREVIEW_BODY_LIMIT {
        return body;
    }
    let total = body.len();
    let mut end = PREVIEW_BODY_LIMIT;
    while !body.is_char_boundary(end) {
        end -= 1;
    }
    body.truncate(end);
    let note = format!(
        "Only the first {} MB of this {} MB body are shown; export or restore the message to \
         read all of it.",
        PREVIEW_BODY_LIMIT / (1024 * 1024),
        (total + 512 * 1024) / (1024 * 1024)
    );
    if html {
        body.push_str(&format!("<hr><p><em>{note}</em></p>"));
    } else {
        body.push_str(&format!("\n\n[{note}]"));
    }
    body
}
