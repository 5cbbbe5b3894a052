//! Reading request bodies: the size limit (413 in the contract's envelope, before
//! anything is buffered when `Content-Length` already says too much), the read
//! deadline (a body that has not arrived completely in time is a 408 and the
//! connection closes: a slow sender cannot hold a connection and its buffer forever)
//! and JSON parsing (malformed JSON is a 400 `VALIDATION_ERROR`, not v2's 500).

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_LENGTH};
use hyper::Request;
use serde_json::Value;

use crate::domain::FieldIssue;
use crate::error::ApiError;

/// Reads the whole body within `deadline`, refusing more than `limit` bytes.
pub async fn read(
    req: Request<Incoming>,
    limit: usize,
    deadline: Duration,
) -> Result<(hyper::http::request::Parts, Bytes), ApiError> {
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(ApiError::payload_too_large(limit));
    }
    let (parts, body) = req.into_parts();
    let Ok(collected) = tokio::time::timeout(deadline, Limited::new(body, limit).collect()).await
    else {
        crate::metrics::connection_refused("body_read_timeout");
        return Err(ApiError::new(
            hyper::StatusCode::REQUEST_TIMEOUT,
            "REQUEST_TIMEOUT",
            format!(
                "The request body did not arrive within {} ms",
                deadline.as_millis()
            ),
        ));
    };
    match collected {
        Ok(collected) => Ok((parts, collected.to_bytes())),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            Err(ApiError::payload_too_large(limit))
        }
        Err(_) => Err(ApiError::new(
            hyper::StatusCode::BAD_REQUEST,
            "VALIDATION_ERROR",
            "The request body could not be read",
        )),
    }
}

fn is_json(content_type: Option<&HeaderValue>) -> bool {
    content_type
        .and_then(|v| v.to_str().ok())
        .map(|ct| {
            let mime = ct
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            mime == "application/json" || mime.ends_with("+json")
        })
        .unwrap_or(false)
}

/// The body as JSON. As in v2, a missing body or a non-JSON content type counts as
/// `{}`; a JSON content type with unparsable text is a 400.
pub fn json(content_type: Option<&HeaderValue>, body: &Bytes) -> Result<Value, ApiError> {
    if !is_json(content_type) || body.iter().all(|b| b.is_ascii_whitespace()) {
        return Ok(Value::Object(Default::default()));
    }
    serde_json::from_slice(body).map_err(|e| {
        ApiError::validation(vec![FieldIssue::new(
            "",
            "invalid_json",
            format!("Malformed JSON in request body: {e}"),
        )])
    })
}
