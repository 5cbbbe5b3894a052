//! `regions`: the local 3-region cluster of `synckairos-cluster up` (what
//! `scripts/dev-regions.sh up` runs), described by `target/dev-regions/regions.json`
//! and partitioned / healed through the same state dir. Three figures:
//! relay latency (switch in the home region, watcher in the remote region, minus
//! the emulated one-way link delay); remote-homed switch cost (a switch sent to
//! the remote region for a home-homed session, minus the same switch sent home and
//! minus 2 × the link delay); convergence (partition the remote region, write,
//! heal, poll every instance until all report the home's version).

use crate::api::{self, SessionSpec};
use crate::cli::RegionsArgs;
use crate::clock::now_us;
use crate::http::HttpConn;
use crate::report::{self, ScenarioReport, TargetResult};
use crate::stats::{Recorder, Series};
use crate::target::Target;
use crate::ws::{self, ServerMsg};
use anyhow::{bail, Context, Result};
use serde_json::json;
use std::time::{Duration, Instant};
use synckairos_cluster::describe::{ClusterFile as Cluster, RegionFile as Region};
use synckairos_cluster::dev::{self, Cut, Dev};

/// Partitions (`cut`) or heals `region` through the cluster's state dir.
fn set_partition(d: &Dev, region: &str, cut: bool) -> Result<()> {
    d.set(&Cut::Region(dev::region(region)?), cut)?;
    Ok(())
}

/// Reads until a STATE_UPDATE with at least `version` arrives; returns receipt µs.
async fn await_version(sock: &mut ws::Ws, version: u64) -> Result<u64> {
    loop {
        let m = ws::next_text(sock).await?.context("watcher closed")?;
        let recv = now_us();
        let msg = ServerMsg::parse(&m)?;
        if msg.kind == "STATE_UPDATE" && msg.state.is_some_and(|s| s.version >= version) {
            return Ok(recv);
        }
    }
}

pub async fn run(args: RegionsArgs) -> Result<()> {
    let d = Dev::new(&args.state);
    let cluster = d.file()?;
    let region = |name: &str| {
        cluster
            .regions
            .get(name)
            .with_context(|| format!("region {name} not in regions.json"))
    };
    let (home_r, remote_r) = (region(&args.home)?, region(&args.remote)?);
    let delay_ms = home_r.link_delay_ms.get(&args.remote).copied().unwrap_or(0);
    let delay_us = delay_ms * 1000;
    let first = |r: &Region| {
        r.instances
            .first()
            .cloned()
            .context("region without instances")
    };
    let home = Target::parse(&args.home, &first(home_r)?).await?;
    let remote = Target::parse(&args.remote, &first(remote_r)?).await?;
    let timeout = Duration::from_millis(args.timeout_ms);
    let started = Instant::now();

    let mut spec = SessionSpec::long_running();
    spec.home_region = Some(args.home.clone());
    let mut hc = HttpConn::new(&home, timeout);
    let mut rc = HttpConn::new(&remote, timeout);
    let (s, _) = api::create_session(&mut hc, &spec).await?;
    let mut version = api::get_version(&mut hc, &s.id).await?;
    let mut w_remote = ws::connect(&remote, &s.id).await?;
    ws::expect_connected(&mut w_remote).await?;
    let mut w_home = ws::connect(&home, &s.id).await?;
    ws::expect_connected(&mut w_home).await?;

    // 1. Relay latency (and the home watcher for reference).
    let (mut relay, mut local) = (Recorder::default(), Recorder::default());
    let pb = crate::progress::counter(args.samples as u64 * 3, "regions");
    for _ in 0..args.samples {
        let sent = now_us();
        let r = hc.request("POST", &s.switch_path, Some(b"{}")).await?;
        if r.status != 200 {
            relay.error(crate::stats::status_kind(r.status, &r.body));
            version = api::get_version(&mut hc, &s.id).await?;
            continue;
        }
        version += 1;
        let rh = tokio::time::timeout(timeout, await_version(&mut w_home, version)).await??;
        let rr = tokio::time::timeout(timeout, await_version(&mut w_remote, version)).await??;
        local.record_us(rh - sent);
        let lat = rr - sent;
        if lat < delay_us {
            relay.error("faster than the link delay");
        }
        relay.record_us(lat.saturating_sub(delay_us));
        pb.inc(1);
    }
    drop((w_home, w_remote));

    // 2. Remote-homed switch cost: alternate home / remote sends of the same switch.
    let (mut at_home, mut at_remote) = (Recorder::default(), Recorder::default());
    for i in 0..args.samples * 2 {
        let (conn, rec) = if i % 2 == 0 {
            (&mut hc, &mut at_home)
        } else {
            (&mut rc, &mut at_remote)
        };
        let t0 = Instant::now();
        match conn.request("POST", &s.switch_path, Some(b"{}")).await {
            Ok(r) if r.status == 200 => rec.record_us(t0.elapsed().as_micros() as u64),
            Ok(r) => rec.error(crate::stats::status_kind(r.status, &r.body)),
            Err(e) => rec.error(crate::stats::io_kind(&e)),
        }
        pb.inc(1);
    }
    pb.finish_and_clear();
    let cost = |q: f64| {
        at_remote.hist.value_at_quantile(q) as f64
            - at_home.hist.value_at_quantile(q) as f64
            - 2.0 * delay_us as f64
    };

    // 3. Convergence after partition / heal.
    let (conv, conv_total) = convergence(&args, &d, &cluster, &home, &spec, timeout).await?;

    let mut rep = ScenarioReport::new(
        args.name.as_deref().unwrap_or("regions"),
        &format!(
            "home {} / remote {} (one-way link {delay_ms} ms)",
            args.home, args.remote
        ),
        json!({"home": args.home, "remote": args.remote, "link_delay_ms": delay_ms, "samples": args.samples,
            "partition_writes": args.partition_writes, "state": args.state}),
    );
    rep.duration_s = started.elapsed().as_secs_f64();
    let mut errors = relay.errors.clone();
    errors.extend(at_remote.errors.clone());
    errors.extend(conv.errors.clone());
    let mut tr = TargetResult {
        label: "cluster".into(),
        url: home.url.clone(),
        throughput_rps: None,
        ok: relay.ok(),
        series: vec![
            Series::from_hist(
                &format!("relay to {} − link delay", args.remote),
                &relay.hist,
            ),
            Series::from_hist(&format!("fan-out at home ({})", args.home), &local.hist),
            Series::from_hist(
                &format!("switch sent to {} (home)", args.home),
                &at_home.hist,
            ),
            Series::from_hist(
                &format!("switch sent to {} (forwarded)", args.remote),
                &at_remote.hist,
            ),
            Series::from_hist("convergence after heal, per session", &conv.hist),
        ],
        errors,
        ..Default::default()
    };
    tr.extra
        .insert("link delay one-way (ms)".into(), delay_ms as f64);
    tr.extra.insert(
        "remote-homed switch cost p50 (ms)".into(),
        cost(0.5) / 1000.0,
    );
    tr.extra.insert(
        "remote-homed switch cost p99 (ms)".into(),
        cost(0.99) / 1000.0,
    );
    if let Some(t) = conv_total {
        tr.extra
            .insert("convergence after heal, all instances (ms)".into(), t);
    }
    rep.targets.push(tr);
    rep.notes
        .push("remote-homed cost = percentile(remote) − percentile(home) − 2 × link delay".into());
    api::delete_sessions(&home, &[s], 1).await;
    report::finish(
        rep,
        &args.out.clone().unwrap_or_else(|| {
            std::path::PathBuf::from("bench/results").join(crate::clock::today())
        }),
    )
}

/// Partitions the remote region, writes at home, heals, and polls every instance.
/// Returns per-session convergence times and the time until all sessions agreed (ms).
async fn convergence(
    args: &RegionsArgs,
    d: &Dev,
    cluster: &Cluster,
    home: &Target,
    spec: &SessionSpec,
    timeout: Duration,
) -> Result<(Recorder, Option<f64>)> {
    let mut hc = HttpConn::new(home, timeout);
    let mut sessions = vec![];
    for _ in 0..args.partition_writes.max(1) {
        sessions.push(api::create_session(&mut hc, spec).await?.0);
    }
    let mut all = vec![];
    for (name, r) in &cluster.regions {
        for (i, u) in r.instances.iter().enumerate() {
            all.push(HttpConn::new(
                &Target::parse(&format!("{name}{i}"), u).await?,
                timeout,
            ));
        }
    }
    // Every instance must hold the sessions before the partition starts.
    let mut want = vec![];
    for s in &sessions {
        want.push(api::get_version(&mut hc, &s.id).await?);
    }
    let settle = Instant::now() + Duration::from_secs_f64(args.converge_timeout);
    if wait_agree(&sessions, &want, &mut all, Instant::now(), settle)
        .await
        .iter()
        .any(Option::is_none)
    {
        bail!("the sessions did not reach every region before the partition");
    }
    set_partition(d, &args.remote, true)?;
    let writes = async {
        for s in &sessions {
            for _ in 0..3 {
                hc.request("POST", &s.switch_path, Some(b"{}")).await?;
            }
        }
        let mut want = vec![];
        for s in &sessions {
            want.push(api::get_version(&mut hc, &s.id).await?);
        }
        anyhow::Ok(want)
    }
    .await;
    set_partition(d, &args.remote, false)?;
    let want = writes?;
    let healed = Instant::now();
    let give_up = healed + Duration::from_secs_f64(args.converge_timeout);
    let times = wait_agree(&sessions, &want, &mut all, healed, give_up).await;
    let mut rec = Recorder::default();
    for t in &times {
        match t {
            Some(d) => rec.record_us(d.as_micros() as u64),
            None => rec.error("not converged"),
        }
    }
    api::delete_sessions(home, &sessions, 4).await;
    let total = times
        .iter()
        .all(Option::is_some)
        .then(|| rec.hist.max() as f64 / 1000.0);
    Ok((rec, total))
}

/// Polls every instance until each session reports `want` everywhere; returns the
/// time from `from` at which each session agreed (None: not by `give_up`).
async fn wait_agree(
    sessions: &[api::Session],
    want: &[u64],
    all: &mut [HttpConn],
    from: Instant,
    give_up: Instant,
) -> Vec<Option<Duration>> {
    let mut out = vec![None; sessions.len()];
    while out.iter().any(Option::is_none) && Instant::now() < give_up {
        for (k, s) in sessions.iter().enumerate() {
            if out[k].is_some() {
                continue;
            }
            let mut same = true;
            for c in all.iter_mut() {
                same &= api::get_version(c, &s.id).await.ok() == Some(want[k]);
            }
            if same {
                out[k] = Some(from.elapsed());
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn parses_cluster_file_and_reports_absence() {
        let dir = std::env::temp_dir().join(format!("sk-regions-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("regions.json");
        let d = synckairos_cluster::dev::Dev::new(&dir);
        let e = d.file().unwrap_err().to_string();
        assert!(
            e.contains("cluster not running (scripts/dev-regions.sh up)"),
            "{e}"
        );
        std::fs::write(&p, r#"{"regions":{"iad":{"instances":["http://127.0.0.1:1"],"link_delay_ms":{"lhr":40}},"lhr":{"instances":["http://127.0.0.1:2"]}}}"#).unwrap();
        let c = d.file().unwrap();
        assert_eq!(c.regions["iad"].link_delay_ms["lhr"], 40);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
