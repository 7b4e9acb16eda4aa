//! Pack files: many encrypted blobs followed by an encrypted header, so a pack can be written
//! as a stream and its header found from the end.
//!
//! ```text
//! blob 0 ciphertext | blob 1 ciphertext | ... | header ciphertext | salt (32) | header length (u32 LE) | "QCBPACK1"
//! ```
//! Blob i is AES-256-GCM under the pack key with nonce counter i and the blob id as associated
//! data; the header uses the reserved counter `HEADER_NONCE`.

use sha2::{Digest, Sha256};

use crate::crypto::{HEADER_NONCE, MasterKey, ObjectKey, SALT_LEN, TAG_LEN, random_salt};
use crate::ids::{BlobId, BlobType};
use crate::index::{BlobEntry, PackEntry};

pub const MAGIC: &[u8; 8] = b"QCBPACK1";
const HEADER_AAD: &[u8] = b"qcbackup pack header v1";
const ENTRY_LEN: usize = 1 + 32 + 4 + 4;
const TRAILER_LEN: usize = SALT_LEN + 4 + MAGIC.len();
/// A pack is closed once it holds this many bytes.
pub const TARGET_PACK_SIZE: usize = 16 * 1024 * 1024;

/// Payload flags, the first plaintext byte of every blob.
const RAW: u8 = 0;
const ZSTD: u8 = 1;
/// zstd level 1: on the benchmark's mail corpus, level 3 saves 0.4% of bytes for 20–25% more
/// compression time (docs/benchmarks.md, "zstd level"); mail is mostly base64 attachments.
pub const ZSTD_LEVEL: i32 = 1;

pub struct PackBuilder {
    salt: [u8; SALT_LEN],
    /// Blob payloads in pack order, each followed by room for its tag; encrypted in place by
    /// [`PackBuilder::finish`].
    buf: Vec<u8>,
    blobs: Vec<BlobEntry>,
}

impl PackBuilder {
    pub fn new() -> Self {
        PackBuilder {
            salt: random_salt(),
            buf: Vec::new(),
            blobs: Vec::new(),
        }
    }

    /// A new pack that fills `buffer` (cleared), so the memory of a stored pack is used again.
    pub fn with_buffer(mut buffer: Vec<u8>) -> Self {
        buffer.clear();
        PackBuilder {
            buf: buffer,
            ..PackBuilder::new()
        }
    }

    pub fn is_empty(&self) -> bool {
        self.blobs.is_empty()
    }

    /// Bytes the blobs will take in the pack (ciphertext and tags), without the header.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Compresses (when that helps) and adds one blob to the pack.
    pub fn add(&mut self, id: BlobId, blob_type: BlobType, plaintext: &[u8]) -> u64 {
        self.add_encoded(id, blob_type, &Payload::encode(plaintext), plaintext.len())
    }

    /// Adds one payload made by [`Payload::encode`]; returns the bytes it will take.
    /// Its place (and so its nonce, the blob's position) is fixed here; the encryption itself
    /// happens in [`PackBuilder::finish`], which may run on another thread.
    pub fn add_encoded(
        &mut self,
        id: BlobId,
        blob_type: BlobType,
        payload: &Payload,
        raw_length: usize,
    ) -> u64 {
        if self.buf.capacity() == 0 {
            // One allocation for the whole pack: growing by doubling would copy it four times.
            self.buf.reserve(TARGET_PACK_SIZE + 2 * 1024 * 1024);
        }
        let offset = self.buf.len() as u64;
        let length = payload.len() + TAG_LEN;
        self.buf.push(payload.flag);
        self.buf.extend_from_slice(&payload.body);
        self.buf.resize(self.buf.len() + TAG_LEN, 0);
        self.blobs.push(BlobEntry {
            id,
            blob_type,
            offset,
            length: length as u32,
            raw_length: raw_length as u32,
        });
        length as u64
    }

    /// Finishes the pack: encrypts every blob in place (AES-256-GCM under the pack key, nonce
    /// counter = the blob's position, its id as associated data), appends the encrypted header
    /// and trailer, and returns its file name (SHA-256 of the bytes), bytes and index entry.
    pub fn finish(mut self, key: &MasterKey) -> (String, Vec<u8>, PackEntry) {
        let object_key = key.object_key(&self.salt);
        let cipher = object_key.cipher();
        for (seq, b) in self.blobs.iter().enumerate() {
            let region = &mut self.buf[b.offset as usize..b.offset as usize + b.length as usize];
            let (payload, tag) = region.split_at_mut(b.length as usize - TAG_LEN);
            tag.copy_from_slice(&ObjectKey::seal_in_place(
                &cipher, seq as u64, payload, &b.id.0,
            ));
        }
        let mut header = Vec::with_capacity(self.blobs.len() * ENTRY_LEN);
        for b in &self.blobs {
            header.push(b.blob_type.to_byte());
            header.extend_from_slice(&b.id.0);
            header.extend_from_slice(&b.length.to_le_bytes());
            header.extend_from_slice(&b.raw_length.to_le_bytes());
        }
        let header_ct = object_key.encrypt(HEADER_NONCE, &header, HEADER_AAD);
        self.buf.extend_from_slice(&header_ct);
        self.buf.extend_from_slice(&self.salt);
        self.buf
            .extend_from_slice(&(header_ct.len() as u32).to_le_bytes());
        self.buf.extend_from_slice(MAGIC);
        let name = hex::encode(Sha256::digest(&self.buf));
        let entry = PackEntry {
            id: name.clone(),
            salt: hex::encode(self.salt),
            blobs: self.blobs,
        };
        (name, self.buf, entry)
    }
}

impl Default for PackBuilder {
    fn default() -> Self {
        Self::new()
    }
}

thread_local! {
    /// One zstd context per thread, reused: creating one per blob costs more than compressing
    /// a small message.
    static COMPRESSOR: std::cell::RefCell<Option<zstd::bulk::Compressor<'static>>> =
        const { std::cell::RefCell::new(None) };
    /// Likewise for reading: a tree or a small message decompresses faster than a context is
    /// made.
    static DECOMPRESSOR: std::cell::RefCell<Option<zstd::bulk::Decompressor<'static>>> =
        const { std::cell::RefCell::new(None) };
}

/// Decompresses `body` into exactly `len` bytes (or fewer, which the caller reports).
fn decompress(body: &[u8], len: usize) -> std::io::Result<Vec<u8>> {
    DECOMPRESSOR.with(|d| {
        let mut d = d.borrow_mut();
        if d.is_none() {
            *d = Some(zstd::bulk::Decompressor::new()?);
        }
        d.as_mut().expect("made above").decompress(body, len)
    })
}

/// A blob's payload before encryption: its flag byte, kept apart so that compressed bytes go
/// from zstd's output into the pack without another copy, and the body.
pub struct Payload {
    flag: u8,
    body: Vec<u8>,
}

impl Payload {
    /// Compresses `plaintext` when that makes it smaller; otherwise keeps it as it is.
    pub fn encode(plaintext: &[u8]) -> Payload {
        if plaintext.len() >= 64 {
            let compressed = COMPRESSOR.with(|c| {
                let mut c = c.borrow_mut();
                if c.is_none() {
                    *c = zstd::bulk::Compressor::new(ZSTD_LEVEL).ok();
                }
                c.as_mut().and_then(|c| c.compress(plaintext).ok())
            });
            if let Some(body) = compressed.filter(|c| c.len() < plaintext.len()) {
                return Payload { flag: ZSTD, body };
            }
        }
        Payload {
            flag: RAW,
            body: plaintext.to_vec(),
        }
    }

    /// Bytes the payload takes once encrypted, without the tag.
    pub(crate) fn len(&self) -> usize {
        1 + self.body.len()
    }
}

/// The flag byte and the (compressed, when that helps) plaintext of one blob, in one buffer.
pub fn encode_payload(plaintext: &[u8]) -> Vec<u8> {
    let p = Payload::encode(plaintext);
    let mut out = Vec::with_capacity(p.len());
    out.push(p.flag);
    out.extend_from_slice(&p.body);
    out
}

/// Reverses [`encode_payload`] for a payload whose plaintext length is not recorded.
pub fn decode_payload(payload: &[u8]) -> Result<Vec<u8>, String> {
    let (flag, body) = payload.split_first().ok_or("empty payload")?;
    match *flag {
        RAW => Ok(body.to_vec()),
        ZSTD => zstd::stream::decode_all(body).map_err(|e| format!("zstd: {e}")),
        other => Err(format!("unknown payload flag {other}")),
    }
}

/// Decrypts and decompresses one blob read from a pack, and checks it hashes to its id.
pub fn decode_blob(
    key: &MasterKey,
    salt: &[u8; SALT_LEN],
    seq: u64,
    entry: &BlobEntry,
    ct: &[u8],
) -> Result<Vec<u8>, String> {
    let payload = key
        .object_key(salt)
        .decrypt(seq, ct, &entry.id.0)
        .ok_or_else(|| {
            format!(
                "blob {} failed authentication (damaged or tampered)",
                entry.id
            )
        })?;
    let (flag, body) = payload.split_first().ok_or("empty blob payload")?;
    let plain = match *flag {
        RAW => body.to_vec(),
        ZSTD => decompress(body, entry.raw_length as usize)
            .map_err(|e| format!("blob {}: zstd: {e}", entry.id))?,
        other => return Err(format!("blob {}: unknown payload flag {other}", entry.id)),
    };
    if plain.len() != entry.raw_length as usize {
        return Err(format!(
            "blob {}: length {} instead of {}",
            entry.id,
            plain.len(),
            entry.raw_length
        ));
    }
    if key.blob_id(&plain) != entry.id {
        return Err(format!("blob {}: content does not match its id", entry.id));
    }
    Ok(plain)
}

/// Reads a whole pack's header, for `check` and index rebuilding.
pub fn read_header(
    key: &MasterKey,
    pack: &[u8],
) -> Result<([u8; SALT_LEN], Vec<BlobEntry>), String> {
    if pack.len() < TRAILER_LEN + TAG_LEN || &pack[pack.len() - MAGIC.len()..] != MAGIC {
        return Err("not a pack file (bad trailer)".into());
    }
    let t = pack.len() - TRAILER_LEN;
    let salt: [u8; SALT_LEN] = pack[t..t + SALT_LEN]
        .try_into()
        .expect("slice has salt length");
    let hlen = u32::from_le_bytes(
        pack[t + SALT_LEN..t + SALT_LEN + 4]
            .try_into()
            .expect("4 bytes"),
    ) as usize;
    if hlen > t {
        return Err("header length exceeds the file".into());
    }
    let header = key
        .object_key(&salt)
        .decrypt(HEADER_NONCE, &pack[t - hlen..t], HEADER_AAD)
        .ok_or("header failed authentication (damaged or tampered)")?;
    if header.len() % ENTRY_LEN != 0 {
        return Err("header has a partial entry".into());
    }
    let mut offset = 0u64;
    let mut blobs = Vec::new();
    for e in header.chunks_exact(ENTRY_LEN) {
        let blob_type = BlobType::from_byte(e[0]).ok_or("unknown blob type in header")?;
        let id = BlobId(e[1..33].try_into().expect("32 bytes"));
        let length = u32::from_le_bytes(e[33..37].try_into().expect("4 bytes"));
        let raw_length = u32::from_le_bytes(e[37..41].try_into().expect("4 bytes"));
        blobs.push(BlobEntry {
            id,
            blob_type,
            offset,
            length,
            raw_length,
        });
        offset += length as u64;
    }
    if offset as usize != t - hlen {
        return Err("header does not account for every byte of the pack".into());
    }
    Ok((salt, blobs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pack_round_trip_and_header() {
        let key = MasterKey::generate();
        let mut p = PackBuilder::new();
        let a = b"a".repeat(1000);
        let b = b"short".to_vec();
        let ida = key.blob_id(&a);
        let idb = key.blob_id(&b);
        p.add(ida, BlobType::Data, &a);
        p.add(idb, BlobType::Tree, &b);
        let (_, bytes, entry) = p.finish(&key);
        assert!(entry.blobs[0].length < 200, "repetitive data is compressed");
        let (salt, blobs) = read_header(&key, &bytes).unwrap();
        assert_eq!(blobs.len(), 2);
        for (i, e) in blobs.iter().enumerate() {
            let ct = &bytes[e.offset as usize..e.offset as usize + e.length as usize];
            let plain = decode_blob(&key, &salt, i as u64, e, ct).unwrap();
            assert_eq!(key.blob_id(&plain), e.id);
        }
        // Sealing in place gives the bytes one-shot encryption gives (the format is unchanged).
        let whole = key
            .object_key(&salt)
            .encrypt(0, &encode_payload(&a), &ida.0);
        assert_eq!(&bytes[..whole.len()], &whole[..]);
        // A swapped counter (blob moved) fails authentication.
        let e = &blobs[0];
        let ct = &bytes[e.offset as usize..e.offset as usize + e.length as usize];
        assert!(decode_blob(&key, &salt, 1, e, ct).is_err());
    }
}
