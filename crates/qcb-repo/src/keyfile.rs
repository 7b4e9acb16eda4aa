//! Key files: the master key wrapped under a password-derived key. Several key files may open
//! the same repository; changing a password writes a new key file and removes the old one, with
//! no data re-encrypted.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};

use crate::crypto::{KdfParams, MasterKey, ObjectKey, SALT_LEN, random_salt};

const KEYFILE_AAD: &[u8] = b"qcbackup key file v1";

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct KeyFile {
    pub version: u32,
    pub created: String,
    pub hostname: String,
    pub kdf: String,
    pub kdf_params: KdfParams,
    /// Argon2id salt, base64.
    pub salt: String,
    /// AES-256-GCM(key-encryption key, nonce 0) of the 32-byte master secret, base64.
    pub wrapped_key: String,
}

impl KeyFile {
    pub fn wrap(
        master: &MasterKey,
        password: &[u8],
        params: KdfParams,
        hostname: &str,
        created: &str,
    ) -> Result<KeyFile, String> {
        let salt = random_salt();
        let kek = ObjectKey::from_bytes(params.derive(password, &salt)?);
        // The KEK is unique to this random salt, so a fixed nonce is safe.
        let wrapped = kek.encrypt(0, master.secret(), KEYFILE_AAD);
        Ok(KeyFile {
            version: 1,
            created: created.to_string(),
            hostname: hostname.to_string(),
            kdf: "argon2id".into(),
            kdf_params: params,
            salt: B64.encode(salt),
            wrapped_key: B64.encode(wrapped),
        })
    }

    /// `Ok(None)` on a wrong password; `Err` when the file itself is malformed.
    pub fn unwrap_key(&self, password: &[u8]) -> Result<Option<MasterKey>, String> {
        if self.version != 1 || self.kdf != "argon2id" {
            return Err(format!(
                "unsupported key file version {} / kdf {}",
                self.version, self.kdf
            ));
        }
        let salt = B64.decode(&self.salt).map_err(|e| format!("salt: {e}"))?;
        if salt.len() != SALT_LEN {
            return Err("salt has the wrong length".into());
        }
        let wrapped = B64
            .decode(&self.wrapped_key)
            .map_err(|e| format!("wrapped key: {e}"))?;
        let kek = ObjectKey::from_bytes(self.kdf_params.derive(password, &salt)?);
        match kek.decrypt(0, &wrapped, KEYFILE_AAD) {
            None => Ok(None),
            Some(secret) => {
                let secret: [u8; 32] = secret
                    .try_into()
                    .map_err(|_| "master key has the wrong length".to_string())?;
                Ok(Some(MasterKey::from_secret(secret)))
            }
        }
    }
}
