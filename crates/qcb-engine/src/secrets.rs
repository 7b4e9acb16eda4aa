//! Where secrets live: the repository password, refresh tokens, client secrets.
//!
//! On a desktop they belong in the OS keychain (Secret Service on Linux, Keychain on macOS,
//! Credential Manager on Windows) through [`KeychainStore`]. A server has no keychain session,
//! so the same [`SecretStore`] trait also reads secrets from environment variables
//! ([`EnvStore`]) or files ([`FileStore`]), and tests use [`MemoryStore`]. Secrets never reach
//! logs: errors name the entry, never its value.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;

use crate::error::{EngineError, Result};

/// A place to keep named secrets.
pub trait SecretStore: Send + Sync {
    /// The secret stored under `name`, or `None` when there is none.
    fn get(&self, name: &str) -> Result<Option<String>>;
    /// Stores (or replaces) a secret.
    fn set(&self, name: &str, secret: &str) -> Result<()>;
    /// Removes a secret; removing one that is not there is not an error.
    fn delete(&self, name: &str) -> Result<()>;
}

/// The entry name under which a repository's password is kept.
pub fn repository_password_entry(location: &str) -> String {
    format!("repository:{location}")
}

/// The entry name under which a signed-in person's refresh token is kept.
pub fn refresh_token_entry(tenant: &str, client_id: &str, account: &str) -> String {
    format!("refresh-token:{tenant}:{client_id}:{account}")
}

/// Keeps a delegated sign-in's rotating refresh token in a [`SecretStore`] (the keychain), so
/// a later run signs in without the person.
pub struct TokenInStore {
    store: std::sync::Arc<dyn SecretStore>,
    entry: String,
}

impl TokenInStore {
    pub fn new(store: std::sync::Arc<dyn SecretStore>, entry: impl Into<String>) -> Self {
        TokenInStore {
            store,
            entry: entry.into(),
        }
    }
}

impl qcb_graph::RefreshTokenStore for TokenInStore {
    fn load(&self) -> std::result::Result<Option<qcb_graph::RefreshToken>, qcb_graph::StoreError> {
        Ok(self
            .store
            .get(&self.entry)?
            .map(qcb_graph::RefreshToken::new))
    }
    fn save(
        &self,
        token: &qcb_graph::RefreshToken,
    ) -> std::result::Result<(), qcb_graph::StoreError> {
        Ok(self.store.set(&self.entry, token.expose())?)
    }
}

/// The OS keychain. Entries are filed under the service `service` (the app's identifier).
pub struct KeychainStore {
    service: String,
}

impl KeychainStore {
    pub fn new(service: impl Into<String>) -> Self {
        KeychainStore {
            service: service.into(),
        }
    }

    fn entry(&self, name: &str) -> Result<keyring::Entry> {
        keyring::Entry::new(&self.service, name).map_err(|e| keychain_error(name, e))
    }
}

/// Turns the keyring crate's errors into messages that say what to do.
fn keychain_error(name: &str, e: keyring::Error) -> EngineError {
    use keyring::Error as K;
    let fix = "unlock the keychain (on Linux: a Secret Service such as gnome-keyring in the \
               session), or choose not to remember secrets and type the password each time \
               (servers: QCBACKUP_PASSWORD or --password-file)";
    let what = match &e {
        K::NoStorageAccess(_) => "the OS keychain is locked or refused access".to_string(),
        K::PlatformFailure(_) => "the OS keychain is not available".to_string(),
        K::TooLong(field, max) => format!("the keychain entry's {field} is longer than {max}"),
        K::Invalid(field, why) => format!("the keychain entry's {field} is invalid: {why}"),
        K::Ambiguous(_) => "several keychain entries match".to_string(),
        K::BadEncoding(_) => "the stored secret is not text".to_string(),
        other => other.to_string(),
    };
    EngineError::Keychain(format!("{what} (entry {name:?}; {e}). Fix: {fix}"))
}

impl SecretStore for KeychainStore {
    fn get(&self, name: &str) -> Result<Option<String>> {
        match self.entry(name)?.get_password() {
            Ok(s) => Ok(Some(s)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(keychain_error(name, e)),
        }
    }

    fn set(&self, name: &str, secret: &str) -> Result<()> {
        self.entry(name)?
            .set_password(secret)
            .map_err(|e| keychain_error(name, e))
    }

    fn delete(&self, name: &str) -> Result<()> {
        match self.entry(name)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(keychain_error(name, e)),
        }
    }
}

/// Read-only secrets from environment variables: entry `name` → variable `map(name)`.
pub struct EnvStore {
    vars: HashMap<String, String>,
}

impl EnvStore {
    /// `vars` maps entry names to environment variable names.
    pub fn new(vars: impl IntoIterator<Item = (String, String)>) -> Self {
        EnvStore {
            vars: vars.into_iter().collect(),
        }
    }
}

impl SecretStore for EnvStore {
    fn get(&self, name: &str) -> Result<Option<String>> {
        Ok(self
            .vars
            .get(name)
            .and_then(|var| std::env::var(var).ok())
            .filter(|v| !v.is_empty()))
    }
    fn set(&self, name: &str, _: &str) -> Result<()> {
        Err(EngineError::InvalidInput(format!(
            "cannot store {name:?}: secrets from environment variables are read-only"
        )))
    }
    fn delete(&self, name: &str) -> Result<()> {
        self.set(name, "")
    }
}

/// Read-only secrets from files (the first line of each): entry `name` → file `map(name)`.
pub struct FileStore {
    files: HashMap<String, PathBuf>,
}

impl FileStore {
    pub fn new(files: impl IntoIterator<Item = (String, PathBuf)>) -> Self {
        FileStore {
            files: files.into_iter().collect(),
        }
    }
}

impl SecretStore for FileStore {
    fn get(&self, name: &str) -> Result<Option<String>> {
        let Some(path) = self.files.get(name) else {
            return Ok(None);
        };
        let text = std::fs::read_to_string(path).map_err(|e| {
            EngineError::InvalidInput(format!("reading the secret file {}: {e}", path.display()))
        })?;
        Ok(Some(text.lines().next().unwrap_or("").to_string()))
    }
    fn set(&self, name: &str, _: &str) -> Result<()> {
        Err(EngineError::InvalidInput(format!(
            "cannot store {name:?}: secrets from files are read-only"
        )))
    }
    fn delete(&self, name: &str) -> Result<()> {
        self.set(name, "")
    }
}

/// Secrets in memory, for tests and for "do not remember" sessions.
#[derive(Default)]
pub struct MemoryStore {
    map: Mutex<HashMap<String, String>>,
}

impl SecretStore for MemoryStore {
    fn get(&self, name: &str) -> Result<Option<String>> {
        Ok(self.map.lock().expect("secrets").get(name).cloned())
    }
    fn set(&self, name: &str, secret: &str) -> Result<()> {
        self.map
            .lock()
            .expect("secrets")
            .insert(name.into(), secret.into());
        Ok(())
    }
    fn delete(&self, name: &str) -> Result<()> {
        self.map.lock().expect("secrets").remove(name);
        Ok(())
    }
}

/// Asks several stores in turn (e.g. a file, then the environment, then the keychain).
pub struct Chain(pub Vec<Box<dyn SecretStore>>);

impl SecretStore for Chain {
    fn get(&self, name: &str) -> Result<Option<String>> {
        for s in &self.0 {
            if let Some(v) = s.get(name)? {
                return Ok(Some(v));
            }
        }
        Ok(None)
    }
    /// Stores in the first store that accepts it.
    fn set(&self, name: &str, secret: &str) -> Result<()> {
        let mut last = None;
        for s in &self.0 {
            match s.set(name, secret) {
                Ok(()) => return Ok(()),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| EngineError::InvalidInput("no secret store".into())))
    }
    fn delete(&self, name: &str) -> Result<()> {
        for s in &self.0 {
            let _ = s.delete(name);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_file_memory_and_chain_stores() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("pw");
        std::fs::write(&f, "from-file\nignored\n").unwrap();
        let file = FileStore::new([("repo".to_string(), f)]);
        assert_eq!(file.get("repo").unwrap().as_deref(), Some("from-file"));
        assert_eq!(file.get("other").unwrap(), None);
        assert!(file.set("repo", "x").is_err());

        let env = EnvStore::new([("token".to_string(), "QCB_TEST_SURELY_UNSET".to_string())]);
        assert_eq!(env.get("token").unwrap(), None);

        let chain = Chain(vec![
            Box::new(file),
            Box::new(env),
            Box::new(MemoryStore::default()),
        ]);
        assert_eq!(chain.get("repo").unwrap().as_deref(), Some("from-file"));
        chain.set("token", "t1").unwrap();
        assert_eq!(chain.get("token").unwrap().as_deref(), Some("t1"));
        chain.delete("token").unwrap();
        assert_eq!(chain.get("token").unwrap(), None);
    }

    #[test]
    fn a_missing_secret_file_is_a_clear_error() {
        let file = FileStore::new([("repo".to_string(), PathBuf::from("/nonexistent/pw"))]);
        let e = file.get("repo").unwrap_err().to_string();
        assert!(e.contains("/nonexistent/pw"), "{e}");
    }
}
