//! Clock: one monotonic, µs-precision wall clock for the whole process, and the
//! small date/ISO-8601 conversions the harness needs (no chrono).
//!
//! `now_us()` is the epoch time in µs, taken once from `SystemTime` and then
//! advanced by `Instant`, so two readings in this process are always ordered and
//! comparable (send instant vs receipt instant), and still comparable to the
//! server's epoch timestamps on the same machine.

use std::sync::OnceLock;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

struct Base {
    instant: Instant,
    epoch_us: u64,
}

fn base() -> &'static Base {
    static BASE: OnceLock<Base> = OnceLock::new();
    BASE.get_or_init(|| Base {
        instant: Instant::now(),
        epoch_us: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_micros() as u64)
            .unwrap_or(0),
    })
}

/// Epoch microseconds, monotonic within this process.
pub fn now_us() -> u64 {
    let b = base();
    b.epoch_us + b.instant.elapsed().as_micros() as u64
}

/// Days since 1970-01-01 → (year, month, day) (H. Hinnant's civil_from_days).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// (year, month, day) → days since 1970-01-01.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Today's UTC date as `YYYY-MM-DD`.
pub fn today() -> String {
    let (y, m, d) = civil_from_days((now_us() / 86_400_000_000) as i64);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Epoch ms → `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn iso_ms(epoch_ms: u64) -> String {
    let secs = epoch_ms / 1000;
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    let s = secs % 86_400;
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        s / 3600,
        (s / 60) % 60,
        s % 60,
        epoch_ms % 1000
    )
}

/// Parses an ISO-8601 UTC timestamp (`...Z`, any fraction precision) to epoch µs.
pub fn parse_iso_us(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || !s.ends_with('Z') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<u32>().ok();
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let mut frac_us = 0u64;
    if b[19] == b'.' {
        let digits = &s[20..s.len() - 1];
        let mut scale = 100_000u64;
        for c in digits.bytes().take(6) {
            if !c.is_ascii_digit() {
                return None;
            }
            frac_us += u64::from(c - b'0') * scale;
            scale /= 10;
        }
    }
    let days = days_from_civil(i64::from(y), mo, d);
    let secs = days * 86_400 + i64::from(h * 3600 + mi * 60 + se);
    u64::try_from(secs).ok().map(|s| s * 1_000_000 + frac_us)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_roundtrip() {
        let ms = 1_730_196_000_123u64;
        let s = iso_ms(ms);
        assert_eq!(s, "2024-10-29T10:00:00.123Z");
        assert_eq!(parse_iso_us(&s), Some(ms * 1000));
        assert_eq!(
            parse_iso_us("2024-10-29T10:00:00Z"),
            Some(1_730_196_000_000_000)
        );
        assert_eq!(
            parse_iso_us("2024-10-29T10:00:00.1234567Z"),
            Some(1_730_196_000_123_456)
        );
        assert_eq!(parse_iso_us("garbage"), None);
    }

    #[test]
    fn clock_is_monotonic() {
        let a = now_us();
        let b = now_us();
        assert!(b >= a);
        assert!(a > 1_600_000_000_000_000);
    }
}
