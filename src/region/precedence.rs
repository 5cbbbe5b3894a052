//! Which of two states of one session id a region keeps: the rule every region applies
//! the same way, so copies converge and never swap.
//!
//! - Same home: the newer state wins (a later incarnation, then a higher version).
//! - Different homes (the same id was created in two regions that could not see each
//!   other): the incarnation created first wins, ties broken by home region name. The
//!   other one is discarded everywhere, including in its own home; creates stay
//!   available during a partition at this (documented) price.
//! - A deletion removes a copy only when it comes from that copy's home.
//!
//! Pure: no IO.

use crate::domain::{RegionId, Session};

/// Whether `incoming` should replace `local` (absent = no local copy).
pub fn replaces(incoming: &Session, local: Option<&Session>) -> bool {
    let Some(local) = local else { return true };
    if incoming.home_region == local.home_region {
        return incoming.stamp() > local.stamp();
    }
    (incoming.created_at, incoming.home_region.as_str())
        < (local.created_at, local.home_region.as_str())
}

/// Whether a deletion committed by `home` removes `local`.
pub fn deletion_applies(home: &RegionId, local: &Session) -> bool {
    local.home_region == *home
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{create_session, NewParticipant, NewSession, SyncMode, TimeoutAction};

    fn s(home: &str, created_at: i64, version: u64) -> Session {
        let mut s = create_session(
            NewSession {
                session_id: "6f1c0000-0000-4000-8000-000000000001".into(),
                sync_mode: SyncMode::PerParticipant,
                participants: vec![NewParticipant {
                    participant_id: "223e4567-e89b-12d3-a456-426614174001".into(),
                    participant_index: 0,
                    total_time_ms: 60_000,
                    group_id: None,
                }],
                total_time_ms: 60_000,
                time_per_cycle_ms: None,
                increment_ms: 0,
                max_time_ms: None,
                action_on_timeout: TimeoutAction::Continue,
                warning_thresholds_ms: vec![],
                lag_compensation: None,
                start_at: None,
                pause_policy: Default::default(),
            },
            &home.into(),
            created_at,
        )
        .unwrap();
        s.version = version;
        s
    }

    #[test]
    fn same_home_newer_wins() {
        assert!(replaces(&s("iad", 10, 3), Some(&s("iad", 10, 2))));
        assert!(!replaces(&s("iad", 10, 2), Some(&s("iad", 10, 3))));
        assert!(!replaces(&s("iad", 10, 3), Some(&s("iad", 10, 3))));
        assert!(replaces(&s("iad", 20, 1), Some(&s("iad", 10, 9))));
        assert!(replaces(&s("iad", 10, 1), None));
    }

    #[test]
    fn different_homes_first_created_wins_in_both_directions() {
        let (a, b) = (s("iad", 10, 1), s("lhr", 12, 5));
        assert!(replaces(&a, Some(&b)));
        assert!(!replaces(&b, Some(&a)));
        let (c, d) = (s("iad", 10, 1), s("lhr", 10, 1));
        assert!(replaces(&c, Some(&d)) != replaces(&d, Some(&c)));
    }

    #[test]
    fn deletions_only_from_the_copys_home() {
        assert!(deletion_applies(&"iad".into(), &s("iad", 10, 1)));
        assert!(!deletion_applies(&"nrt".into(), &s("iad", 10, 1)));
    }
}
