//! Signed tokens (JWT), checked statelessly in every region: the keys by key id (several
//! during a rotation), the verification of a token into an `Actor`, and signing for the
//! `synckairos token` command. With `auth.mode = "off"` nothing is checked and every
//! request acts as the open v2 API did.
//!
//! Owns: token formats, keys and their errors (401 reasons). Must not: decide what an
//! actor may do (`domain::access`), or read requests (the fronts find the token).

mod cache;
pub mod claims;
pub mod error;
pub mod issue;
pub mod keys;

use std::sync::Arc;

use crate::config::AuthConfig;
use crate::domain::Actor;
use claims::Claims;
pub use error::AuthError;
use keys::Keys;

/// The token check of one instance.
pub struct Auth {
    keys: Option<Keys>,
    /// Tokens verified before (a client sends the same one with every request).
    cache: cache::TokenCache,
    leeway_secs: u64,
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
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
        Ok(Auth {
            keys: Some(keys),
            cache: cache::TokenCache::default(),
            leeway_secs: cfg.leeway_secs,
        })
    }

    /// No checks (the open v2 API).
    pub fn open() -> Auth {
        Auth {
            keys: None,
            cache: cache::TokenCache::default(),
            leeway_secs: 0,
        }
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
        let now = unix_now();
        if let Some(actor) = self.cache.get(token, now) {
            return Ok(Some(Actor::clone(&actor)));
        }
        let claims = keys.verify(token)?;
        let actor = claims.actor()?;
        // Only tokens valid now are kept (`nbf` in the future: checked every time).
        if claims.nbf.is_none_or(|nbf| nbf <= now) {
            let until = claims.exp.saturating_add(self.leeway_secs);
            self.cache.put(token, Arc::new(actor.clone()), until, now);
        }
        Ok(Some(actor))
    }

    /// The verified claims of a token (for tools and tests).
    pub fn claims(&self, token: &str) -> Result<Claims, AuthError> {
        self.keys.as_ref().ok_or(AuthError::NoKeys)?.verify(token)
    }
}
