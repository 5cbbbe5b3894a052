//! Zero-loss durability: a session created with `"durability": "zero_loss"` in `iad`
//! (successor `lhr`) is switched without pause while `iad` is killed
//! (`kill -9` of its instance and of its Redis; the writer goes through `iad` itself,
//! the fastest way to outrun the relay, then through `nrt`): once `lhr` has taken it
//! over, every
//! switch acknowledged before the kill is in `lhr`'s chain (none lost), and the
//! checker finds one chain. `kill_home_mid_load` is shared with the measurement, which
//! also runs it in the default (local) mode and reports what was lost there.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;

use super::chains;
use super::failover::failover_env;
use crate::support::regions::{Setup, World};
use crate::support::server::session_body_with;

/// How the home is lost.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loss {
    /// `kill -9` of its instance and its Redis.
    Kill,
    /// Cut off from every region (it keeps acknowledging its own writes until it
    /// fences itself).
    Cut,
}

/// What losing the home under load did.
#[derive(Debug)]
pub struct KillReport {
    /// Switches acknowledged before the kill (answered by the old home).
    pub acked_before: usize,
    /// Of those, how many the successor's takeover did not hold.
    pub lost: usize,
    /// From the kill to the first switch served again (by the successor).
    pub served_after: Duration,
    /// The successor's copy lagged the old home's last acknowledged version by this
    /// many versions at the takeover.
    pub behind: u64,
    /// Median switch latency before the loss, ms.
    pub switch_p50_ms: f64,
    /// The successor's relay lag behind the home just before the loss
    /// (`synckairos_relay_lag_ms`), ms.
    pub relay_lag_ms: f64,
}

/// Switches `id` through `via` (then, once `via` fails, through `nrt`) while `iad`
/// (its home) is killed after `load_for`.
pub async fn kill_home_mid_load(zero_loss: bool, via: &str, load_for: Duration) -> KillReport {
    lose_home_mid_load(Loss::Kill, zero_loss, via, load_for).await
}

/// `kill_home_mid_load`, or with the home cut off instead (`Loss::Cut`).
pub async fn lose_home_mid_load(
    how: Loss,
    zero_loss: bool,
    via: &str,
    load_for: Duration,
) -> KillReport {
    let mut w = World::start_with(Setup {
        env: failover_env(),
        ..Setup::default()
    })
    .await;
    let durability = if zero_loss { "zero_loss" } else { "local" };
    let id = crate::support::server::uuid();
    let body = session_body_with(&id, &[600_000, 600_000], json!({"durability": durability}));
    let end = Instant::now() + Duration::from_secs(10);
    while w.http("iad").post_json("/v1/sessions", &body).await.status != 201 {
        assert!(Instant::now() < end, "iad never leased");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    w.op("iad", &id, "start").await.expect(200);
    w.converge(&[&id], Duration::from_secs(5))
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    // (received at, version, latency)
    let acks: Arc<Mutex<Vec<(Instant, u64, f64)>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (first, then) = (w.http(via).clone(), w.http("nrt").clone());
        let (id, acks, stop) = (id.clone(), acks.clone(), stop.clone());
        tokio::spawn(async move {
            let path = format!("/v1/sessions/{id}/switch");
            let mut http = first;
            while !stop.load(Ordering::Relaxed) {
                let sent = Instant::now();
                let r = http.try_send(hyper::Method::POST, &path, &[], Default::default());
                match tokio::time::timeout(Duration::from_secs(3), r).await {
                    Ok(Ok(r)) if r.status == 200 => {
                        let v = r.data()["version"].as_u64().expect("version");
                        let ms = sent.elapsed().as_secs_f64() * 1000.0;
                        acks.lock().unwrap_or_else(|e| e.into_inner()).push((
                            Instant::now(),
                            v,
                            ms,
                        ));
                    }
                    _ => {
                        http = then.clone();
                        tokio::time::sleep(Duration::from_millis(20)).await
                    }
                }
            }
        })
    };
    tokio::time::sleep(load_for).await;
    let relay_lag_ms =
        crate::support::relay::metric(w.http("lhr"), "synckairos_relay_lag_ms", &[("home", "iad")])
            .await;
    let killed = Instant::now();
    match how {
        Loss::Kill => {
            w.kill_region("iad");
            w.cluster_mut().region_mut("iad").redis.stop(true);
        }
        Loss::Cut => w.partition("iad"),
    }
    // Served again: a switch acknowledged after the kill by the successor.
    let limit = killed + Duration::from_secs(20);
    let served_after = loop {
        let first_after = acks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .find(|(at, _, _)| *at > killed + Duration::from_millis(1700))
            .map(|(at, _, _)| *at - killed);
        if let Some(d) = first_after {
            break d;
        }
        assert!(
            Instant::now() < limit,
            "no switch served within 20 s of the kill"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Relaxed);
    writer.await.expect("writer");

    let lhr = w.region("lhr").bytes(&id).expect("lhr holds the session");
    let s = synckairos::store::decode_state(&id.as_str().into(), &lhr).expect("state");
    assert_eq!(
        (s.home_region.as_str(), s.epoch),
        ("lhr", 1),
        "taken over by lhr"
    );
    let base = s.epoch_since - 1;
    let acks = acks.lock().unwrap_or_else(|e| e.into_inner()).clone();
    // Acknowledged by iad: before the successor could possibly have taken over (a
    // cut-off iad acknowledges until it fences itself, within its lease).
    let by_iad = Duration::from_millis(match how {
        Loss::Kill => 1000,
        Loss::Cut => 1600,
    });
    let before: Vec<&(Instant, u64, f64)> = acks
        .iter()
        .filter(|(at, _, _)| *at < killed + by_iad)
        .collect();
    let lost = before.iter().filter(|(_, v, _)| *v > base).count();
    let last = before.iter().map(|(_, v, _)| *v).max().unwrap_or(0);
    let mut lat: Vec<f64> = before.iter().map(|(_, _, ms)| *ms).collect();
    lat.sort_by(f64::total_cmp);
    let report = KillReport {
        acked_before: before.len(),
        lost,
        served_after,
        behind: last.saturating_sub(base),
        switch_p50_ms: lat.get(lat.len() / 2).copied().unwrap_or(0.0),
        relay_lag_ms,
    };
    // One chain in what survives (lhr's and nrt's logs).
    let c = chains(&w, std::slice::from_ref(&id)).await;
    assert!(c.commits[&id]
        .iter()
        .any(|c| c.writer == "lhr" && c.epoch == 1));
    w.assert_healthy();
    report
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zero_loss_session_loses_no_acknowledged_write_when_its_home_is_killed() {
    let r = kill_home_mid_load(true, "iad", Duration::from_millis(2500)).await;
    eprintln!("zero-loss kill -9: {r:?}");
    assert!(r.acked_before >= 5, "{r:?}");
    assert_eq!(r.lost, 0, "acknowledged zero-loss writes lost: {r:?}");
    assert!(r.served_after < Duration::from_secs(10), "{r:?}");
}
