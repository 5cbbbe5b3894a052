//! `GET /v1/sessions/:id/events`: a session's audit events from PostgreSQL, newest or
//! oldest first, in pages with an opaque cursor. Works for deleted sessions too.

use serde::Serialize;
use serde_json::Value;
use sqlx::postgres::PgPool;
use sqlx::Row;

use super::AuditError;
use crate::domain::Millis;
use crate::view::Iso;

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 500;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    NewestFirst,
    OldestFirst,
}

/// Where a page starts: after (oldest-first) or before (newest-first) this position.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub seq: i64,
    pub index: i32,
}

impl Cursor {
    pub fn parse(s: &str) -> Option<Cursor> {
        let (a, b) = s.split_once('.')?;
        Some(Cursor {
            seq: a.parse().ok()?,
            index: b.parse().ok()?,
        })
    }

    pub fn encode(&self) -> String {
        format!("{}.{}", self.seq, self.index)
    }
}

#[derive(Serialize)]
pub struct EventView {
    pub event_id: String,
    pub event_type: String,
    pub session_id: String,
    pub participant_id: Option<String>,
    pub group_id: Option<String>,
    pub time_remaining_ms: Option<i64>,
    pub time_elapsed_ms: Option<i64>,
    pub cycle_number: Option<i64>,
    pub version: i64,
    pub home_region: String,
    pub handled_region: String,
    /// Who asked (`role:subject`), absent for server events and the open mode.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    pub occurred_at: Iso,
    pub recorded_at: Iso,
    pub state: Option<Value>,
    pub metadata: Value,
}

#[derive(Serialize)]
pub struct Page {
    pub session_id: String,
    pub order: &'static str,
    pub events: Vec<EventView>,
    pub next_cursor: Option<String>,
}

macro_rules! select_events {
    ($tail:literal) => {
        concat!(
            "SELECT event_id, event_type, session_id, participant_id, group_id,
    time_remaining_ms, time_elapsed_ms, cycle_number, version, home_region, handled_region,
    (extract(epoch from occurred_at) * 1000)::int8 AS occurred_ms,
    (extract(epoch from recorded_at) * 1000)::int8 AS recorded_ms,
    state_snapshot, metadata, seq, event_index, actor FROM sync_events WHERE session_id = $1",
            $tail
        )
    };
}

const OLDEST: &str =
    select_events!(" AND (seq, event_index) > ($2, $3) ORDER BY seq, event_index LIMIT $4");
const NEWEST: &str = select_events!(
    " AND (seq, event_index) < ($2, $3) ORDER BY seq DESC, event_index DESC LIMIT $4"
);

/// One page of events; `None` when the session has no recorded events at all.
pub async fn page(
    pool: &PgPool,
    session_id: &str,
    order: Order,
    limit: i64,
    cursor: Option<Cursor>,
) -> Result<Option<Page>, AuditError> {
    let limit = limit.clamp(1, MAX_LIMIT);
    let (sql, start) = match order {
        Order::OldestFirst => (
            OLDEST,
            cursor.unwrap_or(Cursor {
                seq: i64::MIN,
                index: i32::MIN,
            }),
        ),
        Order::NewestFirst => (
            NEWEST,
            cursor.unwrap_or(Cursor {
                seq: i64::MAX,
                index: i32::MAX,
            }),
        ),
    };
    let rows = sqlx::query(sql)
        .bind(session_id)
        .bind(start.seq)
        .bind(start.index)
        .bind(limit + 1)
        .fetch_all(pool)
        .await?;
    if rows.is_empty() && cursor.is_none() {
        return Ok(None);
    }
    let more = rows.len() as i64 > limit;
    let mut events = Vec::with_capacity(rows.len());
    let mut last = None;
    for row in rows.iter().take(limit as usize) {
        let ms = |name: &str| -> Result<Millis, sqlx::Error> { row.try_get::<i64, _>(name) };
        last = Some(Cursor {
            seq: row.try_get("seq")?,
            index: row.try_get("event_index")?,
        });
        events.push(EventView {
            event_id: row.try_get("event_id")?,
            event_type: row.try_get("event_type")?,
            session_id: row.try_get("session_id")?,
            participant_id: row.try_get("participant_id")?,
            group_id: row.try_get("group_id")?,
            time_remaining_ms: row.try_get("time_remaining_ms")?,
            time_elapsed_ms: row.try_get("time_elapsed_ms")?,
            cycle_number: row.try_get("cycle_number")?,
            version: row.try_get("version")?,
            home_region: row.try_get("home_region")?,
            handled_region: row.try_get("handled_region")?,
            actor: row.try_get("actor")?,
            occurred_at: Iso(ms("occurred_ms")?),
            recorded_at: Iso(ms("recorded_ms")?),
            state: row
                .try_get::<Option<sqlx::types::Json<Value>>, _>("state_snapshot")?
                .map(|j| j.0),
            metadata: row.try_get::<sqlx::types::Json<Value>, _>("metadata")?.0,
        });
    }
    Ok(Some(Page {
        session_id: session_id.to_owned(),
        order: match order {
            Order::NewestFirst => "desc",
            Order::OldestFirst => "asc",
        },
        events,
        next_cursor: if more { last.map(|c| c.encode()) } else { None },
    }))
}
