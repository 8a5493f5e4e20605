//! Request bodies: read with a size limit, then parsed as JSON by the handler that knows which
//! error to give for a malformed one.

use axum::body::{Body, Bytes};
use serde_json::Value;

/// Nova's default `max_request_body_size` (112 KiB); far above any body these APIs take.
pub const MAX_BODY_BYTES: usize = 114_688;

pub enum BodyError {
    /// Over the limit. A client that went away mid-body lands here too; nobody reads that answer.
    TooLarge,
    /// Not JSON.
    Malformed,
}

/// Reads the whole body (up to [`MAX_BODY_BYTES`]). `None` if it is empty.
pub async fn read(body: Body) -> Result<Option<Bytes>, BodyError> {
    let bytes = axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|_| BodyError::TooLarge)?;
    Ok((!bytes.is_empty()).then_some(bytes))
}

/// Reads and parses a JSON body; an empty body is `None`.
pub async fn read_json(body: Body) -> Result<Option<Value>, BodyError> {
    match read(body).await? {
        Some(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|_| BodyError::Malformed),
        None => Ok(None),
    }
}
