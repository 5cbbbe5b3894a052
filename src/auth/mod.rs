//! Signed tokens (JWT), checked statelessly in every region: the keys by key id (several
//! during a rotation), the verification of a token into an `Actor`, and signing for the
//! `synckairos token` command. With `auth.mode = "off"` nothing is checked and every
//! request acts as the open v2 API did.
//!
//! Owns: token formats, keys and their errors (401 reasons). Must not: decide what an
//! actor may do (`domain::access`), or read requests (the fronts find the token).

pub mod claims;
pub mod issue;
pub mod keys;

use std::path::PathBuf;

use thiserror::Error;

use crate::config::AuthConfig;
use crate::domain::Actor;
use claims::Claims;
use keys::Keys;

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

/// The token check of one instance.
pub struct Auth {
    keys: Option<Keys>,
}

impl Auth {
    /// From `[auth]`: `Ok` with no checks when off; an error names a bad key.
    pub fn new(cfg: &AuthConfig) -> Result<Auth, AuthError> {
        if !cfg.is_on() {
            return Ok(Auth::open());
        }
        let keys = Keys::new(cfg)?;
        if keys.is_empty() {
            return Err(AuthError::NoKeys);
        }
        Ok(Auth { keys: Some(keys) })
    }

    /// No checks (the open v2 API).
    pub fn open() -> Auth {
        Auth { keys: None }
    }

    pub fn is_on(&self) -> bool {
        self.keys.is_some()
    }

    /// The actor a request acts as: `None` when auth is off; with auth on, the verified
    /// token's actor (a missing or unacceptable token is an error).
    pub fn actor(&self, token: Option<&str>) -> Result<Option<Actor>, AuthError> {
        let Some(keys) = &self.keys else {
            return Ok(None);
        };
        let token = token.filter(|t| !t.is_empty()).ok_or(AuthError::Missing)?;
        keys.verify(token)?.actor().map(Some)
    }

    /// The verified claims of a token (for tools and tests).
    pub fn claims(&self, token: &str) -> Result<Claims, AuthError> {
        self.keys.as_ref().ok_or(AuthError::NoKeys)?.verify(token)
    }
}
