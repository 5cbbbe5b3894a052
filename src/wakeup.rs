//! Waking the deadline scheduler early: writers (a local commit, a fan-out message
//! about another instance's commit) hint at a deadline they just indexed; when it is
//! earlier than the one the scheduler sleeps towards, the scheduler wakes.
//!
//! Owns: the target instant and the notification. Must not: know who sleeps or who
//! writes (a leaf: the service, the fan-out and the scheduler all use it).

use std::sync::atomic::{AtomicI64, Ordering};

use tokio::sync::Notify;

use crate::domain::Millis;

pub struct Wakeup {
    target: AtomicI64,
    notify: Notify,
}

impl Default for Wakeup {
    fn default() -> Self {
        Wakeup {
            target: AtomicI64::new(Millis::MAX),
            notify: Notify::new(),
        }
    }
}

impl Wakeup {
    /// A deadline was indexed at `deadline`: wake the sleeper if it is earlier.
    pub fn hint(&self, deadline: Option<Millis>) {
        if let Some(d) = deadline {
            if d < self.target.load(Ordering::Acquire) {
                self.target.store(d, Ordering::Release);
                self.notify.notify_one();
            }
        }
    }

    /// The sleeper announces the instant it will wake at by itself.
    pub fn sleeping_until(&self, t: Millis) {
        self.target.store(t, Ordering::Release);
    }

    /// Resolves at the next hint earlier than the announced instant.
    pub async fn hinted(&self) {
        self.notify.notified().await
    }
}
