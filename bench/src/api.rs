//! The v2 REST calls the scenarios make (create, start, switch, get, delete) and
//! bulk session setup/teardown with a progress bar.

use crate::http::HttpConn;
use crate::ids::uuid_v4;
use crate::progress;
use crate::target::Target;
use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Timeout for setup and teardown calls.
pub const SETUP_TIMEOUT: Duration = Duration::from_secs(10);

/// How to build each session.
#[derive(Clone, Debug)]
pub struct SessionSpec {
    /// Time budget of each participant, in ms (its length is the participant count).
    pub budgets_ms: Vec<u64>,
    /// `action_on_timeout` extension (deadline scenario), if any.
    pub action_on_timeout: Option<String>,
    /// `home_region` extension (regions scenario), if any.
    pub home_region: Option<String>,
    /// Start the session after creating it.
    pub start: bool,
}

impl SessionSpec {
    /// Two participants with the largest budget the API allows (no expiry during a run).
    pub fn long_running() -> Self {
        SessionSpec {
            budgets_ms: vec![86_400_000; 2],
            action_on_timeout: None,
            home_region: None,
            start: true,
        }
    }
}

/// A session the harness created.
#[derive(Clone, Debug)]
pub struct Session {
    pub id: String,
    pub participants: Vec<String>,
    /// Preformatted `/v1/sessions/<id>/switch`.
    pub switch_path: String,
}

impl Session {
    pub fn path(&self) -> String {
        format!("/v1/sessions/{}", self.id)
    }
}

/// The JSON body of `POST /v1/sessions`.
pub fn create_body(id: &str, participants: &[String], spec: &SessionSpec) -> Vec<u8> {
    let ps: Vec<Value> = participants
        .iter()
        .zip(&spec.budgets_ms)
        .enumerate()
        .map(|(i, (p, b))| json!({"participant_id": p, "participant_index": i, "total_time_ms": b}))
        .collect();
    let mut body = json!({
        "session_id": id,
        "sync_mode": "per_participant",
        "participants": ps,
        "total_time_ms": spec.budgets_ms.iter().copied().max().unwrap_or(600_000),
    });
    if let Some(a) = &spec.action_on_timeout {
        body["action_on_timeout"] = json!(a);
    }
    if let Some(r) = &spec.home_region {
        body["home_region"] = json!(r);
    }
    serde_json::to_vec(&body).expect("json")
}

fn check(what: &str, status: u16, want: u16, body: &[u8]) -> Result<()> {
    if status == want {
        return Ok(());
    }
    let hint = if status == 429 {
        " (rate limited: start the server with SYNCKAIROS_RATE_LIMIT__GENERAL_PER_MINUTE=0 SYNCKAIROS_RATE_LIMIT__SWITCH_PER_SECOND=0)"
    } else {
        ""
    };
    bail!(
        "{what}: HTTP {status} (want {want}){hint}: {}",
        String::from_utf8_lossy(body)
    )
}

/// Creates (and optionally starts) one session; returns it and the start response body.
pub async fn create_session(conn: &mut HttpConn, spec: &SessionSpec) -> Result<(Session, Value)> {
    let id = uuid_v4();
    let participants: Vec<String> = spec.budgets_ms.iter().map(|_| uuid_v4()).collect();
    let r = conn
        .request(
            "POST",
            "/v1/sessions",
            Some(&create_body(&id, &participants, spec)),
        )
        .await?;
    check("create session", r.status, 201, &r.body)?;
    let mut started = Value::Null;
    if spec.start {
        let r = conn
            .request("POST", &format!("/v1/sessions/{id}/start"), Some(b"{}"))
            .await?;
        check("start session", r.status, 200, &r.body)?;
        started = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
    }
    let switch_path = format!("/v1/sessions/{id}/switch");
    Ok((
        Session {
            id,
            participants,
            switch_path,
        },
        started,
    ))
}

/// `GET /v1/sessions/:id` → the stored `version`.
pub async fn get_version(conn: &mut HttpConn, id: &str) -> Result<u64> {
    let r = conn
        .request("GET", &format!("/v1/sessions/{id}"), None)
        .await?;
    check("get session", r.status, 200, &r.body)?;
    let v: Value = serde_json::from_slice(&r.body)?;
    v["data"]["version"]
        .as_u64()
        .context("no data.version in GET response")
}

/// Creates `n` sessions on `target` with `parallel` connections, showing progress.
pub async fn setup_sessions(
    target: &Target,
    n: usize,
    spec: &SessionSpec,
    parallel: usize,
) -> Result<Vec<Session>> {
    let pb = progress::counter(n as u64, &format!("setup {}", target.label));
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..parallel.clamp(1, n.max(1)) {
        let (next, target, spec, pb) = (next.clone(), target.clone(), spec.clone(), pb.clone());
        tasks.spawn(async move {
            let mut conn = HttpConn::new(&target, SETUP_TIMEOUT);
            let mut out = Vec::new();
            while next.fetch_add(1, Ordering::Relaxed) < n {
                out.push(create_session(&mut conn, &spec).await?.0);
                pb.inc(1);
            }
            anyhow::Ok(out)
        });
    }
    let mut all = Vec::with_capacity(n);
    while let Some(r) = tasks.join_next().await {
        all.extend(r??);
    }
    pb.finish_and_clear();
    Ok(all)
}

/// Deletes the sessions (best effort; failures are ignored).
pub async fn delete_sessions(target: &Target, sessions: &[Session], parallel: usize) {
    let ids: Arc<Vec<String>> = Arc::new(sessions.iter().map(|s| s.path()).collect());
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..parallel.clamp(1, ids.len().max(1)) {
        let (ids, next, target) = (ids.clone(), next.clone(), target.clone());
        tasks.spawn(async move {
            let mut conn = HttpConn::new(&target, SETUP_TIMEOUT);
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(p) = ids.get(i) else { break };
                let _ = conn.request("DELETE", p, None).await;
            }
        });
    }
    while tasks.join_next().await.is_some() {}
}

/// Waits until `GET /health` answers 200 (or fails after `wait`).
pub async fn wait_healthy(target: &Target, wait: Duration) -> Result<()> {
    wait_path(target, "/health", wait).await
}

/// Waits until `GET <path>` answers 200 (or fails after `wait`).
pub async fn wait_path(target: &Target, path: &str, wait: Duration) -> Result<()> {
    let deadline = tokio::time::Instant::now() + wait;
    let mut conn = HttpConn::new(target, Duration::from_secs(2));
    loop {
        match conn.request("GET", path, None).await {
            Ok(r) if r.status == 200 => return Ok(()),
            _ if tokio::time::Instant::now() >= deadline => {
                bail!("{}{path} did not answer 200 within {wait:?}", target.url)
            }
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_shape() {
        let mut spec = SessionSpec::long_running();
        spec.action_on_timeout = Some("continue".into());
        let b = create_body("s", &["a".into(), "b".into()], &spec);
        let v: Value = serde_json::from_slice(&b).unwrap();
        assert_eq!(v["participants"][1]["participant_index"], 1);
        assert_eq!(v["participants"][0]["total_time_ms"], 86_400_000);
        assert_eq!(v["action_on_timeout"], "continue");
        assert!(v.get("home_region").is_none());
    }
}
