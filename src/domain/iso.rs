//! Epoch milliseconds ⇄ ISO 8601 UTC text (`2025-10-29T10:00:00.000Z`), as v2 wrote them.
//!
//! Owns: the one date format clients see. Must not: read the clock.

use super::model::Millis;

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian (H. Hinnant).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Writes `ms` as `YYYY-MM-DDTHH:MM:SS.mmmZ` into `out`.
pub fn write_iso(out: &mut String, ms: Millis) {
    use std::fmt::Write;
    let days = ms.div_euclid(86_400_000);
    let rem = ms.rem_euclid(86_400_000);
    let (y, m, d) = civil_from_days(days);
    let (h, mi, s, milli) = (
        rem / 3_600_000,
        rem / 60_000 % 60,
        rem / 1000 % 60,
        rem % 1000,
    );
    let _ = write!(
        out,
        "{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{milli:03}Z"
    );
}

pub fn to_iso(ms: Millis) -> String {
    let mut s = String::with_capacity(24);
    write_iso(&mut s, ms);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_instants() {
        assert_eq!(to_iso(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(to_iso(1_730_196_000_123), "2024-10-29T10:00:00.123Z");
        assert_eq!(to_iso(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(to_iso(4_102_444_799_999), "2099-12-31T23:59:59.999Z");
        assert_eq!(to_iso(-1), "1969-12-31T23:59:59.999Z");
    }
}
