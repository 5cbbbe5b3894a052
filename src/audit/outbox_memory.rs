//! The memory store's outbox twin: the same contract as the Redis stream for the
//! embedded single-node mode (lossless while the process lives).

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::Notify;

use super::outbox::{Backlog, Outbox, RawEntry};
use super::AuditError;
use crate::domain::{Millis, RegionId};
use crate::store::AuditAppend;

#[derive(Default)]
pub struct MemoryOutbox {
    inner: Mutex<Inner>,
    notify: Notify,
}

#[derive(Default)]
struct Inner {
    entries: VecDeque<RawEntry>,
    next_id: u64,
    seq: u64,
    /// Entries up to this id were handed out (and wait for their acknowledgement).
    fetched: u64,
}

impl MemoryOutbox {
    /// Appends a record; returns its sequence number. Called inside the store's
    /// critical section, so records are in commit order.
    pub fn append(&self, body: Vec<u8>, origin: &str, actor: Option<&str>, at: Millis) -> u64 {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        g.seq = if g.seq == 0 {
            at.max(1) as u64 * 1000
        } else {
            g.seq + 1
        };
        g.next_id += 1;
        let entry = RawEntry {
            id: g.next_id.to_string(),
            seq: g.seq,
            body,
            origin: origin.to_owned(),
            actor: actor.map(str::to_owned),
            at,
        };
        g.entries.push_back(entry);
        let seq = g.seq;
        drop(g);
        self.notify.notify_one();
        seq
    }

    /// The next `max` entries not handed out yet (like a consumer group's `>`).
    fn take(&self, max: usize) -> Vec<RawEntry> {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let after = g.fetched;
        let batch: Vec<RawEntry> = g
            .entries
            .iter()
            .filter(|e| e.id.parse::<u64>().is_ok_and(|id| id > after))
            .take(max)
            .cloned()
            .collect();
        if let Some(last) = batch.last().and_then(|e| e.id.parse().ok()) {
            g.fetched = last;
        }
        batch
    }
}

impl AuditAppend for MemoryOutbox {
    fn record(&self, body: Vec<u8>, origin: &RegionId, actor: Option<&str>, at: Millis) {
        self.append(body, origin, actor, at);
    }
}

#[async_trait]
impl Outbox for MemoryOutbox {
    async fn fetch(&self, max: usize, wait_ms: u64) -> Result<Vec<RawEntry>, AuditError> {
        let batch = self.take(max);
        if !batch.is_empty() {
            return Ok(batch);
        }
        let _ = tokio::time::timeout(Duration::from_millis(wait_ms), self.notify.notified()).await;
        Ok(self.take(max))
    }

    async fn ack(&self, ids: &[String]) -> Result<(), AuditError> {
        let ids: std::collections::HashSet<&str> = ids.iter().map(String::as_str).collect();
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        g.entries.retain(|e| !ids.contains(e.id.as_str()));
        Ok(())
    }

    async fn dead_letter(&self, entries: &[RawEntry]) -> Result<(), AuditError> {
        for e in entries {
            tracing::error!(id = %e.id, seq = e.seq, "undecodable audit record dropped from the memory outbox");
        }
        let ids: Vec<String> = entries.iter().map(|e| e.id.clone()).collect();
        self.ack(&ids).await
    }

    async fn backlog(&self) -> Result<Backlog, AuditError> {
        let g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        Ok(Backlog {
            len: g.entries.len() as u64,
            oldest: g.entries.front().map(|e| e.at),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn records_are_handed_out_once_and_kept_until_acknowledged() {
        let o = MemoryOutbox::default();
        for i in 0..3 {
            o.append(vec![i], "local", None, 1_000);
        }
        let a = o.fetch(2, 1).await.unwrap();
        let b = o.fetch(2, 1).await.unwrap();
        assert_eq!((a.len(), b.len()), (2, 1));
        assert!(a.iter().all(|x| !b.contains(x)));
        assert!(a[0].seq < a[1].seq && a[1].seq < b[0].seq);
        assert_eq!(o.backlog().await.unwrap().len, 3);
        o.ack(&[a[0].id.clone(), a[1].id.clone()]).await.unwrap();
        assert_eq!(o.backlog().await.unwrap().len, 1);
        assert!(o.fetch(2, 1).await.unwrap().is_empty());
    }
}
