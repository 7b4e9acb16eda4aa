//! Key management: several passwords can open one repository; adding, removing or changing one
//! rewrites a small key file and never re-encrypts data.

use serde::Serialize;

use crate::backend::FileKind;
use crate::crypto::KdfParams;
use crate::error::{Error, Result};
use crate::keyfile::KeyFile;
use crate::repository::{Repository, hostname, sha256_hex};

/// One key file, as `key list` shows it. Holds nothing secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyInfo {
    /// The key file's name (SHA-256 of its bytes).
    pub id: String,
    pub created: String,
    pub hostname: String,
    pub memory_kib: u32,
    pub iterations: u32,
    /// Whether this process opened the repository with this key.
    pub current: bool,
}

impl Repository {
    /// The key file this repository was opened (or last re-keyed) with.
    pub fn current_key_id(&self) -> String {
        self.inner.key_name.lock().expect("key name lock").clone()
    }

    /// Every key file, oldest first. A damaged key file is reported, not skipped.
    pub fn list_keys(&self) -> Result<Vec<KeyInfo>> {
        let current = self.current_key_id();
        let mut out = Vec::new();
        for name in self.inner.backend.list(FileKind::Key)? {
            let bytes = self.inner.backend.read(FileKind::Key, &name)?;
            let kf: KeyFile = serde_json::from_slice(&bytes)
                .map_err(|e| Error::corrupt(format!("keys/{name}"), e.to_string()))?;
            out.push(KeyInfo {
                current: name == current,
                id: name,
                created: kf.created,
                hostname: kf.hostname,
                memory_kib: kf.kdf_params.memory_kib,
                iterations: kf.kdf_params.iterations,
            });
        }
        out.sort_by(|a, b| a.created.cmp(&b.created).then_with(|| a.id.cmp(&b.id)));
        Ok(out)
    }

    /// Key files that are damaged (content that does not match the name, or not a key file),
    /// one line each naming the file. A key cannot be tried without its password, so a key
    /// file intact by these tests may still be for a forgotten password.
    pub(crate) fn damaged_key_files(&self) -> Result<Vec<String>> {
        let mut out = Vec::new();
        for name in self.inner.backend.list(FileKind::Key)? {
            let bytes = match self.inner.backend.read(FileKind::Key, &name) {
                Ok(b) => b,
                Err(e) => {
                    out.push(format!("keys/{name}: {e}"));
                    continue;
                }
            };
            if sha256_hex(&bytes) != name {
                out.push(format!(
                    "keys/{name}: content does not match its name (damaged or truncated)"
                ));
            } else if let Err(e) = serde_json::from_slice::<KeyFile>(&bytes) {
                out.push(format!("keys/{name}: not a key file: {e}"));
            }
        }
        Ok(out)
    }

    /// Adds a key file that opens this repository with `password`. Returns its id.
    pub fn add_key(&self, password: &[u8], params: KdfParams) -> Result<String> {
        if password.is_empty() {
            return Err(Error::InvalidArgument(
                "the repository password must not be empty".into(),
            ));
        }
        let now = chrono::Utc::now().to_rfc3339();
        let kf = KeyFile::wrap(&self.inner.key, password, params, &hostname(), &now)
            .map_err(Error::InvalidArgument)?;
        let bytes = serde_json::to_vec_pretty(&kf).expect("key file serialises");
        let name = sha256_hex(&bytes);
        self.inner.backend.write(FileKind::Key, &name, &bytes)?;
        tracing::info!(key = %&name[..8], "key added");
        Ok(name)
    }

    /// Removes a key file, given its id or a unique prefix of at least 4 characters. The key in
    /// use and the last key cannot be removed: either would lock everyone out.
    pub fn remove_key(&self, id_or_prefix: &str) -> Result<String> {
        let keys = self.list_keys()?;
        let name = resolve_key(&keys, id_or_prefix)?;
        if name == self.current_key_id() {
            return Err(Error::InvalidArgument(
                "this is the key the repository was opened with; open it with another password \
                 to remove this one, or use `key passwd` to change it"
                    .into(),
            ));
        }
        if keys.len() < 2 {
            return Err(Error::InvalidArgument(
                "the last key cannot be removed: nobody could open the repository".into(),
            ));
        }
        self.inner.backend.delete(FileKind::Key, &name)?;
        tracing::info!(key = %&name[..8], "key removed");
        Ok(name)
    }

    /// Changes the password of the key in use: writes a key file for the new password, then
    /// removes the old one (in that order, so a crash in between leaves both working).
    pub fn change_password(&self, new_password: &[u8], params: KdfParams) -> Result<String> {
        let old = self.current_key_id();
        let new = self.add_key(new_password, params)?;
        *self.inner.key_name.lock().expect("key name lock") = new.clone();
        self.inner.backend.delete(FileKind::Key, &old)?;
        Ok(new)
    }
}

fn resolve_key(keys: &[KeyInfo], spec: &str) -> Result<String> {
    if spec.len() < 4 {
        return Err(Error::InvalidArgument(format!(
            "key id {spec:?} is too short: give at least 4 characters"
        )));
    }
    let matches: Vec<_> = keys.iter().filter(|k| k.id.starts_with(spec)).collect();
    match matches.as_slice() {
        [one] => Ok(one.id.clone()),
        [] => Err(Error::InvalidArgument(format!(
            "no key file matches {spec:?}"
        ))),
        _ => Err(Error::InvalidArgument(format!(
            "key id {spec:?} is ambiguous; give more characters"
        ))),
    }
}
