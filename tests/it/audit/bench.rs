//! Audit measurements (ignored; run in release):
//!
//! ```text
//! cargo test --release --test it -- --ignored --nocapture --test-threads=1 audit::bench::
//! ```
//!
//! - `writer_throughput`: fills the outbox with `BENCH_EVENTS` (default 100,000) real
//!   records (sessions created, started and switched through the API of an instance
//!   whose PostgreSQL is unreachable), then starts an instance with a live PostgreSQL
//!   and times the writer until `XLEN ob` is 0 and `count(*)` matches. Goal: ≥ 20,000
//!   events/s. `BENCH_BATCH_MAX` sets `audit.batch_max` (default 1000).
//! - `switch_latency_audit_on_vs_off`: one instance with audit on and one with it off
//!   on the same local Redis; interleaved rounds of 32 connections × `BENCH_SWITCHES`
//!   (default 100) sequential switches each, on their own sessions; prints p50/p99 per
//!   mode and the difference. Goal: the outbox costs ≤ 10 % of p50.

use std::time::{Duration, Instant};

use crate::support::audit::*;
use crate::support::http::Client;
use crate::support::procs::{free_port, Instance, Redis};
use crate::support::server::{session_body, uuid};

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The stack's instance environment on another Redis, with `database_url` (or none).
fn retarget(
    stack: &Stack,
    redis: &Redis,
    database_url: Option<String>,
) -> Vec<(&'static str, String)> {
    let mut env = stack.env();
    env.retain(|(k, _)| *k != "DATABASE_URL" && *k != "REDIS_URL");
    env.push(("REDIS_URL", redis.url()));
    if let Some(url) = database_url {
        env.push(("DATABASE_URL", url));
    }
    env
}

/// CPU seconds (user + system) a process has used so far, from `/proc/<pid>/stat`.
fn cpu_secs(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<u64> = rest
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    // Fields 14 and 15 of the file: after the command, they are the 12th and 13th.
    f.get(11)
        .zip(f.get(12))
        .map_or(0.0, |(u, s)| (u + s) as f64 / 100.0)
}

/// The cluster's processes: the postmaster (first line of `postmaster.pid`) and its
/// children.
fn postgres_pids(stack: &Stack) -> Vec<u32> {
    let pidfile = stack.pg.cluster.dir.join("data/postmaster.pid");
    let Some(main) = std::fs::read_to_string(pidfile)
        .ok()
        .and_then(|t| t.lines().next().and_then(|l| l.trim().parse::<u32>().ok()))
    else {
        return Vec::new();
    };
    let mut pids = vec![main];
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, r)| r.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        if ppid == Some(main) {
            pids.push(pid);
        }
    }
    pids
}

fn redis_pid(stack: &Stack) -> Option<u32> {
    stack
        .redis
        .cli(&["INFO", "server"])
        .lines()
        .find_map(|l| l.strip_prefix("process_id:"))
        .and_then(|p| p.trim().parse().ok())
}

/// `quota` commits through `c`: sessions created, started, then switched 198 times.
async fn commits(c: Client, quota: u64) {
    let mut left = quota;
    let mut session: Option<(String, u32)> = None;
    while left > 0 {
        match &mut session {
            None => {
                let id = uuid();
                c.post_json("/v1/sessions", &session_body(&id, &[LONG, LONG]))
                    .await
                    .expect(201);
                session = Some((id, 0));
            }
            Some((id, 0)) => {
                c.post_empty(&format!("/v1/sessions/{id}/start"))
                    .await
                    .expect(200);
                session.as_mut().unwrap().1 = 1;
            }
            Some((id, n)) => {
                c.post_empty(&format!("/v1/sessions/{id}/switch"))
                    .await
                    .expect(200);
                *n += 1;
                if *n > 198 {
                    session = None;
                }
            }
        }
        left -= 1;
    }
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "measurement; run in release with --ignored --nocapture"]
async fn writer_throughput() {
    let n = env_or("BENCH_EVENTS", 100_000);
    let batch_max = env_or("BENCH_BATCH_MAX", 1000);
    let stack = Stack::start_private();
    let dead = format!("postgres://postgres@127.0.0.1:{}/postgres", free_port());
    let mut filler = stack.instance(&[("DATABASE_URL", dead)]);
    let conns = 64u64;
    let started = Instant::now();
    let tasks: Vec<_> = (0..conns)
        .map(|i| {
            let c = client(&filler);
            let quota = n / conns + u64::from(i < n % conns);
            tokio::spawn(commits(c, quota))
        })
        .collect();
    for t in tasks {
        t.await.expect("filler task");
    }
    let fill = started.elapsed();
    filler.kill();
    assert_eq!(stack.xlen(), n, "every commit is in the outbox");
    println!(
        "filled the outbox with {n} records through the API in {:.1} s ({:.0} commits/s, audit on)",
        fill.as_secs_f64(),
        n as f64 / fill.as_secs_f64()
    );

    // Schema first, so the clock measures the writer only.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_synckairos"))
        .arg("migrate")
        .env("DATABASE_URL", stack.pg.url())
        .env("SYNCKAIROS_REGIONS_DIR", "/nonexistent")
        .output()
        .expect("migrate");
    assert!(out.status.success(), "{out:?}");
    let spawned = Instant::now();
    let writer = stack.instance(&[("SYNCKAIROS_AUDIT__BATCH_MAX", batch_max.to_string())]);
    let pg_pids = postgres_pids(&stack);
    let pg_cpu = || pg_pids.iter().map(|p| cpu_secs(*p)).sum::<f64>();
    let redis = redis_pid(&stack).expect("redis pid");
    let writer_pid = writer.pid().expect("writer pid");
    let cpu0 = (cpu_secs(writer_pid), pg_cpu(), cpu_secs(redis));
    let mut first: Option<(Instant, u64)> = None;
    let mut samples = Vec::new();
    loop {
        let left = stack.xlen();
        let now = Instant::now();
        if first.is_none() && left < n {
            first = Some((now, n - left));
        }
        samples.push((now.duration_since(spawned), n - left));
        if left == 0 {
            break;
        }
        assert!(
            spawned.elapsed() < Duration::from_secs(300),
            "writer stalled at XLEN {left}; log:\n{}",
            writer.log_text()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let done = Instant::now();
    // Backends started after the first look (pool connections) are counted from 0.
    let pg_pids = postgres_pids(&stack);
    let pg_cpu_end: f64 = pg_pids.iter().map(|p| cpu_secs(*p)).sum();
    let cpu = (
        cpu_secs(writer_pid) - cpu0.0,
        pg_cpu_end - cpu0.1,
        cpu_secs(redis) - cpu0.2,
    );
    assert_eq!(stack.events(), n, "count(*) matches");
    let dups = stack.pg.query(
        "SELECT count(*) FROM (SELECT event_id FROM sync_events GROUP BY 1 HAVING count(*) > 1) d",
    );
    assert_eq!(dups, "0");
    let total = done.duration_since(spawned).as_secs_f64();
    let (t1, acked1) = first.expect("progress");
    let steady = done.duration_since(t1).as_secs_f64();
    println!(
        "writer (batch_max {batch_max}): {n} events in {total:.2} s from process spawn = {:.0} events/s; \
         {:.0} events/s from the first acknowledged batch ({} events) to the end ({steady:.2} s)",
        n as f64 / total,
        (n - acked1) as f64 / steady,
        acked1
    );
    println!(
        "CPU seconds during the drain: writer process {:.2}, PostgreSQL {:.2}, Redis {:.2} \
         (wall {total:.2} s, 2 cores)",
        cpu.0, cpu.1, cpu.2
    );
    let table = stack
        .pg
        .query("SELECT pg_size_pretty(pg_total_relation_size('sync_events'))");
    println!("sync_events size: {table}");
}

/// `per_conn` sequential switches on each of `sessions` (one connection per session);
/// returns every latency in µs.
async fn switch_round(port: u16, sessions: &[String], per_conn: usize) -> Vec<u64> {
    let tasks: Vec<_> = sessions
        .iter()
        .map(|id| {
            let c = Client::new(std::net::SocketAddr::from(([127, 0, 0, 1], port)));
            let path = format!("/v1/sessions/{id}/switch");
            tokio::spawn(async move {
                let mut lat = Vec::with_capacity(per_conn);
                for _ in 0..per_conn {
                    let t = Instant::now();
                    c.post_empty(&path).await.expect(200);
                    lat.push(t.elapsed().as_micros() as u64);
                }
                lat
            })
        })
        .collect();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("switch task"));
    }
    all
}

fn pct(sorted: &[u64], p: f64) -> u64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

async fn sessions_on(port: u16, n: usize) -> Vec<String> {
    let c = Client::new(std::net::SocketAddr::from(([127, 0, 0, 1], port)));
    let mut ids = Vec::new();
    for _ in 0..n {
        let id = uuid();
        c.post_json("/v1/sessions", &session_body(&id, &[LONG, LONG]))
            .await
            .expect(201);
        c.post_empty(&format!("/v1/sessions/{id}/start"))
            .await
            .expect(200);
        ids.push(id);
    }
    ids
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "measurement; run in release with --ignored --nocapture"]
async fn switch_latency_audit_on_vs_off() {
    let conns = env_or("BENCH_CONNS", 32) as usize;
    let per_conn = env_or("BENCH_SWITCHES", 100) as usize;
    let rounds = env_or("BENCH_ROUNDS", 8) as usize;
    // Each instance on a Redis of its own, so no writer drains another's records.
    let stack = Stack::start_private();
    let (r_off, r_xadd) = (Redis::start(), Redis::start());
    let dead = format!("postgres://postgres@127.0.0.1:{}/postgres", free_port());
    let on = stack.instance(&[]);
    let off = Instance::start(&retarget(&stack, &r_off, None));
    let xadd = Instance::start(&retarget(&stack, &r_xadd, Some(dead)));
    assert!(on.log_text().contains("audit trail on"));
    assert!(xadd.log_text().contains("audit trail on"));
    assert!(off.log_text().contains("audit trail off"));
    let modes = [("off", &off), ("xadd", &xadd), ("on", &on)];
    let mut sessions = Vec::new();
    for (_, inst) in modes {
        let ids = sessions_on(inst.port, conns).await;
        // Warm-up (connections, caches), not counted.
        switch_round(inst.port, &ids, per_conn / 4).await;
        sessions.push(ids);
    }
    let mut all: Vec<Vec<u64>> = vec![Vec::new(); modes.len()];
    // p50 of each mode per round: rounds run the modes back to back, so the ratio
    // within a round is less exposed to drifting background load.
    let mut round_p50: Vec<Vec<u64>> = vec![Vec::new(); modes.len()];
    println!("{conns} connections x {per_conn} switches per round and mode");
    println!("round  mode  p50 µs  p99 µs  switches/s");
    for r in 0..rounds {
        for k in 0..modes.len() {
            let m = (k + r) % modes.len();
            let (name, inst) = modes[m];
            let t = Instant::now();
            let mut lat = switch_round(inst.port, &sessions[m], per_conn).await;
            let secs = t.elapsed().as_secs_f64();
            lat.sort_unstable();
            println!(
                "{r:>5}  {name:>4}  {:>6}  {:>6}  {:>10.0}",
                pct(&lat, 0.5),
                pct(&lat, 0.99),
                lat.len() as f64 / secs
            );
            round_p50[m].push(pct(&lat, 0.5));
            all[m].extend(lat);
        }
    }
    for v in &mut all {
        v.sort_unstable();
    }
    let (p50_off, p99_off) = (pct(&all[0], 0.5), pct(&all[0], 0.99));
    for (m, (name, _)) in modes.iter().enumerate() {
        let (p50, p99) = (pct(&all[m], 0.5), pct(&all[m], 0.99));
        println!(
            "{name:>4}: p50 {p50} µs ({:+.1} %), p99 {p99} µs ({:+.1} %), {} switches",
            (p50 as f64 / p50_off as f64 - 1.0) * 100.0,
            (p99 as f64 / p99_off as f64 - 1.0) * 100.0,
            all[m].len()
        );
    }
    for (m, (name, _)) in modes.iter().enumerate().skip(1) {
        let mut ratios: Vec<f64> = (0..rounds)
            .map(|r| round_p50[m][r] as f64 / round_p50[0][r] as f64)
            .collect();
        ratios.sort_by(f64::total_cmp);
        println!(
            "{name:>4}: median over rounds of p50({name}) / p50(off): {:+.1} %",
            (ratios[ratios.len() / 2] - 1.0) * 100.0
        );
    }
    println!(
        "off = no DATABASE_URL; xadd = the commit script appends to the outbox, no writer \
         running; on = appends and the writer drains into PostgreSQL on the same 2 cores. \
         Goal: outbox cost within +10 % of p50."
    );
    // Everything the "on" instance committed reached PostgreSQL.
    let expected = (conns * 2 + conns * (per_conn / 4) + all[2].len()) as u64;
    assert!(
        stack.drained(expected, Duration::from_secs(60)).await,
        "{} of {expected} events",
        stack.events()
    );
}
