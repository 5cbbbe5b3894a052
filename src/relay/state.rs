//! What the follower of one home and the checks of that home share in this instance:
//! whether this instance follows it (holds the lease), the single-flight guard and
//! minimum interval of checks and catch-ups, the wake-up of the checker, and why reads
//! of the home's sessions must be marked stale although its link delivers frames.
//!
//! Must not: do IO (the follower reports `stale_reason` with its health stamps).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::{Mutex as AsyncMutex, MutexGuard as AsyncGuard, Notify};
use tokio::time::Instant;

use crate::domain::RegionId;

#[derive(Default)]
struct Flags {
    /// An entry was skipped at this instant and no check since has repaired it.
    diverged_since: Option<Instant>,
    stalled: bool,
    catching_up: bool,
    /// When the last check or catch-up started.
    last_check: Option<Instant>,
}

pub struct HomeState {
    pub home: RegionId,
    leading: AtomicBool,
    /// A check found copies that newer-wins repairs cannot fix: catch up.
    catch_up: AtomicBool,
    guard: AsyncMutex<()>,
    wake: Notify,
    flags: Mutex<Flags>,
}

impl HomeState {
    pub fn new(home: &RegionId) -> HomeState {
        HomeState {
            home: home.clone(),
            leading: AtomicBool::new(false),
            catch_up: AtomicBool::new(false),
            guard: AsyncMutex::new(()),
            wake: Notify::new(),
            flags: Mutex::new(Flags::default()),
        }
    }

    fn flags(&self) -> std::sync::MutexGuard<'_, Flags> {
        self.flags.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn leading(&self) -> bool {
        self.leading.load(Ordering::Relaxed)
    }

    pub fn set_leading(&self, leading: bool) {
        self.leading.store(leading, Ordering::Relaxed);
    }

    /// Asks the follower to stop applying the log and catch up from a snapshot.
    pub fn request_catch_up(&self) {
        self.catch_up.store(true, Ordering::Relaxed);
    }

    /// Whether a catch-up was asked for (and forgets the request).
    pub fn take_catch_up(&self) -> bool {
        self.catch_up.swap(false, Ordering::Relaxed)
    }

    /// Waits until a check may start (one at a time, `min_interval` apart) and holds
    /// the guard until the returned value is dropped; returns when it started.
    pub async fn begin_check(&self, min_interval: Duration) -> (AsyncGuard<'_, ()>, Instant) {
        loop {
            let last = self.flags().last_check;
            if let Some(at) = last
                .map(|t| t + min_interval)
                .filter(|at| *at > Instant::now())
            {
                tokio::time::sleep_until(at).await;
            }
            let g = self.guard.lock().await;
            let mut f = self.flags();
            // Another check may have started while this one waited for the guard.
            if f.last_check.is_some_and(|t| t.elapsed() < min_interval) {
                continue;
            }
            let now = Instant::now();
            f.last_check = Some(now);
            return (g, now);
        }
    }

    /// A check or catch-up that started at `started` compared everything and repaired
    /// what differed: entries skipped before it are repaired.
    pub fn check_succeeded(&self, started: Instant) {
        let mut f = self.flags();
        if f.diverged_since.is_some_and(|t| t <= started) {
            f.diverged_since = None;
        }
    }

    /// An entry was skipped: reads are stale until a check repairs it (started soon).
    pub fn skipped(&self) {
        self.flags().diverged_since.get_or_insert_with(Instant::now);
        self.wake.notify_one();
    }

    pub fn is_diverged(&self) -> bool {
        self.flags().diverged_since.is_some()
    }

    /// Wakes the checker before its next tick.
    pub async fn woken(&self) {
        self.wake.notified().await;
    }

    pub fn set_stalled(&self, stalled: bool) {
        self.flags().stalled = stalled;
    }

    pub fn set_catching_up(&self, on: bool) {
        self.flags().catching_up = on;
    }

    /// A catch-up is waiting for its turn or running (set until one succeeds): the
    /// periodic check gives way to it (a catch-up compares everything anyway).
    pub fn is_catching_up(&self) -> bool {
        self.flags().catching_up
    }

    /// Why reads of the home's sessions are stale although its link is up, if they are.
    pub fn stale_reason(&self) -> Option<&'static str> {
        let f = self.flags();
        if f.catching_up {
            Some("catching-up")
        } else if f.stalled {
            Some("stalled")
        } else if f.diverged_since.is_some() {
            Some("diverged")
        } else {
            None
        }
    }
}
