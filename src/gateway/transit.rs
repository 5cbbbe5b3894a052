//! How a client's operation travelled, as the servers measured it, turned into the
//! instant the move was made in its home's timebase (lag compensation): the edge knows
//! when the operation arrived (monotonic clock) and the one-way delay of the client's
//! connection; the home's timebase comes from the `TimeBase` (this region's own, or
//! another region's as estimated here). A peer's call carries the instant already in
//! the home's timebase.
//!
//! Must not: measure anything itself (the fronts do) or decide credits (the domain
//! does).

use crate::domain::{Millis, RegionId, Transit};
use crate::timebase::TimeBase;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Measured {
    /// Nothing measured (no credit).
    #[default]
    Unmeasured,
    /// Arrived at this instance at `at_mono` (µs, monotonic clock) after `leg_us` on
    /// the client's connection (0 when that was not measured, e.g. REST).
    Arrived { at_mono: i64, leg_us: i64 },
    /// Measured by the region that received it: made at this instant of the home's clock.
    MovedAt(Millis),
}

impl Measured {
    /// Arrived now, after `leg_us` on the client's connection.
    pub fn arrived(at_mono: i64, leg_us: i64) -> Measured {
        Measured::Arrived { at_mono, leg_us }
    }

    /// The instant of the move in `home`'s timebase, if it can be told here.
    pub fn moved_at(self, time: &TimeBase, home: &RegionId) -> Option<Millis> {
        match self {
            Measured::Unmeasured => None,
            Measured::MovedAt(at) => Some(at),
            Measured::Arrived { at_mono, leg_us } => {
                let r = time.home_at(home, at_mono)?;
                Some((r.us - leg_us.max(0)).div_euclid(1000))
            }
        }
    }

    pub fn transit(self, time: &TimeBase, home: &RegionId) -> Transit {
        Transit {
            moved_at: self.moved_at(time, home),
        }
    }
}
