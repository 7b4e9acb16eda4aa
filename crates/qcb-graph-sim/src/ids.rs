//! Exchange-looking identifiers.
//!
//! Real Exchange ids are base64 (URL-safe alphabet, with `=` padding) of a
//! binary entry id that embeds the mailbox GUID as ASCII, so they all start
//! with `AAMkA` (regular ids), `AQMkA` (default folders) or `AAkALg`
//! (immutable ids). We build ids with the same look:
//!
//! ```text
//! header | kind | filler | marker | fields | filler | checksum(6)
//! ```
//!
//! * header: `00 03 24 00` + mailbox GUID as ASCII (regular ids; `01 ..` for
//!   well-known folders), or `00 09 00 2e 00 00 00 00 00` + raw GUID
//!   (immutable ids);
//! * the marker `fb ff bf` sits at an offset divisible by 3, so every id
//!   contains `-_-_` (clients must cope with `-` and `_` in ids);
//! * fields hold the store keys; fillers are a hash of the content so ids
//!   look random but are deterministic;
//! * the total length depends on the kind, so some ids end in `=`, some in
//!   `==` and some have no padding.
//!
//! A regular message id includes the folder key and a move counter, so it
//! changes when the message moves (as in Exchange); the immutable id does not.

use base64::Engine as _;
use base64::alphabet;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD, URL_SAFE};

const MARKER: [u8; 3] = [0xfb, 0xff, 0xbf];

const KIND_FOLDER: u8 = b'F';
const KIND_MESSAGE: u8 = b'M';
const KIND_IMMUTABLE_MESSAGE: u8 = b'I';
const KIND_ATTACHMENT: u8 = b'A';
const KIND_IMMUTABLE_ATTACHMENT: u8 = b'J';
const KIND_OCCURRENCE: u8 = b'O';
const KIND_IMMUTABLE_OCCURRENCE: u8 = b'Q';

const LEN_FOLDER: usize = 106; // == padding
const LEN_MESSAGE: usize = 107; // =  padding
const LEN_IMMUTABLE_MESSAGE: usize = 108; // no padding
const LEN_ATTACHMENT: usize = 125;
const LEN_IMMUTABLE_ATTACHMENT: usize = 126;
const LEN_OCCURRENCE: usize = 131;
const LEN_IMMUTABLE_OCCURRENCE: usize = 132;

/// What an id refers to, once decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IdRef {
    Folder {
        key: u64,
    },
    /// A regular (movable) message id: valid only while the message is in
    /// `folder` with the same `move_gen`.
    Message {
        key: u64,
        folder: u64,
        move_gen: u16,
    },
    ImmutableMessage {
        key: u64,
    },
    Attachment {
        message: u64,
        attachment: u32,
        /// `None` for an attachment id derived from an immutable message id.
        regular: Option<(u64, u16)>,
    },
    /// An occurrence of a recurring event: the series master's key and
    /// the occurrence's original local date (days from the common era).
    Occurrence {
        key: u64,
        day: i32,
    },
}

/// How a message is addressed in responses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IdForm {
    Regular,
    Immutable,
}

fn id_engine() -> GeneralPurpose {
    GeneralPurpose::new(
        &alphabet::URL_SAFE,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    )
}

fn guid_ascii(mbx: &[u8; 16]) -> String {
    crate::rng::guid_from_bytes(*mbx)
}

fn filler(seed: &[u8], n: usize) -> Vec<u8> {
    let mut out = vec![0u8; n];
    let mut h = blake3::Hasher::new();
    h.update(b"qcb-sim id filler");
    h.update(seed);
    h.finalize_xof().fill(&mut out);
    out
}

fn build(mbx: &[u8; 16], kind: u8, well_known: bool, fields: &[u8], total: usize) -> String {
    let mut b: Vec<u8> = Vec::with_capacity(total);
    let immutable = kind == KIND_IMMUTABLE_MESSAGE
        || kind == KIND_IMMUTABLE_ATTACHMENT
        || kind == KIND_IMMUTABLE_OCCURRENCE;
    if immutable {
        b.extend_from_slice(&[0x00, 0x09, 0x00, 0x2e, 0, 0, 0, 0, 0]);
        b.extend_from_slice(mbx);
    } else {
        b.extend_from_slice(&[u8::from(well_known), 0x03, 0x24, 0x00]);
        b.extend_from_slice(guid_ascii(mbx).as_bytes());
    }
    b.push(kind);
    let mut seed = b.clone();
    seed.extend_from_slice(fields);
    while !b.len().is_multiple_of(3) {
        b.push(filler(&seed, 1)[0]);
    }
    b.extend_from_slice(&MARKER);
    b.extend_from_slice(fields);
    let pad = total.saturating_sub(b.len() + 6);
    b.extend_from_slice(&filler(&seed, pad + 1)[1..]);
    let sum = blake3::hash(&b);
    b.extend_from_slice(&sum.as_bytes()[..6]);
    URL_SAFE.encode(&b)
}

pub(crate) fn folder_id(mbx: &[u8; 16], key: u64, well_known: bool) -> String {
    build(mbx, KIND_FOLDER, well_known, &key.to_be_bytes(), LEN_FOLDER)
}

pub(crate) fn message_id(
    mbx: &[u8; 16],
    form: IdForm,
    key: u64,
    folder: u64,
    move_gen: u16,
) -> String {
    match form {
        IdForm::Immutable => build(
            mbx,
            KIND_IMMUTABLE_MESSAGE,
            false,
            &key.to_be_bytes(),
            LEN_IMMUTABLE_MESSAGE,
        ),
        IdForm::Regular => {
            let mut f = Vec::with_capacity(18);
            f.extend_from_slice(&key.to_be_bytes());
            f.extend_from_slice(&folder.to_be_bytes());
            f.extend_from_slice(&move_gen.to_be_bytes());
            build(mbx, KIND_MESSAGE, false, &f, LEN_MESSAGE)
        }
    }
}

pub(crate) fn attachment_id(
    mbx: &[u8; 16],
    form: IdForm,
    message: u64,
    folder: u64,
    move_gen: u16,
    attachment: u32,
) -> String {
    let mut f = Vec::with_capacity(22);
    f.extend_from_slice(&message.to_be_bytes());
    match form {
        IdForm::Immutable => {
            f.extend_from_slice(&attachment.to_be_bytes());
            build(
                mbx,
                KIND_IMMUTABLE_ATTACHMENT,
                false,
                &f,
                LEN_IMMUTABLE_ATTACHMENT,
            )
        }
        IdForm::Regular => {
            f.extend_from_slice(&folder.to_be_bytes());
            f.extend_from_slice(&move_gen.to_be_bytes());
            f.extend_from_slice(&attachment.to_be_bytes());
            build(mbx, KIND_ATTACHMENT, false, &f, LEN_ATTACHMENT)
        }
    }
}

/// The id of one occurrence of a recurring event (both forms decode to
/// [`IdRef::Occurrence`]).
pub(crate) fn occurrence_id(mbx: &[u8; 16], form: IdForm, key: u64, day: i32) -> String {
    let mut f = Vec::with_capacity(12);
    f.extend_from_slice(&key.to_be_bytes());
    f.extend_from_slice(&day.to_be_bytes());
    match form {
        IdForm::Regular => build(mbx, KIND_OCCURRENCE, false, &f, LEN_OCCURRENCE),
        IdForm::Immutable => build(
            mbx,
            KIND_IMMUTABLE_OCCURRENCE,
            false,
            &f,
            LEN_IMMUTABLE_OCCURRENCE,
        ),
    }
}

fn be_u64(b: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[..8]);
    u64::from_be_bytes(a)
}
fn be_u32(b: &[u8]) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[..4]);
    u32::from_be_bytes(a)
}
fn be_u16(b: &[u8]) -> u16 {
    u16::from_be_bytes([b[0], b[1]])
}

/// Decodes an id produced by this module. Accepts the URL-safe and the
/// standard base64 alphabets, with or without padding. Returns the mailbox
/// GUID it belongs to and what it designates; `None` if it is malformed.
pub(crate) fn decode(id: &str) -> Option<([u8; 16], IdRef)> {
    let normalized: String = id
        .trim()
        .chars()
        .map(|c| match c {
            '+' => '-',
            '/' => '_',
            c => c,
        })
        .collect();
    let b = id_engine().decode(normalized.as_bytes()).ok()?;
    // Every id we issue is at least LEN_FOLDER bytes; shorter input is not ours
    // (and must not reach the fixed-offset reads below).
    if b.len() < LEN_FOLDER {
        return None;
    }
    let (body, sum) = b.split_at(b.len() - 6);
    if &blake3::hash(body).as_bytes()[..6] != sum {
        return None;
    }
    let (mbx, kind, fields_at) = if b[0] == 0x00 && b[1] == 0x09 {
        let mut m = [0u8; 16];
        m.copy_from_slice(&b[9..25]);
        (m, b[25], 30usize)
    } else if (b[0] == 0x00 || b[0] == 0x01) && b[1] == 0x03 {
        let ascii = std::str::from_utf8(&b[4..40]).ok()?;
        (parse_guid(ascii)?, b[40], 45usize)
    } else {
        return None;
    };
    if b.get(fields_at - 3..fields_at)? != MARKER {
        return None;
    }
    let f = &b[fields_at..];
    let r = match (kind, b.len()) {
        (KIND_FOLDER, LEN_FOLDER) => IdRef::Folder { key: be_u64(f) },
        (KIND_MESSAGE, LEN_MESSAGE) => IdRef::Message {
            key: be_u64(f),
            folder: be_u64(&f[8..]),
            move_gen: be_u16(&f[16..]),
        },
        (KIND_IMMUTABLE_MESSAGE, LEN_IMMUTABLE_MESSAGE) => {
            IdRef::ImmutableMessage { key: be_u64(f) }
        }
        (KIND_ATTACHMENT, LEN_ATTACHMENT) => IdRef::Attachment {
            message: be_u64(f),
            regular: Some((be_u64(&f[8..]), be_u16(&f[16..]))),
            attachment: be_u32(&f[18..]),
        },
        (KIND_IMMUTABLE_ATTACHMENT, LEN_IMMUTABLE_ATTACHMENT) => IdRef::Attachment {
            message: be_u64(f),
            regular: None,
            attachment: be_u32(&f[8..]),
        },
        (KIND_OCCURRENCE, LEN_OCCURRENCE)
        | (KIND_IMMUTABLE_OCCURRENCE, LEN_IMMUTABLE_OCCURRENCE) => IdRef::Occurrence {
            key: be_u64(f),
            day: be_u32(&f[8..]) as i32,
        },
        _ => return None,
    };
    Some((mbx, r))
}

/// Parses a hyphenated GUID back to the 16 bytes it was printed from.
pub(crate) fn parse_guid(s: &str) -> Option<[u8; 16]> {
    let hex: String = s.chars().filter(|c| *c != '-').collect();
    if hex.len() != 32 || s.len() != 36 {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(hex.get(i * 2..i * 2 + 2)?, 16).ok()?;
    }
    Some(out)
}

/// An opaque change key: `CQAAABYAAA...` like Exchange's, different for
/// every change sequence number of the mailbox.
pub(crate) fn change_key(mbx: &[u8; 16], change_seq: u64) -> String {
    let mut b = vec![0x09, 0, 0, 0, 0x16, 0, 0, 0];
    let h = blake3::keyed_hash(&[7u8; 32], mbx);
    b.extend_from_slice(&h.as_bytes()[..16]);
    b.extend_from_slice(&change_seq.to_be_bytes()[2..]);
    STANDARD.encode(&b)
}

/// Conversation id: the same for every message of a thread (normalized
/// subject), like Exchange's `AAQkA...` ids.
pub(crate) fn conversation_id(mbx: &[u8; 16], subject: &str) -> String {
    let topic = normalized_topic(subject);
    let mut b = vec![0x00, 0x04, 0x24, 0x00];
    b.extend_from_slice(guid_ascii(mbx).as_bytes());
    b.extend_from_slice(&[0x00, 0x10, 0x00]);
    b.extend_from_slice(&blake3::hash(topic.as_bytes()).as_bytes()[..16]);
    URL_SAFE.encode(&b)
}

/// Conversation index (PidTagConversationIndex): 22 bytes, base64.
pub(crate) fn conversation_index(subject: &str, sent_unix: i64) -> String {
    let topic = normalized_topic(subject);
    let mut b = vec![0x01];
    b.extend_from_slice(&((sent_unix.max(0) as u64) << 8).to_be_bytes()[..5]);
    b.extend_from_slice(&blake3::hash(topic.as_bytes()).as_bytes()[..16]);
    STANDARD.encode(&b)
}

fn normalized_topic(subject: &str) -> String {
    let mut s = subject.trim();
    loop {
        let lower = s.to_ascii_lowercase();
        let cut = ["re:", "aw:", "fw:", "fwd:", "wg:"]
            .iter()
            .find(|p| lower.starts_with(*p))
            .map(|p| p.len());
        match cut {
            Some(n) => s = s[n..].trim_start(),
            None => break,
        }
    }
    s.to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MBX: [u8; 16] = [
        0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0x4d, 0xef, 0x81, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd,
        0xef,
    ];

    #[test]
    fn ids_round_trip_and_look_like_exchange() {
        let f = folder_id(&MBX, 5, false);
        assert!(f.starts_with("AAMkA"), "{f}");
        assert!(f.ends_with("=="), "{f}");
        assert!(f.len() >= 140 && f.contains('-') && f.contains('_'), "{f}");
        assert_eq!(decode(&f), Some((MBX, IdRef::Folder { key: 5 })));
        assert!(folder_id(&MBX, 5, true).starts_with("AQMkA"));

        let m = message_id(&MBX, IdForm::Regular, 77, 5, 2);
        assert!(m.ends_with('=') && !m.ends_with("=="), "{m}");
        assert_eq!(
            decode(&m),
            Some((
                MBX,
                IdRef::Message {
                    key: 77,
                    folder: 5,
                    move_gen: 2
                }
            ))
        );
        let i = message_id(&MBX, IdForm::Immutable, 77, 5, 2);
        assert!(i.starts_with("AAkALg"), "{i}");
        assert!(!i.ends_with('='), "{i}");
        assert_eq!(decode(&i), Some((MBX, IdRef::ImmutableMessage { key: 77 })));
        assert_eq!(i, message_id(&MBX, IdForm::Immutable, 77, 9, 3));
        assert_ne!(m, message_id(&MBX, IdForm::Regular, 77, 9, 3));

        let a = attachment_id(&MBX, IdForm::Regular, 77, 5, 2, 3);
        assert_eq!(
            decode(&a),
            Some((
                MBX,
                IdRef::Attachment {
                    message: 77,
                    attachment: 3,
                    regular: Some((5, 2))
                }
            ))
        );
        let a = attachment_id(&MBX, IdForm::Immutable, 77, 5, 2, 3);
        assert_eq!(
            decode(&a),
            Some((
                MBX,
                IdRef::Attachment {
                    message: 77,
                    attachment: 3,
                    regular: None
                }
            ))
        );
    }

    #[test]
    fn tampered_ids_are_rejected() {
        let m = message_id(&MBX, IdForm::Regular, 77, 5, 2);
        let mut t: Vec<char> = m.chars().collect();
        t[60] = if t[60] == 'A' { 'B' } else { 'A' };
        let t: String = t.into_iter().collect();
        assert_eq!(decode(&t), None);
        assert_eq!(decode("AAMkAGI2"), None);
        assert_eq!(decode("not an id"), None);
        // standard alphabet and missing padding are accepted
        let std: String = m
            .trim_end_matches('=')
            .chars()
            .map(|c| match c {
                '-' => '+',
                '_' => '/',
                c => c,
            })
            .collect();
        assert!(decode(&std).is_some());
    }

    #[test]
    fn change_keys_differ_per_change() {
        assert_ne!(change_key(&MBX, 1), change_key(&MBX, 2));
        assert!(change_key(&MBX, 1).starts_with("CQAAABYAAA"));
    }
}
