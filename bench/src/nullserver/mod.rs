//! `null-server`: a trivial in-process server for the v2 routes the harness uses,
//! answering with small canned JSON. It keeps just enough state (versions, the
//! active participant, deadlines, WebSocket hubs) for every scenario to run
//! against it, so the harness can be developed and its own capacity measured
//! without the real server. It does no validation beyond what it needs.

mod raw;
mod store;
mod ws;

use crate::cli::NullServerArgs;
use anyhow::{Context, Result};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Method, Request, Response};
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use std::sync::Arc;
use store::{Change, Store};

type Resp = Response<Full<Bytes>>;

fn json(status: u16, body: impl Into<Bytes>) -> Resp {
    Response::builder()
        .status(status)
        .header("content-type", "application/json; charset=utf-8")
        .body(Full::new(body.into()))
        .expect("response")
}

fn error(status: u16, code: &str, message: &str) -> Resp {
    json(
        status,
        format!(r#"{{"error":{{"code":"{code}","message":"{message}"}}}}"#),
    )
}

#[derive(Deserialize)]
struct CreateBody {
    session_id: String,
    participants: Vec<Participant>,
    #[serde(default)]
    action_on_timeout: Option<String>,
}

#[derive(Deserialize)]
struct Participant {
    participant_id: String,
    total_time_ms: u64,
}

/// Serves until the process is killed.
pub async fn run(args: NullServerArgs) -> Result<()> {
    crate::sysinfo::raise_nofile();
    let listener = tokio::net::TcpListener::bind((args.host.as_str(), args.port))
        .await
        .with_context(|| format!("binding {}:{}", args.host, args.port))?;
    eprintln!(
        "null-server listening on http://{} (pid {})",
        listener.local_addr()?,
        std::process::id()
    );
    serve(listener, args.raw).await
}

/// Serves on an already bound listener (tests bind port 0).
pub async fn serve(listener: tokio::net::TcpListener, raw: bool) -> Result<()> {
    if raw {
        return raw::serve(listener).await;
    }
    let store = Store::new();
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        let store = store.clone();
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |req| {
                let store = store.clone();
                async move { Ok::<_, std::convert::Infallible>(route(store, req).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), svc)
                .with_upgrades()
                .await;
        });
    }
}

async fn route(store: Arc<Store>, mut req: Request<Incoming>) -> Resp {
    let path = req.uri().path().to_string();
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let method = req.method().clone();
    match (&method, segs.as_slice()) {
        (&Method::GET, ["health"]) => json(200, r#"{"status":"ok"}"#),
        (&Method::GET, ["ready"]) => json(200, r#"{"status":"ready"}"#),
        (&Method::GET, ["metrics"]) => metrics(&store),
        (&Method::GET, ["v1", "time"]) => json(
            200,
            format!(
                r#"{{"timestamp_ms":{},"server_version":"2.0.0","drift_tolerance_ms":50}}"#,
                store.now_ms()
            ),
        ),
        (&Method::GET, ["ws"]) => ws::upgrade(store, &mut req),
        (&Method::POST, ["v1", "sessions"]) => {
            let Ok(body) = req.into_body().collect().await else {
                return error(400, "VALIDATION_ERROR", "bad body");
            };
            let Ok(b) = serde_json::from_slice::<CreateBody>(&body.to_bytes()) else {
                return error(400, "VALIDATION_ERROR", "Request validation failed");
            };
            let ps = b
                .participants
                .into_iter()
                .map(|p| (p.participant_id, p.total_time_ms))
                .collect();
            store.create(
                &b.session_id,
                ps,
                b.action_on_timeout.unwrap_or_else(|| "continue".into()),
            );
            let id = &b.session_id;
            json(
                201,
                format!(r#"{{"data":{{"session_id":"{id}","status":"pending","version":1}}}}"#),
            )
        }
        (&Method::GET, ["v1", "sessions", id]) => match store.version(id) {
            Some(v) => json(
                200,
                format!(r#"{{"data":{{"session_id":"{id}","version":{v}}}}}"#),
            ),
            None => error(404, "SESSION_NOT_FOUND", "Session not found"),
        },
        (&Method::DELETE, ["v1", "sessions", id]) => {
            store.delete(id);
            Response::builder()
                .status(204)
                .body(Full::new(Bytes::new()))
                .expect("response")
        }
        (&Method::POST, ["v1", "sessions", id, op @ ("start" | "switch")]) => {
            let now = store.iso_now();
            match store.transition(id, *op == "switch") {
                Change::Ok(v) => json(
                    200,
                    format!(
                        r#"{{"data":{{"session_id":"{id}","status":"running","version":{v},"cycle_started_at":"{now}"}}}}"#
                    ),
                ),
                Change::NotFound => error(404, "SESSION_NOT_FOUND", "Session not found"),
                Change::NotRunning => error(400, "INVALID_STATE_TRANSITION", "wrong status"),
            }
        }
        _ => error(404, "NOT_FOUND", "Route not found"),
    }
}

fn metrics(store: &Store) -> Resp {
    let rss = crate::sysinfo::rss_bytes(std::process::id()).unwrap_or(0);
    let ws = store
        .ws_connections
        .load(std::sync::atomic::Ordering::Relaxed);
    let text = format!(
        "# TYPE synckairos_websocket_connections gauge\nsynckairos_websocket_connections{{region=\"null\"}} {ws}\n\
         # TYPE synckairos_process_resident_memory_bytes gauge\nsynckairos_process_resident_memory_bytes{{region=\"null\"}} {rss}\n"
    );
    Response::builder()
        .status(200)
        .header("content-type", "text/plain; version=0.0.4; charset=utf-8")
        .body(Full::new(Bytes::from(text)))
        .expect("response")
}

#[cfg(test)]
mod tests {
    use crate::api::{self, SessionSpec};
    use crate::http::HttpConn;
    use crate::target::Target;
    use crate::ws::{self, ServerMsg};
    use std::time::Duration;

    async fn start(raw: bool) -> Target {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", l.local_addr().unwrap());
        tokio::spawn(super::serve(l, raw));
        Target::parse("t", &url).await.unwrap()
    }

    #[tokio::test]
    async fn session_switch_reaches_watcher() {
        let t = start(false).await;
        let mut c = HttpConn::new(&t, Duration::from_secs(5));
        let (s, _) = api::create_session(&mut c, &SessionSpec::long_running())
            .await
            .unwrap();
        assert_eq!(api::get_version(&mut c, &s.id).await.unwrap(), 2);
        let mut w = ws::connect(&t, &s.id).await.unwrap();
        ws::expect_connected(&mut w).await.unwrap();
        let r = c
            .request("POST", &s.switch_path, Some(b"{}"))
            .await
            .unwrap();
        assert_eq!(r.status, 200);
        let m = ws::next_text(&mut w).await.unwrap().unwrap();
        let m = ServerMsg::parse(&m).unwrap();
        assert_eq!((m.kind, m.state.unwrap().version), ("STATE_UPDATE", 3));
        let r = c.request("DELETE", &s.path(), None).await.unwrap();
        assert_eq!(r.status, 204);
        assert_eq!(c.request("GET", &s.path(), None).await.unwrap().status, 404);
    }

    #[tokio::test]
    async fn deadline_fires_time_expired() {
        let t = start(false).await;
        let mut c = HttpConn::new(&t, Duration::from_secs(5));
        let spec = SessionSpec {
            budgets_ms: vec![50, 60_000],
            action_on_timeout: None,
            home_region: None,
            start: false,
        };
        let (s, _) = api::create_session(&mut c, &spec).await.unwrap();
        let mut w = ws::connect(&t, &s.id).await.unwrap();
        ws::expect_connected(&mut w).await.unwrap();
        c.request("POST", &format!("{}/start", s.path()), Some(b"{}"))
            .await
            .unwrap();
        loop {
            let m = ws::next_text(&mut w).await.unwrap().unwrap();
            let m = ServerMsg::parse(&m).unwrap();
            if m.kind == "TIME_EXPIRED" {
                assert_eq!(m.participant_id, Some(s.participants[0].as_str()));
                break;
            }
        }
    }

    #[tokio::test]
    async fn raw_mode_keeps_alive() {
        let t = start(true).await;
        let mut c = HttpConn::new(&t, Duration::from_secs(5));
        for _ in 0..100 {
            let r = c
                .request("POST", "/v1/sessions/x/switch", Some(b"{}"))
                .await
                .unwrap();
            assert_eq!(
                (r.status, &r.body[..]),
                (200, &br#"{"data":{"version":1}}"#[..])
            );
        }
        assert_eq!(
            c.request("DELETE", "/v1/sessions/x", None)
                .await
                .unwrap()
                .status,
            204
        );
    }
}
