//! A WebSocket connection's outgoing queue. Bounded, and kind to slow readers: a newer
//! state snapshot replaces an unsent older one (clients only need the latest state),
//! stale or duplicate snapshots are dropped, and a queue that overflows closes the
//! connection with a reconnect code instead of growing or slowing anyone else.
//!
//! A push to an idle connection (its writer not writing) goes straight to the socket
//! through `Direct`, with whatever was queued before it, without waking the writer: a
//! fan-out to thousands of sockets then costs one non-blocking write each. Whatever the
//! socket does not take at once stays queued for the writer, the unsent end of a frame
//! first (`Queued::Rest`), so order is kept. The writer marks itself writing (`Writing`)
//! for every batch and every frame of its own, and a direct write never overlaps one.
//! A fan-out may stage a message in every mailbox first (`stage*`, in order, under
//! no socket write) and `flush` them afterwards, from several tasks.
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
    direct: Arc<dyn Direct>,
}

/// The writer's claim on the socket; direct writes resume when it is dropped.
pub struct Writing<'a>(&'a Mailbox);

impl Drop for Writing<'_> {
    fn drop(&mut self) {
        self.0.lock().writing = false;
    }
}

impl Mailbox {
    /// A mailbox that writes to `direct` itself when the connection is idle, once the
    /// writer has called `open` (until then only the writer sends).
    pub fn new(capacity: usize, direct: Arc<dyn Direct>) -> Self {
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

    /// Runs `f` on the queue; then, when `now`, writes what it can to an idle socket and
    /// wakes the writer for the rest. A staged change (`now` false) waits for `flush`.
    fn with<R>(&self, now: bool, f: impl FnOnce(&mut Inner) -> R) -> R {
        let mut g = self.lock();
        let r = f(&mut g);
        if now {
            self.flush_locked(g);
        }
        r
    }

    fn flush_locked(&self, mut g: MutexGuard<'_, Inner>) {
        if !g.writing {
            write_queued(&mut g, self.direct.as_ref());
        }
        let queued = !g.queue.is_empty();
        drop(g);
        if queued {
            self.notify.notify_one();
        }
    }

    /// Writes what is staged to an idle socket, and wakes the writer for what is left.
    pub fn flush(&self) {
        self.flush_locked(self.lock());
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

    /// Sends a state snapshot; snapshots not newer than one already queued or sent
    /// (by incarnation, then version) are dropped. Returns false if the connection is
    /// closing or just overflowed.
    pub fn push_state(&self, stamp: Stamp, frame: Framed) -> bool {
        self.state(stamp, frame, true)
    }

    /// `push_state`, staged: nothing is written, nor the writer woken, until `flush`
    /// (a fan-out stages every connection in order, then flushes them in parallel).
    pub fn stage_state(&self, stamp: Stamp, frame: Framed) -> bool {
        self.state(stamp, frame, false)
    }

    fn state(&self, stamp: Stamp, frame: Framed, now: bool) -> bool {
        let cap = self.capacity;
        self.with(now, |m| {
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

    /// Sends a requested snapshot (`STATE_SYNC`): always sent, never coalesced, and it
    /// counts as sent state, so an older `STATE_UPDATE` cannot follow it.
    pub fn push_sync(&self, stamp: Stamp, frame: Framed) -> bool {
        let cap = self.capacity;
        self.with(true, |m| {
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

    /// Sends a message. Returns false if closing or it overflowed the queue.
    pub fn push(&self, frame: Framed) -> bool {
        self.message(frame, true)
    }

    /// `push`, staged until `flush`.
    pub fn stage(&self, frame: Framed) -> bool {
        self.message(frame, false)
    }

    fn message(&self, frame: Framed, now: bool) -> bool {
        let cap = self.capacity;
        self.with(now, |m| {
            if m.closing {
                return false;
            }
            m.queue.push_back(Queued::Message(frame));
            overflow_check(m, cap)
        })
    }

    /// Queues a close after everything already queued; later pushes are ignored.
    pub fn close(&self, code: u16, reason: &'static str) {
        self.closing(code, reason, true)
    }

    /// `close`, staged until `flush`.
    pub fn stage_close(&self, code: u16, reason: &'static str) {
        self.closing(code, reason, false)
    }

    fn closing(&self, code: u16, reason: &'static str, now: bool) {
        self.with(now, |m| {
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

/// Writes the queue's frames to the (idle) socket, in order, until it is empty, the
/// socket is full, or a close is next (the writer sends closes). What a write leaves
/// of a frame stays first in the queue.
fn write_queued(m: &mut Inner, d: &dyn Direct) {
    loop {
        let bytes = match m.queue.front() {
            Some(Queued::State { frame, .. } | Queued::Message(frame)) => frame.bytes(),
            Some(Queued::Rest(rest)) => rest,
            Some(Queued::Close(..)) | None => return,
        };
        let rest = match d.try_write(bytes) {
            Wrote::All => None,
            Wrote::Part(n) => Some(bytes.slice(n..)),
            Wrote::Nothing => return,
        };
        m.queue.pop_front();
        if let Some(rest) = rest {
            m.queue.push_front(Queued::Rest(rest));
            return;
        }
    }
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
mod tests;
