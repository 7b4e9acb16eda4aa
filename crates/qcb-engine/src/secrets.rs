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
    /// Whether [`SecretStore::set`] can store anything (environment variables and files given
    /// on the command line cannot).
    fn writable(&self) -> bool {
        true
    }
    /// Stores `secret` under `name` in the store that holds the entry `beside`, and nowhere
    /// else: for what must be kept no less safely than that entry (a repository's remembered
    /// key beside its password). `Ok(false)` when no store holds `beside` or that one is
    /// read-only.
    fn set_beside(&self, beside: &str, name: &str, secret: &str) -> Result<bool> {
        if !self.writable() || self.get(beside)?.is_none() {
            return Ok(false);
        }
        self.set(name, secret).map(|()| true)
    }
}

/// The entry under which a repository's remembered key is kept, beside its password (see
/// [`qcb_repo::RememberedKey`]): a scheduled run then opens the repository without the
/// password's key derivation.
pub fn remembered_key_entry(location: &str) -> String {
    format!("repository-key:{location}")
}

/// The entry name under which a repository's password is kept.
pub fn repository_password_entry(location: &str) -> String {
    format!("repository:{location}")
}

/// The entry names under which an S3 repository's access key id and secret access key are
/// kept (by the repository's `s3:` location), so that a backup set reads them as it reads the
/// repository password.
pub fn s3_key_entries(location: &str) -> (String, String) {
    (
        format!("s3-access-key-id:{location}"),
        format!("s3-secret-access-key:{location}"),
    )
}

/// The entry name under which a signed-in person's refresh token is kept.
pub fn refresh_token_entry(tenant: &str, client_id: &str, account: &str) -> String {
    format!("refresh-token:{tenant}:{client_id}:{account}")
}

/// The entry name under which an Entra app's client secret is kept.
pub fn client_secret_entry(tenant: &str, client_id: &str) -> String {
    format!("client-secret:{tenant}:{client_id}")
}

/// The entry name under which an Entra app's certificate and private key (PEM) are kept.
pub fn client_certificate_entry(tenant: &str, client_id: &str) -> String {
    format!("client-certificate:{tenant}:{client_id}")
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
    fn writable(&self) -> bool {
        false
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
    fn writable(&self) -> bool {
        false
    }
    fn delete(&self, name: &str) -> Result<()> {
        self.set(name, "")
    }
}

/// Secrets as files in a folder only its owner may read (0700, files 0600): for servers,
/// which have no keychain session. One file per entry, named by the entry with every
/// character outside `A-Z a-z 0-9 . - _` written as `%XX`; the file holds the secret alone.
pub struct DirStore {
    dir: PathBuf,
}

impl DirStore {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        DirStore { dir: dir.into() }
    }

    fn file(&self, name: &str) -> PathBuf {
        let mut file = String::new();
        for b in name.bytes() {
            if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_') {
                file.push(b as char);
            } else {
                file.push_str(&format!("%{b:02X}"));
            }
        }
        self.dir.join(file)
    }

    fn io(&self, what: &str, e: std::io::Error) -> EngineError {
        EngineError::InvalidInput(format!(
            "secrets folder {}: {what}: {e}",
            self.dir.display()
        ))
    }
}

impl SecretStore for DirStore {
    fn get(&self, name: &str) -> Result<Option<String>> {
        match std::fs::read_to_string(self.file(name)) {
            Ok(s) => Ok(Some(s)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.io(&format!("reading {name:?}"), e)),
        }
    }

    fn set(&self, name: &str, secret: &str) -> Result<()> {
        use std::io::Write;
        std::fs::create_dir_all(&self.dir).map_err(|e| self.io("creating it", e))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&self.dir, std::fs::Permissions::from_mode(0o700))
                .map_err(|e| self.io("restricting it to its owner", e))?;
        }
        let path = self.file(name);
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let write = || -> std::io::Result<()> {
            let mut f = options.open(&tmp)?;
            f.write_all(secret.as_bytes())?;
            f.sync_all()?;
            std::fs::rename(&tmp, &path)
        };
        write().map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            self.io(&format!("storing {name:?}"), e)
        })
    }

    fn delete(&self, name: &str) -> Result<()> {
        match std::fs::remove_file(self.file(name)) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(self.io(&format!("removing {name:?}"), e)),
        }
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
    /// In the first store that holds `beside` (the one [`SecretStore::get`] reads it from).
    fn set_beside(&self, beside: &str, name: &str, secret: &str) -> Result<bool> {
        for s in &self.0 {
            if s.get(beside)?.is_some() {
                return s.set_beside(beside, name, secret);
            }
        }
        Ok(false)
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
    fn a_remembered_key_goes_only_where_the_password_is() {
        let dir = tempfile::tempdir().unwrap();
        let (pw, key) = ("repository:/srv/repo", "repository-key:/srv/repo");
        // A server's secrets folder (the CLI's --secrets-dir) behind the environment: the
        // password is in the folder, so the key goes there too.
        let chain = Chain(vec![
            Box::new(EnvStore::new([(
                pw.to_string(),
                "QCB_TEST_SURELY_UNSET".to_string(),
            )])),
            Box::new(DirStore::new(dir.path().join("secrets"))),
        ]);
        assert!(
            !chain.set_beside(pw, key, "k").unwrap(),
            "no password anywhere yet"
        );
        assert_eq!(chain.get(key).unwrap(), None);
        chain.set(pw, "pw").unwrap();
        assert!(chain.set_beside(pw, key, "k").unwrap());
        let folder = DirStore::new(dir.path().join("secrets"));
        assert_eq!(folder.get(key).unwrap().as_deref(), Some("k"));
        // A password from a file stays alone, even with a writable store behind it.
        let file = dir.path().join("pw");
        std::fs::write(&file, "pw\n").unwrap();
        let memory = MemoryStore::default();
        let chain = Chain(vec![
            Box::new(FileStore::new([(pw.to_string(), file)])),
            Box::new(MemoryStore::default()),
        ]);
        assert!(!chain.set_beside(pw, key, "k").unwrap());
        assert_eq!(chain.get(key).unwrap(), None);
        assert!(!memory.set_beside(pw, key, "k").unwrap());
        memory.set(pw, "pw").unwrap();
        assert!(memory.set_beside(pw, key, "k").unwrap());
    }

    #[test]
    fn a_secrets_folder_keeps_each_entry_private_and_whole() {
        let dir = tempfile::tempdir().unwrap();
        let store = DirStore::new(dir.path().join("secrets"));
        assert_eq!(store.get("repository:/srv/repo").unwrap(), None);
        let pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
        store.set("client-certificate:t:c", pem).unwrap();
        store.set("repository:/srv/repo", "pw 1").unwrap();
        store.set("repository:/srv/repo", "pw 2").unwrap();
        assert_eq!(
            store.get("client-certificate:t:c").unwrap().as_deref(),
            Some(pem)
        );
        assert_eq!(
            store.get("repository:/srv/repo").unwrap().as_deref(),
            Some("pw 2")
        );
        // Entries differing only in characters that are encoded stay apart.
        assert_eq!(store.get("repository:/srv/repo2").unwrap(), None);
        assert_eq!(store.get("repository_/srv/repo").unwrap(), None);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode =
                |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&dir.path().join("secrets")), 0o700);
            for f in std::fs::read_dir(dir.path().join("secrets")).unwrap() {
                assert_eq!(mode(&f.unwrap().path()), 0o600);
            }
        }
        store.delete("repository:/srv/repo").unwrap();
        store.delete("repository:/srv/repo").unwrap();
        assert_eq!(store.get("repository:/srv/repo").unwrap(), None);
    }

    #[test]
    fn a_missing_secret_file_is_a_clear_error() {
        let file = FileStore::new([("repo".to_string(), PathBuf::from("/nonexistent/pw"))]);
        let e = file.get("repo").unwrap_err().to_string();
        assert!(e.contains("/nonexistent/pw"), "{e}");
    }
}
