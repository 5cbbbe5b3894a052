//! Property tests for the pure domain core (`synckairos::domain`), public API only:
//! property 5, settling does not depend on the tick schedule (a session ticked at
//! random instants, or at its deadlines, ends where a tickless one does, with the
//! same events; two ticks equal one).
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

/// Runs the ops of `scn` twice: once with no ticks at all, once with the scenario's
/// ticks interleaved. After every op both must agree (results, errors, and the events
/// of an op in the tickless run == the tick events since the last op ++ the op's).
fn compare_schedules(scn: &Scenario) {
    let mut a = create(&scn.req, scn.t0);
    let mut b = a.clone();
    let mut clock = scn.t0;
    let mut b_pending: Vec<Event> = Vec::new();
    for step in &scn.steps {
        clock += step.gap as Millis;
        match &step.action {
            Action::Tick | Action::TickDue => {
                let at = match (&step.action, next_deadline(&b)) {
                    (Action::TickDue, Some(d)) => d.min(clock),
                    _ => clock,
                };
                if let Some(out) = tick(&b, at) {
                    b_pending.extend(out.events);
                    b = out.session;
                }
            }
            Action::Op(op) => {
                let ra = perform(&a, op, clock);
                let rb = perform(&b, op, clock);
                match (ra, rb) {
                    (Ok(oa), Ok(ob)) => {
                        assert_eq!(
                            normalized(&oa.session),
                            normalized(&ob.session),
                            "{op:?} at {clock}"
                        );
                        assert_eq!(oa.session.updated_at, ob.session.updated_at);
                        assert_eq!(oa.expired_participant_id, ob.expired_participant_id);
                        b_pending.extend(ob.events);
                        assert_eq!(oa.events, b_pending, "events of {op:?} at {clock}");
                        b_pending.clear();
                        a = oa.session;
                        b = ob.session;
                    }
                    (Err(ea), Err(eb)) => assert_eq!(ea, eb),
                    (ra, rb) => panic!("{op:?} at {clock}: {ra:?} vs {rb:?}"),
                }
            }
        }
    }
    // Finally settle both far in the future (a tickless tick = one big settle).
    let end = clock + 3_000_000;
    if let Some(out) = tick(&b, end) {
        b_pending.extend(out.events);
        b = out.session;
    }
    match tick(&a, end) {
        Some(out) => {
            assert_eq!(out.events, b_pending);
            assert_eq!(normalized(&out.session), normalized(&b));
        }
        None => {
            assert!(b_pending.is_empty());
            let (mut a, mut b) = (normalized(&a), normalized(&b));
            // Only warned_through may differ when `a` never settled past the warnings.
            a.warned_through = None;
            b.warned_through = None;
            assert_eq!(a, b);
        }
    }
}

proptest! {
    #![proptest_config(config(768))]

    #[test]
    fn outcome_does_not_depend_on_tick_schedule(
        scn in arb_scenario_from(arb_request(), false, true)
    ) {
        compare_schedules(&scn);
    }

    /// tick(tick(s, t1), t2) == tick(s, t2) for a running session, whatever t1 <= t2.
    #[test]
    fn two_ticks_equal_one(
        scn in arb_scenario_from(arb_request(), false, false),
        t1 in 0u64..=2_000_000,
        extra in 0u64..=2_000_000,
        at_deadline in any::<bool>(),
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
        let t1 = match next_deadline(&s) {
            Some(d) if at_deadline => d, // the scheduler fires exactly at the deadline
            _ => clock + t1 as Millis,
        };
        let t2 = t1 + extra as Millis;
        let direct = tick(&s, t2);
        let first = tick(&s, t1);
        let via = first.as_ref().map_or(&s, |o| &o.session);
        let second = tick(via, t2);
        let mut split_events: Vec<Event> = first.iter().flat_map(|o| o.events.clone()).collect();
        split_events.extend(second.iter().flat_map(|o| o.events.clone()));
        let direct_events = direct.as_ref().map_or(vec![], |o| o.events.clone());
        prop_assert_eq!(&direct_events, &split_events);
        let final_split = second.map_or_else(|| via.clone(), |o| o.session);
        let final_direct = direct.map_or_else(|| s.clone(), |o| o.session);
        let (a, b) = (normalized(&final_direct), normalized(&final_split));
        prop_assert_eq!(a, b);
    }
}
