//! The `[auth]` and `[quotas]` sections: signed tokens (mode, keys by key id for
//! rotation, issuer, audience, clock leeway) and per-client quotas.
//!
//! Owns: these settings' names, meanings and defaults. Must not: load, validate or
//! read key files (the `auth` module turns keys into verifiers).

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Signed tokens (JWT). `mode = "off"` (the built-in default) keeps the open v2 API;
/// `"on"` requires a token on every session route and WebSocket.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// `off` or `on`.
    pub mode: String,
    /// Verification keys by key id (the token header's `kid`). Several at once during a
    /// rotation; a token without `kid` is accepted only when there is exactly one key.
    pub keys: BTreeMap<String, KeyConfig>,
    /// When set, a token's `iss` must equal it.
    pub issuer: Option<String>,
    /// When set, a token's `aud` must contain it.
    pub audience: Option<String>,
    /// Clock skew tolerated on `exp` and `nbf`, in seconds.
    pub leeway_secs: u64,
    /// The key `synckairos token` signs with when `--kid` is not given.
    pub signing_kid: Option<String>,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            mode: "off".into(),
            keys: BTreeMap::new(),
            issuer: None,
            audience: None,
            leeway_secs: 5,
            signing_kid: None,
        }
    }
}

impl AuthConfig {
    pub fn is_on(&self) -> bool {
        self.mode == "on"
    }
}

/// One verification key.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct KeyConfig {
    /// `HS256`, `HS384`, `HS512` (shared secret) or `RS256`, `RS384`, `RS512`,
    /// `PS256`, `PS384`, `PS512`, `ES256`, `ES384`, `EdDSA` (public key).
    pub alg: String,
    /// HMAC secret (at least 32 bytes). A secret: set it in the environment
    /// (`SYNCKAIROS_AUTH__KEYS__<KID>__SECRET`), never in a file.
    pub secret: Option<String>,
    /// A public key in PEM, inline.
    pub public_key: Option<String>,
    /// A public key in PEM, from a file.
    pub public_key_file: Option<PathBuf>,
}

/// Per-client quotas (client: the token's subject when auth is on, else the address).
/// 0 disables a limit.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct QuotaConfig {
    /// Creates per client per 60 s.
    pub creates_per_minute: u32,
    /// Sessions a client created and has not deleted, each counted until its creation
    /// is `sessions.ttl_secs` old.
    pub live_sessions: u32,
    /// Participants × warning thresholds of one session (each is a server write per
    /// turn); larger creates get 413.
    pub max_participants_x_thresholds: u64,
    /// Deadline writes in a row without any client operation after which a session
    /// ends by itself (status `expired`): bounds `skip` loops nobody plays.
    pub max_unattended_writes: u64,
}

impl Default for QuotaConfig {
    fn default() -> Self {
        QuotaConfig {
            creates_per_minute: 120,
            live_sessions: 2_000,
            max_participants_x_thresholds: 1_000,
            max_unattended_writes: 1_000,
        }
    }
}
