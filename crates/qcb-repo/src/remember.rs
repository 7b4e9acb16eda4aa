//! Remembering an opened repository's key, so that the next open with the same password skips
//! the key derivation.
//!
//! Opening a repository costs one Argon2id derivation (64 MiB, about 0.15 s with the default
//! parameters): a price worth paying against offline guessing of a key file, but paid again by
//! every scheduled backup that finds nothing to do. A [`RememberedKey`] is the master secret,
//! the name of the key file it was unwrapped from, and a check value binding it to the
//! password that unwrapped it. [`Repository::open_remembering`] uses it only when
//!
//! * the same password is given (the check value matches),
//! * that key file is still in `keys/` (key files are write-once and named by their hash, so it
//!   still accepts that password; removing the key or changing the password revokes the
//!   remembered key as it revokes the password), and
//! * the config authenticates under the secret (it is this repository, not another one now at
//!   the same location);
//!
//! otherwise it opens with the password as [`Repository::open`] does and hands back a fresh
//! one. Opening either way succeeds for exactly the same passwords.
//!
//! The text holds the master secret: whoever reads it can decrypt the repository, and its
//! check value can be used to test password guesses quickly. Keep it only where the password
//! itself is kept (the OS keychain entry beside the password's), never anywhere weaker.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

use crate::backend::{Backend, FileKind};
use crate::crypto::MasterKey;
use crate::error::{Error, Result};
use crate::repository::Repository;

const PREFIX: &str = "qcbackup-remembered-key-v1";
const CONTEXT_CHECK: &str = "qcbackup 2026-11 remembered key password check";

/// A repository's master secret remembered after an open (see the module docs). Its text form
/// is what gets stored; it is never printed (`Debug` shows nothing of it).
pub struct RememberedKey {
    text: String,
}

impl std::fmt::Debug for RememberedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RememberedKey(..)")
    }
}

impl RememberedKey {
    /// The text to store (in the keychain entry beside the password's).
    pub fn expose(&self) -> &str {
        &self.text
    }

    fn new(key: &MasterKey, key_file: &str, password: &[u8]) -> RememberedKey {
        RememberedKey {
            text: format!(
                "{PREFIX} {key_file} {} {}",
                B64.encode(key.secret()),
                B64.encode(check(key, key_file, password).as_bytes())
            ),
        }
    }
}

/// Binds a remembered key to the password and key file it came from.
fn check(key: &MasterKey, key_file: &str, password: &[u8]) -> blake3::Hash {
    let mut h = blake3::Hasher::new_keyed(&blake3::derive_key(CONTEXT_CHECK, key.secret()));
    h.update(&(key_file.len() as u64).to_le_bytes());
    h.update(key_file.as_bytes());
    h.update(password);
    h.finalize()
}

/// The key and key file name in `text` when it is a remembered key made for `password`.
fn parse(text: &str, password: &[u8]) -> Option<(MasterKey, String)> {
    let mut parts = text.split(' ');
    if parts.next()? != PREFIX {
        return None;
    }
    let key_file = parts.next()?;
    let secret: [u8; 32] = B64.decode(parts.next()?).ok()?.try_into().ok()?;
    let stored: [u8; 32] = B64.decode(parts.next()?).ok()?.try_into().ok()?;
    if parts.next().is_some()
        || key_file.is_empty()
        || !key_file.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        return None;
    }
    let key = MasterKey::from_secret(secret);
    // blake3::Hash compares in constant time.
    (check(&key, key_file, password) == blake3::Hash::from_bytes(stored))
        .then(|| (key, key_file.to_string()))
}

/// How [`Repository::open_remembering`] opened the repository.
#[derive(Debug)]
pub enum Remembered {
    /// With the remembered key: no key derivation.
    Used,
    /// With the password (there was no remembered key, or it no longer applies): store this
    /// one in its place.
    Renewed(RememberedKey),
}

impl Repository {
    /// Opens a repository with `password`, skipping the key derivation when `remembered` (the
    /// text of a [`RememberedKey`] from an earlier open) still applies; see the module docs.
    /// Fails exactly when [`Repository::open`] with the same password would.
    pub fn open_remembering(
        backend: Box<dyn Backend>,
        password: &[u8],
        remembered: Option<&str>,
    ) -> Result<(Repository, Remembered)> {
        let backend = match remembered.and_then(|text| parse(text, password)) {
            None => backend,
            Some((key, key_file)) => {
                if !backend.exists(FileKind::Config, "config")? {
                    return Err(Error::NotARepository {
                        path: backend.location().into(),
                    });
                }
                if backend.exists(FileKind::Key, &key_file)? {
                    match Self::open_with_key(backend, key, key_file)? {
                        Ok(repo) => return Ok((repo, Remembered::Used)),
                        Err(backend) => backend,
                    }
                } else {
                    backend
                }
            }
        };
        let repo = Repository::open(backend, password)?;
        let fresh = repo.remembered_key(password);
        Ok((repo, Remembered::Renewed(fresh)))
    }

    /// What lets a later [`Repository::open_remembering`] with the same `password` skip the
    /// key derivation. `password` must be the one this repository was opened (or created, or
    /// last re-keyed) with: a remembered key made for another one is never used.
    pub fn remembered_key(&self, password: &[u8]) -> RememberedKey {
        RememberedKey::new(&self.inner.key, &self.current_key_id(), password)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::KdfParams;
    use crate::backend::LocalBackend;

    fn open(dir: &std::path::Path, pw: &str, remembered: Option<&str>) -> Result<Remembered> {
        Repository::open_remembering(Box::new(LocalBackend::new(dir)), pw.as_bytes(), remembered)
            .map(|(_, r)| r)
    }

    fn renewed(r: Remembered) -> String {
        match r {
            Remembered::Renewed(k) => k.expose().to_string(),
            Remembered::Used => panic!("expected a password open"),
        }
    }

    #[test]
    fn a_remembered_key_opens_only_with_its_password_and_while_its_key_file_exists() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("repo");
        let repo =
            Repository::init_local(&path, b"first", KdfParams::insecure_for_tests()).unwrap();
        let text = repo.remembered_key(b"first").expose().to_string();
        assert!(!format!("{:?}", repo.remembered_key(b"first")).contains(&text[30..]));
        drop(repo);

        assert!(matches!(
            open(&path, "first", Some(&text)),
            Ok(Remembered::Used)
        ));
        // Another password: opened (or refused) with the password, never with the key.
        assert!(matches!(
            open(&path, "second", Some(&text)),
            Err(Error::WrongPassword { .. })
        ));
        // Garbage of every shape is ignored, not trusted.
        let mut fields: Vec<String> = text.split(' ').map(String::from).collect();
        let flipped = if fields[2].starts_with('A') { "B" } else { "A" };
        fields[2].replace_range(0..1, flipped);
        let tampered = fields.join(" ");
        for bad in [
            "",
            "nonsense",
            &tampered,
            &text.replace(PREFIX, "v0"),
            &format!("{text} x"),
        ] {
            let fresh = renewed(open(&path, "first", Some(bad)).unwrap());
            assert_eq!(
                fresh, text,
                "a renewed key is the same text for the same key file"
            );
        }

        // A second password via a new key file; removing the first key revokes what was
        // remembered for it, as it revokes the password.
        let repo = Repository::open_local(&path, b"first").unwrap();
        let second = repo
            .add_key(b"second", KdfParams::insecure_for_tests())
            .unwrap();
        let (repo2, r) =
            Repository::open_remembering(Box::new(LocalBackend::new(&path)), b"second", None)
                .unwrap();
        let text2 = renewed(r);
        assert_eq!(repo2.current_key_id(), second);
        let first = repo.current_key_id();
        repo2.remove_key(&first).unwrap();
        assert!(matches!(
            open(&path, "first", Some(&text)),
            Err(Error::WrongPassword { .. })
        ));
        assert!(matches!(
            open(&path, "second", Some(&text2)),
            Ok(Remembered::Used)
        ));

        // Changing the password revokes the old remembered key too.
        let new_id = repo2
            .change_password(b"third", KdfParams::insecure_for_tests())
            .unwrap();
        assert!(matches!(
            open(&path, "second", Some(&text2)),
            Err(Error::WrongPassword { .. })
        ));
        let text3 = repo2.remembered_key(b"third").expose().to_string();
        assert!(text3.contains(&new_id));
        assert!(matches!(
            open(&path, "third", Some(&text3)),
            Ok(Remembered::Used)
        ));
    }

    #[test]
    fn a_remembered_key_of_another_repository_at_the_same_place_is_not_used() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        let ra = Repository::init_local(&a, b"pw", KdfParams::insecure_for_tests()).unwrap();
        let text_a = ra.remembered_key(b"pw").expose().to_string();
        drop(ra);
        Repository::init_local(&b, b"pw", KdfParams::insecure_for_tests()).unwrap();
        // Make b's key file carry a's name: the check value and the file both fit, only the
        // config tells the repositories apart.
        let key_a = text_a.split(' ').nth(1).unwrap();
        let keys_b = b.join("keys");
        let only = std::fs::read_dir(&keys_b).unwrap().next().unwrap().unwrap();
        std::fs::rename(only.path(), keys_b.join(key_a)).unwrap();
        let (repo, r) =
            Repository::open_remembering(Box::new(LocalBackend::new(&b)), b"pw", Some(&text_a))
                .unwrap();
        assert!(matches!(r, Remembered::Renewed(_)));
        assert_ne!(repo.remembered_key(b"pw").expose(), text_a);
        // No repository at all: the same error as a password open.
        assert!(matches!(
            open(&dir.path().join("none"), "pw", Some(&text_a)),
            Err(Error::NotARepository { .. })
        ));
    }
}
