//! Live-session counts of a single node: per client, the sessions and when each stops
//! counting. Clients whose sessions all stopped counting are dropped as the map grows,
//! so memory stays bounded by the clients active within `sessions.ttl_secs`.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;

use super::{Admission, LiveSessions, QuotaError};
use crate::domain::{quota, Millis};

/// The map sweeps clients with nothing live when it grows past this many.
const SWEEP_AT: usize = 4096;

#[derive(Default)]
pub struct MemoryLiveSessions {
    clients: Mutex<HashMap<String, HashMap<String, Millis>>>,
}

#[async_trait]
impl LiveSessions for MemoryLiveSessions {
    async fn admit(
        &self,
        client: &str,
        session_id: &str,
        now: Millis,
        until: Millis,
        max: u64,
    ) -> Result<Admission, QuotaError> {
        let mut clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        if clients.len() > SWEEP_AT {
            clients.retain(|_, s| {
                s.retain(|_, t| *t > now);
                !s.is_empty()
            });
        }
        let sessions = clients.entry(client.to_owned()).or_default();
        sessions.retain(|_, t| *t > now);
        let live = sessions.len() as u64;
        let admitted = quota::admits(live, max);
        if admitted {
            sessions.insert(session_id.to_owned(), until);
        }
        Ok(Admission { admitted, live })
    }

    async fn release(&self, client: &str, session_id: &str) -> Result<(), QuotaError> {
        let mut clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(s) = clients.get_mut(client) {
            s.remove(session_id);
            if s.is_empty() {
                clients.remove(client);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn counts_up_to_the_limit_and_frees_on_release_or_time() {
        let q = MemoryLiveSessions::default();
        assert!(q.admit("c", "a", 0, 100, 2).await.unwrap().admitted);
        assert!(q.admit("c", "b", 0, 100, 2).await.unwrap().admitted);
        let third = q.admit("c", "x", 0, 100, 2).await.unwrap();
        assert_eq!(
            third,
            Admission {
                admitted: false,
                live: 2
            }
        );
        assert!(q.admit("other", "x", 0, 100, 2).await.unwrap().admitted);
        q.release("c", "a").await.unwrap();
        assert!(q.admit("c", "x", 0, 100, 2).await.unwrap().admitted);
        assert!(q.admit("c", "y", 100, 200, 2).await.unwrap().admitted);
        assert!(q.admit("c", "z", 0, 100, 0).await.unwrap().admitted);
    }
}
