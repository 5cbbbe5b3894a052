//! The audit trail end to end on real components (redis-server, PostgreSQL, the
//! `synckairos` binary): a scripted run of sessions lands in `sync_events` exactly once
//! with the right types in commit order, and the outbox empties (records are XACK'd
//! and XDEL'd); each row's fields (event id, participant, remaining and elapsed time,
//! cycle number, version, regions, state snapshot); the `sync_sessions` and
//! `sync_participants` summaries; and the deadline events (`time_warning`,
//! `participant_expired`, `session_expired`) at their exact instants.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::audit::*;
use crate::support::procs::free_port;
use crate::support::server::{iso_ms, participant, pid, session_body_with, uuid};
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scripted_run_is_in_postgres_exactly_once_in_commit_order() {
    let stack = Stack::start();
    let inst = stack.instance(&[]);
    let c = client(&inst);
    let t: SharedTally = Arc::new(Mutex::new(Tally::default()));
    let workers: Vec<_> = (0..8)
        .map(|w| {
            let (c, t) = (c.clone(), t.clone());
            tokio::spawn(async move {
                for n in 0..4 {
                    script(&c, &t, 1 + (w + n) % 4, (w + n) % 3 == 0).await;
                }
            })
        })
        .collect();
    for w in workers {
        w.await.expect("worker");
    }
    let tally = t.lock().unwrap().clone();
    assert_eq!(tally.by_session.len(), 32);
    assert!(
        stack.drained(tally.total(), Duration::from_secs(10)).await,
        "not drained: XLEN {} pending {}, {} of {} events in PostgreSQL; log:\n{}",
        stack.xlen(),
        stack.pending(),
        stack.events(),
        tally.total(),
        inst.log_text()
    );
    assert_eq!(stack.pending(), 0, "nothing left unacknowledged");
    check_exactly_once(&stack.pg, &tally);
    check_one_event_per_commit(&stack.pg);
    check_summaries(&stack.pg, &tally, false);
    let per_session = stack.pg.query(
        "SELECT count(*) FROM sync_sessions s WHERE 3 <> \
         (SELECT count(*) FROM sync_participants p WHERE p.session_id = s.session_id)",
    );
    assert_eq!(per_session, "0", "three sync_participants rows per summary");
    // Nothing was dead-lettered.
    assert_eq!(stack.redis.cli(&["XLEN", "ob:dead"]), "0");
}

/// One row of `sync_events`, as text columns.
struct Row(Vec<String>);

impl Row {
    fn get(&self, i: usize) -> &str {
        &self.0[i]
    }
    fn num(&self, i: usize) -> Option<i64> {
        (self.0[i] != "-").then(|| self.0[i].parse().expect("number"))
    }
}

fn rows(stack: &Stack, session: &str) -> Vec<Row> {
    let sql = format!(
        "SELECT event_type, coalesce(participant_id, '-'), \
         coalesce(time_remaining_ms::text, '-'), coalesce(time_elapsed_ms::text, '-'), \
         coalesce(cycle_number::text, '-'), version, home_region, handled_region, \
         coalesce(state_snapshot->>'version', '-'), coalesce(state_snapshot->>'status', '-'), \
         metadata::text, event_id, seq, event_index, \
         (extract(epoch from occurred_at) * 1000)::int8 \
         FROM sync_events WHERE session_id = '{session}' ORDER BY seq, event_index"
    );
    stack
        .pg
        .query(&sql)
        .lines()
        .map(|l| Row(l.split('|').map(str::to_owned).collect()))
        .collect()
}

fn remaining(state: &Value, i: usize) -> i64 {
    participant(state, &pid(i))["time_remaining_ms"]
        .as_i64()
        .expect("time_remaining_ms")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_carry_the_event_fields_and_summaries() {
    let stack = Stack::start();
    let inst = stack.instance(&[]);
    let c = client(&inst);
    let t: SharedTally = Arc::new(Mutex::new(Tally::default()));
    let id = create(&c, &t, &[LONG, LONG]).await;
    op(&c, &t, &id, "start", "session_started").await;
    tokio::time::sleep(Duration::from_millis(30)).await;
    let s3 = op(&c, &t, &id, "switch", "cycle_switched").await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let s4 = op(&c, &t, &id, "switch", "cycle_switched").await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let s5 = op(&c, &t, &id, "pause", "session_paused").await;
    op(&c, &t, &id, "resume", "session_resumed").await;
    let s7 = op(&c, &t, &id, "switch", "cycle_switched").await;
    let s8 = op(&c, &t, &id, "complete", "session_completed").await;
    assert!(stack.drained(8, Duration::from_secs(10)).await);
    let summary_sql = format!(
        "SELECT sync_mode, last_status, final_status, total_cycles, total_participants, \
         last_version, home_region, started_at IS NOT NULL, completed_at IS NOT NULL, \
         deleted_at IS NOT NULL FROM sync_sessions WHERE session_id = '{id}'"
    );
    let summary = stack.pg.query(&summary_sql);
    assert_eq!(
        summary,
        "per_participant|completed|completed|3|2|8|local|t|t|f"
    );
    let parts = stack.pg.query(&format!(
        "SELECT participant_id, participant_index, total_cycles, time_used_ms, has_expired \
         FROM sync_participants WHERE session_id = '{id}' ORDER BY participant_index"
    ));
    let used = |i: usize| participant(&s8, &pid(i))["time_used_ms"].as_i64().unwrap();
    let (p0, p1) = (pid(0), pid(1));
    assert_eq!(
        parts,
        format!("{p0}|0|2|{}|f\n{p1}|1|1|{}|f", used(0), used(1))
    );
    delete(&c, &t, &id).await;
    let tally = t.lock().unwrap().clone();
    assert!(stack.drained(9, Duration::from_secs(10)).await);
    check_exactly_once(&stack.pg, &tally);
    // The summary stays, marked deleted.
    assert_eq!(
        stack.pg.query(&summary_sql),
        "per_participant|completed|completed|3|2|8|local|t|t|t"
    );

    let r = rows(&stack, &id);
    let kinds: Vec<&str> = r.iter().map(|r| r.get(0)).collect();
    assert_eq!(kinds, tally.by_session[&id]);
    // (participant, cycle_number) per row; switches name the outgoing participant and
    // its own cycle count, the others the session's total cycles.
    let want = [
        ("-", 0),
        (p0.as_str(), 0),
        (p0.as_str(), 1),
        (p1.as_str(), 1),
        (p0.as_str(), 2),
        (p0.as_str(), 2),
        (p0.as_str(), 2),
        ("-", 3),
    ];
    let mut seqs = BTreeSet::new();
    for (k, row) in r.iter().enumerate() {
        let seq: i64 = row.get(12).parse().unwrap();
        assert!(seqs.insert(seq), "one commit per row");
        assert_eq!(row.get(13), "0", "one event per commit");
        assert_eq!(row.get(11), format!("local:{seq}:0"), "event_id");
        assert_eq!((row.get(6), row.get(7)), ("local", "local"), "regions");
        if k == 8 {
            assert_eq!(row.get(0), "session_deleted");
            assert_eq!((row.get(1), row.get(4), row.get(8)), ("-", "-", "-"));
            continue;
        }
        let version = (k + 1).to_string();
        assert_eq!(row.get(5), version, "row {k}");
        assert_eq!(
            row.get(8),
            version,
            "the snapshot is the state after the change"
        );
        assert_eq!(
            (row.get(1), row.num(4)),
            (want[k].0, Some(want[k].1)),
            "row {k}"
        );
        let elapsed_expected = matches!(row.get(0), "cycle_switched" | "session_paused");
        assert_eq!(
            row.num(3).is_some(),
            elapsed_expected,
            "time_elapsed_ms of row {k}"
        );
    }
    assert!(seqs.iter().zip(seqs.iter().skip(1)).all(|(a, b)| a < b));
    assert_eq!(r[7].get(9), "completed");
    assert_eq!(r[2].get(10), format!(r#"{{"to": "{p1}"}}"#));
    // Remaining and elapsed time of the outgoing participant, as the responses said.
    let e3 = r[2].num(3).unwrap();
    assert!(e3 >= 30, "elapsed {e3}");
    assert_eq!(r[2].num(2), Some(remaining(&s3, 0)));
    assert_eq!(remaining(&s3, 0), LONG as i64 - e3);
    assert!(r[3].num(3).unwrap() >= 20);
    assert_eq!(r[3].num(2), Some(remaining(&s4, 1)));
    let e5 = r[4].num(3).unwrap();
    assert!(e5 >= 20);
    assert_eq!(r[4].num(2), Some(remaining(&s5, 0)));
    assert_eq!(remaining(&s5, 0), remaining(&s3, 0) - e5);
    assert_eq!(r[6].num(2), Some(remaining(&s7, 0)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deadline_events_are_recorded_at_their_instants() {
    let stack = Stack::start();
    let inst = stack.instance(&[]);
    let c = client(&inst);
    let t: SharedTally = Arc::new(Mutex::new(Tally::default()));
    let warn = session_body_with(
        &uuid(),
        &[1000, LONG],
        json!({"warning_thresholds_ms": [500]}),
    );
    let end = session_body_with(&uuid(), &[1000, LONG], json!({"action_on_timeout": "end"}));
    let (w, e) = (
        create_body(&c, &t, &warn).await,
        create_body(&c, &t, &end).await,
    );
    let started_w = iso_ms(&op(&c, &t, &w, "start", "session_started").await["session_started_at"]);
    let started_e = iso_ms(&op(&c, &t, &e, "start", "session_started").await["session_started_at"]);
    {
        let mut t = t.lock().unwrap();
        t.add(&w, "time_warning");
        t.add(&w, "participant_expired");
        t.add(&e, "participant_expired");
        t.add(&e, "session_expired");
    }
    let tally = t.lock().unwrap().clone();
    assert!(
        stack.drained(8, Duration::from_secs(8)).await,
        "{} of 8 events; log:\n{}",
        stack.events(),
        inst.log_text()
    );
    check_exactly_once(&stack.pg, &tally);

    let rw = rows(&stack, &w);
    let p0 = pid(0);
    // time_warning: the threshold is the remaining time at the crossing.
    assert_eq!(rw[2].get(0), "time_warning");
    assert_eq!((rw[2].get(1), rw[2].num(2)), (p0.as_str(), Some(500)));
    assert_eq!(rw[2].get(10), r#"{"threshold_ms": 500}"#);
    assert_eq!(
        rw[2].num(14),
        Some(started_w + 500),
        "occurred at the crossing"
    );
    assert_eq!(rw[3].get(0), "participant_expired");
    assert_eq!((rw[3].get(1), rw[3].num(2)), (p0.as_str(), Some(0)));
    assert_eq!(rw[3].get(10), r#"{"action": "continue"}"#);
    assert_eq!(
        rw[3].num(14),
        Some(started_w + 1000),
        "occurred at the deadline"
    );
    assert_eq!(
        rw[3].get(9),
        "running",
        "continue keeps the session running"
    );

    let re = rows(&stack, &e);
    assert_eq!(re[2].get(10), r#"{"action": "end"}"#);
    assert_eq!(re[2].num(14), Some(started_e + 1000));
    // Both come from one commit: same version and seq, indices 0 and 1.
    assert_eq!((re[2].get(5), re[3].get(5)), ("3", "3"));
    assert_eq!(re[2].get(12), re[3].get(12));
    assert_eq!((re[2].get(13), re[3].get(13)), ("0", "1"));
    assert_eq!(re[3].get(11), format!("local:{}:1", re[3].get(12)));
    assert_eq!(re[3].get(9), "expired");

    let finals = stack.pg.query(&format!(
        "SELECT session_id, last_status, coalesce(final_status, '-') FROM sync_sessions \
         WHERE session_id IN ('{w}', '{e}') ORDER BY session_id = '{e}'"
    ));
    assert_eq!(finals, format!("{w}|running|-\n{e}|expired|expired"));
    let expired = stack.pg.query(&format!(
        "SELECT count(*) FROM sync_participants WHERE participant_id = '{p0}' AND has_expired"
    ));
    assert_eq!(expired, "2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleted_sessions_keep_their_final_summary() {
    let stack = Stack::start();
    // Records pile up while no writer runs, so one batch holds whole sessions.
    let dead = format!("postgres://postgres@127.0.0.1:{}/postgres", free_port());
    let mut filler = stack.instance(&[("DATABASE_URL", dead)]);
    let c = client(&filler);
    let t: SharedTally = Arc::new(Mutex::new(Tally::default()));
    let kept = script(&c, &t, 2, false).await;
    let deleted = script(&c, &t, 2, true).await;
    filler.kill();
    let tally = t.lock().unwrap().clone();
    let _writer = stack.instance(&[]);
    assert!(stack.drained(tally.total(), Duration::from_secs(10)).await);
    check_exactly_once(&stack.pg, &tally);
    let summary = |id: &str| {
        stack.pg.query(&format!(
            "SELECT last_status, final_status, total_cycles, last_version, \
             deleted_at IS NOT NULL FROM sync_sessions WHERE session_id = '{id}'"
        ))
    };
    assert_eq!(summary(&kept), "completed|completed|3|8|f");
    assert_eq!(summary(&deleted), "completed|completed|3|8|t");
    let parts = stack.pg.query(&format!(
        "SELECT count(*) FROM sync_participants WHERE session_id = '{deleted}'"
    ));
    assert_eq!(parts, "3");
    check_summaries(&stack.pg, &tally, true);
}
