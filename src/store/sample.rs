//! A 2-participant session for the store's unit tests (codec, envelope, cache).

use crate::domain::{
    create_session, Millis, NewParticipant, NewSession, Session, SyncMode, TimeoutAction,
};

/// An idle 2-participant session `id` created at `created_at` (version 1).
pub fn session(id: &str, created_at: Millis) -> Session {
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
        &"iad".into(),
        created_at,
    )
    .expect("a valid session")
}
