//! A 2-participant session for unit tests (domain, store, region, relay): one place
//! that builds a valid session, so a new field of `NewSession` is added once.

use super::{create_session, Millis, NewParticipant, NewSession, Session, SyncMode, TimeoutAction};

/// The id the tests use when any will do.
pub const ID: &str = "6f1c0000-0000-4000-8000-000000000001";

/// An idle 2-participant session `id` homed in `home`, created at `created_at`
/// (version 1).
pub fn session(id: &str, home: &str, created_at: Millis) -> Session {
    let p = |i: u32| NewParticipant {
        participant_id: format!("223e4567-e89b-12d3-a456-42661417400{i}").into(),
        participant_index: i,
        total_time_ms: 300_000,
        group_id: None,
    };
    create_session(
        NewSession {
            session_id: id.into(),
            sync_mode: SyncMode::PerParticipant,
            participants: vec![p(1), p(2)],
            total_time_ms: 600_000,
            time_per_cycle_ms: None,
            increment_ms: 0,
            max_time_ms: None,
            action_on_timeout: TimeoutAction::Continue,
            warning_thresholds_ms: vec![],
            lag_compensation: None,
            start_at: None,
            pause_policy: Default::default(),
            zero_loss: None,
        },
        &home.into(),
        created_at,
    )
    .expect("a valid session")
}
