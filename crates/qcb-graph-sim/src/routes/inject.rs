//! Carrying out an injected [`Fault`] around a request (called by the
//! outer middleware in `mod.rs`).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::Shared;
use crate::conn::ConnControl;
use crate::error::GraphError;
use crate::faults::Fault;

/// The answer that replaces the request, when the fault is one; sleeps for
/// `Slow` and revokes tokens for `RevokeTokens` (the request then goes on
/// and meets the revocation).
pub(crate) async fn before(shared: &Shared, fault: Option<&Fault>, path: &str) -> Option<Response> {
    let retry = |e: GraphError, after: &Option<u64>| match after {
        Some(n) => e.with_header(header::RETRY_AFTER, n.to_string()),
        None => e,
    };
    match fault? {
        Fault::ServiceUnavailable { retry_after } => Some(
            retry(
                GraphError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "ServiceUnavailable",
                    "The service is temporarily unavailable. Please retry later.",
                ),
                retry_after,
            )
            .into_response(),
        ),
        Fault::GatewayTimeout { retry_after } => Some(
            retry(
                GraphError::new(
                    StatusCode::GATEWAY_TIMEOUT,
                    "GatewayTimeout",
                    "The request timed out.",
                ),
                retry_after,
            )
            .into_response(),
        ),
        Fault::TooManyRequests { retry_after } => {
            Some(GraphError::throttled(*retry_after, "request").into_response())
        }
        // Carried out by `delay` (inside the throttle's slot when there is one).
        Fault::Slow { .. } => None,
        Fault::SyncStateNotFound => Some(
            GraphError::new(
                StatusCode::BAD_REQUEST,
                "syncStateNotFound",
                "The sync state generation is not found. Please do a full sync.",
            )
            .into_response(),
        ),
        Fault::SyncStateGone => Some(
            GraphError::new(
                StatusCode::GONE,
                "syncStateNotFound",
                "The sync state has expired. Please do a full sync.",
            )
            .with_header(header::LOCATION, format!("{}{path}", shared.base_url))
            .into_response(),
        ),
        Fault::RevokeTokens => {
            shared.proto.identity().revoke_all();
            None
        }
        Fault::ConnectionReset | Fault::TruncatedBody => None,
    }
}

/// A pending `Slow` fault of the current request: the bearer check waits
/// it out while holding the mailbox's throttle slot; otherwise the outer
/// middleware waits before answering.
#[derive(Clone, Default)]
pub(crate) struct Delay(Arc<Mutex<Option<u64>>>);

impl Delay {
    pub fn new(fault: Option<&Fault>) -> Option<Self> {
        match fault {
            Some(Fault::Slow { millis }) => Some(Delay(Arc::new(Mutex::new(Some(*millis))))),
            _ => None,
        }
    }

    /// Waits the delay if nobody did yet.
    pub async fn wait(&self) {
        let ms = self.0.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(ms) = ms {
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
    }
}

/// Applies the faults that act on the answer.
pub(crate) async fn after(
    fault: Option<&Fault>,
    resp: Response,
    conn: Option<ConnControl>,
) -> Response {
    match (fault, conn) {
        (Some(Fault::ConnectionReset), Some(c)) => {
            c.reset();
            resp
        }
        (Some(Fault::TruncatedBody), Some(_)) => truncate(resp).await,
        _ => resp,
    }
}

/// Half the body, then the connection breaks (the full `Content-Length`
/// is announced).
async fn truncate(resp: Response) -> Response {
    let (mut parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let half = bytes.slice(..bytes.len() / 2);
    parts.headers.insert(
        header::CONTENT_LENGTH,
        bytes.len().to_string().parse().expect("number header"),
    );
    // Half the body; then (after the server has flushed it) the break.
    let stream = futures_util::stream::unfold(0u8, move |step| {
        let half = half.clone();
        async move {
            match step {
                0 => Some((Ok::<Bytes, std::io::Error>(half), 1)),
                1 => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    Some((
                        Err(std::io::Error::new(
                            std::io::ErrorKind::BrokenPipe,
                            "fault injection: truncated body",
                        )),
                        2,
                    ))
                }
                _ => None,
            }
        }
    });
    Response::from_parts(parts, Body::from_stream(stream))
}
