//! The error every client-facing path ends in, in pingora's model: what kind it is
//! (HTTP status and the contract's `error.code`), who is to blame (client, upstream,
//! us), whether and when to retry (`Retry-After`), and the cause that produced it (kept
//! for the log, never shown to the client). Rendered in the contract's envelope
//! `{"error":{"code","message","details"?}}`; never a stack.
//!
//! Owns: the mapping from module errors (domain, store, service) to the contract's
//! codes (CONTRACT.md §2.4). Must not: log (callers decide what is worth logging).

use std::borrow::Cow;
use std::error::Error;
use std::sync::Arc;

use hyper::StatusCode;
use serde_json::{json, Value};

use crate::domain::quota::QuotaExceeded;
use crate::domain::{Denied, DomainError, FieldIssue};
use crate::service::ServiceError;
use crate::store::StoreError;

/// Who caused a failure (pingora's split): decides log level and metrics label.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Blame {
    Client,
    Upstream,
    Internal,
}

#[derive(Clone, Debug)]
pub struct ApiError {
    pub status: StatusCode,
    /// The contract's code (`Cow`: a code relayed from another region is owned).
    pub code: Cow<'static, str>,
    pub message: String,
    /// Boxed: errors travel through every `Result` on the request path.
    pub details: Option<Box<Value>>,
    /// Seconds a client should wait (`Retry-After`), for 429 and 503.
    pub retry_after: Option<u64>,
    pub blame: Blame,
    /// What produced this error, for the log (`crate::cause::chain`).
    pub cause: Option<Arc<dyn Error + Send + Sync>>,
}

/// Equal when a client would see the same answer (the cause is not compared).
impl PartialEq for ApiError {
    fn eq(&self, o: &Self) -> bool {
        (
            self.status,
            &self.code,
            &self.message,
            &self.details,
            self.retry_after,
            self.blame,
        ) == (
            o.status,
            &o.code,
            &o.message,
            &o.details,
            o.retry_after,
            o.blame,
        )
    }
}

impl ApiError {
    pub fn new(
        status: StatusCode,
        code: impl Into<Cow<'static, str>>,
        message: impl Into<String>,
    ) -> Self {
        let blame = if status.is_server_error() {
            Blame::Internal
        } else {
            Blame::Client
        };
        ApiError {
            status,
            code: code.into(),
            message: message.into(),
            details: None,
            retry_after: None,
            blame,
            cause: None,
        }
    }

    pub fn with_details(mut self, details: Value) -> Self {
        self.details = Some(Box::new(details));
        self
    }

    /// Keeps `cause` for the log.
    pub fn caused_by(mut self, cause: impl Error + Send + Sync + 'static) -> Self {
        self.cause = Some(Arc::new(cause));
        self
    }

    /// The cause chain for the log (empty when there is none).
    pub fn cause_chain(&self) -> String {
        self.cause
            .as_deref()
            .map(|c| crate::cause::chain(c))
            .unwrap_or_default()
    }

    pub fn validation(issues: Vec<FieldIssue>) -> Self {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "VALIDATION_ERROR",
            "Request validation failed",
        )
        .with_details(json!(issues))
    }

    pub fn not_found(session_id: &str) -> Self {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "SESSION_NOT_FOUND",
            format!("Session {session_id} not found"),
        )
    }

    pub fn conflict(expected: u64, actual: u64) -> Self {
        ApiError::new(
            StatusCode::CONFLICT,
            "CONFLICT",
            "Concurrent modification detected, please retry",
        )
        .with_details(json!({"expected_version": expected, "actual_version": actual}))
    }

    pub fn route_not_found(method: &str, path: &str) -> Self {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            format!("Route {method} {path} not found"),
        )
    }

    pub fn method_not_allowed(method: &str, path: &str) -> Self {
        ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "METHOD_NOT_ALLOWED",
            format!("Method {method} is not allowed on {path}"),
        )
    }

    pub fn payload_too_large(limit: usize) -> Self {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "PAYLOAD_TOO_LARGE",
            format!("Request body exceeds the limit of {limit} bytes"),
        )
    }

    pub fn unavailable(message: impl Into<String>, retry_after: u64) -> Self {
        let mut e = ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "SERVICE_UNAVAILABLE",
            message,
        );
        e.retry_after = Some(retry_after);
        e.blame = Blame::Upstream;
        e
    }

    /// 401: no token, or one that cannot be trusted (`reason`: `missing`, `expired`,
    /// `bad_signature`, …).
    pub fn unauthorized(reason: &'static str, message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", message)
            .with_details(json!({ "reason": reason }))
    }

    /// 403: a valid token that does not allow this.
    pub fn forbidden(denied: &Denied) -> Self {
        ApiError::new(StatusCode::FORBIDDEN, "FORBIDDEN", denied.to_string())
            .with_details(json!({ "reason": denied.reason() }))
    }

    /// 429 (too many: creates, live sessions, connections) or 413 (too large: a
    /// session's size), naming the limit in `details.limit`.
    pub fn quota(q: &QuotaExceeded) -> Self {
        let status = if q.is_size() {
            StatusCode::PAYLOAD_TOO_LARGE
        } else {
            StatusCode::TOO_MANY_REQUESTS
        };
        let mut e = ApiError::new(status, "QUOTA_EXCEEDED", q.to_string())
            .with_details(json!({"limit": q.limit, "max": q.max, "requested": q.requested}));
        e.retry_after = q.retry_after;
        e
    }

    pub fn internal() -> Self {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL_ERROR",
            "Internal server error",
        )
    }

    /// The JSON body of this error.
    pub fn body(&self) -> Value {
        let mut err = json!({"code": &*self.code, "message": self.message});
        if let Some(d) = &self.details {
            err["details"] = (**d).clone();
        }
        if self.status == StatusCode::TOO_MANY_REQUESTS {
            if let Some(r) = self.retry_after {
                err["retry_after_seconds"] = json!(r);
            }
        }
        json!({ "error": err })
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        let msg = e.to_string();
        match e {
            DomainError::Invalid(issues) => ApiError::validation(issues),
            DomainError::UnknownParticipant(_) => {
                ApiError::new(StatusCode::BAD_REQUEST, "VALIDATION_ERROR", msg)
            }
            DomainError::NotActive { expected, actual } => {
                ApiError::new(StatusCode::CONFLICT, "CONFLICT", msg).with_details(
                    json!({"expected_participant_id": expected, "active_participant_id": actual}),
                )
            }
            DomainError::Forbidden(ref d) => ApiError::forbidden(d),
            DomainError::CannotStart { .. }
            | DomainError::NotRunning { .. }
            | DomainError::CannotPause { .. }
            | DomainError::CannotResume { .. } => {
                ApiError::new(StatusCode::BAD_REQUEST, "INVALID_STATE_TRANSITION", msg)
            }
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Exists(id) => ApiError::new(
                StatusCode::CONFLICT,
                "SESSION_EXISTS",
                format!("Session {id} already exists"),
            ),
            StoreError::NotFound { session_id } => ApiError::not_found(&session_id),
            StoreError::Conflict { expected, actual } => ApiError::conflict(expected, actual),
            StoreError::Corrupt { ref session_id, .. } => ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "STATE_DESERIALIZATION_ERROR",
                "Failed to deserialize session state",
            )
            .with_details(json!({ "session_id": session_id }))
            .caused_by(e),
            StoreError::Unavailable { .. } => {
                ApiError::unavailable("Session storage is unavailable, please retry", 1)
                    .caused_by(e)
            }
            StoreError::Fenced => ApiError::unavailable(
                "This region cannot vouch for its sessions now (fenced: it does not hear \
                 from a majority of regions); please retry",
                1,
            )
            .caused_by(e),
        }
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Domain(d) => d.into(),
            ServiceError::Store(s) => s.into(),
            ServiceError::NotFound(id) => ApiError::not_found(&id),
            ServiceError::Quota(ref q) => ApiError::quota(q),
            // The gateway forwards these; reaching here means a caller skipped it.
            ServiceError::RemoteHome(ref home) => ApiError::unavailable(
                format!("This session is homed in region {home}; please retry"),
                1,
            )
            .caused_by(e),
            ServiceError::Clock(_) => ApiError::unavailable(
                "This instance's clock cannot be trusted right now; please retry",
                1,
            )
            .caused_by(e),
        }
    }
}
