//! The per-connection WebSocket rate limits, fixed one-second windows: messages (over
//! the limit a message is dropped, the first drop of a window answered with an
//! `ERROR`, far over it the connection is closed) and frames of every kind (over the
//! limit the connection is closed: empty continuation or ping frames cost the server
//! work too).
//!
//! Must not: do IO (the connection acts on the verdict).

use crate::domain::Millis;

/// Messages beyond `ABUSE_FACTOR` × the limit in one second close the connection.
const ABUSE_FACTOR: u32 = 10;

pub enum RateVerdict {
    Allow,
    /// Over the limit: drop the message; `first` for the first drop in this second.
    Refuse {
        first: bool,
    },
    Abuse,
}

/// Fixed one-second window per connection.
pub struct MessageRate {
    limit: u32,
    window_start: Millis,
    count: u32,
}

impl MessageRate {
    pub fn new(limit: u32) -> Self {
        MessageRate {
            limit,
            window_start: 0,
            count: 0,
        }
    }

    pub fn check(&mut self, now: Millis) -> RateVerdict {
        if self.limit == 0 {
            return RateVerdict::Allow;
        }
        if now - self.window_start >= 1000 {
            self.window_start = now;
            self.count = 0;
        }
        self.count += 1;
        if self.count <= self.limit {
            RateVerdict::Allow
        } else if self.count > self.limit.saturating_mul(ABUSE_FACTOR) {
            RateVerdict::Abuse
        } else {
            RateVerdict::Refuse {
                first: self.count == self.limit + 1,
            }
        }
    }
}

/// Frames of any kind per one-second window (0: no limit).
pub struct FrameRate {
    limit: u32,
    window_start: Millis,
    count: u32,
}

impl FrameRate {
    pub fn new(limit: u32) -> Self {
        FrameRate {
            limit,
            window_start: 0,
            count: 0,
        }
    }

    /// Counts a frame at `now`; false once the window's limit is passed.
    pub fn allow(&mut self, now: Millis) -> bool {
        if self.limit == 0 {
            return true;
        }
        if now - self.window_start >= 1000 {
            self.window_start = now;
            self.count = 0;
        }
        self.count = self.count.saturating_add(1);
        self.count <= self.limit
    }
}
