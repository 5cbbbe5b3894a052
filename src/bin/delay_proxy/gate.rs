//! The link's partition state, watched by every connection.
//!
//! `epoch` counts heals that ended a partition: a connection remembers the epoch it
//! was accepted in and is closed once the epoch moves on, so connections that lived
//! through a partition are reset on heal while newer ones are left alone.

use std::sync::Arc;

use tokio::sync::watch;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct State {
    pub partitioned: bool,
    pub epoch: u64,
}

#[derive(Clone)]
pub struct Gate {
    tx: Arc<watch::Sender<State>>,
}

impl Gate {
    pub fn new() -> Gate {
        Gate {
            tx: Arc::new(watch::Sender::new(State::default())),
        }
    }

    /// Starts blackholing; false when already partitioned.
    pub fn partition(&self) -> bool {
        self.tx
            .send_if_modified(|s| !std::mem::replace(&mut s.partitioned, true))
    }

    /// Ends the partition (closing the connections it held); false when not partitioned.
    pub fn heal(&self) -> bool {
        self.tx.send_if_modified(|s| {
            if !s.partitioned {
                return false;
            }
            s.partitioned = false;
            s.epoch += 1;
            true
        })
    }

    pub fn subscribe(&self) -> watch::Receiver<State> {
        self.tx.subscribe()
    }
}
