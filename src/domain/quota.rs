//! Quotas as pure rules: how large a session may be (participants × warning thresholds:
//! every one of them is a server write per turn), and how long a session may go on by
//! itself (deadline writes since the last client operation: a `skip` loop that nobody
//! plays ends instead of running forever). Counting live sessions and creates per client
//! is IO and lives behind `crate::quota`.
//!
//! Owns: these limits' arithmetic and the refusal they produce. Must not: do IO or read
//! the clock (`now` is an argument).

use std::fmt;

use super::budget::{charge, deactivate_all};
use super::create::NewSession;
use super::event::Event;
use super::model::{Millis, Session, Status};
use super::transition::{tick, Outcome};

/// A quota a request would exceed (the error names it; 429 or 413 by kind).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuotaExceeded {
    /// The limit's name (its configuration key under `quotas.`).
    pub limit: &'static str,
    /// What the limit allows.
    pub max: u64,
    /// What the request would have reached.
    pub requested: u64,
    /// Seconds until a retry can succeed, for limits that free up with time.
    pub retry_after: Option<u64>,
}

impl QuotaExceeded {
    /// Whether the request itself is too large (413), rather than too many (429).
    pub fn is_size(&self) -> bool {
        self.retry_after.is_none()
    }
}

impl fmt::Display for QuotaExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Quota exceeded: {} (at most {}, this request needs {})",
            self.limit, self.max, self.requested
        )
    }
}

/// The session-size limit's name.
pub const PARTICIPANTS_X_THRESHOLDS: &str = "max_participants_x_thresholds";

/// Participants × warning thresholds of a create request within `max` (0: no limit).
pub fn check_size(req: &NewSession, max: u64) -> Result<(), QuotaExceeded> {
    let weight =
        (req.participants.len() as u64).saturating_mul(req.warning_thresholds_ms.len() as u64);
    if max == 0 || weight <= max {
        return Ok(());
    }
    Err(QuotaExceeded {
        limit: PARTICIPANTS_X_THRESHOLDS,
        max,
        requested: weight,
        retry_after: None,
    })
}

/// Whether one more live session fits: `live` counted, at most `max` (0: no limit).
pub fn admits(live: u64, max: u64) -> bool {
    max == 0 || live < max
}

/// Server (deadline) writes since the last client operation.
pub fn unattended_writes(s: &Session) -> u64 {
    s.version.saturating_sub(s.client_version)
}

/// `tick`, and then, when the session has gone `max_unattended` deadline writes without
/// any client operation (0: no limit), it ends there: the running cycle is charged,
/// nobody is active and the status is `expired` (event `SessionExpired` at `now`).
pub fn tick_bounded(s: &Session, now: Millis, max_unattended: u64) -> Option<Outcome> {
    let mut out = tick(s, now)?;
    if max_unattended == 0
        || unattended_writes(&out.session) < max_unattended
        || out.session.status.is_terminal()
    {
        return Some(out);
    }
    let n = &mut out.session;
    let at = n.updated_at;
    if n.status == Status::Running {
        if let (Some(idx), Some(started)) = (n.active_index(), n.cycle_started_at) {
            charge(n, idx, (at - started).max(0) as u64);
        }
    }
    n.status = Status::Expired;
    n.session_completed_at = Some(at);
    deactivate_all(n);
    out.events.push(Event::SessionExpired { at });
    Some(out)
}
