//! Clock checks of the timing tests: libfaketime for a skewed process, NTP-style
//! sampling of a server's clock over the WebSocket (`PING` → `PONG`, as a player's
//! client does), watchers that stamp every message's arrival, and lateness figures.
//! Every "truth" here is this machine's clock plus the skew a test injected.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use tokio::task::JoinHandle;

use crate::support::http::Client;
use crate::support::ws::{WsClient, WsEvent};

/// This machine's clock, µs since the epoch.
pub fn now_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_micros() as i64
}

/// This machine's clock, ms (fractional).
pub fn now_ms_f() -> f64 {
    now_us() as f64 / 1000.0
}

/// The environment that runs a process `offset` off this machine's clock (`+2s`).
pub fn faketime(offset: &str) -> Vec<(String, String)> {
    synckairos_cluster::faketime::env(offset).unwrap_or_else(|e| panic!("{e:#}"))
}

/// What `PING`/`PONG` exchanges said about a server's clock: the interval of
/// `server − this machine` (ms) they prove, as the JS client computes it.
#[derive(Clone, Debug)]
pub struct Fix {
    pub offset: f64,
    pub bound: f64,
    /// The region whose clock the `PONG`s were in.
    pub timebase: String,
    /// The largest `timebase_error_ms` the server reported.
    pub server_error: f64,
}

/// `n` exchanges, 20 ms apart; other messages are skipped.
pub async fn pong_fix(ws: &mut WsClient, n: usize) -> Fix {
    let (mut lo, mut hi) = (f64::NEG_INFINITY, f64::INFINITY);
    let mut timebase = String::new();
    let mut server_error: f64 = 0.0;
    for _ in 0..n {
        let t0 = now_ms_f();
        ws.send_json(&json!({"type": "PING", "timestamp": t0}))
            .await;
        let (pong, _) = ws.next_of_type("PONG", Duration::from_secs(3)).await;
        let t3 = now_ms_f();
        assert_eq!(pong["client_timestamp"].as_f64(), Some(t0), "{pong}");
        let t1 = pong["server_receive_timestamp"].as_f64().expect("t1");
        let t2 = pong["server_send_timestamp"].as_f64().expect("t2");
        let e = pong["timebase_error_ms"].as_f64().unwrap_or(0.0);
        timebase = pong["timebase"].as_str().unwrap_or("").to_owned();
        server_error = server_error.max(e);
        // The server stamps whole ms, truncated: its clock read t1 … t1 + 1.
        lo = lo.max(t2 - t3 - e);
        hi = hi.min(t1 + 1.0 - t0 + e);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(lo <= hi, "inconsistent exchanges: [{lo}, {hi}]");
    Fix {
        offset: (lo + hi) / 2.0,
        bound: (hi - lo) / 2.0,
        timebase,
        server_error,
    }
}

/// The messages a watcher receives until epoch ms `end`, each with its arrival (µs).
pub fn collect(mut ws: WsClient, end_ms: i64) -> JoinHandle<Vec<(i64, Value)>> {
    tokio::spawn(async move {
        let mut out = Vec::new();
        loop {
            let left = end_ms * 1000 - now_us();
            if left <= 0 {
                return out;
            }
            match ws.next_event(Duration::from_micros(left as u64)).await {
                Some(WsEvent::Text(t)) => {
                    out.push((now_us(), serde_json::from_str(&t).expect("JSON text")))
                }
                Some(WsEvent::Ping | WsEvent::Pong | WsEvent::Binary(_)) => {}
                Some(other) => panic!("watcher ended: {other:?}"),
                None => return out,
            }
        }
    })
}

/// The messages of type `kind` among collected ones.
pub fn of_type<'a>(msgs: &'a [(i64, Value)], kind: &str) -> Vec<&'a (i64, Value)> {
    msgs.iter().filter(|(_, m)| m["type"] == kind).collect()
}

/// p50, p99 and max of a set of figures (ms).
pub fn spread(mut v: Vec<f64>) -> (f64, f64, f64) {
    assert!(!v.is_empty(), "no figures");
    v.sort_by(f64::total_cmp);
    let at = |q: f64| v[((q * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1];
    (at(0.5), at(0.99), v[v.len() - 1])
}

/// The value of metric `name` on the series whose labels contain `label`
/// (`home="iad"`), from `/metrics` of the instance behind `http`.
pub async fn gauge(http: &Client, name: &str, label: &str) -> Option<f64> {
    let text = http.get("/metrics").await.expect(200).text();
    text.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")) && l.contains(label))
        .find_map(|l| l.rsplit(' ').next()?.parse().ok())
}
