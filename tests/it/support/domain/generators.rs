//! Generators for the property tests.
//!
//! Random sessions over all 5 sync modes and all 3 timeout actions (1–6 participants,
//! budgets 1000..=600000, increments 0..=5000, optional groups and warning thresholds)
//! are driven through random sequences of `apply` / `tick` calls with random time gaps
//! (some longer than any budget, some going backwards to exercise the `updated_at`
//! floor).

use std::collections::HashMap;

use proptest::prelude::*;
use synckairos::domain::*;

use super::{pid, SID, UNKNOWN};

pub fn gid(g: u8) -> String {
    format!("a23e4567-e89b-12d3-a456-4266141750{g:02}")
}

#[derive(Clone, Debug)]
pub enum Action {
    Op(Op),
    /// A tick at the step's instant.
    Tick,
    /// A tick exactly at the session's next deadline, as the scheduler fires it.
    TickDue,
}

#[derive(Clone, Debug)]
pub struct Step {
    /// How far the clock moves forward before this step.
    pub gap: u64,
    /// The caller's `now` lags the clock by this much (clock skew between instances).
    pub back: u64,
    pub action: Action,
}

#[derive(Clone, Debug)]
pub struct Scenario {
    pub req: NewSession,
    pub t0: Millis,
    pub steps: Vec<Step>,
}

pub fn arb_mode() -> impl Strategy<Value = SyncMode> {
    prop::sample::select(SyncMode::ALL.to_vec())
}

pub fn arb_timeout() -> impl Strategy<Value = TimeoutAction> {
    prop::sample::select(vec![
        TimeoutAction::Continue,
        TimeoutAction::Skip,
        TimeoutAction::End,
    ])
}

pub fn arb_budget() -> impl Strategy<Value = u64> {
    prop_oneof![1 => 1_000u64..=5_000, 3 => 1_000u64..=600_000]
}

pub fn arb_gap() -> impl Strategy<Value = u64> {
    // Mostly short gaps (many ops inside one turn), some longer than any budget.
    // Capped at 1.5e6 ms: see the MAX_STEPS reproducer in domain_defects.rs.
    prop_oneof![
        3 => Just(0u64),
        10 => 0u64..=2_500,
        5 => 0u64..=60_000,
        1 => 0u64..=700_000,
        1 => 600_000u64..=1_500_000,
    ]
}

pub fn arb_thresholds() -> impl Strategy<Value = Vec<u64>> {
    prop_oneof![
        1 => Just(vec![]),
        3 => prop::collection::vec(prop_oneof![0u64..=5_000, 0u64..=600_000], 1..=5),
    ]
}

#[allow(clippy::too_many_arguments)]
pub fn build_request(
    mode: SyncMode,
    action: TimeoutAction,
    parts: Vec<(u64, Option<u8>, u32)>,
    total: u64,
    tpc: Option<u64>,
    inc: u64,
    max: Option<u64>,
    thresholds: Vec<u64>,
) -> NewSession {
    let mut group_budget: HashMap<u8, u64> = HashMap::new();
    let participants = parts
        .iter()
        .enumerate()
        .map(|(i, &(budget, group, index))| {
            let budget = match (mode, group) {
                // Members of one group must start with the same budget.
                (SyncMode::PerGroup, Some(g)) => *group_budget.entry(g).or_insert(budget),
                _ => budget,
            };
            NewParticipant {
                participant_id: pid(i),
                participant_index: index,
                total_time_ms: budget,
                group_id: group.map(gid),
            }
        })
        .collect();
    NewSession {
        session_id: SID.into(),
        sync_mode: mode,
        participants,
        total_time_ms: total,
        time_per_cycle_ms: if mode == SyncMode::PerCycle {
            Some(tpc.unwrap_or(total))
        } else {
            tpc
        },
        increment_ms: inc,
        max_time_ms: max,
        action_on_timeout: action,
        warning_thresholds_ms: thresholds,
        lag_compensation: None,
        start_at: None,
        pause_policy: Default::default(),
        zero_loss: None,
    }
}

pub fn arb_request_with(
    modes: impl Strategy<Value = SyncMode>,
    actions: impl Strategy<Value = TimeoutAction>,
) -> impl Strategy<Value = NewSession> {
    (modes, actions, 1usize..=6)
        .prop_flat_map(|(mode, action, n)| {
            (
                (Just(mode), Just(action)),
                prop::collection::vec(
                    (arb_budget(), prop::option::weighted(0.6, 0u8..3), 0u32..10),
                    n,
                ),
                (arb_budget(), prop::option::of(arb_budget())),
                prop_oneof![1 => Just(0u64), 3 => 0u64..=5_000],
                prop::option::of(arb_budget()),
                arb_thresholds(),
            )
        })
        .prop_map(|((mode, action), parts, (total, tpc), inc, max, th)| {
            build_request(mode, action, parts, total, tpc, inc, max, th)
        })
}

pub fn arb_request() -> impl Strategy<Value = NewSession> {
    arb_request_with(arb_mode(), arb_timeout())
}

pub fn arb_switch(n: usize, with_current: bool) -> impl Strategy<Value = Op> {
    let next = prop_oneof![
        6 => Just(None),
        3 => (0..n).prop_map(|i| Some(pid(i))),
        1 => Just(Some(UNKNOWN.into())),
    ];
    let current = if with_current {
        prop_oneof![8 => Just(None), 2 => (0..n).prop_map(|i| Some(pid(i)))].boxed()
    } else {
        Just(None).boxed()
    };
    (next, current).prop_map(|(next, current)| Op::Switch { next, current })
}

pub fn arb_op(n: usize, with_current: bool) -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => Just(Op::Start),
        40 => arb_switch(n, with_current),
        4 => Just(Op::Pause),
        5 => Just(Op::Resume),
        1 => Just(Op::Complete),
    ]
}

pub fn arb_step(n: usize, skew: bool, with_current: bool) -> impl Strategy<Value = Step> {
    let back = if skew {
        prop_oneof![9 => Just(0u64), 1 => 0u64..=5_000].boxed()
    } else {
        Just(0u64).boxed()
    };
    let action = prop_oneof![
        3 => arb_op(n, with_current).prop_map(Action::Op),
        1 => Just(Action::Tick),
        1 => Just(Action::TickDue),
    ];
    (arb_gap(), back, action).prop_map(|(gap, back, action)| Step { gap, back, action })
}

pub fn arb_scenario_from(
    req: impl Strategy<Value = NewSession>,
    skew: bool,
    with_current: bool,
) -> impl Strategy<Value = Scenario> {
    req.prop_flat_map(move |req| {
        let n = req.participants.len();
        (
            Just(req),
            -1_000_000_000_000i64..=4_000_000_000_000,
            prop::bool::weighted(0.9),
            prop::collection::vec(arb_step(n, skew, with_current), 0..50),
        )
    })
    .prop_map(|(req, t0, start_first, mut steps)| {
        if start_first {
            let start = Step {
                gap: 0,
                back: 0,
                action: Action::Op(Op::Start),
            };
            steps.insert(0, start);
        }
        Scenario { req, t0, steps }
    })
}

pub fn arb_scenario() -> impl Strategy<Value = Scenario> {
    arb_scenario_from(arb_request(), true, true)
}

pub fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        // Integration tests have no lib.rs next to them; shrunk cases are printed.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}
