//! Graph's error shape:
//! `{"error":{"code":"...","message":"...","innerError":{"date":"...",
//! "request-id":"...","client-request-id":"..."}}}`.

use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::routes::request_info;

/// Content type Graph uses for JSON responses.
pub(crate) const GRAPH_JSON: &str = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8";

/// An error answered in Graph's JSON shape.
#[derive(Debug, Clone)]
pub(crate) struct GraphError {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
    pub headers: Vec<(HeaderName, String)>,
    /// `innerError.code` (throttling answers carry "429").
    pub inner_code: Option<String>,
}

impl GraphError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.to_string(),
            message: message.into(),
            headers: Vec::new(),
            inner_code: None,
        }
    }

    pub fn with_header(mut self, name: HeaderName, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "BadRequest", message)
    }

    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "ErrorInvalidRequest", message)
    }

    pub fn malformed_json() -> Self {
        Self::bad_request(
            "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.",
        )
    }

    /// Unknown mailbox (Exchange: the SMTP address or id is not a mailbox).
    pub fn invalid_user(user: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "ErrorInvalidUser",
            format!("The requested user '{user}' is invalid."),
        )
    }

    /// Unknown directory object (`GET /users/{id}`).
    pub fn user_not_found(user: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "Request_ResourceNotFound",
            format!(
                "Resource '{user}' does not exist or one of its queried reference-property objects are not present."
            ),
        )
    }

    pub fn item_not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "ErrorItemNotFound",
            "The specified object was not found in the store.",
        )
    }

    pub fn malformed_id() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "ErrorInvalidIdMalformed",
            "Id is malformed.",
        )
    }

    pub fn unauthenticated(message: &str) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            message,
        )
        .with_header(
            axum::http::header::WWW_AUTHENTICATE,
            "Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\", client_id=\"00000003-0000-0000-c000-000000000000\"",
        )
    }

    /// 429 as Graph sends it for a throttled Outlook request.
    pub fn throttled(retry_after: u64, limit: &str) -> Self {
        let mut e = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "TooManyRequests",
            format!("Application is over its {limit} limit. Please retry again later."),
        )
        .with_header(axum::http::header::RETRY_AFTER, retry_after.to_string());
        e.inner_code = Some("429".into());
        e
    }

    /// 403 for an Outlook resource the token has no permission for.
    pub fn access_denied() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "ErrorAccessDenied",
            "Access is denied. Check credentials and try again.",
        )
    }

    /// 403 for a directory resource the token has no permission for.
    pub fn request_denied() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
        )
    }

    pub fn too_large() -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestEntityTooLarge",
            "The maximum request length supported is 4MB.",
        )
    }
}

impl IntoResponse for GraphError {
    fn into_response(self) -> Response {
        let info = request_info();
        let mut inner = serde_json::Map::new();
        if let Some(code) = &self.inner_code {
            inner.insert("code".into(), json!(code));
        }
        inner.insert("date".into(), json!(info.date));
        inner.insert("request-id".into(), json!(info.request_id));
        inner.insert("client-request-id".into(), json!(info.client_request_id));
        let body = json!({
            "error": {
                "code": self.code,
                "message": self.message,
                "innerError": inner,
            }
        });
        let mut resp = (self.status, body.to_string()).into_response();
        let h = resp.headers_mut();
        h.insert(
            axum::http::header::CONTENT_TYPE,
            HeaderValue::from_static(GRAPH_JSON),
        );
        for (name, value) in self.headers {
            if let Ok(v) = HeaderValue::from_str(&value) {
                h.insert(name, v);
            }
        }
        resp
    }
}

/// Errors of the library API (`Admin::try_*`).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SimError {
    #[error("unknown user '{0}'")]
    UnknownUser(String),
    #[error("unknown folder '{0}'")]
    UnknownFolder(String),
    #[error("unknown message '{0}'")]
    UnknownMessage(String),
    #[error("invalid value: {0}")]
    Invalid(String),
    /// A delivered message Exchange Online would not accept (its NDR text).
    #[error("message rejected: {0}")]
    Rejected(String),
}
