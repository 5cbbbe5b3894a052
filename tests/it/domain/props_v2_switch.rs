//! Property tests for the pure domain core (`synckairos::domain`), public API only:
//! property 6, per_participant/continue follows CONTRACT §1.6 exactly (compared step
//! by step with a reference model, `crate::support::domain::v2_model`).
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
use crate::support::domain::v2_model::*;
use crate::support::domain::*;
use proptest::prelude::*;
use synckairos::domain::*;

proptest! {
    #![proptest_config(config(768))]

    #[test]
    fn per_participant_continue_follows_v2_switch_rules(
        scn in arb_scenario_from(
            arb_request_with(Just(SyncMode::PerParticipant), Just(TimeoutAction::Continue)),
            true,
            false,
        )
    ) {
        let mut s = create(&scn.req, scn.t0);
        let budgets: Vec<u64> = scn.req.participants.iter().map(|p| p.total_time_ms).collect();
        let ids: Vec<ParticipantId> = (0..budgets.len()).map(pid).collect();
        let mut model = V2Model::new(&budgets, scn.req.increment_ms, scn.t0);
        let mut clock = scn.t0;
        for step in &scn.steps {
            clock += step.gap as Millis;
            let now = clock - step.back as Millis;
            match &step.action {
                Action::Tick | Action::TickDue => {
                    let now = match (&step.action, next_deadline(&s)) {
                        (Action::TickDue, Some(d)) => {
                            clock = clock.max(d);
                            d
                        }
                        _ => now,
                    };
                    let out = tick(&s, now);
                    model.tick(now, out.is_some());
                    if let Some(out) = out {
                        s = out.session;
                    }
                }
                Action::Op(op) => {
                    let want = model.apply(op, now, &ids);
                    match (perform(&s, op, now), want) {
                        (Ok(out), Ok(expired)) => {
                            prop_assert_eq!(out.expired_participant_id, expired.map(pid));
                            s = out.session;
                        }
                        (Err(e), Err(name)) => {
                            prop_assert_eq!(refusal_name(&e), name);
                            if let (DomainError::UnknownParticipant(id), Op::Switch { next: Some(n), .. }) = (&e, op) {
                                prop_assert_eq!(id, n);
                                prop_assert_eq!(e.to_string(), format!("Participant {n} not found in session"));
                            }
                        }
                        (got, want) => prop_assert!(false, "{:?} at {}: got {:?}, model {:?}", op, now, got, want),
                    }
                }
            }
            model.assert_matches(&s);
        }
    }
}
