//! Transitions: `perform(session, op, now)` for client operations and `tick(session, now)`
//! for the server's deadlines. Each returns the next session value (version + 1) and
//! the events it produced; the caller commits it with a compare-and-set on `version`.
//!
//! Preconditions and mutations follow CONTRACT.md §1.5/§1.6, with the fixes this
//! project makes: `complete` charges the running cycle, used time never exceeds the
//! budget, and time never runs backwards within a session (`now` is floored at
//! `updated_at`, so clock skew between instances cannot produce negative elapsed time).
//! Extensions: a scheduled start (`start_at`) and lag compensation (`perform_with`: a
//! switch is charged up to the instant the move was made, within the session's quota).

use serde::{Deserialize, Serialize};

use super::budget::{activate, add_increment, charge, deactivate_all};
use super::error::DomainError;
use super::event::Event;
use super::ids::ParticipantId;
use super::lag::{self, Transit};
use super::model::{Millis, Session, Status, TimeoutAction};
use super::settle::{begin, next_with_time, settle, Due};

/// A client operation (also carried by the typed call a region sends to the home).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    Start,
    Switch {
        /// Hand the turn to this participant instead of the next in array order.
        next: Option<ParticipantId>,
        /// If given, the switch only applies while this participant is the active one.
        current: Option<ParticipantId>,
    },
    Pause,
    Resume,
    Complete,
}

impl Op {
    pub fn name(&self) -> &'static str {
        match self {
            Op::Start => "start",
            Op::Switch { .. } => "switch",
            Op::Pause => "pause",
            Op::Resume => "resume",
            Op::Complete => "complete",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub session: Session,
    pub events: Vec<Event>,
    /// Switch only: the outgoing participant whose budget is at zero (as v2 reported).
    pub expired_participant_id: Option<ParticipantId>,
}

/// Performs a client operation at `now`.
pub fn perform(s: &Session, op: &Op, now: Millis) -> Result<Outcome, DomainError> {
    perform_with(s, op, now, Transit::default())
}

/// Performs a client operation that reached the home at `now` after `transit`: with
/// lag compensation, a switch is charged up to the instant the move was made (within
/// the quota), and the credit is recorded on the mover (`Event::LagCredited`).
pub fn perform_with(
    s: &Session,
    op: &Op,
    now: Millis,
    transit: Transit,
) -> Result<Outcome, DomainError> {
    let now = now.max(s.updated_at);
    let mut n = s.clone();
    let mut events = Vec::new();
    let moved = match op {
        Op::Switch { .. } => move_instant(s, transit, now),
        _ => None,
    };
    let expired_participant_id = match op {
        Op::Start => {
            settle(&mut n, now, Due::AtDeadline, &mut events);
            start(&mut n, now, &mut events)?
        }
        Op::Switch { next, current } => {
            let moved = settle_to_move(&mut n, moved, now, &mut events);
            switch(
                &mut n,
                next.as_ref(),
                current.as_ref(),
                moved,
                now,
                &mut events,
            )?
        }
        Op::Pause => {
            settle(&mut n, now, Due::AtDeadline, &mut events);
            pause(&mut n, now, &mut events)?
        }
        Op::Resume => {
            settle(&mut n, now, Due::AtDeadline, &mut events);
            resume(&mut n, now, &mut events)?
        }
        Op::Complete => {
            settle(&mut n, now, Due::AtDeadline, &mut events);
            complete(&mut n, now, &mut events)
        }
    };
    n.version = s.version + 1;
    n.client_version = n.version;
    n.updated_at = now;
    Ok(Outcome {
        session: n,
        events,
        expired_participant_id,
    })
}

/// Applies the deadline events due by `now` (an expiry only after its lag-compensation
/// grace); `None` when nothing was due.
pub fn tick(s: &Session, now: Millis) -> Option<Outcome> {
    let now = now.max(s.updated_at);
    let mut n = s.clone();
    let mut events = Vec::new();
    settle(&mut n, now, Due::AfterGrace, &mut events);
    if events.is_empty() {
        return None;
    }
    n.version = s.version + 1;
    n.updated_at = now;
    Some(Outcome {
        session: n,
        events,
        expired_participant_id: None,
    })
}

/// A move being credited: who moved, the turn it ends, the instant it counts at, and
/// what was measured.
#[derive(Clone, Copy, Debug)]
struct Move {
    mover: usize,
    turn_started: Millis,
    at: Millis,
    lag: u64,
}

/// The instant a switch counts at, for a running turn under lag compensation.
fn move_instant(s: &Session, transit: Transit, now: Millis) -> Option<Move> {
    s.lag_compensation?;
    transit.moved_at?;
    if s.status != Status::Running {
        return None;
    }
    let (mover, started) = (s.active_index()?, s.cycle_started_at?);
    let (credit, lag) = lag::credit(s, mover, started, transit, now);
    // Never before a write already committed (time never runs backwards).
    let at = (now - credit as Millis).max(s.updated_at);
    Some(Move {
        mover,
        turn_started: started,
        at,
        lag,
    })
}

/// Settles up to the move's instant; the move keeps its credit only if the turn it
/// ends is still the running one there (else everything is settled to `now`).
fn settle_to_move(
    n: &mut Session,
    moved: Option<Move>,
    now: Millis,
    events: &mut Vec<Event>,
) -> Option<Move> {
    let Some(m) = moved else {
        settle(n, now, Due::AtDeadline, events);
        return None;
    };
    settle(n, m.at, Due::AtDeadline, events);
    let same_turn = n.status == Status::Running
        && n.active_index() == Some(m.mover)
        && n.cycle_started_at == Some(m.turn_started);
    if same_turn {
        Some(m)
    } else {
        settle(n, now, Due::AtDeadline, events);
        None
    }
}

type Step = Result<Option<ParticipantId>, DomainError>;

fn elapsed_since_cycle_start(s: &Session, now: Millis) -> u64 {
    s.cycle_started_at.map_or(0, |t| (now - t).max(0) as u64)
}

/// An explicit start; before a scheduled `start_at` it starts at once (and the
/// schedule is dropped).
fn start(s: &mut Session, now: Millis, events: &mut Vec<Event>) -> Step {
    if s.status != Status::Pending || s.participants.is_empty() {
        return Err(DomainError::CannotStart {
            session_id: s.session_id.clone(),
            status: s.status,
        });
    }
    s.start_at = None;
    begin(s, now, events);
    Ok(None)
}

/// A switch at `now`; with `moved`, the outgoing turn is charged only up to the move's
/// instant (the rest of the transit is credited).
fn switch(
    s: &mut Session,
    next: Option<&ParticipantId>,
    current: Option<&ParticipantId>,
    moved: Option<Move>,
    now: Millis,
    events: &mut Vec<Event>,
) -> Step {
    if s.status != Status::Running {
        return Err(DomainError::NotRunning {
            session_id: s.session_id.clone(),
            status: s.status,
        });
    }
    if let Some(expected) = current {
        if s.active_participant_id.as_ref() != Some(expected) {
            return Err(DomainError::NotActive {
                expected: expected.clone(),
                actual: s.active_participant_id.clone(),
            });
        }
    }
    let cur = s.active_index();
    let mut elapsed_ms = 0;
    let mut expired = None;
    if let (Some(c), Some(_)) = (cur, s.cycle_started_at) {
        let until = moved.map_or(now, |m| m.at);
        elapsed_ms = charge(s, c, elapsed_since_cycle_start(s, until));
        if let Some(m) = moved {
            let credit_ms = (now - m.at).max(0) as u64;
            s.participants[c].lag_credited_ms += credit_ms;
            events.push(Event::LagCredited {
                participant_id: s.participants[c].participant_id.clone(),
                credit_ms,
                lag_ms: m.lag,
            });
        }
        let p = &mut s.participants[c];
        p.cycle_count += 1;
        p.is_active = false;
        if p.total_time_ms == 0 {
            p.has_expired = true;
            expired = Some(p.participant_id.clone());
        }
        add_increment(s, c);
    }
    let next_idx = match next {
        Some(id) => s
            .index_of(id)
            .ok_or_else(|| DomainError::UnknownParticipant(id.clone()))?,
        None => auto_next(s, cur),
    };
    activate(s, next_idx, now);
    events.push(Event::Switched {
        from: cur.map(|c| s.participants[c].participant_id.clone()),
        to: s.participants[next_idx].participant_id.clone(),
        elapsed_ms,
    });
    // With `skip`, a turn handed to a participant without time passes on at once.
    settle(s, now, Due::AtDeadline, events);
    Ok(expired)
}

/// Round robin in array order; with `skip`, participants without time are passed over.
fn auto_next(s: &Session, cur: Option<usize>) -> usize {
    let Some(c) = cur else { return 0 };
    let plain = (c + 1) % s.participants.len();
    match s.action_on_timeout {
        TimeoutAction::Skip => next_with_time(s, c).unwrap_or(plain),
        _ => plain,
    }
}

fn pause(s: &mut Session, now: Millis, events: &mut Vec<Event>) -> Step {
    if s.status != Status::Running {
        return Err(DomainError::CannotPause {
            session_id: s.session_id.clone(),
            status: s.status,
        });
    }
    let elapsed = elapsed_since_cycle_start(s, now);
    let elapsed_ms = s.active_index().map_or(0, |c| charge(s, c, elapsed));
    s.status = Status::Paused;
    s.cycle_started_at = None;
    s.warned_through = None;
    events.push(Event::Paused {
        participant_id: s.active_participant_id.clone(),
        elapsed_ms,
    });
    Ok(None)
}

fn resume(s: &mut Session, now: Millis, events: &mut Vec<Event>) -> Step {
    if s.status != Status::Paused {
        return Err(DomainError::CannotResume {
            session_id: s.session_id.clone(),
            status: s.status,
        });
    }
    s.status = Status::Running;
    s.cycle_started_at = Some(now);
    s.warned_through = None;
    events.push(Event::Resumed {
        participant_id: s.active_participant_id.clone(),
    });
    Ok(None)
}

/// Allowed from any status (v2 behaviour kept); charges a running cycle (v2 did not).
fn complete(s: &mut Session, now: Millis, events: &mut Vec<Event>) -> Option<ParticipantId> {
    if s.status == Status::Running {
        let elapsed_ms = elapsed_since_cycle_start(s, now);
        if let Some(c) = s.active_index() {
            charge(s, c, elapsed_ms);
        }
    }
    s.status = Status::Completed;
    s.session_completed_at = Some(now);
    deactivate_all(s);
    events.push(Event::Completed);
    None
}
