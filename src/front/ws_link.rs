//! What a WebSocket connection knows about its own link: the one-way delay to the
//! client, measured by the server (protocol pings carry the monotonic send time, the
//! client's pong echoes it, the difference is a round trip; the lowest recent round
//! trip, halved, is the delay a move spends in transit, which lag compensation
//! credits), and the home region of its session (learned from the states it sends, so
//! that `PONG` and message timestamps can be in the home's timebase without a storage
//! read).
//!
//! Also whether this side has sent a close (the connection then only waits for the
//! client's).
//!
//! Must not: send anything (the connection does) or trust a client-reported delay.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use crate::clock::mono_us;
use crate::domain::RegionId;

/// Round trips kept (the lowest counts).
const KEPT: usize = 8;
/// Round trips beyond this are ignored (a stalled peer, not a link).
const MAX_RTT_US: i64 = 10_000_000;

#[derive(Default)]
pub struct Link {
    rtts: Mutex<VecDeque<i64>>,
    home: Mutex<Option<RegionId>>,
    /// This side sent a close frame: what the client sends now is ignored.
    closing: AtomicBool,
}

impl Link {
    /// The payload of a protocol ping sent now.
    pub fn ping_payload() -> [u8; 8] {
        mono_us().to_be_bytes()
    }

    /// A pong arrived with `payload` (the echo of one of our pings): its round trip
    /// (µs), `None` when it is not one (unsolicited, garbled, implausible).
    pub fn on_pong(&self, payload: &[u8]) -> Option<i64> {
        let sent = <[u8; 8]>::try_from(payload).ok()?;
        let rtt = mono_us() - i64::from_be_bytes(sent);
        if !(0..=MAX_RTT_US).contains(&rtt) {
            return None;
        }
        let mut rtts = self.rtts.lock().unwrap_or_else(|e| e.into_inner());
        if rtts.len() == KEPT {
            rtts.pop_front();
        }
        rtts.push_back(rtt);
        Some(rtt)
    }

    /// The one-way delay to the client (µs): half the lowest recent round trip;
    /// 0 before the first pong.
    pub fn one_way_us(&self) -> i64 {
        let rtts = self.rtts.lock().unwrap_or_else(|e| e.into_inner());
        rtts.iter().min().map_or(0, |rtt| rtt / 2)
    }

    pub fn home(&self) -> Option<RegionId> {
        self.home.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn set_home(&self, home: &RegionId) {
        *self.home.lock().unwrap_or_else(|e| e.into_inner()) = Some(home.clone());
    }

    pub fn close_sent(&self) {
        self.closing.store(true, Ordering::Release);
    }

    pub fn closing(&self) -> bool {
        self.closing.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lowest_recent_round_trip_counts() {
        let link = Link::default();
        assert_eq!(link.one_way_us(), 0);
        let now = mono_us();
        for ago in [9_000, 4_000, 6_000] {
            link.on_pong(&(now - ago).to_be_bytes());
        }
        let one_way = link.one_way_us();
        assert!((2_000..2_500).contains(&one_way), "{one_way}");
        link.on_pong(b"short");
        link.on_pong(&(now + 1_000_000).to_be_bytes()); // from the future: ignored
        assert!(link.one_way_us() <= 2_500);
    }
}
