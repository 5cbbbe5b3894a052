//! Format 3's body: every field round-trips (sessions built by hand and by proptest),
//! and hostile bytes (random, truncated, padded, flipped) are errors, never panics.

use proptest::prelude::*;

const POLICIES: [PausePolicy; 3] = [
    PausePolicy::Service,
    PausePolicy::ActiveParticipant,
    PausePolicy::AnyParticipant,
];

use crate::domain::{
    Access, LagPolicy, PausePolicy, Session, SessionId, Status, SyncMode, TenantId, TimeoutAction,
};
use crate::store::codec::{decode_state_bytes, encode_state, CodecError};

const UUID: &str = "223e4567-e89b-12d3-a456-426614174001";

fn sample() -> Session {
    crate::domain::sample::session(crate::domain::sample::ID, "iad", 1_730_196_000_123)
}

fn round_trip(s: &Session) -> Vec<u8> {
    let bytes = encode_state(s);
    let back = decode_state_bytes(&s.session_id, &bytes).unwrap_or_else(|e| panic!("{e}: {s:?}"));
    assert_eq!(&back, s);
    bytes
}

/// A running session: every optional instant set, participants with time used.
fn running(mode: SyncMode) -> Session {
    let mut s = sample();
    let t0 = s.created_at;
    s.sync_mode = mode;
    s.status = Status::Running;
    s.version = 42;
    s.client_version = 40;
    s.updated_at = t0 + 9_000;
    s.session_started_at = Some(t0 + 1_000);
    s.cycle_started_at = Some(t0 + 8_000);
    s.warned_through = Some(t0 + 8_500);
    s.active_participant_id = Some(s.participants[1].participant_id.clone());
    s.participants[1].is_active = true;
    s.participants[0].time_used_ms = 7_000;
    s.participants[0].total_time_ms = 293_000;
    s.participants[0].time_remaining_ms = 293_000;
    s.participants[0].cycle_count = 3;
    s.participants[1].time_remaining_ms = 12;
    s
}

fn varied() -> Vec<Session> {
    let mut out = vec![sample()];
    for mode in SyncMode::ALL {
        for status in [
            Status::Pending,
            Status::Running,
            Status::Paused,
            Status::Expired,
            Status::Completed,
            Status::Cancelled,
        ] {
            let mut s = running(mode);
            s.status = status;
            if status.is_terminal() {
                s.session_completed_at = Some(s.created_at + 10_000);
                s.participants[0].has_expired = true;
            }
            out.push(s);
        }
    }
    let mut s = running(SyncMode::PerGroup);
    s.participants[0].group_id = Some(UUID.into());
    s.participants[1].group_id = Some("team-b".into());
    out.push(s);
    let mut s = running(SyncMode::PerCycle);
    s.time_per_cycle_ms = Some(30_000);
    s.participants[0].budget_ms = 30_000;
    s.participants[1].lag_credited_ms = 250;
    s.increment_ms = 2_000;
    s.max_time_ms = Some(u64::MAX);
    out.push(s);
    // Ids that are not canonical UUIDs are kept as text, byte for byte.
    let mut s = running(SyncMode::PerParticipant);
    s.participants[0].participant_id = UUID.to_uppercase().into();
    s.participants[1].participant_id = "alice-é".into();
    s.participants[1].group_id = Some("223E4567-e89b-12d3-a456-426614174001".into());
    s.active_participant_id = Some("alice-é".into());
    out.push(s);
    let mut s = running(SyncMode::Global);
    s.active_participant_id = Some("not-in-the-list".into());
    out.push(s);
    let mut s = running(SyncMode::CountUp);
    s.active_participant_id = Some(UUID.into()); // a UUID, but nobody's
    s.epoch = 4;
    s.epoch_since = 37;
    s.zero_loss = true;
    s.access = Access {
        tenant: Some(TenantId::from("acme")),
        pause_policy: PausePolicy::AnyParticipant,
    };
    s.warning_thresholds_ms = vec![1_000, 30_000, u64::MAX];
    s.lag_compensation = Some(LagPolicy {
        max_per_move_ms: 500,
        budget_ms: 5_000,
    });
    s.action_on_timeout = TimeoutAction::End;
    out.push(s);
    // Negative deltas and the extremes (deltas wrap, they do not overflow).
    let mut s = sample();
    s.start_at = Some(s.created_at - 5_000);
    s.updated_at = s.created_at - 1;
    out.push(s);
    let mut s = running(SyncMode::PerParticipant);
    s.created_at = i64::MIN;
    s.updated_at = i64::MAX;
    s.start_at = Some(0);
    s.session_started_at = Some(i64::MIN);
    s.client_version = u64::MAX; // above the version: stored as a wrapped difference
    s.version = 0;
    s.participants[0].participant_index = u32::MAX;
    s.participants[1].total_time_ms = u64::MAX;
    out.push(s);
    let mut s = sample();
    s.participants.clear();
    s.home_region = "".into();
    out.push(s);
    out
}

#[test]
fn varied_sessions_round_trip() {
    for s in varied() {
        round_trip(&s);
    }
}

#[test]
fn uuid_ids_take_16_bytes_and_print_back_identically() {
    let s = sample();
    let mut upper = s.clone();
    upper.participants[0].participant_id =
        upper.participants[0].participant_id.to_uppercase().into();
    // A canonical id takes 16 bytes, the upper-case one its 36 characters and a length.
    assert_eq!(round_trip(&upper).len(), round_trip(&s).len() + 21);
    for id in [
        "00000000-0000-0000-0000-000000000000",
        "ffffffff-ffff-ffff-ffff-ffffffffffff",
        "0123456789ab-cdef-0123-4567-89abcdef",
        "0123456789abcdef0123456789abcdef0123",
        "01234567-89ab-cdef-0123-456789abcdeg",
        "",
    ] {
        let mut t = s.clone();
        t.participants[0].participant_id = id.into();
        t.active_participant_id = Some(id.into());
        round_trip(&t);
    }
}

#[test]
fn the_idle_sample_is_small() {
    let n = encode_state(&sample()).len();
    println!("idle 2-participant sample session, format 3: {n} bytes");
    assert!(n <= 108, "{n} bytes");
}

fn body_err(body: &[u8]) -> CodecError {
    let s = sample();
    let mut bytes = encode_state(&s)[..21].to_vec();
    bytes.extend_from_slice(body);
    decode_state_bytes(&s.session_id, &bytes).expect_err("not a body")
}

#[test]
fn hostile_bodies_are_typed_errors() {
    use super::CompactError as E;
    let e = |b: &[u8]| match body_err(b) {
        CodecError::Compact(e) => e,
        other => panic!("{other:?}"),
    };
    // An 11-byte varint; a 10-byte one above 64 bits.
    assert!(matches!(e(&[0xff; 11]), E::Varint));
    assert!(matches!(
        e(&[0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x02]),
        E::Varint
    ));
    assert!(matches!(
        e(&[0x80, 0x80, 0x04]),
        E::UnknownBits { bits: 0x1_0000, .. }
    ));
    assert!(matches!(e(&[2]), E::UnknownBits { .. })); // active id without active
    assert!(matches!(
        e(&[0, 9]),
        E::Range {
            what: "sync_mode",
            ..
        }
    ));
    assert!(matches!(e(&[0, 0, 0, 0, 0, 0]), E::Truncated(_)));
    // home_region claims 100 bytes; it is not UTF-8; a billion participants.
    assert!(matches!(e(&[0, 0, 0, 0, 1, 0, 100, b'a']), E::Truncated(_)));
    assert!(matches!(e(&[0, 0, 0, 0, 1, 0, 1, 0xff, 0]), E::Utf8(_)));
    assert!(matches!(
        e(&[0, 0, 0, 0, 1, 0, 0, 0x80, 0x94, 0xeb, 0xdc, 0x03]),
        E::Count {
            count: 1_000_000_000,
            ..
        }
    ));
    // A well-formed empty session, then one byte too many.
    let ok = [0, 0, 0, 0, 1, 0, 0, 0];
    let s = sample();
    let mut bytes = encode_state(&s)[..21].to_vec();
    bytes.extend_from_slice(&ok);
    assert!(decode_state_bytes(&s.session_id, &bytes).is_ok());
    let mut long = ok.to_vec();
    long.push(0);
    assert!(matches!(e(&long), E::Trailing(1)));
    // The active participant's position is past the end.
    assert!(matches!(
        e(&[1, 0, 0, 0, 1, 0, 0, 0, 5]),
        E::Range {
            what: "active participant position",
            ..
        }
    ));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Random bytes after a format-3 header: decoding returns, it never panics.
    #[test]
    fn random_bodies_never_panic(body in proptest::collection::vec(any::<u8>(), 0..200)) {
        let s = sample();
        let mut bytes = encode_state(&s)[..21].to_vec();
        bytes.extend_from_slice(&body);
        let _ = decode_state_bytes(&s.session_id, &bytes);
        let _ = decode_state_bytes(&s.session_id, &body);
    }

    /// Every strict prefix of a valid value, and the value with bytes after it, is an
    /// error; a flipped byte is an error or another session, never a panic.
    #[test]
    fn truncated_padded_and_flipped_values_fail_cleanly(
        which in 0..20usize,
        cut in any::<prop::sample::Index>(),
        extra in proptest::collection::vec(any::<u8>(), 1..8),
        flip in any::<(prop::sample::Index, u8)>(),
    ) {
        let all = varied();
        let s = &all[which % all.len()];
        let bytes = encode_state(s);
        let id = &s.session_id;
        let at = cut.index(bytes.len());
        prop_assert!(decode_state_bytes(id, &bytes[..at]).is_err());
        let mut padded = bytes.clone();
        padded.extend_from_slice(&extra);
        prop_assert!(decode_state_bytes(id, &padded).is_err());
        let mut flipped = bytes.clone();
        let i = flip.0.index(bytes.len());
        flipped[i] ^= flip.1 | 1;
        let _ = decode_state_bytes(id, &flipped);
    }

    /// Sessions with arbitrary numbers, instants and flags round-trip.
    #[test]
    fn arbitrary_sessions_round_trip(
        nums in proptest::collection::vec(any::<u64>(), 12),
        instants in proptest::collection::vec(any::<i64>(), 8),
        bits in any::<u32>(),
        ids in proptest::collection::vec("[0-9a-fA-F-]{0,40}|\\PC{0,8}", 3),
        enums in (0..5u64, 0..6u64, 0..3u64),
    ) {
        let mut s = running(SyncMode::from_index(enums.0).unwrap());
        let on = |i: u32| bits & (1 << i) != 0;
        let opt = |i: u32, v: i64| on(i).then_some(v);
        s.session_id = SessionId::from("x");
        s.status = Status::from_index(enums.1).unwrap();
        s.action_on_timeout = TimeoutAction::from_index(enums.2).unwrap();
        s.version = nums[0];
        s.client_version = nums[1];
        s.total_time_ms = nums[2];
        s.increment_ms = if on(0) { nums[3] } else { 0 };
        s.time_per_cycle_ms = on(1).then_some(nums[4]);
        s.max_time_ms = on(2).then_some(nums[5]);
        s.epoch_since = if on(3) { nums[6] } else { 0 };
        s.epoch = nums[7] as u32;
        s.zero_loss = on(4);
        s.created_at = instants[0];
        s.updated_at = instants[1];
        s.cycle_started_at = opt(5, instants[2]);
        s.session_started_at = opt(6, instants[3]);
        s.session_completed_at = opt(7, instants[4]);
        s.warned_through = opt(8, instants[5]);
        s.start_at = opt(9, instants[6]);
        s.lag_compensation = on(10).then_some(LagPolicy { max_per_move_ms: nums[8], budget_ms: nums[9] });
        s.warning_thresholds_ms = if on(11) { nums[..5].to_vec() } else { vec![] };
        s.participants[0].participant_id = ids[0].clone().into();
        s.participants[1].group_id = on(12).then(|| ids[1].clone());
        s.active_participant_id = match bits >> 13 & 3 {
            0 => None,
            1 => Some(s.participants[0].participant_id.clone()),
            2 => Some(s.participants[1].participant_id.clone()),
            _ => Some(ids[2].clone().into()),
        };
        let p = &mut s.participants[1];
        p.is_active = on(15);
        p.has_expired = on(16);
        p.time_used_ms = nums[10];
        p.time_remaining_ms = nums[11];
        p.budget_ms = if on(17) { nums[3] } else { p.total_time_ms };
        p.cycle_count = if on(18) { nums[4] } else { 0 };
        p.lag_credited_ms = if on(19) { nums[5] } else { 0 };
        p.participant_index = instants[7] as u32;
        if on(20) {
            s.access = Access { tenant: on(21).then(|| TenantId::from(ids[1].as_str())), pause_policy: POLICIES[(bits >> 22) as usize % 3] };
        }
        round_trip(&s);
    }
}
