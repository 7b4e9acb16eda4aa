/// A failed Graph or sign-in call. Says what was asked, of which URL, and whether a retry can help.
#[derive(Debug, thiserror::Error)]
pub enum GraphError {
    #[error("cannot reach {url}: {detail}")]
    Unreachable { url: String, detail: String },
    #[error("sign-in failed at {url}: {code}: {message}")]
    SignIn {
        url: String,
        code: String,
        message: String,
    },
    /// A request that must not be sent twice (a POST) was sent, and the connection broke
    /// before its answer arrived: the service may or may not have carried it out. Not fatal:
    /// the service was reached, and the caller decides (look, or report the one item).
    #[error(
        "{method} {path}: the connection broke before the answer ({detail}); it may or may not have been carried out"
    )]
    Interrupted {
        method: String,
        path: String,
        detail: String,
    },
    #[error("{method} {path}: HTTP {status} {code}: {message}")]
    Api {
        method: String,
        path: String,
        status: u16,
        code: String,
        message: String,
    },
    #[error("{method} {path}: still throttled after {attempts} attempts (HTTP {status})")]
    Throttled {
        method: String,
        path: String,
        status: u16,
        attempts: u32,
    },
    #[error("{what}: the service sent malformed data: {detail}")]
    Malformed { what: String, detail: String },
    #[error("invalid configuration: {0}")]
    Config(String),
}

impl GraphError {
    pub fn status(&self) -> Option<u16> {
        match self {
            GraphError::Api { status, .. } | GraphError::Throttled { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The Graph error code (`ErrorItemNotFound`, `syncStateNotFound`, ...), if any.
    pub fn code(&self) -> Option<&str> {
        match self {
            GraphError::Api { code, .. } | GraphError::SignIn { code, .. } => Some(code),
            _ => None,
        }
    }

    /// The mailbox is full: 507 Insufficient Storage / `ErrorQuotaExceeded` (Exchange's
    /// ProhibitSendReceiveQuota reached). Not retried; only freeing space or a larger quota helps.
    pub fn is_quota_exceeded(&self) -> bool {
        self.status() == Some(507) || self.code() == Some("ErrorQuotaExceeded")
    }

    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }

    /// Only the user can repair this: there is no saved delegated sign-in, or its refresh
    /// token expired or was revoked. The front end should offer to sign in again.
    pub fn needs_sign_in(&self) -> bool {
        matches!(self, GraphError::SignIn { code, .. }
            if matches!(code.as_str(), "invalid_grant" | "interaction_required" | "not_signed_in"))
    }

    /// Errors that stop a whole job: nobody can sign in, or the service is unreachable.
    pub fn is_fatal(&self) -> bool {
        matches!(
            self,
            GraphError::SignIn { .. } | GraphError::Unreachable { .. } | GraphError::Config(_)
        ) || matches!(self.status(), Some(401 | 403))
    }
}

pub type Result<T, E = GraphError> = std::result::Result<T, E>;
