//! The JSON the dashboard page draws: per region, per series, one point per interval
//! with p50, p99 and the count, computed from the bucket counts of all the region's
//! instances merged per interval; gauges summed over instances; requests and errors.
//!
//! Must not: do IO.

use std::collections::BTreeMap;

use serde::Serialize;

use super::gather::RegionFigures;
use crate::domain::Millis;
use crate::trend::histogram::{add_into, quantile, BUCKETS};
use crate::trend::history::Interval;

#[derive(Debug, Default, Serialize, PartialEq)]
pub struct Points {
    /// Interval starts (epoch ms).
    pub t: Vec<Millis>,
    pub p50: Vec<Option<f64>>,
    pub p99: Vec<Option<f64>>,
    pub n: Vec<u64>,
}

#[derive(Debug, Default, Serialize, PartialEq)]
pub struct Values {
    pub t: Vec<Millis>,
    pub v: Vec<f64>,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct RegionView {
    pub region: String,
    pub reachable: bool,
    pub error: Option<String>,
    /// Instances whose figures are included.
    pub instances: usize,
    /// `switch_ms`, `client_rtt_ms`, `deadline_lateness_ms`, `forward_ms:<home>`,
    /// `relay_lag_ms:<home>`.
    pub series: BTreeMap<String, Points>,
    pub gauges: BTreeMap<String, Values>,
    pub requests: Values,
    pub errors: Values,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct DashboardView {
    pub now: Millis,
    pub interval_ms: u64,
    pub regions: Vec<RegionView>,
}

fn series_name(kind: &str, label: &str) -> String {
    if label.is_empty() {
        kind.to_owned()
    } else {
        format!("{kind}:{label}")
    }
}

/// Merges one region's instances interval by interval.
fn region_view(r: RegionFigures) -> RegionView {
    let instances = r.figures.len();
    let mut by_start: BTreeMap<Millis, Vec<Interval>> = BTreeMap::new();
    for f in r.figures {
        for i in f.intervals {
            by_start.entry(i.start_ms).or_default().push(i);
        }
    }
    let mut series: BTreeMap<String, Points> = BTreeMap::new();
    let mut gauges: BTreeMap<String, Values> = BTreeMap::new();
    let (mut requests, mut errors) = (Values::default(), Values::default());
    for (start, intervals) in by_start {
        let mut merged: BTreeMap<String, [u64; BUCKETS]> = BTreeMap::new();
        let mut summed: BTreeMap<String, f64> = BTreeMap::new();
        let (mut req, mut err) = (0u64, 0u64);
        for i in &intervals {
            for ((kind, label), sparse) in &i.latencies {
                let dense = merged
                    .entry(series_name(kind.name(), label))
                    .or_insert([0; BUCKETS]);
                add_into(dense, sparse);
            }
            for (name, v) in &i.gauges {
                *summed.entry(name.clone()).or_default() += v;
            }
            req += i.requests;
            err += i.errors;
        }
        for (name, dense) in merged {
            let p = series.entry(name).or_default();
            p.t.push(start);
            p.p50.push(quantile(&dense, 0.5));
            p.p99.push(quantile(&dense, 0.99));
            p.n.push(dense.iter().sum());
        }
        for (name, v) in summed {
            let g = gauges.entry(name).or_default();
            g.t.push(start);
            g.v.push(v);
        }
        requests.t.push(start);
        requests.v.push(req as f64);
        errors.t.push(start);
        errors.v.push(err as f64);
    }
    RegionView {
        region: r.region.to_string(),
        reachable: r.unreachable.is_none(),
        error: r.unreachable,
        instances,
        series,
        gauges,
        requests,
        errors,
    }
}

pub fn build(now: Millis, interval_ms: u64, regions: Vec<RegionFigures>) -> DashboardView {
    DashboardView {
        now,
        interval_ms,
        regions: regions.into_iter().map(region_view).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trend::history::Figures;
    use crate::trend::series::Measure;

    fn interval(start: Millis, bucket: u8, n: u32, conns: f64) -> Interval {
        Interval {
            start_ms: start,
            latencies: vec![((Measure::Switch, String::new()), vec![(bucket, n)])],
            requests: u64::from(n),
            errors: 0,
            gauges: vec![("connections".into(), conns)],
        }
    }

    #[test]
    fn instances_merge_per_interval_and_unreachable_regions_show() {
        let f = |instance: &str, bucket| Figures {
            region: "iad".into(),
            instance: instance.into(),
            interval_ms: 5_000,
            intervals: vec![interval(5_000, bucket, 10, 3.0)],
        };
        let v = build(
            9_000,
            5_000,
            vec![
                RegionFigures {
                    region: "iad".into(),
                    figures: vec![f("a", 10), f("b", 20)],
                    unreachable: None,
                },
                RegionFigures {
                    region: "nrt".into(),
                    figures: vec![],
                    unreachable: Some("no answer".into()),
                },
            ],
        );
        let iad = &v.regions[0];
        assert!(iad.reachable);
        assert_eq!(iad.instances, 2);
        let s = &iad.series["switch_ms"];
        assert_eq!((s.t.clone(), s.n.clone()), (vec![5_000], vec![20]));
        assert!(s.p99[0].unwrap() > s.p50[0].unwrap());
        assert_eq!(iad.gauges["connections"].v, vec![6.0]);
        assert!(!v.regions[1].reachable);
    }
}
