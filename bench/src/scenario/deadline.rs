//! `deadline`: sessions whose first participant runs out of time at known,
//! staggered instants (budgets spread over `min_ms..max_ms`). One watcher per
//! session waits for `TIME_EXPIRED`; lateness = client receipt − `expiredAt`.
//! Also reported: the server's own send lag (`timestamp` − `expiredAt`) and how
//! far `expiredAt` is from `cycle_started_at + budget` of the start response.
//! With `--compare`, sessions alternate between the targets and run together.
//! `--background N --switch-rate R` (sessions at scale): N more running sessions on
//! the first target and R switches per second over them while the deadlines fall
//! (`load`); their latency is reported with the first target.

use crate::api::{self, Session, SessionSpec};
use crate::cli::DeadlineArgs;
use crate::clock::{now_us, parse_iso_us};
use crate::http::HttpConn;
use crate::report::{self, ScenarioReport, TargetResult};
use crate::stats::{Recorder, Series};
use crate::ws::{self, ServerMsg};
use anyhow::Result;
use serde_json::json;
use std::time::{Duration, Instant};

/// Per-session outcome: (target, lateness µs, server send lag µs, deviation µs) or an error kind.
type Outcome = (usize, Result<(u64, u64, i64), String>);

pub async fn run(args: DeadlineArgs) -> Result<()> {
    let c = &args.common;
    let targets = super::targets(c).await?;
    crate::sysinfo::raise_nofile();
    let n = args.sessions.max(1);
    let (lo, hi) = (
        args.min_ms.max(1000),
        args.max_ms.max(args.min_ms.max(1000)),
    );
    let budget = |j: usize| lo + (hi - lo) * j as u64 / (n.max(2) - 1) as u64;
    let background = if args.background > 0 {
        super::load::population(&targets[0], args.background).await?
    } else {
        vec![]
    };

    // Create every session (not started) and attach its watcher first.
    let pb = crate::progress::counter(n as u64, "sessions");
    let mut prepared: Vec<(usize, Session, u64, ws::Ws, HttpConn)> = vec![];
    let mut conns: Vec<HttpConn> = targets
        .iter()
        .map(|t| HttpConn::new(t, Duration::from_millis(c.timeout_ms)))
        .collect();
    for j in 0..n {
        let ti = j % targets.len();
        let spec = SessionSpec {
            budgets_ms: vec![budget(j), hi + 10_000],
            action_on_timeout: Some(args.action.clone()),
            home_region: None,
            start: false,
        };
        let (s, _) = api::create_session(&mut conns[ti], &spec).await?;
        let mut sock = ws::connect(&targets[ti], &s.id).await?;
        ws::expect_connected(&mut sock).await?;
        prepared.push((
            ti,
            s,
            budget(j),
            sock,
            HttpConn::new(&targets[ti], Duration::from_millis(c.timeout_ms)),
        ));
        pb.inc(1);
    }
    pb.finish_and_clear();

    let load = if args.switch_rate > 0.0 && !background.is_empty() {
        let timeout = Duration::from_millis(c.timeout_ms);
        let conns = args.switch_connections;
        let l = super::load::start(&targets[0], &background, args.switch_rate, conns, timeout);
        Some(l.await?)
    } else {
        None
    };
    // Start them all at once; each task then waits for its expiry.
    let t_start = Instant::now();
    let wait = Duration::from_millis(hi) + Duration::from_secs_f64(args.grace);
    let bar = crate::progress::timed(wait.as_secs_f64(), "deadline");
    let mut tasks = tokio::task::JoinSet::new();
    let mut sessions: Vec<Vec<Session>> = targets.iter().map(|_| vec![]).collect();
    for (ti, s, budget_ms, sock, conn) in prepared {
        sessions[ti].push(s.clone());
        tasks.spawn(one_session(ti, s, budget_ms, sock, conn, t_start + wait));
    }
    let ticker = {
        let bar = bar.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(100)).await;
                bar.set_position((t_start.elapsed().as_secs_f64() * 10.0) as u64);
            }
        })
    };
    let mut late: Vec<Recorder> = targets.iter().map(|_| Recorder::default()).collect();
    let mut lag: Vec<Recorder> = targets.iter().map(|_| Recorder::default()).collect();
    let mut worst_dev = vec![0i64; targets.len()];
    while let Some(r) = tasks.join_next().await {
        let (ti, o): Outcome = r?;
        match o {
            Ok((l, g, d)) => {
                late[ti].record_us(l);
                lag[ti].record_us(g);
                if d.abs() > worst_dev[ti].abs() {
                    worst_dev[ti] = d;
                }
                bar.set_message(format!(
                    "expired {}",
                    late.iter().map(Recorder::ok).sum::<u64>()
                ));
            }
            Err(kind) => late[ti].error(kind),
        }
    }
    ticker.abort();
    bar.finish_and_clear();
    let switches = match load {
        Some(l) => Some(l.finish().await?),
        None => None,
    };

    let mut rep = ScenarioReport::new(
        c.name.as_deref().unwrap_or("deadline"),
        &format!("deadlines: {n} sessions expiring between {lo} and {hi} ms after start"),
        json!({"sessions": n, "min_ms": lo, "max_ms": hi, "action_on_timeout": args.action, "grace_s": args.grace,
            "background": args.background, "switch_rate": args.switch_rate,
            "switch_connections": args.switch_connections}),
    );
    rep.duration_s = t_start.elapsed().as_secs_f64();
    for (i, t) in targets.iter().enumerate() {
        let mut tr = TargetResult {
            label: t.label.clone(),
            url: t.url.clone(),
            throughput_rps: None,
            ok: late[i].ok(),
            series: vec![
                Series::from_hist("TIME_EXPIRED receipt − expiredAt", &late[i].hist),
                Series::from_hist("server send − expiredAt (ms precision)", &lag[i].hist),
            ],
            errors: late[i].errors.clone(),
            ..Default::default()
        };
        tr.extra.insert("expiries seen".into(), late[i].ok() as f64);
        tr.extra.insert(
            "worst |expiredAt − (cycle_started_at + budget)| ms".into(),
            worst_dev[i].abs() as f64 / 1000.0,
        );
        if let (0, Some(sw)) = (i, &switches) {
            tr.series.push(Series::from_hist(
                "background switch (from intended send)",
                &sw.hist,
            ));
            tr.extra
                .insert("background sessions".into(), background.len() as f64);
            tr.extra
                .insert("background switches ok".into(), sw.ok() as f64);
            for (k, v) in &sw.errors {
                tr.errors.insert(format!("background switch: {k}"), *v);
            }
        }
        rep.targets.push(tr);
        if !c.keep_sessions {
            api::delete_sessions(t, &sessions[i], 8).await;
            if i == 0 {
                api::delete_sessions(t, &background, 16).await;
            }
        }
    }
    report::finish(rep, &c.out_dir())
}

async fn one_session(
    ti: usize,
    s: Session,
    budget_ms: u64,
    mut sock: ws::Ws,
    mut conn: HttpConn,
    give_up: Instant,
) -> Outcome {
    let started = match conn
        .request("POST", &format!("/v1/sessions/{}/start", s.id), Some(b"{}"))
        .await
    {
        Ok(r) if r.status == 200 => r.body,
        Ok(r) => return (ti, Err(format!("start {}", r.status))),
        Err(e) => return (ti, Err(crate::stats::io_kind(&e))),
    };
    let expected_us = serde_json::from_slice::<serde_json::Value>(&started)
        .ok()
        .and_then(|v| {
            v["data"]["cycle_started_at"]
                .as_str()
                .and_then(parse_iso_us)
        })
        .map(|c| c + budget_ms * 1000);
    loop {
        // Cancelling the read at the give-up instant is fine: the socket is dropped.
        let m = match tokio::time::timeout_at(give_up.into(), ws::next_text(&mut sock)).await {
            Ok(Ok(Some(m))) => m,
            Ok(Ok(None)) => return (ti, Err("ws closed before expiry".into())),
            Ok(Err(_)) => return (ti, Err("ws read error".into())),
            Err(_) => return (ti, Err("no TIME_EXPIRED".into())),
        };
        let recv = now_us();
        let Ok(msg) = ServerMsg::parse(&m) else {
            continue;
        };
        if msg.kind != "TIME_EXPIRED" {
            continue;
        }
        let Some(at) = msg.expired_at.map(|ms| ms.max(0) as u64 * 1000) else {
            return (ti, Err("TIME_EXPIRED without expiredAt".into()));
        };
        if msg.participant_id.is_some_and(|p| p != s.participants[0]) {
            return (ti, Err("TIME_EXPIRED for an unexpected participant".into()));
        }
        if recv + 1000 < at {
            return (ti, Err("TIME_EXPIRED received before expiredAt".into()));
        }
        let sent = msg.timestamp.map_or(at, |t| t.max(0) as u64 * 1000);
        let dev = expected_us.map_or(0, |e| at as i64 - e as i64);
        return (
            ti,
            Ok((recv.saturating_sub(at), sent.saturating_sub(at), dev)),
        );
    }
}
