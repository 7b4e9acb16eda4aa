//! The local SQLite catalog: a cache of snapshots and trees for fast listing and browsing.
//!
//! It holds nothing the repository does not: [`Catalog::sync`] adds whatever snapshots it is
//! missing by reading them (and their trees) from the repository, and drops those that are
//! gone, so deleting the catalog file loses nothing. Trees are stored once per tree id, so an
//! unchanged folder costs nothing in a new snapshot.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, params};

use crate::error::{Error, Result};
use crate::ids::{BlobId, SnapshotId};
use crate::repository::Repository;
use crate::tree::{Node, NodeKind};

const SCHEMA_VERSION: i64 = 1;

pub struct Catalog {
    conn: Connection,
    path: PathBuf,
}

#[derive(Debug, Clone)]
pub struct CatalogSnapshot {
    pub id: SnapshotId,
    pub time: chrono::DateTime<chrono::Utc>,
    pub hostname: String,
    pub tree: BlobId,
    pub summary: serde_json::Value,
}

/// `Debug` shows only the kind and size: names and attributes can hold mail metadata.
#[derive(Clone)]
pub struct CatalogNode {
    pub name: String,
    pub kind: NodeKind,
    pub subtree: Option<BlobId>,
    pub size: u64,
    pub attrs: serde_json::Value,
}

impl std::fmt::Debug for CatalogNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CatalogNode")
            .field("kind", &self.kind)
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

/// Splits a browse path (`/mailbox/Inbox/Sub`) into node names. A `/` or `%` inside a name is
/// written `%2F` / `%25`.
pub fn split_path(path: &str) -> Vec<String> {
    path.split('/')
        .filter(|c| !c.is_empty())
        .map(|c| {
            c.replace("%2F", "/")
                .replace("%2f", "/")
                .replace("%25", "%")
        })
        .collect()
}

/// The inverse of [`split_path`].
pub fn join_path<S: AsRef<str>>(names: &[S]) -> String {
    let mut out = String::new();
    for n in names {
        out.push('/');
        out.push_str(&n.as_ref().replace('%', "%25").replace('/', "%2F"));
    }
    out
}

impl Catalog {
    /// Opens (creating if needed) the catalog for one repository. A catalog that belongs to
    /// another repository or an older schema is emptied and rebuilt.
    pub fn open(path: &Path, repo_id: &str) -> Result<Catalog> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(Error::io("create folder", dir))?;
        }
        let err = |source| Error::Catalog {
            path: path.to_path_buf(),
            source,
        };
        let conn = Connection::open(path).map_err(err)?;
        conn.execute_batch(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;
             CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);",
        )
        .map_err(err)?;
        let stored_repo: Option<String> = conn
            .query_row("SELECT value FROM meta WHERE key='repo'", [], |r| r.get(0))
            .optional()
            .map_err(err)?;
        let stored_schema: Option<String> = conn
            .query_row("SELECT value FROM meta WHERE key='schema'", [], |r| {
                r.get(0)
            })
            .optional()
            .map_err(err)?;
        if stored_repo.as_deref() != Some(repo_id)
            || stored_schema.as_deref() != Some(&SCHEMA_VERSION.to_string())
        {
            conn.execute_batch(
                "DROP TABLE IF EXISTS snapshots; DROP TABLE IF EXISTS nodes; DROP TABLE IF EXISTS trees;",
            )
            .map_err(err)?;
        }
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS snapshots(
                 id TEXT PRIMARY KEY, time TEXT NOT NULL, hostname TEXT NOT NULL,
                 tree TEXT NOT NULL, summary TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS trees(id TEXT PRIMARY KEY);
             CREATE TABLE IF NOT EXISTS nodes(
                 tree TEXT NOT NULL REFERENCES trees(id) ON DELETE CASCADE,
                 name TEXT NOT NULL, kind TEXT NOT NULL, subtree TEXT,
                 size INTEGER NOT NULL, attrs TEXT NOT NULL,
                 PRIMARY KEY(tree, name)) WITHOUT ROWID;",
        )
        .map_err(err)?;
        conn.execute(
            "INSERT OR REPLACE INTO meta(key, value) VALUES('repo', ?1)",
            [repo_id],
        )
        .map_err(err)?;
        conn.execute(
            "INSERT OR REPLACE INTO meta(key, value) VALUES('schema', ?1)",
            [SCHEMA_VERSION.to_string()],
        )
        .map_err(err)?;
        Ok(Catalog {
            conn,
            path: path.to_path_buf(),
        })
    }

    fn err(&self) -> impl Fn(rusqlite::Error) -> Error + '_ {
        move |source| Error::Catalog {
            path: self.path.clone(),
            source,
        }
    }

    /// Empties the catalog; the next [`Catalog::sync`] rebuilds it from the repository alone.
    pub fn clear(&mut self) -> Result<()> {
        self.conn
            .execute_batch("DELETE FROM nodes; DELETE FROM trees; DELETE FROM snapshots;")
            .map_err(self.err())
    }

    /// Brings the catalog in line with the repository's snapshots. Returns how many were added.
    pub fn sync(&mut self, repo: &Repository) -> Result<usize> {
        let in_repo: HashSet<SnapshotId> = repo.snapshot_ids()?.into_iter().collect();
        let known: HashSet<SnapshotId> = {
            let mut st = self
                .conn
                .prepare("SELECT id FROM snapshots")
                .map_err(self.err())?;
            st.query_map([], |r| r.get::<_, String>(0))
                .map_err(self.err())?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(self.err())?
                .into_iter()
                .map(SnapshotId)
                .collect()
        };
        let path = self.path.clone();
        let err = move |source| Error::Catalog {
            path: path.clone(),
            source,
        };
        let tx = self.conn.transaction().map_err(err.clone())?;
        for gone in known.difference(&in_repo) {
            tx.execute("DELETE FROM snapshots WHERE id=?1", [&gone.0])
                .map_err(err.clone())?;
        }
        let mut added = 0;
        for id in in_repo.difference(&known) {
            let snap = repo.load_snapshot(id)?;
            add_tree(&tx, repo, &snap.tree, &err)?;
            tx.execute(
                "INSERT INTO snapshots(id, time, hostname, tree, summary) VALUES(?1, ?2, ?3, ?4, ?5)",
                params![snap.id.0, snap.time.to_rfc3339(), snap.hostname, snap.tree.to_hex(), snap.summary.to_string()],
            )
            .map_err(err.clone())?;
            added += 1;
        }
        tx.commit().map_err(err)?;
        Ok(added)
    }

    /// Snapshots in the catalog, oldest first.
    pub fn snapshots(&self) -> Result<Vec<CatalogSnapshot>> {
        let mut st = self
            .conn
            .prepare("SELECT id, time, hostname, tree, summary FROM snapshots ORDER BY time, id")
            .map_err(self.err())?;
        let rows = st
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                ))
            })
            .map_err(self.err())?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(self.err())?;
        rows.into_iter()
            .map(|(id, time, hostname, tree, summary)| {
                Ok(CatalogSnapshot {
                    time: chrono::DateTime::parse_from_rfc3339(&time)
                        .map_err(|e| {
                            Error::corrupt(self.path.display().to_string(), e.to_string())
                        })?
                        .to_utc(),
                    tree: tree
                        .parse()
                        .map_err(|e: String| Error::corrupt(self.path.display().to_string(), e))?,
                    summary: serde_json::from_str(&summary).unwrap_or_default(),
                    id: SnapshotId(id),
                    hostname,
                })
            })
            .collect()
    }

    /// The children of the directory at `path` in a snapshot, sorted by name.
    pub fn list(&self, snapshot: &SnapshotId, path: &str) -> Result<Vec<CatalogNode>> {
        let root: Option<String> = self
            .conn
            .query_row(
                "SELECT tree FROM snapshots WHERE id=?1",
                [&snapshot.0],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.err())?;
        let mut tree = root.ok_or_else(|| Error::SnapshotNotFound(snapshot.0.clone()))?;
        for name in split_path(path) {
            let sub: Option<Option<String>> = self
                .conn
                .query_row(
                    "SELECT subtree FROM nodes WHERE tree=?1 AND name=?2 AND kind='dir'",
                    params![tree, name],
                    |r| r.get(0),
                )
                .optional()
                .map_err(self.err())?;
            tree = sub.flatten().ok_or_else(|| Error::PathNotFound {
                snapshot: snapshot.short().into(),
                path: path.into(),
                what: "folder",
            })?;
        }
        let mut st = self
            .conn
            .prepare(
                "SELECT name, kind, subtree, size, attrs FROM nodes WHERE tree=?1 ORDER BY name",
            )
            .map_err(self.err())?;
        let rows = st
            .query_map([&tree], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, String>(4)?,
                ))
            })
            .map_err(self.err())?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(self.err())?;
        Ok(rows
            .into_iter()
            .map(|(name, kind, subtree, size, attrs)| CatalogNode {
                name,
                kind: if kind == "dir" {
                    NodeKind::Dir
                } else {
                    NodeKind::Item
                },
                subtree: subtree.and_then(|s| s.parse().ok()),
                size: size as u64,
                attrs: serde_json::from_str(&attrs).unwrap_or_default(),
            })
            .collect())
    }
}

fn add_tree(
    tx: &rusqlite::Transaction<'_>,
    repo: &Repository,
    id: &BlobId,
    err: &(impl Fn(rusqlite::Error) -> Error + Clone),
) -> Result<()> {
    let mut stack = vec![*id];
    while let Some(id) = stack.pop() {
        let hex = id.to_hex();
        let exists: bool = tx
            .query_row("SELECT 1 FROM trees WHERE id=?1", [&hex], |_| Ok(()))
            .optional()
            .map_err(err.clone())?
            .is_some();
        if exists {
            continue;
        }
        let tree = repo.load_tree(&id)?;
        tx.execute("INSERT INTO trees(id) VALUES(?1)", [&hex])
            .map_err(err.clone())?;
        let mut ins = tx.prepare_cached("INSERT INTO nodes(tree, name, kind, subtree, size, attrs) VALUES(?1, ?2, ?3, ?4, ?5, ?6)").map_err(err.clone())?;
        for Node {
            name,
            kind,
            subtree,
            size,
            attrs,
            ..
        } in &tree.nodes
        {
            let k = match kind {
                NodeKind::Dir => "dir",
                NodeKind::Item => "item",
            };
            ins.execute(params![
                hex,
                name,
                k,
                subtree.map(|s| s.to_hex()),
                *size as i64,
                attrs.to_string()
            ])
            .map_err(err.clone())?;
            if let Some(s) = subtree {
                stack.push(*s);
            }
        }
    }
    Ok(())
}
