//! Superseded writes (issue 11): when this region, an old home, gives a session up to a
//! higher-epoch owner (a takeover), the versions it committed at its epoch from the
//! first version of the new one on were never seen by the new owner. They are not
//! merged; they are reported: logged, counted (`synckairos_superseded_writes_total`)
//! and, with the audit trail on, recorded as a `writes_superseded` event (an outbox
//! record carrying the new owner's state, numbered apart from the region's commit
//! sequence so that it never collides with a commit's event id).
//!
//! Must not: change any session (the copy has already been replaced).

use redis::aio::ConnectionManager;

use crate::clock::now_ms;
use crate::domain::{Event, RegionId, Session};
use crate::metrics;
use crate::store::envelope::EnvelopeBody;
use crate::store::{keys, StoreError};

/// The versions of `old` (homed here) that `new` supersedes, reported once found.
pub fn found(new: &Session, old: &Session) -> Option<(u64, u64)> {
    let next = new.epoch == old.epoch + 1;
    if next && new.epoch_since > 0 && old.version >= new.epoch_since {
        let n = old.version - new.epoch_since + 1;
        metrics::superseded(n);
        tracing::error!(
            session = %new.session_id, new_home = %new.home_region, epoch = new.epoch,
            superseded_from = new.epoch_since, superseded_to = old.version, count = n,
            "writes committed here were superseded by a takeover (never relayed before this region was cut off); they are not merged"
        );
        return Some((new.epoch_since, old.version));
    }
    tracing::warn!(
        session = %new.session_id, new_home = %new.home_region, epoch = new.epoch,
        local_version = old.version, since = new.epoch_since,
        "ownership given up to a higher epoch"
    );
    None
}

/// Appends the `writes_superseded` audit record of `range` (the new owner's state in
/// `state`) to this region's outbox.
pub async fn record(
    conn: &ConnectionManager,
    here: &RegionId,
    new: &Session,
    state: &[u8],
    range: (u64, u64),
) -> Result<(), StoreError> {
    let body = body(here, new, state, range);
    let mut c = conn.clone();
    let n: u64 = redis::cmd("INCR")
        .arg(keys::SUPERSEDED_SEQ)
        .query_async(&mut c)
        .await
        .map_err(StoreError::unavailable("number a superseded record"))?;
    redis::cmd("XADD")
        .arg(keys::OUTBOX)
        .arg("*")
        .arg("q")
        .arg(n)
        .arg("b")
        .arg(body.encode())
        .arg("o")
        .arg(here.as_str())
        .arg("t")
        .arg(now_ms())
        .arg("a")
        .arg("")
        .query_async::<()>(&mut c)
        .await
        .map_err(StoreError::unavailable("record superseded writes"))
}

/// The outbox body of a `writes_superseded` record.
fn body(here: &RegionId, new: &Session, state: &[u8], range: (u64, u64)) -> EnvelopeBody {
    EnvelopeBody {
        home: here.clone(),
        session_id: new.session_id.clone(),
        version: new.version,
        state: state.to_vec(),
        deleted: false,
        events: vec![Event::WritesSuperseded {
            from_version: range.0,
            to_version: range.1,
            by: new.home_region.clone(),
            epoch: new.epoch,
        }],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::outbox::RawEntry;
    use crate::domain::{move_home, Move};
    use crate::store::codec::encode_state;

    #[test]
    fn superseded_writes_become_one_audit_event_of_the_old_home() {
        let mut old = crate::domain::sample::session(crate::domain::sample::ID, "iad", 10);
        old.version = 9;
        let mut base = old.clone();
        base.version = 6;
        let new = move_home(&base, &"lhr".into(), Move::TakeOver, 20)
            .unwrap()
            .session;
        let range = found(&new, &old).expect("versions 7..=9 superseded");
        assert_eq!(range, (7, 9));
        let here = RegionId::from("iad");
        let entry = RawEntry {
            id: "1-0".into(),
            seq: 1,
            body: body(&here, &new, &encode_state(&new), range).encode(),
            origin: "iad".into(),
            actor: None,
            at: 30,
        };
        let (batch, bad) = crate::audit::record::build(&[entry]);
        assert!(bad.is_empty());
        let e = &batch.events[0];
        assert_eq!(
            (e.event_type, e.event_id.as_str()),
            ("writes_superseded", "iad:1:0")
        );
        assert!(e.metadata.contains("\"from_version\":7") && e.metadata.contains("\"by\":\"lhr\""));
    }
}
