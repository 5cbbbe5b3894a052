//! Reconciliation with one home region: walk the home's digest of its sessions, fetch
//! and store (byte for byte) every copy that differs here, and drop local copies the
//! home no longer has. Run when a follower starts from nothing, after a gap the log
//! could not fill, and periodically, so regions converge without manual action.

use std::collections::HashSet;
use std::sync::Arc;

use super::context::RelayContext;
use super::error::RelayError;
use super::source::DigestPage;
use crate::domain::{RegionId, SessionId};
use crate::region::client::PeerError;
use crate::region::wire;
use crate::store::{decode_state, keys};

/// What one full check found and did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CheckReport {
    pub checked: usize,
    pub repaired: usize,
    pub dropped: usize,
}

/// One full comparison with `home`. Errors (an unreachable home) end it early; the next
/// check starts over.
pub async fn full_check(r: &Arc<RelayContext>, home: &RegionId) -> Result<CheckReport, RelayError> {
    let mut out = CheckReport::default();
    let mut seen = HashSet::new();
    let mut cursor = "0".to_owned();
    loop {
        let body = r
            .cluster
            .get(home, &wire::digest_path(&cursor))
            .await?
            .ok_or_else(|| PeerError::Status {
                region: home.clone(),
                status: hyper::StatusCode::NOT_FOUND,
            })?;
        let page: DigestPage = wire::decode(&body).map_err(|e| PeerError::Decode {
            region: home.clone(),
            source: e.into(),
        })?;
        repair_page(r, home, &page, &mut out).await?;
        seen.extend(page.items.into_iter().map(|(id, _, _)| id));
        if page.cursor == "0" {
            break;
        }
        cursor = page.cursor;
    }
    out.dropped = drop_missing(r, home, &seen).await?;
    if out.repaired > 0 || out.dropped > 0 {
        tracing::info!(%home, ?out, "reconciliation repaired copies");
    }
    Ok(out)
}

async fn repair_page(
    r: &Arc<RelayContext>,
    home: &RegionId,
    page: &DigestPage,
    out: &mut CheckReport,
) -> Result<(), RelayError> {
    if page.items.is_empty() {
        return Ok(());
    }
    let keys: Vec<String> = page
        .items
        .iter()
        .map(|(id, _, _)| keys::session(id))
        .collect();
    let mut conn = r.conn.clone();
    let local: Vec<Option<Vec<u8>>> = redis::cmd("MGET")
        .arg(&keys)
        .query_async(&mut conn)
        .await
        .map_err(RelayError::redis("read local copies"))?;
    for ((id, version, created), mine) in page.items.iter().zip(local) {
        out.checked += 1;
        let same = mine
            .as_deref()
            .and_then(|b| decode_state(id, b).ok())
            .is_some_and(|s| s.version == *version && s.created_at == *created);
        if same {
            continue;
        }
        let Some(body) = r.cluster.fetch_session(home, id).await? else {
            continue; // deleted meanwhile; the log carries the deletion
        };
        if r.copies.store_copy(home, id, &body).await? {
            out.repaired += 1;
        }
    }
    Ok(())
}

/// Drops local copies of `home`'s sessions that the home's digest did not list.
async fn drop_missing(
    r: &Arc<RelayContext>,
    home: &RegionId,
    seen: &HashSet<SessionId>,
) -> Result<usize, RelayError> {
    let mut conn = r.conn.clone();
    let mut cursor = "0".to_owned();
    let mut dropped = 0;
    loop {
        let (next, found): (String, Vec<String>) = redis::cmd("SCAN")
            .arg(&cursor)
            .arg("MATCH")
            .arg("s:*")
            .arg("COUNT")
            .arg(500)
            .query_async(&mut conn)
            .await
            .map_err(RelayError::redis("scan local copies"))?;
        if !found.is_empty() {
            let values: Vec<Option<Vec<u8>>> = redis::cmd("MGET")
                .arg(&found)
                .query_async(&mut conn)
                .await
                .map_err(RelayError::redis("read local copies"))?;
            for (key, value) in found.iter().zip(values) {
                let id = SessionId::from(key.trim_start_matches("s:"));
                let Some(bytes) = value else { continue };
                let Ok(s) = decode_state(&id, &bytes) else {
                    continue;
                };
                if s.home_region == *home && !seen.contains(&id) {
                    // Only if the home still does not know it (it may be brand new).
                    let gone = r.cluster.fetch_session(home, &id).await?.is_none();
                    if gone && r.copies.drop_copy(home, &id).await? {
                        dropped += 1;
                    }
                }
            }
        }
        if next == "0" {
            return Ok(dropped);
        }
        cursor = next;
    }
}
