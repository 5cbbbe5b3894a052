//! Finding a session this region has not seen yet: its peers are asked (the home's
//! answer is authoritative) and the copy they return is kept here, byte for byte, so
//! the next read is local.
//!
//! Must not: decide what to do with the session (the gateway does).

use crate::domain::{Session, SessionId};
use crate::region::cluster::{Cluster, Lookup};
use crate::relay::copies::Copies;

use super::error::GatewayError;

/// The session as the other regions know it; `NotFound` or `Undecidable` otherwise.
pub async fn from_peers(
    cluster: &Cluster,
    copies: &Copies,
    session_id: &SessionId,
) -> Result<Session, GatewayError> {
    match cluster.lookup(session_id).await {
        Lookup::Found(s, raw) => {
            if let Err(e) = copies.store_copy(&s.home_region, session_id, &raw).await {
                tracing::debug!(
                    session = %session_id,
                    error = %crate::cause::chain(&e),
                    "could not keep the copy found at a peer"
                );
            }
            Ok(*s)
        }
        Lookup::Absent => Err(GatewayError::NotFound(session_id.clone())),
        Lookup::Unknown(source) => Err(GatewayError::Undecidable {
            session_id: session_id.clone(),
            source,
        }),
    }
}
