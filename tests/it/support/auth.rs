//! Signed tokens for the tests: an `[auth]` configuration with HMAC keys (`k1`, and
//! `k2` for rotation), tokens of every role signed the way `synckairos token` signs
//! them, and authorized HTTP requests.
//!
//! Must not: hold tests.

use std::collections::BTreeMap;

use bytes::Bytes;
use hyper::Method;
use serde_json::Value;
use synckairos::auth::claims::Claims;
use synckairos::auth::issue;
use synckairos::config::{AuthConfig, Config, KeyConfig};

use super::http::{Client, Response};

/// The HMAC secrets of the test keys (32+ bytes).
pub const SECRET_K1: &str = "k1-test-secret-0123456789abcdefghij";
pub const SECRET_K2: &str = "k2-test-secret-0123456789abcdefghij";

fn hmac(secret: &str) -> KeyConfig {
    KeyConfig {
        alg: "HS256".into(),
        secret: Some(secret.into()),
        ..KeyConfig::default()
    }
}

/// Auth on with the keys `kids` (`k1`, `k2`).
pub fn config(kids: &[&str]) -> AuthConfig {
    let mut keys = BTreeMap::new();
    for kid in kids {
        let secret = if *kid == "k2" { SECRET_K2 } else { SECRET_K1 };
        keys.insert((*kid).to_owned(), hmac(secret));
    }
    AuthConfig {
        mode: "on".into(),
        keys,
        ..AuthConfig::default()
    }
}

/// Turns auth on in a server configuration (key `k1`).
pub fn on(c: &mut Config) {
    c.auth = config(&["k1"]);
}

/// The environment that turns auth on in a `synckairos` process (key `k1`).
pub fn env() -> Vec<(&'static str, &'static str)> {
    vec![
        ("SYNCKAIROS_AUTH__MODE", "on"),
        ("SYNCKAIROS_AUTH__KEYS__K1__ALG", "HS256"),
        ("SYNCKAIROS_AUTH__KEYS__K1__SECRET", SECRET_K1),
    ]
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

/// Claims of `role` for `sub`, valid for an hour.
pub fn claims(role: &str, sub: &str) -> Claims {
    Claims {
        sub: sub.into(),
        role: role.into(),
        exp: now() + 3600,
        iat: Some(now()),
        ..Claims::default()
    }
}

/// Signs `claims` with key `kid` of the test configuration.
pub fn sign(kid: &str, claims: &Claims) -> String {
    issue::sign(&config(&["k1", "k2"]), Some(kid), None, claims).expect("signed")
}

/// A service token (`tenant`: limited to it).
pub fn service(sub: &str, tenant: Option<&str>) -> String {
    let mut c = claims("service", sub);
    c.tenant = tenant.map(str::to_owned);
    sign("k1", &c)
}

/// A participant token for `participant` of `session`.
pub fn participant(sub: &str, session: &str, participant: &str) -> String {
    let mut c = claims("participant", sub);
    c.sid = Some(session.into());
    c.pid = Some(participant.into());
    sign("k1", &c)
}

/// A watcher token for `session`.
pub fn watcher(sub: &str, session: &str) -> String {
    let mut c = claims("watcher", sub);
    c.sid = Some(session.into());
    sign("k1", &c)
}

/// HTTP requests with a bearer token.
pub struct Authed<'a> {
    pub http: &'a Client,
    pub token: &'a str,
}

impl Authed<'_> {
    fn headers(&self) -> Vec<(&str, String)> {
        vec![("authorization", format!("Bearer {}", self.token))]
    }

    async fn send(&self, method: Method, path: &str, body: Option<&Value>) -> Response {
        let auth = self.headers();
        let mut h: Vec<(&str, &str)> = auth.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let bytes = match body {
            Some(b) => {
                h.push(("content-type", "application/json"));
                Bytes::from(serde_json::to_vec(b).expect("json"))
            }
            None => Bytes::new(),
        };
        self.http.send(method, path, &h, bytes).await
    }

    pub async fn get(&self, path: &str) -> Response {
        self.send(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Response {
        self.send(Method::POST, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Response {
        self.send(Method::DELETE, path, None).await
    }

    /// `POST /v1/sessions/<id>/<op>` with an empty JSON body.
    pub async fn op(&self, id: &str, op: &str) -> Response {
        self.post(&format!("/v1/sessions/{id}/{op}"), &serde_json::json!({}))
            .await
    }
}

/// The `details.reason` of an error response.
pub fn reason(r: &Response) -> String {
    r.json()["error"]["details"]["reason"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}
