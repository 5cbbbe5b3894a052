//! Why a relay step failed, with its cause: a peer region, this region's Redis, a
//! malformed frame or envelope. Followers log these and retry; none reaches a client.

use thiserror::Error;

use super::frame::FrameError;
use crate::domain::RegionId;
use crate::region::client::PeerError;
use crate::store::codec::CodecError;
use crate::store::StoreError;

#[derive(Debug, Error)]
pub enum RelayError {
    #[error(transparent)]
    Peer(#[from] PeerError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("Redis command failed: {op}")]
    Redis {
        op: &'static str,
        #[source]
        source: redis::RedisError,
    },
    #[error(transparent)]
    Frame(#[from] FrameError),
    #[error("undecodable envelope or digest")]
    Codec(#[from] CodecError),
    #[error("the relay stream from {home} ended: {why}")]
    Ended { home: RegionId, why: &'static str },
    #[error("reading the relay stream from {home} failed")]
    Body {
        home: RegionId,
        #[source]
        source: hyper::Error,
    },
}

impl RelayError {
    /// `Redis` during `op`, for `map_err`.
    pub fn redis(op: &'static str) -> impl FnOnce(redis::RedisError) -> RelayError {
        move |source| RelayError::Redis { op, source }
    }
}
