//! The ownership checker (issue 11): every region's relay log read back and proved to
//! be one chain of versions per session, whoever committed them:
//!
//! - a commit's *epoch* is the epoch its writer committed under: the state's epoch
//!   when the writer is the home the state names, one less when the writer handed the
//!   session over (a re-home commit);
//! - at any epoch of a session, one region commits (never two);
//! - along versions, epochs never go down (no commit at a stale epoch), except for
//!   writes a takeover superseded: versions the lost home committed at epoch `e` at or
//!   after the first version of a later epoch (the successor never saw them). Those
//!   are counted (`superseded`), never accepted silently;
//! - apart from those, no version is committed twice with different contents.
//!
//! Also: waiting for a condition on every region's copy, and a session's epoch and
//! home as stored in one region.

use std::collections::BTreeMap;

use redis::streams::StreamRangeReply;
use redis::Value as RValue;
use synckairos::store::envelope::Envelope;
use synckairos::store::{decode_state, keys};

use crate::support::regions::{World, REGIONS};
use crate::support::relay::conn;

/// One commit as found in a region's relay log.
#[derive(Clone, Debug)]
pub struct Commit {
    pub id: String,
    pub writer: String,
    pub version: u64,
    /// The epoch the writer committed under.
    pub epoch: u32,
    pub state: Vec<u8>,
}

/// What the checker found.
#[derive(Debug, Default)]
pub struct Chains {
    /// Per session, its commits by version.
    pub commits: BTreeMap<String, Vec<Commit>>,
    /// Versions committed at a lower epoch than another commit of the same version.
    pub superseded: Vec<(String, u64)>,
}

impl Chains {
    /// The highest (epoch, version) commit of `id`.
    pub fn last(&self, id: &str) -> Option<&Commit> {
        self.commits
            .get(id)?
            .iter()
            .max_by_key(|c| (c.epoch, c.version))
    }
}

/// Reads every region's relay log (running regions' Redis) into commits.
pub async fn read_logs(w: &World) -> Vec<Commit> {
    let mut out = Vec::new();
    for r in REGIONS {
        let region = w.region(r);
        if region.redis.pid().is_none() {
            continue; // killed: its log is gone with it
        }
        let mut c = conn(&region.redis.url()).await;
        let all: StreamRangeReply = redis::cmd("XRANGE")
            .arg(keys::RELAY_LOG)
            .arg("-")
            .arg("+")
            .query_async(&mut c)
            .await
            .unwrap_or_default();
        for e in all.ids {
            let Some(RValue::BulkString(b)) = e.map.get("e") else {
                continue;
            };
            let env = Envelope::decode(b).expect("a relay log entry");
            if env.body.deleted {
                continue;
            }
            let s = decode_state(&env.body.session_id, &env.body.state).expect("a state");
            let handed = env.body.home != s.home_region;
            out.push(Commit {
                id: env.body.session_id.to_string(),
                writer: env.body.home.to_string(),
                version: s.version,
                epoch: if handed { s.epoch - 1 } else { s.epoch },
                state: env.body.state.clone(),
            });
        }
    }
    out
}

/// Checks `commits` for `ids`; `Err` names the first violation.
pub fn check(commits: Vec<Commit>, ids: &[String]) -> Result<Chains, String> {
    let mut chains = Chains::default();
    for c in commits {
        if ids.contains(&c.id) {
            chains.commits.entry(c.id.clone()).or_default().push(c);
        }
    }
    for (id, cs) in &mut chains.commits {
        cs.sort_by_key(|c| (c.version, c.epoch));
        let mut writers: BTreeMap<u32, &str> = BTreeMap::new();
        for c in cs.iter() {
            if let Some(w) = writers.insert(c.epoch, &c.writer) {
                if w != c.writer {
                    return Err(format!(
                        "{id}: epoch {} committed by {w} and by {}",
                        c.epoch, c.writer
                    ));
                }
            }
        }
        // An epoch's first version; commits of older epochs at or after it were
        // superseded (a takeover re-used those versions; a re-home never does: the
        // hand-over is the old epoch's last commit).
        let mut first: BTreeMap<u32, u64> = BTreeMap::new();
        for c in cs.iter() {
            let f = first.entry(c.epoch).or_insert(c.version);
            *f = (*f).min(c.version);
        }
        let mut kept: BTreeMap<u64, Vec<&Commit>> = BTreeMap::new();
        for c in cs.iter() {
            let later = first.range(c.epoch + 1..).any(|(_, f)| *f <= c.version);
            if later {
                chains.superseded.push((id.clone(), c.version));
            } else {
                kept.entry(c.version).or_default().push(c);
            }
        }
        let mut last_epoch = 0;
        for (v, same) in &kept {
            if same.iter().any(|c| c.state != same[0].state) {
                return Err(format!(
                    "{id}: version {v} committed twice with different contents"
                ));
            }
            let e = same[0].epoch;
            if e < last_epoch {
                return Err(format!(
                    "{id}: version {v} committed at epoch {e} after epoch {last_epoch}"
                ));
            }
            last_epoch = e;
        }
    }
    Ok(chains)
}
