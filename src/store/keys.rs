//! Every Redis key and pub/sub channel name SyncKairos uses, in one place.
//!
//! One Redis per region; nothing here is shared between regions. Keys are short on
//! purpose: an idle session should cost well under 400 bytes of Redis memory.

/// Session state: `s:<session_id>` → encoded state (see `codec`), expiring at its lifetime.
pub fn session(session_id: &str) -> String {
    format!("s:{session_id}")
}

/// Sorted set of deadlines: member = session id, score = epoch ms when due.
pub const DEADLINES: &str = "dl";

/// The region's commit sequence number (incremented by every committed change).
pub const SEQUENCE: &str = "seq";

/// The audit outbox: a stream appended by the commit script in the same atomic step;
/// consumer group `AUDIT_GROUP` drains it into PostgreSQL.
pub const OUTBOX: &str = "ob";
pub const AUDIT_GROUP: &str = "audit";
/// Entries that could not be decoded are moved here instead of blocking the outbox.
pub const OUTBOX_DEAD: &str = "ob:dead";

/// The home's relay log: a stream of its commits' envelopes with ids `<seq>-0`, read
/// by other regions to follow and to catch up after a gap (capped at `relay.log_max`).
pub const RELAY_LOG: &str = "rlog";

/// In a receiving region: the last sequence number applied from `home`.
pub fn relay_applied(home: &str) -> String {
    format!("rq:{home}")
}

/// In a receiving region: when a frame from `home` last arrived (epoch ms).
pub fn relay_health(home: &str) -> String {
    format!("rh:{home}")
}

/// In a receiving region: which instance currently follows `home`'s relay log.
pub fn relay_leader(home: &str) -> String {
    format!("rl:{home}")
}

/// Pub/sub channel told about a deadline earlier than every indexed one, so that
/// sleeping schedulers on every instance wake for it.
pub const DEADLINE_WAKE: &str = "dlw";

/// Fan-out channels: updates for a session go to shard `hash(session_id) % shards`,
/// so each session's updates stay in order and an instance subscribes only to the
/// shards its WebSocket clients watch.
pub fn fanout_channel(shard: u32) -> String {
    format!("u:{shard}")
}

/// The shard of a session: FNV-1a over the id bytes (stable across processes and
/// versions, unlike std's randomised hasher).
pub fn fanout_shard(session_id: &str, shards: u32) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in session_id.bytes() {
        h ^= b as u32;
        h = h.wrapping_mul(0x0100_0193);
    }
    h % shards.max(1)
}

/// The dashboard's figures: instances of this region that published recently
/// (sorted set, score = last sample epoch ms) …
pub const TREND_INSTANCES: &str = "tr:i";

/// … and each one's recent intervals (list, newest first, capped at the history).
pub fn trend(instance: &str) -> String {
    format!("tr:{instance}")
}

/// A client's live sessions (quota): sorted set, member = session id, score = when it
/// stops counting (epoch ms).
pub fn live_sessions(client: &str) -> String {
    format!("q:{client}")
}

/// Rate-limit windows: `rl:g:<client>` (general), `rl:s:<session>` (switch) and
/// `rl:c:<client>` (creates).
pub fn rate_limit(bucket: &str, key: &str) -> String {
    format!("rl:{bucket}:{key}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_is_stable_and_in_range() {
        let id = "223e4567-e89b-12d3-a456-426614174001";
        assert_eq!(fanout_shard(id, 64), fanout_shard(id, 64));
        assert!(fanout_shard(id, 64) < 64);
        assert_eq!(fanout_shard(id, 0), 0);
    }
}
