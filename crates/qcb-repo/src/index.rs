//! Index files: which blob is in which pack, at which offset. Loaded into memory at open.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::crypto::SALT_LEN;
use crate::ids::{BlobId, BlobType};

pub const INDEX_AAD: &[u8] = b"qcbackup index v1";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct BlobEntry {
    pub id: BlobId,
    #[serde(rename = "type")]
    pub blob_type: BlobType,
    pub offset: u64,
    pub length: u32,
    pub raw_length: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct PackEntry {
    /// The pack's file name.
    pub id: String,
    /// The pack's key salt, hex.
    pub salt: String,
    /// Blobs in pack order; a blob's position is its nonce counter.
    pub blobs: Vec<BlobEntry>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct IndexFile {
    pub version: u32,
    pub packs: Vec<PackEntry>,
}

/// Where one blob is: its pack, the pack's salt, its nonce counter and its index entry.
#[derive(Debug, Clone)]
pub struct Location {
    pub pack: String,
    pub salt: [u8; SALT_LEN],
    pub seq: u64,
    pub entry: BlobEntry,
}

/// The in-memory index of every blob in every indexed pack.
///
/// Pack names and salts are kept once per pack and each blob holds only a number for its pack:
/// a 32-byte slot beside its 32-byte id, where a copy of the pack's name (a 64-byte string on
/// the heap) and salt in every blob took about 200 bytes more. This index is the part of a
/// backup's memory that grows with the repository.
#[derive(Debug, Default)]
pub struct Index {
    packs: Vec<PackRef>,
    blobs: HashMap<BlobId, Slot>,
}

#[derive(Debug)]
struct PackRef {
    name: String,
    salt: [u8; SALT_LEN],
}

#[derive(Debug, Clone, Copy)]
struct Slot {
    pack: u32,
    seq: u32,
    offset: u64,
    length: u32,
    raw_length: u32,
    blob_type: BlobType,
}

impl Index {
    pub fn add_pack(&mut self, pack: &PackEntry) -> Result<(), String> {
        if pack.id.len() != 64
            || !pack
                .id
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(format!("pack name {:?} is not a SHA-256 in hex", pack.id));
        }
        let salt: [u8; SALT_LEN] = hex::decode(&pack.salt)
            .ok()
            .and_then(|s| s.try_into().ok())
            .ok_or_else(|| format!("pack {}: bad salt", pack.id))?;
        let number = u32::try_from(self.packs.len())
            .map_err(|_| format!("pack {}: more than 2^32 packs", pack.id))?;
        let blobs = u32::try_from(pack.blobs.len())
            .map_err(|_| format!("pack {}: more than 2^32 blobs", pack.id))?;
        self.packs.push(PackRef {
            name: pack.id.clone(),
            salt,
        });
        for (seq, b) in (0..blobs).zip(&pack.blobs) {
            self.blobs.entry(b.id).or_insert(Slot {
                pack: number,
                seq,
                offset: b.offset,
                length: b.length,
                raw_length: b.raw_length,
                blob_type: b.blob_type,
            });
        }
        Ok(())
    }

    fn location(&self, id: &BlobId, slot: &Slot) -> Location {
        let pack = &self.packs[slot.pack as usize];
        Location {
            pack: pack.name.clone(),
            salt: pack.salt,
            seq: u64::from(slot.seq),
            entry: BlobEntry {
                id: *id,
                blob_type: slot.blob_type,
                offset: slot.offset,
                length: slot.length,
                raw_length: slot.raw_length,
            },
        }
    }

    pub fn get(&self, id: &BlobId) -> Option<Location> {
        self.blobs.get(id).map(|slot| self.location(id, slot))
    }

    /// The name of the pack that holds a blob.
    pub fn pack_of(&self, id: &BlobId) -> Option<&str> {
        self.blobs
            .get(id)
            .map(|slot| self.packs[slot.pack as usize].name.as_str())
    }

    pub fn contains(&self, id: &BlobId) -> bool {
        self.blobs.contains_key(id)
    }

    pub fn iter(&self) -> impl Iterator<Item = Location> + '_ {
        self.blobs.iter().map(|(id, slot)| self.location(id, slot))
    }

    pub fn blob_count(&self) -> usize {
        self.blobs.len()
    }

    pub fn pack_count(&self) -> usize {
        self.packs.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blob_costs_its_id_and_a_32_byte_slot() {
        assert!(std::mem::size_of::<Slot>() <= 32);
        let mut index = Index::default();
        let blobs: Vec<BlobEntry> = (0..3u8)
            .map(|i| BlobEntry {
                id: BlobId([i; 32]),
                blob_type: BlobType::Data,
                offset: u64::from(i) * 100,
                length: 100,
                raw_length: 90,
            })
            .collect();
        let pack = PackEntry {
            id: "ab".repeat(32),
            salt: "01".repeat(32),
            blobs: blobs.clone(),
        };
        index.add_pack(&pack).unwrap();
        let loc = index.get(&BlobId([2; 32])).unwrap();
        assert_eq!((loc.pack.as_str(), loc.seq), (pack.id.as_str(), 2));
        assert_eq!(loc.salt, [1u8; 32]);
        assert_eq!(loc.entry, blobs[2]);
        assert_eq!(index.pack_of(&BlobId([0; 32])), Some(pack.id.as_str()));
        assert_eq!((index.blob_count(), index.pack_count()), (3, 1));
        assert!(
            index
                .add_pack(&PackEntry {
                    id: "x".into(),
                    ..pack
                })
                .is_err()
        );
    }
}
