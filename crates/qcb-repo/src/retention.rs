//! Retention policies and `forget`: which snapshots to keep, and why.
//!
//! The rules are restic's (keep the last N, keep everything within a span, keep the newest
//! snapshot of each of the last N hours/days/weeks/months/years) plus a *deleted-item
//! retention* window as in Ahsay: an item that disappeared from the mailbox stays restorable
//! for at least that long after the first snapshot that no longer had it, even when the rules
//! would forget every snapshot that holds it. Items are identified by their node name (the
//! engine names items by Exchange's immutable id), wherever they sit in the tree.
//!
//! Snapshots are grouped by their tags (one backup set, one group); each group is judged on its
//! own, and the newest snapshot of a group is always kept.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Datelike, Timelike, Utc};
use serde::{Deserialize, Serialize};

use crate::backend::FileKind;
use crate::error::{Error, Result};
use crate::ids::{BlobId, SnapshotId};
use crate::repository::Repository;
use crate::tree::{NodeKind, Snapshot};

/// A length of time written as a number and a unit: `36h`, `30d`, `8w`, `6m` (30-day months),
/// `2y` (365-day years).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub seconds: u64,
    text_unit: char,
    text_count: u64,
}

impl Span {
    pub fn parse(text: &str) -> std::result::Result<Span, String> {
        let t = text.trim();
        let unit = t
            .chars()
            .last()
            .ok_or_else(|| "an empty duration; write e.g. 30d".to_string())?;
        let per = match unit {
            'h' => 3600,
            'd' => 86_400,
            'w' => 7 * 86_400,
            'm' => 30 * 86_400,
            'y' => 365 * 86_400,
            _ => {
                return Err(format!(
                    "{text:?}: end the duration with h, d, w, m or y (e.g. 30d)"
                ));
            }
        };
        let count: u64 = t[..t.len() - 1]
            .trim()
            .parse()
            .map_err(|_| format!("{text:?} is not a duration such as 30d"))?;
        if count == 0 || count > 1_000_000 {
            return Err(format!(
                "{text:?}: the duration must be between 1 and 1000000 {unit}"
            ));
        }
        Ok(Span {
            seconds: count * per,
            text_unit: unit,
            text_count: count,
        })
    }

    pub fn as_chrono(&self) -> chrono::Duration {
        chrono::Duration::seconds(self.seconds as i64)
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.text_count, self.text_unit)
    }
}

impl Serialize for Span {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Span {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Span::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// A retention policy. Every rule is optional; a snapshot is kept if any rule keeps it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct RetentionPolicy {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_last: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_within: Option<Span>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_hourly: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_daily: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_weekly: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_monthly: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_yearly: Option<u32>,
    /// Items deleted from the mailbox stay restorable at least this long.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_item_retention: Option<Span>,
}

impl RetentionPolicy {
    /// A policy without any keep rule would forget everything but the newest snapshot; that
    /// is refused rather than guessed.
    pub fn is_empty(&self) -> bool {
        self.keep_last.is_none()
            && self.keep_within.is_none()
            && self.keep_hourly.is_none()
            && self.keep_daily.is_none()
            && self.keep_weekly.is_none()
            && self.keep_monthly.is_none()
            && self.keep_yearly.is_none()
    }
}

/// What `forget` decided for one snapshot.
#[derive(Debug, Clone, Serialize)]
pub struct ForgetDecision {
    pub snapshot: SnapshotId,
    pub time: DateTime<Utc>,
    /// The group (its tags, joined by commas; empty for untagged snapshots).
    pub group: String,
    pub keep: bool,
    /// Why it is kept (empty when it goes).
    pub reasons: Vec<String>,
}

#[derive(Clone, Copy)]
enum Bucket {
    Hourly,
    Daily,
    Weekly,
    Monthly,
    Yearly,
}

impl Bucket {
    fn key(self, t: &DateTime<Utc>) -> (i32, u32, u32, u32) {
        match self {
            Bucket::Hourly => (t.year(), t.month(), t.day(), t.hour()),
            Bucket::Daily => (t.year(), t.month(), t.day(), 0),
            Bucket::Weekly => {
                let w = t.iso_week();
                (w.year(), w.week(), 0, 0)
            }
            Bucket::Monthly => (t.year(), t.month(), 0, 0),
            Bucket::Yearly => (t.year(), 0, 0, 0),
        }
    }
    fn label(self) -> &'static str {
        match self {
            Bucket::Hourly => "hourly",
            Bucket::Daily => "daily",
            Bucket::Weekly => "weekly",
            Bucket::Monthly => "monthly",
            Bucket::Yearly => "yearly",
        }
    }
}

/// Which items one snapshot holds: the item-name hashes of each tree it reaches (shared
/// between snapshots through the memo, so unchanged folders cost nothing).
pub type ItemSet = Vec<Arc<Vec<u64>>>;

/// Applies `policy` to `snapshots` (any order) at time `now`. `items` is asked for a
/// snapshot's items only when the policy has a deleted-item retention.
pub fn plan_forget(
    snapshots: &[Snapshot],
    policy: &RetentionPolicy,
    now: DateTime<Utc>,
    mut items: impl FnMut(&Snapshot) -> Result<ItemSet>,
) -> Result<Vec<ForgetDecision>> {
    if policy.is_empty() {
        return Err(Error::InvalidArgument(
            "the retention policy has no keep rule (keep-last, keep-within, keep-daily ...); \
             refusing to forget every snapshot"
                .into(),
        ));
    }
    let mut groups: HashMap<String, Vec<&Snapshot>> = HashMap::new();
    for s in snapshots {
        let mut tags = s.tags.clone();
        tags.sort();
        groups.entry(tags.join(",")).or_default().push(s);
    }
    let mut out = Vec::new();
    let mut group_names: Vec<_> = groups.keys().cloned().collect();
    group_names.sort();
    for group in group_names {
        let mut list = groups.remove(&group).expect("group exists");
        // Newest first.
        list.sort_by(|a, b| b.time.cmp(&a.time).then_with(|| b.id.cmp(&a.id)));
        let mut reasons: Vec<Vec<String>> = vec![Vec::new(); list.len()];
        reasons[0].push("newest snapshot".into());
        if let Some(n) = policy.keep_last {
            for r in reasons.iter_mut().take(n as usize) {
                r.push(format!("last {n}"));
            }
        }
        if let Some(span) = policy.keep_within {
            for (s, r) in list.iter().zip(reasons.iter_mut()) {
                if now - s.time <= span.as_chrono() {
                    r.push(format!("within {span}"));
                }
            }
        }
        for (count, bucket) in [
            (policy.keep_hourly, Bucket::Hourly),
            (policy.keep_daily, Bucket::Daily),
            (policy.keep_weekly, Bucket::Weekly),
            (policy.keep_monthly, Bucket::Monthly),
            (policy.keep_yearly, Bucket::Yearly),
        ] {
            let Some(mut left) = count else { continue };
            let mut last = None;
            for (s, r) in list.iter().zip(reasons.iter_mut()) {
                if left == 0 {
                    break;
                }
                let key = bucket.key(&s.time);
                if last != Some(key) {
                    r.push(format!(
                        "{} {}",
                        bucket.label(),
                        s.time.format("%Y-%m-%d %H:00")
                    ));
                    last = Some(key);
                    left -= 1;
                }
            }
        }
        if let Some(window) = policy.deleted_item_retention {
            protect_deleted_items(&list, &mut reasons, window, now, &mut items)?;
        }
        for (s, r) in list.iter().zip(reasons) {
            out.push(ForgetDecision {
                snapshot: s.id.clone(),
                time: s.time,
                group: group.clone(),
                keep: !r.is_empty(),
                reasons: r,
            });
        }
    }
    out.sort_by(|a, b| {
        a.time
            .cmp(&b.time)
            .then_with(|| a.snapshot.cmp(&b.snapshot))
    });
    Ok(out)
}

/// Keeps, for every item deleted within `window`, the newest snapshot that still held it,
/// unless a snapshot already kept holds it. `list` is newest first.
fn protect_deleted_items(
    list: &[&Snapshot],
    reasons: &mut [Vec<String>],
    window: Span,
    now: DateTime<Utc>,
    items: &mut impl FnMut(&Snapshot) -> Result<ItemSet>,
) -> Result<()> {
    let sets: Vec<ItemSet> = list.iter().map(|s| items(s)).collect::<Result<_>>()?;
    let flat =
        |set: &ItemSet| -> HashSet<u64> { set.iter().flat_map(|v| v.iter().copied()).collect() };
    let newest = flat(&sets[0]);
    // Items held by snapshots already kept.
    let mut kept: HashSet<u64> = HashSet::new();
    for (set, r) in sets.iter().zip(reasons.iter()) {
        if !r.is_empty() {
            kept.extend(set.iter().flat_map(|v| v.iter().copied()));
        }
    }
    // Walk from newest to oldest; `seen_later` holds items present in some newer snapshot.
    let mut seen_later = newest.clone();
    for i in 1..list.len() {
        let here = flat(&sets[i]);
        // Items here but in no newer snapshot were deleted when snapshot i-1 was taken.
        let deleted_at = list[i - 1].time;
        let protected = now - deleted_at < window.as_chrono();
        let mut rescued = 0usize;
        if protected {
            for item in here.iter() {
                if !seen_later.contains(item) && !kept.contains(item) {
                    rescued += 1;
                }
            }
        }
        if rescued > 0 {
            reasons[i].push(format!(
                "deleted-item retention {window}: holds {rescued} item(s) deleted from the mailbox by {}",
                deleted_at.format("%Y-%m-%d %H:%M")
            ));
            kept.extend(here.iter().copied());
        }
        seen_later.extend(here);
    }
    Ok(())
}

fn item_hash(name: &str) -> u64 {
    let h = blake3::hash(name.as_bytes());
    u64::from_le_bytes(h.as_bytes()[..8].try_into().expect("8 bytes"))
}

impl Repository {
    /// The items a snapshot holds, for [`plan_forget`]. `memo` shares work between snapshots.
    pub fn snapshot_items(
        &self,
        snapshot: &Snapshot,
        memo: &mut HashMap<BlobId, Arc<Vec<u64>>>,
    ) -> Result<ItemSet> {
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        let mut stack = vec![snapshot.tree];
        while let Some(id) = stack.pop() {
            if !seen.insert(id) {
                continue;
            }
            let tree = self.load_tree(&id)?;
            for n in &tree.nodes {
                stack.extend(n.subtree);
            }
            let entry = memo.entry(id).or_insert_with(|| {
                Arc::new(
                    tree.nodes
                        .iter()
                        .filter(|n| n.kind == NodeKind::Item)
                        .map(|n| item_hash(&n.name))
                        .collect(),
                )
            });
            out.push(entry.clone());
        }
        Ok(out)
    }

    /// Decides what `policy` forgets now. Reads nothing but snapshots (and trees when the
    /// policy has a deleted-item retention). Damaged snapshot files are not judged (`check`
    /// names them).
    pub fn plan_forget(
        &self,
        policy: &RetentionPolicy,
        now: DateTime<Utc>,
    ) -> Result<Vec<ForgetDecision>> {
        let snapshots = self.list_snapshots()?;
        if snapshots.is_empty() {
            return Ok(Vec::new());
        }
        let mut memo = HashMap::new();
        plan_forget(&snapshots, policy, now, |s| {
            self.snapshot_items(s, &mut memo)
        })
    }

    /// Removes the snapshot files of the decisions that do not keep. Data is freed by `prune`.
    /// Hold an exclusive lock.
    pub fn forget(&self, decisions: &[ForgetDecision]) -> Result<usize> {
        let mut removed = 0;
        for d in decisions.iter().filter(|d| !d.keep) {
            self.inner
                .backend
                .delete(FileKind::Snapshot, &d.snapshot.0)?;
            removed += 1;
        }
        tracing::info!(removed, "snapshots forgotten");
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn snap(i: u8, time: DateTime<Utc>) -> Snapshot {
        Snapshot {
            id: SnapshotId(format!("{i:02x}").repeat(32)),
            time,
            hostname: "h".into(),
            program: "t".into(),
            tree: BlobId([i; 32]),
            parent: None,
            tags: vec!["set-a".into()],
            summary: serde_json::Value::Null,
        }
    }

    fn at(d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, d, h, 0, 0).unwrap()
    }

    fn kept(decisions: &[ForgetDecision]) -> Vec<DateTime<Utc>> {
        decisions
            .iter()
            .filter(|d| d.keep)
            .map(|d| d.time)
            .collect()
    }

    #[test]
    fn spans_parse_and_print() {
        assert_eq!(Span::parse("30d").unwrap().seconds, 30 * 86_400);
        assert_eq!(Span::parse("36h").unwrap().to_string(), "36h");
        for bad in ["", "d", "30", "0d", "-3d", "3x", "1.5d"] {
            assert!(Span::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn empty_policy_is_refused() {
        let s = vec![snap(1, at(1, 0))];
        let err = plan_forget(&s, &RetentionPolicy::default(), at(2, 0), |_| Ok(vec![]));
        assert!(matches!(err, Err(Error::InvalidArgument(_))));
    }

    #[test]
    fn keep_last_and_daily_keep_the_newest_per_day() {
        // Two snapshots a day for five days.
        let snaps: Vec<_> = (1..=5u32)
            .flat_map(|d| {
                [
                    snap((d * 2) as u8, at(d, 8)),
                    snap((d * 2 + 1) as u8, at(d, 20)),
                ]
            })
            .collect();
        let policy = RetentionPolicy {
            keep_last: Some(1),
            keep_daily: Some(3),
            ..Default::default()
        };
        let d = plan_forget(&snaps, &policy, at(6, 0), |_| Ok(vec![])).unwrap();
        assert_eq!(kept(&d), vec![at(3, 20), at(4, 20), at(5, 20)]);
        let newest = d.iter().find(|x| x.time == at(5, 20)).unwrap();
        assert!(
            newest.reasons.iter().any(|r| r == "last 1"),
            "{:?}",
            newest.reasons
        );
        assert!(d.iter().filter(|x| !x.keep).all(|x| x.reasons.is_empty()));
    }

    #[test]
    fn keep_within_and_groups_are_separate() {
        let mut other = snap(9, at(1, 0));
        other.tags = vec!["set-b".into()];
        let snaps = vec![
            snap(1, at(1, 0)),
            snap(2, at(10, 0)),
            snap(3, at(20, 0)),
            other,
        ];
        let policy = RetentionPolicy {
            keep_within: Some(Span::parse("15d").unwrap()),
            ..Default::default()
        };
        let d = plan_forget(&snaps, &policy, at(21, 0), |_| Ok(vec![])).unwrap();
        // set-a keeps the two within 15 days; set-b keeps its only (newest) snapshot.
        assert_eq!(kept(&d), vec![at(1, 0), at(10, 0), at(20, 0)]);
        assert_eq!(d.iter().filter(|x| !x.keep).count(), 1);
        assert_eq!(d.iter().find(|x| !x.keep).unwrap().group, "set-a");
    }

    #[test]
    fn deleted_item_retention_keeps_the_last_snapshot_holding_a_recently_deleted_item() {
        // Item 7 exists in snapshots 1-3 and is deleted before snapshot 4 (day 4).
        let snaps = vec![
            snap(1, at(1, 0)),
            snap(2, at(2, 0)),
            snap(3, at(3, 0)),
            snap(4, at(4, 0)),
            snap(5, at(5, 0)),
        ];
        let items = |s: &Snapshot| -> Result<ItemSet> {
            let n = s.tree.0[0];
            let mut v = vec![1u64];
            if n <= 3 {
                v.push(7);
            }
            Ok(vec![Arc::new(v)])
        };
        let policy = |window: &str| RetentionPolicy {
            keep_last: Some(1),
            deleted_item_retention: Some(Span::parse(window).unwrap()),
            ..Default::default()
        };
        // Deleted on day 4, now day 6: within a 7-day window, snapshot 3 stays.
        let d = plan_forget(&snaps, &policy("7d"), at(6, 0), items).unwrap();
        assert_eq!(kept(&d), vec![at(3, 0), at(5, 0)]);
        let why = &d.iter().find(|x| x.time == at(3, 0)).unwrap().reasons;
        assert!(why[0].contains("1 item(s) deleted"), "{why:?}");
        // Outside a 1-day window it goes.
        let d = plan_forget(&snaps, &policy("1d"), at(6, 0), items).unwrap();
        assert_eq!(kept(&d), vec![at(5, 0)]);
        // A snapshot kept by another rule that holds the item makes the rescue unnecessary.
        let mut p = policy("7d");
        p.keep_within = Some(Span::parse("4d").unwrap()); // keeps day 2 onwards... at(6)-4d = day 2
        let d = plan_forget(&snaps, &p, at(6, 0), items).unwrap();
        assert!(d.iter().all(|x| x.time < at(2, 0) || x.keep));
        assert!(
            d.iter()
                .all(|x| x.reasons.iter().all(|r| !r.contains("deleted-item")))
        );
    }
}
