//! Full-text search across every snapshot of a repository, through an SQLite FTS5 index kept in
//! the local cache beside the catalog (`search.sqlite`; docs/repository-format.md).
//!
//! The index holds one entry per distinct item version (keyed by the item's content blob ids
//! and the summary in its node: a message unchanged in 100 snapshots is read and indexed once)
//! with its subject, sender, recipients, body text (HTML stripped, at most [`BODY_CAP`] bytes),
//! attachment names and filter tags; `places` maps versions to the snapshots and folders that
//! hold them, keyed by folder tree id as the catalog is, so an unchanged folder costs one row
//! per snapshot. [`RepoHandle::search`] brings the index up to date (new snapshots are read, gone
//! ones dropped) and then queries it. Being a cache, it can be deleted at any time.

mod extract;
mod index;

use std::collections::HashSet;

use qcb_repo::{BlobId, NodeKind, Repository};
use serde::{Deserialize, Serialize};

pub use extract::{BODY_CAP, IndexDoc, html_to_text, normalize_date};
pub use index::{COUNT_CAP, Filters, FolderPlace, IndexBatch, MARK_END, MARK_START, SearchIndex};

use crate::categories;
use crate::error::{EngineError, Result};
use crate::handle::RepoHandle;

/// What to look for. `text` is an FTS5 query: words (all must match), `"a phrase"`, `prefix*`,
/// `OR`, `NOT`, parentheses, and column filters `subject:`, `from:`, `to:`, `body:`,
/// `attachment:`. Words with punctuation (an address, a file name) are searched as phrases.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase", default)]
pub struct SearchQuery {
    pub text: String,
    /// A mailbox's user principal name (any case).
    pub mailbox: Option<String>,
    /// A folder path inside its category (`Inbox`, `Inbox/Projects`); includes subfolders.
    pub folder: Option<String>,
    /// `mail`, `contacts`, `calendars`, `tasks` or `settings` (singulars accepted).
    pub category: Option<String>,
    /// From this date (`2026-11-01`, that day's start, UTC) or time (RFC 3339), inclusive.
    pub from_date: Option<String>,
    /// Up to this date (its end, UTC) or time, inclusive.
    pub to_date: Option<String>,
    pub has_attachments: Option<bool>,
    /// Only this snapshot (`latest`, an id or a unique prefix); `None`: every snapshot.
    pub snapshot: Option<String>,
    /// At most this many hits (0: 50; at most 1000).
    pub limit: usize,
}

/// One copy of a hit: a snapshot holding the version, and where.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct SearchPlace {
    pub snapshot_id: String,
    /// RFC 3339.
    pub snapshot_time: String,
    /// The item's browse path in that snapshot (`/user@x/Mail/Inbox/<id>`).
    pub path: String,
    pub mailbox: String,
    /// The folder path inside its category.
    pub folder: String,
    pub item_id: String,
}

/// One item version that matches, with every snapshot that holds it (newest first).
#[derive(Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct SearchHit {
    pub item_id: String,
    pub subject: String,
    pub from: String,
    /// Received (mail), start (events) or last change (contacts, tasks), UTC; may be empty.
    pub date: String,
    pub category: String,
    pub has_attachments: bool,
    /// A few words around the match, matched terms between [`MARK_START`] and [`MARK_END`].
    pub snippet: String,
    pub places: Vec<SearchPlace>,
}

/// `Debug` names the item only: subjects and snippets are mail content.
impl std::fmt::Debug for SearchHit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchHit")
            .field("item_id", &self.item_id)
            .field("places", &self.places.len())
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct SearchResults {
    /// How many versions match in all (the hits are the best `limit` of them), or
    /// [`COUNT_CAP`] when `total_capped`.
    pub total: u64,
    /// More than [`COUNT_CAP`] versions match: the hits are then the most recently indexed
    /// matches, not the best ranked (narrow the query to rank them).
    pub total_capped: bool,
    pub hits: Vec<SearchHit>,
}

const COLUMNS: [(&str, &str); 10] = [
    ("subject", "subject"),
    ("sender", "sender"),
    ("from", "sender"),
    ("recipients", "recipients"),
    ("to", "recipients"),
    ("body", "body"),
    ("attachments", "attachments"),
    ("attachment", "attachments"),
    ("att", "attachments"),
    ("cc", "recipients"),
];

fn bareword(w: &str) -> bool {
    !w.is_empty()
        && w.chars()
            .all(|c| c.is_alphanumeric() || c == '_' || !c.is_ascii())
}

fn term(w: &str) -> String {
    let (stem, star) = match w.strip_suffix('*') {
        Some(s) if !s.is_empty() => (s, "*"),
        _ => (w, ""),
    };
    if bareword(stem) {
        format!("{stem}{star}")
    } else {
        format!("\"{}\"{star}", stem.replace('"', "\"\""))
    }
}

/// Turns what a user types into an FTS5 query: quoted phrases, operators and parentheses are
/// kept; a word with punctuation becomes a phrase; `from:` / `to:` / `attachment:` name columns.
/// What is left unbalanced stays so, for FTS5 to reject.
pub fn fts_query(text: &str) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut chars = text.trim().chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '"' {
            let mut s = String::from('"');
            chars.next();
            let mut closed = false;
            for c in chars.by_ref() {
                s.push(c);
                if c == '"' {
                    closed = true;
                    break;
                }
            }
            if closed && chars.peek() == Some(&'*') {
                s.push('*');
                chars.next();
            }
            out.push(s);
        } else if c == '(' || c == ')' {
            out.push(c.to_string());
            chars.next();
        } else {
            let mut w = String::new();
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() || c == '(' || c == ')' || c == '"' {
                    break;
                }
                w.push(c);
                chars.next();
            }
            if matches!(w.as_str(), "AND" | "OR" | "NOT" | "NEAR") {
                out.push(w);
                continue;
            }
            let column = w.split_once(':').and_then(|(col, rest)| {
                COLUMNS
                    .iter()
                    .find(|(alias, _)| alias.eq_ignore_ascii_case(col))
                    .map(|(_, real)| (*real, rest))
            });
            match column {
                Some((col, "")) => {
                    // `subject:"a phrase"` or `subject:(…)`: the rest follows as a token.
                    out.push(format!("{col}:"));
                }
                Some((col, rest)) => out.push(format!("{col}:{}", term(rest))),
                None => out.push(term(&w)),
            }
        }
    }
    let mut q = String::new();
    for t in out {
        if !(q.is_empty() || q.ends_with(':') || q.ends_with('(') || t == ")") {
            q.push(' ');
        }
        q.push_str(&t);
    }
    q
}

fn category(text: &str) -> Result<String> {
    let c = match text.trim().to_lowercase().as_str() {
        "mail" | "message" | "messages" | "email" => "mail",
        "contacts" | "contact" => "contacts",
        "calendars" | "calendar" | "events" | "event" => "calendars",
        "tasks" | "task" => "tasks",
        "settings" | "setting" | "rules" => "settings",
        _ => {
            return Err(EngineError::InvalidInput(format!(
                "category {text:?}: use mail, contacts, calendars, tasks or settings"
            )));
        }
    };
    Ok(c.to_string())
}

/// A date bound as the index stores dates: `from` is the start of a day, `to` (exclusive) the
/// start of the next.
fn date_bound(text: &str, end: bool) -> Result<String> {
    let t = text.trim();
    let fmt =
        |d: chrono::DateTime<chrono::Utc>| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    if let Ok(d) = chrono::DateTime::parse_from_rfc3339(t) {
        let d = d.to_utc();
        return Ok(fmt(if end {
            d + chrono::Duration::seconds(1)
        } else {
            d
        }));
    }
    let day = chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d").map_err(|_| {
        EngineError::InvalidInput(format!(
            "date {text:?}: give a date (2026-11-27) or an RFC 3339 time"
        ))
    })?;
    let day = if end {
        day.succ_opt().unwrap_or(day)
    } else {
        day
    };
    Ok(format!("{day}T00:00:00Z"))
}

impl RepoHandle {
    /// Searches every snapshot (or the one `query.snapshot` names), first bringing the search
    /// index up to date. Blocks: call from `spawn_blocking` (or use [`crate::api::search`]).
    pub fn search(&self, query: &SearchQuery) -> Result<SearchResults> {
        let fts = fts_query(&query.text);
        if fts.is_empty() {
            return Err(EngineError::InvalidInput("the search text is empty".into()));
        }
        let filters = Filters {
            mailbox: query.mailbox.clone().filter(|s| !s.trim().is_empty()),
            folder: query.folder.clone().filter(|s| !s.trim().is_empty()),
            category: query.category.as_deref().map(category).transpose()?,
            from: query
                .from_date
                .as_deref()
                .map(|d| date_bound(d, false))
                .transpose()?,
            to: query
                .to_date
                .as_deref()
                .map(|d| date_bound(d, true))
                .transpose()?,
            has_attachments: query.has_attachments,
            snapshot: match &query.snapshot {
                Some(s) if !s.trim().is_empty() => Some(self.resolve_snapshot(s)?.0),
                _ => None,
            },
        };
        let limit = match query.limit {
            0 => 50,
            n => n.min(1000),
        };
        let mut slot = self.search_index()?;
        let idx = slot.as_mut().expect("opened by search_index");
        update_index(self, idx)?;
        idx.search(&fts, &filters, limit)
    }

    /// Brings the search index in line with the repository's snapshots (reading the items of
    /// folders it has not seen). Returns how many snapshots were added.
    pub fn update_search_index(&self) -> Result<usize> {
        let mut slot = self.search_index()?;
        let idx = slot.as_mut().expect("opened by search_index");
        update_index(self, idx)
    }
}

fn update_index(handle: &RepoHandle, idx: &mut SearchIndex) -> Result<usize> {
    let repo = handle.repository();
    let snaps = {
        let mut cat = handle.catalog()?;
        cat.sync(repo)?;
        cat.snapshots()?
    };
    let present: HashSet<&str> = snaps.iter().map(|s| s.id.0.as_str()).collect();
    let indexed: HashSet<String> = idx.snapshots()?.into_iter().collect();
    let gone: Vec<String> = indexed
        .iter()
        .filter(|s| !present.contains(s.as_str()))
        .cloned()
        .collect();
    idx.remove_snapshots(&gone)?;
    let mut added = 0;
    for s in &snaps {
        if indexed.contains(&s.id.0) {
            continue;
        }
        let time = s.time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let mut batch = idx.batch(&s.id.0, &time)?;
        index_snapshot(repo, &mut batch, &s.id.0, &s.tree)?;
        batch.commit()?;
        tracing::debug!(snapshot = %s.id.short(), "search index: snapshot added");
        added += 1;
    }
    Ok(added)
}

const CATEGORY_DIRS: [&str; 5] = [
    categories::MAIL,
    categories::CONTACTS,
    categories::CALENDARS,
    categories::TASKS,
    categories::SETTINGS,
];

fn index_snapshot(
    repo: &Repository,
    batch: &mut IndexBatch<'_>,
    snapshot: &str,
    root: &BlobId,
) -> Result<()> {
    let root = repo.load_tree(root)?;
    for mbx in root.nodes.iter().filter(|n| n.kind == NodeKind::Dir) {
        let Some(mtree) = mbx.subtree else { continue };
        let mailbox_path = qcb_repo::join_path(&[&mbx.name]);
        for c in repo
            .load_tree(&mtree)?
            .nodes
            .iter()
            .filter(|n| n.kind == NodeKind::Dir)
        {
            let Some(sub) = c.subtree else { continue };
            // Older snapshots kept mail folders directly under the mailbox.
            let (category, folder) = if CATEGORY_DIRS.contains(&c.name.as_str()) {
                (c.name.to_lowercase(), String::new())
            } else {
                ("mail".to_string(), c.name.clone())
            };
            let mut stack = vec![(
                sub,
                folder,
                format!("{mailbox_path}{}", qcb_repo::join_path(&[&c.name])),
            )];
            while let Some((tree_id, folder, path)) = stack.pop() {
                let (row, known) = batch.tree(&tree_id.to_hex())?;
                batch.add_place(
                    row,
                    &FolderPlace {
                        snapshot: snapshot.to_string(),
                        tree: tree_id.to_hex(),
                        mailbox: mbx.name.clone(),
                        category: category.clone(),
                        folder: folder.clone(),
                        path: path.clone(),
                    },
                )?;
                let tree = repo.load_tree(&tree_id)?;
                for n in &tree.nodes {
                    match n.kind {
                        NodeKind::Dir => {
                            if let Some(s) = n.subtree {
                                let f = if folder.is_empty() {
                                    n.name.clone()
                                } else {
                                    format!("{folder}/{}", n.name)
                                };
                                stack.push((
                                    s,
                                    f,
                                    format!("{path}{}", qcb_repo::join_path(&[&n.name])),
                                ));
                            }
                        }
                        NodeKind::Item if !known => {
                            let key = version_key(n);
                            match batch.version(&key)? {
                                Some(v) => batch.add_existing_item(row, &n.name, v)?,
                                None => {
                                    let mut doc = read_doc(repo, n, &category);
                                    doc.key = key;
                                    doc.item_id = n.name.clone();
                                    batch.add_item(row, &n.name, &doc)?;
                                }
                            }
                        }
                        NodeKind::Item => {}
                    }
                }
            }
        }
    }
    Ok(())
}

/// An item version's key: its content blob ids and the summary its node carries (subject,
/// sender, date, attachments flag), since a changed property can leave the MIME as it was.
/// The read state and other flags are left out: flipping them is not a new version.
fn version_key(n: &qcb_repo::Node) -> String {
    let a = &n.attrs;
    let content = if n.content.is_empty() {
        format!("item:{}", n.name)
    } else {
        n.content
            .iter()
            .map(|b| b.to_hex())
            .collect::<Vec<_>>()
            .join(",")
    };
    format!(
        "{content}\n{}\n{}\n{}\n{}",
        a["subject"].as_str().unwrap_or(""),
        a["from"].as_str().unwrap_or(""),
        a["receivedDateTime"].as_str().unwrap_or(""),
        a["hasAttachments"].as_bool().unwrap_or(false)
    )
}

fn read_doc(repo: &Repository, n: &qcb_repo::Node, category: &str) -> IndexDoc {
    let raw = match repo.read_content(&n.content) {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(item = %n.name, "search index: item content unreadable, only its summary is indexed: {e}");
            Vec::new()
        }
    };
    if category == "mail" && n.attrs["kind"].is_null() {
        let props = n
            .meta
            .and_then(|m| repo.read_data(&m).ok())
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or(serde_json::Value::Null);
        extract::mail_doc(&raw, &props, &n.attrs)
    } else {
        extract::pim_doc(&raw, &n.attrs, category)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_translated() {
        assert_eq!(fts_query("budget  review"), "budget review");
        assert_eq!(fts_query("alice@example.com"), "\"alice@example.com\"");
        assert_eq!(fts_query("from:bob@x.org"), "sender:\"bob@x.org\"");
        assert_eq!(
            fts_query("attachment:report.pdf"),
            "attachments:\"report.pdf\""
        );
        assert_eq!(fts_query("subject:\"big plan\""), "subject:\"big plan\"");
        assert_eq!(
            fts_query("budg* OR (plan NOT draft)"),
            "budg* OR (plan NOT draft)"
        );
        assert_eq!(fts_query("\"unclosed"), "\"unclosed");
        assert_eq!(fts_query("  "), "");
    }

    #[test]
    fn dates_and_categories() {
        assert_eq!(
            date_bound("2026-11-27", false).unwrap(),
            "2026-11-27T00:00:00Z"
        );
        assert_eq!(
            date_bound("2026-11-27", true).unwrap(),
            "2026-11-28T00:00:00Z"
        );
        assert!(matches!(
            date_bound("27/11/2026", false),
            Err(EngineError::InvalidInput(_))
        ));
        assert_eq!(category("Event").unwrap(), "calendars");
        assert!(category("junk").is_err());
    }

    fn doc(key: &str, subject: &str, body: &str, date: &str) -> IndexDoc {
        IndexDoc {
            key: key.into(),
            item_id: format!("id-{key}"),
            category: "mail".into(),
            subject: subject.into(),
            sender: "Alice <alice@example.com>".into(),
            recipients: "bob@example.com".into(),
            body: body.into(),
            attachments: "plan.pdf".into(),
            date: date.into(),
            has_attachments: true,
        }
    }

    #[test]
    fn index_dedupes_versions_and_reports_syntax_errors() {
        let dir = tempfile::tempdir().unwrap();
        let mut idx = SearchIndex::open(&dir.path().join("s.sqlite")).unwrap();
        for (snap, time) in [
            ("s1", "2026-11-01T00:00:00Z"),
            ("s2", "2026-11-02T00:00:00Z"),
        ] {
            let mut b = idx.batch(snap, time).unwrap();
            let (row, known) = b.tree("t1").unwrap();
            assert_eq!(known, snap == "s2");
            b.add_place(
                row,
                &FolderPlace {
                    snapshot: snap.into(),
                    tree: "t1".into(),
                    mailbox: "alice@example.com".into(),
                    category: "mail".into(),
                    folder: "Inbox".into(),
                    path: "/alice@example.com/Mail/Inbox".into(),
                },
            )
            .unwrap();
            if !known {
                b.add_item(
                    row,
                    "m1",
                    &doc(
                        "k1",
                        "Quarterly budget",
                        "numbers inside",
                        "2026-10-01T00:00:00Z",
                    ),
                )
                .unwrap();
            }
            b.commit().unwrap();
        }
        let f = Filters::default();
        let r = idx.search("budget", &f, 10).unwrap();
        assert_eq!(r.total, 1);
        assert_eq!(r.hits[0].places.len(), 2);
        assert_eq!(r.hits[0].places[0].snapshot_id, "s2", "newest first");
        assert_eq!(r.hits[0].places[0].path, "/alice@example.com/Mail/Inbox/m1");
        assert!(
            r.hits[0].snippet.contains("«budget»"),
            "{}",
            r.hits[0].snippet
        );
        let r = idx.search(&fts_query("alice@example.com"), &f, 10).unwrap();
        assert_eq!(r.total, 1);
        // A prefix longer than the prefix indexes is expanded into the terms it matches.
        let r = idx.search("quarterl*", &f, 10).unwrap();
        assert_eq!(r.total, 1);
        assert_eq!(idx.search("subject:quarterl*", &f, 10).unwrap().total, 1);
        assert_eq!(idx.search("nothingsuch*", &f, 10).unwrap().total, 0);
        assert_eq!(idx.search("\"quarterly budg\"*", &f, 10).unwrap().total, 1);
        assert_eq!(r.total, 1);
        for bad in ["\"open", "budget AND", "nosuchcol:x", "(a"] {
            let e = idx.search(bad, &f, 10).unwrap_err();
            assert_eq!(e.code(), "invalid_input", "{bad}: {e}");
        }
        idx.remove_snapshots(&["s1".into(), "s2".into()]).unwrap();
        assert_eq!(idx.search("budget", &f, 10).unwrap().total, 0);
    }
}
