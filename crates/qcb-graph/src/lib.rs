//! Microsoft Graph client for Exchange Online mailboxes.
//!
//! The only crate that speaks HTTP to Microsoft: sign-in, paging, delta queries, MIME download,
//! folder and message creation, with Graph's retry rules (Retry-After on 429/503/504,
//! exponential backoff with jitter otherwise, one token refresh on 401). It knows nothing of
//! repositories or jobs.
//!
//! Sign-in ([`Credentials`]): app-only with a client secret or a certificate
//! ([`ClientCertificate`]), or a user's delegated sign-in ([`SignIn::interactive`]: auth code +
//! PKCE with a loopback redirect; [`SignIn::device_code`]) kept alive by its rotating refresh
//! token in the caller's [`RefreshTokenStore`].

mod auth;
mod client;
mod error;
mod model;
mod pim;
mod signin;

pub use auth::{
    ClientCertificate, ClientSecret, Credentials, Delegated, MemoryTokenStore, RefreshToken,
    RefreshTokenStore, StoreError,
};
pub use client::{
    ClientStats, GraphClient, GraphConfig, MailboxBudget, RetryPolicy, enc as encode_segment,
};
pub use error::{GraphError, Result};
pub use model::{DeltaPage, FolderDelta, MESSAGE_SELECT, MailFolder, User};
pub use pim::UploadFile;
pub use signin::{DEFAULT_DELEGATED_SCOPES, DeviceCodePrompt, InteractiveOptions, SignIn};
