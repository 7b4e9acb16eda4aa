//! The search index: one SQLite file beside the catalog (`search.sqlite`), with an FTS5 table
//! of item versions and the tables that say which snapshots and folders hold each version.
//!
//! Versions are keyed by the item's content blob ids (and node summary), so a message unchanged
//! across 100 snapshots is indexed once. Folders are keyed by their tree id, like the catalog: an
//! unchanged folder in a new snapshot adds one `places` row and reads no item.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, params};

use super::extract::IndexDoc;
use super::{SearchHit, SearchPlace, SearchResults};
use crate::error::{EngineError, Result};

const SCHEMA_VERSION: &str = "2";

/// A query matching more items than this reports `total` as this many with `total_capped`,
/// and shows the most recently indexed matches instead of ranking them all.
pub const COUNT_CAP: u64 = 10_000;

/// Highlight marks around matched terms in a hit's snippet.
pub const MARK_START: &str = "«";
pub const MARK_END: &str = "»";

pub struct SearchIndex {
    conn: Connection,
    path: PathBuf,
}

impl std::fmt::Debug for SearchIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchIndex")
            .field("path", &self.path)
            .finish()
    }
}

/// A folder of one snapshot: where the items of a tree are found.
#[derive(Debug, Clone)]
pub struct FolderPlace {
    pub snapshot: String,
    /// The folder's tree id (hex).
    pub tree: String,
    pub mailbox: String,
    /// `mail`, `contacts`, `calendars`, `tasks`, `settings`.
    pub category: String,
    /// The folder's path inside its category dir (`Inbox/Projects`); "" for the category dir.
    pub folder: String,
    /// The folder's browse path (`/user@x/Mail/Inbox/Projects`).
    pub path: String,
}

/// Filters already resolved (a snapshot id, UTC date bounds, lower-case category).
#[derive(Debug, Clone, Default)]
pub struct Filters {
    pub mailbox: Option<String>,
    pub folder: Option<String>,
    pub category: Option<String>,
    /// Inclusive, `YYYY-MM-DDTHH:MM:SSZ`.
    pub from: Option<String>,
    /// Exclusive, `YYYY-MM-DDTHH:MM:SSZ`.
    pub to: Option<String>,
    pub has_attachments: Option<bool>,
    pub snapshot: Option<String>,
}

fn sql_err(path: &Path) -> impl Fn(rusqlite::Error) -> EngineError + '_ {
    move |e| EngineError::Internal(format!("search index {}: {e}", path.display()))
}

impl SearchIndex {
    /// Opens (creating if needed) the index file. One of another schema is emptied.
    pub fn open(path: &Path) -> Result<SearchIndex> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| EngineError::Internal(format!("{}: {e}", dir.display())))?;
        }
        let err = sql_err(path);
        let conn = Connection::open(path).map_err(&err)?;
        conn.execute_batch(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;
             PRAGMA cache_size=-65536;
             CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);",
        )
        .map_err(&err)?;
        let schema: Option<String> = conn
            .query_row("SELECT value FROM meta WHERE key='schema'", [], |r| {
                r.get(0)
            })
            .optional()
            .map_err(&err)?;
        if schema.as_deref() != Some(SCHEMA_VERSION) {
            conn.execute_batch(
                "DROP TABLE IF EXISTS places; DROP TABLE IF EXISTS snapshots;
                 DROP TABLE IF EXISTS tree_items; DROP TABLE IF EXISTS trees;
                 DROP TABLE IF EXISTS versions; DROP TABLE IF EXISTS docs;",
            )
            .map_err(&err)?;
        }
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS snapshots(id TEXT PRIMARY KEY, time TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS trees(id INTEGER PRIMARY KEY, hash TEXT NOT NULL UNIQUE);
             CREATE TABLE IF NOT EXISTS places(
                 snapshot TEXT NOT NULL REFERENCES snapshots(id) ON DELETE CASCADE,
                 path TEXT NOT NULL, tree INTEGER NOT NULL, mailbox TEXT NOT NULL,
                 category TEXT NOT NULL, folder TEXT NOT NULL,
                 PRIMARY KEY(snapshot, path)) WITHOUT ROWID;
             CREATE INDEX IF NOT EXISTS places_tree ON places(tree);
             CREATE TABLE IF NOT EXISTS tree_items(
                 tree INTEGER NOT NULL, name TEXT NOT NULL, version INTEGER NOT NULL,
                 PRIMARY KEY(tree, name)) WITHOUT ROWID;
             CREATE INDEX IF NOT EXISTS tree_items_version ON tree_items(version);
             CREATE TABLE IF NOT EXISTS versions(
                 id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, item TEXT NOT NULL,
                 category TEXT NOT NULL, date TEXT NOT NULL, has_attachments INTEGER NOT NULL,
                 subject TEXT NOT NULL, sender TEXT NOT NULL);
             CREATE VIRTUAL TABLE IF NOT EXISTS docs USING fts5(
                 subject, sender, recipients, body, attachments, tags,
                 tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3 4');",
        )
        .map_err(&err)?;
        conn.execute(
            "INSERT INTO docs(docs, rank) VALUES('rank', 'bm25(10.0, 5.0, 3.0, 1.0, 4.0, 0.0)')",
            [],
        )
        .map_err(&err)?;
        // The terms in the index, to expand prefixes longer than the prefix indexes.
        conn.execute_batch(
            "CREATE VIRTUAL TABLE IF NOT EXISTS temp.docs_terms USING fts5vocab(main, docs, 'row');",
        )
        .map_err(&err)?;
        conn.execute(
            "INSERT OR REPLACE INTO meta(key, value) VALUES('schema', ?1)",
            [SCHEMA_VERSION],
        )
        .map_err(&err)?;
        Ok(SearchIndex {
            conn,
            path: path.to_path_buf(),
        })
    }

    fn err(&self) -> impl Fn(rusqlite::Error) -> EngineError + '_ {
        sql_err(&self.path)
    }

    /// Empties the index; the next update rebuilds it from the repository.
    pub fn clear(&mut self) -> Result<()> {
        self.conn
            .execute_batch(
                "DELETE FROM places; DELETE FROM snapshots; DELETE FROM tree_items;
                 DELETE FROM trees; DELETE FROM versions; DELETE FROM docs;",
            )
            .map_err(self.err())
    }

    /// The ids of the snapshots indexed.
    pub fn snapshots(&self) -> Result<Vec<String>> {
        let mut st = self
            .conn
            .prepare("SELECT id FROM snapshots")
            .map_err(self.err())?;
        st.query_map([], |r| r.get(0))
            .map_err(self.err())?
            .collect::<rusqlite::Result<Vec<String>>>()
            .map_err(self.err())
    }

    /// Drops snapshots (and then every folder and version no snapshot holds any more).
    pub fn remove_snapshots(&mut self, ids: &[String]) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let path = self.path.clone();
        let err = sql_err(&path);
        let tx = self.conn.transaction().map_err(&err)?;
        for id in ids {
            tx.execute("DELETE FROM snapshots WHERE id=?1", [id])
                .map_err(&err)?;
        }
        tx.execute_batch(
            "DELETE FROM trees WHERE id NOT IN (SELECT tree FROM places);
             DELETE FROM tree_items WHERE tree NOT IN (SELECT id FROM trees);
             CREATE TEMP TABLE gone AS
                 SELECT id FROM versions WHERE id NOT IN (SELECT version FROM tree_items);
             DELETE FROM docs WHERE rowid IN (SELECT id FROM gone);
             DELETE FROM versions WHERE id IN (SELECT id FROM gone);
             DROP TABLE gone;",
        )
        .map_err(&err)?;
        tx.commit().map_err(&err)
    }

    /// Starts adding one snapshot (`time` RFC 3339, for ordering hits' places); nothing is
    /// visible until [`IndexBatch::commit`].
    pub fn batch(&mut self, snapshot: &str, time: &str) -> Result<IndexBatch<'_>> {
        let path = self.path.clone();
        let tx = self.conn.transaction().map_err(sql_err(&path))?;
        tx.execute(
            "INSERT OR REPLACE INTO snapshots(id, time) VALUES(?1, ?2)",
            params![snapshot, time],
        )
        .map_err(sql_err(&path))?;
        Ok(IndexBatch {
            tx,
            path,
            tree_tags: HashMap::new(),
        })
    }

    /// Replaces each prefix term longer than the prefix indexes (`quarte*`) by the terms it
    /// matches, ORed (`(quarter OR quarterly)`): FTS5 reads those incrementally, while such a
    /// prefix makes it merge the whole posting lists of every matching term first. A prefix
    /// with no term, or more than 64, is left as it is.
    fn expand_long_prefixes(&self, fts: &str) -> rusqlite::Result<String> {
        let chars: Vec<char> = fts.chars().collect();
        let word = |c: char| c.is_alphanumeric() || c == '_' || !c.is_ascii();
        let mut out = String::with_capacity(fts.len());
        let mut in_quotes = false;
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if c == '"' {
                in_quotes = !in_quotes;
                out.push(c);
                i += 1;
                continue;
            }
            if in_quotes || !word(c) {
                out.push(c);
                i += 1;
                continue;
            }
            let start = i;
            while i < chars.len() && word(chars[i]) {
                i += 1;
            }
            let w: String = chars[start..i].iter().collect();
            if i < chars.len() && chars[i] == '*' && w.chars().count() > 4 {
                i += 1;
                let prefix = w.to_lowercase();
                let mut st = self.conn.prepare_cached(
                    "SELECT term FROM temp.docs_terms WHERE term >= ?1 AND term < ?2 LIMIT 65",
                )?;
                let terms = st
                    .query_map(params![prefix, format!("{prefix}\u{10FFFF}")], |r| {
                        r.get::<_, String>(0)
                    })?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                if terms.is_empty() || terms.len() > 64 {
                    out.push_str(&w);
                    out.push('*');
                } else {
                    let list: Vec<String> = terms
                        .iter()
                        .map(|t| format!("\"{}\"", t.replace('"', "\"\"")))
                        .collect();
                    out.push('(');
                    out.push_str(&list.join(" OR "));
                    out.push(')');
                }
            } else {
                out.push_str(&w);
            }
        }
        Ok(out)
    }

    /// Runs a query. `fts` is an FTS5 query; a syntax error is `invalid_input`.
    pub fn search(&self, fts: &str, f: &Filters, limit: usize) -> Result<SearchResults> {
        // Running a statement fails with the generic SQLITE_ERROR only when FTS5 rejects the
        // query text ("fts5: syntax error near …", "unterminated string", "no such column");
        // I/O and corruption have codes of their own, and our SQL is checked when prepared.
        let bad = |e: rusqlite::Error| -> EngineError {
            match &e {
                rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::Unknown => {
                    EngineError::InvalidInput(format!("search text: {}", fts_message(&e)))
                }
                _ => EngineError::Internal(format!("search index {}: {e}", self.path.display())),
            }
        };
        let internal = self.err();
        let place_filter = "(?2 IS NULL OR p.mailbox = ?2 COLLATE NOCASE)
              AND (?3 IS NULL OR p.folder = ?3 COLLATE NOCASE OR p.folder LIKE ?3 || '/%')
              AND (?4 IS NULL OR p.snapshot = ?4)";
        let folder = f.folder.as_ref().map(|s| s.trim_matches('/').to_string());
        // The filters on mailbox, folder, category, attachments and month are terms of the
        // `tags` column, so FTS5 intersects them with the text; the exact date bounds and the
        // snapshot are checked on the (few) rows that remain.
        let fts = self.expand_long_prefixes(fts).map_err(&internal)?;
        let mut fts_all = format!("{{subject sender recipients body attachments}} : ({fts})");
        for t in filter_tags(f) {
            fts_all.push_str(" AND tags : ");
            fts_all.push_str(&t);
        }
        let dated = f.from.is_some() || f.to.is_some();
        let base = format!(
            "FROM docs h {join} WHERE docs MATCH ?1 {dates} {snap}",
            join = if dated {
                "JOIN versions v ON v.id = h.rowid"
            } else {
                ""
            },
            dates = if dated {
                "AND v.date <> '' AND (?5 IS NULL OR v.date >= ?5) AND (?6 IS NULL OR v.date < ?6)"
            } else {
                "AND ?5 IS NULL AND ?6 IS NULL"
            },
            snap = if f.snapshot.is_some() {
                format!(
                    "AND EXISTS (SELECT 1 FROM tree_items t JOIN places p ON p.tree = t.tree
                                WHERE t.version = h.rowid AND {place_filter})"
                )
            } else {
                "AND ?2 IS ?2 AND ?3 IS ?3 AND ?4 IS ?4".to_string()
            },
        );
        let args = params![fts_all, f.mailbox, folder, f.snapshot, f.from, f.to];
        let count: i64 = self
            .conn
            .prepare_cached(&format!(
                "SELECT count(*) FROM (SELECT h.rowid {base} LIMIT {})",
                COUNT_CAP + 1
            ))
            .map_err(&internal)?
            .query_row(args, |r| r.get(0))
            .map_err(bad)?;
        let total_capped = count as u64 > COUNT_CAP;
        let order = if total_capped {
            "h.rowid DESC"
        } else {
            "h.rank"
        };
        let mut st = self
            .conn
            .prepare_cached(&format!(
                "SELECT h.rowid {base} ORDER BY {order} LIMIT {limit}"
            ))
            .map_err(&internal)?;
        let rows = st
            .query_map(args, |r| r.get::<_, i64>(0))
            .map_err(bad)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(bad)?;
        let total = (count as u64).min(COUNT_CAP);
        let fts = fts_all.as_str();
        let mut hits = Vec::with_capacity(rows.len());
        let mut snippet_st = self
            .conn
            .prepare_cached(&format!(
                "SELECT snippet(docs, -1, '{MARK_START}', '{MARK_END}', '…', 16)
                 FROM docs WHERE docs MATCH ?1 AND rowid = ?2"
            ))
            .map_err(&internal)?;
        let mut version_st = self
            .conn
            .prepare_cached(
                "SELECT item, category, date, has_attachments, subject, sender
                 FROM versions WHERE id = ?1",
            )
            .map_err(&internal)?;
        let mut places_st = self
            .conn
            .prepare_cached(&format!(
                "SELECT p.snapshot, s.time, p.path, t.name, p.mailbox, p.folder
                 FROM tree_items t JOIN places p ON p.tree = t.tree
                 JOIN snapshots s ON s.id = p.snapshot
                 WHERE t.version = ?1 AND {place_filter}
                 ORDER BY s.time DESC, p.snapshot, p.path"
            ))
            .map_err(&internal)?;
        for id in rows {
            let snippet: String = snippet_st
                .query_row(params![fts, id], |r| r.get(0))
                .optional()
                .map_err(bad)?
                .unwrap_or_default();
            let (item, category, date, has_attachments, subject, from) = version_st
                .query_row([id], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, bool>(3)?,
                        r.get::<_, String>(4)?,
                        r.get::<_, String>(5)?,
                    ))
                })
                .map_err(&internal)?;
            let places = places_st
                .query_map(params![id, f.mailbox, folder, f.snapshot], |r| {
                    let folder_path: String = r.get(2)?;
                    let name: String = r.get(3)?;
                    Ok(SearchPlace {
                        snapshot_id: r.get(0)?,
                        snapshot_time: r.get(1)?,
                        path: format!("{folder_path}{}", qcb_repo::join_path(&[&name])),
                        mailbox: r.get(4)?,
                        folder: r.get(5)?,
                        item_id: name,
                    })
                })
                .map_err(&internal)?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(&internal)?;
            hits.push(SearchHit {
                item_id: places.first().map_or(item, |p| p.item_id.clone()),
                subject,
                from,
                date,
                category,
                has_attachments,
                snippet,
                places,
            });
        }
        Ok(SearchResults {
            total,
            total_capped,
            hits,
        })
    }
}

/// FNV-1a, 64 bits: a stable hash for tag tokens (the same on every build and machine).
fn fnv(text: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

fn mailbox_tag(mailbox: &str) -> String {
    format!("qm{:016x}", fnv(&mailbox.to_lowercase()))
}

/// One tag per folder path prefix (`Inbox`, `Inbox/Sub`), alone and within its mailbox.
fn folder_tag(mailbox: Option<&str>, folder: &str) -> String {
    let f = folder.trim_matches('/').to_lowercase();
    match mailbox {
        Some(m) => format!("qf{:016x}", fnv(&format!("{}\0{f}", m.to_lowercase()))),
        None => format!("qg{:016x}", fnv(&f)),
    }
}

fn place_tags(mailbox: &str, folder: &str) -> Vec<String> {
    let mut tags = vec![mailbox_tag(mailbox)];
    let mut prefix = String::new();
    for part in folder.split('/').filter(|p| !p.is_empty()) {
        if !prefix.is_empty() {
            prefix.push('/');
        }
        prefix.push_str(part);
        tags.push(folder_tag(Some(mailbox), &prefix));
        tags.push(folder_tag(None, &prefix));
    }
    tags
}

fn month_tag(date: &str) -> Option<String> {
    let ym = date.get(..7)?;
    Some(format!("qd{}", ym.replace('-', "")))
}

/// The tags of a version itself: category, attachments, month.
fn version_tags(doc: &IndexDoc) -> String {
    let mut t = format!(
        "qc{} qa{}",
        doc.category,
        if doc.has_attachments { 1 } else { 0 }
    );
    if let Some(m) = month_tag(&doc.date) {
        t.push(' ');
        t.push_str(&m);
    }
    t
}

/// FTS5 terms for the filters (each ANDed to the query on the `tags` column).
fn filter_tags(f: &Filters) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(m) = &f.mailbox {
        out.push(mailbox_tag(m));
    }
    if let Some(folder) = &f.folder {
        out.push(folder_tag(f.mailbox.as_deref(), folder));
    }
    if let Some(c) = &f.category {
        out.push(format!("qc{c}"));
    }
    if let Some(a) = f.has_attachments {
        out.push(format!("qa{}", if a { 1 } else { 0 }));
    }
    if f.from.is_some() || f.to.is_some() {
        // Months from the first to the last the range touches; the exact bounds are checked
        // on the rows that match. A range of more than 20 years is left to that check alone.
        let month = |d: &str| -> Option<(i32, u32)> {
            Some((d.get(..4)?.parse().ok()?, d.get(5..7)?.parse().ok()?))
        };
        let first = f.from.as_deref().and_then(month).unwrap_or((1970, 1));
        let last =
            f.to.as_deref()
                .and_then(|d| {
                    // `to` is exclusive: the month of the second before it.
                    let t = chrono::DateTime::parse_from_rfc3339(d).ok()?
                        - chrono::Duration::seconds(1);
                    month(&t.to_utc().to_rfc3339())
                })
                .unwrap_or((9999, 12));
        let n = (last.0 - first.0) * 12 + last.1 as i32 - first.1 as i32 + 1;
        if (1..=240).contains(&n) {
            let (mut y, mut m) = first;
            let mut months = Vec::new();
            for _ in 0..n {
                months.push(format!("qd{y:04}{m:02}"));
                m += 1;
                if m == 13 {
                    m = 1;
                    y += 1;
                }
            }
            out.push(format!("({})", months.join(" OR ")));
        } else if n < 1 {
            out.push("qdnone".into());
        }
    }
    out
}

/// SQLite's message for an error, without the SQL.
fn fts_message(e: &rusqlite::Error) -> String {
    match e {
        rusqlite::Error::SqliteFailure(_, Some(m)) => m.clone(),
        other => other.to_string(),
    }
}

/// One snapshot being added to the index (a transaction).
pub struct IndexBatch<'a> {
    tx: rusqlite::Transaction<'a>,
    path: PathBuf,
    /// Filter tags per tree row, from its places.
    tree_tags: HashMap<i64, Vec<String>>,
}

impl IndexBatch<'_> {
    /// The tree's row id and whether its items are already indexed.
    pub fn tree(&mut self, hash: &str) -> Result<(i64, bool)> {
        let path = self.path.clone();
        let err = sql_err(&path);
        let found: Option<i64> = self
            .tx
            .prepare_cached("SELECT id FROM trees WHERE hash=?1")
            .map_err(&err)?
            .query_row([hash], |r| r.get(0))
            .optional()
            .map_err(&err)?;
        if let Some(id) = found {
            return Ok((id, true));
        }
        self.tx
            .prepare_cached("INSERT INTO trees(hash) VALUES(?1)")
            .map_err(&err)?
            .execute([hash])
            .map_err(&err)?;
        Ok((self.tx.last_insert_rowid(), false))
    }

    /// Records that a snapshot holds a folder (whose tree row is `tree`). A tree already
    /// indexed that turns up in another mailbox or folder gives its versions that place's
    /// filter tags.
    pub fn add_place(&mut self, tree: i64, place: &FolderPlace) -> Result<()> {
        let path = self.path.clone();
        let err = sql_err(&path);
        let seen: bool = self
            .tx
            .prepare_cached(
                "SELECT 1 FROM places WHERE tree=?1 AND mailbox=?2 AND folder=?3 AND category=?4",
            )
            .map_err(&err)?
            .query_row(
                params![tree, place.mailbox, place.folder, place.category],
                |_| Ok(()),
            )
            .optional()
            .map_err(&err)?
            .is_some();
        self.tx
            .prepare_cached(
                "INSERT OR REPLACE INTO places(snapshot, path, tree, mailbox, category, folder)
                 VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .map_err(&err)?
            .execute(params![
                place.snapshot,
                place.path,
                tree,
                place.mailbox,
                place.category,
                place.folder
            ])
            .map_err(&err)?;
        self.tree_tags.remove(&tree);
        if !seen {
            let versions: Vec<i64> = self
                .tx
                .prepare_cached("SELECT DISTINCT version FROM tree_items WHERE tree=?1")
                .map_err(&err)?
                .query_map([tree], |r| r.get(0))
                .map_err(&err)?
                .collect::<rusqlite::Result<_>>()
                .map_err(&err)?;
            let tags = place_tags(&place.mailbox, &place.folder);
            for v in versions {
                self.ensure_tags(v, &tags)?;
            }
        }
        Ok(())
    }

    /// The filter tags of every place that holds a tree.
    fn tags_of_tree(&mut self, tree: i64) -> Result<Vec<String>> {
        if let Some(t) = self.tree_tags.get(&tree) {
            return Ok(t.clone());
        }
        let path = self.path.clone();
        let err = sql_err(&path);
        let places: Vec<(String, String)> = self
            .tx
            .prepare_cached("SELECT DISTINCT mailbox, folder FROM places WHERE tree=?1")
            .map_err(&err)?
            .query_map([tree], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(&err)?
            .collect::<rusqlite::Result<_>>()
            .map_err(&err)?;
        let mut tags: Vec<String> = places.iter().flat_map(|(m, f)| place_tags(m, f)).collect();
        tags.sort();
        tags.dedup();
        self.tree_tags.insert(tree, tags.clone());
        Ok(tags)
    }

    /// Adds `tags` a version's FTS row lacks (rewriting the row).
    fn ensure_tags(&mut self, version: i64, tags: &[String]) -> Result<()> {
        let path = self.path.clone();
        let err = sql_err(&path);
        let row: Option<[String; 6]> = self
            .tx
            .prepare_cached(
                "SELECT subject, sender, recipients, body, attachments, tags FROM docs
                 WHERE rowid=?1",
            )
            .map_err(&err)?
            .query_row([version], |r| {
                Ok([
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ])
            })
            .optional()
            .map_err(&err)?;
        let Some([subject, sender, recipients, body, attachments, old]) = row else {
            return Ok(());
        };
        let have: HashSet<&str> = old.split_whitespace().collect();
        let missing: Vec<&String> = tags.iter().filter(|t| !have.contains(t.as_str())).collect();
        if missing.is_empty() {
            return Ok(());
        }
        let mut new = old.clone();
        for t in missing {
            new.push(' ');
            new.push_str(t);
        }
        self.tx
            .prepare_cached("DELETE FROM docs WHERE rowid=?1")
            .map_err(&err)?
            .execute([version])
            .map_err(&err)?;
        self.tx
            .prepare_cached(
                "INSERT INTO docs(rowid, subject, sender, recipients, body, attachments, tags)
                 VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )
            .map_err(&err)?
            .execute(params![
                version,
                subject,
                sender,
                recipients,
                body,
                attachments,
                new
            ])
            .map_err(&err)?;
        Ok(())
    }

    /// The version with this key, if indexed.
    pub fn version(&mut self, key: &str) -> Result<Option<i64>> {
        let path = self.path.clone();
        let err = sql_err(&path);
        self.tx
            .prepare_cached("SELECT id FROM versions WHERE key=?1")
            .map_err(&err)?
            .query_row([key], |r| r.get(0))
            .optional()
            .map_err(&err)
    }

    /// Adds an item of tree row `tree` named `name`: indexes `doc` as a new version, or, when
    /// its key is indexed already, maps the existing version. Returns the version's id.
    pub fn add_item(&mut self, tree: i64, name: &str, doc: &IndexDoc) -> Result<i64> {
        if let Some(v) = self.version(&doc.key)? {
            self.add_existing_item(tree, name, v)?;
            return Ok(v);
        }
        let path = self.path.clone();
        let err = sql_err(&path);
        self.tx
            .prepare_cached(
                "INSERT INTO versions(key, item, category, date, has_attachments, subject, sender)
                 VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )
            .map_err(&err)?
            .execute(params![
                doc.key,
                doc.item_id,
                doc.category,
                doc.date,
                doc.has_attachments,
                doc.subject,
                doc.sender
            ])
            .map_err(&err)?;
        let id = self.tx.last_insert_rowid();
        let mut tags = version_tags(doc);
        for t in self.tags_of_tree(tree)? {
            tags.push(' ');
            tags.push_str(&t);
        }
        self.tx
            .prepare_cached(
                "INSERT INTO docs(rowid, subject, sender, recipients, body, attachments, tags)
                 VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )
            .map_err(&err)?
            .execute(params![
                id,
                doc.subject,
                doc.sender,
                doc.recipients,
                doc.body,
                doc.attachments,
                tags
            ])
            .map_err(&err)?;
        self.insert_tree_item(tree, name, id)?;
        Ok(id)
    }

    /// Adds an item whose version is indexed already (found with [`IndexBatch::version`]).
    pub fn add_existing_item(&mut self, tree: i64, name: &str, version: i64) -> Result<()> {
        let tags = self.tags_of_tree(tree)?;
        self.ensure_tags(version, &tags)?;
        self.insert_tree_item(tree, name, version)
    }

    fn insert_tree_item(&mut self, tree: i64, name: &str, version: i64) -> Result<()> {
        let path = self.path.clone();
        let err = sql_err(&path);
        self.tx
            .prepare_cached(
                "INSERT OR REPLACE INTO tree_items(tree, name, version) VALUES(?1, ?2, ?3)",
            )
            .map_err(&err)?
            .execute(params![tree, name, version])
            .map_err(&err)?;
        Ok(())
    }

    /// Commits the snapshot and everything added for it.
    pub fn commit(self) -> Result<()> {
        let path = self.path.clone();
        self.tx.commit().map_err(sql_err(&path))
    }
}
