//! The exactly-once checks of `sync_events` and the summary checks of `sync_sessions`
//! against a `Tally` of what a test caused.

use std::collections::BTreeMap;

use super::{Db, Tally};

/// `psql -tA` rows of two columns as a map.
fn pairs(out: &str) -> BTreeMap<String, String> {
    out.lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (a, b) = l.split_once('|').unwrap_or((l, ""));
            (a.to_owned(), b.to_owned())
        })
        .collect()
}

/// Every tallied event is in `sync_events` exactly once, with the right type, in
/// commit order per session, and nothing else is there.
pub fn check_exactly_once(pg: &Db, t: &Tally) {
    let dups =
        pg.query("SELECT event_id, count(*) FROM sync_events GROUP BY 1 HAVING count(*) > 1");
    assert!(dups.is_empty(), "events written more than once:\n{dups}");
    let by_type: BTreeMap<String, u64> =
        pairs(&pg.query("SELECT event_type, count(*) FROM sync_events GROUP BY 1"))
            .into_iter()
            .map(|(k, v)| (k, v.parse().expect("count")))
            .collect();
    assert_eq!(by_type, t.by_type(), "events per type (left: PostgreSQL)");
    // Per session, the types in (seq, event_index) order are the commits' order.
    let sequences = pairs(&pg.query(
        "SELECT session_id, string_agg(event_type, ',' ORDER BY seq, event_index) \
         FROM sync_events GROUP BY 1",
    ));
    let want: BTreeMap<String, String> = t
        .by_session
        .iter()
        .map(|(k, v)| (k.clone(), v.join(",")))
        .collect();
    if sequences != want {
        let diff: Vec<_> = want
            .iter()
            .filter(|(k, v)| sequences.get(*k) != Some(v))
            .map(|(k, v)| format!("{k}: want {v}, got {:?}", sequences.get(k)))
            .take(5)
            .collect();
        panic!(
            "event sequences differ ({} sessions in PostgreSQL, {} tallied):\n{}",
            sequences.len(),
            want.len(),
            diff.join("\n")
        );
    }
    let checks = [
        // Event ids are derived from the home sequence, so replays cannot mint new ones.
        (
            "event_id is not <home>:<seq>:<index>",
            "SELECT count(*) FROM sync_events \
             WHERE event_id <> home_region || ':' || seq || ':' || event_index",
        ),
        (
            "versions go backwards in (seq, event_index) order",
            "SELECT count(*) FROM (SELECT version, lag(version) OVER \
             (PARTITION BY session_id ORDER BY seq, event_index) AS prev FROM sync_events \
             WHERE event_type <> 'session_deleted') v WHERE version < prev",
        ),
        (
            "an event follows its session's deletion",
            "SELECT count(*) FROM sync_events d JOIN sync_events e \
             ON e.session_id = d.session_id AND e.seq > d.seq \
             WHERE d.event_type = 'session_deleted'",
        ),
    ];
    for (what, sql) in checks {
        assert_eq!(pg.query(sql), "0", "{what}");
    }
}

/// For runs without deadlines (one event per commit): each session's versions are
/// exactly `1..=n`, so no commit is missing in between.
pub fn check_one_event_per_commit(pg: &Db) {
    let bad = pg.query(
        "SELECT session_id FROM sync_events WHERE event_type <> 'session_deleted' \
         GROUP BY 1 HAVING min(version) <> 1 OR max(version) <> count(*) \
         OR count(*) <> count(DISTINCT version)",
    );
    assert!(
        bad.is_empty(),
        "sessions with missing or repeated versions:\n{bad}"
    );
}

/// The summary rows match the tally: a row per live session with its final status.
/// `strict` also requires every deleted session's row, final, with `deleted_at` set;
/// lenient accepts a missing or stale row for those (see the BUG tests) but never an
/// unmarked one.
pub fn check_summaries(pg: &Db, t: &Tally, strict: bool) {
    let rows = pairs(&pg.query(
        "SELECT session_id, last_status || ',' || coalesce(final_status, '-') || ',' || \
         (deleted_at IS NOT NULL) FROM sync_sessions",
    ));
    for (id, kinds) in &t.by_session {
        let deleted = kinds.last().map(String::as_str) == Some("session_deleted");
        let completed = kinds.iter().any(|k| k == "session_completed");
        let got = match rows.get(id) {
            Some(r) => r.as_str(),
            None if deleted && !strict => continue,
            None => panic!("no sync_sessions row for {id} ({kinds:?})"),
        };
        assert!(
            got.ends_with(&format!(",{deleted}")),
            "deleted_at of {id}: {got}"
        );
        if completed && (strict || !deleted) {
            assert!(
                got.starts_with("completed,completed,"),
                "status of {id}: {got}"
            );
        }
    }
    assert!(
        rows.len() <= t.by_session.len(),
        "rows for unknown sessions"
    );
}
