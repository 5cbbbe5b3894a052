//! Crashes between the outbox and PostgreSQL, on real components: an instance killed
//! with SIGKILL in the middle of a batch (its PostgreSQL transaction open, its records
//! pending in the consumer group) while a second instance keeps serving: the survivor
//! claims the dead consumer's records (XAUTOCLAIM after `claim_idle_ms`) and every
//! event lands exactly once; a batch committed but never acknowledged is written
//! again without duplicates; a deletion must survive an older record claimed later.

use std::collections::BTreeMap;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::audit::*;
use crate::support::procs::free_port;
use sqlx::{Connection, PgConnection};
use synckairos::audit::outbox::Outbox;
use synckairos::audit::outbox_redis::RedisOutbox;
use synckairos::audit::{pg, record};

/// Pending records per consumer of group `audit` (`XINFO CONSUMERS`).
fn consumers(stack: &Stack) -> BTreeMap<String, u64> {
    let out = stack.redis.cli(&["XINFO", "CONSUMERS", "ob", "audit"]);
    let lines: Vec<&str> = out.lines().collect();
    let mut m = BTreeMap::new();
    let mut name = None;
    for w in lines.windows(2) {
        match w[0] {
            "name" => name = Some(w[1].to_owned()),
            "pending" => {
                if let Some(n) = name.take() {
                    m.insert(n, w[1].parse().unwrap_or(0));
                }
            }
            _ => {}
        }
    }
    m
}

/// Pending records of the instance's consumer (named `<region>-<pid>-<µs>`).
fn pending_of(stack: &Stack, pid: u32) -> u64 {
    let prefix = format!("local-{pid}-");
    consumers(stack)
        .into_iter()
        .filter(|(k, _)| k.starts_with(&prefix))
        .map(|(_, v)| v)
        .sum()
}

/// Holds an exclusive lock on `sync_events`: writers block inside their transaction.
async fn lock_events(stack: &Stack) -> PgConnection {
    let mut conn = PgConnection::connect(&stack.pg.url()).await.expect("psql");
    sqlx::query("BEGIN").execute(&mut conn).await.unwrap();
    sqlx::query("LOCK TABLE sync_events IN EXCLUSIVE MODE")
        .execute(&mut conn)
        .await
        .unwrap();
    conn
}

async fn unlock(mut conn: PgConnection) {
    sqlx::query("ROLLBACK").execute(&mut conn).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_batch_survivor_claims_and_exactly_once() {
    let stack = Stack::start();
    let idle = [("SYNCKAIROS_AUDIT__CLAIM_IDLE_MS", "1000".to_owned())];
    let mut a = stack.instance(&idle);
    let b = stack.instance(&idle);
    let a_pid = a.pid().expect("pid");
    let (ca, cb) = (client(&a), client(&b));
    let t: SharedTally = Arc::new(Mutex::new(Tally::default()));
    let load_a = load(&ca, &t, 4, &Arc::new(AtomicBool::new(false)));
    let load_b = load(&cb, &t, 4, &Arc::new(AtomicBool::new(false)));
    assert!(
        eventually(Duration::from_secs(5), || stack.events() > 0).await,
        "writing before the crash"
    );
    // Both writers get stuck inside a transaction with a batch in hand.
    let lock = lock_events(&stack).await;
    let holding = eventually(Duration::from_secs(5), || pending_of(&stack, a_pid) > 0).await;
    assert!(holding, "instance A holds a batch: {:?}", consumers(&stack));
    // A's clients stop first so that every request it answered is known.
    load_a.finish().await;
    let held = pending_of(&stack, a_pid);
    a.kill();
    unlock(lock).await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    load_b.finish().await;

    let tally = t.lock().unwrap().clone();
    assert!(
        stack.drained(tally.total(), Duration::from_secs(20)).await,
        "not drained: XLEN {}, pending {:?}, {} of {} events; log B:\n{}",
        stack.xlen(),
        consumers(&stack),
        stack.events(),
        tally.total(),
        b.log_text()
    );
    assert_eq!(
        stack.pending(),
        0,
        "the dead consumer's records were claimed"
    );
    assert_eq!(pending_of(&stack, a_pid), 0, "it held {held} before");
    check_exactly_once(&stack.pg, &tally);
    check_one_event_per_commit(&stack.pg);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_committed_but_never_acknowledged_is_rewritten_without_duplicates() {
    let stack = Stack::start();
    // Audit on, but its database unreachable: records pile up in the outbox.
    let dead = format!("postgres://postgres@127.0.0.1:{}/postgres", free_port());
    let mut filler = stack.instance(&[("DATABASE_URL", dead)]);
    let c = client(&filler);
    let t: SharedTally = Arc::new(Mutex::new(Tally::default()));
    for n in 0..4 {
        script(&c, &t, 2, n % 2 == 0).await;
    }
    filler.kill();
    let tally = t.lock().unwrap().clone();
    assert_eq!(stack.xlen(), tally.total());

    // A consumer writes the whole backlog in one transaction and "dies" before XACK.
    let pool = pg::pool(&stack.pg.url(), 2).unwrap();
    pg::migrate(&pool).await.unwrap();
    let conn = redis::Client::open(stack.redis.url())
        .unwrap()
        .get_connection_manager()
        .await
        .unwrap();
    let crashed = RedisOutbox::new(conn, "crashed-consumer".into(), 60_000);
    let entries = crashed.fetch(10_000, 100).await.unwrap();
    assert_eq!(entries.len() as u64, tally.total());
    let (batch, bad) = record::build(&entries);
    assert!(bad.is_empty());
    pg::write_batch(&pool, &batch).await.unwrap();
    drop(crashed);
    assert_eq!(stack.events(), tally.total());
    assert_eq!(
        stack.pending(),
        tally.total(),
        "committed, not acknowledged"
    );

    // A live instance claims them, writes them again, and acknowledges.
    let live = stack.instance(&[("SYNCKAIROS_AUDIT__CLAIM_IDLE_MS", "500".to_owned())]);
    assert!(
        eventually(Duration::from_secs(10), || stack.xlen() == 0).await,
        "claimed and acknowledged; XLEN {}; log:\n{}",
        stack.xlen(),
        live.log_text()
    );
    assert_eq!(stack.pending(), 0);
    check_exactly_once(&stack.pg, &tally);
    check_one_event_per_commit(&stack.pg);
    check_summaries(&stack.pg, &tally, false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deletion_survives_an_older_record_claimed_after_it() {
    let stack = Stack::start();
    let mut a = stack.instance(&[]);
    let a_pid = a.pid().expect("pid");
    let ca = client(&a);
    let t: SharedTally = Arc::new(Mutex::new(Tally::default()));
    let id = create(&ca, &t, &[LONG, LONG]).await;
    op(&ca, &t, &id, "start", "session_started").await;
    assert!(stack.drained(2, Duration::from_secs(10)).await);

    // A takes the switch (version 3) and dies with it, uncommitted.
    let lock = lock_events(&stack).await;
    op(&ca, &t, &id, "switch", "cycle_switched").await;
    assert!(eventually(Duration::from_secs(5), || pending_of(&stack, a_pid) == 1).await);
    a.kill();
    unlock(lock).await;

    // B deletes the session; its deletion is written before it claims version 3.
    let b = stack.instance(&[("SYNCKAIROS_AUDIT__CLAIM_IDLE_MS", "3000".to_owned())]);
    delete(&client(&b), &t, &id).await;
    let tally = t.lock().unwrap().clone();
    assert!(
        stack.drained(4, Duration::from_secs(15)).await,
        "XLEN {}; log B:\n{}",
        stack.xlen(),
        b.log_text()
    );
    check_exactly_once(&stack.pg, &tally);
    let row = stack.pg.query(&format!(
        "SELECT last_version, deleted_at IS NOT NULL FROM sync_sessions WHERE session_id = '{id}'"
    ));
    assert_eq!(
        row, "3|t",
        "the session was deleted; its summary must say so"
    );
}
