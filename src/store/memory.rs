//! The embedded store: sessions in this process's memory, for the single-node default
//! and for tests. It implements the same contract as Redis: compare-and-set on
//! `version` and incarnation, the update published within the same critical section
//! (so delivery order is commit order), a deadline index with leases, and lifetimes.
//!
//! Must not: be used by more than one process for the same sessions (it is not shared).

use std::collections::{BTreeSet, HashMap};
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;

use super::envelope::EnvelopeBody;
use super::{AuditAppend, Commit, Expected, Store, StoreError, Update, UpdateSink};
use crate::clock::now_ms;
use crate::domain::{Millis, RegionId, Session, SessionId};

const SHARDS: usize = 64;

struct Entry {
    session: Arc<Session>,
    keep_until: Millis,
}

#[derive(Default)]
struct DeadlineIndex {
    by_time: BTreeSet<(Millis, SessionId)>,
    by_id: HashMap<SessionId, Millis>,
}

impl DeadlineIndex {
    fn set(&mut self, id: &SessionId, at: Option<Millis>) {
        if let Some(old) = self.by_id.remove(id) {
            self.by_time.remove(&(old, id.clone()));
        }
        if let Some(at) = at {
            self.by_id.insert(id.clone(), at);
            self.by_time.insert((at, id.clone()));
        }
    }
}

pub struct MemoryStore {
    shards: Box<[Mutex<HashMap<SessionId, Entry>>]>,
    hasher: RandomState,
    deadlines: Mutex<DeadlineIndex>,
    sink: Arc<dyn UpdateSink>,
    /// The audit outbox twin, appended in the same critical section as the commit.
    outbox: Option<Arc<dyn AuditAppend>>,
}

/// A poisoned lock only means another thread panicked mid-update of plain data;
/// every update here is a single insert/remove, so the data is still consistent.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl MemoryStore {
    pub fn new(sink: Arc<dyn UpdateSink>, outbox: Option<Arc<dyn AuditAppend>>) -> Self {
        MemoryStore {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            hasher: RandomState::new(),
            deadlines: Mutex::new(DeadlineIndex::default()),
            sink,
            outbox,
        }
    }

    fn shard(&self, id: &SessionId) -> MutexGuard<'_, HashMap<SessionId, Entry>> {
        let i = (self.hasher.hash_one(id) as usize) % SHARDS;
        lock(&self.shards[i])
    }

    fn publish(&self, commit: &Commit<'_>, session: &Arc<Session>) {
        if let Some(outbox) = &self.outbox {
            let (_, body) = EnvelopeBody::of_commit(commit, &session.home_region);
            outbox.record(
                body.encode(),
                commit.origin,
                commit.actor,
                session.updated_at,
            );
        }
        self.sink.deliver(Update::State {
            session: session.clone(),
            events: commit.events.into(),
        });
    }
}

#[async_trait]
impl Store for MemoryStore {
    fn kind(&self) -> &'static str {
        "memory"
    }

    async fn load(&self, session_id: &SessionId) -> Result<Option<Arc<Session>>, StoreError> {
        let shard = self.shard(session_id);
        Ok(shard
            .get(session_id)
            .filter(|e| e.keep_until > now_ms())
            .map(|e| e.session.clone()))
    }

    async fn insert(&self, commit: Commit<'_>) -> Result<(), StoreError> {
        let id = &commit.session.session_id;
        let mut shard = self.shard(id);
        if shard.get(id).is_some_and(|e| e.keep_until > now_ms()) {
            return Err(StoreError::Exists(id.clone()));
        }
        let session = Arc::new(commit.session.clone());
        shard.insert(
            id.clone(),
            Entry {
                session: session.clone(),
                keep_until: commit.keep_until,
            },
        );
        lock(&self.deadlines).set(id, commit.deadline);
        self.publish(&commit, &session);
        Ok(())
    }

    async fn commit(&self, expected: Expected, commit: Commit<'_>) -> Result<(), StoreError> {
        let id = &commit.session.session_id;
        let mut shard = self.shard(id);
        let entry = shard
            .get_mut(id)
            .filter(|e| e.keep_until > now_ms())
            .ok_or_else(|| StoreError::NotFound {
                session_id: id.clone(),
            })?;
        if Expected::of(&entry.session) != expected {
            return Err(StoreError::Conflict {
                expected: expected.version,
                actual: entry.session.version,
            });
        }
        let session = Arc::new(commit.session.clone());
        entry.session = session.clone();
        entry.keep_until = commit.keep_until;
        lock(&self.deadlines).set(id, commit.deadline);
        self.publish(&commit, &session);
        Ok(())
    }

    async fn delete(
        &self,
        session_id: &SessionId,
        origin: &RegionId,
        actor: Option<&str>,
    ) -> Result<bool, StoreError> {
        let mut shard = self.shard(session_id);
        let removed = shard.remove(session_id);
        let existed = removed.is_some();
        if let (Some(outbox), Some(e)) = (&self.outbox, removed) {
            let body = EnvelopeBody::deletion(&e.session.home_region, session_id);
            outbox.record(body.encode(), origin, actor, now_ms());
        }
        lock(&self.deadlines).set(session_id, None);
        self.sink.deliver(Update::Deleted {
            session_id: session_id.clone(),
        });
        Ok(existed)
    }

    async fn claim_due(
        &self,
        now: Millis,
        lease_ms: u64,
        limit: usize,
    ) -> Result<Vec<SessionId>, StoreError> {
        let mut idx = lock(&self.deadlines);
        let due: Vec<SessionId> = idx
            .by_time
            .iter()
            .take_while(|(at, _)| *at <= now)
            .take(limit)
            .map(|(_, id)| id.clone())
            .collect();
        for id in &due {
            idx.set(id, Some(now + lease_ms as Millis));
        }
        Ok(due)
    }

    async fn reschedule(
        &self,
        session_id: &SessionId,
        version: u64,
        deadline: Option<Millis>,
    ) -> Result<(), StoreError> {
        let shard = self.shard(session_id);
        let current = shard.get(session_id).map(|e| e.session.version);
        let mut idx = lock(&self.deadlines);
        match current {
            Some(v) if v == version => idx.set(session_id, deadline),
            Some(_) => {}
            None => idx.set(session_id, None),
        }
        Ok(())
    }

    async fn next_due(&self) -> Result<Option<Millis>, StoreError> {
        Ok(lock(&self.deadlines).by_time.first().map(|(at, _)| *at))
    }

    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }

    async fn housekeeping(&self, now: Millis) -> Result<(), StoreError> {
        let mut gone = Vec::new();
        for shard in self.shards.iter() {
            lock(shard).retain(|id, e| {
                let keep = e.keep_until > now;
                if !keep {
                    gone.push(id.clone());
                }
                keep
            });
        }
        let mut idx = lock(&self.deadlines);
        for id in gone {
            idx.set(&id, None);
        }
        Ok(())
    }
}
