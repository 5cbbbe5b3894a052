//! Local subscribers per session: which WebSocket connections of *this* instance watch
//! which session, and delivery of committed updates to their mailboxes. Each update
//! is encoded once per instance, not once per connection, staged in every subscriber's
//! mailbox in order, then written straight to the sockets that are idle (`Mailbox`),
//! a large audience by several tasks at once. A broker's subscriber task writes the first
//! chunk itself; a store that delivers inside its commit (`Hub::in_commit`, the memory
//! store) only stages there, and tasks of their own write.
//!
//! Owns: the session → connections map, the latest snapshot seen per watched session,
//! and closing every socket at shutdown. Message timestamps are in the session's home
//! timebase when this instance knows it (`TimeBase`). Must not: read storage or block
//! on a socket.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use tokio::sync::watch;

use crate::clock::now_ms;
use crate::domain::{Session, SessionId};
use crate::fanout::{Audience, Interest};
use crate::mailbox::Mailbox;
use crate::protocol::{self, close};
use crate::store::{Update, UpdateSink};
use crate::timebase::TimeBase;

/// Connections one task writes to in a fan-out: a larger audience is flushed by
/// several tasks, so that every worker thread can take a share of the socket writes.
const FLUSH_CHUNK: usize = 512;

#[derive(Default)]
struct Topic {
    subscribers: Vec<(u64, Arc<Mailbox>)>,
    latest: Option<Arc<Session>>,
}

#[derive(Default)]
pub struct Hub {
    topics: Mutex<HashMap<SessionId, Topic>>,
    next_id: AtomicU64,
    interest: Mutex<Option<Arc<dyn Interest>>>,
    time: OnceLock<Arc<TimeBase>>,
}

/// A connection's membership of a session's topic; leaving happens on drop.
pub struct Subscription {
    hub: Arc<Hub>,
    session_id: SessionId,
    id: u64,
    pub mailbox: Arc<Mailbox>,
    ready: Option<watch::Receiver<bool>>,
}

impl Subscription {
    /// Waits (at most `limit`) until updates for the session reach this instance, so
    /// that a client told `CONNECTED` misses nothing committed afterwards.
    pub async fn ready(&mut self, limit: std::time::Duration) {
        if let Some(rx) = self.ready.as_mut() {
            let _ = tokio::time::timeout(limit, rx.wait_for(|up| *up)).await;
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.hub.leave(&self.session_id, self.id);
    }
}

impl Hub {
    pub fn new() -> Arc<Hub> {
        Arc::new(Hub::default())
    }

    fn topics(&self) -> MutexGuard<'_, HashMap<SessionId, Topic>> {
        self.topics.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn set_interest(&self, interest: Arc<dyn Interest>) {
        *self.interest.lock().unwrap_or_else(|e| e.into_inner()) = Some(interest);
    }

    /// Message timestamps from now on are in each session's home timebase.
    pub fn set_time(&self, time: Arc<TimeBase>) {
        let _ = self.time.set(time);
    }

    fn interest(&self) -> Option<Arc<dyn Interest>> {
        self.interest
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Adds `mailbox` to the session's topic; anything already queued in it (the
    /// `CONNECTED` greeting) goes out before any update.
    pub fn subscribe(
        self: &Arc<Self>,
        session_id: &SessionId,
        mailbox: Arc<Mailbox>,
    ) -> Subscription {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let first = {
            let mut topics = self.topics();
            let topic = topics.entry(session_id.clone()).or_default();
            topic.subscribers.push((id, mailbox.clone()));
            topic.subscribers.len() == 1
        };
        let interest = self.interest();
        if first {
            if let Some(i) = &interest {
                i.watch(session_id);
            }
        }
        Subscription {
            hub: self.clone(),
            session_id: session_id.clone(),
            id,
            mailbox,
            ready: interest.and_then(|i| i.ready(session_id)),
        }
    }

    fn leave(&self, session_id: &SessionId, id: u64) {
        let last = {
            let mut topics = self.topics();
            let Some(topic) = topics.get_mut(session_id) else {
                return;
            };
            topic.subscribers.retain(|(i, _)| *i != id);
            let empty = topic.subscribers.is_empty();
            if empty {
                topics.remove(session_id);
            }
            empty
        };
        if last {
            if let Some(i) = self.interest() {
                i.unwatch(session_id);
            }
        }
    }

    /// The newest state this instance has delivered for a watched session.
    pub fn latest(&self, session_id: &SessionId) -> Option<Arc<Session>> {
        self.topics().get(session_id).and_then(|t| t.latest.clone())
    }

    /// Sessions with at least one subscriber here.
    pub fn watched_count(&self) -> usize {
        self.topics().len()
    }

    pub fn connection_count(&self) -> usize {
        self.topics().values().map(|t| t.subscribers.len()).sum()
    }

    /// Queues a close on every connection (shutdown: 1001).
    pub fn close_all(&self, code: u16, reason: &'static str) {
        for topic in self.topics().values() {
            for (_, m) in &topic.subscribers {
                m.close(code, reason);
            }
        }
    }

    fn mailboxes_for(&self, update: &Update) -> Vec<Arc<Mailbox>> {
        let mut topics = self.topics();
        let Some(topic) = topics.get_mut(update.session_id()) else {
            return Vec::new();
        };
        match update {
            Update::State { session, .. } => {
                if topic
                    .latest
                    .as_ref()
                    .is_none_or(|l| l.stamp() < session.stamp())
                {
                    topic.latest = Some(session.clone());
                }
            }
            // A session created again under this id starts over at version 1: the
            // deleted one's snapshot must not outrank it (`STATE_SYNC` would serve it).
            Update::Deleted { .. } => topic.latest = None,
        }
        topic.subscribers.iter().map(|(_, m)| m.clone()).collect()
    }
}

impl Audience for Hub {
    fn is_watched(&self, session_id: &SessionId) -> bool {
        self.topics().contains_key(session_id)
    }

    fn watched(&self) -> Vec<SessionId> {
        self.topics().keys().cloned().collect()
    }
}

/// Where the first chunk of a fan-out is written.
#[derive(Clone, Copy)]
enum Writes {
    /// Here, by the delivering task (a broker's subscriber task).
    HereFirst,
    /// All by tasks of their own (the delivery happens inside a commit).
    AllLater,
}

impl Hub {
    /// A sink for a store that delivers inside its commit (the memory store): the
    /// update is staged there, in commit order and to the subscribers of that moment,
    /// and written to the sockets by tasks of their own, never inside the commit.
    pub fn in_commit(self: &Arc<Self>) -> Arc<dyn UpdateSink> {
        Arc::new(InCommit(self.clone()))
    }

    /// Stages `update` in every subscriber's mailbox, in order; returns them.
    fn stage(&self, update: &Update) -> Vec<Arc<Mailbox>> {
        let targets = self.mailboxes_for(update);
        if targets.is_empty() {
            return targets;
        }
        let home = match update {
            Update::State { session, .. } => Some(&session.home_region),
            Update::Deleted { .. } => None,
        };
        let now = self.time.get().map_or_else(now_ms, |t| t.stamp_ms(home));
        match update {
            Update::State { session, events } => {
                let pushes: Vec<_> = events
                    .iter()
                    .filter_map(|e| protocol::event(session, e, now))
                    .collect();
                let frame = protocol::state("STATE_UPDATE", session, now);
                for m in &targets {
                    for p in &pushes {
                        m.stage(p.clone());
                    }
                    m.stage_state(session.stamp(), frame.clone());
                }
            }
            Update::Deleted { session_id } => {
                let frame = protocol::session_deleted(session_id, now);
                for m in &targets {
                    m.stage(frame.clone());
                    m.stage_close(close::NORMAL, "Session deleted");
                }
            }
        }
        targets
    }
}

impl UpdateSink for Hub {
    fn deliver(&self, update: Update) {
        flush(self.stage(&update), Writes::HereFirst);
    }
}

struct InCommit(Arc<Hub>);

impl UpdateSink for InCommit {
    fn deliver(&self, update: Update) {
        flush(self.0.stage(&update), Writes::AllLater);
    }
}

/// Writes what was staged for `targets` to their sockets, in chunks of `FLUSH_CHUNK`
/// (order per connection is the staging's, whoever flushes first). Outside a runtime
/// everything is written here.
fn flush(mut targets: Vec<Arc<Mailbox>>, writes: Writes) {
    if let Ok(rt) = tokio::runtime::Handle::try_current() {
        let keep = match writes {
            Writes::HereFirst => FLUSH_CHUNK,
            Writes::AllLater => 0,
        };
        while targets.len() > keep {
            let chunk = targets.split_off(targets.len().saturating_sub(FLUSH_CHUNK));
            rt.spawn(async move { chunk.iter().for_each(|m| m.flush()) });
        }
    }
    targets.iter().for_each(|m| m.flush());
}
