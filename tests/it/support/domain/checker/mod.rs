//! The invariant checker (properties 1, 2, 3 and parts of 4/5), run after every step
//! by `domain/props_invariants.rs`: this file checks the call (apply / tick refusals,
//! versions, events); `session.rs` the session's structure, property 1 and the `skip`
//! rules; `budgets.rs` property 2 (budget accounting).

use synckairos::domain::*;

use super::expected::*;
use super::generators::Action;
use super::pid;

mod budgets;
mod session;

pub struct Checker {
    created: Session,
    keys: Vec<usize>,
    initial: Vec<u64>,
    increments: Vec<u64>,
    /// per_cycle: (active index, its time_used_ms when the current turn began).
    turn_start: Option<(usize, u64)>,
    allotment: u64,
    /// skip mode: a participant without time that an explicit switch made active.
    explicit_zero_active: Option<usize>,
}

impl Checker {
    pub fn new(req: &NewSession, created: &Session) -> Checker {
        let keys = budget_keys(req);
        let mut initial = vec![0; keys.iter().max().map_or(0, |k| k + 1)];
        for (i, p) in req.participants.iter().enumerate() {
            initial[keys[i]] = expected_initial(req, p);
            assert_eq!(created.participants[i].total_time_ms, initial[keys[i]]);
        }
        Checker {
            created: created.clone(),
            increments: vec![0; initial.len()],
            keys,
            initial,
            turn_start: None,
            allotment: req.time_per_cycle_ms.unwrap_or(0),
            explicit_zero_active: None,
        }
    }

    fn members(&self, key: usize) -> impl Iterator<Item = usize> + '_ {
        (0..self.keys.len()).filter(move |&i| self.keys[i] == key)
    }

    /// One step: checks the call and its result, and returns the session to continue with.
    pub fn step(&mut self, prev: &Session, action: &Action, now: Millis) -> Session {
        let now_eff = now.max(prev.updated_at);
        let before = prev.clone();
        match action {
            Action::Op(op) => {
                let settled = tick(prev, now).map_or_else(|| prev.clone(), |o| o.session);
                let result = perform(prev, op, now);
                assert_eq!(prev, &before, "apply must not change its input");
                match (result, expected_refusal(&settled, op)) {
                    (Err(e), Some(want)) => {
                        assert_eq!(e, want);
                        assert_eq!(e.to_string(), expected_message(&want));
                        prev.clone()
                    }
                    (Err(e), None) => panic!("{op:?} at {now} refused unexpectedly: {e}"),
                    (Ok(_), Some(want)) => panic!("{op:?} at {now} accepted, expected {want}"),
                    (Ok(out), None) => {
                        assert_eq!(out.session.version, prev.version + 1);
                        assert_eq!(out.session.client_version, out.session.version);
                        self.check_apply_events(prev, op, &out, now_eff);
                        self.check_outcome(prev, &out, now_eff, Some(op));
                        out.session
                    }
                }
            }
            Action::Tick | Action::TickDue => {
                let due = next_deadline(prev);
                let result = tick(prev, now);
                assert_eq!(prev, &before, "tick must not change its input");
                match (due, result) {
                    (None, Some(out)) => panic!("tick fired without a deadline: {:?}", out.events),
                    (Some(d), Some(_)) if d > now_eff => {
                        panic!("tick at {now_eff} fired before deadline {d}")
                    }
                    (Some(d), None) if d <= now_eff => {
                        panic!("tick at {now_eff} ignored deadline {d}")
                    }
                    (_, None) => prev.clone(),
                    (Some(_), Some(out)) => {
                        assert_eq!(out.session.version, prev.version + 1);
                        assert_eq!(out.session.client_version, prev.client_version);
                        assert!(out.expired_participant_id.is_none());
                        assert!(!out.events.is_empty());
                        assert!(out.events.iter().all(|e| deadline_event_at(e).is_some()));
                        self.check_outcome(prev, &out, now_eff, None);
                        self.check_skip(prev, &out);
                        out.session
                    }
                }
            }
        }
    }

    fn check_apply_events(&self, prev: &Session, op: &Op, out: &Outcome, now: Millis) {
        // Deadline events settle the session before the op's own event; after it only
        // when a switch handed the turn to a participant without time under `skip`.
        let pos = out
            .events
            .iter()
            .rposition(|e| deadline_event_at(e).is_none())
            .expect("an applied op emits an event");
        let last = &out.events[pos];
        assert!(out.events[..pos]
            .iter()
            .all(|e| deadline_event_at(e).is_some()));
        let after = &out.events[pos + 1..];
        assert!(
            after.is_empty()
                || (matches!(op, Op::Switch { .. })
                    && prev.action_on_timeout == TimeoutAction::Skip),
            "{op:?} followed by deadline events {after:?}"
        );
        match (op, last) {
            (Op::Start, Event::Started { participant_id }) => {
                assert_eq!(participant_id, &pid(0));
                assert_eq!(out.session.session_started_at, Some(now));
            }
            (Op::Switch { next, .. }, Event::Switched { from, to, .. }) => {
                assert!(
                    from.is_some(),
                    "a running session always has an active participant"
                );
                let s = &out.session;
                match next {
                    Some(n) => assert_eq!(to, n),
                    None => {
                        // Round robin by array position; skip passes over participants
                        // without time (per_cycle: everyone has a fresh turn ahead).
                        let c = s.index_of(from.as_deref().unwrap()).unwrap();
                        let n = s.participants.len();
                        let plain = (c + 1) % n;
                        let want = match s.action_on_timeout {
                            TimeoutAction::Skip => (1..=n)
                                .map(|k| (c + k) % n)
                                .find(|&j| {
                                    s.sync_mode == SyncMode::PerCycle
                                        || s.participants[j].total_time_ms > 0
                                })
                                .unwrap_or(plain),
                            _ => plain,
                        };
                        assert_eq!(
                            to, &s.participants[want].participant_id,
                            "auto switch from {c}"
                        );
                    }
                }
                if after.is_empty() {
                    assert_eq!(out.session.active_participant_id.as_ref(), Some(to));
                    assert_eq!(out.session.cycle_started_at, Some(now));
                }
                if let Some(x) = &out.expired_participant_id {
                    assert_eq!(Some(x), from.as_ref());
                    let i = out.session.index_of(x).unwrap();
                    let p = &out.session.participants[i];
                    assert!(
                        p.total_time_ms == 0 || x == to,
                        "reported expired with time left"
                    );
                }
            }
            (Op::Pause, Event::Paused { participant_id, .. }) => {
                assert_eq!(participant_id, &out.session.active_participant_id);
            }
            (Op::Resume, Event::Resumed { participant_id }) => {
                assert_eq!(participant_id, &prev.active_participant_id);
                assert_eq!(out.session.cycle_started_at, Some(now));
            }
            (Op::Complete, Event::Completed) => {
                assert_eq!(out.session.status, Status::Completed);
                assert_eq!(out.session.session_completed_at, Some(now));
            }
            (op, e) => panic!("{op:?} ended with event {e:?}"),
        }
        if !matches!(op, Op::Switch { .. }) {
            assert!(out.expired_participant_id.is_none());
        }
    }

    fn check_outcome(&mut self, prev: &Session, out: &Outcome, now: Millis, op: Option<&Op>) {
        let s = &out.session;
        // Deadline events lie in (prev.updated_at, now], in order.
        let ats: Vec<Millis> = out.events.iter().filter_map(deadline_event_at).collect();
        assert!(
            ats.windows(2).all(|w| w[0] <= w[1]),
            "events out of order: {ats:?}"
        );
        assert!(
            // A switch to a participant without time under `skip` expires it at `now`,
            // which may be the previous write's instant.
            ats.iter().all(|&a| a >= prev.updated_at && a <= now),
            "{ats:?} vs ({}, {now}]",
            prev.updated_at
        );
        for e in &out.events {
            match e {
                Event::ParticipantExpired { action, .. } => {
                    assert_eq!(*action, s.action_on_timeout)
                }
                Event::SessionExpired { at } => {
                    assert_ne!(s.action_on_timeout, TimeoutAction::Continue);
                    if s.status == Status::Expired {
                        assert_eq!(s.session_completed_at, Some(*at));
                    } else {
                        // Only a `complete` applied after the settle can follow.
                        assert_eq!(out.events.last(), Some(&Event::Completed));
                    }
                }
                _ => {}
            }
        }
        self.check_session(s, now);
        self.check_skip_holder(s, op);
        self.update_ledger(out);
        self.check_accounting(s);
        self.check_per_cycle_turn(out, now);
    }
}
