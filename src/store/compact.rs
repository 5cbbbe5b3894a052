//! The body of stored-state format 3 (`codec` writes the header and calls in here): a
//! hand-written binary layout, because the MessagePack of formats 1 and 2 spent most
//! of an idle session's bytes on field values that are absent, zero, equal to another
//! field or a UUID spelled as 36 characters.
//!
//! Layout (every integer a LEB128 varint; signed ones zigzag first; instants as the
//! zigzag delta from the header's `created_at`):
//!
//! ```text
//! flags  sync_mode  status  action_on_timeout  total_time_ms  version-client_version
//! home_region(len, bytes)  participants(count, each: see below)
//! then, in flag-bit order, the field of each set bit that carries a value
//! participant: pflags  id(16 bytes | len, bytes)  participant_index  total_time_ms
//!              then, in pflag-bit order, the field of each set bit that carries a value
//! ```
//!
//! A bit that is clear means the field is absent, 0/false, or (remaining, budget)
//! equal to the participant's `total_time_ms`; the active participant is stored as
//! its position when it is one of the participants. Ids that are canonical
//! lowercase hyphenated UUIDs take 16 raw bytes (they print back identically).
//! `access`, when not the default, is its MessagePack, length-prefixed.
//!
//! Decoding never trusts a length or count beyond the bytes that are left, rejects
//! unknown flag bits, varints over 10 bytes, bad UTF-8 and trailing bytes, and never
//! panics: hostile bytes are a `CompactError`.
//!
//! Must not: know about headers, formats, keys or Redis (that is `codec`); change the
//! meaning of an existing bit (add new bits, and new fields after the existing ones).

use serde::Deserialize;

pub use super::varint::CompactError;
use super::varint::{signed, string, uuid_bytes, varint, Reader};

use crate::domain::{
    Access, LagPolicy, Millis, Participant, ParticipantId, Session, Status, SyncMode, TimeoutAction,
};

// Session flags.
const ACTIVE: u64 = 1 << 0; // active participant: its position follows
const ACTIVE_ID: u64 = 1 << 1; // ... not one of the participants: its id instead
const UPDATED: u64 = 1 << 2; // updated_at != created_at
const CYCLE_STARTED: u64 = 1 << 3;
const SESSION_STARTED: u64 = 1 << 4;
const SESSION_COMPLETED: u64 = 1 << 5;
const WARNED: u64 = 1 << 6; // warned_through
const INCREMENT: u64 = 1 << 7; // increment_ms != 0
const PER_CYCLE: u64 = 1 << 8; // time_per_cycle_ms
const MAX_TIME: u64 = 1 << 9; // max_time_ms
const THRESHOLDS: u64 = 1 << 10; // warning_thresholds_ms not empty
const ZERO_LOSS: u64 = 1 << 11; // no value
const EPOCH_SINCE: u64 = 1 << 12; // epoch_since != 0
const LAG: u64 = 1 << 13; // lag_compensation: max_per_move_ms, budget_ms
const START_AT: u64 = 1 << 14;
const ACCESS: u64 = 1 << 15; // access != default
const SESSION_BITS: u64 = (1 << 16) - 1;

// Participant flags.
const P_ACTIVE: u64 = 1 << 0; // is_active, no value
const P_EXPIRED: u64 = 1 << 1; // has_expired, no value
const P_UUID: u64 = 1 << 2; // id as 16 bytes
const P_USED: u64 = 1 << 3; // time_used_ms != 0
const P_CYCLES: u64 = 1 << 4; // cycle_count != 0
const P_REMAINING: u64 = 1 << 5; // time_remaining_ms != total_time_ms
const P_BUDGET: u64 = 1 << 6; // budget_ms != total_time_ms
const P_GROUP: u64 = 1 << 7; // group_id
const P_GROUP_UUID: u64 = 1 << 8; // ... as 16 bytes
const P_LAG: u64 = 1 << 9; // lag_credited_ms != 0
const PARTICIPANT_BITS: u64 = (1 << 10) - 1;

/// Appends the body of `s` (everything but `session_id`, `version`, `created_at` and
/// `epoch`, which the key and the header carry).
pub(crate) fn encode(s: &Session, out: &mut Vec<u8>) {
    // Destructured so that a new field of `Session` does not compile until it is here.
    let Session {
        session_id: _,
        sync_mode,
        status,
        version,
        participants,
        active_participant_id,
        total_time_ms,
        time_per_cycle_ms,
        cycle_started_at,
        session_started_at,
        session_completed_at,
        increment_ms,
        max_time_ms,
        created_at,
        updated_at,
        action_on_timeout,
        warning_thresholds_ms,
        home_region,
        epoch: _,
        zero_loss,
        epoch_since,
        warned_through,
        client_version,
        lag_compensation,
        start_at,
        access,
    } = s;
    let active_at = active_participant_id
        .as_ref()
        .map(|id| participants.iter().position(|p| p.participant_id == *id));
    let bit = |on: bool, b: u64| if on { b } else { 0 };
    let flags = bit(active_at.is_some(), ACTIVE)
        | bit(matches!(active_at, Some(None)), ACTIVE_ID)
        | bit(updated_at != created_at, UPDATED)
        | bit(cycle_started_at.is_some(), CYCLE_STARTED)
        | bit(session_started_at.is_some(), SESSION_STARTED)
        | bit(session_completed_at.is_some(), SESSION_COMPLETED)
        | bit(warned_through.is_some(), WARNED)
        | bit(*increment_ms != 0, INCREMENT)
        | bit(time_per_cycle_ms.is_some(), PER_CYCLE)
        | bit(max_time_ms.is_some(), MAX_TIME)
        | bit(!warning_thresholds_ms.is_empty(), THRESHOLDS)
        | bit(*zero_loss, ZERO_LOSS)
        | bit(*epoch_since != 0, EPOCH_SINCE)
        | bit(lag_compensation.is_some(), LAG)
        | bit(start_at.is_some(), START_AT)
        | bit(!access.is_default(), ACCESS);
    varint(out, flags);
    varint(out, u64::from(sync_mode.index()));
    varint(out, u64::from(status.index()));
    varint(out, u64::from(action_on_timeout.index()));
    varint(out, *total_time_ms);
    varint(out, version.wrapping_sub(*client_version));
    string(out, home_region);
    varint(out, participants.len() as u64);
    for p in participants {
        participant(out, p);
    }
    let instant = |out: &mut Vec<u8>, at: &Option<Millis>| {
        if let Some(at) = at {
            signed(out, at.wrapping_sub(*created_at));
        }
    };
    match (active_at, active_participant_id) {
        (Some(Some(i)), _) => varint(out, i as u64),
        (Some(None), Some(id)) => string(out, id),
        _ => {}
    }
    if updated_at != created_at {
        signed(out, updated_at.wrapping_sub(*created_at));
    }
    instant(out, cycle_started_at);
    instant(out, session_started_at);
    instant(out, session_completed_at);
    instant(out, warned_through);
    if *increment_ms != 0 {
        varint(out, *increment_ms);
    }
    for v in [time_per_cycle_ms, max_time_ms].into_iter().flatten() {
        varint(out, *v);
    }
    if !warning_thresholds_ms.is_empty() {
        varint(out, warning_thresholds_ms.len() as u64);
        for t in warning_thresholds_ms {
            varint(out, *t);
        }
    }
    if *epoch_since != 0 {
        varint(out, *epoch_since);
    }
    if let Some(lag) = lag_compensation {
        varint(out, lag.max_per_move_ms);
        varint(out, lag.budget_ms);
    }
    instant(out, start_at);
    if !access.is_default() {
        // Serializing a plain struct into a Vec cannot fail.
        let bytes = rmp_serde::to_vec(access).unwrap_or_default();
        varint(out, bytes.len() as u64);
        out.extend_from_slice(&bytes);
    }
}

fn participant(out: &mut Vec<u8>, p: &Participant) {
    let Participant {
        participant_id,
        participant_index,
        total_time_ms,
        time_used_ms,
        time_remaining_ms,
        cycle_count,
        is_active,
        has_expired,
        group_id,
        budget_ms,
        lag_credited_ms,
    } = p;
    let id = uuid_bytes(participant_id);
    let group = group_id.as_deref().map(uuid_bytes);
    let bit = |on: bool, b: u64| if on { b } else { 0 };
    let flags = bit(*is_active, P_ACTIVE)
        | bit(*has_expired, P_EXPIRED)
        | bit(id.is_some(), P_UUID)
        | bit(*time_used_ms != 0, P_USED)
        | bit(*cycle_count != 0, P_CYCLES)
        | bit(time_remaining_ms != total_time_ms, P_REMAINING)
        | bit(budget_ms != total_time_ms, P_BUDGET)
        | bit(group.is_some(), P_GROUP)
        | bit(matches!(group, Some(Some(_))), P_GROUP_UUID)
        | bit(*lag_credited_ms != 0, P_LAG);
    varint(out, flags);
    match id {
        Some(raw) => out.extend_from_slice(&raw),
        None => string(out, participant_id),
    }
    varint(out, u64::from(*participant_index));
    varint(out, *total_time_ms);
    let nonzero = |out: &mut Vec<u8>, v: u64| {
        if v != 0 {
            varint(out, v);
        }
    };
    nonzero(out, *time_used_ms);
    nonzero(out, *cycle_count);
    if time_remaining_ms != total_time_ms {
        varint(out, *time_remaining_ms);
    }
    if budget_ms != total_time_ms {
        varint(out, *budget_ms);
    }
    match (group, group_id) {
        (Some(Some(raw)), _) => out.extend_from_slice(&raw),
        (Some(None), Some(g)) => string(out, g),
        _ => {}
    }
    nonzero(out, *lag_credited_ms);
}

/// The session in a body; `version`, `created_at` and `epoch` come from the header,
/// `session_id` stays empty (the caller sets it from the key).
pub(crate) fn decode(
    body: &[u8],
    version: u64,
    created_at: Millis,
    epoch: u32,
) -> Result<Session, CompactError> {
    let mut r = Reader::new(body);
    let flags = r.varint()?;
    check_bits("session", flags, SESSION_BITS)?;
    if flags & ACTIVE_ID != 0 && flags & ACTIVE == 0 {
        return Err(CompactError::UnknownBits {
            what: "session (active id without active)",
            bits: ACTIVE_ID,
        });
    }
    let sync_mode = r.index("sync_mode", SyncMode::from_index)?;
    let status = r.index("status", Status::from_index)?;
    let action_on_timeout = r.index("action_on_timeout", TimeoutAction::from_index)?;
    let total_time_ms = r.varint()?;
    let client_version = version.wrapping_sub(r.varint()?);
    let home_region = r.string("home_region")?.into();
    let count = r.count("participants")?;
    let mut participants = Vec::with_capacity(count);
    for _ in 0..count {
        participants.push(read_participant(&mut r)?);
    }
    let on = |b: u64| flags & b != 0;
    let active_participant_id = if on(ACTIVE_ID) {
        Some(r.string("active_participant_id")?.into())
    } else if on(ACTIVE) {
        let at = r.varint()?;
        let p = usize::try_from(at).ok().and_then(|i| participants.get(i));
        let p = p.ok_or(CompactError::Range {
            what: "active participant position",
            value: at,
        })?;
        Some(p.participant_id.clone())
    } else {
        None
    };
    let updated_at = r.instant(on(UPDATED), created_at)?.unwrap_or(created_at);
    let cycle_started_at = r.instant(on(CYCLE_STARTED), created_at)?;
    let session_started_at = r.instant(on(SESSION_STARTED), created_at)?;
    let session_completed_at = r.instant(on(SESSION_COMPLETED), created_at)?;
    let warned_through = r.instant(on(WARNED), created_at)?;
    let increment_ms = if on(INCREMENT) { r.varint()? } else { 0 };
    let time_per_cycle_ms = r.optional(on(PER_CYCLE))?;
    let max_time_ms = r.optional(on(MAX_TIME))?;
    let warning_thresholds_ms = if on(THRESHOLDS) {
        let n = r.count("warning_thresholds_ms")?;
        (0..n).map(|_| r.varint()).collect::<Result<_, _>>()?
    } else {
        Vec::new()
    };
    let epoch_since = if on(EPOCH_SINCE) { r.varint()? } else { 0 };
    let lag_compensation = if on(LAG) {
        Some(LagPolicy {
            max_per_move_ms: r.varint()?,
            budget_ms: r.varint()?,
        })
    } else {
        None
    };
    let start_at = r.instant(on(START_AT), created_at)?;
    let access = if on(ACCESS) {
        let n = r.varint()?;
        access(r.take(n, "access")?)?
    } else {
        Access::default()
    };
    r.finish()?;
    Ok(Session {
        session_id: Default::default(),
        sync_mode,
        status,
        version,
        participants,
        active_participant_id,
        total_time_ms,
        time_per_cycle_ms,
        cycle_started_at,
        session_started_at,
        session_completed_at,
        increment_ms,
        max_time_ms,
        created_at,
        updated_at,
        action_on_timeout,
        warning_thresholds_ms,
        home_region,
        epoch,
        zero_loss: on(ZERO_LOSS),
        epoch_since,
        warned_through,
        client_version,
        lag_compensation,
        start_at,
        access,
    })
}

fn access(bytes: &[u8]) -> Result<Access, CompactError> {
    let mut de = rmp_serde::Deserializer::new(bytes);
    let a = Access::deserialize(&mut de).map_err(CompactError::Access)?;
    match de.get_ref().len() {
        0 => Ok(a),
        n => Err(CompactError::Trailing(n)),
    }
}

fn check_bits(what: &'static str, flags: u64, known: u64) -> Result<(), CompactError> {
    match flags & !known {
        0 => Ok(()),
        bits => Err(CompactError::UnknownBits { what, bits }),
    }
}

fn read_participant(r: &mut Reader) -> Result<Participant, CompactError> {
    let flags = r.varint()?;
    check_bits("participant", flags, PARTICIPANT_BITS)?;
    let on = |b: u64| flags & b != 0;
    if on(P_GROUP_UUID) && !on(P_GROUP) {
        return Err(CompactError::UnknownBits {
            what: "participant (group uuid without group)",
            bits: P_GROUP_UUID,
        });
    }
    let participant_id = ParticipantId::from(r.id(on(P_UUID), "participant_id")?);
    let index = r.varint()?;
    let participant_index = u32::try_from(index).map_err(|_| CompactError::Range {
        what: "participant_index",
        value: index,
    })?;
    let total_time_ms = r.varint()?;
    let time_used_ms = r.optional(on(P_USED))?.unwrap_or(0);
    let cycle_count = r.optional(on(P_CYCLES))?.unwrap_or(0);
    let time_remaining_ms = r.optional(on(P_REMAINING))?.unwrap_or(total_time_ms);
    let budget_ms = r.optional(on(P_BUDGET))?.unwrap_or(total_time_ms);
    let group_id = if on(P_GROUP) {
        Some(r.id(on(P_GROUP_UUID), "group_id")?)
    } else {
        None
    };
    let lag_credited_ms = r.optional(on(P_LAG))?.unwrap_or(0);
    Ok(Participant {
        participant_id,
        participant_index,
        total_time_ms,
        time_used_ms,
        time_remaining_ms,
        cycle_count,
        is_active: on(P_ACTIVE),
        has_expired: on(P_EXPIRED),
        group_id,
        budget_ms,
        lag_credited_ms,
    })
}

#[cfg(test)]
mod tests;
