//! Delta queries on contact folders, contacts, calendar views, events
//! (beta), To Do lists and tasks — with the same token semantics as the
//! message delta (`crate::delta`): a round covers the mailbox change
//! numbers `(from_seq, to_seq]`, pages are cut with a cursor so changes
//! made while paging land in the next round, and tokens are opaque
//! base64url with a keyed BLAKE3 MAC. A tampered token or one issued for
//! another collection is a 400 `syncStateNotFound`; a token from an earlier
//! server run is a 410 Gone `syncStateNotFound` with a `Location` to
//! restart from.

use axum::http::StatusCode;
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};

use crate::error::GraphError;
use crate::routes::{graph_json, preference_applied};
use crate::store::Tenant;

/// Distinct from the message tokens' version byte, so a message token is
/// never accepted here (and the other way round).
const TOKEN_VERSION: u8 = 0x21;

/// Which collection a token tracks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    /// `contactFolders/delta` (scope key 0).
    ContactFolders = 1,
    /// `contactFolders/{id}/contacts/delta`.
    Contacts = 2,
    /// `calendarView/delta` of one calendar.
    CalendarView = 3,
    /// beta `calendars/{id}/events/delta`.
    Events = 4,
    /// `todo/lists/delta` (scope key 0).
    TodoLists = 5,
    /// `todo/lists/{id}/tasks/delta`.
    Tasks = 6,
}

/// Sort key of a delta entry: (change number, key, sub-position, removal?).
pub(crate) type Pos = (u64, u64, i64, bool);

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct State {
    pub instance: u64,
    pub mailbox: u32,
    pub scope: u8,
    pub key: u64,
    pub initial: bool,
    pub from_seq: u64,
    pub to_seq: u64,
    pub cursor: Option<Pos>,
    pub select: Option<String>,
    /// `[start, end)` of a calendar view, or a beta events `startDateTime`
    /// (end = i64::MAX), as Unix seconds.
    pub window: Option<(i64, i64)>,
    pub page_size: Option<u32>,
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
    fn u64(&mut self) -> Option<u64> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8)?);
        Some(u64::from_le_bytes(a))
    }
    fn u32(&mut self) -> Option<u32> {
        let mut a = [0u8; 4];
        a.copy_from_slice(self.take(4)?);
        Some(u32::from_le_bytes(a))
    }
}

impl State {
    pub fn first(instance: u64, mailbox: usize, scope: Scope, key: u64, to_seq: u64) -> Self {
        State {
            instance,
            mailbox: mailbox as u32,
            scope: scope as u8,
            key,
            initial: true,
            from_seq: 0,
            to_seq,
            cursor: None,
            select: None,
            window: None,
            page_size: None,
        }
    }

    pub fn select_list(&self) -> Option<Vec<String>> {
        self.select
            .as_ref()
            .map(|s| s.split(',').map(str::to_string).collect())
    }

    pub fn encode(&self, key: &[u8; 32]) -> String {
        let mut b = vec![TOKEN_VERSION];
        b.extend_from_slice(&self.instance.to_le_bytes());
        b.extend_from_slice(&self.mailbox.to_le_bytes());
        b.push(self.scope);
        b.extend_from_slice(&self.key.to_le_bytes());
        b.push(u8::from(self.initial));
        b.extend_from_slice(&self.from_seq.to_le_bytes());
        b.extend_from_slice(&self.to_seq.to_le_bytes());
        match self.cursor {
            None => b.push(0),
            Some((s, k, sub, rm)) => {
                b.push(1);
                b.extend_from_slice(&s.to_le_bytes());
                b.extend_from_slice(&k.to_le_bytes());
                b.extend_from_slice(&sub.to_le_bytes());
                b.push(u8::from(rm));
            }
        }
        match &self.select {
            None => b.push(0),
            Some(s) => {
                b.push(1);
                let bytes = &s.as_bytes()[..s.len().min(4000)];
                b.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
                b.extend_from_slice(bytes);
            }
        }
        match self.window {
            None => b.push(0),
            Some((s, e)) => {
                b.push(1);
                b.extend_from_slice(&s.to_le_bytes());
                b.extend_from_slice(&e.to_le_bytes());
            }
        }
        b.extend_from_slice(&self.page_size.unwrap_or(0).to_le_bytes());
        let mac = blake3::keyed_hash(key, &b);
        b.extend_from_slice(&mac.as_bytes()[..16]);
        URL_SAFE_NO_PAD.encode(&b)
    }

    /// `Err(true)`: issued by an earlier run (expired); `Err(false)`: not ours.
    pub fn decode(token: &str, key: &[u8; 32], instance: u64) -> Result<Self, bool> {
        let b = URL_SAFE_NO_PAD
            .decode(token.trim().trim_end_matches('=').as_bytes())
            .map_err(|_| false)?;
        if b.len() < 17 {
            return Err(false);
        }
        let (body, mac) = b.split_at(b.len() - 16);
        if &blake3::keyed_hash(key, body).as_bytes()[..16] != mac {
            return Err(false);
        }
        let st = Self::read(body).ok_or(false)?;
        if st.instance != instance {
            return Err(true);
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
        let scope = r.u8()?;
        let key = r.u64()?;
        let initial = r.u8()? == 1;
        let from_seq = r.u64()?;
        let to_seq = r.u64()?;
        let cursor = match r.u8()? {
            0 => None,
            _ => Some((r.u64()?, r.u64()?, r.u64()? as i64, r.u8()? == 1)),
        };
        let select = match r.u8()? {
            0 => None,
            _ => {
                let n = r.u32()? as usize;
                Some(String::from_utf8(r.take(n)?.to_vec()).ok()?)
            }
        };
        let window = match r.u8()? {
            0 => None,
            _ => Some((r.u64()? as i64, r.u64()? as i64)),
        };
        let page_size = match r.u32()? {
            0 => None,
            n => Some(n),
        };
        if r.at != body.len() {
            return None;
        }
        Some(State {
            instance,
            mailbox,
            scope,
            key,
            initial,
            from_seq,
            to_seq,
            cursor,
            select,
            window,
            page_size,
        })
    }
}

fn sync_state_not_found(status: StatusCode, message: &str) -> GraphError {
    GraphError::new(status, "syncStateNotFound", message)
}

/// Where a delta request goes on from: `None` without a token (first
/// request of a round); with a `$skiptoken` the same round, with a
/// `$deltatoken` the next round up to the mailbox's change number now.
pub(crate) fn resume(
    t: &Tenant,
    skiptoken: Option<&str>,
    deltatoken: Option<&str>,
    mailbox: usize,
    scope: Scope,
    key: u64,
    base: &str,
) -> Result<Option<State>, GraphError> {
    let Some(tok) = skiptoken.or(deltatoken) else {
        return Ok(None);
    };
    let st = State::decode(tok, &t.key, t.instance).map_err(|expired| {
        if expired {
            sync_state_not_found(
                StatusCode::GONE,
                "The sync state generation is no longer available. Start a new synchronization from the initial request.",
            )
            .with_header(axum::http::header::LOCATION, base.to_string())
        } else {
            sync_state_not_found(
                StatusCode::BAD_REQUEST,
                "The sync state is invalid or was not issued for this collection.",
            )
        }
    })?;
    if st.mailbox as usize != mailbox || st.scope != scope as u8 || st.key != key {
        return Err(sync_state_not_found(
            StatusCode::BAD_REQUEST,
            "The sync state was issued for another collection.",
        ));
    }
    if skiptoken.is_some() {
        Ok(Some(st))
    } else {
        let seq = t.mailboxes[mailbox].seq;
        Ok(Some(State {
            cursor: None,
            to_seq: seq,
            ..st
        }))
    }
}

/// The entries after the state's cursor, at most `size`, and the cursor of
/// the last one when more remain.
pub(crate) fn page<T>(
    mut all: Vec<(Pos, T)>,
    cursor: Option<Pos>,
    size: usize,
) -> (Vec<T>, Option<Pos>) {
    all.sort_by_key(|e| e.0);
    let start = match cursor {
        None => 0,
        Some(c) => all.partition_point(|e| e.0 <= c),
    };
    let rest: Vec<(Pos, T)> = all.into_iter().skip(start).collect();
    let more = rest.len() > size;
    let mut last = None;
    let mut out = Vec::with_capacity(size.min(rest.len()));
    for (p, e) in rest.into_iter().take(size) {
        last = Some(p);
        out.push(e);
    }
    (out, if more { last } else { None })
}

/// The tombstones of `kind` in `scope` (the folder, calendar or list; 0 for folders and lists
/// themselves) deleted within the round `st` covers. None in a first round, which lists only
/// what exists.
pub(crate) fn deleted_in_round<'a>(
    tombstones: &'a [super::PimTombstone],
    st: &'a State,
    kind: super::Kind,
    scope: u64,
) -> impl Iterator<Item = &'a super::PimTombstone> + 'a {
    tombstones.iter().filter(move |tb| {
        !st.initial
            && tb.kind == kind
            && tb.scope == scope
            && tb.seq > st.from_seq
            && tb.seq <= st.to_seq
    })
}

/// Answers the page of `all` (every entry of the round, in any order) that starts after the
/// state's cursor: at most `size` entries, then `@odata.nextLink` while the round has more,
/// else `@odata.deltaLink`.
pub(crate) fn respond(
    key: &[u8; 32],
    context: String,
    base: &str,
    state: State,
    all: Vec<(Pos, Value)>,
    size: usize,
    applied: Vec<String>,
) -> Response {
    let (value, next) = page(all, state.cursor, size);
    let mut out = Map::new();
    out.insert("@odata.context".into(), json!(context));
    match next {
        Some(cursor) => {
            let st = State {
                cursor: Some(cursor),
                ..state
            };
            out.insert(
                "@odata.nextLink".into(),
                json!(format!("{base}?$skiptoken={}", st.encode(key))),
            );
        }
        None => {
            let st = State {
                initial: false,
                from_seq: state.to_seq,
                to_seq: 0,
                cursor: None,
                ..state
            };
            out.insert(
                "@odata.deltaLink".into(),
                json!(format!("{base}?$deltatoken={}", st.encode(key))),
            );
        }
    }
    out.insert("value".into(), Value::Array(value));
    let mut resp = graph_json(StatusCode::OK, Value::Object(out));
    preference_applied(&mut resp, &applied);
    resp
}

/// `{"@odata.type": …, "id": …, "@removed": {"reason": "deleted"}}`
pub(crate) fn removed(entity: &str, id: String) -> Value {
    json!({
        "@odata.type": format!("#microsoft.graph.{entity}"),
        "id": id,
        "@removed": {"reason": "deleted"}
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_reject_tampering() {
        let key = [5u8; 32];
        let st = State {
            cursor: Some((3, 4, -5, true)),
            select: Some("displayName,givenName".into()),
            window: Some((100, 200)),
            page_size: Some(9),
            ..State::first(7, 2, Scope::CalendarView, 42, 10)
        };
        let t = st.encode(&key);
        assert_eq!(State::decode(&t, &key, 7), Ok(st));
        assert_eq!(State::decode(&t, &key, 8), Err(true));
        assert_eq!(State::decode(&t, &[6u8; 32], 7), Err(false));
        assert_eq!(State::decode("x", &key, 7), Err(false));
    }

    #[test]
    fn paging_resumes_after_the_cursor() {
        let all: Vec<(Pos, u32)> = (0..5).map(|i| ((i, i, 0, false), i as u32)).collect();
        let (p, next) = page(all.clone(), None, 2);
        assert_eq!(p, vec![0, 1]);
        let (p, next) = page(all.clone(), next, 2);
        assert_eq!(p, vec![2, 3]);
        let (p, next) = page(all, next, 2);
        assert_eq!((p, next), (vec![4], None));
    }
}
