//! PostgreSQL: the pool, migrations, the batch write (one transaction, multi-row
//! `UNNEST` inserts, idempotent on `event_id`) and the history query. Instants travel
//! as epoch milliseconds and become `timestamptz` in SQL.

use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions};

use super::record::{final_status, Batch};
use super::AuditError;
use crate::domain::Millis;

pub fn pool(url: &str, max_connections: u32) -> Result<PgPool, AuditError> {
    Ok(PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(3))
        .connect_lazy(url)?)
}

/// Applies `migrations/` (embedded at build time); safe to run from several instances.
pub async fn migrate(pool: &PgPool) -> Result<(), AuditError> {
    sqlx::migrate!("./migrations").run(pool).await?;
    Ok(())
}

const INSERT_EVENTS: &str = "
INSERT INTO sync_events (event_id, session_id, event_type, participant_id, group_id,
    time_remaining_ms, time_elapsed_ms, cycle_number, version, seq, event_index,
    home_region, handled_region, occurred_at, state_snapshot, metadata, actor)
SELECT e.event_id, e.session_id, e.event_type, e.participant_id, e.group_id,
    e.remaining, e.elapsed, e.cycle, e.version, e.seq, e.idx,
    e.home, e.handled, to_timestamp(e.occurred::double precision / 1000),
    e.snapshot::jsonb, e.meta::jsonb, e.actor
FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int8[],
    $7::int8[], $8::int8[], $9::int8[], $10::int8[], $11::int4[], $12::text[],
    $13::text[], $14::int8[], $15::text[], $16::text[], $17::text[])
    AS e(event_id, session_id, event_type, participant_id, group_id, remaining, elapsed,
         cycle, version, seq, idx, home, handled, occurred, snapshot, meta, actor)
ON CONFLICT (event_id) DO NOTHING";

const UPSERT_SESSIONS: &str = "
INSERT INTO sync_sessions AS s (session_id, sync_mode, time_per_cycle_ms, increment_ms,
    max_time_ms, action_on_timeout, home_region, created_at, started_at, completed_at,
    deleted_at, last_status, final_status, total_cycles, total_participants, last_version,
    last_updated_at)
SELECT u.id, u.mode, u.per_cycle, u.inc, u.max_time, u.action, u.home,
    to_timestamp(u.created::double precision / 1000),
    to_timestamp(u.started::double precision / 1000),
    to_timestamp(u.completed::double precision / 1000),
    -- A deletion recorded earlier (another batch, another consumer) marks the row.
    (SELECT max(e.occurred_at) FROM sync_events e
      WHERE e.session_id = u.id AND e.event_type = 'session_deleted'
        AND e.occurred_at >= to_timestamp(u.created::double precision / 1000)),
    u.status, u.final, u.cycles, u.participants, u.version,
    to_timestamp(u.updated::double precision / 1000)
FROM UNNEST($1::text[], $2::text[], $3::int8[], $4::int8[], $5::int8[], $6::text[],
    $7::text[], $8::int8[], $9::int8[], $10::int8[], $11::text[], $12::text[],
    $13::int8[], $14::int4[], $15::int8[], $16::int8[])
    AS u(id, mode, per_cycle, inc, max_time, action, home, created, started, completed,
         status, final, cycles, participants, version, updated)
ON CONFLICT (session_id) DO UPDATE SET
    time_per_cycle_ms = EXCLUDED.time_per_cycle_ms, started_at = EXCLUDED.started_at,
    completed_at = EXCLUDED.completed_at,
    deleted_at = CASE WHEN EXCLUDED.created_at > s.created_at THEN EXCLUDED.deleted_at
                      ELSE COALESCE(s.deleted_at, EXCLUDED.deleted_at) END,
    last_status = EXCLUDED.last_status, final_status = EXCLUDED.final_status,
    total_cycles = EXCLUDED.total_cycles, total_participants = EXCLUDED.total_participants,
    last_version = EXCLUDED.last_version, last_updated_at = EXCLUDED.last_updated_at,
    created_at = EXCLUDED.created_at, sync_mode = EXCLUDED.sync_mode,
    home_region = EXCLUDED.home_region
WHERE EXCLUDED.created_at > s.created_at
   OR (EXCLUDED.created_at = s.created_at AND EXCLUDED.last_version > s.last_version)";

const UPSERT_PARTICIPANTS: &str = "
INSERT INTO sync_participants AS p (session_id, participant_id, participant_index,
    total_time_ms, time_used_ms, group_id, total_cycles, has_expired, last_version, added_at,
    last_active_at)
SELECT u.sid, u.pid, u.idx, u.total, u.used, u.grp, u.cycles, u.expired, u.version,
    to_timestamp(u.added::double precision / 1000),
    to_timestamp(u.active::double precision / 1000)
FROM UNNEST($1::text[], $2::text[], $3::int4[], $4::int8[], $5::int8[], $6::text[],
    $7::int8[], $8::bool[], $9::int8[], $10::int8[], $11::int8[])
    AS u(sid, pid, idx, total, used, grp, cycles, expired, version, added, active)
ON CONFLICT (session_id, participant_id) DO UPDATE SET
    participant_index = EXCLUDED.participant_index, total_time_ms = EXCLUDED.total_time_ms,
    time_used_ms = EXCLUDED.time_used_ms, group_id = EXCLUDED.group_id,
    total_cycles = EXCLUDED.total_cycles, has_expired = EXCLUDED.has_expired,
    last_version = EXCLUDED.last_version,
    last_active_at = COALESCE(EXCLUDED.last_active_at, p.last_active_at)
WHERE EXCLUDED.last_version > p.last_version OR EXCLUDED.added_at > p.added_at";

const MARK_DELETED: &str = "
UPDATE sync_sessions s SET deleted_at = to_timestamp(d.at::double precision / 1000)
FROM UNNEST($1::text[], $2::int8[]) AS d(id, at)
WHERE s.session_id = d.id AND s.created_at <= to_timestamp(d.at::double precision / 1000)";

fn i(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// Writes a batch in one transaction. Re-writing a batch (after a crash between commit
/// and acknowledgement) changes nothing: events conflict on `event_id`, summaries only
/// move forward by version.
pub async fn write_batch(pool: &PgPool, b: &Batch) -> Result<(), AuditError> {
    let mut tx = pool.begin().await?;
    let ev = &b.events;
    let col = |f: &dyn Fn(&super::record::EventRow) -> String| ev.iter().map(f).collect::<Vec<_>>();
    sqlx::query(INSERT_EVENTS)
        .bind(col(&|e| e.event_id.clone()))
        .bind(col(&|e| e.session_id.clone()))
        .bind(col(&|e| e.event_type.to_owned()))
        .bind(
            ev.iter()
                .map(|e| e.participant_id.clone())
                .collect::<Vec<_>>(),
        )
        .bind(ev.iter().map(|e| e.group_id.clone()).collect::<Vec<_>>())
        .bind(ev.iter().map(|e| e.time_remaining_ms).collect::<Vec<_>>())
        .bind(ev.iter().map(|e| e.time_elapsed_ms).collect::<Vec<_>>())
        .bind(ev.iter().map(|e| e.cycle_number).collect::<Vec<_>>())
        .bind(ev.iter().map(|e| e.version).collect::<Vec<_>>())
        .bind(ev.iter().map(|e| e.seq).collect::<Vec<_>>())
        .bind(ev.iter().map(|e| e.event_index).collect::<Vec<_>>())
        .bind(col(&|e| e.home_region.clone()))
        .bind(col(&|e| e.handled_region.clone()))
        .bind(ev.iter().map(|e| e.occurred_at).collect::<Vec<_>>())
        .bind(
            ev.iter()
                .map(|e| e.state_snapshot.clone())
                .collect::<Vec<_>>(),
        )
        .bind(col(&|e| e.metadata.clone()))
        .bind(ev.iter().map(|e| e.actor.clone()).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await?;
    if !b.sessions.is_empty() {
        let ss: Vec<_> = b.sessions.iter().map(|r| &r.session).collect();
        sqlx::query(UPSERT_SESSIONS)
            .bind(
                ss.iter()
                    .map(|s| s.session_id.to_string())
                    .collect::<Vec<_>>(),
            )
            .bind(ss.iter().map(|s| s.sync_mode.as_str()).collect::<Vec<_>>())
            .bind(
                ss.iter()
                    .map(|s| s.time_per_cycle_ms.map(i))
                    .collect::<Vec<_>>(),
            )
            .bind(ss.iter().map(|s| i(s.increment_ms)).collect::<Vec<_>>())
            .bind(ss.iter().map(|s| s.max_time_ms.map(i)).collect::<Vec<_>>())
            .bind(
                ss.iter()
                    .map(|s| s.action_on_timeout.as_str())
                    .collect::<Vec<_>>(),
            )
            .bind(
                ss.iter()
                    .map(|s| s.home_region.to_string())
                    .collect::<Vec<_>>(),
            )
            .bind(ss.iter().map(|s| s.created_at).collect::<Vec<_>>())
            .bind(ss.iter().map(|s| s.session_started_at).collect::<Vec<_>>())
            .bind(
                ss.iter()
                    .map(|s| s.session_completed_at)
                    .collect::<Vec<_>>(),
            )
            .bind(ss.iter().map(|s| s.status.as_str()).collect::<Vec<_>>())
            .bind(ss.iter().map(|s| final_status(s)).collect::<Vec<_>>())
            .bind(
                b.sessions
                    .iter()
                    .map(|r| r.total_cycles)
                    .collect::<Vec<_>>(),
            )
            .bind(
                ss.iter()
                    .map(|s| s.participants.len() as i32)
                    .collect::<Vec<_>>(),
            )
            .bind(ss.iter().map(|s| i(s.version)).collect::<Vec<_>>())
            .bind(ss.iter().map(|s| s.updated_at).collect::<Vec<_>>())
            .execute(&mut *tx)
            .await?;
        write_participants(&mut tx, &ss).await?;
    }
    if !b.deleted.is_empty() {
        sqlx::query(MARK_DELETED)
            .bind(
                b.deleted
                    .iter()
                    .map(|(id, _)| id.clone())
                    .collect::<Vec<_>>(),
            )
            .bind(b.deleted.iter().map(|(_, at)| *at).collect::<Vec<_>>())
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

async fn write_participants(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    sessions: &[&crate::domain::Session],
) -> Result<(), AuditError> {
    let rows: Vec<_> = sessions
        .iter()
        .flat_map(|s| s.participants.iter().map(move |p| (*s, p)))
        .collect();
    let active_at =
        |s: &crate::domain::Session, p: &crate::domain::Participant| -> Option<Millis> {
            p.is_active
                .then_some(s.cycle_started_at.unwrap_or(s.updated_at))
        };
    sqlx::query(UPSERT_PARTICIPANTS)
        .bind(
            rows.iter()
                .map(|(s, _)| s.session_id.to_string())
                .collect::<Vec<_>>(),
        )
        .bind(
            rows.iter()
                .map(|(_, p)| p.participant_id.to_string())
                .collect::<Vec<_>>(),
        )
        .bind(
            rows.iter()
                // Validation keeps indices within `integer`; saturate rather than wrap.
                .map(|(_, p)| i32::try_from(p.participant_index).unwrap_or(i32::MAX))
                .collect::<Vec<_>>(),
        )
        .bind(
            rows.iter()
                .map(|(_, p)| i(p.total_time_ms))
                .collect::<Vec<_>>(),
        )
        .bind(
            rows.iter()
                .map(|(_, p)| i(p.time_used_ms))
                .collect::<Vec<_>>(),
        )
        .bind(
            rows.iter()
                .map(|(_, p)| p.group_id.clone())
                .collect::<Vec<_>>(),
        )
        .bind(
            rows.iter()
                .map(|(_, p)| i(p.cycle_count))
                .collect::<Vec<_>>(),
        )
        .bind(rows.iter().map(|(_, p)| p.has_expired).collect::<Vec<_>>())
        .bind(rows.iter().map(|(s, _)| i(s.version)).collect::<Vec<_>>())
        .bind(rows.iter().map(|(s, _)| s.created_at).collect::<Vec<_>>())
        .bind(
            rows.iter()
                .map(|(s, p)| active_at(s, p))
                .collect::<Vec<_>>(),
        )
        .execute(&mut **tx)
        .await?;
    Ok(())
}
