//! `switch`: the hot path. Closed loop (N connections, each sends its next switch
//! as soon as the previous one completes) or open loop (a fixed rate on a fixed
//! schedule; latency = completion − intended send instant, so a stall shows up in
//! full instead of being hidden by coordinated omission). Sessions rotate so that
//! two in-flight switches almost never hit the same session.

use super::{ticker, CpuMark, Live};
use crate::api::{self, Session, SessionSpec};
use crate::cli::{LoopMode, SwitchArgs};
use crate::http::HttpConn;
use crate::interleave::Slices;
use crate::report::{self, ScenarioReport, TargetResult};
use crate::stats::{io_kind, status_kind, Recorder, Series, Timeline};
use crate::target::Target;
use anyhow::Result;
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Everything the workers share.
struct Plan {
    targets: Vec<Target>,
    sessions: Vec<Arc<Vec<Session>>>,
    slices: Slices,
    measure_from: Instant,
    end: Instant,
    timelines: Vec<Timeline>,
    live: Arc<Live>,
    timeout: Duration,
}

/// One worker's recordings per target: latency and (open loop) send lag.
struct WorkerOut {
    lat: Vec<Recorder>,
    lag: Vec<Recorder>,
}

impl WorkerOut {
    fn new(n: usize) -> Self {
        WorkerOut {
            lat: (0..n).map(|_| Recorder::default()).collect(),
            lag: (0..n).map(|_| Recorder::default()).collect(),
        }
    }
}

pub async fn run(mut args: SwitchArgs) -> Result<()> {
    if let Some(p) = &args.rate_of {
        let prev: ScenarioReport = serde_json::from_slice(&std::fs::read(p)?)?;
        let base = prev
            .targets
            .first()
            .and_then(|t| t.throughput_rps)
            .unwrap_or(0.0);
        anyhow::ensure!(base > 0.0, "{} has no throughput", p.display());
        args.rate = (base * args.rate_fraction).max(1.0).round();
    }
    let c = &args.common;
    let targets = super::targets(c).await?;
    let conns = args.connections.max(1);
    let n_sessions = args.sessions.max(conns).div_ceil(conns) * conns;
    let spec = SessionSpec::long_running();
    let mut sessions = vec![];
    for t in &targets {
        sessions.push(Arc::new(
            api::setup_sessions(t, n_sessions, &spec, 16).await?,
        ));
    }
    let pids: Vec<Option<u32>> = (0..targets.len()).map(|i| c.pid_of(i)).collect();
    let store_pids: Vec<Option<u32>> = (0..targets.len()).map(|i| c.store_pid_of(i)).collect();
    let start = Instant::now() + Duration::from_millis(50);
    let measure_from = start + Duration::from_secs_f64(args.warmup);
    let end = measure_from + Duration::from_secs_f64(args.duration);
    let live = Live::new(&targets);
    let plan = Arc::new(Plan {
        slices: Slices::new(start, Duration::from_millis(c.slice_ms), targets.len()),
        timelines: targets
            .iter()
            .map(|_| Timeline::new(args.duration.ceil() as usize))
            .collect(),
        targets: targets.clone(),
        sessions: sessions.clone(),
        measure_from,
        end,
        live: live.clone(),
        timeout: Duration::from_millis(c.timeout_ms),
    });
    let mode = match args.mode {
        LoopMode::Closed => "closed",
        LoopMode::Open => "open",
    };
    let (pb, tick) = ticker(
        args.warmup + args.duration,
        &format!("switch {mode}"),
        live.clone(),
        "sw",
    );
    let cpu = CpuMark::take(&pids);
    let store_cpu = CpuMark::take(&store_pids);
    let (outs, backlog) = match args.mode {
        LoopMode::Closed => (closed(&plan, conns).await?, 0),
        LoopMode::Open => open(&plan, conns, args.rate, args.open_threads).await?,
    };
    let (harness_cpu, server_cpu, wall) = cpu.since(&pids);
    let (_, store_cpu, _) = store_cpu.since(&store_pids);
    tick.abort();
    pb.finish_and_clear();

    let name = c.name.clone().unwrap_or_else(|| format!("switch-{mode}"));
    let title = match args.mode {
        LoopMode::Closed => format!("switch, closed loop, {conns} connections"),
        LoopMode::Open => format!(
            "switch, open loop, {} req/s over {conns} connections",
            args.rate
        ),
    };
    let params = json!({"mode": mode, "connections": conns, "duration_s": args.duration, "warmup_s": args.warmup,
        "rate": if args.mode == LoopMode::Open { Some(args.rate) } else { None }, "sessions": n_sessions,
        "rate_of": args.rate_of, "rate_fraction": args.rate_of.as_ref().map(|_| args.rate_fraction),
        "slice_ms": if targets.len() > 1 { Some(c.slice_ms) } else { None },
        "open_threads": if args.mode == LoopMode::Open { Some(args.open_threads) } else { None }});
    let mut rep = ScenarioReport::new(&name, &title, params);
    rep.duration_s = args.warmup + args.duration;
    let measured = plan.slices.owned_secs(end - start);
    let warm = plan.slices.owned_secs(measure_from - start);
    let total_ops = live.total_ok().max(1) as f64;
    for (i, t) in targets.iter().enumerate() {
        let mut lat = Recorder::default();
        let mut lag = Recorder::default();
        for o in &outs {
            lat.merge(&o.lat[i]);
            lag.merge(&o.lag[i]);
        }
        let owned = (measured[i] - warm[i]).max(1e-9);
        let mut tr = TargetResult {
            label: t.label.clone(),
            url: t.url.clone(),
            throughput_rps: Some(lat.ok() as f64 / owned),
            ok: lat.ok(),
            series: vec![Series::from_hist("switch", &lat.hist)],
            errors: lat.errors.clone(),
            timeline: plan.timelines[i].points(),
            ..Default::default()
        };
        if args.mode == LoopMode::Open {
            tr.series.push(Series::from_hist(
                "send lag (pacer + free connection)",
                &lag.hist,
            ));
        }
        let ops_i = live.ok[i].load(std::sync::atomic::Ordering::Relaxed).max(1) as f64;
        if let Some(Some(s)) = server_cpu.get(i) {
            tr.extra
                .insert("server CPU µs per switch".into(), s * 1e6 / ops_i);
            tr.extra.insert("server CPU cores busy".into(), s / wall);
        }
        // A Redis serves its own target only, and idles in the other's slices: its
        // share while busy is its CPU over the seconds its target owned.
        if let Some(Some(s)) = store_cpu.get(i) {
            tr.extra
                .insert("Redis CPU µs per switch".into(), s * 1e6 / ops_i);
            tr.extra.insert(
                "Redis CPU share of a core (own slices)".into(),
                s / measured[i].max(1e-9),
            );
        }
        rep.targets.push(tr);
    }
    let harness_us = harness_cpu * 1e6 / total_ops;
    let per_core = 1e6 / harness_us.max(1e-3);
    rep.targets[0]
        .extra
        .insert("harness CPU µs per switch (whole run)".into(), harness_us);
    rep.targets[0]
        .extra
        .insert("harness CPU cores busy".into(), harness_cpu / wall);
    rep.targets[0].extra.insert(
        "harness capacity, switch/s per harness core".into(),
        per_core,
    );
    let base = rep.targets[0].throughput_rps.unwrap_or(0.0);
    rep.notes.push(format!(
        "harness headroom: at {harness_us:.1} µs of CPU per switch one harness core sustains {per_core:.0} switch/s, \
         {:.1}× the rate the base server sustained here ({base:.0}/s)",
        per_core / base.max(1.0)
    ));
    if backlog > 0 {
        rep.notes.push(format!("{backlog} scheduled requests were never sent: the connections could not keep up with the rate (raise --connections)"));
    }
    if args.sessions != n_sessions {
        rep.notes.push(format!(
            "sessions rounded up to {n_sessions} (a multiple of --connections)"
        ));
    }
    if !c.keep_sessions {
        for (t, s) in targets.iter().zip(&sessions) {
            api::delete_sessions(t, s, 16).await;
        }
    }
    report::finish(rep, &c.out_dir())
}

/// Records one switch outcome into `rec` (only when measured) and the live counters.
fn account(
    plan: &Plan,
    ti: usize,
    t0: Instant,
    us: u64,
    r: Result<crate::http::Response>,
    rec: &mut Recorder,
) -> bool {
    let measured = t0 >= plan.measure_from;
    match r {
        Ok(resp) if resp.status == 200 => {
            plan.live.ok(ti);
            if measured {
                rec.record_us(us);
                let sec = (t0 - plan.measure_from).as_secs() as usize;
                plan.timelines[ti].record(sec, us);
            }
            true
        }
        Ok(resp) => {
            plan.live.err();
            if measured {
                rec.error(status_kind(resp.status, &resp.body));
            }
            true
        }
        Err(e) => {
            plan.live.err();
            if measured {
                rec.error(io_kind(&e));
            }
            false
        }
    }
}

async fn closed(plan: &Arc<Plan>, conns: usize) -> Result<Vec<WorkerOut>> {
    let mut set = tokio::task::JoinSet::new();
    for w in 0..conns {
        let plan = plan.clone();
        set.spawn(async move {
            let n = plan.targets.len();
            let mut out = WorkerOut::new(n);
            let mut cs: Vec<HttpConn> = plan
                .targets
                .iter()
                .map(|t| HttpConn::new(t, plan.timeout))
                .collect();
            for c in &mut cs {
                c.connect().await?;
            }
            tokio::time::sleep_until(plan.slices.start.into()).await;
            let mut k = 0usize;
            loop {
                let t0 = Instant::now();
                if t0 >= plan.end {
                    break;
                }
                let ti = plan.slices.target_at(t0);
                let ss = &plan.sessions[ti];
                let s = &ss[(w + k * conns) % ss.len()];
                k += 1;
                let r = cs[ti].request("POST", &s.switch_path, Some(b"{}")).await;
                let us = t0.elapsed().as_micros() as u64;
                if !account(&plan, ti, t0, us, r, &mut out.lat[ti]) {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
            anyhow::Ok(out)
        });
    }
    let mut outs = vec![];
    while let Some(r) = set.join_next().await {
        outs.push(r??);
    }
    Ok(outs)
}

/// A scheduled request: its intended send instant and its sequence number.
struct Ticket {
    intended: Instant,
    seq: usize,
}

/// Open loop: a pacer task releases tickets on a fixed schedule; idle connections
/// take them. Each shard (one per harness thread) is a pacer plus its connections
/// in one current-thread runtime on its own OS thread: a timerfd gives µs-precise
/// wakes, and handing a ticket to a connection is a same-thread wake. Shard `s` of
/// `n` owns tickets s, s+n, s+2n… of the one global schedule.
/// Returns the outputs and the number of tickets never sent.
async fn open(
    plan: &Arc<Plan>,
    conns: usize,
    rate: f64,
    shards: usize,
) -> Result<(Vec<WorkerOut>, u64)> {
    let shards = shards.clamp(1, conns);
    let mut threads = vec![];
    for shard in 0..shards {
        let plan = plan.clone();
        let c = conns / shards + usize::from(shard < conns % shards);
        threads.push(std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?
                .block_on(open_shard(plan, c, rate, shard, shards))
        }));
    }
    let mut outs = vec![];
    let mut skipped = 0;
    for t in threads {
        let (o, s) = tokio::task::spawn_blocking(move || {
            t.join()
                .map_err(|_| anyhow::anyhow!("open-loop thread panicked"))?
        })
        .await??;
        outs.extend(o);
        skipped += s;
    }
    Ok((outs, skipped))
}

async fn open_shard(
    plan: Arc<Plan>,
    conns: usize,
    rate: f64,
    shard: usize,
    shards: usize,
) -> Result<(Vec<WorkerOut>, u64)> {
    let (tx, rx) = flume::unbounded::<Ticket>();
    let interval = Duration::from_secs_f64(1.0 / rate.max(0.001));
    let (start, end) = (plan.slices.start, plan.end);
    let pacer = crate::pacer::Pacer::new()?;
    let pacing = tokio::spawn(async move {
        let mut seq = shard;
        loop {
            let intended = start + interval.mul_f64(seq as f64);
            if intended >= end {
                break;
            }
            pacer.sleep_until(intended).await?;
            if tx.send(Ticket { intended, seq }).is_err() {
                break;
            }
            seq += shards;
        }
        anyhow::Ok(())
    });
    let drain_until = end + plan.timeout;
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..conns {
        let (plan, rx) = (plan.clone(), rx.clone());
        set.spawn(async move {
            let n = plan.targets.len();
            let mut out = WorkerOut::new(n);
            let mut skipped = 0u64;
            let mut cs: Vec<HttpConn> = plan
                .targets
                .iter()
                .map(|t| HttpConn::new(t, plan.timeout))
                .collect();
            for c in &mut cs {
                c.connect().await?;
            }
            while let Ok(t) = rx.recv_async().await {
                let sent = Instant::now();
                if sent > drain_until {
                    skipped += 1;
                    continue;
                }
                let ti = plan.slices.target_at(t.intended);
                let ss = &plan.sessions[ti];
                let s = &ss[t.seq % ss.len()];
                let r = cs[ti].request("POST", &s.switch_path, Some(b"{}")).await;
                let us = t.intended.elapsed().as_micros() as u64;
                if t.intended >= plan.measure_from {
                    out.lag[ti]
                        .record_us(sent.saturating_duration_since(t.intended).as_micros() as u64);
                }
                account(&plan, ti, t.intended, us, r, &mut out.lat[ti]);
            }
            anyhow::Ok((out, skipped))
        });
    }
    drop(rx);
    let mut outs = vec![];
    let mut skipped = 0;
    while let Some(r) = set.join_next().await {
        let (o, s) = r??;
        outs.push(o);
        skipped += s;
    }
    pacing.await??;
    Ok((outs, skipped))
}
