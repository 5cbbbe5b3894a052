//! The region's sequence as the writing scripts take it (`take_seq` in `lib.lua`: one
//! `INCR`, reseeded when fresh), against a real `redis-server`, single-region (no
//! relay log, the path most commits take):
//!
//! - each commit and delete takes the next number, one more than the last;
//! - a fresh or lost sequence starts at the commit time (ms) × 1000, above every
//!   earlier number, so event ids never repeat after Redis loses its data; so does one
//!   that holds 0;
//! - a sequence that is not an integer refuses the commit having written nothing.

use std::time::Duration;

use synckairos::clock::now_ms;
use synckairos::domain::RegionId;
use synckairos::store::redis::{command_config, connect, RedisStore};
use synckairos::store::{keys, Expected, Store, StoreError};

use crate::support::procs::Redis;
use crate::support::relay::{commit_of as commit, conn, footprint, head, new_session, set_seq};
use crate::support::server::uuid;

const HOME: &str = "iad";

fn single_region(redis: &Redis) -> RedisStore {
    let primary = connect(&redis.url(), command_config(Duration::from_secs(2))).expect("connect");
    RedisStore::new(primary, None, &RegionId::from(HOME), 64, None, None)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_write_takes_the_next_number_and_a_fresh_sequence_starts_at_the_commit_time() {
    let redis = Redis::start();
    let store = single_region(&redis);
    let mut c = conn(&redis.url()).await;
    let origin = RegionId::from(HOME);
    let before = now_ms() as u64 * 1000;
    let mut s = new_session(&uuid(), HOME);
    store.insert(commit(&s, &origin)).await.expect("create");
    let first = head(&mut c).await;
    assert!(
        first >= before,
        "fresh: {first} starts at now_ms x 1000 ({before})"
    );
    for n in 1..=3 {
        let expected = Expected::of(&s);
        s.version += 1;
        store
            .commit(expected, commit(&s, &origin))
            .await
            .expect("commit");
        assert_eq!(head(&mut c).await, first + n, "one more per commit");
    }
    let other = new_session(&uuid(), HOME);
    store.insert(commit(&other, &origin)).await.expect("create");
    store
        .delete(&other.session_id, &origin, None)
        .await
        .expect("delete");
    assert_eq!(
        head(&mut c).await,
        first + 5,
        "a create and a delete take one each"
    );

    // Lost (evicted, or a flushed Redis): starts again above every earlier number.
    for lost in [None, Some("0")] {
        let last = head(&mut c).await;
        match lost {
            None => {
                let () = redis::cmd("DEL")
                    .arg(keys::SEQUENCE)
                    .query_async(&mut c)
                    .await
                    .map(|_: i64| ())
                    .expect("DEL seq");
            }
            Some(v) => set_seq(&mut c, v).await,
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
        let floor = now_ms() as u64 * 1000;
        let expected = Expected::of(&s);
        s.version += 1;
        // The commit time (the change's `updated_at`) is what a fresh sequence starts at.
        s.updated_at = now_ms();
        store
            .commit(expected, commit(&s, &origin))
            .await
            .expect("commit");
        let now = head(&mut c).await;
        assert!(
            now > last && now >= floor,
            "{lost:?}: {now} above {last} and {floor}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sequence_that_is_not_an_integer_refuses_the_commit_having_written_nothing() {
    let redis = Redis::start();
    let store = single_region(&redis);
    let mut c = conn(&redis.url()).await;
    let origin = RegionId::from(HOME);
    let s = new_session(&uuid(), HOME);
    store.insert(commit(&s, &origin)).await.expect("create");
    for bad in ["1.5", "not a number", "99999999999999999999"] {
        set_seq(&mut c, bad).await;
        let before = footprint(&mut c, HOME, &s.session_id).await;
        let mut next = s.clone();
        next.version += 1;
        let err = store.commit(Expected::of(&s), commit(&next, &origin)).await;
        assert!(
            matches!(&err, Err(StoreError::Unavailable { source, .. }) if source.to_string().contains("sequence")),
            "{bad:?}: {err:?}"
        );
        assert_eq!(
            footprint(&mut c, HOME, &s.session_id).await,
            before,
            "{bad:?}: the refused commit wrote"
        );
    }
}
