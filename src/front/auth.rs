//! Finding a request's token and who the request acts as: `Authorization: Bearer <jwt>`
//! on any route, and `?token=<jwt>` on the WebSocket URL (browsers cannot set headers
//! there). Also the client identity quotas count against: the token's subject when
//! there is one, else the client address.
//!
//! Must not: verify tokens itself (`crate::auth`) or decide what an actor may do
//! (`domain::access`, through the gateway).

use hyper::header::AUTHORIZATION;
use hyper::HeaderMap;

use super::ctx::Ctx;
use crate::auth::AuthError;
use crate::domain::Actor;
use crate::error::ApiError;

/// The bearer token of `Authorization`, if any.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The `token` query parameter (JWTs are URL-safe: no decoding needed).
pub fn query_token(query: Option<&str>) -> Option<&str> {
    query?
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == "token")
        .map(|(_, v)| v)
}

/// The 401 for a token problem (with `WWW-Authenticate`).
pub fn unauthorized(e: &AuthError) -> ApiError {
    crate::metrics::auth_refused(e.reason());
    ApiError::unauthorized(e.reason(), e.to_string())
}

/// Who a request acts as (`None` when auth is off), or its 401.
pub fn actor(ctx: &Ctx, token: Option<&str>) -> Result<Option<Actor>, ApiError> {
    ctx.auth.actor(token).map_err(|e| unauthorized(&e))
}

/// The client quotas count against: `sub:<subject>` with a token, else `ip:<address>`.
pub fn client_identity(actor: Option<&Actor>, address: &str) -> String {
    match actor {
        Some(a) => format!("sub:{}", a.subject),
        None => format!("ip:{address}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_found_where_clients_put_them() {
        let mut h = HeaderMap::new();
        assert_eq!(bearer(&h), None);
        h.insert(AUTHORIZATION, "Bearer abc.def.ghi".parse().unwrap());
        assert_eq!(bearer(&h), Some("abc.def.ghi"));
        h.insert(AUTHORIZATION, "bearer  x ".parse().unwrap());
        assert_eq!(bearer(&h), Some("x"));
        h.insert(AUTHORIZATION, "Basic x".parse().unwrap());
        assert_eq!(bearer(&h), None);
        assert_eq!(query_token(Some("sessionId=1&token=a.b.c")), Some("a.b.c"));
        assert_eq!(query_token(Some("sessionId=1")), None);
        assert_eq!(query_token(None), None);
    }
}
