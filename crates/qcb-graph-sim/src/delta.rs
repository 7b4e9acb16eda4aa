//! Delta queries on the messages of one folder
//! (`GET /users/{id}/mailFolders/{id}/messages/delta`).
//!
//! A *round* covers the changes with a mailbox change number in
//! `(from_seq, to_seq]`: the first round (`initial`) returns every message
//! in the folder; later rounds return messages created, changed or moved
//! in, and `@removed` entries for messages deleted or moved out. Pages are
//! cut with a cursor `(change number, key)` so that changes made while a
//! round is being paged never make it skip an item (they show up in the next
//! round instead).
//!
//! State tokens (`$skiptoken`, `$deltatoken`) are opaque: base64url of a
//! small binary struct and a keyed BLAKE3 MAC. A tampered token is a 400
//! `syncStateNotFound`; a token from an earlier server run is a 410 Gone
//! `syncStateNotFound` with a `Location` to restart from.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::ids::IdForm;
use crate::model::{Mailbox, Message};
use crate::odata::ReceivedFilter;

const TOKEN_VERSION: u8 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChangeType {
    Created = 1,
    Updated = 2,
    Deleted = 3,
}

impl ChangeType {
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "created" => Some(ChangeType::Created),
            "updated" => Some(ChangeType::Updated),
            "deleted" => Some(ChangeType::Deleted),
            _ => None,
        }
    }
    fn from_u8(b: u8) -> Option<Self> {
        match b {
            1 => Some(ChangeType::Created),
            2 => Some(ChangeType::Updated),
            3 => Some(ChangeType::Deleted),
            _ => None,
        }
    }
}

/// Everything a delta link needs to continue (encoded in the token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DeltaState {
    pub instance: u64,
    pub mailbox: u32,
    pub folder: u64,
    pub initial: bool,
    pub from_seq: u64,
    /// Upper bound of the round being paged (skip tokens only).
    pub to_seq: u64,
    /// Last entry returned: (change number, key, tombstone?).
    pub cursor: Option<(u64, u64, bool)>,
    pub select: Option<String>,
    pub expand: Option<String>,
    pub filter: Option<ReceivedFilter>,
    pub change_type: Option<ChangeType>,
    pub page_size: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenError {
    /// Not a token we issued (or tampered with).
    Invalid,
    /// Issued by an earlier run of the server: sync state is gone.
    Expired,
}

fn put_str(b: &mut Vec<u8>, s: &Option<String>) {
    match s {
        None => b.extend_from_slice(&u16::MAX.to_le_bytes()),
        Some(s) => {
            let bytes = s.as_bytes();
            let n = bytes.len().min(u16::MAX as usize - 1);
            b.extend_from_slice(&(n as u16).to_le_bytes());
            b.extend_from_slice(&bytes[..n]);
        }
    }
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.b.get(self.at..self.at + n)?;
        self.at += n;
        Some(s)
    }
    fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }
    fn u16(&mut self) -> Option<u16> {
        let s = self.take(2)?;
        Some(u16::from_le_bytes([s[0], s[1]]))
    }
    fn u32(&mut self) -> Option<u32> {
        let s = self.take(4)?;
        Some(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    }
    fn u64(&mut self) -> Option<u64> {
        let s = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(s);
        Some(u64::from_le_bytes(a))
    }
    fn i64(&mut self) -> Option<i64> {
        Some(self.u64()? as i64)
    }
    fn string(&mut self) -> Option<Option<String>> {
        let n = self.u16()?;
        if n == u16::MAX {
            return Some(None);
        }
        let s = self.take(n as usize)?;
        Some(Some(String::from_utf8(s.to_vec()).ok()?))
    }
}

impl DeltaState {
    /// The state of a first round over `folder` of mailbox `mailbox`, up to
    /// change number `to_seq`, without query options.
    pub fn first_round(instance: u64, mailbox: u32, folder: u64, to_seq: u64) -> Self {
        DeltaState {
            instance,
            mailbox,
            folder,
            initial: true,
            from_seq: 0,
            to_seq,
            cursor: None,
            select: None,
            expand: None,
            filter: None,
            change_type: None,
            page_size: None,
        }
    }

    /// The `$select` list the state carries (stored comma-joined).
    pub fn select_list(&self) -> Option<Vec<String>> {
        self.select
            .as_ref()
            .map(|s| s.split(',').map(str::to_string).collect())
    }

    pub fn encode(&self, key: &[u8; 32]) -> String {
        let mut b = vec![TOKEN_VERSION];
        b.extend_from_slice(&self.instance.to_le_bytes());
        b.extend_from_slice(&self.mailbox.to_le_bytes());
        b.extend_from_slice(&self.folder.to_le_bytes());
        b.push(u8::from(self.initial));
        b.extend_from_slice(&self.from_seq.to_le_bytes());
        b.extend_from_slice(&self.to_seq.to_le_bytes());
        match self.cursor {
            None => b.push(0),
            Some((seq, k, tomb)) => {
                b.push(1);
                b.extend_from_slice(&seq.to_le_bytes());
                b.extend_from_slice(&k.to_le_bytes());
                b.push(u8::from(tomb));
            }
        }
        put_str(&mut b, &self.select);
        put_str(&mut b, &self.expand);
        match self.filter {
            None => b.push(0),
            Some(f) => {
                b.push(if f.strict { 2 } else { 1 });
                b.extend_from_slice(&f.at.timestamp().to_le_bytes());
            }
        }
        b.push(self.change_type.map(|c| c as u8).unwrap_or(0));
        b.extend_from_slice(&self.page_size.unwrap_or(0).to_le_bytes());
        let mac = blake3::keyed_hash(key, &b);
        b.extend_from_slice(&mac.as_bytes()[..16]);
        URL_SAFE_NO_PAD.encode(&b)
    }

    pub fn decode(token: &str, key: &[u8; 32], instance: u64) -> Result<Self, TokenError> {
        let b = URL_SAFE_NO_PAD
            .decode(token.trim().trim_end_matches('=').as_bytes())
            .map_err(|_| TokenError::Invalid)?;
        if b.len() < 17 {
            return Err(TokenError::Invalid);
        }
        let (body, mac) = b.split_at(b.len() - 16);
        if &blake3::keyed_hash(key, body).as_bytes()[..16] != mac {
            return Err(TokenError::Invalid);
        }
        let st = Self::read(body).ok_or(TokenError::Invalid)?;
        if st.instance != instance {
            return Err(TokenError::Expired);
        }
        Ok(st)
    }

    fn read(body: &[u8]) -> Option<Self> {
        let mut r = Reader { b: body, at: 0 };
        if r.u8()? != TOKEN_VERSION {
            return None;
        }
        let instance = r.u64()?;
        let mailbox = r.u32()?;
        let folder = r.u64()?;
        let initial = r.u8()? == 1;
        let from_seq = r.u64()?;
        let to_seq = r.u64()?;
        let cursor = match r.u8()? {
            0 => None,
            _ => Some((r.u64()?, r.u64()?, r.u8()? == 1)),
        };
        let select = r.string()?;
        let expand = r.string()?;
        let filter = match r.u8()? {
            0 => None,
            s => Some(ReceivedFilter {
                strict: s == 2,
                at: chrono::DateTime::from_timestamp(r.i64()?, 0)?,
            }),
        };
        let change_type = ChangeType::from_u8(r.u8()?);
        let page_size = match r.u32()? {
            0 => None,
            n => Some(n),
        };
        if r.at != body.len() {
            return None;
        }
        Some(Self {
            instance,
            mailbox,
            folder,
            initial,
            from_seq,
            to_seq,
            cursor,
            select,
            expand,
            filter,
            change_type,
            page_size,
        })
    }
}

/// One entry of a delta page.
pub(crate) enum Entry<'a> {
    Item(&'a Message),
    Removed {
        key: u64,
        folder: u64,
        move_gen: u16,
    },
}

/// Sort key of an entry: (change number, key, tombstone?).
type Pos = (u64, u64, bool);

/// All entries of a round, in cursor order.
fn entries<'a>(
    mbx: &'a Mailbox,
    st: &DeltaState,
    to_seq: u64,
    form: IdForm,
) -> Vec<(Pos, Entry<'a>)> {
    let mut out: Vec<(Pos, Entry<'a>)> = Vec::new();
    let want_items = st.change_type != Some(ChangeType::Deleted);
    if want_items {
        for m in mbx.messages_in(st.folder) {
            if m.change_seq > to_seq {
                continue;
            }
            if !st.initial {
                if m.change_seq <= st.from_seq {
                    continue;
                }
                let created = m.arrival_seq > st.from_seq;
                match st.change_type {
                    Some(ChangeType::Created) if !created => continue,
                    Some(ChangeType::Updated) if created => continue,
                    _ => {}
                }
            }
            if let Some(f) = &st.filter
                && !f.matches(&m.props.received)
            {
                continue;
            }
            out.push(((m.change_seq, m.key, false), Entry::Item(m)));
        }
    }
    let want_removed = !st.initial && matches!(st.change_type, None | Some(ChangeType::Deleted));
    if want_removed {
        // Latest tombstone per id the client may know.
        let mut seen: std::collections::BTreeMap<(u64, u16), u64> = Default::default();
        for t in &mbx.tombstones {
            if t.folder != st.folder || t.seq <= st.from_seq || t.seq > to_seq {
                continue;
            }
            let present = mbx.messages.get(&t.key).filter(|m| m.folder == st.folder);
            let stale = match (present, form) {
                (None, _) => true,
                // Back in the folder: the immutable id is still valid.
                (Some(_), IdForm::Immutable) => false,
                // Back in the folder with a new regular id: the old one is gone.
                (Some(m), IdForm::Regular) => m.move_gen != t.move_gen,
            };
            if !stale {
                continue;
            }
            let id_key = match form {
                IdForm::Immutable => (t.key, 0),
                IdForm::Regular => (t.key, t.move_gen),
            };
            let e = seen.entry(id_key).or_insert(t.seq);
            if *e < t.seq {
                *e = t.seq;
            }
        }
        for ((key, move_gen), seq) in seen {
            out.push((
                (seq, key, true),
                Entry::Removed {
                    key,
                    folder: st.folder,
                    move_gen,
                },
            ));
        }
    }
    out.sort_by_key(|e| e.0);
    out
}

/// One page of a round: the entries after the state's cursor, and the
/// cursor of the last one if more remain.
pub(crate) fn page<'a>(
    mbx: &'a Mailbox,
    st: &DeltaState,
    to_seq: u64,
    form: IdForm,
    page_size: usize,
) -> (Vec<Entry<'a>>, Option<Pos>) {
    let all = entries(mbx, st, to_seq, form);
    let start = match st.cursor {
        None => 0,
        Some(c) => all.partition_point(|e| e.0 <= c),
    };
    let rest: Vec<(Pos, Entry<'a>)> = all.into_iter().skip(start).collect();
    let more = rest.len() > page_size;
    let mut last = None;
    let mut page = Vec::with_capacity(page_size.min(rest.len()));
    for (pos, e) in rest.into_iter().take(page_size) {
        last = Some(pos);
        page.push(e);
    }
    (page, if more { last } else { None })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> DeltaState {
        DeltaState {
            instance: 9,
            mailbox: 1,
            folder: 42,
            initial: false,
            from_seq: 10,
            to_seq: 20,
            cursor: Some((12, 7, true)),
            select: Some("subject,isRead".into()),
            expand: None,
            filter: None,
            change_type: Some(ChangeType::Created),
            page_size: Some(7),
        }
    }

    #[test]
    fn token_round_trip() {
        let key = [3u8; 32];
        let st = state();
        let t = st.encode(&key);
        assert!(
            t.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
        assert_eq!(DeltaState::decode(&t, &key, 9), Ok(st));
    }

    #[test]
    fn tampered_or_foreign_tokens_fail() {
        let key = [3u8; 32];
        let t = state().encode(&key);
        let mut chars: Vec<char> = t.chars().collect();
        chars[5] = if chars[5] == 'A' { 'B' } else { 'A' };
        let bad: String = chars.into_iter().collect();
        assert_eq!(DeltaState::decode(&bad, &key, 9), Err(TokenError::Invalid));
        assert_eq!(
            DeltaState::decode("garbage!", &key, 9),
            Err(TokenError::Invalid)
        );
        assert_eq!(
            DeltaState::decode(&t, &[4u8; 32], 9),
            Err(TokenError::Invalid)
        );
        assert_eq!(DeltaState::decode(&t, &key, 10), Err(TokenError::Expired));
    }
}
