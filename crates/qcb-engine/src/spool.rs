//! The resume spool: what a running backup has downloaded but no snapshot holds yet.
//!
//! A backup writes items into packs, and packs become durable in batches (an index file every
//! few packs or minute). A backup killed between two batches (SIGKILL, power cut, a laptop
//! closed) would have to download again everything since the last batch. So each downloaded
//! message is also written here at once — its MIME, properties and the node that names its
//! blobs, compressed and encrypted under the repository's master key
//! (`Repository::seal_local`) — in a SQLite file in the local cache. The next run takes an item it finds here with
//! the same `changeKey` instead of downloading it: the node as is when its blobs reached the
//! repository, or the spooled bytes otherwise. Payloads are dropped as soon as their blobs are
//! durable, so the spool stays about as small as one batch; a committed snapshot clears it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use qcb_repo::{Node, Repository};
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::Value;

use crate::error::{EngineError, Result};

/// Payloads are checked for durability after this many new entries.
const TRIM_EVERY: usize = 128;

pub(crate) struct Spool {
    conn: Mutex<Connection>,
    repo: Repository,
    path: PathBuf,
    puts: AtomicUsize,
}

/// An item found in the spool.
#[derive(Clone)]
pub(crate) struct Spooled {
    pub change_key: String,
    pub node: Node,
}

impl Spool {
    /// Opens (creating) the spool of `repo` in `dir`.
    pub fn open(dir: &Path, repo: &Repository) -> Result<Spool> {
        let path = dir.join(format!("spool-{}.db", repo.id()));
        let err = |e: rusqlite::Error| {
            EngineError::Database(format!("resume spool {}: {e}", path.display()))
        };
        std::fs::create_dir_all(dir)
            .map_err(|e| EngineError::Database(format!("creating {}: {e}", dir.display())))?;
        let conn = Connection::open(&path).map_err(err)?;
        conn.busy_timeout(std::time::Duration::from_secs(30))
            .map_err(err)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(err)?;
        // A committed insert survives the process being killed; NORMAL in WAL mode can lose
        // the last ones on a power cut, which only means downloading them again.
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(err)?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS items (
                 mailbox TEXT NOT NULL,
                 item_id TEXT NOT NULL,
                 change_key TEXT NOT NULL,
                 node BLOB NOT NULL,
                 props BLOB,
                 mime BLOB,
                 PRIMARY KEY (mailbox, item_id));
             -- The entries whose payload is still held: what `trim_durable` looks at every
             -- few puts. Without it each look read the whole table, which keeps a node for
             -- every item of the run: quadratic in the run's size (the 100 x 10,000 load
             -- run slowed from 610 to 200 items/s, reading the spool).
             CREATE INDEX IF NOT EXISTS pending ON items (mailbox, item_id)
                 WHERE mime IS NOT NULL;",
        )
        .map_err(err)?;
        Ok(Spool {
            conn: Mutex::new(conn),
            repo: repo.clone(),
            path,
            puts: AtomicUsize::new(0),
        })
    }

    fn with<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T> {
        let conn = self
            .conn
            .lock()
            .map_err(|_| EngineError::Internal("spool lock poisoned".into()))?;
        f(&conn).map_err(|e| {
            EngineError::Database(format!("resume spool {}: {e}", self.path.display()))
        })
    }

    /// What an earlier, unfinished run left for this mailbox, by item id.
    pub fn entries(&self, mailbox: &str) -> Result<HashMap<String, Spooled>> {
        let rows: Vec<(String, String, Vec<u8>)> = self.with(|c| {
            let mut st =
                c.prepare("SELECT item_id, change_key, node FROM items WHERE mailbox = ?1")?;
            st.query_map([mailbox], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect()
        })?;
        // An entry that does not open (another repository's, or damaged) is ignored: the item
        // is downloaded again.
        Ok(rows
            .into_iter()
            .filter_map(|(id, change_key, node)| {
                let node = self.node(&node)?;
                Some((id, Spooled { change_key, node }))
            })
            .collect())
    }

    fn node(&self, sealed: &[u8]) -> Option<Node> {
        serde_json::from_slice(&self.repo.unseal_local(sealed).ok()?).ok()
    }

    /// Records a downloaded item. Blocking.
    pub fn put(
        &self,
        mailbox: &str,
        item_id: &str,
        change_key: &str,
        node: &Node,
        props: &Value,
        mime: &[u8],
    ) -> Result<()> {
        // The node's attributes hold the subject and sender: sealed like the rest.
        let node = self
            .repo
            .seal_local(&serde_json::to_vec(node).expect("nodes serialise"));
        let props = self
            .repo
            .seal_local(&serde_json::to_vec(props).expect("json"));
        let mime = self.repo.seal_local(mime);
        self.with(|c| {
            c.execute(
                "INSERT OR REPLACE INTO items (mailbox, item_id, change_key, node, props, mime)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![mailbox, item_id, change_key, node, props, mime],
            )
        })?;
        if self.puts.fetch_add(1, Ordering::Relaxed) % TRIM_EVERY == TRIM_EVERY - 1 {
            self.trim_durable()?;
        }
        Ok(())
    }

    /// The spooled properties and MIME of an item, if still there. Blocking.
    pub fn payload(&self, mailbox: &str, item_id: &str) -> Result<Option<(Value, Vec<u8>)>> {
        type Sealed = Option<Vec<u8>>;
        let row: Option<(Sealed, Sealed)> = self.with(|c| {
            c.query_row(
                "SELECT props, mime FROM items WHERE mailbox = ?1 AND item_id = ?2",
                params![mailbox, item_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
        })?;
        let Some((Some(props), Some(mime))) = row else {
            return Ok(None);
        };
        let props = serde_json::from_slice(&self.repo.unseal_local(&props)?)
            .map_err(|e| EngineError::Internal(format!("spooled properties: {e}")))?;
        Ok(Some((props, self.repo.unseal_local(&mime)?)))
    }

    /// Drops the payloads whose blobs are in the repository's index now. Blocking.
    pub fn trim_durable(&self) -> Result<usize> {
        let rows: Vec<(String, String, Vec<u8>)> = self.with(|c| {
            let mut st = c.prepare(
                "SELECT mailbox, item_id, node FROM items INDEXED BY pending
                     WHERE mime IS NOT NULL",
            )?;
            st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect()
        })?;
        let durable: Vec<(String, String)> = rows
            .into_iter()
            .filter(|(_, _, node)| {
                self.node(node)
                    .is_some_and(|n| n.data_blobs().all(|b| self.repo.has_blob(b)))
            })
            .map(|(m, i, _)| (m, i))
            .collect();
        self.with(|c| {
            for (m, i) in &durable {
                c.execute(
                    "UPDATE items SET props = NULL, mime = NULL WHERE mailbox = ?1 AND item_id = ?2",
                    params![m, i],
                )?;
            }
            Ok(())
        })?;
        Ok(durable.len())
    }

    /// Forgets the mailboxes a committed snapshot now holds. Blocking.
    pub fn clear(&self, mailboxes: &[String]) -> Result<()> {
        self.with(|c| {
            for m in mailboxes {
                c.execute("DELETE FROM items WHERE mailbox = ?1", [m])?;
            }
            Ok(())
        })?;
        self.with(|c| c.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)"))
    }
}

#[cfg(test)]
mod tests {
    use qcb_repo::{BlobId, KdfParams, Location, NodeKind};

    use super::*;

    fn item(name: &str, content: Vec<BlobId>) -> Node {
        Node {
            name: name.into(),
            kind: NodeKind::Item,
            subtree: None,
            content,
            meta: None,
            size: 1,
            attrs: serde_json::json!({}),
        }
    }

    #[test]
    fn trimming_drops_durable_payloads_and_reads_only_the_pending_entries() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init_at(
            &Location::Local(dir.path().join("repo")),
            b"pw",
            KdfParams::insecure_for_tests(),
        )
        .unwrap();
        let spool = Spool::open(&dir.path().join("cache"), &repo).unwrap();
        // A node without data blobs is durable at once; one naming a blob the repository
        // does not hold is not.
        let props = serde_json::json!({"subject": "s"});
        spool
            .put("m", "a", "ck1", &item("a", vec![]), &props, b"mime a")
            .unwrap();
        spool
            .put(
                "m",
                "b",
                "ck2",
                &item("b", vec![BlobId([7; 32])]),
                &props,
                b"mime b",
            )
            .unwrap();
        assert_eq!(spool.trim_durable().unwrap(), 1);
        assert!(spool.payload("m", "a").unwrap().is_none());
        assert_eq!(spool.payload("m", "b").unwrap().unwrap().1, b"mime b");
        // Both nodes stay (a killed run resumes from them); a second trim finds nothing new.
        assert_eq!(spool.entries("m").unwrap().len(), 2);
        assert_eq!(spool.trim_durable().unwrap(), 0);
        // The look goes through the index of pending entries, not over the whole table.
        let plan: String = spool
            .with(|c| {
                c.query_row(
                    "EXPLAIN QUERY PLAN SELECT mailbox, item_id, node FROM items \
                     INDEXED BY pending WHERE mime IS NOT NULL",
                    [],
                    |r| r.get(3),
                )
            })
            .unwrap();
        assert!(plan.contains("USING INDEX pending"), "{plan}");
    }
}
