//! Every other region's authoritative clock, estimated NTP-style from here: each
//! region's internal time endpoint (`wire::TIME_PATH`) is asked every interval (a
//! burst at start-up), the exchanges keep the lowest-round-trip evidence
//! (`timebase::estimate`), and the estimates go to the `TimeBase`, which converts
//! times for clients of sessions homed there and exposes the offsets as metrics.
//! Independent of the relay: it works whatever state the relay links are in.
//!
//! Must not: decide anything from the offsets (the time base and the fronts do).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::client::PeerError;
use super::cluster::Cluster;
use super::wire::{self, TimeReply, TIME_PATH};
use crate::clock::mono_us;
use crate::domain::RegionId;
use crate::timebase::estimate::{Estimator, EstimatorConfig, Exchange};
use crate::timebase::TimeBase;

/// Rounds at start-up, this far apart.
const BURST: usize = 5;
const BURST_GAP: Duration = Duration::from_millis(50);

/// One exchange with `region`.
pub async fn sample(cluster: &Cluster, region: &RegionId) -> Result<Exchange, PeerError> {
    let t0 = mono_us();
    let body = cluster.get(region, TIME_PATH).await?;
    let t3 = mono_us();
    let decode = |source: crate::store::BoxError| PeerError::Decode {
        region: region.clone(),
        source,
    };
    let body = body.ok_or_else(|| decode("no time endpoint".into()))?;
    let reply: TimeReply = wire::decode(&body).map_err(|e| decode(e.into()))?;
    Ok(Exchange {
        t0,
        t3,
        remote: reply.us,
        // Its uncertainty, plus its whole-µs resolution.
        remote_error: reply.bound_us + 1,
    })
}

/// Samples every other region every `every` until `stop`.
pub async fn run(
    cluster: Arc<Cluster>,
    time: Arc<TimeBase>,
    every: Duration,
    stop: CancellationToken,
) {
    let cfg = EstimatorConfig {
        drift_ppm: time.policy().drift_ppm,
        ..EstimatorConfig::default()
    };
    let mut estimators: HashMap<RegionId, Estimator> = cluster
        .others()
        .map(|r| (r.clone(), Estimator::new(cfg)))
        .collect();
    for round in 0.. {
        let wait = if round < BURST { BURST_GAP } else { every };
        if round > 0 {
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = stop.cancelled() => return,
            }
        }
        let asks = cluster.others().map(|r| {
            let cluster = &cluster;
            async move { (r.clone(), sample(cluster, r).await) }
        });
        for (region, result) in futures_util::future::join_all(asks).await {
            let Some(est) = estimators.get_mut(&region) else {
                continue;
            };
            match result {
                Ok(x) => {
                    est.add(x);
                }
                Err(e) => tracing::debug!(
                    %region,
                    error = %crate::cause::chain(&e),
                    "cannot sample the region's clock"
                ),
            }
            time.set_home(&region, est.estimate(mono_us()));
        }
    }
}
