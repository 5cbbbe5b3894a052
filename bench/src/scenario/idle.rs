//! `idle`: N idle WebSocket connections. Server memory per connection comes from
//! `/proc/<pid>/status` VmRSS (with `--pid`), else from the
//! `synckairos_process_resident_memory_bytes` gauge in `/metrics`, read before
//! and after the connections are open. A sample of the connections measures
//! PING→PONG round trips meanwhile. With `--compare` the targets run one after
//! the other (memory is not a noisy figure; interleaving sockets would mix them).

use crate::api::{self, SessionSpec};
use crate::cli::IdleArgs;
use crate::report::{self, ScenarioReport, TargetResult};
use crate::stats::{Recorder, Series};
use crate::sysinfo::{raise_nofile, rss_bytes, scrape_gauge};
use crate::target::Target;
use crate::ws;
use anyhow::Result;
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{watch, Semaphore};

const RSS_GAUGE: &str = "synckairos_process_resident_memory_bytes";
const WS_GAUGE: &str = "synckairos_websocket_connections";

async fn server_rss(t: &Target, pid: Option<u32>) -> Option<(f64, &'static str)> {
    if let Some(p) = pid {
        return rss_bytes(p).ok().map(|b| (b as f64, "/proc VmRSS"));
    }
    scrape_gauge(t, RSS_GAUGE).await.map(|b| (b, "/metrics"))
}

pub async fn run(args: IdleArgs) -> Result<()> {
    let c = &args.common;
    let targets = super::targets(c).await?;
    let limit = raise_nofile();
    let start = Instant::now();
    let mut rep = ScenarioReport::new(
        c.name.as_deref().unwrap_or("idle"),
        &format!("{} idle WebSocket connections", args.connections),
        json!({"connections": args.connections, "per_session": args.per_session, "hold_s": args.hold,
            "ping_sample": args.ping_sample, "nofile_limit": limit}),
    );
    if (args.connections as u64) + 64 > limit {
        rep.notes.push(format!(
            "open-file limit is {limit}: connections beyond it fail (raise ulimit -n)"
        ));
    }
    for (i, t) in targets.iter().enumerate() {
        rep.targets.push(one_target(&args, t, c.pid_of(i)).await?);
    }
    rep.duration_s = start.elapsed().as_secs_f64();
    if targets.len() > 1 {
        rep.notes.push(
            "with --compare the targets were measured one after the other, not interleaved".into(),
        );
    }
    report::finish(rep, &c.out_dir())
}

async fn one_target(args: &IdleArgs, t: &Target, pid: Option<u32>) -> Result<TargetResult> {
    let n = args.connections;
    let n_sessions = n.div_ceil(args.per_session.max(1)).max(1);
    let mut spec = SessionSpec::long_running();
    spec.start = false;
    let sessions = api::setup_sessions(t, n_sessions, &spec, 8).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = server_rss(t, pid).await;
    let ws_before = scrape_gauge(t, WS_GAUGE).await;

    let pb = crate::progress::counter(n as u64, &format!("ws {}", t.label));
    let sem = Arc::new(Semaphore::new(args.parallel.max(1)));
    let (stop_tx, stop_rx) = watch::channel(false);
    let (go_tx, go_rx) = watch::channel(false);
    let mut opening = tokio::task::JoinSet::new();
    for i in 0..n {
        let (t, id, sem, pb) = (
            t.clone(),
            sessions[i % n_sessions].id.clone(),
            sem.clone(),
            pb.clone(),
        );
        opening.spawn(async move {
            let _p = sem.acquire().await?;
            let t0 = Instant::now();
            let mut sock = ws::connect(&t, &id).await?;
            ws::expect_connected(&mut sock).await?;
            pb.inc(1);
            anyhow::Ok((i, t0.elapsed().as_micros() as u64, sock))
        });
    }
    let mut handshake = Recorder::default();
    let mut holders = tokio::task::JoinSet::new();
    while let Some(r) = opening.join_next().await {
        match r? {
            Ok((i, us, sock)) => {
                handshake.record_us(us);
                let (go, stop) = (go_rx.clone(), stop_rx.clone());
                let sampler = i < args.ping_sample;
                holders.spawn(hold(sock, sampler, go, stop));
            }
            Err(e) => handshake.error(format!("connect: {}", short(&e))),
        }
    }
    pb.finish_and_clear();
    let open = handshake.ok();
    let _ = go_tx.send(true);
    tokio::time::sleep(Duration::from_secs_f64(args.hold)).await;
    let after = server_rss(t, pid).await;
    let ws_after = scrape_gauge(t, WS_GAUGE).await;
    let _ = stop_tx.send(true);
    let mut ping = Recorder::default();
    let mut dropped = 0u64;
    while let Some(r) = holders.join_next().await {
        let (rec, alive) = r?;
        ping.merge(&rec);
        dropped += u64::from(!alive);
    }
    if !args.common.keep_sessions {
        api::delete_sessions(t, &sessions, 8).await;
    }

    let mut errors = handshake.errors.clone();
    errors.extend(ping.errors.clone());
    if dropped > 0 {
        errors.insert("closed by server while idle".into(), dropped);
    }
    let mut tr = TargetResult {
        label: t.label.clone(),
        url: t.url.clone(),
        throughput_rps: None,
        ok: open,
        series: vec![
            Series::from_hist("ws handshake → CONNECTED", &handshake.hist),
            Series::from_hist("PING → PONG while idle", &ping.hist),
        ],
        errors,
        ..Default::default()
    };
    tr.extra.insert("connections open".into(), open as f64);
    if let (Some((b, src)), Some((a, _))) = (before, after) {
        tr.extra
            .insert("server RSS before (MiB)".into(), b / 1048576.0);
        tr.extra
            .insert("server RSS after (MiB)".into(), a / 1048576.0);
        tr.extra.insert(
            format!("server memory per connection (bytes, {src})"),
            (a - b) / open.max(1) as f64,
        );
    }
    if let (Some(b), Some(a)) = (ws_before, ws_after) {
        tr.extra.insert("ws gauge delta (/metrics)".into(), a - b);
    }
    Ok(tr)
}

fn short(e: &anyhow::Error) -> String {
    let s = format!("{e}");
    s.chars().take(60).collect()
}

/// Holds one socket open; once all are open, a sampler sends a PING every 500 ms and
/// times the PONG.
/// Returns the recordings and whether the socket was still open at `stop`.
/// (read_frame is not cancel-safe, so a sampler never races a read against a timer:
/// it sleeps, then reads until its PONG, answering any server pings on the way.)
async fn hold(
    mut sock: ws::Ws,
    sampler: bool,
    mut go: watch::Receiver<bool>,
    mut stop: watch::Receiver<bool>,
) -> (Recorder, bool) {
    let mut rec = Recorder::default();
    if !sampler {
        // Reading answers the server's ping frames; cancelling it is fine once we stop.
        return tokio::select! {
            _ = async { while let Ok(Some(_)) = ws::next_text(&mut sock).await {} } => (rec, false),
            _ = stop.changed() => (rec, true),
        };
    }
    // Until every socket is open, read like the others (answering server pings); the
    // read is dropped at `go` while it waits for a frame to start, not mid-frame in practice.
    tokio::select! {
        _ = async { while let Ok(Some(_)) = ws::next_text(&mut sock).await {} } => return (rec, false),
        _ = go.wait_for(|g| *g) => {},
        _ = stop.changed() => return (rec, true),
    }
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(500)) => {},
            _ = stop.changed() => return (rec, true),
        }
        let ping = format!(
            r#"{{"type":"PING","timestamp":{}}}"#,
            crate::clock::now_us() / 1000
        );
        let t0 = Instant::now();
        if ws::send_text(&mut sock, &ping).await.is_err() {
            return (rec, false);
        }
        loop {
            match ws::next_text(&mut sock).await {
                Ok(Some(m)) if m.windows(6).any(|w| w == b"\"PONG\"") => break,
                Ok(Some(_)) => continue,
                _ => return (rec, false),
            }
        }
        rec.record_us(t0.elapsed().as_micros() as u64);
    }
}
