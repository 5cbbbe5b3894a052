//! Signing tokens: what `synckairos token` does for operators and tests. HMAC keys sign
//! with their configured secret; public-key algorithms need the matching private key
//! (PEM), which the server itself never holds.
//!
//! Must not: be used on the request path (the server only verifies).

use jsonwebtoken::{encode, EncodingKey, Header};

use super::claims::Claims;
use super::error::AuthError;
use super::keys::{algorithm, is_hmac};
use crate::config::AuthConfig;

/// Signs `claims` with key `kid` (else `auth.signing_kid`, else the only key).
pub fn sign(
    cfg: &AuthConfig,
    kid: Option<&str>,
    private_key_pem: Option<&[u8]>,
    claims: &Claims,
) -> Result<String, AuthError> {
    let kid = kid
        .map(str::to_owned)
        .or_else(|| cfg.signing_kid.clone())
        .or_else(|| {
            (cfg.keys.len() == 1)
                .then(|| cfg.keys.keys().next().cloned())
                .flatten()
        })
        .ok_or(AuthError::NoKeys)?;
    let bad = |why: String| AuthError::Key {
        kid: kid.clone(),
        why,
    };
    let k = cfg
        .keys
        .get(&kid)
        .ok_or_else(|| bad("no such key in [auth.keys]".into()))?;
    let alg = algorithm(&k.alg).ok_or_else(|| bad(format!("unknown algorithm {:?}", k.alg)))?;
    let key = if is_hmac(alg) {
        let secret = k
            .secret
            .as_deref()
            .ok_or_else(|| bad("the key's secret is not set".into()))?;
        EncodingKey::from_secret(secret.as_bytes())
    } else {
        let pem = private_key_pem.ok_or_else(|| {
            bad("signing with a public-key algorithm needs the private key".into())
        })?;
        let parsed = match alg {
            jsonwebtoken::Algorithm::ES256 | jsonwebtoken::Algorithm::ES384 => {
                EncodingKey::from_ec_pem(pem)
            }
            jsonwebtoken::Algorithm::EdDSA => EncodingKey::from_ed_pem(pem),
            _ => EncodingKey::from_rsa_pem(pem),
        };
        parsed.map_err(|e| bad(format!("unreadable private key: {e}")))?
    };
    let mut header = Header::new(alg);
    header.kid = Some(kid.clone());
    encode(&header, claims, &key).map_err(|e| bad(format!("cannot sign: {e}")))
}
