//! The index of one home's sessions in a region's Redis, and its bucketed digest: at
//! the home, the sessions it owns; in every other region, the copies kept of them.
//! The scripts that change a session keep both in the same atomic step
//! (`index_put` in `lua/lib.lua`); this module builds the entries they store and reads
//! entries and digests back, so that two regions compare a home's sessions bucket by
//! bucket (a digest first, entries only for buckets that differ) without scanning
//! anything.
//!
//! An entry is `"<version>:<created_at>:<content>"`, plus `":<epoch>"` once the
//! session's ownership moved: a state's rank (see `region::precedence`) and a hash of
//! its stored bytes, so that equal digests mean byte-identical copies. A session is
//! indexed under the home its stored state names (a re-home moves its entry from the
//! old home's index to the new one's, in every region alike).
//!
//! Must not: decide which state wins (`region::precedence`) or talk to other regions.

use std::collections::BTreeMap;

use redis::aio::ConnectionManager;
use redis::RedisResult;

use super::keys;
use crate::domain::{Millis, Session, SessionId, Stamp};

/// A session's index entry: what two regions compare before they compare states.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    pub version: u64,
    pub created_at: Millis,
    /// FNV-1a (32 bits) of the stored bytes.
    pub content: u32,
    /// Ownership epoch (`Session::epoch`).
    pub epoch: u32,
}

impl Entry {
    /// The entry of `s` stored as `bytes`.
    pub fn of(s: &Session, bytes: &[u8]) -> Entry {
        let mut h: u32 = 0x811c_9dc5;
        for b in bytes {
            h ^= u32::from(*b);
            h = h.wrapping_mul(0x0100_0193);
        }
        Entry {
            version: s.version,
            created_at: s.created_at,
            content: h,
            epoch: s.epoch,
        }
    }

    /// The stored form (hashed into the digest: both regions must build it alike).
    pub fn encode(&self) -> String {
        let (v, c, h) = (self.version, self.created_at, self.content);
        match self.epoch {
            0 => format!("{v}:{c}:{h:08x}"),
            e => format!("{v}:{c}:{h:08x}:{e}"),
        }
    }

    pub fn parse(s: &str) -> Option<Entry> {
        let mut parts = s.splitn(4, ':');
        Some(Entry {
            version: parts.next()?.parse().ok()?,
            created_at: parts.next()?.parse().ok()?,
            content: u32::from_str_radix(parts.next()?, 16).ok()?,
            epoch: match parts.next() {
                Some(e) => e.parse().ok()?,
                None => 0,
            },
        })
    }

    pub fn stamp(&self) -> Stamp {
        (self.created_at, self.epoch, self.version)
    }
}

/// A home's index at a glance: the sequence it corresponds to (at the home: its head;
/// elsewhere: the position applied from its log), the digest over every bucket and
/// the number of entries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub seq: u64,
    pub total: u64,
    pub count: u64,
}

/// `seq_key` and the digest of `home`'s index read in one atomic step.
async fn summary_at(conn: &ConnectionManager, seq_key: &str, home: &str) -> RedisResult<Summary> {
    let mut c = conn.clone();
    let (seq, (total, count)): (Option<u64>, (Option<u64>, Option<u64>)) = redis::pipe()
        .atomic()
        .cmd("GET")
        .arg(seq_key)
        .cmd("HMGET")
        .arg(keys::digest(home))
        .arg("t")
        .arg("n")
        .query_async(&mut c)
        .await?;
    Ok(Summary {
        seq: seq.unwrap_or(0),
        total: total.unwrap_or(0),
        count: count.unwrap_or(0),
    })
}

/// At the home: its head and the digest of its own sessions.
pub async fn home_summary(conn: &ConnectionManager, home: &str) -> RedisResult<Summary> {
    summary_at(conn, keys::SEQUENCE, home).await
}

/// In a following region: the position applied from `home`'s log and the digest of
/// the copies kept here.
pub async fn copies_summary(conn: &ConnectionManager, home: &str) -> RedisResult<Summary> {
    summary_at(conn, &keys::relay_applied(home), home).await
}

/// The digest of every non-empty bucket of `home`'s index.
pub async fn bucket_digests(
    conn: &ConnectionManager,
    home: &str,
) -> RedisResult<BTreeMap<u32, u64>> {
    let mut c = conn.clone();
    let all: BTreeMap<String, String> = redis::cmd("HGETALL")
        .arg(keys::digest(home))
        .query_async(&mut c)
        .await?;
    Ok(all
        .into_iter()
        .filter_map(|(k, v)| Some((k.parse().ok()?, v.parse().ok()?)))
        .collect())
}

/// The entries of `buckets` of `home`'s index (one pipelined round trip); unreadable
/// entries are left out (they differ from anything, so they get repaired).
pub async fn entries(
    conn: &ConnectionManager,
    home: &str,
    buckets: &[u32],
) -> RedisResult<Vec<(u32, Vec<(SessionId, Entry)>)>> {
    if buckets.is_empty() {
        return Ok(Vec::new());
    }
    let mut pipe = redis::pipe();
    for b in buckets {
        pipe.cmd("HGETALL").arg(keys::index(home, *b));
    }
    let mut c = conn.clone();
    let all: Vec<Vec<(String, String)>> = pipe.query_async(&mut c).await?;
    Ok(buckets
        .iter()
        .zip(all)
        .map(|(b, fields)| {
            let parsed = fields
                .into_iter()
                .filter_map(|(id, e)| Some((SessionId::from(id), Entry::parse(&e)?)))
                .collect();
            (*b, parsed)
        })
        .collect())
}

/// Every session id in `home`'s index here (the non-empty buckets, 128 per round trip).
pub async fn ids_of(conn: &ConnectionManager, home: &str) -> RedisResult<Vec<SessionId>> {
    let buckets: Vec<u32> = bucket_digests(conn, home).await?.into_keys().collect();
    let mut ids = Vec::new();
    for chunk in buckets.chunks(128) {
        for (_, es) in entries(conn, home, chunk).await? {
            ids.extend(es.into_iter().map(|(id, _)| id));
        }
    }
    Ok(ids)
}

/// The stored bytes of `ids` (one `MGET`), in order.
pub async fn states(
    conn: &ConnectionManager,
    ids: &[SessionId],
) -> RedisResult<Vec<Option<Vec<u8>>>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let keys: Vec<String> = ids.iter().map(|id| keys::session(id)).collect();
    let mut c = conn.clone();
    redis::cmd("MGET").arg(&keys).query_async(&mut c).await
}

/// Removes the entries of `ids` (all in `bucket` of `home`'s index) whose session is
/// gone; returns how many were removed.
pub async fn prune(
    conn: &ConnectionManager,
    home: &str,
    bucket: u32,
    ids: &[SessionId],
) -> RedisResult<u64> {
    if ids.is_empty() {
        return Ok(0);
    }
    let script = super::scripts::index_prune();
    let mut inv = script.key(keys::index(home, bucket));
    inv.key(keys::digest(home)).arg(bucket);
    for id in ids {
        inv.key(keys::session(id)).arg(id.as_str());
    }
    let mut c = conn.clone();
    inv.invoke_async(&mut c).await
}

/// Gives sessions stored without an index entry theirs, from one `SCAN` page of
/// session keys at `cursor`; returns the next cursor (`0` at the end) and how many
/// entries were written or confirmed.
pub async fn fill_page(conn: &ConnectionManager, cursor: u64) -> RedisResult<(u64, usize)> {
    let mut c = conn.clone();
    let (next, found): (u64, Vec<String>) = redis::cmd("SCAN")
        .arg(cursor)
        .arg("MATCH")
        .arg("s:*")
        .arg("COUNT")
        .arg(500)
        .query_async(&mut c)
        .await?;
    if found.is_empty() {
        return Ok((next, 0));
    }
    let values: Vec<Option<Vec<u8>>> = redis::cmd("MGET").arg(&found).query_async(&mut c).await?;
    let script = super::scripts::index_fill();
    let mut pipe = redis::pipe();
    pipe.load_script(&script).ignore();
    let mut n = 0;
    for (key, value) in found.iter().zip(values) {
        let id = SessionId::from(key.trim_start_matches("s:"));
        let Some(bytes) = value else { continue };
        let Ok(s) = super::decode_state(&id, &bytes) else {
            continue;
        };
        let bucket = keys::index_bucket(&id);
        pipe.invoke_script(
            script
                .key(keys::session(&id))
                .key(keys::index(&s.home_region, bucket))
                .key(keys::digest(&s.home_region))
                .arg(&bytes[..])
                .arg(bucket)
                .arg(id.as_str())
                .arg(Entry::of(&s, &bytes).encode()),
        );
        n += 1;
    }
    let _: Vec<i64> = pipe.query_async(&mut c).await?;
    Ok((next, n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip() {
        let e = Entry {
            version: 12,
            created_at: 1_730_196_000_123,
            content: 0xab,
            epoch: 0,
        };
        assert_eq!(e.encode(), "12:1730196000123:000000ab");
        let moved = Entry { epoch: 2, ..e };
        assert_eq!(moved.encode(), "12:1730196000123:000000ab:2");
        assert_eq!(Entry::parse(&moved.encode()), Some(moved));
        assert!(moved.stamp() > e.stamp());
        assert_eq!(Entry::parse(&e.encode()), Some(e));
        assert_eq!(Entry::parse("x:1:0"), None);
        assert_eq!(Entry::parse("12:1"), None);
        let later = Entry {
            version: 1,
            created_at: 2_000_000_000_000,
            content: 0,
            epoch: 0,
        };
        assert!(later.stamp() > e.stamp());
    }
}
