//! Focused unit tests for the pure domain core (`synckairos::domain`), public API only:
//! `lifetime::keep_until` and `iso::to_iso` (leap years, negative instants).
//!
//! Builders are in `support/domain/timeline.rs`. The random-sequence properties
//! are in `domain/props_*.rs`.

use crate::support::domain::timeline::*;
use proptest::prelude::*;
use synckairos::domain::iso::to_iso;
use synckairos::domain::lifetime::keep_until;
use synckairos::domain::*;

// ---------------------------------------------------------------------------------
// lifetime
// ---------------------------------------------------------------------------------

const HOUR: u64 = 3_600_000;

#[test]
fn keep_until_covers_the_ttl_and_a_running_clock() {
    let req = request(
        SyncMode::PerParticipant,
        TimeoutAction::Continue,
        &[7_200_000, 60_000],
    );
    let pending = create_session(req, &"eu-west".into(), 1_000).unwrap();
    assert_eq!(keep_until(&pending, HOUR), 1_000 + 3_600_000);
    // Running: the clock runs out 2 h after start, past the TTL.
    let running = ok(&pending, Op::Start, 2_000).session;
    assert_eq!(keep_until(&running, HOUR), 2_000 + 7_200_000 + 3_600_000);
    // After a switch, participant 1's 60 s clock runs out at 63000.
    let other = ok(&running, switch(), 3_000).session;
    assert_eq!(keep_until(&other, HOUR), 63_000 + 3_600_000);
    assert_eq!(keep_until(&other, 0), 63_000);
    // Paused: nothing runs.
    let paused = ok(&running, Op::Pause, 10_000).session;
    assert_eq!(keep_until(&paused, HOUR), 10_000 + 3_600_000);
    // Continue after expiry: the clock is at 0, nothing more to wait for.
    let expired = tick(&other, 100_000).unwrap().session;
    assert_eq!(next_deadline(&expired), None);
    assert_eq!(keep_until(&expired, HOUR), 100_000 + 3_600_000);
    let done = ok(&expired, Op::Complete, 200_000).session;
    assert_eq!(keep_until(&done, 0), 200_000);
    // Saturates instead of overflowing.
    let mut late = done.clone();
    late.updated_at = Millis::MAX - 10;
    assert_eq!(keep_until(&late, HOUR), Millis::MAX);
}

// ---------------------------------------------------------------------------------
// iso
// ---------------------------------------------------------------------------------

#[test]
fn to_iso_around_leap_days() {
    let cases: &[(Millis, &str)] = &[
        (0, "1970-01-01T00:00:00.000Z"),
        (-1, "1969-12-31T23:59:59.999Z"),
        (68_169_600_000, "1972-02-29T00:00:00.000Z"),
        (-58_015_503_211, "1968-02-29T12:34:56.789Z"),
        (951_782_399_999, "2000-02-28T23:59:59.999Z"),
        (951_782_400_000, "2000-02-29T00:00:00.000Z"), // 2000: divisible by 400, leap
        (951_868_800_000, "2000-03-01T00:00:00.000Z"),
        (-2_203_891_200_001, "1900-02-28T23:59:59.999Z"), // 1900: not leap
        (-2_203_891_200_000, "1900-03-01T00:00:00.000Z"),
        (4_107_499_200_000, "2100-02-28T12:00:00.000Z"), // 2100: not leap
        (4_107_542_400_000, "2100-03-01T00:00:00.000Z"),
        (1_677_628_799_999, "2023-02-28T23:59:59.999Z"),
        (1_677_628_800_000, "2023-03-01T00:00:00.000Z"),
        (1_704_067_199_999, "2023-12-31T23:59:59.999Z"),
        (1_709_251_199_999, "2024-02-29T23:59:59.999Z"),
        (1_709_251_200_000, "2024-03-01T00:00:00.000Z"),
        (1_735_689_599_999, "2024-12-31T23:59:59.999Z"), // day 366
        (1_735_689_600_000, "2025-01-01T00:00:00.000Z"),
        (-11_670_998_400_000, "1600-02-29T00:00:00.000Z"),
        (13_574_563_200_000, "2400-02-29T00:00:00.000Z"),
        (-62_135_596_800_000, "0001-01-01T00:00:00.000Z"),
        (253_402_300_799_999, "9999-12-31T23:59:59.999Z"),
    ];
    for &(ms, text) in cases {
        assert_eq!(to_iso(ms), text, "{ms}");
    }
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

/// A slow, obviously-correct conversion: walk years and months from 1970.
fn naive_iso(ms: Millis) -> String {
    let mut days = ms.div_euclid(86_400_000);
    let rem = ms.rem_euclid(86_400_000);
    let mut year = 1970i64;
    let year_len = |y| if is_leap(y) { 366 } else { 365 };
    while days < 0 {
        year -= 1;
        days += year_len(year);
    }
    while days >= year_len(year) {
        days -= year_len(year);
        year += 1;
    }
    let months = [
        31,
        if is_leap(year) { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    let mut month = 0;
    while days >= months[month] {
        days -= months[month];
        month += 1;
    }
    format!(
        "{year:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        month + 1,
        days + 1,
        rem / 3_600_000,
        rem / 60_000 % 60,
        rem / 1_000 % 60,
        rem % 1_000
    )
}

proptest! {
    #[test]
    fn to_iso_matches_a_naive_calendar(ms in -12_000_000_000_000i64..=14_000_000_000_000) {
        prop_assert_eq!(to_iso(ms), naive_iso(ms));
    }

    #[test]
    fn to_iso_is_24_chars_and_ordered(a in -62_135_596_800_000i64..=253_402_300_799_999, d in 0i64..=100_000_000_000) {
        let b = (a + d).min(253_402_300_799_999);
        let (x, y) = (to_iso(a), to_iso(b));
        prop_assert_eq!(x.len(), 24);
        prop_assert!(x.ends_with('Z'));
        prop_assert!(x <= y, "{} > {}", x, y);
    }
}
