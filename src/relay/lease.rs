//! Which instance of this region follows a home: the holder of `rl:<home>` (taken and
//! renewed with `lease.lua`), and where this region stands in the home's log
//! (`Position`: `rq:<home>`, `rf:<home>`, read and recorded here). Renewing also notices this region's Redis losing the position (a
//! flush, a replaced Redis), which calls for a catch-up.
//!
//! Must not: follow anything itself.

use super::context::RelayContext;
use super::error::RelayError;
use crate::domain::RegionId;
use crate::store::{keys, scripts};

fn lease_ms(r: &RelayContext) -> u64 {
    r.cfg.link_timeout_ms.max(1_000) * 2
}

/// Takes or renews the lease; false when another instance holds it (or Redis fails).
pub async fn hold(r: &RelayContext, home: &RegionId) -> bool {
    let mut conn = r.conn.clone();
    scripts::lease()
        .key(keys::relay_leader(home))
        .arg(&r.instance_id)
        .arg(lease_ms(r))
        .invoke_async::<i64>(&mut conn)
        .await
        .map(|held| held == 1)
        .unwrap_or(false)
}

pub enum Renewal {
    Held,
    Lost,
    /// Held, but the position recorded here is gone or behind what was applied: this
    /// region's Redis lost data.
    PositionGone,
}

/// Renews the lease of a follower that has applied up to `applied`.
pub async fn renew(r: &RelayContext, home: &RegionId, applied: u64) -> Renewal {
    let mut conn = r.conn.clone();
    let script = scripts::lease();
    let reply: redis::RedisResult<(i64, Option<u64>)> = redis::pipe()
        .load_script(&script)
        .ignore()
        .invoke_script(
            script
                .key(keys::relay_leader(home))
                .arg(&r.instance_id)
                .arg(lease_ms(r)),
        )
        .cmd("GET")
        .arg(keys::relay_applied(home))
        .query_async(&mut conn)
        .await;
    match reply {
        // Flushed, replaced or restored from an older copy: the copies here are too.
        Ok((1, recorded)) if recorded.unwrap_or(0) < applied => Renewal::PositionGone,
        Ok((1, _)) => Renewal::Held,
        _ => Renewal::Lost,
    }
}

/// Where this region stands in `home`'s log.
pub async fn position(r: &RelayContext, home: &RegionId) -> Result<Position, RelayError> {
    let mut conn = r.conn.clone();
    let (seq, fingerprint): (Option<u64>, Option<u64>) = redis::cmd("MGET")
        .arg(keys::relay_applied(home))
        .arg(keys::relay_fingerprint(home))
        .query_async(&mut conn)
        .await
        .map_err(RelayError::redis("read the applied position"))?;
    Ok(Position {
        seq: seq.unwrap_or(0),
        fingerprint: fingerprint.unwrap_or(0),
    })
}

/// Where a follower stands in a home's log: a sequence number and the fingerprint of
/// the entry there (0 unknown).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Position {
    pub seq: u64,
    pub fingerprint: u64,
}

/// Records a position without applying an entry (`raise`: only forward).
pub async fn record(
    r: &RelayContext,
    home: &RegionId,
    p: Position,
    raise: bool,
) -> Result<(), RelayError> {
    let mut conn = r.conn.clone();
    scripts::relay_position()
        .key(keys::relay_applied(home))
        .key(keys::relay_fingerprint(home))
        .arg(p.seq)
        .arg(p.fingerprint)
        .arg(if raise { "raise" } else { "set" })
        .invoke_async::<i64>(&mut conn)
        .await
        .map(|_| ())
        .map_err(RelayError::redis("record the applied position"))
}
