//! Epoch milliseconds ⇄ ISO 8601 UTC text (`2025-10-29T10:00:00.000Z`), as v2 wrote them;
//! clients' instants (`start_at`) are read with a UTC offset or `Z`.
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

/// (year, month, day) → days since 1970-01-01, proleptic Gregorian (H. Hinnant).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn num(s: &str) -> Option<i64> {
    (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

/// Reads `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)` (RFC 3339); fractions beyond
/// milliseconds are truncated. `None` for anything else, or an impossible date.
pub fn parse_iso(text: &str) -> Option<Millis> {
    let t = text.trim();
    let (date, rest) = t.split_once(['T', 't', ' '])?;
    let mut dp = date.split('-');
    let (y, m, d) = (num(dp.next()?)?, num(dp.next()?)?, num(dp.next()?)?);
    if dp.next().is_some() || date.len() != 10 {
        return None;
    }
    let (clock, offset_min) = if let Some(c) = rest.strip_suffix(['Z', 'z']) {
        (c, 0)
    } else {
        let i = rest.rfind(['+', '-'])?;
        let (c, off) = rest.split_at(i);
        let (oh, om) = off[1..].split_once(':')?;
        let mins = num(oh)? * 60 + num(om)?;
        (c, if off.starts_with('-') { -mins } else { mins })
    };
    let (hms, frac) = clock.split_once('.').unwrap_or((clock, ""));
    let mut tp = hms.split(':');
    let (h, mi, sec) = (num(tp.next()?)?, num(tp.next()?)?, num(tp.next()?)?);
    if tp.next().is_some() || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    if h > 23 || mi > 59 || sec > 59 || (!frac.is_empty() && num(frac).is_none()) {
        return None;
    }
    let days = days_from_civil(y, m as u32, d as u32);
    if civil_from_days(days) != (y, m as u32, d as u32) {
        return None; // e.g. February 30th
    }
    let milli = format!("{frac:0<3}")[..3].parse::<i64>().ok()?;
    Some(days * 86_400_000 + ((h * 60 + mi - offset_min) * 60 + sec) * 1000 + milli)
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

    #[test]
    fn parses_what_it_writes_and_offsets() {
        for ms in [0, 1_730_196_000_123, 951_782_400_000, 4_102_444_799_999, -1] {
            assert_eq!(parse_iso(&to_iso(ms)), Some(ms));
        }
        assert_eq!(
            parse_iso("2024-10-29T12:00:00.123456+02:00"),
            Some(1_730_196_000_123)
        );
        assert_eq!(parse_iso("2024-10-29T10:00:00Z"), Some(1_730_196_000_000));
        assert_eq!(
            parse_iso("2024-10-29T05:30:00.5-04:30"),
            Some(1_730_196_000_500)
        );
        for bad in [
            "",
            "2024-10-29",
            "2024-10-29T10:00:00",
            "2024-02-30T10:00:00Z",
            "2024-10-29T24:00:00Z",
            "24-10-29T10:00:00Z",
            "2024-10-29T10:00:00.x1Z",
            "2024-10-29T10:00:00+0200",
        ] {
            assert_eq!(parse_iso(bad), None, "{bad}");
        }
    }
}
