//! `fanout`: S sessions × W WebSocket watchers (spread round-robin over several
//! instance URLs). Each session is switched every `interval`; every watcher
//! records (receipt − the instant the harness sent the switch) and
//! (receipt − `state.updated_at`, the server's commit time, ms precision).
//! The switch that produced version v is found through a per-session ring of
//! send instants indexed by v, so a slow watcher is never matched to a later switch.
//! Each receipt is taken twice: when the kernel received the message (`ws_stamped`,
//! `SO_TIMESTAMPNS`: what a watcher on its own machine sees) and when the harness got
//! around to reading it (which, with thousands of watchers on the servers' cores,
//! includes the harness's own queue).

use super::fanout_watch::{expect_connected, watch, Ring, WatcherRuntime};
use super::{ticker, Live};
use crate::api::{self, SessionSpec};
use crate::cli::FanoutArgs;
use crate::clock::now_us;
use crate::http::HttpConn;
use crate::interleave::Slices;
use crate::report::{self, ScenarioReport, TargetResult};
use crate::stats::{io_kind, status_kind, Recorder, Series};
use crate::target::Target;
use crate::ws_stamped;
use anyhow::{Context, Result};
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// Folds raw samples into a recorder.
fn fold(into: &mut Recorder, samples: &[u32]) {
    for us in samples {
        into.record_us(u64::from(*us));
    }
}

/// The histograms of all watchers of one target.
#[derive(Default)]
struct TargetOut {
    from_send: Recorder,
    from_send_kernel: Recorder,
    from_commit: Recorder,
}

pub async fn run(args: FanoutArgs) -> Result<()> {
    let c = &args.common;
    let targets = super::targets(c).await?;
    crate::sysinfo::raise_nofile();
    let mut per_target = vec![];
    for (i, t) in targets.iter().enumerate() {
        let urls = if i == 0 {
            &args.ws_urls
        } else {
            &args.compare_ws_urls
        };
        let mut ws_targets = vec![];
        for (j, u) in urls.iter().enumerate() {
            ws_targets.push(Target::parse(&format!("{}-ws{j}", t.label), u).await?);
        }
        if ws_targets.is_empty() {
            ws_targets.push(t.clone());
        }
        let sessions =
            api::setup_sessions(t, args.sessions, &SessionSpec::long_running(), 8).await?;
        let mut conn = HttpConn::new(t, api::SETUP_TIMEOUT);
        let mut versions = vec![];
        for s in &sessions {
            versions.push(api::get_version(&mut conn, &s.id).await?);
        }
        per_target.push((sessions, versions, ws_targets));
    }

    // Watchers: connect them all (bounded parallelism) before the first switch.
    let total_ws = targets.len() * args.sessions * args.watchers;
    let pb = crate::progress::counter(total_ws as u64, "watchers");
    let sem = Arc::new(Semaphore::new(128));
    let rings: Vec<Vec<Arc<Ring>>> = per_target
        .iter()
        .map(|(s, _, _)| s.iter().map(|_| Arc::new(Ring::new())).collect())
        .collect();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let watcher_rt = WatcherRuntime::new(args.watchers_idle)?;
    let mut connecting = tokio::task::JoinSet::new();
    for (ti, (sessions, _, ws_targets)) in per_target.iter().enumerate() {
        for (si, s) in sessions.iter().enumerate() {
            for w in 0..args.watchers {
                let wt = ws_targets[(si * args.watchers + w) % ws_targets.len()].clone();
                let (id, sem, pb) = (s.id.clone(), sem.clone(), pb.clone());
                connecting.spawn_on(
                    async move {
                        let _p = sem.acquire().await?;
                        let mut sock = ws_stamped::connect(&wt, &id).await?;
                        expect_connected(&mut sock)
                            .await
                            .context("watcher handshake")?;
                        pb.inc(1);
                        anyhow::Ok((ti, si, sock))
                    },
                    &watcher_rt.handle,
                );
            }
        }
    }
    let mut watchers = tokio::task::JoinSet::new();
    while let Some(r) = connecting.join_next().await {
        let (ti, si, sock) = r??;
        let (ring, stop) = (rings[ti][si].clone(), stop_rx.clone());
        watchers.spawn_on(
            async move { (ti, watch(sock, ring, stop).await) },
            &watcher_rt.handle,
        );
    }
    pb.finish_and_clear();

    // CPU from here to the last delivery: the harness's own and the servers'.
    let cpu_at_start = cpu_now(&args.server_pids);
    // Drivers: one per session, switching only during its target's slices.
    let live = Live::new(&targets);
    let start = Instant::now();
    let end = start + Duration::from_secs_f64(args.duration);
    let slices = Slices::new(start, Duration::from_millis(c.slice_ms), targets.len());
    let (bar, tick) = ticker(args.duration, "fanout", live.clone(), "sw");
    let mut drivers = tokio::task::JoinSet::new();
    for (ti, (sessions, versions, _)) in per_target.iter().enumerate() {
        for (si, s) in sessions.iter().enumerate() {
            let (t, path, ring, live) = (
                targets[ti].clone(),
                s.switch_path.clone(),
                rings[ti][si].clone(),
                live.clone(),
            );
            let (mut version, id) = (versions[si], s.id.clone());
            let (timeout, interval) = (
                Duration::from_millis(c.timeout_ms),
                Duration::from_millis(args.interval_ms),
            );
            drivers.spawn(async move {
                let mut conn = HttpConn::new(&t, timeout);
                let mut rec = Recorder::default();
                // Spread the sessions' first switches over one interval.
                tokio::time::sleep(interval.mul_f64(fastrand::f64())).await;
                while Instant::now() < end {
                    if slices.target_at(Instant::now()) != ti {
                        tokio::time::sleep(Duration::from_millis(5)).await;
                        continue;
                    }
                    let t0 = Instant::now();
                    ring.set(version + 1, now_us());
                    match conn.request("POST", &path, Some(b"{}")).await {
                        Ok(r) if r.status == 200 => {
                            version += 1;
                            live.ok(ti);
                            rec.record_us(t0.elapsed().as_micros() as u64);
                        }
                        other => {
                            live.err();
                            rec.error(match other {
                                Ok(r) => status_kind(r.status, &r.body),
                                Err(e) => io_kind(&e),
                            });
                            if let Ok(v) = api::get_version(&mut conn, &id).await {
                                version = v;
                            }
                        }
                    }
                    tokio::time::sleep(interval).await;
                }
                (ti, rec)
            });
        }
    }
    let mut switch_rec: Vec<Recorder> = targets.iter().map(|_| Recorder::default()).collect();
    while let Some(r) = drivers.join_next().await {
        let (ti, rec) = r?;
        switch_rec[ti].merge(&rec);
    }
    let run_secs = start.elapsed().as_secs_f64();
    tick.abort();
    bar.finish_and_clear();
    // Let the last updates arrive, then stop the watchers and delete the sessions.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let cpu_used = cpu_now(&args.server_pids).since(&cpu_at_start);
    let _ = stop_tx.send(true);
    let mut outs: Vec<TargetOut> = targets.iter().map(|_| TargetOut::default()).collect();
    while let Some(r) = watchers.join_next().await {
        let (ti, o) = r?;
        fold(&mut outs[ti].from_send, &o.from_send);
        for e in o.errors {
            outs[ti].from_send.error(e);
        }
        fold(&mut outs[ti].from_send_kernel, &o.from_send_kernel);
        fold(&mut outs[ti].from_commit, &o.from_commit);
    }
    if !c.keep_sessions {
        for (t, (sessions, _, _)) in targets.iter().zip(&per_target) {
            api::delete_sessions(t, sessions, 8).await;
        }
    }

    let name = c.name.clone().unwrap_or_else(|| "fanout".into());
    let title = format!(
        "fan-out, {} sessions × {} watchers, a switch every {} ms per session",
        args.sessions, args.watchers, args.interval_ms
    );
    let params = json!({"sessions": args.sessions, "watchers_per_session": args.watchers, "interval_ms": args.interval_ms,
        "watchers_idle": args.watchers_idle,
        "duration_s": args.duration, "ws_urls": per_target.iter().map(|p| p.2.iter().map(|t| t.url.clone()).collect::<Vec<_>>()).collect::<Vec<_>>()});
    let mut rep = ScenarioReport::new(&name, &title, params);
    rep.duration_s = run_secs;
    let owned = slices.owned_secs(Duration::from_secs_f64(run_secs));
    for (i, t) in targets.iter().enumerate() {
        let o = &mut outs[i];
        let expected = switch_rec[i].ok() * args.watchers as u64;
        let got = o.from_send.ok();
        let mut errors = switch_rec[i].errors.clone();
        errors.extend(o.from_send.errors.clone());
        if expected > got {
            errors.insert("missing deliveries".into(), expected - got);
        }
        let mut tr = TargetResult {
            label: t.label.clone(),
            url: t.url.clone(),
            throughput_rps: Some(got as f64 / owned[i].max(1e-9)),
            ok: got,
            series: vec![
                Series::from_hist("switch sent → ws receipt", &o.from_send.hist),
                Series::from_hist(
                    "switch sent → kernel receipt (SO_TIMESTAMPNS)",
                    &o.from_send_kernel.hist,
                ),
                Series::from_hist(
                    "updated_at → ws receipt (ms precision)",
                    &o.from_commit.hist,
                ),
                Series::from_hist("switch request", &switch_rec[i].hist),
            ],
            errors,
            ..Default::default()
        };
        tr.extra
            .insert("switches".into(), switch_rec[i].ok() as f64);
        tr.extra
            .insert("deliveries expected".into(), expected as f64);
        tr.extra.insert("deliveries received".into(), got as f64);
        if targets.len() == 1 && got > 0 {
            let per = |secs: f64| secs * 1e6 / got as f64;
            tr.extra
                .insert("harness CPU µs per delivery".into(), per(cpu_used.harness));
            if let Some(servers) = cpu_used.servers {
                tr.extra.insert(
                    "server CPU µs per delivery (all --server-pid)".into(),
                    per(servers),
                );
            }
        }
        rep.targets.push(tr);
    }
    rep.notes
        .push("ops/s = STATE_UPDATE deliveries per second, summed over all watchers.".into());
    rep.notes.push(
        "ws receipt = when the harness read the message; kernel receipt = when the watcher's \
         kernel received it (SO_TIMESTAMPNS), i.e. without the harness's own queue."
            .into(),
    );
    report::finish(rep, &c.out_dir())
}

/// CPU seconds used so far by the harness and by the `--server-pid` processes (summed;
/// `None` when none was given or one cannot be read).
struct CpuNow {
    harness: f64,
    servers: Option<f64>,
}

impl CpuNow {
    fn since(&self, start: &CpuNow) -> CpuNow {
        CpuNow {
            harness: self.harness - start.harness,
            servers: self.servers.zip(start.servers).map(|(a, b)| a - b),
        }
    }
}

fn cpu_now(pids: &[u32]) -> CpuNow {
    let servers = if pids.is_empty() {
        None
    } else {
        pids.iter()
            .map(|p| crate::sysinfo::cpu_secs(*p).ok())
            .sum::<Option<f64>>()
    };
    CpuNow {
        harness: crate::sysinfo::self_cpu_secs(),
        servers,
    }
}
