//! The one place that reads wall-clock time. Everything else receives `now`.
//!
//! Two clocks: the system clock (epoch time, may be off or step) and a monotonic
//! clock (never steps; microseconds since this process first asked). Acting on
//! sessions uses neither directly: `crate::timebase` anchors the monotonic clock to the
//! region's authoritative time.

use std::sync::OnceLock;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crate::domain::Millis;

/// Milliseconds since the Unix epoch, from the system clock.
pub fn now_ms() -> Millis {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as Millis)
}

/// Microseconds since the Unix epoch (for latency figures only).
pub fn now_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64)
}

static ANCHOR: OnceLock<Instant> = OnceLock::new();

/// Microseconds on the monotonic clock, counted from the first call in this process.
pub fn mono_us() -> i64 {
    mono_us_of(Instant::now())
}

/// An `Instant` on the scale of `mono_us`.
pub fn mono_us_of(at: Instant) -> i64 {
    let anchor = *ANCHOR.get_or_init(Instant::now);
    match at.checked_duration_since(anchor) {
        Some(d) => d.as_micros() as i64,
        None => -(anchor.duration_since(at).as_micros() as i64),
    }
}
