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

#[derive(Debug, Clone)]
pub struct Location {
    pub pack: String,
    pub salt: [u8; SALT_LEN],
    pub seq: u64,
    pub entry: BlobEntry,
}

/// The in-memory index of every blob in every indexed pack.
#[derive(Debug, Default)]
pub struct Index {
    blobs: HashMap<BlobId, Location>,
    packs: usize,
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
        for (seq, b) in pack.blobs.iter().enumerate() {
            self.blobs.entry(b.id).or_insert_with(|| Location {
                pack: pack.id.clone(),
                salt,
                seq: seq as u64,
                entry: b.clone(),
            });
        }
        self.packs += 1;
        Ok(())
    }

    pub fn get(&self, id: &BlobId) -> Option<&Location> {
        self.blobs.get(id)
    }

    pub fn contains(&self, id: &BlobId) -> bool {
        self.blobs.contains_key(id)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&BlobId, &Location)> {
        self.blobs.iter()
    }

    pub fn blob_count(&self) -> usize {
        self.blobs.len()
    }

    pub fn pack_count(&self) -> usize {
        self.packs
    }
}
