//! Why a token or a key is refused, and the 401 reason each case shows clients.
//!
//! Must not: log or render responses (the fronts do).

use std::path::PathBuf;

use thiserror::Error;

#[derive(Debug, Error)]
pub enum AuthError {
    #[error(
        "a token is required (Authorization: Bearer <token>, or ?token= on the WebSocket URL)"
    )]
    Missing,
    #[error("the token is not a well-formed JWT")]
    Malformed,
    #[error("the token's key id (kid) is not one of this server's keys")]
    UnknownKey,
    #[error("the token's signature does not verify")]
    BadSignature,
    #[error("the token is not signed with its key's algorithm")]
    WrongAlgorithm,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet (nbf)")]
    NotYetValid,
    #[error("the token's claims are not acceptable: {0}")]
    Claims(&'static str),
    #[error("auth.mode = \"on\" needs at least one key in [auth.keys]")]
    NoKeys,
    #[error("auth key {kid:?}: {why}")]
    Key { kid: String, why: String },
    #[error("auth key {kid:?}: cannot read {path:?}")]
    KeyFile {
        kid: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl AuthError {
    /// The machine-readable reason of a 401 (`details.reason`).
    pub fn reason(&self) -> &'static str {
        match self {
            AuthError::Missing => "missing",
            AuthError::Malformed => "malformed",
            AuthError::UnknownKey => "unknown_key",
            AuthError::BadSignature | AuthError::WrongAlgorithm => "bad_signature",
            AuthError::Expired => "expired",
            AuthError::NotYetValid => "not_yet_valid",
            AuthError::Claims(_) => "claims",
            AuthError::NoKeys | AuthError::Key { .. } | AuthError::KeyFile { .. } => "server_keys",
        }
    }
}
