use std::path::PathBuf;

/// Everything that can go wrong in the repository. Each variant says what was being done and on
/// which file; [`Error::is_retryable`] says whether trying again can help.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("wrong password: none of the {keys} key file(s) in {path} opens with it")]
    WrongPassword { path: PathBuf, keys: usize },
    #[error("{path} is not a QCBackup repository (no config file)")]
    NotARepository { path: PathBuf },
    #[error("{path} already contains a repository or other files; choose an empty folder")]
    AlreadyExists { path: PathBuf },
    #[error(
        "repository format version {found} is not supported by this program (supports {supported})"
    )]
    UnsupportedVersion { found: u32, supported: u32 },
    #[error("{op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("damaged repository file {file}: {detail}")]
    Corrupt { file: String, detail: String },
    #[error("no snapshot matches {0:?}")]
    SnapshotNotFound(String),
    #[error("snapshot prefix {0:?} is ambiguous; give more characters")]
    AmbiguousSnapshot(String),
    #[error("no {what} at path {path:?} in snapshot {snapshot}")]
    PathNotFound {
        snapshot: String,
        path: String,
        what: &'static str,
    },
    #[error("blob {0} is referenced but not in any index")]
    MissingBlob(String),
    #[error(
        "the repository is in use: {holder}. Try again when it finishes; if that process no \
         longer runs, remove its lock with `qcbackup repo unlock`"
    )]
    Locked { holder: String },
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    #[error("catalog {path}: {source}")]
    Catalog {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
}

impl Error {
    pub(crate) fn io(
        op: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { op, path, source }
    }

    pub(crate) fn corrupt(file: impl Into<String>, detail: impl Into<String>) -> Error {
        Error::Corrupt {
            file: file.into(),
            detail: detail.into(),
        }
    }

    /// Only transient I/O can succeed on a retry; damage, wrong passwords and bad input cannot.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Error::Io { source, .. } if matches!(source.kind(),
            std::io::ErrorKind::Interrupted | std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock))
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
