//! Simulated user activity between backups: new mail, moves, flag changes,
//! deletions and edits of events, drawn from a seeded PRNG over the
//! mailbox as it is now ([`Admin::simulate_activity`], `POST /_sim/activity`,
//! `qcb-graph-sim activity`).

use serde::{Deserialize, Serialize};

use crate::admin::{Admin, MessagePatch, NewMessage};
use crate::model::FlagStatus;
use crate::pim::admin::EventPatch;
use crate::rng::SplitMix64;

/// What to do in each mailbox. Counts are upper bounds: a mailbox with
/// fewer messages or events gets fewer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Activity {
    /// Ids or UPNs; empty: every mailbox (users and shared mailboxes).
    pub users: Vec<String>,
    /// Seed of the draws (same seed and tenant state, same changes).
    pub seed: u64,
    /// New received messages in the inbox, dated now.
    pub new_mail: usize,
    /// Messages moved to another folder below msgfolderroot.
    pub moves: usize,
    /// Messages whose flag (flagged ↔ not flagged / complete) and read
    /// state change.
    pub flag_changes: usize,
    /// Messages deleted as Outlook's Shift+Del or Graph's DELETE do: into
    /// Recoverable Items > Deletions (out of every folder a backup reads).
    pub deletions: usize,
    /// Events (single ones or series masters) whose subject and location
    /// change.
    pub event_edits: usize,
}

/// What was done, summed over the mailboxes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityReport {
    pub mailboxes: usize,
    pub new_mail: usize,
    pub moves: usize,
    pub flag_changes: usize,
    pub deletions: usize,
    pub event_edits: usize,
}

impl Admin {
    /// Carries out `a` (see [`Activity`]); each mailbox from a PRNG stream
    /// of its own.
    pub fn simulate_activity(&self, a: &Activity) -> ActivityReport {
        let users: Vec<String> = if a.users.is_empty() {
            self.users().into_iter().map(|u| u.id).collect()
        } else {
            a.users.clone()
        };
        let mut report = ActivityReport::default();
        for uid in &users {
            let Some(user) = self
                .users()
                .into_iter()
                .find(|u| u.id == *uid || u.user_principal_name.eq_ignore_ascii_case(uid))
            else {
                continue;
            };
            report.mailboxes += 1;
            let mut rng = SplitMix64::derive(a.seed, &format!("activity/{}", user.id));
            self.activity_in(&user.id, a, &mut rng, &mut report);
        }
        report
    }

    fn activity_in(&self, uid: &str, a: &Activity, rng: &mut SplitMix64, r: &mut ActivityReport) {
        for _ in 0..a.new_mail {
            let m = NewMessage::generated(rng.next_u64());
            if self.try_add_message(uid, "inbox", m).is_ok() {
                r.new_mail += 1;
            }
        }
        let folders: Vec<_> = self
            .folders(uid)
            .into_iter()
            .filter(|f| !f.path.is_empty() && !f.is_hidden)
            .collect();
        // Every message once at most, whatever happens to it.
        let mut pool: Vec<(String, String)> = folders
            .iter()
            .flat_map(|f| {
                self.messages(uid, &f.id)
                    .into_iter()
                    .filter(|m| !m.is_draft)
                    .map(|m| (m.id, m.folder_id))
            })
            .collect();
        let mut take = |rng: &mut SplitMix64| {
            (!pool.is_empty()).then(|| pool.swap_remove(rng.below(pool.len() as u64) as usize))
        };
        for _ in 0..a.moves {
            let Some((mid, from)) = take(rng) else { break };
            let dests: Vec<&str> = folders
                .iter()
                .filter(|f| f.id != from)
                .map(|f| f.id.as_str())
                .collect();
            if dests.is_empty() {
                break;
            }
            let dest: &str = dests[rng.below(dests.len() as u64) as usize];
            if self.move_message(uid, &mid, dest) {
                r.moves += 1;
            }
        }
        for _ in 0..a.flag_changes {
            let Some((mid, _)) = take(rng) else { break };
            let Some(m) = self.message(uid, &mid) else {
                continue;
            };
            let flag_status = match m.flag_status {
                FlagStatus::Flagged if rng.chance(50) => FlagStatus::Complete,
                FlagStatus::Flagged => FlagStatus::NotFlagged,
                _ => FlagStatus::Flagged,
            };
            let patch = MessagePatch {
                flag_status: Some(flag_status),
                is_read: Some(!m.is_read),
                ..Default::default()
            };
            if self.update_message(uid, &mid, patch) {
                r.flag_changes += 1;
            }
        }
        for _ in 0..a.deletions {
            let Some((mid, _)) = take(rng) else { break };
            if self.move_message(uid, &mid, crate::model::RECOVERABLE_ITEMS_DELETIONS) {
                r.deletions += 1;
            }
        }
        let mut events: Vec<String> = self
            .calendars(uid)
            .into_iter()
            .flat_map(|c| self.events(uid, &c.id))
            .map(|e| e.id)
            .collect();
        for _ in 0..a.event_edits {
            if events.is_empty() {
                break;
            }
            let eid = events.swap_remove(rng.below(events.len() as u64) as usize);
            let Some(e) = self.event(uid, &eid) else {
                continue;
            };
            let patch = EventPatch {
                subject: Some(format!("{} (verschoben ↻)", e.subject)),
                location: Some(format!("Raum {} 🏢", rng.range(100, 499))),
                ..Default::default()
            };
            if self.update_event(uid, &eid, patch).is_ok() {
                r.event_edits += 1;
            }
        }
    }
}
