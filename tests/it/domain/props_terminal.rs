//! Property tests for the pure domain core (`synckairos::domain`), public API only:
//! property 4, terminal states accept only `Complete`, with v2's messages.
//!
//! Random sessions over all 5 sync modes and all 3 timeout actions (1–6 participants,
//! budgets 1000..=600000, increments 0..=5000, optional groups and warning thresholds)
//! are driven through random sequences of `apply` / `tick` calls with random time gaps
//! (some longer than any budget, some going backwards to exercise the `updated_at`
//! floor).
//!
//! Generators, expected values, the invariant checker and the v2 model are in
//! `support/domain/`. The other property families are in `domain/props_*.rs`;
//! unit tests are in `domain/{create,lifecycle,switch,timeouts,modes,deadlines,
//! iso_lifetime}.rs` and known-bug reproducers in `domain/defects.rs`.

use crate::support::domain::expected::*;
use crate::support::domain::generators::*;
use proptest::prelude::*;
use synckairos::domain::*;

proptest! {
    #![proptest_config(config(384))]

    #[test]
    fn terminal_states_accept_only_complete(
        scn in arb_scenario_from(arb_request(), false, false),
        force_expiry in any::<bool>(),
        later in prop::collection::vec((0u64..=10_000_000, arb_op(6, true)), 1..12),
    ) {
        let mut s = create(&scn.req, scn.t0);
        let mut clock = scn.t0;
        for step in &scn.steps {
            clock += step.gap as Millis;
            if let Action::Op(op) = &step.action {
                if let Ok(out) = perform(&s, op, clock) {
                    s = out.session;
                }
            }
        }
        // Drive to a terminal status: run the clock out (end / skip) or complete.
        let can_expire = match s.action_on_timeout {
            TimeoutAction::End => true,
            TimeoutAction::Skip => s.sync_mode != SyncMode::PerCycle,
            TimeoutAction::Continue => false,
        };
        // (`next_deadline` is None when `skip` left a participant without time holding
        // the turn: see skip_must_not_leave_a_participant_without_time_active.)
        if force_expiry && can_expire && next_deadline(&s).is_some() {
            let budget_sum: u64 = s.participants.iter().map(|p| p.total_time_ms).sum();
            clock += budget_sum as Millis + 1;
            s = tick(&s, clock).expect("the clock ran out").session;
            prop_assert_eq!(s.status, Status::Expired);
        } else if !s.status.is_terminal() {
            clock += 1;
            s = perform(&s, &Op::Complete, clock).unwrap().session;
        }
        prop_assert!(s.status.is_terminal());
        for (gap, op) in later {
            clock += gap as Millis;
            let status = s.status;
            prop_assert_eq!(next_deadline(&s), None);
            prop_assert!(tick(&s, clock).is_none());
            let sid = s.session_id.clone();
            match (perform(&s, &op, clock), &op) {
                (Ok(out), Op::Complete) => {
                    prop_assert_eq!(out.session.status, Status::Completed);
                    prop_assert_eq!(out.session.session_completed_at, Some(clock.max(s.updated_at)));
                    prop_assert_eq!(out.session.version, s.version + 1);
                    prop_assert_eq!(&out.session.participants, &s.participants);
                    s = out.session;
                }
                (Ok(_), op) => prop_assert!(false, "{:?} accepted in {:?}", op, status),
                (Err(e), Op::Start) => {
                    prop_assert_eq!(&e, &DomainError::CannotStart { session_id: sid.clone(), status });
                    prop_assert_eq!(e.to_string(), format!("Session {sid} cannot be started (current status: {})", status.as_str()));
                }
                (Err(e), Op::Switch { .. }) => {
                    prop_assert_eq!(&e, &DomainError::NotRunning { session_id: sid.clone(), status });
                    prop_assert_eq!(e.to_string(), format!("Session {sid} not running (current status: {})", status.as_str()));
                }
                (Err(e), Op::Pause) => {
                    prop_assert_eq!(&e, &DomainError::CannotPause { session_id: sid.clone(), status });
                    prop_assert_eq!(e.to_string(), format!("Session {sid} cannot be paused (current status: {})", status.as_str()));
                }
                (Err(e), Op::Resume) => {
                    prop_assert_eq!(&e, &DomainError::CannotResume { session_id: sid.clone(), status });
                    prop_assert_eq!(e.to_string(), format!("Session {sid} cannot be resumed (current status: {})", status.as_str()));
                }
                (Err(e), Op::Complete) => prop_assert!(false, "complete refused: {}", e),
            }
        }
    }
}
