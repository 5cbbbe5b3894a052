//! Verification keys by key id (`kid`), built from `[auth.keys]`: HMAC secrets or
//! public keys (PEM, inline or from a file), and the check of one token against them:
//! signature, algorithm (the key's own, never the token's choice), `exp` (required),
//! `nbf`, `iss`, `aud`, with the configured clock leeway.
//!
//! Must not: decide what a verified token allows (`domain::access` does).

use std::collections::HashMap;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};

use super::claims::Claims;
use super::error::AuthError;
use crate::config::{AuthConfig, KeyConfig};

/// Shortest HMAC secret accepted (RFC 7518 §3.2: at least the hash size).
pub const MIN_SECRET_BYTES: usize = 32;

struct Key {
    key: DecodingKey,
    validation: Validation,
}

/// Every configured key, ready to verify tokens.
pub struct Keys {
    by_kid: HashMap<String, Key>,
}

/// The algorithm named in a key's configuration.
pub fn algorithm(name: &str) -> Option<Algorithm> {
    name.parse().ok()
}

pub fn is_hmac(alg: Algorithm) -> bool {
    matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512)
}

/// A key's PEM text (inline or from its file), for public keys.
fn pem(kid: &str, k: &KeyConfig) -> Result<Vec<u8>, AuthError> {
    match (&k.public_key, &k.public_key_file) {
        (Some(text), _) => Ok(text.as_bytes().to_vec()),
        (None, Some(path)) => std::fs::read(path).map_err(|source| AuthError::KeyFile {
            kid: kid.to_owned(),
            path: path.clone(),
            source,
        }),
        (None, None) => Err(AuthError::Key {
            kid: kid.to_owned(),
            why: "a public key algorithm needs public_key or public_key_file".into(),
        }),
    }
}

fn decoding_key(kid: &str, k: &KeyConfig, alg: Algorithm) -> Result<DecodingKey, AuthError> {
    let bad = |why: String| AuthError::Key {
        kid: kid.to_owned(),
        why,
    };
    if is_hmac(alg) {
        let secret = k.secret.as_deref().unwrap_or("");
        if secret.len() < MIN_SECRET_BYTES {
            return Err(bad(format!(
                "an HMAC secret of at least {MIN_SECRET_BYTES} bytes is required \
                 (SYNCKAIROS_AUTH__KEYS__{}__SECRET)",
                kid.to_ascii_uppercase()
            )));
        }
        return Ok(DecodingKey::from_secret(secret.as_bytes()));
    }
    let pem = pem(kid, k)?;
    let parsed = match alg {
        Algorithm::ES256 | Algorithm::ES384 => DecodingKey::from_ec_pem(&pem),
        Algorithm::EdDSA => DecodingKey::from_ed_pem(&pem),
        _ => DecodingKey::from_rsa_pem(&pem),
    };
    parsed.map_err(|e| bad(format!("unreadable public key: {e}")))
}

impl Keys {
    pub fn new(cfg: &AuthConfig) -> Result<Keys, AuthError> {
        let mut by_kid = HashMap::new();
        for (kid, k) in &cfg.keys {
            let alg = algorithm(&k.alg).ok_or_else(|| AuthError::Key {
                kid: kid.clone(),
                why: format!("unknown algorithm {:?}", k.alg),
            })?;
            let key = decoding_key(kid, k, alg)?;
            let mut validation = Validation::new(alg);
            validation.leeway = cfg.leeway_secs;
            validation.validate_nbf = true;
            match &cfg.audience {
                Some(aud) => validation.set_audience(&[aud]),
                None => validation.validate_aud = false,
            }
            if let Some(iss) = &cfg.issuer {
                validation.set_issuer(&[iss]);
            }
            by_kid.insert(kid.clone(), Key { key, validation });
        }
        Ok(Keys { by_kid })
    }

    pub fn is_empty(&self) -> bool {
        self.by_kid.is_empty()
    }

    /// The verified claims of `token`.
    pub fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        let header = decode_header(token).map_err(|_| AuthError::Malformed)?;
        let key = match header.kid.as_deref() {
            Some(kid) => self.by_kid.get(kid),
            None if self.by_kid.len() == 1 => self.by_kid.values().next(),
            None => None,
        }
        .ok_or(AuthError::UnknownKey)?;
        decode::<Claims>(token, &key.key, &key.validation)
            .map(|data| data.claims)
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => AuthError::Expired,
                ErrorKind::ImmatureSignature => AuthError::NotYetValid,
                ErrorKind::InvalidSignature => AuthError::BadSignature,
                ErrorKind::InvalidAlgorithm => AuthError::WrongAlgorithm,
                ErrorKind::InvalidIssuer => AuthError::Claims("wrong issuer (iss)"),
                ErrorKind::InvalidAudience => AuthError::Claims("wrong audience (aud)"),
                ErrorKind::MissingRequiredClaim(_) => AuthError::Claims("exp is required"),
                ErrorKind::Json(_) => AuthError::Claims("sub, role and exp are required"),
                _ => AuthError::Malformed,
            })
    }
}
