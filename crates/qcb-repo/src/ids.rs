use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A blob's id: the keyed BLAKE3 hash of its plaintext (see `crypto`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlobId(pub [u8; 32]);

/// A snapshot's id: the SHA-256 of its encrypted file, which is also its file name.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SnapshotId(pub String);

impl SnapshotId {
    pub fn short(&self) -> &str {
        &self.0[..8.min(self.0.len())]
    }
}

impl fmt::Display for SnapshotId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for SnapshotId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SnapshotId({})", self.short())
    }
}

/// What a blob holds: item content, or a serialised [`crate::Tree`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BlobType {
    Data,
    Tree,
}

impl BlobType {
    pub(crate) fn to_byte(self) -> u8 {
        match self {
            BlobType::Data => 0,
            BlobType::Tree => 1,
        }
    }
    pub(crate) fn from_byte(b: u8) -> Option<Self> {
        match b {
            0 => Some(BlobType::Data),
            1 => Some(BlobType::Tree),
            _ => None,
        }
    }
}

impl BlobId {
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Display for BlobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for BlobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BlobId({})", &self.to_hex()[..12])
    }
}

impl FromStr for BlobId {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let hex = s.as_bytes();
        if hex.len() != 64 {
            return Err(format!("blob id {s:?}: not 32 bytes"));
        }
        // Table-driven: every index file and tree holds one id per blob.
        let mut arr = [0u8; 32];
        for (byte, pair) in arr.iter_mut().zip(hex.chunks_exact(2)) {
            let (hi, lo) = (HEX_VALUE[pair[0] as usize], HEX_VALUE[pair[1] as usize]);
            if (hi | lo) & 0xf0 != 0 {
                return Err(format!("blob id {s:?}: not hex"));
            }
            *byte = hi << 4 | lo;
        }
        Ok(BlobId(arr))
    }
}

/// Each byte's value as a hex digit (either case), or 0xff.
const HEX_VALUE: [u8; 256] = {
    let mut t = [0xffu8; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        t[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
};

impl Serialize for BlobId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // Hex on the stack: trees and index files hold one id per blob.
        let mut buf = [0u8; 64];
        hex::encode_to_slice(self.0, &mut buf).expect("64 hex digits for 32 bytes");
        s.serialize_str(std::str::from_utf8(&buf).expect("hex is ASCII"))
    }
}

impl<'de> Deserialize<'de> for BlobId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Hex;
        impl serde::de::Visitor<'_> for Hex {
            type Value = BlobId;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a blob id (64 hex digits)")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<BlobId, E> {
                s.parse().map_err(E::custom)
            }
        }
        // Borrowed from the input where it can be: no allocation per id.
        d.deserialize_str(Hex)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_ids_round_trip_through_hex_and_json_and_bad_ones_are_refused() {
        for seed in 0u8..=255 {
            let id = BlobId(std::array::from_fn(|i| {
                seed.wrapping_mul(31).wrapping_add(i as u8 * 7)
            }));
            let text = id.to_string();
            assert_eq!(text, hex::encode(id.0));
            assert_eq!(text.parse::<BlobId>().unwrap(), id);
            assert_eq!(text.to_uppercase().parse::<BlobId>().unwrap(), id);
            let json = serde_json::to_string(&id).unwrap();
            assert_eq!(json, format!("\"{text}\""));
            assert_eq!(serde_json::from_str::<BlobId>(&json).unwrap(), id);
        }
        let good = "0123456789abcdefABCDEF0123456789abcdef0123456789abcdef0123456789";
        assert!(good.parse::<BlobId>().is_ok());
        // Every byte that is not a hex digit, at either place of a pair.
        for b in 0u8..=255 {
            if b.is_ascii_hexdigit() {
                continue;
            }
            for at in [0, 1, 63] {
                let mut bytes = good.as_bytes().to_vec();
                bytes[at] = b;
                if let Ok(text) = String::from_utf8(bytes) {
                    assert!(text.parse::<BlobId>().is_err(), "{b:#x} at {at}");
                }
            }
        }
        for bad in ["", "ab", &good[1..], &format!("{good}0"), &"é".repeat(32)] {
            let e = bad.parse::<BlobId>().unwrap_err();
            assert!(e.starts_with("blob id"), "{e}");
        }
        // JSON with an escape inside is still read; a number is not an id.
        let escaped = format!("\"\\u0030{}\"", &good[1..]);
        assert!(serde_json::from_str::<BlobId>(&escaped).is_ok());
        assert!(serde_json::from_str::<BlobId>("12").is_err());
    }
}
