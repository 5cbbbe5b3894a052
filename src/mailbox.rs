//! A WebSocket connection's outgoing queue. Bounded, and kind to slow readers: a newer
//! state snapshot replaces an unsent older one (clients only need the latest state),
//! stale or duplicate snapshots are dropped, and a queue that overflows closes the
//! connection with a reconnect code instead of growing or slowing anyone else.
//!
//! Owns: ordering and coalescing of one connection's outgoing messages. Must not:
//! block the producer (delivery to many connections must stay O(1) each).

use std::collections::VecDeque;
use std::sync::Mutex;

use bytes::Bytes;
use tokio::sync::Notify;

use crate::domain::Stamp;
use crate::protocol::close;

#[derive(Debug, Clone, PartialEq)]
pub enum Queued {
    /// A full-state message; coalesced.
    State { stamp: Stamp, frame: Bytes },
    /// Any other message; never coalesced.
    Message(Bytes),
    /// Close with this code and reason after sending what precedes it.
    Close(u16, &'static str),
}

struct Inner {
    queue: VecDeque<Queued>,
    last_state: Stamp,
    closing: bool,
}

pub struct Mailbox {
    inner: Mutex<Inner>,
    notify: Notify,
    capacity: usize,
}

impl Mailbox {
    pub fn new(capacity: usize) -> Self {
        Mailbox {
            inner: Mutex::new(Inner {
                queue: VecDeque::new(),
                last_state: (i64::MIN, 0, 0),
                closing: false,
            }),
            notify: Notify::new(),
            capacity,
        }
    }

    fn with<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> R {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let r = f(&mut g);
        drop(g);
        self.notify.notify_one();
        r
    }

    /// Queues a state snapshot; snapshots not newer than one already queued or sent
    /// (by incarnation, then version) are dropped. Returns false if the connection is
    /// closing or just overflowed.
    pub fn push_state(&self, stamp: Stamp, frame: Bytes) -> bool {
        let cap = self.capacity;
        self.with(|m| {
            if m.closing {
                return false;
            }
            if stamp <= m.last_state {
                return true;
            }
            m.last_state = stamp;
            m.queue.retain(|o| !matches!(o, Queued::State { .. }));
            m.queue.push_back(Queued::State { stamp, frame });
            overflow_check(m, cap)
        })
    }

    /// Queues a requested snapshot (`STATE_SYNC`): always sent, never coalesced, and it
    /// counts as sent state, so an older `STATE_UPDATE` cannot follow it.
    pub fn push_sync(&self, stamp: Stamp, frame: Bytes) -> bool {
        let cap = self.capacity;
        self.with(|m| {
            if m.closing {
                return false;
            }
            m.last_state = m.last_state.max(stamp);
            m.queue
                .retain(|o| !matches!(o, Queued::State { stamp: v, .. } if *v <= stamp));
            m.queue.push_back(Queued::Message(frame));
            overflow_check(m, cap)
        })
    }

    /// Queues a message. Returns false if closing or it overflowed the queue.
    pub fn push(&self, frame: Bytes) -> bool {
        let cap = self.capacity;
        self.with(|m| {
            if m.closing {
                return false;
            }
            m.queue.push_back(Queued::Message(frame));
            overflow_check(m, cap)
        })
    }

    /// Queues a close after everything already queued; later pushes are ignored.
    pub fn close(&self, code: u16, reason: &'static str) {
        self.with(|m| {
            if !m.closing {
                m.closing = true;
                m.queue.push_back(Queued::Close(code, reason));
            }
        })
    }

    /// The newest state stamp queued or sent so far.
    pub fn last_state(&self) -> Stamp {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .last_state
    }

    /// Takes everything queued, waiting until there is something.
    pub async fn next_batch(&self, into: &mut Vec<Queued>) {
        loop {
            let notified = self.notify.notified();
            {
                let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
                if !g.queue.is_empty() {
                    into.extend(g.queue.drain(..));
                    return;
                }
            }
            notified.await;
        }
    }
}

fn overflow_check(m: &mut Inner, cap: usize) -> bool {
    if m.queue.len() <= cap {
        return true;
    }
    m.queue.clear();
    m.closing = true;
    m.queue.push_back(Queued::Close(
        close::TRY_AGAIN_LATER,
        "Slow consumer, please reconnect",
    ));
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(m: &Mailbox) -> Vec<Queued> {
        let mut g = m.inner.lock().unwrap();
        g.queue.drain(..).collect()
    }

    #[test]
    fn newer_state_replaces_unsent_older_and_stale_is_dropped() {
        let m = Mailbox::new(8);
        assert!(m.push_state((10, 0, 2), Bytes::from_static(b"v2")));
        assert!(m.push(Bytes::from_static(b"evt")));
        assert!(m.push_state((10, 0, 3), Bytes::from_static(b"v3")));
        assert!(m.push_state((10, 0, 3), Bytes::from_static(b"dup")));
        assert!(m.push_state((10, 0, 1), Bytes::from_static(b"old")));
        let got = drain(&m);
        assert_eq!(
            got,
            vec![
                Queued::Message(Bytes::from_static(b"evt")),
                Queued::State {
                    stamp: (10, 0, 3),
                    frame: Bytes::from_static(b"v3")
                },
            ]
        );
    }

    #[test]
    fn a_new_incarnation_outranks_every_version_of_the_old_one() {
        let m = Mailbox::new(8);
        assert!(m.push_state((10, 0, 71), Bytes::from_static(b"old v71")));
        drain(&m);
        assert!(m.push_state((20, 0, 1), Bytes::from_static(b"new v1")));
        assert_eq!(drain(&m).len(), 1);
    }

    #[test]
    fn a_sync_counts_as_sent_state() {
        let m = Mailbox::new(8);
        assert!(m.push_state((10, 0, 2), Bytes::from_static(b"v2")));
        assert!(m.push_sync((10, 0, 3), Bytes::from_static(b"sync v3")));
        assert!(m.push_state((10, 0, 3), Bytes::from_static(b"v3")));
        assert_eq!(
            drain(&m),
            vec![Queued::Message(Bytes::from_static(b"sync v3"))]
        );
    }

    #[test]
    fn overflow_closes_with_reconnect_code() {
        let m = Mailbox::new(2);
        assert!(m.push(Bytes::from_static(b"a")));
        assert!(m.push(Bytes::from_static(b"b")));
        assert!(!m.push(Bytes::from_static(b"c")));
        assert!(!m.push(Bytes::from_static(b"d")));
        assert_eq!(
            drain(&m),
            vec![Queued::Close(
                close::TRY_AGAIN_LATER,
                "Slow consumer, please reconnect"
            )]
        );
    }
}
