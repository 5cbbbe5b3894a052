//! From outbox records to rows: one `sync_events` row per domain event (plus
//! `session_deleted` for a deletion), the latest `sync_sessions` summary and
//! `sync_participants` rows per session in the batch. Pure: no IO.

use std::collections::HashMap;

use serde_json::{json, Value};

use super::outbox::RawEntry;
use crate::domain::{Event, Millis, Session, SessionId, Status};
use crate::store::decode_state;
use crate::store::envelope::EnvelopeBody;
use crate::view::SessionView;

#[derive(Clone, Debug, PartialEq)]
pub struct EventRow {
    pub event_id: String,
    pub session_id: String,
    pub event_type: &'static str,
    pub participant_id: Option<String>,
    pub group_id: Option<String>,
    pub time_remaining_ms: Option<i64>,
    pub time_elapsed_ms: Option<i64>,
    pub cycle_number: Option<i64>,
    pub version: i64,
    pub seq: i64,
    pub event_index: i32,
    pub home_region: String,
    pub handled_region: String,
    /// Who asked (`role:subject` of the request's token); `None` for the server's own
    /// deadline writes and the open mode.
    pub actor: Option<String>,
    pub occurred_at: Millis,
    /// JSON text of the state after the change (`SyncState`), absent for deletions.
    pub state_snapshot: Option<String>,
    /// JSON text with event details not in a column.
    pub metadata: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SessionRow {
    pub session: Session,
    pub total_cycles: i64,
}

#[derive(Default, Debug)]
pub struct Batch {
    pub events: Vec<EventRow>,
    /// The newest state per session in this batch.
    pub sessions: Vec<SessionRow>,
    /// Deleted sessions and when.
    pub deleted: Vec<(String, Millis)>,
    /// Outbox ids this batch covers (to acknowledge after commit).
    pub ids: Vec<String>,
}

impl Batch {
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

fn i(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

struct Facts<'a> {
    participant: Option<&'a str>,
    elapsed: Option<u64>,
    at: Option<Millis>,
    meta: Value,
}

fn f(
    participant: Option<&str>,
    elapsed: Option<u64>,
    at: Option<Millis>,
    meta: Value,
) -> Facts<'_> {
    Facts {
        participant,
        elapsed,
        at,
        meta,
    }
}

fn facts(e: &Event) -> Facts<'_> {
    match e {
        Event::Created | Event::Completed => f(None, None, None, json!({})),
        Event::Started { participant_id } => f(Some(participant_id), None, None, json!({})),
        Event::Switched {
            from,
            to,
            elapsed_ms,
        } => f(from.as_deref(), Some(*elapsed_ms), None, json!({"to": to})),
        Event::Paused {
            participant_id,
            elapsed_ms,
        } => f(
            participant_id.as_deref(),
            Some(*elapsed_ms),
            None,
            json!({}),
        ),
        Event::Resumed { participant_id } => f(participant_id.as_deref(), None, None, json!({})),
        Event::ParticipantExpired {
            participant_id,
            at,
            action,
        } => f(
            Some(participant_id),
            None,
            Some(*at),
            json!({"action": action.as_str()}),
        ),
        Event::SessionExpired { at } => f(None, None, Some(*at), json!({})),
        Event::TimeWarning {
            participant_id,
            threshold_ms,
            at,
        } => f(
            Some(participant_id),
            None,
            Some(*at),
            json!({"threshold_ms": threshold_ms}),
        ),
        Event::LagCredited {
            participant_id,
            credit_ms,
            lag_ms,
        } => f(
            Some(participant_id),
            None,
            None,
            json!({"credit_ms": credit_ms, "lag_ms": lag_ms}),
        ),
        Event::Rehomed { from, to, epoch } | Event::TakenOver { from, to, epoch } => f(
            None,
            None,
            None,
            json!({"from": from, "to": to, "epoch": epoch}),
        ),
        Event::WritesSuperseded {
            from_version,
            to_version,
            by,
            epoch,
        } => f(
            None,
            None,
            None,
            json!({"from_version": from_version, "to_version": to_version, "by": by, "epoch": epoch}),
        ),
    }
}

fn total_cycles(s: &Session) -> i64 {
    i(s.participants.iter().map(|p| p.cycle_count).sum())
}

fn event_rows(entry: &RawEntry, body: &EnvelopeBody, s: &Session) -> Vec<EventRow> {
    let snapshot = serde_json::to_string(&SessionView::from(s)).ok();
    body.events
        .iter()
        .enumerate()
        .map(|(idx, e)| {
            let f = facts(e);
            let p = f
                .participant
                .and_then(|id| s.index_of(id))
                .map(|k| &s.participants[k]);
            let cycle_number = match e {
                Event::Switched { .. } => p.map(|p| i(p.cycle_count)),
                _ => Some(total_cycles(s)),
            };
            EventRow {
                event_id: format!("{}:{}:{idx}", body.home, entry.seq),
                session_id: body.session_id.to_string(),
                event_type: e.kind(),
                participant_id: f.participant.map(str::to_owned),
                group_id: p.and_then(|p| p.group_id.clone()),
                time_remaining_ms: match e {
                    // The live remaining time at the crossing is the threshold itself.
                    Event::TimeWarning { threshold_ms, .. } => Some(i(*threshold_ms)),
                    _ => p.map(|p| i(p.time_remaining_ms)),
                },
                time_elapsed_ms: f.elapsed.map(i),
                cycle_number,
                version: i(s.version),
                seq: i(entry.seq),
                event_index: idx as i32,
                home_region: body.home.to_string(),
                handled_region: entry.origin.clone(),
                actor: entry.actor.clone(),
                occurred_at: f.at.unwrap_or(entry.at),
                state_snapshot: snapshot.clone(),
                metadata: f.meta.to_string(),
            }
        })
        .collect()
}

fn deletion_row(entry: &RawEntry, body: &EnvelopeBody) -> EventRow {
    EventRow {
        event_id: format!("{}:{}:0", body.home, entry.seq),
        session_id: body.session_id.to_string(),
        event_type: "session_deleted",
        participant_id: None,
        group_id: None,
        time_remaining_ms: None,
        time_elapsed_ms: None,
        cycle_number: None,
        version: 0,
        seq: i(entry.seq),
        event_index: 0,
        home_region: body.home.to_string(),
        handled_region: entry.origin.clone(),
        actor: entry.actor.clone(),
        occurred_at: entry.at,
        state_snapshot: None,
        metadata: "{}".into(),
    }
}

/// Builds the rows of a batch; entries that cannot be decoded are returned apart.
pub fn build(entries: &[RawEntry]) -> (Batch, Vec<RawEntry>) {
    let mut batch = Batch::default();
    let mut bad = Vec::new();
    let mut latest: HashMap<SessionId, Session> = HashMap::new();
    for entry in entries {
        // Undecodable entries go to the dead-letter stream (the writer logs them).
        let decoded = EnvelopeBody::decode(&entry.body).ok().and_then(|body| {
            if body.deleted {
                return Some((body, None));
            }
            let s = decode_state(&body.session_id, &body.state).ok()?;
            Some((body, Some(s)))
        });
        let (body, state) = match decoded {
            Some(d) if entry.seq > 0 => d,
            _ => {
                bad.push(entry.clone());
                continue;
            }
        };
        batch.ids.push(entry.id.clone());
        match state {
            None => {
                batch.events.push(deletion_row(entry, &body));
                // The summary keeps the last state; the deletion marks it afterwards.
                batch.deleted.push((body.session_id.to_string(), entry.at));
            }
            Some(s) => {
                batch.events.extend(event_rows(entry, &body, &s));
                let keep = latest
                    .get(&s.session_id)
                    .is_none_or(|l| l.stamp() < s.stamp());
                if keep {
                    latest.insert(s.session_id.clone(), s);
                }
            }
        }
    }
    batch.sessions = latest
        .into_values()
        .map(|s| SessionRow {
            total_cycles: total_cycles(&s),
            session: s,
        })
        .collect();
    (batch, bad)
}

/// The status stored as `final_status` once a session can no longer change.
pub fn final_status(s: &Session) -> Option<&'static str> {
    matches!(
        s.status,
        Status::Completed | Status::Expired | Status::Cancelled
    )
    .then(|| s.status.as_str())
}
