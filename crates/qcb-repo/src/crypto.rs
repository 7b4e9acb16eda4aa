//! Keys, key derivation and authenticated encryption.
//!
//! One random 256-bit master secret per repository. Everything else is derived from it with
//! BLAKE3's key-derivation mode, so each purpose has its own independent key:
//!
//! * the blob-id key makes blob ids keyed hashes of the plaintext, so whoever holds the storage
//!   cannot confirm that a known message is in the repository;
//! * the data key never encrypts anything itself: every encrypted object (a pack, an index file,
//!   a snapshot, the config) draws a fresh random 256-bit salt and encrypts under
//!   `BLAKE3-keyed(data key, salt)`. Within one object the AES-GCM nonce is a counter (the blob's
//!   position in a pack), so a (key, nonce) pair can never repeat by construction.

use aes_gcm::aead::{Aead, AeadInPlace, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::BlobId;

/// Length of the random salt that starts (or, for packs, ends) every encrypted object.
pub const SALT_LEN: usize = 32;
/// AES-GCM authentication tag length.
pub const TAG_LEN: usize = 16;

const CONTEXT_ID: &str = "qcbackup 2026-11 blob id key";
const CONTEXT_DATA: &str = "qcbackup 2026-11 data encryption key";

/// Nonce counter reserved for a pack's header; blob counters start at 0 and stay far below it.
pub const HEADER_NONCE: u64 = u64::MAX;
/// Nonce counter used for single-message objects (index, snapshot, config).
pub const OBJECT_NONCE: u64 = 0;

/// The repository's master secret and the keys derived from it. Never logged, never printed.
#[derive(Clone)]
pub struct MasterKey {
    secret: [u8; 32],
    id_key: [u8; 32],
    data_key: [u8; 32],
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(..)")
    }
}

impl MasterKey {
    /// A fresh random master key.
    pub fn generate() -> Self {
        let mut secret = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut secret);
        Self::from_secret(secret)
    }

    pub fn from_secret(secret: [u8; 32]) -> Self {
        MasterKey {
            secret,
            id_key: blake3::derive_key(CONTEXT_ID, &secret),
            data_key: blake3::derive_key(CONTEXT_DATA, &secret),
        }
    }

    pub fn secret(&self) -> &[u8; 32] {
        &self.secret
    }

    /// The keyed hash that names a blob.
    pub fn blob_id(&self, plaintext: &[u8]) -> BlobId {
        BlobId(*blake3::keyed_hash(&self.id_key, plaintext).as_bytes())
    }

    /// The key for one encrypted object, from that object's random salt.
    pub fn object_key(&self, salt: &[u8; SALT_LEN]) -> ObjectKey {
        ObjectKey(*blake3::keyed_hash(&self.data_key, salt).as_bytes())
    }
}

/// A per-object AES-256-GCM key.
pub struct ObjectKey([u8; 32]);

impl ObjectKey {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        ObjectKey(bytes)
    }

    /// The AES-256-GCM cipher (key schedule done once) under this key.
    pub fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&self.0))
    }

    /// Encrypts `buffer` in place with `cipher` (from [`ObjectKey::cipher`]) and returns the
    /// tag; `buffer` followed by the tag is exactly what [`ObjectKey::encrypt`] returns.
    pub fn seal_in_place(
        cipher: &Aes256Gcm,
        counter: u64,
        buffer: &mut [u8],
        aad: &[u8],
    ) -> [u8; TAG_LEN] {
        cipher
            .encrypt_in_place_detached(&nonce(counter), aad, buffer)
            .expect("AES-GCM encryption of an in-memory buffer cannot fail")
            .into()
    }

    pub fn encrypt(&self, counter: u64, plaintext: &[u8], aad: &[u8]) -> Vec<u8> {
        self.cipher()
            .encrypt(
                &nonce(counter),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .expect("AES-GCM encryption of an in-memory buffer cannot fail")
    }

    /// `None` when the ciphertext was damaged or was not made with this key.
    pub fn decrypt(&self, counter: u64, ciphertext: &[u8], aad: &[u8]) -> Option<Vec<u8>> {
        self.cipher()
            .decrypt(
                &nonce(counter),
                Payload {
                    msg: ciphertext,
                    aad,
                },
            )
            .ok()
    }
}

fn nonce(counter: u64) -> Nonce<aes_gcm::aead::consts::U12> {
    let mut n = [0u8; 12];
    n[..8].copy_from_slice(&counter.to_le_bytes());
    *Nonce::from_slice(&n)
}

pub fn random_salt() -> [u8; SALT_LEN] {
    let mut salt = [0u8; SALT_LEN];
    rand::rngs::OsRng.fill_bytes(&mut salt);
    salt
}

/// Encrypts a whole single-message object: `salt || AES-256-GCM(plaintext)`.
/// `aad` binds the object to its kind so an index cannot be passed off as a snapshot.
pub fn seal(key: &MasterKey, aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let salt = random_salt();
    let ct = key.object_key(&salt).encrypt(OBJECT_NONCE, plaintext, aad);
    let mut out = Vec::with_capacity(SALT_LEN + ct.len());
    out.extend_from_slice(&salt);
    out.extend_from_slice(&ct);
    out
}

/// Reverses [`seal`]. `None` when damaged, truncated, or not ours.
pub fn open(key: &MasterKey, aad: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
    if sealed.len() < SALT_LEN + TAG_LEN {
        return None;
    }
    let (salt, ct) = sealed.split_at(SALT_LEN);
    let salt: [u8; SALT_LEN] = salt.try_into().ok()?;
    key.object_key(&salt).decrypt(OBJECT_NONCE, ct, aad)
}

/// Argon2id cost parameters, stored in every key file so they can be raised later without
/// breaking old keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct KdfParams {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Passes over memory.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl Default for KdfParams {
    /// 64 MiB, 3 passes, 1 lane: the OWASP-recommended Argon2id class, about 0.2 s here.
    fn default() -> Self {
        KdfParams {
            memory_kib: 64 * 1024,
            iterations: 3,
            parallelism: 1,
        }
    }
}

impl KdfParams {
    /// Cheap parameters for tests of code that is not about the KDF. Never used by the CLI or app.
    pub fn insecure_for_tests() -> Self {
        KdfParams {
            memory_kib: 1024,
            iterations: 1,
            parallelism: 1,
        }
    }

    /// Rejects parameters a hostile key file could use to exhaust memory, or that are too weak.
    pub fn validate(&self) -> Result<(), String> {
        if self.memory_kib < 1024 || self.memory_kib > 4 * 1024 * 1024 {
            return Err(format!(
                "memory {} KiB outside 1 MiB..4 GiB",
                self.memory_kib
            ));
        }
        if self.iterations == 0 || self.iterations > 100 {
            return Err(format!("iterations {} outside 1..100", self.iterations));
        }
        if self.parallelism == 0 || self.parallelism > 64 {
            return Err(format!("parallelism {} outside 1..64", self.parallelism));
        }
        Ok(())
    }

    /// Derives the 256-bit key-encryption key from a password.
    pub fn derive(&self, password: &[u8], salt: &[u8]) -> Result<[u8; 32], String> {
        self.validate()?;
        let params =
            argon2::Params::new(self.memory_kib, self.iterations, self.parallelism, Some(32))
                .map_err(|e| e.to_string())?;
        let argon =
            argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
        let mut out = [0u8; 32];
        argon
            .hash_password_into(password, salt, &mut out)
            .map_err(|e| e.to_string())?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_round_trip_and_tamper() {
        let key = MasterKey::generate();
        let sealed = seal(&key, b"index", b"hello");
        assert_eq!(
            open(&key, b"index", &sealed).as_deref(),
            Some(&b"hello"[..])
        );
        assert!(
            open(&key, b"snapshot", &sealed).is_none(),
            "kind is bound by aad"
        );
        let mut bad = sealed.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert!(open(&key, b"index", &bad).is_none());
        assert!(open(&MasterKey::generate(), b"index", &sealed).is_none());
        assert!(open(&key, b"index", &sealed[..10]).is_none());
    }

    #[test]
    fn blob_ids_are_keyed() {
        let a = MasterKey::generate();
        let b = MasterKey::generate();
        assert_eq!(a.blob_id(b"x"), a.blob_id(b"x"));
        assert_ne!(a.blob_id(b"x"), b.blob_id(b"x"));
    }

    #[test]
    fn hostile_kdf_params_are_rejected() {
        let p = KdfParams {
            memory_kib: u32::MAX,
            iterations: 1,
            parallelism: 1,
        };
        assert!(p.derive(b"pw", b"saltsaltsaltsalt").is_err());
    }
}
