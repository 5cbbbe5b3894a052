//! Precise sleeps for the delay line. tokio's timer wheel has a 1 ms resolution and
//! rounds deadlines up, which would add up to a millisecond per hop. Instead a timer
//! thread parks on a futex with a nanosecond deadline and wakes the waiting task
//! through a oneshot channel `EARLY` before the deadline (two thread wake-ups take
//! ~0.1-0.2 ms on a VM); the task yields until the exact instant. A chunk costs at
//! most `EARLY` of busy waiting, not a millisecond of spinning.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

/// How long before the deadline the timer thread wakes the task.
const EARLY: Duration = Duration::from_micros(250);

struct Due {
    at: Instant,
    seq: u64,
    done: oneshot::Sender<()>,
}

impl PartialEq for Due {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}

impl Eq for Due {}

impl PartialOrd for Due {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Due {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

#[derive(Clone)]
pub struct Timer {
    tx: mpsc::Sender<(Instant, oneshot::Sender<()>)>,
}

impl Timer {
    /// Starts the timer thread; it ends when every `Timer` handle is gone.
    pub fn start() -> Timer {
        let (tx, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("precise-timer".into())
            .spawn(move || run(rx))
            .expect("spawning the timer thread");
        Timer { tx }
    }

    /// Completes at `at` (or right away when `at` has passed).
    pub async fn sleep_until(&self, at: Instant) {
        let now = Instant::now();
        if now >= at {
            return;
        }
        if at - now > EARLY {
            let (done, wait) = oneshot::channel();
            if self.tx.send((at - EARLY, done)).is_ok() {
                let _ = wait.await;
            } else {
                // Timer thread gone (cannot happen while a handle exists).
                tokio::time::sleep_until(at.into()).await;
            }
        }
        while Instant::now() < at {
            tokio::task::yield_now().await;
        }
    }
}

fn run(rx: mpsc::Receiver<(Instant, oneshot::Sender<()>)>) {
    let mut heap: BinaryHeap<Reverse<Due>> = BinaryHeap::new();
    let mut seq = 0u64;
    loop {
        let now = Instant::now();
        while heap.peek().is_some_and(|Reverse(d)| d.at <= now) {
            if let Some(Reverse(d)) = heap.pop() {
                let _ = d.done.send(());
            }
        }
        let next = match heap.peek() {
            None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
            Some(Reverse(d)) => rx.recv_timeout(d.at.saturating_duration_since(now)),
        };
        match next {
            Ok((at, done)) => {
                seq += 1;
                heap.push(Reverse(Due { at, seq, done }));
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) if heap.is_empty() => return,
            // No more handles but sleepers remain: let them finish on time.
            Err(RecvTimeoutError::Disconnected) => {
                if let Some(Reverse(d)) = heap.peek() {
                    std::thread::sleep(d.at.saturating_duration_since(Instant::now()));
                }
            }
        }
    }
}
