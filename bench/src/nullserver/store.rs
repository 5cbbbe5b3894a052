//! Null-server state: sessions in sharded maps (version, active participant,
//! budgets), the per-session WebSocket hub (broadcast channels), and deadline
//! timers (armed only for budgets under a minute, so the switch hot path of a
//! long-running session never spawns anything).

use crate::clock::{iso_ms, now_us};
use bytes::Bytes;
use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::broadcast;

const SHARDS: usize = 32;
const TIMER_LIMIT_MS: u64 = 60_000;

pub struct Sess {
    version: u64,
    participants: Vec<(String, u64)>,
    active: Option<usize>,
    cycle_started_ms: u64,
    running: bool,
    action: String,
    timer_gen: u64,
}

pub struct Store {
    hasher: RandomState,
    sessions: Vec<Mutex<HashMap<String, Sess>>>,
    hubs: Vec<Mutex<HashMap<String, broadcast::Sender<Bytes>>>>,
    pub ws_connections: AtomicI64,
}

/// Outcome of a state-changing call.
pub enum Change {
    Ok(u64),
    NotFound,
    NotRunning,
}

fn now_ms() -> u64 {
    now_us() / 1000
}

impl Store {
    pub fn new() -> Arc<Store> {
        Arc::new(Store {
            hasher: RandomState::new(),
            sessions: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            hubs: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            ws_connections: AtomicI64::new(0),
        })
    }

    fn shard(&self, id: &str) -> usize {
        self.hasher.hash_one(id) as usize % SHARDS
    }

    /// Creates (or overwrites) a session, version 1, pending.
    pub fn create(&self, id: &str, participants: Vec<(String, u64)>, action: String) {
        let s = Sess {
            version: 1,
            participants,
            active: None,
            cycle_started_ms: 0,
            running: false,
            action,
            timer_gen: 0,
        };
        self.sessions[self.shard(id)]
            .lock()
            .expect("lock")
            .insert(id.to_string(), s);
        self.publish(id, 1, None, now_ms());
    }

    pub fn version(&self, id: &str) -> Option<u64> {
        self.sessions[self.shard(id)]
            .lock()
            .expect("lock")
            .get(id)
            .map(|s| s.version)
    }

    pub fn delete(&self, id: &str) {
        self.sessions[self.shard(id)]
            .lock()
            .expect("lock")
            .remove(id);
        if let Some(tx) = self.hubs[self.shard(id)].lock().expect("lock").remove(id) {
            let msg = format!(
                r#"{{"type":"SESSION_DELETED","sessionId":"{id}","timestamp":{}}}"#,
                now_ms()
            );
            let _ = tx.send(Bytes::from(msg));
        }
    }

    /// start (`advance = false`) or switch (`advance = true`).
    pub fn transition(self: &Arc<Self>, id: &str, advance: bool) -> Change {
        let now = now_ms();
        let (version, active, timer) = {
            let mut map = self.sessions[self.shard(id)].lock().expect("lock");
            let Some(s) = map.get_mut(id) else {
                return Change::NotFound;
            };
            if advance != s.running || s.participants.is_empty() {
                return Change::NotRunning;
            }
            let next = match (advance, s.active) {
                (true, Some(cur)) => {
                    let p = &mut s.participants[cur];
                    p.1 = p.1.saturating_sub(now.saturating_sub(s.cycle_started_ms));
                    (cur + 1) % s.participants.len()
                }
                _ => 0,
            };
            s.active = Some(next);
            s.running = true;
            s.cycle_started_ms = now;
            s.version += 1;
            s.timer_gen += 1;
            let budget = s.participants[next].1;
            let timer = (budget < TIMER_LIMIT_MS).then_some((s.timer_gen, now + budget));
            (s.version, s.participants[next].0.clone(), timer)
        };
        self.publish(id, version, Some(&active), now);
        if let Some((gen, at)) = timer {
            self.arm(id.to_string(), gen, at);
        }
        Change::Ok(version)
    }

    fn arm(self: &Arc<Self>, id: String, gen: u64, at_ms: u64) {
        let store = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(at_ms.saturating_sub(now_ms()))).await;
            store.expire(&id, gen, at_ms);
        });
    }

    /// Fires a deadline if nothing changed the session since it was armed.
    fn expire(self: &Arc<Self>, id: &str, gen: u64, at_ms: u64) {
        let (version, pid, action) = {
            let mut map = self.sessions[self.shard(id)].lock().expect("lock");
            let Some(s) = map.get_mut(id) else { return };
            let Some(cur) = s.active.filter(|_| s.running && s.timer_gen == gen) else {
                return;
            };
            s.participants[cur].1 = 0;
            (s.version, s.participants[cur].0.clone(), s.action.clone())
        };
        let msg = format!(
            r#"{{"type":"TIME_EXPIRED","sessionId":"{id}","timestamp":{},"participantId":"{pid}","expiredAt":{at_ms},"action":"{action}","version":{version}}}"#,
            now_ms()
        );
        self.send(id, Bytes::from(msg));
        if action == "continue" || action == "skip" {
            self.transition(id, true);
        }
    }

    fn publish(&self, id: &str, version: u64, active: Option<&str>, at_ms: u64) {
        let active = active.map_or("null".into(), |a| format!("\"{a}\""));
        let status = if version == 1 { "pending" } else { "running" };
        let msg = format!(
            r#"{{"type":"STATE_UPDATE","sessionId":"{id}","timestamp":{},"state":{{"session_id":"{id}","status":"{status}","version":{version},"active_participant_id":{active},"updated_at":"{}"}}}}"#,
            now_ms(),
            iso_ms(at_ms)
        );
        self.send(id, Bytes::from(msg));
    }

    fn send(&self, id: &str, msg: Bytes) {
        let hubs = self.hubs[self.shard(id)].lock().expect("lock");
        if let Some(tx) = hubs.get(id) {
            let _ = tx.send(msg);
        }
    }

    /// Joins the session's hub (created on first use).
    pub fn subscribe(&self, id: &str) -> broadcast::Receiver<Bytes> {
        let mut hubs = self.hubs[self.shard(id)].lock().expect("lock");
        hubs.entry(id.to_string())
            .or_insert_with(|| broadcast::channel(256).0)
            .subscribe()
    }

    /// Drops the hub once its last subscriber left.
    pub fn unsubscribe(&self, id: &str) {
        let mut hubs = self.hubs[self.shard(id)].lock().expect("lock");
        if hubs.get(id).is_some_and(|tx| tx.receiver_count() == 0) {
            hubs.remove(id);
        }
    }

    /// `now_ms` for responses.
    pub fn now_ms(&self) -> u64 {
        now_ms()
    }

    /// `updated_at` for responses.
    pub fn iso_now(&self) -> String {
        iso_ms(now_ms())
    }

    pub fn ws_delta(&self, d: i64) {
        self.ws_connections.fetch_add(d, Ordering::Relaxed);
    }
}
