use serde::Serialize;

/// The one error shape the UI sees. `code` is what the UI may branch on; `message` is for people.
#[derive(Debug, Serialize)]
pub struct ApiError {
    pub code: &'static str,
    pub message: String,
}

impl From<qcb_engine::EngineError> for ApiError {
    fn from(e: qcb_engine::EngineError) -> Self {
        ApiError {
            code: e.code(),
            message: e.to_string(),
        }
    }
}

impl ApiError {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
