//! What can go wrong between a front and a session's home, with its cause, and how
//! each case looks to a client (`ApiError`), including errors a home region refused a
//! typed call with (carried as `WireError` and shown exactly as the home rendered them).
//!
//! Must not: log (fronts log 5xx with the cause chain).

use std::borrow::Cow;

use hyper::StatusCode;
use thiserror::Error;

use crate::domain::{RegionId, SessionId};
use crate::error::ApiError;
use crate::region::client::PeerError;
use crate::region::wire::WireError;
use crate::service::ServiceError;

#[derive(Debug, Error)]
pub enum GatewayError {
    /// This region's service refused or failed (domain rule, conflict, storage).
    #[error(transparent)]
    Service(#[from] ServiceError),
    /// Neither this region nor its home has the session.
    #[error("session {0} not found")]
    NotFound(SessionId),
    /// This region has not seen the session and some region could not be asked.
    #[error("session {session_id} cannot be looked up while a region is unreachable")]
    Undecidable {
        session_id: SessionId,
        #[source]
        source: PeerError,
    },
    /// The session's home region could not be reached (never a second writer).
    #[error("the home region {home} is unreachable")]
    HomeUnreachable {
        home: RegionId,
        #[source]
        source: PeerError,
    },
    /// A peer sent a write here, but the session lives in `home`.
    #[error("misdirected call: the session is homed in {home}")]
    Misdirected { home: RegionId },
    /// A REST edge on Fly: let Fly's proxy replay the request in `home`.
    #[error("replay in region {home}")]
    Replay { home: RegionId },
    /// A zero-loss write was committed here but its successor region did not confirm
    /// holding it: not acknowledged (503); it stays committed (version `version`).
    #[error("zero-loss write {version} not confirmed by the successor region {successor}")]
    NotDurable {
        successor: RegionId,
        version: u64,
        #[source]
        source: Option<PeerError>,
    },
    /// The home refused the call; the client sees the home's error.
    #[error("the home region refused: {} {}", .0.status, .0.code)]
    Refused(WireError),
}

impl From<GatewayError> for ApiError {
    fn from(e: GatewayError) -> Self {
        match e {
            GatewayError::Service(s) => s.into(),
            GatewayError::NotFound(ref id) => ApiError::not_found(id),
            GatewayError::Undecidable { .. } => ApiError::unavailable(
                "Some regions are unreachable; this session cannot be looked up now",
                2,
            )
            .caused_by(e),
            GatewayError::HomeUnreachable { ref home, .. } => ApiError::unavailable(
                format!("The home region of this session ({home}) is unreachable; please retry"),
                2,
            )
            .caused_by(e),
            GatewayError::Misdirected { ref home } => ApiError::unavailable(
                format!("Misdirected request: this region is not the home of the session ({home})"),
                1,
            )
            .caused_by(e),
            // Fronts answer `Replay` themselves; reaching here is a bug, not a client's.
            GatewayError::Replay { .. } => ApiError::internal().caused_by(e),
            GatewayError::Refused(w) => from_wire(w),
            GatewayError::NotDurable { version, .. } => {
                let mut a = ApiError::unavailable(
                    "The write was committed but its successor region did not confirm it (zero-loss durability); read the session before retrying",
                    1,
                );
                a.code = Cow::Borrowed("NOT_DURABLE");
                a.with_details(serde_json::json!({ "committed_version": version }))
                    .caused_by(e)
            }
        }
    }
}

/// How a home region renders an error into its typed reply.
pub fn to_wire(e: &ApiError) -> WireError {
    WireError {
        status: e.status.as_u16(),
        code: e.code.to_string(),
        message: e.message.clone(),
        details: e.details.as_ref().map(|d| d.to_string()),
        retry_after: e.retry_after,
    }
}

fn from_wire(w: WireError) -> ApiError {
    let status = StatusCode::from_u16(w.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut e = ApiError::new(status, Cow::Owned(w.code), w.message);
    e.details = w
        .details
        .and_then(|d| serde_json::from_str(&d).ok())
        .map(Box::new);
    e.retry_after = w.retry_after;
    if status.is_server_error() {
        e.blame = crate::error::Blame::Upstream;
    }
    e
}

impl GatewayError {
    /// This region's storage failed (unreachable, or an unreadable value): the caller
    /// may fall back to what fan-out delivered here.
    pub fn is_storage_failure(&self) -> bool {
        use crate::store::StoreError;
        matches!(
            self,
            GatewayError::Service(ServiceError::Store(
                StoreError::Unavailable { .. } | StoreError::Corrupt { .. }
            ))
        )
    }
}
