//! The local state database (SQLite): backup sets and the job history.
//!
//! Unlike the catalog (a cache of the repository that can be rebuilt from it), this database
//! is the only copy of what it holds: the sets as their TOML text, and every run with its
//! counts, outcome and report. It is opened in WAL mode with a busy timeout, so the desktop
//! app, the CLI and the daemon can use it at the same time.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use super::BackupSet;
use crate::error::{EngineError, Result};

const SCHEMA_VERSION: i64 = 1;

/// A set as stored, with its bookkeeping.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredSet {
    pub set: BackupSet,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
}

/// How a run ended (or that it is still going).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
pub enum RunStatus {
    Running,
    /// Everything backed up (and retention applied).
    Succeeded,
    /// A snapshot was made, but some items failed or retention could not run: see the report.
    Warning,
    /// No snapshot: the repository, the sign-in or every mailbox failed.
    Failed,
    /// The process ended during the run (killed, shut down, machine off).
    Interrupted,
}

impl RunStatus {
    fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Succeeded => "succeeded",
            RunStatus::Warning => "warning",
            RunStatus::Failed => "failed",
            RunStatus::Interrupted => "interrupted",
        }
    }

    fn parse(s: &str) -> RunStatus {
        match s {
            "running" => RunStatus::Running,
            "succeeded" => RunStatus::Succeeded,
            "warning" => RunStatus::Warning,
            "interrupted" => RunStatus::Interrupted,
            _ => RunStatus::Failed,
        }
    }
}

/// One run of a set, as the history shows it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct RunRecord {
    pub id: i64,
    pub set_name: String,
    /// `manual`, `schedule` or `client`.
    pub trigger: String,
    pub host: String,
    pub started: DateTime<Utc>,
    pub finished: Option<DateTime<Utc>>,
    pub status: RunStatus,
    pub snapshot_id: Option<String>,
    pub mailboxes: u64,
    pub items: u64,
    pub items_fetched: u64,
    pub bytes_added: u64,
    pub failed_items: u64,
    pub snapshots_forgotten: u64,
    /// Why the run failed, or the warnings of a run that finished.
    pub message: Option<String>,
    /// The full report (failed items with reasons, retention decisions) as JSON.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub report: Option<serde_json::Value>,
}

/// What a finished run records.
#[derive(Debug, Clone, Default)]
pub struct RunOutcome {
    pub snapshot_id: Option<String>,
    pub mailboxes: u64,
    pub items: u64,
    pub items_fetched: u64,
    pub bytes_added: u64,
    pub failed_items: u64,
    pub snapshots_forgotten: u64,
    pub message: Option<String>,
    pub report: Option<serde_json::Value>,
}

/// Backup sets and job history in one SQLite file.
pub struct SetStore {
    conn: Mutex<Connection>,
    path: PathBuf,
}

fn db_error(path: &Path, e: rusqlite::Error) -> EngineError {
    EngineError::Database(format!("state database {}: {e}", path.display()))
}

fn time_text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn parse_time(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default()
}

impl SetStore {
    /// Opens (creating when missing) the database at `path`.
    pub fn open(path: &Path) -> Result<SetStore> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| EngineError::Database(format!("creating {}: {e}", dir.display())))?;
        }
        let conn = Connection::open(path).map_err(|e| db_error(path, e))?;
        let setup = || -> rusqlite::Result<()> {
            conn.busy_timeout(std::time::Duration::from_secs(30))?;
            conn.pragma_update(None, "journal_mode", "WAL")?;
            let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
            if version > SCHEMA_VERSION {
                return Err(rusqlite::Error::InvalidQuery);
            }
            conn.execute_batch(
                "CREATE TABLE IF NOT EXISTS backup_sets (
                     name TEXT PRIMARY KEY COLLATE NOCASE,
                     definition TEXT NOT NULL,
                     created TEXT NOT NULL,
                     updated TEXT NOT NULL);
                 CREATE TABLE IF NOT EXISTS runs (
                     id INTEGER PRIMARY KEY AUTOINCREMENT,
                     set_name TEXT NOT NULL,
                     trigger TEXT NOT NULL,
                     host TEXT NOT NULL,
                     pid INTEGER NOT NULL,
                     started TEXT NOT NULL,
                     finished TEXT,
                     status TEXT NOT NULL,
                     snapshot TEXT,
                     mailboxes INTEGER NOT NULL DEFAULT 0,
                     items INTEGER NOT NULL DEFAULT 0,
                     items_fetched INTEGER NOT NULL DEFAULT 0,
                     bytes_added INTEGER NOT NULL DEFAULT 0,
                     failed_items INTEGER NOT NULL DEFAULT 0,
                     forgotten INTEGER NOT NULL DEFAULT 0,
                     message TEXT,
                     report TEXT);
                 CREATE INDEX IF NOT EXISTS runs_by_set ON runs(set_name, started);",
            )?;
            conn.pragma_update(None, "user_version", SCHEMA_VERSION)?;
            Ok(())
        };
        match setup() {
            Ok(()) => {}
            Err(rusqlite::Error::InvalidQuery) => {
                return Err(EngineError::Database(format!(
                    "state database {} was written by a newer QCBackup; update this one",
                    path.display()
                )));
            }
            Err(e) => return Err(db_error(path, e)),
        }
        Ok(SetStore {
            conn: Mutex::new(conn),
            path: path.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn with<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T> {
        let conn = self
            .conn
            .lock()
            .map_err(|_| EngineError::Internal("state database lock poisoned".into()))?;
        f(&conn).map_err(|e| db_error(&self.path, e))
    }

    /// Saves a set. A new name is added; an existing one is replaced only with `replace`.
    pub fn save(&self, set: &BackupSet, replace: bool, now: DateTime<Utc>) -> Result<()> {
        set.validate()?;
        let text = set.to_toml()?;
        let existed = self.with(|c| {
            let existed: Option<String> = c
                .query_row(
                    "SELECT name FROM backup_sets WHERE name = ?1",
                    [&set.name],
                    |r| r.get(0),
                )
                .optional()?;
            if existed.is_some() && !replace {
                return Ok(existed);
            }
            c.execute(
                "INSERT INTO backup_sets (name, definition, created, updated) VALUES (?1, ?2, ?3, ?3)
                 ON CONFLICT(name) DO UPDATE SET name = ?1, definition = ?2, updated = ?3",
                params![set.name, text, time_text(now)],
            )?;
            Ok(None)
        })?;
        if let (Some(name), false) = (existed, replace) {
            return Err(EngineError::InvalidInput(format!(
                "a backup set named {name:?} already exists (replace it, or choose another name)"
            )));
        }
        Ok(())
    }

    pub fn get(&self, name: &str) -> Result<StoredSet> {
        let row = self.with(|c| {
            c.query_row(
                "SELECT definition, created, updated FROM backup_sets WHERE name = ?1",
                [name],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                    ))
                },
            )
            .optional()
        })?;
        let (text, created, updated) = row.ok_or_else(|| {
            EngineError::NotFound(format!("there is no backup set named {name:?}"))
        })?;
        Ok(StoredSet {
            set: BackupSet::from_toml(&text)?,
            created: parse_time(&created),
            updated: parse_time(&updated),
        })
    }

    /// Every set, by name.
    pub fn list(&self) -> Result<Vec<StoredSet>> {
        let rows = self.with(|c| {
            let mut st = c.prepare(
                "SELECT definition, created, updated FROM backup_sets ORDER BY name COLLATE NOCASE",
            )?;
            st.query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()
        })?;
        rows.into_iter()
            .map(|(text, created, updated)| {
                Ok(StoredSet {
                    set: BackupSet::from_toml(&text)?,
                    created: parse_time(&created),
                    updated: parse_time(&updated),
                })
            })
            .collect()
    }

    /// Points every set of the tenant `tenant_id` at new endpoints (the desktop's demo tenant
    /// came up on another port). Returns how many sets changed.
    pub fn repoint_tenant(
        &self,
        tenant_id: &str,
        graph_url: &str,
        authority: &str,
        now: DateTime<Utc>,
    ) -> Result<usize> {
        let mut n = 0;
        for stored in self.list()? {
            let mut set = stored.set;
            let c = &mut set.connection;
            if c.tenant_id == tenant_id && (c.graph_url != graph_url || c.authority != authority) {
                c.graph_url = graph_url.to_string();
                c.authority = authority.to_string();
                self.save(&set, true, now)?;
                n += 1;
            }
        }
        Ok(n)
    }

    /// The set whose run made `snapshot` (its full id), if a run of this database made it.
    pub fn set_of_snapshot(&self, snapshot: &str) -> Result<Option<String>> {
        self.with(|c| {
            c.query_row(
                "SELECT set_name FROM runs WHERE snapshot = ?1 ORDER BY id DESC LIMIT 1",
                [snapshot],
                |r| r.get(0),
            )
            .optional()
        })
    }

    /// Removes a set; its history stays.
    pub fn remove(&self, name: &str) -> Result<()> {
        let n = self.with(|c| c.execute("DELETE FROM backup_sets WHERE name = ?1", [name]))?;
        if n == 0 {
            return Err(EngineError::NotFound(format!(
                "there is no backup set named {name:?}"
            )));
        }
        Ok(())
    }

    /// Records the start of a run and returns its id.
    pub fn start_run(
        &self,
        set_name: &str,
        trigger: &str,
        host: &str,
        started: DateTime<Utc>,
    ) -> Result<i64> {
        self.with(|c| {
            c.execute(
                "INSERT INTO runs (set_name, trigger, host, pid, started, status)
                 VALUES (?1, ?2, ?3, ?4, ?5, 'running')",
                params![
                    set_name,
                    trigger,
                    host,
                    std::process::id(),
                    time_text(started)
                ],
            )?;
            Ok(c.last_insert_rowid())
        })
    }

    /// Records how a run ended.
    pub fn finish_run(
        &self,
        id: i64,
        status: RunStatus,
        finished: DateTime<Utc>,
        o: &RunOutcome,
    ) -> Result<()> {
        let report = o.report.as_ref().map(|r| r.to_string());
        self.with(|c| {
            c.execute(
                "UPDATE runs SET finished = ?2, status = ?3, snapshot = ?4, mailboxes = ?5,
                     items = ?6, items_fetched = ?7, bytes_added = ?8, failed_items = ?9,
                     forgotten = ?10, message = ?11, report = ?12
                 WHERE id = ?1",
                params![
                    id,
                    time_text(finished),
                    status.as_str(),
                    o.snapshot_id,
                    o.mailboxes as i64,
                    o.items as i64,
                    o.items_fetched as i64,
                    o.bytes_added as i64,
                    o.failed_items as i64,
                    o.snapshots_forgotten as i64,
                    o.message,
                    report
                ],
            )
            .map(|_| ())
        })
    }

    /// Marks runs of this host whose process is gone as interrupted (they cannot finish).
    pub fn mark_interrupted(&self, host: &str, now: DateTime<Utc>) -> Result<usize> {
        let running: Vec<(i64, i64)> = self.with(|c| {
            let mut st =
                c.prepare("SELECT id, pid FROM runs WHERE status = 'running' AND host = ?1")?;
            st.query_map([host], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect()
        })?;
        let mut n = 0;
        for (id, pid) in running {
            if pid as u32 != std::process::id() && qcb_repo::process_is_gone(pid as u32) {
                self.with(|c| {
                    c.execute(
                        "UPDATE runs SET status = 'interrupted', finished = ?2,
                             message = 'the process running it ended before it finished'
                         WHERE id = ?1 AND status = 'running'",
                        params![id, time_text(now)],
                    )
                })?;
                n += 1;
            }
        }
        Ok(n)
    }

    /// Marks this process's unfinished runs as interrupted (the scheduler is stopping).
    pub fn interrupt_own_runs(&self, now: DateTime<Utc>) -> Result<usize> {
        self.with(|c| {
            c.execute(
                "UPDATE runs SET status = 'interrupted', finished = ?2,
                     message = 'stopped before it finished (the scheduler was shut down)'
                 WHERE status = 'running' AND pid = ?1",
                params![std::process::id(), time_text(now)],
            )
        })
    }

    /// The newest runs first, of one set or of all; `limit` 0 means all.
    pub fn runs(&self, set_name: Option<&str>, limit: usize) -> Result<Vec<RunRecord>> {
        self.with(|c| {
            let mut st = c.prepare(
                "SELECT id, set_name, trigger, host, started, finished, status, snapshot,
                        mailboxes, items, items_fetched, bytes_added, failed_items, forgotten,
                        message, report
                 FROM runs WHERE (?1 IS NULL OR set_name = ?1 COLLATE NOCASE)
                 ORDER BY started DESC, id DESC LIMIT ?2",
            )?;
            let limit = if limit == 0 { -1 } else { limit as i64 };
            st.query_map(params![set_name, limit], |r| {
                let report: Option<String> = r.get(15)?;
                Ok(RunRecord {
                    id: r.get(0)?,
                    set_name: r.get(1)?,
                    trigger: r.get(2)?,
                    host: r.get(3)?,
                    started: parse_time(&r.get::<_, String>(4)?),
                    finished: r.get::<_, Option<String>>(5)?.as_deref().map(parse_time),
                    status: RunStatus::parse(&r.get::<_, String>(6)?),
                    snapshot_id: r.get(7)?,
                    mailboxes: r.get::<_, i64>(8)? as u64,
                    items: r.get::<_, i64>(9)? as u64,
                    items_fetched: r.get::<_, i64>(10)? as u64,
                    bytes_added: r.get::<_, i64>(11)? as u64,
                    failed_items: r.get::<_, i64>(12)? as u64,
                    snapshots_forgotten: r.get::<_, i64>(13)? as u64,
                    message: r.get(14)?,
                    report: report.and_then(|t| serde_json::from_str(&t).ok()),
                })
            })?
            .collect()
        })
    }

    /// When the set's newest run started (what its schedule counts from).
    pub fn last_started(&self, set_name: &str) -> Result<Option<DateTime<Utc>>> {
        let t: Option<String> = self.with(|c| {
            c.query_row(
                "SELECT MAX(started) FROM runs WHERE set_name = ?1 COLLATE NOCASE",
                [set_name],
                |r| r.get(0),
            )
        })?;
        Ok(t.as_deref().map(parse_time))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sets::tests::sample;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn sets_are_saved_listed_replaced_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let store = SetStore::open(&dir.path().join("state.db")).unwrap();
        let mut set = sample();
        store.save(&set, false, t("2026-11-27T10:00:00Z")).unwrap();
        let e = store
            .save(&set, false, t("2026-11-27T10:01:00Z"))
            .unwrap_err();
        assert_eq!(e.code(), "invalid_input");
        // Names are unique without regard to case.
        let mut upper = set.clone();
        upper.name = set.name.to_uppercase();
        assert!(
            store
                .save(&upper, false, t("2026-11-27T10:01:00Z"))
                .is_err()
        );
        set.schedule = super::super::Schedule::parse("every 6h").unwrap();
        store.save(&set, true, t("2026-11-27T11:00:00Z")).unwrap();
        let got = store.get("contoso STAFF").unwrap();
        assert_eq!(got.set, set);
        assert_eq!(got.created, t("2026-11-27T10:00:00Z"));
        assert_eq!(got.updated, t("2026-11-27T11:00:00Z"));
        assert_eq!(store.list().unwrap().len(), 1);
        store.remove(&set.name).unwrap();
        assert_eq!(store.get(&set.name).unwrap_err().code(), "not_found");
        assert_eq!(store.remove(&set.name).unwrap_err().code(), "not_found");
    }

    #[test]
    fn an_invalid_set_is_not_saved() {
        let dir = tempfile::tempdir().unwrap();
        let store = SetStore::open(&dir.path().join("state.db")).unwrap();
        let mut set = sample();
        set.connection.tenant_id.clear();
        assert!(store.save(&set, false, Utc::now()).is_err());
        assert!(store.list().unwrap().is_empty());
    }

    #[test]
    fn runs_are_recorded_newest_first_and_dead_ones_marked_interrupted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        let store = SetStore::open(&path).unwrap();
        let a = store
            .start_run("A", "manual", "h1", t("2026-11-27T10:00:00Z"))
            .unwrap();
        store
            .finish_run(
                a,
                RunStatus::Warning,
                t("2026-11-27T10:05:00Z"),
                &RunOutcome {
                    snapshot_id: Some("abc".into()),
                    items: 10,
                    failed_items: 1,
                    message: Some("1 item failed".into()),
                    report: Some(serde_json::json!({"failed": [{"itemId": "x"}]})),
                    ..Default::default()
                },
            )
            .unwrap();
        let b = store
            .start_run("B", "schedule", "h1", t("2026-11-27T11:00:00Z"))
            .unwrap();
        // A run left "running" by a process that no longer exists.
        store
            .with(|c| c.execute("UPDATE runs SET pid = 999999999 WHERE id = ?1", [b]))
            .unwrap();
        let runs = store.runs(None, 0).unwrap();
        assert_eq!(runs.iter().map(|r| r.id).collect::<Vec<_>>(), vec![b, a]);
        assert_eq!(runs[1].status, RunStatus::Warning);
        assert_eq!(runs[1].report.as_ref().unwrap()["failed"][0]["itemId"], "x");
        assert_eq!(store.mark_interrupted("other-host", Utc::now()).unwrap(), 0);
        assert_eq!(store.mark_interrupted("h1", Utc::now()).unwrap(), 1);
        assert_eq!(
            store.runs(Some("b"), 1).unwrap()[0].status,
            RunStatus::Interrupted
        );
        assert_eq!(
            store.last_started("a").unwrap(),
            Some(t("2026-11-27T10:00:00Z"))
        );
        assert_eq!(store.last_started("C").unwrap(), None);
        // Reopening keeps everything.
        drop(store);
        assert_eq!(
            SetStore::open(&path).unwrap().runs(None, 0).unwrap().len(),
            2
        );
    }

    #[test]
    fn a_database_from_a_newer_version_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        Connection::open(&path)
            .unwrap()
            .pragma_update(None, "user_version", 99)
            .unwrap();
        let e = SetStore::open(&path).err().unwrap().to_string();
        assert!(e.contains("newer"), "{e}");
    }
}
