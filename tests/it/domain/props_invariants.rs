//! Property tests for the pure domain core (`synckairos::domain`), public API only:
//! the invariants that hold after every step of a random session.
//!
//! Random sessions over all 5 sync modes and all 3 timeout actions (1–6 participants,
//! budgets 1000..=600000, increments 0..=5000, optional groups and warning thresholds)
//! are driven through random sequences of `apply` / `tick` calls with random time gaps
//! (some longer than any budget, some going backwards to exercise the `updated_at`
//! floor). Checked after every step (by `crate::support::domain::checker`):
//! 1. remaining time is never negative and `remaining_at` equals what a v2 client
//!    computes; nothing panics (tests run with overflow checks);
//! 2. budget accounting (used + remaining == initial + increments, per budget;
//!    per_cycle: per turn, used in turn + remaining == allotment);
//! 3. versions (+1 per successful apply/tick, `client_version` only moved by apply),
//!    and every refusal is exactly the expected `DomainError`;
//! 5. (the per-step part) deadlines: `next_deadline`/`tick` agree.
//!
//! Generators, expected values, the invariant checker and the v2 model are in
//! `support/domain/`. The other property families are in `domain/props_*.rs`;
//! unit tests are in `domain/{create,lifecycle,switch,timeouts,modes,deadlines,
//! iso_lifetime}.rs` and known-bug reproducers in `domain/defects.rs`.

use crate::support::domain::checker::Checker;
use crate::support::domain::expected::*;
use crate::support::domain::generators::*;
use proptest::prelude::*;
use synckairos::domain::*;

/// Runs a scenario through the checker. A session that has been terminal for three
/// steps (long enough to check the refusals) is replaced by a fresh one, started at
/// the current instant, so that later steps keep exercising running sessions.
fn run_checked(scn: &Scenario) {
    let mut s = create(&scn.req, scn.t0);
    let mut checker = Checker::new(&scn.req, &s);
    let mut clock = scn.t0;
    let mut terminal_steps = 0;
    for step in &scn.steps {
        clock += step.gap as Millis;
        let now = match (&step.action, next_deadline(&s)) {
            (Action::TickDue, Some(d)) => {
                clock = clock.max(d);
                d
            }
            _ => clock - step.back as Millis,
        };
        s = checker.step(&s, &step.action, now);
        terminal_steps = if s.status.is_terminal() {
            terminal_steps + 1
        } else {
            0
        };
        if terminal_steps == 3 {
            s = create(&scn.req, clock);
            checker = Checker::new(&scn.req, &s);
            s = checker.step(&s, &Action::Op(Op::Start), clock);
        }
    }
    // Finally let every deadline run out and check once more.
    // (4e6 ms exceeds 6 x 600000 + increments, yet stays under the MAX_STEPS limit.)
    let far = clock + 4_000_000;
    s = checker.step(&s, &Action::Tick, far);
    checker.step(&s, &Action::Op(Op::Complete), far + 1);
}

proptest! {
    #![proptest_config(config(768))]

    /// Properties 1–3 (and the per-step parts of 5) over all modes and actions.
    #[test]
    fn invariants_hold_for_random_sessions(scn in arb_scenario()) {
        run_checked(&scn);
    }
}
