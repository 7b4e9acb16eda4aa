//! QCBackup's engine: the one API every front end (the `qcbackup` CLI, the desktop app) calls.
//!
//! It moves items between a mailbox (through `qcb-graph`) and a repository (through
//! `qcb-repo`): [`backup`] and [`restore`], plus browsing through [`RepoHandle`]. Jobs report
//! progress to a [`Progress`] sink and record per-item failures instead of stopping; only
//! repository and sign-in failures abort a job.

pub mod api;
mod backup;
mod categories;
pub mod connect;
mod error;
mod export;
#[doc(hidden)]
pub mod fuzzing;
mod handle;
mod mime;
mod permissions;
mod progress;
pub mod requests;
mod restore;
mod restore_pim;
pub mod runlog;
pub mod search;
pub mod secrets;
mod selection;
pub mod sets;
mod settings;
mod spool;
#[cfg(feature = "ts")]
pub mod ts;
mod types;

pub use backup::{BackupOptions, backup};
pub use categories::Categories;
pub use error::{EngineError, Result};
pub use export::{
    ExportOptions, ExportReport, ExportedFile, MailFormat, NameSet, export, safe_stem,
};
pub use handle::RepoHandle;
pub use permissions::{
    Access, CategoryAccess, ConnectionReport, ConnectionTest, MailboxAccess, test_connection,
};
pub use progress::{NoProgress, Pace, Phase, Progress, ProgressEvent};
pub use restore::{OnConflict, RestoreOptions, RestoreTarget, restore, restore_mailboxes};
pub use search::{SearchHit, SearchPlace, SearchQuery, SearchResults};
pub use selection::{FolderFilter, FolderVerdict, MailboxSelection};
pub use settings::{AppSettings, LogLevel, Theme};
pub use types::{
    AttachmentInfo, BackupReport, Browse, CheckReport, Connection, FailedItem, FolderEntry,
    ForgetEntry, ForgetReport, ItemEntry, ItemPreview, ItemVersionInfo, PlannedWrite,
    RestoreReport, SnapshotInfo,
};

/// Re-exported so front ends need not depend on the lower crates for these.
pub use qcb_graph::{GraphClient, MailboxBudget};
pub use qcb_repo::{
    DEFAULT_S3_REGION, KdfParams, KeyInfo, Location, LockInfo, PruneOptions, PruneReport, ReadData,
    RetentionPolicy, S3Location, Secret, Span,
};
