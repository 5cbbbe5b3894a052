//! The embedded store's fan-out: the memory store publishes inside its commit's
//! critical section (so that delivery order is commit order), and this feed carries
//! each update to the hub on a task of its own, in that order. A commit then never
//! waits for the writes to its watchers' sockets, as with Redis, where the broker's
//! subscriber task delivers.
//!
//! Owns: the ordered hand-over between a commit and the hub. Must not: drop, merge or
//! reorder updates, or block the committer.

use std::sync::Arc;

use tokio::sync::mpsc;

use super::Audience;
use crate::store::{Update, UpdateSink};

pub struct LocalFeed {
    audience: Arc<dyn Audience>,
    tx: mpsc::UnboundedSender<Update>,
}

impl LocalFeed {
    /// Starts the delivering task (on the current runtime); it ends with the feed.
    pub fn start(audience: Arc<dyn Audience>) -> Arc<LocalFeed> {
        let (tx, mut rx) = mpsc::unbounded_channel::<Update>();
        let hub = audience.clone();
        tokio::spawn(async move {
            while let Some(update) = rx.recv().await {
                hub.deliver(update);
            }
        });
        Arc::new(LocalFeed { audience, tx })
    }
}

impl UpdateSink for LocalFeed {
    fn deliver(&self, update: Update) {
        // An update nobody here watches is not worth a task's wake-up; a subscriber
        // that joins after this check starts from a state at least this new.
        if !self.audience.is_watched(update.session_id()) {
            return;
        }
        // Only fails once the runtime is shutting down (the task is gone).
        let _ = self.tx.send(update);
    }
}
