//! Authoritative time. Each home region has one clock that counts: its Redis
//! primary's (`TIME`). Every instance of the region samples it NTP-style and anchors
//! it to its own monotonic clock, so all of them claim and apply deadlines, stamp
//! cycles and answer clock-sync requests in one timebase, whatever their system
//! clocks say (a system clock that steps changes nothing: only the monotonic clock is
//! read between samples). The other regions' clocks are estimated here too (fed by
//! `region::clock`), so that a client anywhere can be given its session's home's time.
//!
//! Owns: the readings, the refusal policy (an instance whose system clock is further
//! than the tolerance from the authority, or whose reading is too uncertain, refuses
//! to act and says so: log and metrics), and the clock metrics. With the embedded
//! memory store the system clock is the authority (one process, nothing to agree
//! with). Must not: do IO (`redis_time` samples; `region::clock` samples the peers),
//! or decide what to act on.

pub mod estimate;
pub mod redis_time;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use thiserror::Error;

use crate::clock::{mono_us, now_us};
use crate::config::ClockConfig;
use crate::domain::{Millis, RegionId};
use crate::metrics;
use estimate::{Estimate, Estimator, EstimatorConfig, Exchange};

/// A reading of a region's authoritative clock, in µs since the epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reading {
    pub us: i64,
    /// The true time is within `us ± bound_us`; `None` when unknown (no sample of the
    /// authority yet: the system clock is shown instead).
    pub bound_us: Option<i64>,
}

impl Reading {
    /// Whole milliseconds, truncated (what the API shows).
    pub fn ms(&self) -> Millis {
        self.us.div_euclid(1000)
    }

    pub fn bound_ms(&self) -> Option<f64> {
        self.bound_us.map(|b| b as f64 / 1000.0)
    }
}

/// A reading in the timebase of `region` (the session's home when it is known here).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stamp {
    pub region: RegionId,
    pub reading: Reading,
}

/// Why this instance does not act now.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum ClockRefusal {
    #[error("no reading of the region's authoritative clock (Redis TIME) yet")]
    NoSample,
    #[error("the authoritative time is uncertain by ±{bound_us} µs (tolerance ±{max_us} µs)")]
    Uncertain { bound_us: i64, max_us: i64 },
    #[error("the system clock is {offset_us} µs off the region's authoritative clock (tolerance ±{max_us} µs)")]
    Skewed { offset_us: i64, max_us: i64 },
}

#[derive(Clone, Copy, Debug)]
pub struct ClockPolicy {
    pub max_offset_us: i64,
    pub max_error_us: i64,
    pub drift_ppm: u32,
}

impl From<&ClockConfig> for ClockPolicy {
    fn from(c: &ClockConfig) -> Self {
        ClockPolicy {
            max_offset_us: c.max_offset_ms as i64 * 1000,
            max_error_us: c.max_error_ms as i64 * 1000,
            drift_ppm: c.drift_ppm,
        }
    }
}

enum Authority {
    /// The system clock (embedded memory store: a single process).
    System,
    /// The region's Redis clock, anchored to the monotonic clock.
    Sampled(Mutex<Local>),
}

struct Local {
    estimator: Estimator,
    current: Option<Estimate>,
}

pub struct TimeBase {
    region: RegionId,
    policy: ClockPolicy,
    authority: Authority,
    /// Other regions' authoritative clocks relative to our monotonic clock.
    homes: RwLock<HashMap<RegionId, Estimate>>,
    /// The last evaluated state (transitions are logged once).
    refusing: Mutex<Option<ClockRefusal>>,
}

impl TimeBase {
    /// The system clock is the authority (the embedded single-process store).
    pub fn system(region: &RegionId) -> Arc<TimeBase> {
        Arc::new(Self::new(
            region,
            Authority::System,
            ClockPolicy::from(&ClockConfig::default()),
        ))
    }

    /// The region's Redis clock is the authority, once sampled (`redis_time`).
    pub fn sampled(region: &RegionId, policy: ClockPolicy) -> Arc<TimeBase> {
        let local = Local {
            estimator: Estimator::new(EstimatorConfig {
                drift_ppm: policy.drift_ppm,
                ..EstimatorConfig::default()
            }),
            current: None,
        };
        Arc::new(Self::new(
            region,
            Authority::Sampled(Mutex::new(local)),
            policy,
        ))
    }

    fn new(region: &RegionId, authority: Authority, policy: ClockPolicy) -> TimeBase {
        TimeBase {
            region: region.clone(),
            policy,
            authority,
            homes: RwLock::new(HashMap::new()),
            refusing: Mutex::new(None),
        }
    }

    pub fn region(&self) -> &RegionId {
        &self.region
    }

    pub fn policy(&self) -> ClockPolicy {
        self.policy
    }

    /// One exchange with the region's Redis (`t0`, `t3` on the monotonic clock).
    pub fn add_sample(&self, x: Exchange) {
        if let Authority::Sampled(local) = &self.authority {
            let mut l = local.lock().unwrap_or_else(|e| e.into_inner());
            if l.estimator.add(x) {
                l.current = l.estimator.estimate(x.t3);
            }
        }
    }

    /// The estimate of the authority relative to the monotonic clock.
    fn local_estimate(&self) -> Option<Estimate> {
        match &self.authority {
            Authority::System => None,
            Authority::Sampled(local) => local.lock().unwrap_or_else(|e| e.into_inner()).current,
        }
    }

    /// This region's authoritative time at the monotonic instant `mono`; `None` before
    /// the first sample.
    pub fn local_at(&self, mono: i64) -> Option<Reading> {
        match &self.authority {
            Authority::System => Some(Reading {
                us: now_us() - (mono_us() - mono),
                bound_us: Some(0),
            }),
            Authority::Sampled(_) => self.local_estimate().map(|e| Reading {
                us: mono + e.offset,
                bound_us: Some(e.bound_at(mono)),
            }),
        }
    }

    /// The authoritative time now, if this instance may act on it.
    pub fn check(&self) -> Result<Reading, ClockRefusal> {
        let mono = mono_us();
        let system = now_us();
        let reading = self.local_at(mono).ok_or(ClockRefusal::NoSample)?;
        let bound = reading.bound_us.unwrap_or(i64::MAX);
        if bound > self.policy.max_error_us {
            return Err(ClockRefusal::Uncertain {
                bound_us: bound,
                max_us: self.policy.max_error_us,
            });
        }
        let offset = system - reading.us;
        if offset.abs() > self.policy.max_offset_us {
            return Err(ClockRefusal::Skewed {
                offset_us: offset,
                max_us: self.policy.max_offset_us,
            });
        }
        Ok(reading)
    }

    /// The authoritative `now` (ms) to act on; a refusal is counted under `what`
    /// (`write`, `deadline`).
    pub fn now(&self, what: &'static str) -> Result<Millis, ClockRefusal> {
        self.check()
            .map(|r| r.ms())
            .inspect_err(|_| metrics::clock_refused(what))
    }

    /// Re-evaluates the policy (after each sample): metrics, and a log line when the
    /// instance starts or stops refusing.
    pub fn evaluate(&self) -> Result<Reading, ClockRefusal> {
        let result = self.check();
        if let Some(r) = self.local_at(mono_us()) {
            let offset = (now_us() - r.us) as f64 / 1000.0;
            metrics::clock(offset, r.bound_ms().unwrap_or(f64::INFINITY));
        }
        let now = result.as_ref().err().cloned();
        let mut last = self.refusing.lock().unwrap_or_else(|e| e.into_inner());
        match (&*last, &now) {
            (None, Some(why)) => tracing::error!(
                reason = %why,
                "clock untrusted: this instance refuses to act (writes answer 503, deadlines \
                 are left to other instances, /ready is 503) until it is back in tolerance"
            ),
            (Some(_), None) => tracing::info!("clock trusted again: this instance acts again"),
            _ => {}
        }
        metrics::clock_refusing(now.is_some());
        *last = now;
        result
    }

    /// A region's clock estimated by `region::clock` (`None`: no longer known).
    pub fn set_home(&self, home: &RegionId, estimate: Option<Estimate>) {
        let mut homes = self.homes.write().unwrap_or_else(|e| e.into_inner());
        match estimate {
            Some(e) => {
                let mono = mono_us();
                if let Some(local) = self.local_at(mono) {
                    let theirs = mono + e.offset;
                    let bound = e.bound_at(mono) + local.bound_us.unwrap_or(0);
                    metrics::region_clock(
                        home,
                        (theirs - local.us) as f64 / 1000.0,
                        bound as f64 / 1000.0,
                    );
                }
                homes.insert(home.clone(), e);
            }
            None => {
                homes.remove(home);
            }
        }
    }

    /// `home`'s authoritative time at the monotonic instant `mono`, if known here.
    pub fn home_at(&self, home: &RegionId, mono: i64) -> Option<Reading> {
        if *home == self.region {
            return self.local_at(mono);
        }
        let homes = self.homes.read().unwrap_or_else(|e| e.into_inner());
        homes.get(home).map(|e| Reading {
            us: mono + e.offset,
            bound_us: Some(e.bound_at(mono)),
        })
    }

    /// The best time to show a client at `mono`: in `home`'s timebase when it is known
    /// here, else in this region's (the stamp says which); before the first sample of
    /// the authority, the system clock with an unknown bound.
    pub fn stamp(&self, home: Option<&RegionId>, mono: i64) -> Stamp {
        if let Some(h) = home {
            if let Some(reading) = self.home_at(h, mono) {
                return Stamp {
                    region: h.clone(),
                    reading,
                };
            }
        }
        let reading = self.local_at(mono).unwrap_or(Reading {
            us: now_us() - (mono_us() - mono),
            bound_us: None,
        });
        Stamp {
            region: self.region.clone(),
            reading,
        }
    }

    /// `stamp` now, in whole ms (message timestamps).
    pub fn stamp_ms(&self, home: Option<&RegionId>) -> Millis {
        self.stamp(home, mono_us()).reading.ms()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> ClockPolicy {
        ClockPolicy::from(&ClockConfig::default())
    }

    #[test]
    fn a_sampled_authority_refuses_until_its_first_sample() {
        let tb = TimeBase::sampled(&"iad".into(), policy());
        assert_eq!(tb.check(), Err(ClockRefusal::NoSample));
        let m = mono_us();
        tb.add_sample(Exchange {
            t0: m - 100,
            t3: m,
            remote: now_us(),
            remote_error: 1,
        });
        let r = tb.check().unwrap();
        assert!((r.us - now_us()).abs() < 5_000);
        assert!(r.bound_us.unwrap() < 100);
    }

    #[test]
    fn a_system_clock_far_from_the_authority_refuses() {
        let tb = TimeBase::sampled(&"iad".into(), policy());
        let m = mono_us();
        // The authority is 6 s ahead of this machine's clock (tolerance 5 s).
        tb.add_sample(Exchange {
            t0: m - 100,
            t3: m,
            remote: now_us() + 6_000_000,
            remote_error: 1,
        });
        assert!(matches!(tb.check(), Err(ClockRefusal::Skewed { .. })));
        // Within tolerance, the corrected time is used.
        let tb = TimeBase::sampled(&"iad".into(), policy());
        tb.add_sample(Exchange {
            t0: m - 100,
            t3: m,
            remote: now_us() + 2_000_000,
            remote_error: 1,
        });
        let r = tb.check().unwrap();
        assert!((r.us - now_us() - 2_000_000).abs() < 5_000);
    }

    #[test]
    fn stamps_use_the_home_when_known_else_the_local_timebase() {
        let tb = TimeBase::system(&"nrt".into());
        let iad = RegionId::from("iad");
        let m = mono_us();
        assert_eq!(tb.stamp(Some(&iad), m).region, "nrt");
        let local = tb.local_at(m).unwrap().us;
        tb.set_home(
            &iad,
            Some(Estimate {
                offset: local - m + 50_000,
                bound: 80_000,
                at: m,
                round_trip: 160_000,
                samples: 1,
                drift_ppm: 50,
            }),
        );
        let s = tb.stamp(Some(&iad), m);
        assert_eq!(s.region, "iad");
        assert_eq!(s.reading.us, local + 50_000);
        assert_eq!(s.reading.bound_us, Some(80_000));
        tb.set_home(&iad, None);
        assert_eq!(tb.stamp(Some(&iad), m).region, "nrt");
    }
}
