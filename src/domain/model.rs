//! The session and participant values and their enumerations.
//!
//! Owns: field meanings (they follow CONTRACT.md §1.2/§1.3, plus the extensions
//! `action_on_timeout`, `warning_thresholds_ms`, `home_region`, `lag_compensation`,
//! `start_at`). Serde derives here were the *storage* encoding of formats 1 and 2
//! (MessagePack, still decoded); format 3 is written by hand in `store::compact`, so a
//! new field must be added there too. The JSON the API shows is built in `crate::view`.
//! Must not: contain behaviour beyond small lookups; transitions live in `transition`.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::actor::Access;
use super::ids::{ParticipantId, RegionId, SessionId};

/// Stores an enum as its position in `ORDER` (one byte in MessagePack instead of its
/// name; `index`/`from_index` give the same position to `store::compact`): the storage
/// encoding of sessions must stay small. Append new variants only.
macro_rules! serde_as_index {
    ($t:ty, [$($v:path),+ $(,)?]) => {
        impl $t {
            const ORDER: &'static [$t] = &[$($v),+];

            /// Its position in the storage order (what the stored encodings hold).
            pub fn index(self) -> u8 {
                <$t>::ORDER.iter().position(|v| *v == self).unwrap_or(0) as u8
            }

            /// The variant at `i` in the storage order, if there is one.
            pub fn from_index(i: u64) -> Option<$t> {
                usize::try_from(i).ok().and_then(|i| <$t>::ORDER.get(i).copied())
            }
        }
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_u8(self.index())
            }
        }
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let i = u8::deserialize(d)? as usize;
                <$t>::ORDER
                    .get(i)
                    .copied()
                    .ok_or_else(|| serde::de::Error::custom(format!("unknown variant index {i}")))
            }
        }
    };
}

serde_as_index!(
    SyncMode,
    [
        SyncMode::PerParticipant,
        SyncMode::PerCycle,
        SyncMode::PerGroup,
        SyncMode::Global,
        SyncMode::CountUp
    ]
);
serde_as_index!(
    Status,
    [
        Status::Pending,
        Status::Running,
        Status::Paused,
        Status::Expired,
        Status::Completed,
        Status::Cancelled
    ]
);
serde_as_index!(
    TimeoutAction,
    [
        TimeoutAction::Continue,
        TimeoutAction::Skip,
        TimeoutAction::End
    ]
);

/// Milliseconds since the Unix epoch (UTC). Every instant in the domain is one of these.
pub type Millis = i64;

/// How a session's clocks behave. See README "Sync modes".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SyncMode {
    /// Chess clock: each participant has a budget; Fischer `increment_ms` on switch.
    PerParticipant,
    /// Every turn gets a fresh `time_per_cycle_ms`; leftovers are not carried over.
    PerCycle,
    /// Participants sharing a `group_id` share one budget (team clocks).
    PerGroup,
    /// One clock (session `total_time_ms`) for the whole session.
    Global,
    /// A stopwatch per participant (`time_used_ms` counts up) capped by `max_time_ms`.
    CountUp,
}

impl SyncMode {
    pub const ALL: [SyncMode; 5] = [
        SyncMode::PerParticipant,
        SyncMode::PerCycle,
        SyncMode::PerGroup,
        SyncMode::Global,
        SyncMode::CountUp,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SyncMode::PerParticipant => "per_participant",
            SyncMode::PerCycle => "per_cycle",
            SyncMode::PerGroup => "per_group",
            SyncMode::Global => "global",
            SyncMode::CountUp => "count_up",
        }
    }

    pub fn parse(s: &str) -> Option<SyncMode> {
        SyncMode::ALL.into_iter().find(|m| m.as_str() == s)
    }

    /// Whether `increment_ms` is added to the outgoing participant's budget on a switch.
    pub fn uses_increment(self) -> bool {
        matches!(
            self,
            SyncMode::PerParticipant | SyncMode::PerGroup | SyncMode::Global
        )
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    Pending,
    Running,
    Paused,
    Expired,
    Completed,
    Cancelled,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Expired => "expired",
            Status::Completed => "completed",
            Status::Cancelled => "cancelled",
        }
    }

    /// Terminal statuses accept only `complete` (the contract allows it from any
    /// status) and deletion.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Status::Expired | Status::Completed | Status::Cancelled
        )
    }
}

/// What the server does when the active participant's time runs out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum TimeoutAction {
    /// v2 behaviour: flag `has_expired`, the session keeps running.
    #[default]
    Continue,
    /// Advance to the next participant who still has time; end when none has.
    Skip,
    /// The session's status becomes `expired`.
    End,
}

impl TimeoutAction {
    pub fn as_str(self) -> &'static str {
        match self {
            TimeoutAction::Continue => "continue",
            TimeoutAction::Skip => "skip",
            TimeoutAction::End => "end",
        }
    }

    pub fn parse(s: &str) -> Option<TimeoutAction> {
        [
            TimeoutAction::Continue,
            TimeoutAction::Skip,
            TimeoutAction::End,
        ]
        .into_iter()
        .find(|a| a.as_str() == s)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Participant {
    pub participant_id: ParticipantId,
    pub participant_index: u32,
    /// Remaining budget at the start of the current cycle (the contract's name).
    pub total_time_ms: u64,
    /// Time charged to this participant's budget (never more than the budget gave).
    pub time_used_ms: u64,
    /// Snapshot copy of `total_time_ms`, refreshed whenever it is recomputed.
    pub time_remaining_ms: u64,
    pub cycle_count: u64,
    pub is_active: bool,
    pub has_expired: bool,
    pub group_id: Option<String>,
    /// The budget this participant started with (per_cycle: every turn's allotment).
    /// Internal: not part of the API's JSON.
    #[serde(default)]
    pub budget_ms: u64,
    /// Lag compensation: transit time credited back to this participant's moves so far
    /// (at most the session's `LagPolicy::budget_ms`).
    #[serde(default)]
    pub lag_credited_ms: u64,
}

/// Opt-in lag compensation (as lichess does): the time a move spent in transit, as
/// the server measured it from the mover's connection, is credited back to the mover,
/// at most `max_per_move_ms` per move and `budget_ms` per participant per session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LagPolicy {
    pub max_per_move_ms: u64,
    pub budget_ms: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// Not in the stored value (the storage key carries it; decoding restores it).
    #[serde(skip)]
    pub session_id: SessionId,
    pub sync_mode: SyncMode,
    pub status: Status,
    pub version: u64,
    pub participants: Vec<Participant>,
    pub active_participant_id: Option<ParticipantId>,
    pub total_time_ms: u64,
    pub time_per_cycle_ms: Option<u64>,
    pub cycle_started_at: Option<Millis>,
    pub session_started_at: Option<Millis>,
    pub session_completed_at: Option<Millis>,
    pub increment_ms: u64,
    pub max_time_ms: Option<u64>,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub action_on_timeout: TimeoutAction,
    /// Ascending-sorted, distinct remaining-time thresholds that emit `TIME_WARNING`.
    pub warning_thresholds_ms: Vec<u64>,
    /// The region whose primary alone commits writes for this session.
    pub home_region: RegionId,
    /// Ownership epoch: 0 at creation, +1 each time the home moves (a planned re-home
    /// or a takeover). Orders owners: a region commits only at the highest epoch it
    /// knows. Not in the MessagePack of formats 1/2: the stored header carries it
    /// (`store::codec`), so positions in the stored array stay as they were.
    #[serde(skip)]
    pub epoch: u32,
    /// Zero-loss durability (issue 11): the home acknowledges a write only once its
    /// successor region holds it. Format 2 keeps it in the header, format 3 in the
    /// body's flags (`store::codec`).
    #[serde(skip)]
    pub zero_loss: bool,
    /// The first version of the current ownership epoch (0 at epoch 0): versions an
    /// old home committed from there on at an older epoch were superseded. In the
    /// format-2 header, in the format-3 body.
    #[serde(skip)]
    pub epoch_since: u64,
    /// Deadline events (warnings) of the current cycle have been emitted up to here.
    pub warned_through: Option<Millis>,
    /// `version` of the last client-initiated write; server deadline writes leave it.
    /// Lets a client write that lost a race only against deadline writes be re-applied.
    pub client_version: u64,
    /// Opt-in lag compensation (`None`: off).
    #[serde(default)]
    pub lag_compensation: Option<LagPolicy>,
    /// Synchronized start: the instant (home region's time) at which a pending session
    /// starts by itself.
    #[serde(default)]
    pub start_at: Option<Millis>,
    /// Who may act on it besides service tokens (tenant, pause policy); stored only
    /// when set (open-mode sessions keep their size). Must stay the last field: the
    /// stored encoding is positional, so only a trailing field can be left out.
    #[serde(default, skip_serializing_if = "Access::is_default")]
    pub access: Access,
}

/// Orders states of a session id: a newer incarnation (created later, after a delete
/// or an expiry) outranks every state of an older one; within an incarnation a higher
/// ownership epoch outranks every version of a lower one, then the version.
pub type Stamp = (Millis, u32, u64);

impl Session {
    pub fn stamp(&self) -> Stamp {
        (self.created_at, self.epoch, self.version)
    }

    /// Array position of the active participant, if any.
    pub fn active_index(&self) -> Option<usize> {
        let id = self.active_participant_id.as_deref()?;
        self.index_of(id)
    }

    pub fn index_of(&self, participant_id: &str) -> Option<usize> {
        self.participants
            .iter()
            .position(|p| p.participant_id == participant_id)
    }
}
