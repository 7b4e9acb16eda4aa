use qcb_graph::GraphError;

/// What a front end gets back. [`EngineError::code`] is the one thing a UI may branch on.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Repo(#[from] qcb_repo::Error),
    #[error("Microsoft Graph: {0}")]
    Graph(#[from] GraphError),
    #[error("{0}")]
    InvalidInput(String),
    #[error("{0}")]
    NotFound(String),
    /// A job that could not do any of its work (every mailbox failed, for example).
    #[error("{0}")]
    JobFailed(String),
    /// The OS keychain could not be used; the message says how to fix it.
    #[error("{0}")]
    Keychain(String),
    /// A secret the job needs (a password, client secret, refresh token) is not stored.
    #[error("{0}")]
    MissingSecret(String),
    /// The local state database (backup sets, job history).
    #[error("{0}")]
    Database(String),
    /// The user stopped the job; what it finished is kept.
    #[error("{0}")]
    Cancelled(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl EngineError {
    /// A stable, machine-readable code for the UI and for exit statuses.
    pub fn code(&self) -> &'static str {
        use qcb_repo::Error as R;
        match self {
            EngineError::Repo(R::WrongPassword { .. }) => "wrong_password",
            EngineError::Repo(
                R::SnapshotNotFound(_) | R::PathNotFound { .. } | R::NotARepository { .. },
            ) => "not_found",
            EngineError::Repo(
                R::AlreadyExists { .. } | R::InvalidArgument(_) | R::AmbiguousSnapshot(_),
            ) => "invalid_input",
            EngineError::Repo(R::Locked { .. }) => "locked",
            // Refused keys (S3 403) or file permissions.
            EngineError::Repo(R::Io { source, .. })
                if source.kind() == std::io::ErrorKind::PermissionDenied =>
            {
                "access_denied"
            }
            EngineError::Repo(_) => "repository",
            EngineError::Graph(GraphError::SignIn { .. }) => "sign_in",
            EngineError::Graph(e) if e.status() == Some(401) => "sign_in",
            EngineError::Graph(e) if e.status() == Some(403) => "access_denied",
            // 507 ErrorQuotaExceeded: the target mailbox is full (its ProhibitSendReceiveQuota is
            // reached); retrying does not help, freeing space or a larger quota does.
            EngineError::Graph(e) if e.is_quota_exceeded() => "mailbox_full",
            EngineError::Graph(_) => "graph",
            EngineError::InvalidInput(_) => "invalid_input",
            EngineError::NotFound(_) => "not_found",
            EngineError::JobFailed(_) => "job_failed",
            EngineError::Keychain(_) => "keychain",
            EngineError::MissingSecret(_) => "missing_secret",
            EngineError::Database(_) => "database",
            EngineError::Cancelled(_) => "cancelled",
            EngineError::Internal(_) => "internal",
        }
    }
}

impl EngineError {
    /// What the user can do about it, for the errors a user can fix; `None` otherwise.
    pub fn hint(&self) -> Option<&'static str> {
        match self.code() {
            "mailbox_full" => Some(
                "the target mailbox is full (ErrorQuotaExceeded): free space in it (empty Deleted Items, delete or archive mail) or raise its quota, then run the restore again",
            ),
            _ => None,
        }
    }
}

impl From<tokio::task::JoinError> for EngineError {
    fn from(e: tokio::task::JoinError) -> Self {
        EngineError::Internal(format!("background task failed: {e}"))
    }
}

pub type Result<T, E = EngineError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_mailbox_has_its_own_code_and_hint() {
        let e = EngineError::Graph(GraphError::Api {
            method: "POST".into(),
            path: "/v1.0/users/u/mailFolders/inbox/messages".into(),
            status: 507,
            code: "ErrorQuotaExceeded".into(),
            message: "The mailbox is over its size limit.".into(),
        });
        assert_eq!(e.code(), "mailbox_full");
        assert!(e.hint().is_some_and(|h| h.contains("ErrorQuotaExceeded")));
        assert!(e.to_string().contains("ErrorQuotaExceeded"), "{e}");
        let other = EngineError::Graph(GraphError::Api {
            method: "GET".into(),
            path: "/v1.0/users".into(),
            status: 500,
            code: "InternalServerError".into(),
            message: String::new(),
        });
        assert_eq!(other.code(), "graph");
        assert!(other.hint().is_none());
    }
}
