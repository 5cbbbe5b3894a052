//! What the relay-at-scale tests share: a direct connection to a region's Redis,
//! sessions seeded at a home through the store's own commit script (thousands per
//! second, index, log and all), the digest of a home's index as a region holds it,
//! byte-for-byte comparison of many sessions between two Redis servers, surgery on a
//! home's relay log (an entry replaced), and labelled metrics of an instance.

use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::{self, StreamExt};
use redis::aio::MultiplexedConnection;
use redis::streams::StreamRangeReply;
use redis::Value;
use synckairos::clock::now_ms;
use synckairos::domain::{
    create_session, lifetime, next_deadline, NewParticipant, NewSession, RegionId, Session,
    SyncMode, TimeoutAction,
};
use synckairos::store::redis::{command_config, connect, RedisStore, StreamCap};
use synckairos::store::{keys, Commit, Store};

use crate::support::http::Client;
use crate::support::server::uuid;

pub async fn conn(url: &str) -> MultiplexedConnection {
    redis::Client::open(url)
        .expect("redis url")
        .get_multiplexed_async_connection()
        .await
        .unwrap_or_else(|e| panic!("connecting to {url}: {e}"))
}

/// A two-participant session of `home` (as `POST /v1/sessions` would create it).
pub fn new_session(id: &str, home: &str) -> Session {
    let p = |i: u32| NewParticipant {
        participant_id: format!("223e4567-e89b-42d3-a456-42661417400{i}").into(),
        participant_index: i,
        total_time_ms: 600_000,
        group_id: None,
    };
    create_session(
        NewSession {
            session_id: id.into(),
            sync_mode: SyncMode::PerParticipant,
            participants: vec![p(1), p(2)],
            total_time_ms: 1_200_000,
            time_per_cycle_ms: None,
            increment_ms: 0,
            max_time_ms: None,
            action_on_timeout: TimeoutAction::Continue,
            warning_thresholds_ms: vec![],
            lag_compensation: None,
            start_at: None,
            pause_policy: Default::default(),
            zero_loss: None,
        },
        &home.into(),
        now_ms(),
    )
    .expect("a valid session")
}

/// The commit of `s` as the service would make it: its next deadline, an hour's
/// lifetime, no events, no actor.
pub fn commit_of<'a>(s: &'a Session, origin: &'a RegionId) -> Commit<'a> {
    Commit {
        session: s,
        events: &[],
        deadline: next_deadline(s),
        keep_until: lifetime::keep_until(s, 3_600_000),
        origin,
        actor: None,
        moved_from: None,
    }
}

/// Creates `n` sessions homed in `home` directly in its Redis at `url`, through the
/// commit script (index, sequence, relay log entry, fan-out), `concurrency` at a time.
pub async fn seed(url: &str, home: &str, n: usize, concurrency: usize) -> Vec<String> {
    let primary = connect(url, command_config(Duration::from_secs(5))).expect("connect");
    let cap = StreamCap {
        max_len: 200_000,
        max_bytes: 256 * 1024 * 1024,
    };
    let store = Arc::new(RedisStore::new(
        primary,
        None,
        &RegionId::from(home),
        64,
        None,
        Some(cap),
    ));
    let ids: Vec<String> = (0..n).map(|_| uuid()).collect();
    let origin = RegionId::from(home);
    stream::iter(ids.clone())
        .map(|id| {
            let (store, origin) = (store.clone(), origin.clone());
            async move {
                let s = new_session(&id, home);
                store
                    .insert(commit_of(&s, &origin))
                    .await
                    .expect("seeding a session");
            }
        })
        .buffer_unordered(concurrency)
        .collect::<Vec<()>>()
        .await;
    ids
}

/// Everything a commit of session `id` homed in `home` writes, as raw values (a change
/// shows up as a difference): its value, its index entry and the home's digest, the
/// deadline index with its scores, the sequence, the outbox's length, the relay log.
pub async fn footprint(c: &mut MultiplexedConnection, home: &str, id: &str) -> Vec<Value> {
    let mut pipe = redis::pipe();
    pipe.cmd("GET").arg(keys::session(id));
    pipe.cmd("HGETALL")
        .arg(keys::index(home, keys::index_bucket(id)));
    pipe.cmd("HGETALL").arg(keys::digest(home));
    pipe.cmd("ZRANGE")
        .arg(keys::DEADLINES)
        .arg(0)
        .arg(-1)
        .arg("WITHSCORES");
    pipe.cmd("GET").arg(keys::SEQUENCE);
    pipe.cmd("XLEN").arg(keys::OUTBOX);
    pipe.cmd("DUMP").arg(keys::RELAY_LOG);
    pipe.query_async(c).await.expect("footprint")
}

/// `(total, count)` of the digest of `home`'s index in the Redis of `c`.
pub async fn digest(c: &mut MultiplexedConnection, home: &str) -> (u64, u64) {
    let (t, n): (Option<u64>, Option<u64>) = redis::cmd("HMGET")
        .arg(keys::digest(home))
        .arg("t")
        .arg("n")
        .query_async(c)
        .await
        .expect("HMGET digest");
    (t.unwrap_or(0), n.unwrap_or(0))
}

/// The stored bytes of `ids` (absent: `None`), in chunks of 1,000.
pub async fn states(c: &mut MultiplexedConnection, ids: &[String]) -> Vec<Option<Vec<u8>>> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(1000) {
        let keys: Vec<String> = chunk.iter().map(|id| keys::session(id)).collect();
        let got: Vec<Option<Vec<u8>>> = redis::cmd("MGET")
            .arg(&keys)
            .query_async(c)
            .await
            .expect("MGET");
        out.extend(got);
    }
    out
}

/// `Ok` when both hold every one of `ids`, byte for byte; else how many differ.
pub async fn same_bytes(
    a: &mut MultiplexedConnection,
    b: &mut MultiplexedConnection,
    ids: &[String],
) -> Result<(), String> {
    let (x, y) = (states(a, ids).await, states(b, ids).await);
    let missing = y.iter().filter(|v| v.is_none()).count();
    let differ = x.iter().zip(&y).filter(|(p, q)| p != q).count();
    if differ == 0 && missing == 0 {
        Ok(())
    } else {
        Err(format!(
            "{differ} of {} differ ({missing} missing)",
            ids.len()
        ))
    }
}

/// The region's sequence number.
pub async fn head(c: &mut MultiplexedConnection) -> u64 {
    let v: Option<u64> = redis::cmd("GET")
        .arg(keys::SEQUENCE)
        .query_async(c)
        .await
        .expect("GET seq");
    v.unwrap_or(0)
}

/// Sets the region's sequence number to `value` as it is (tests of lost, reset or
/// garbled sequences).
pub async fn set_seq(c: &mut MultiplexedConnection, value: &str) {
    let () = redis::cmd("SET")
        .arg(keys::SEQUENCE)
        .arg(value)
        .query_async(c)
        .await
        .expect("SET seq");
}

/// Rebuilds the home's relay log with the entry at `seq` carrying `envelope` instead
/// (the ids, hence the sequence numbers, stay).
pub async fn replace_log_entry(c: &mut MultiplexedConnection, seq: u64, envelope: &[u8]) {
    let all: StreamRangeReply = redis::cmd("XRANGE")
        .arg(keys::RELAY_LOG)
        .arg("-")
        .arg("+")
        .query_async(c)
        .await
        .expect("XRANGE");
    let target = format!("{seq}-0");
    assert!(
        all.ids.iter().any(|e| e.id == target),
        "no entry {target} in the log"
    );
    let mut pipe = redis::pipe();
    pipe.atomic().cmd("DEL").arg(keys::RELAY_LOG).ignore();
    for e in &all.ids {
        let value: Vec<u8> = if e.id == target {
            envelope.to_vec()
        } else {
            match e.map.get("e") {
                Some(Value::BulkString(b)) => b.clone(),
                other => panic!("entry {} without envelope: {other:?}", e.id),
            }
        };
        pipe.cmd("XADD")
            .arg(keys::RELAY_LOG)
            .arg(&e.id)
            .arg("e")
            .arg(value)
            .ignore();
    }
    let () = pipe.query_async(c).await.expect("rebuilding the log");
}

/// The sum of the samples of `name` whose labels contain every `label="value"` of
/// `labels`, in `/metrics` of an instance.
pub async fn metric(http: &Client, name: &str, labels: &[(&str, &str)]) -> f64 {
    let text = http.get("/metrics").await.expect(200).text();
    text.lines()
        .filter(|l| {
            l.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .filter(|l| {
            labels
                .iter()
                .all(|(k, v)| l.contains(&format!("{k}=\"{v}\"")))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}
