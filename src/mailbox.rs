//! A WebSocket connection's outgoing queue. Bounded, and kind to slow readers: a newer
//! state snapshot replaces an unsent older one (clients only need the latest state),
//! stale or duplicate snapshots are dropped, and a queue that overflows closes the
//! connection with a reconnect code instead of growing or slowing anyone else.
//!
//! A push to an idle connection (nothing queued, its writer not writing) goes straight
//! to the socket through `Direct`, without waking the writer: a fan-out to thousands of
//! sockets then costs one non-blocking write each. Whatever the socket does not take at
//! once is queued for the writer, the unsent end of a frame first (`Queued::Rest`), so
//! order is kept. The writer marks itself writing (`Writing`) for every batch and every
//! frame of its own, and a direct write never overlaps one.
//!
//! Owns: ordering and coalescing of one connection's outgoing messages. Must not:
//! block the producer (delivery to many connections must stay O(1) each; a direct
//! write never waits for the socket).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use tokio::sync::Notify;

use crate::domain::Stamp;
use crate::protocol::close;
use crate::wsframe::Framed;

#[derive(Debug, Clone, PartialEq)]
pub enum Queued {
    /// A full-state message; coalesced.
    State { stamp: Stamp, frame: Framed },
    /// Any other message; never coalesced.
    Message(Framed),
    /// The end of a frame a direct write began: it goes out first, as it is.
    Rest(Bytes),
    /// Close with this code and reason after sending what precedes it.
    Close(u16, &'static str),
}

/// What a write that must not wait did with a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wrote {
    /// All of it went out.
    All,
    /// This many bytes went out (fewer than all).
    Part(usize),
    /// Nothing went out (the socket is full or failed; the writer finds out which).
    Nothing,
}

/// A connection's socket, written without waiting.
pub trait Direct: Send + Sync {
    fn try_write(&self, bytes: &[u8]) -> Wrote;
}

struct Inner {
    queue: VecDeque<Queued>,
    last_state: Stamp,
    closing: bool,
    /// The writer is writing (or has not started): nothing may be written directly.
    writing: bool,
}

pub struct Mailbox {
    inner: Mutex<Inner>,
    notify: Notify,
    capacity: usize,
    direct: Option<Arc<dyn Direct>>,
}

/// The writer's claim on the socket; direct writes resume when it is dropped.
pub struct Writing<'a>(&'a Mailbox);

impl Drop for Writing<'_> {
    fn drop(&mut self) {
        self.0.lock().writing = false;
    }
}

impl Mailbox {
    /// A mailbox only its writer empties.
    pub fn new(capacity: usize) -> Self {
        Mailbox::build(capacity, None)
    }

    /// A mailbox that writes to `direct` itself when the connection is idle, once the
    /// writer has called `open`.
    pub fn with_direct(capacity: usize, direct: Arc<dyn Direct>) -> Self {
        Mailbox::build(capacity, Some(direct))
    }

    fn build(capacity: usize, direct: Option<Arc<dyn Direct>>) -> Self {
        Mailbox {
            inner: Mutex::new(Inner {
                queue: VecDeque::new(),
                last_state: (i64::MIN, 0, 0),
                closing: false,
                writing: true,
            }),
            notify: Notify::new(),
            capacity,
            direct,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` on the queue; wakes the writer when `f` left something in it.
    fn with<R>(&self, f: impl FnOnce(&mut Inner, Option<&dyn Direct>) -> R) -> R {
        let mut g = self.lock();
        let r = f(&mut g, self.direct.as_deref());
        let queued = !g.queue.is_empty();
        drop(g);
        if queued {
            self.notify.notify_one();
        }
        r
    }

    /// The writer is running: pushes may go straight to the socket from now on.
    pub fn open(&self) {
        self.lock().writing = false;
    }

    /// Claims the socket for a frame of the writer's own (a ping, a pong).
    pub fn claim(&self) -> Writing<'_> {
        self.lock().writing = true;
        Writing(self)
    }

    /// Queues a state snapshot; snapshots not newer than one already queued or sent
    /// (by incarnation, then version) are dropped. Returns false if the connection is
    /// closing or just overflowed.
    pub fn push_state(&self, stamp: Stamp, frame: Framed) -> bool {
        let cap = self.capacity;
        self.with(|m, direct| {
            if m.closing {
                return false;
            }
            if stamp <= m.last_state {
                return true;
            }
            m.last_state = stamp;
            m.queue.retain(|o| !matches!(o, Queued::State { .. }));
            enqueue(m, direct, Queued::State { stamp, frame }, cap)
        })
    }

    /// Queues a requested snapshot (`STATE_SYNC`): always sent, never coalesced, and it
    /// counts as sent state, so an older `STATE_UPDATE` cannot follow it.
    pub fn push_sync(&self, stamp: Stamp, frame: Framed) -> bool {
        let cap = self.capacity;
        self.with(|m, direct| {
            if m.closing {
                return false;
            }
            m.last_state = m.last_state.max(stamp);
            m.queue
                .retain(|o| !matches!(o, Queued::State { stamp: v, .. } if *v <= stamp));
            enqueue(m, direct, Queued::Message(frame), cap)
        })
    }

    /// Queues a message. Returns false if closing or it overflowed the queue.
    pub fn push(&self, frame: Framed) -> bool {
        let cap = self.capacity;
        self.with(|m, direct| {
            if m.closing {
                return false;
            }
            enqueue(m, direct, Queued::Message(frame), cap)
        })
    }

    /// Queues a close after everything already queued; later pushes are ignored.
    pub fn close(&self, code: u16, reason: &'static str) {
        self.with(|m, _| {
            if !m.closing {
                m.closing = true;
                m.queue.push_back(Queued::Close(code, reason));
            }
        })
    }

    /// The newest state stamp queued or sent so far.
    pub fn last_state(&self) -> Stamp {
        self.lock().last_state
    }

    /// Takes everything queued, waiting until there is something; the socket is the
    /// writer's until the returned claim is dropped.
    pub async fn next_batch(&self, into: &mut Vec<Queued>) -> Writing<'_> {
        loop {
            let notified = self.notify.notified();
            {
                let mut g = self.lock();
                if !g.queue.is_empty() {
                    into.extend(g.queue.drain(..));
                    g.writing = true;
                    return Writing(self);
                }
            }
            notified.await;
        }
    }
}

/// Writes `item` straight to an idle socket, or queues it (and what a direct write left
/// unsent). Returns false if the queue overflowed.
fn enqueue(m: &mut Inner, direct: Option<&dyn Direct>, item: Queued, cap: usize) -> bool {
    let frame = match &item {
        Queued::State { frame, .. } | Queued::Message(frame) => Some(frame.bytes()),
        Queued::Rest(_) | Queued::Close(..) => None,
    };
    if let (Some(d), Some(bytes)) = (direct, frame) {
        if m.queue.is_empty() && !m.writing {
            match d.try_write(bytes) {
                Wrote::All => return true,
                Wrote::Part(n) => {
                    m.queue.push_back(Queued::Rest(bytes.slice(n..)));
                    return true;
                }
                Wrote::Nothing => {}
            }
        }
    }
    m.queue.push_back(item);
    overflow_check(m, cap)
}

fn overflow_check(m: &mut Inner, cap: usize) -> bool {
    if m.queue.len() <= cap {
        return true;
    }
    // The end of a frame already begun must still go out before the close.
    m.queue.retain(|q| matches!(q, Queued::Rest(_)));
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

    fn f(s: &'static str) -> Framed {
        Framed::text(s.as_bytes())
    }

    fn drain(m: &Mailbox) -> Vec<Queued> {
        m.lock().queue.drain(..).collect()
    }

    /// A socket that takes `room` bytes, then nothing.
    struct Socket {
        room: Mutex<usize>,
        got: Mutex<Vec<u8>>,
    }

    impl Socket {
        fn with_room(room: usize) -> Arc<Socket> {
            Arc::new(Socket {
                room: Mutex::new(room),
                got: Mutex::new(Vec::new()),
            })
        }
    }

    impl Direct for Socket {
        fn try_write(&self, bytes: &[u8]) -> Wrote {
            let mut room = self.room.lock().unwrap();
            let n = bytes.len().min(*room);
            *room -= n;
            self.got.lock().unwrap().extend_from_slice(&bytes[..n]);
            match n {
                0 => Wrote::Nothing,
                n if n == bytes.len() => Wrote::All,
                n => Wrote::Part(n),
            }
        }
    }

    #[test]
    fn newer_state_replaces_unsent_older_and_stale_is_dropped() {
        let m = Mailbox::new(8);
        assert!(m.push_state((10, 0, 2), f("v2")));
        assert!(m.push(f("evt")));
        assert!(m.push_state((10, 0, 3), f("v3")));
        assert!(m.push_state((10, 0, 3), f("dup")));
        assert!(m.push_state((10, 0, 1), f("old")));
        let got = drain(&m);
        assert_eq!(
            got,
            vec![
                Queued::Message(f("evt")),
                Queued::State {
                    stamp: (10, 0, 3),
                    frame: f("v3")
                },
            ]
        );
    }

    #[test]
    fn a_new_incarnation_outranks_every_version_of_the_old_one() {
        let m = Mailbox::new(8);
        assert!(m.push_state((10, 0, 71), f("old v71")));
        drain(&m);
        assert!(m.push_state((20, 0, 1), f("new v1")));
        assert_eq!(drain(&m).len(), 1);
    }

    #[test]
    fn a_sync_counts_as_sent_state() {
        let m = Mailbox::new(8);
        assert!(m.push_state((10, 0, 2), f("v2")));
        assert!(m.push_sync((10, 0, 3), f("sync v3")));
        assert!(m.push_state((10, 0, 3), f("v3")));
        assert_eq!(drain(&m), vec![Queued::Message(f("sync v3"))]);
    }

    #[test]
    fn overflow_closes_with_reconnect_code() {
        let m = Mailbox::new(2);
        assert!(m.push(f("a")));
        assert!(m.push(f("b")));
        assert!(!m.push(f("c")));
        assert!(!m.push(f("d")));
        assert_eq!(
            drain(&m),
            vec![Queued::Close(
                close::TRY_AGAIN_LATER,
                "Slow consumer, please reconnect"
            )]
        );
    }

    #[tokio::test]
    async fn an_idle_socket_is_written_directly_and_a_busy_one_queues_in_order() {
        let socket = Socket::with_room(usize::MAX);
        let m = Mailbox::with_direct(8, socket.clone());
        assert!(m.push(f("hello")));
        assert_eq!(
            drain(&m).len(),
            1,
            "nothing goes direct before the writer opens"
        );
        m.open();
        assert!(m.push_state((1, 0, 1), f("v1")));
        assert!(drain(&m).is_empty());
        assert_eq!(
            socket.got.lock().unwrap().as_slice(),
            f("v1").bytes().as_ref()
        );
        {
            let _writing = m.claim();
            assert!(m.push(f("during a ping")));
        }
        assert!(m.push(f("after it")), "queued behind what is queued");
        let mut batch = Vec::new();
        let writing = m.next_batch(&mut batch).await;
        assert_eq!(
            batch,
            vec![
                Queued::Message(f("during a ping")),
                Queued::Message(f("after it"))
            ]
        );
        assert!(m.push_state((1, 0, 2), f("v2")));
        drop(writing);
        assert_eq!(
            drain(&m).len(),
            1,
            "queued while the writer wrote its batch"
        );
        assert!(m.push_state((1, 0, 3), f("v3")));
        assert!(drain(&m).is_empty(), "direct again once the writer is done");
    }

    #[test]
    fn the_unsent_end_of_a_frame_goes_first_even_through_an_overflow() {
        let v1 = f("a state of some length");
        let socket = Socket::with_room(5);
        let m = Mailbox::with_direct(1, socket.clone());
        m.open();
        assert!(m.push_state((1, 0, 1), v1.clone()));
        assert_eq!(drain(&m), vec![Queued::Rest(v1.bytes().slice(5..))]);
        assert!(m.push_state((1, 0, 2), f("v2")), "a full socket queues");
        m.lock()
            .queue
            .push_front(Queued::Rest(v1.bytes().slice(5..)));
        assert!(!m.push(f("overflow")));
        assert_eq!(
            drain(&m),
            vec![
                Queued::Rest(v1.bytes().slice(5..)),
                Queued::Close(close::TRY_AGAIN_LATER, "Slow consumer, please reconnect"),
            ]
        );
    }
}
