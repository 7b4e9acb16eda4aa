//! Microsoft Graph client for Exchange Online mailboxes.
//!
//! The only crate that speaks HTTP to Microsoft: sign-in, paging, delta queries, MIME download,
//! folder and message creation, with Graph's retry rules (Retry-After on 429/503/504,
//! exponential backoff with jitter otherwise, one token refresh on 401). It knows nothing of
//! repositories or jobs.

mod client;
mod error;
mod model;
mod pim;

pub use client::{ClientSecret, GraphClient, GraphConfig, RetryPolicy};
pub use error::{GraphError, Result};
pub use model::{DeltaPage, MESSAGE_SELECT, MailFolder, User};
