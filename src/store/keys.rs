//! Every Redis key and pub/sub channel name SyncKairos uses, in one place.
//!
//! One Redis per region; nothing here is shared between regions. Keys are short on
//! purpose: an idle 2-participant session should cost at most 300 bytes of Redis memory
//! (about 260 with the stored-state format 3 of `codec`: a 78-byte value).

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

/// Size estimate of the relay log (field `a`: moving average of an entry's bytes), so
/// that it is capped by bytes (`relay.log_max_bytes`) as well as entries.
pub const RELAY_LOG_META: &str = "rlm";

/// Size estimate of the audit outbox (as `RELAY_LOG_META`, for `audit.outbox_max_bytes`).
pub const OUTBOX_META: &str = "obm";

/// In a receiving region: the last sequence number applied from `home`.
pub fn relay_applied(home: &str) -> String {
    format!("rq:{home}")
}

/// In a receiving region: the fingerprint (`Envelope::fingerprint`) of the entry of
/// `home`'s log at `relay_applied`, so that a home whose log took another course after
/// that position (restored from an older copy, then written again) is recognised.
pub fn relay_fingerprint(home: &str) -> String {
    format!("rf:{home}")
}

/// In a receiving region: why reads of `home`'s sessions are marked stale although
/// its relay link delivers frames (`diverged`, `stalled`, `catching-up`); absent
/// when none. Written by the follower leader, read by every instance.
pub fn relay_degraded(home: &str) -> String {
    format!("rd:{home}")
}

/// Buckets of the index of a home's sessions. Every region must use the same number
/// (the home and its followers compare bucket by bucket).
pub const INDEX_BUCKETS: u32 = 1024;

/// The index bucket of a session id (`fanout_shard`'s hash, so stable everywhere).
pub fn index_bucket(session_id: &str) -> u32 {
    fanout_shard(session_id, INDEX_BUCKETS)
}

/// One bucket of the index of `home`'s sessions held in this region's Redis: a hash
/// session id → entry (`store::index::Entry`). At the home: the sessions it owns;
/// elsewhere: the copies kept of them. Never other homes' sessions.
pub fn index(home: &str, bucket: u32) -> String {
    format!("ix:{home}:{bucket}")
}

/// The digest of `home`'s index in this region's Redis: a hash with one field per
/// non-empty bucket (sum of its entries' hashes, mod 2^48), `t` (the sum over all
/// buckets) and `n` (entries).
pub fn digest(home: &str) -> String {
    format!("dg:{home}")
}

/// Set once the index of this Redis was built from its stored sessions (sessions
/// stored by versions without the index get their entries then).
pub const INDEX_BUILT: &str = "ixb";

/// This region's ownership lease (issue 11): present (with a millisecond expiry) while
/// a majority of regions vouches for it; the commit script refuses to commit without
/// it when fencing is on (`region::owners`).
pub const OWNER_LEASE: &str = "own:lease";

/// A lease this region granted `region` (issue 11): present until the grant and its
/// margin ran out; no takeover vote for `region` meanwhile.
pub fn owner_granted(region: &str) -> String {
    format!("own:g:{region}")
}

/// This region's vote for a takeover of `region`: no lease grants to it meanwhile.
pub fn owner_voted(region: &str) -> String {
    format!("own:v:{region}")
}

/// `"<successor>:<seq>"`: `region`'s sessions were taken over by `successor`, whose log
/// holds the takeover up to `seq`; `region` gets no lease until it applied that far.
pub fn owner_taken(region: &str) -> String {
    format!("own:t:{region}")
}

/// Present while this region is drained (maintenance): its new sessions are homed at
/// its successor.
pub const OWNER_DRAINED: &str = "own:drained";

/// Numbers the audit records of superseded writes (`relay::superseded`): small
/// numbers, apart from the commit sequence (which starts at epoch ms × 1000).
pub const SUPERSEDED_SEQ: &str = "own:sq";

/// One instance of the successor at a time runs a takeover of `region`.
pub fn owner_takeover_lock(region: &str) -> String {
    format!("own:l:{region}")
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
