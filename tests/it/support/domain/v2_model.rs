//! Property 6's reference model: CONTRACT §1.6 in per_participant / continue.

use synckairos::domain::*;

#[derive(Clone, Debug)]
struct ModelParticipant {
    total: u64,
    used: u64,
    cycles: u64,
    expired: bool,
    active: bool,
}

/// v2's engine as CONTRACT §1.5/§1.6 writes it, with this project's decisions: used
/// time is capped at the budget, and the expiry is recorded at its instant.
#[derive(Clone, Debug)]
pub struct V2Model {
    status: Status,
    parts: Vec<ModelParticipant>,
    active: Option<usize>,
    cycle_started_at: Option<Millis>,
    completed_at: Option<Millis>,
    increment: u64,
    updated_at: Millis,
}

impl V2Model {
    pub fn new(budgets: &[u64], increment: u64, now: Millis) -> V2Model {
        V2Model {
            status: Status::Pending,
            parts: budgets
                .iter()
                .map(|&b| ModelParticipant {
                    total: b,
                    used: 0,
                    cycles: 0,
                    expired: false,
                    active: false,
                })
                .collect(),
            active: None,
            cycle_started_at: None,
            completed_at: None,
            increment,
            updated_at: now,
        }
    }

    /// Records an expiry that fell due (action `continue`: flag, stay active at 0).
    fn settle(&mut self, now: Millis) -> bool {
        if self.status != Status::Running {
            return false;
        }
        let (a, cs) = (self.active.unwrap(), self.cycle_started_at.unwrap());
        let p = &mut self.parts[a];
        if p.total > 0 && now >= cs + p.total as Millis {
            self.cycle_started_at = Some(cs + p.total as Millis);
            p.used += p.total;
            p.total = 0;
            p.expired = true;
            return true;
        }
        false
    }

    fn charge(&mut self, now: Millis) {
        let (a, cs) = (self.active.unwrap(), self.cycle_started_at.unwrap());
        let p = &mut self.parts[a];
        let charged = ((now - cs) as u64).min(p.total);
        p.used += charged;
        p.total -= charged;
    }

    /// Ok(expired participant index) or Err(name of the refusal).
    pub fn apply(
        &mut self,
        op: &Op,
        now: Millis,
        ids: &[ParticipantId],
    ) -> Result<Option<usize>, &'static str> {
        let now = now.max(self.updated_at);
        let saved = self.clone();
        self.settle(now);
        let r = match op {
            Op::Start if self.status != Status::Pending => Err("CannotStart"),
            Op::Start => {
                self.status = Status::Running;
                self.active = Some(0);
                self.parts[0].active = true;
                self.cycle_started_at = Some(now);
                Ok(None)
            }
            Op::Switch { .. } if self.status != Status::Running => Err("NotRunning"),
            Op::Switch { next, .. } => {
                let cur = self.active.unwrap();
                let target = match next {
                    Some(id) => ids.iter().position(|x| *x == *id),
                    None => Some((cur + 1) % self.parts.len()),
                };
                match target {
                    None => Err("UnknownParticipant"),
                    Some(n) => {
                        self.charge(now);
                        let p = &mut self.parts[cur];
                        p.cycles += 1;
                        p.active = false;
                        let mut expired = None;
                        if p.total == 0 {
                            p.expired = true;
                            expired = Some(cur);
                        }
                        if self.increment > 0 && !p.expired {
                            p.total += self.increment;
                        }
                        self.activate(n, now);
                        Ok(expired)
                    }
                }
            }
            Op::Pause if self.status != Status::Running => Err("CannotPause"),
            Op::Pause => {
                self.charge(now);
                self.status = Status::Paused;
                self.cycle_started_at = None;
                Ok(None)
            }
            Op::Resume if self.status != Status::Paused => Err("CannotResume"),
            Op::Resume => {
                self.status = Status::Running;
                self.cycle_started_at = Some(now);
                Ok(None)
            }
            Op::Complete => {
                if self.status == Status::Running {
                    self.charge(now);
                }
                self.status = Status::Completed;
                self.completed_at = Some(now);
                self.cycle_started_at = None;
                self.active = None;
                self.parts.iter_mut().for_each(|p| p.active = false);
                Ok(None)
            }
        };
        match r {
            Ok(_) => self.updated_at = now,
            Err(_) => *self = saved,
        }
        r
    }

    fn activate(&mut self, n: usize, now: Millis) {
        self.active = Some(n);
        self.parts[n].active = true;
        self.cycle_started_at = Some(now);
    }

    /// A server tick; `fired` is whether the domain's tick did something (a warning
    /// alone also counts as a write, which moves the `updated_at` floor).
    pub fn tick(&mut self, now: Millis, fired: bool) {
        let now = now.max(self.updated_at);
        let expired = self.settle(now);
        assert!(
            fired || !expired,
            "model expired at {now} but the domain did not tick"
        );
        if fired {
            self.updated_at = now;
        }
    }

    pub fn assert_matches(&self, s: &Session) {
        assert_eq!(s.status, self.status);
        assert_eq!(s.active_index(), self.active);
        assert_eq!(s.cycle_started_at, self.cycle_started_at);
        assert_eq!(s.session_completed_at, self.completed_at);
        for (i, (p, m)) in s.participants.iter().zip(&self.parts).enumerate() {
            let got = (
                p.total_time_ms,
                p.time_remaining_ms,
                p.time_used_ms,
                p.cycle_count,
                p.has_expired,
                p.is_active,
            );
            let want = (m.total, m.total, m.used, m.cycles, m.expired, m.active);
            assert_eq!(
                got, want,
                "participant {i}: (total, remaining, used, cycles, expired, active)"
            );
        }
    }
}

pub fn refusal_name(e: &DomainError) -> &'static str {
    match e {
        DomainError::Invalid(_) => "Invalid",
        DomainError::CannotStart { .. } => "CannotStart",
        DomainError::NotRunning { .. } => "NotRunning",
        DomainError::CannotPause { .. } => "CannotPause",
        DomainError::CannotResume { .. } => "CannotResume",
        DomainError::UnknownParticipant(_) => "UnknownParticipant",
        DomainError::NotActive { .. } => "NotActive",
        DomainError::Forbidden(_) => "Forbidden",
    }
}
