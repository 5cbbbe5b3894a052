//! The outbox as the writer sees it: fetch a batch of unwritten records, acknowledge
//! the ones that are safely in PostgreSQL, report the backlog.

use async_trait::async_trait;

use super::AuditError;
use crate::domain::Millis;

/// One record as appended by a commit.
#[derive(Clone, Debug, PartialEq)]
pub struct RawEntry {
    /// The outbox's own id (Redis stream id), used to acknowledge.
    pub id: String,
    /// The home region's commit sequence number.
    pub seq: u64,
    /// The envelope body (`store::codec::EnvelopeBody`, MessagePack).
    pub body: Vec<u8>,
    /// The region that handled the request.
    pub origin: String,
    /// Who asked (`role:subject`), when the request carried a token.
    pub actor: Option<String>,
    /// Commit time, epoch ms.
    pub at: Millis,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Backlog {
    pub len: u64,
    pub oldest: Option<Millis>,
}

#[async_trait]
pub trait Outbox: Send + Sync + 'static {
    /// Up to `max` records not yet acknowledged: records this consumer was given
    /// before (after a restart), records abandoned by dead consumers, then new ones,
    /// waiting up to `wait_ms` when there are none.
    async fn fetch(&self, max: usize, wait_ms: u64) -> Result<Vec<RawEntry>, AuditError>;

    /// Marks records as written (and lets the outbox forget them).
    async fn ack(&self, ids: &[String]) -> Result<(), AuditError>;

    /// Parks records that cannot be decoded where they do not block the others.
    async fn dead_letter(&self, entries: &[RawEntry]) -> Result<(), AuditError>;

    async fn backlog(&self) -> Result<Backlog, AuditError>;
}
