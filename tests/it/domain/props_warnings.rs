//! Property tests for the pure domain core (`synckairos::domain`), public API only:
//! property 5, warnings fire exactly once per threshold crossing per cycle.
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
use crate::support::domain::*;
use proptest::prelude::*;
use synckairos::domain::*;

proptest! {
    #![proptest_config(config(512))]

    /// First turn of participant 0, optionally paused once: the TimeWarning events are
    /// exactly the thresholds below the starting budget, each once, at the instant the
    /// remaining time reaches it, whatever the tick schedule.
    #[test]
    fn warnings_fire_once_at_their_crossing(
        req in arb_request(),
        t0 in 0i64..=4_000_000_000_000,
        pause in prop::option::of((0.0f64..1.0, 0u64..=100_000)),
        tick_offsets in prop::collection::vec(0.0f64..1.3, 0..30),
    ) {
        let s = create(&req, t0);
        let budget = s.participants[0].total_time_ms;
        let s = perform(&s, &Op::Start, t0).unwrap().session;
        let pause = pause.map(|(f, len)| (t0 + (f * budget as f64) as Millis, len as Millis));
        // Instants at which something is called: ticks, plus the pause and resume.
        let span = budget as f64;
        let mut calls: Vec<(Millis, Option<Op>)> = tick_offsets
            .iter()
            .map(|f| (t0 + (f * span) as Millis, None))
            .collect();
        if let Some((p, len)) = pause {
            calls.push((p, Some(Op::Pause)));
            calls.push((p + len, Some(Op::Resume)));
        }
        calls.sort_by_key(|&(t, ref op)| (t, op.is_some()));
        let end = t0 + budget as Millis + pause.map_or(0, |(_, l)| l);
        calls.push((end, None));

        let mut cur = s;
        let mut warnings: Vec<(ParticipantId, u64, Millis)> = Vec::new();
        let mut first_turn_over = false;
        for (t, op) in calls {
            let (next, events) = match &op {
                None => match tick(&cur, t) {
                    Some(o) => (o.session, o.events),
                    None => continue,
                },
                Some(op) => {
                    let o = perform(&cur, op, t).unwrap();
                    (o.session, o.events)
                }
            };
            for e in events {
                match e {
                    Event::TimeWarning { participant_id, threshold_ms, at } if !first_turn_over => {
                        warnings.push((participant_id, threshold_ms, at))
                    }
                    Event::ParticipantExpired { .. } => first_turn_over = true,
                    _ => {}
                }
            }
            cur = next;
        }
        // Expected: every distinct threshold t < budget, in descending order.
        let mut th = req.warning_thresholds_ms.clone();
        th.sort_unstable();
        th.dedup();
        let expected: Vec<(ParticipantId, u64, Millis)> = th
            .iter()
            .rev()
            .filter(|&&t| t < budget)
            .map(|&t| {
                let run = (budget - t) as Millis; // running time needed to reach t
                let at = match pause {
                    Some((p, len)) if t0 + run > p => t0 + run + len,
                    _ => t0 + run,
                };
                (pid(0), t, at)
            })
            .collect();
        prop_assert_eq!(warnings, expected);
    }
}
