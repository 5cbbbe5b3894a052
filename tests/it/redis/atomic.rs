//! The Redis store's writing scripts against a real `redis-server`, called through the
//! store itself (the multi-region configuration: relay log and index on, audit on):
//!
//! - a commit that cannot complete (a key of the wrong type) is refused having written
//!   nothing: no state, index, deadline, sequence number, outbox or log entry, no
//!   fan-out message;
//!   (keys the script reads first refuse a wrong type by that read, the others by
//!   `TYPE` checks);
//! - a relay log whose last id is above the sequence (a lost sequence key) does not
//!   fail a commit: the sequence moves above it, the change is committed once;
//! - the compare-and-set covers the incarnation: a change computed from a session that
//!   was deleted and created again meanwhile is refused, even at the same version;
//! - deleting a session that does not exist uses no sequence number and no log entry;
//! - the digest kept by the scripts equals the one recomputed from the index, and the
//!   incarnation Lua reads equals the one Rust decodes;
//! - Lua reads the version, epoch and incarnation of every stored format (3, and the
//!   1 and 2 written before it) as Rust does, negative and large instants included;
//! - streams are capped by bytes as well as entries.

use std::time::Duration;

use redis::aio::MultiplexedConnection;
use synckairos::domain::{RegionId, Session};
use synckairos::store::codec::{
    encode_state, encode_state_legacy, stored_created_at, stored_epoch, stored_version,
};
use synckairos::store::redis::{command_config, connect, RedisStore, StreamCap};
use synckairos::store::{keys, Commit, Expected, Store, StoreError};

use crate::support::procs::Redis;
use crate::support::relay::{commit_of as commit, conn, footprint, head, new_session, set_seq};
use crate::support::server::uuid;

const HOME: &str = "iad";

fn store(redis: &Redis, log: StreamCap) -> RedisStore {
    let primary = connect(&redis.url(), command_config(Duration::from_secs(2))).expect("connect");
    let outbox = StreamCap {
        max_len: 1_000,
        max_bytes: 1 << 30,
    };
    RedisStore::new(
        primary,
        None,
        &RegionId::from(HOME),
        64,
        Some(outbox),
        Some(log),
    )
}

const LOG: StreamCap = StreamCap {
    max_len: 10_000,
    max_bytes: 1 << 30,
};

/// `commit` with a deadline a minute after the session's creation (the script then
/// reads the deadline index before writing).
fn commit_due<'a>(s: &'a Session, origin: &'a RegionId) -> Commit<'a> {
    Commit {
        deadline: Some(s.created_at + 60_000),
        ..commit(s, origin)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_that_would_fail_leaves_nothing_written() {
    let redis = Redis::start();
    let store = store(&redis, LOG);
    let mut c = conn(&redis.url()).await;
    let origin = RegionId::from(HOME);
    let id = uuid();
    let mut s = new_session(&id, HOME);
    store.insert(commit(&s, &origin)).await.expect("create");
    let before = footprint(&mut c, HOME, &id).await;

    // A stream key that holds a string: the log append would fail after the writes.
    let mut sub = redis::Client::open(redis.url())
        .expect("url")
        .get_async_pubsub()
        .await
        .expect("pubsub");
    sub.subscribe(keys::fanout_channel(keys::fanout_shard(&id, 64)))
        .await
        .expect("subscribe");
    let () = redis::cmd("RENAME")
        .arg(keys::RELAY_LOG)
        .arg("rlog-aside")
        .query_async(&mut c)
        .await
        .expect("rename");
    let () = redis::cmd("SET")
        .arg(keys::RELAY_LOG)
        .arg("not a stream")
        .query_async(&mut c)
        .await
        .expect("set");
    let expected = Expected::of(&s);
    s.version += 1;
    s.updated_at += 5;
    let err = store.commit(expected, commit(&s, &origin)).await;
    assert!(
        matches!(err, Err(StoreError::Unavailable { .. })),
        "commit answered {err:?}"
    );
    let () = redis::cmd("DEL")
        .arg(keys::RELAY_LOG)
        .query_async(&mut c)
        .await
        .expect("del");
    let () = redis::cmd("RENAME")
        .arg("rlog-aside")
        .arg(keys::RELAY_LOG)
        .query_async(&mut c)
        .await
        .expect("rename back");
    assert_eq!(
        footprint(&mut c, HOME, &id).await,
        before,
        "the refused commit wrote"
    );
    let published = tokio::time::timeout(Duration::from_millis(200), async {
        use futures_util::StreamExt;
        sub.on_message().next().await
    })
    .await;
    assert!(
        published.is_err(),
        "the refused commit published {published:?}"
    );

    // Once the key is right again, the same commit goes through, once.
    store
        .commit(expected, commit(&s, &origin))
        .await
        .expect("commit");
    let again = store.commit(expected, commit(&s, &origin)).await;
    assert!(matches!(
        again,
        Err(StoreError::Conflict {
            expected: 1,
            actual: 2
        })
    ));
}

/// The keys the commit script reads before writing (the session, the deadline index
/// when a deadline is set, the sequence) are not checked with `TYPE` first: the read
/// itself must refuse a wrong type, having written nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_read_before_the_writes_refuse_a_wrong_type_having_written_nothing() {
    let redis = Redis::start();
    let store = store(&redis, LOG);
    let mut c = conn(&redis.url()).await;
    let origin = RegionId::from(HOME);
    let id = uuid();
    let mut s = new_session(&id, HOME);
    store.insert(commit(&s, &origin)).await.expect("create");
    let session_key = keys::session(&id);
    for key in [session_key.as_str(), keys::DEADLINES, keys::SEQUENCE] {
        let before = footprint(&mut c, HOME, &id).await;
        let () = redis::cmd("RENAME")
            .arg(key)
            .arg("aside")
            .query_async(&mut c)
            .await
            .unwrap_or(());
        let () = redis::cmd("RPUSH")
            .arg(key)
            .arg("not what the script expects")
            .query_async(&mut c)
            .await
            .map(|_: i64| ())
            .expect("rpush");
        let expected = Expected::of(&s);
        let mut next = s.clone();
        next.version += 1;
        next.updated_at += 5;
        let err = store.commit(expected, commit_due(&next, &origin)).await;
        assert!(
            matches!(&err, Err(StoreError::Unavailable { source, .. }) if source.to_string().contains(key)),
            "{key} of the wrong type: commit answered {err:?}"
        );
        let () = redis::cmd("DEL")
            .arg(key)
            .query_async(&mut c)
            .await
            .map(|_: i64| ())
            .expect("del");
        let _: redis::RedisResult<()> = redis::cmd("RENAME")
            .arg("aside")
            .arg(key)
            .query_async(&mut c)
            .await;
        assert_eq!(
            footprint(&mut c, HOME, &id).await,
            before,
            "{key}: the refused commit wrote"
        );
        // Right again: the same commit goes through.
        store
            .commit(expected, commit_due(&next, &origin))
            .await
            .expect("commit");
        s = next;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_log_ahead_of_the_sequence_does_not_fail_a_commit() {
    let redis = Redis::start();
    let store = store(&redis, LOG);
    let mut c = conn(&redis.url()).await;
    let origin = RegionId::from(HOME);
    let mut s = new_session(&uuid(), HOME);
    store.insert(commit(&s, &origin)).await.expect("create");
    let seq = head(&mut c).await;
    // The sequence key lost (evicted, restored apart), the log kept: ids ahead of it.
    set_seq(&mut c, "5").await;
    let expected = Expected::of(&s);
    s.version += 1;
    store
        .commit(expected, commit(&s, &origin))
        .await
        .expect("the commit is not refused");
    let now = head(&mut c).await;
    assert_eq!(now, seq + 1, "the sequence moved above the log's last id");
    let last: redis::streams::StreamRangeReply = redis::cmd("XREVRANGE")
        .arg(keys::RELAY_LOG)
        .arg("+")
        .arg("-")
        .arg("COUNT")
        .arg(1)
        .query_async(&mut c)
        .await
        .expect("xrevrange");
    assert_eq!(last.ids[0].id, format!("{now}-0"));
    let stored: Vec<u8> = redis::cmd("GET")
        .arg(keys::session(&s.session_id))
        .query_async(&mut c)
        .await
        .expect("get");
    assert_eq!(stored, encode_state(&s), "committed once, at version 2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_compare_and_set_covers_the_incarnation() {
    let redis = Redis::start();
    let store = store(&redis, LOG);
    let mut c = conn(&redis.url()).await;
    let origin = RegionId::from(HOME);
    let id = uuid();
    let old = new_session(&id, HOME);
    store.insert(commit(&old, &origin)).await.expect("create");
    let raw: Vec<u8> = redis::cmd("GET")
        .arg(keys::session(&id))
        .query_async(&mut c)
        .await
        .expect("get");
    assert_eq!(stored_created_at(&raw).expect("decodes"), old.created_at);
    let lua: i64 = redis::Script::new(&format!(
        "{}\nreturn state_created(redis.call('GET', KEYS[1]))",
        include_str!("../../../src/store/lua/lib.lua")
    ))
    .key(keys::session(&id))
    .invoke_async(&mut c)
    .await
    .expect("lua");
    assert_eq!(lua, old.created_at, "Lua's incarnation is Rust's");

    // Deleted and created again (same id, version 1 again) between load and commit.
    assert!(store
        .delete(&old.session_id, &origin, None)
        .await
        .expect("delete"));
    tokio::time::sleep(Duration::from_millis(5)).await;
    let new = new_session(&id, HOME);
    assert!(new.created_at > old.created_at);
    store
        .insert(commit(&new, &origin))
        .await
        .expect("re-create");
    let mut stale = old.clone();
    stale.version = 2;
    let refused = store
        .commit(Expected::of(&old), commit(&stale, &origin))
        .await;
    assert!(
        matches!(
            refused,
            Err(StoreError::Conflict {
                expected: 1,
                actual: 1
            })
        ),
        "a change of the old incarnation: {refused:?}"
    );
    let stored: Vec<u8> = redis::cmd("GET")
        .arg(keys::session(&id))
        .query_async(&mut c)
        .await
        .expect("get");
    assert_eq!(
        stored,
        encode_state(&new),
        "the new incarnation is untouched"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lua_reads_every_format_header_as_rust_does() {
    let redis = Redis::start();
    let mut c = conn(&redis.url()).await;
    let read = redis::Script::new(&format!(
        "{}\nlocal v = redis.call('GET', KEYS[1])\n\
         return {{state_version(v), state_epoch(v), state_created(v)}}",
        include_str!("../../../src/store/lua/lib.lua")
    ));
    let base = new_session(&uuid(), HOME);
    let mut cases = Vec::new();
    for (created_at, epoch, version, zero_loss) in [
        (base.created_at, 0, 1, false),
        (base.created_at, 3, 7, false),
        (base.created_at, 0, 2, true),
        (-86_400_000, 2, 5, false),
        (-1, 0, 1, false),
        // Lua numbers are doubles: instants up to 2^53 read exactly.
        ((1_i64 << 53) - 1, u32::MAX, (1 << 53) - 1, false),
    ] {
        let mut s = base.clone();
        s.created_at = created_at;
        s.updated_at = created_at;
        s.epoch = epoch;
        s.epoch_since = if epoch > 0 { version } else { 0 };
        s.version = version;
        s.zero_loss = zero_loss;
        cases.push(encode_state(&s));
        cases.push(encode_state_legacy(&s));
    }
    for bytes in cases {
        let key = format!("s:{}", uuid());
        let _: () = redis::cmd("SET")
            .arg(&key)
            .arg(&bytes[..])
            .query_async(&mut c)
            .await
            .expect("set");
        let got: (i64, i64, i64) = read.key(&key).invoke_async(&mut c).await.expect("lua");
        let rust = (
            stored_version(&bytes).expect("version") as i64,
            i64::from(stored_epoch(&bytes).expect("epoch")),
            stored_created_at(&bytes).expect("created_at"),
        );
        assert_eq!(got, rust, "format {}", bytes[0]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deletes_of_missing_sessions_use_no_sequence_number_and_digests_add_up() {
    let redis = Redis::start();
    let store = store(&redis, LOG);
    let mut c = conn(&redis.url()).await;
    let origin = RegionId::from(HOME);
    let mut ids = Vec::new();
    for _ in 0..50 {
        let s = new_session(&uuid(), HOME);
        store.insert(commit(&s, &origin)).await.expect("create");
        ids.push(s);
    }
    for s in ids.iter_mut().take(20) {
        let expected = Expected::of(s);
        s.version += 1;
        store
            .commit(expected, commit(s, &origin))
            .await
            .expect("commit");
    }
    for s in ids.iter().skip(40) {
        assert!(store
            .delete(&s.session_id, &origin, None)
            .await
            .expect("delete"));
    }
    let (seq, len) = (head(&mut c).await, xlen(&mut c).await);
    for _ in 0..10 {
        let missing = uuid();
        assert!(!store
            .delete(&missing.as_str().into(), &origin, None)
            .await
            .expect("delete"));
    }
    assert_eq!((head(&mut c).await, xlen(&mut c).await), (seq, len));

    // The digest the scripts kept, recomputed from the index entries.
    let recomputed: Vec<String> = redis::Script::new(RECOMPUTE)
        .arg(HOME)
        .arg(keys::INDEX_BUCKETS)
        .invoke_async(&mut c)
        .await
        .expect("recompute");
    let kept: std::collections::BTreeMap<String, String> = redis::cmd("HGETALL")
        .arg(keys::digest(HOME))
        .query_async(&mut c)
        .await
        .expect("digest");
    assert_eq!(recomputed, vec![kept["t"].clone(), kept["n"].clone()]);
    assert_eq!(kept["n"], "40");
}

async fn xlen(c: &mut MultiplexedConnection) -> u64 {
    redis::cmd("XLEN")
        .arg(keys::RELAY_LOG)
        .query_async(c)
        .await
        .expect("xlen")
}

/// Sum of the entries' hashes over every bucket, mod 2^48, and the count (the rule of
/// `index_put` in `lua/lib.lua`, computed from scratch).
const RECOMPUTE: &str = r"
local t, n = 0, 0
for b = 0, tonumber(ARGV[2]) - 1 do
  local e = redis.call('HGETALL', 'ix:' .. ARGV[1] .. ':' .. b)
  for i = 1, #e, 2 do
    local h = tonumber(string.sub(redis.sha1hex(e[i] .. '\n' .. e[i + 1]), 1, 12), 16)
    t = (t + h) % 281474976710656
    n = n + 1
  end
end
return {string.format('%d', t), tostring(n)}
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_relay_log_is_capped_by_bytes_as_well_as_entries() {
    let redis = Redis::start();
    let mut c = conn(&redis.url()).await;
    let origin = RegionId::from(HOME);
    // About 40 entries' worth of bytes, far fewer than the entry cap: the size of one
    // entry as the scripts measure it (the first entry sets their average).
    let entry = {
        let s = new_session(&uuid(), HOME);
        store(&redis, LOG)
            .insert(commit(&s, &origin))
            .await
            .expect("create");
        let a: String = redis::cmd("HGET")
            .arg(keys::RELAY_LOG_META)
            .arg("a")
            .query_async(&mut c)
            .await
            .expect("entry size");
        a.parse::<f64>().expect("a number") as u64
    };
    let store = store(
        &redis,
        StreamCap {
            max_len: 10_000,
            max_bytes: entry * 40,
        },
    );
    for _ in 0..200 {
        let s = new_session(&uuid(), HOME);
        store.insert(commit(&s, &origin)).await.expect("create");
    }
    let len = xlen(&mut c).await;
    assert!((20..=60).contains(&len), "the log holds {len} entries");
}
