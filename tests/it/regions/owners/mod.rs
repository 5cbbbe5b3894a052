//! Ownership that moves (issue 11) on the 3-region world: planned and automatic
//! re-homing (`rehome`), fencing, takeover and the old home's return (`failover`),
//! zero-loss durability under `kill -9` (`durability`); every test ends with the
//! one-chain checker over every region's relay log (`support::owners`). The
//! measurements are `#[ignore]`d (`measure`, run by `scripts/bench.sh`).

mod durability;
mod failover;
mod measure;
mod rehome;

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support::http::Response;
use crate::support::owners::{check, read_logs, Chains};
use crate::support::regions::{World, REGIONS};

/// `POST /v1/sessions/<id>/rehome` through `via`.
pub async fn rehome(w: &World, via: &str, id: &str, to: &str) -> Response {
    w.http(via)
        .post_json(
            &format!("/v1/sessions/{id}/rehome"),
            &json!({ "region": to }),
        )
        .await
}

/// A switch through `via`; its `data` on 200.
pub async fn switch(w: &World, via: &str, id: &str) -> Result<Value, Response> {
    let r = w.op(via, id, "switch").await;
    if r.status == 200 {
        Ok(r.data())
    } else {
        Err(r)
    }
}

/// Waits until every running region's copy of `id` names `home` at `epoch`.
pub async fn everywhere(w: &World, id: &str, home: &str, epoch: u32, limit: Duration) {
    let end = Instant::now() + limit;
    loop {
        let mut ok = true;
        for r in REGIONS {
            if !w.region(r).running() {
                continue;
            }
            match w.region(r).bytes(id) {
                Some(b) => {
                    let s = synckairos::store::decode_state(&id.into(), &b).expect("state");
                    ok &= s.home_region.as_str() == home && s.epoch == epoch;
                }
                None => ok = false,
            }
        }
        if ok {
            return;
        }
        assert!(
            Instant::now() < end,
            "{id} not homed in {home} at epoch {epoch} everywhere: {}",
            w.describe(&[id])
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The checker over every region's relay log, for `ids`.
pub async fn chains(w: &World, ids: &[String]) -> Chains {
    check(read_logs(w).await, ids).unwrap_or_else(|e| panic!("one chain per session: {e}"))
}
