//! Gathering every region's figures for one page refresh: this region's from its
//! Redis, each other region's from one of its instances over the internal API, all
//! at once and each within the dashboard's peer timeout, so one silent region shows
//! as unreachable instead of holding the page.
//!
//! Must not: retry or wait longer than the timeout (the page refreshes anyway).

use std::time::Duration;

use crate::domain::{Millis, RegionId};
use crate::region::cluster::Cluster;
use crate::region::wire;
use crate::trend::history::Figures;

use super::trends::Trends;

/// One region's figures, or why there are none.
pub struct RegionFigures {
    pub region: RegionId,
    pub figures: Vec<Figures>,
    /// `Some(reason)` when the region could not be asked.
    pub unreachable: Option<String>,
}

pub async fn all(
    trends: &Trends,
    cluster: Option<&Cluster>,
    region: &RegionId,
    now: Millis,
    timeout: Duration,
) -> Vec<RegionFigures> {
    let own = RegionFigures {
        region: region.clone(),
        figures: trends.region(now).await,
        unreachable: None,
    };
    let Some(cluster) = cluster else {
        return vec![own];
    };
    let asks = cluster.others().map(|r| async move {
        let answer = tokio::time::timeout(timeout, cluster.get(r, wire::FIGURES_PATH)).await;
        let (figures, unreachable) = match answer {
            Ok(Ok(Some(body))) => match wire::decode::<Vec<Figures>>(&body) {
                Ok(f) => (f, None),
                Err(e) => (Vec::new(), Some(crate::cause::chain(&e))),
            },
            Ok(Ok(None)) => (Vec::new(), Some("no figures endpoint".to_owned())),
            Ok(Err(e)) => (Vec::new(), Some(crate::cause::chain(&e))),
            Err(_) => (
                Vec::new(),
                Some(format!("no answer within {} ms", timeout.as_millis())),
            ),
        };
        RegionFigures {
            region: r.clone(),
            figures,
            unreachable,
        }
    });
    let mut out = vec![own];
    out.extend(futures_util::future::join_all(asks).await);
    out.sort_by(|a, b| a.region.cmp(&b.region));
    out
}
