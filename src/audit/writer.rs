//! The batching writer: fetch a batch from the outbox (by size, or whatever arrived
//! within the wait), write it to PostgreSQL in one transaction (reading the next batch
//! meanwhile), acknowledge only after the commit. While PostgreSQL is down the same batch is retried with backoff and the
//! backlog waits in the outbox; memory holds one batch at most. Also samples the
//! backlog for metrics (not for `/ready`: see `front::ops::ready`).

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::PgPool;
use tokio_util::sync::CancellationToken;

use super::outbox::{Outbox, RawEntry};
use super::record::Batch;
use super::{pg, record, AuditStats};
use crate::clock::now_ms;
use crate::metrics;

pub struct WriterConfig {
    pub batch_max: usize,
    pub batch_wait_ms: u64,
}

async fn pause(ms: u64, stop: &CancellationToken) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(Duration::from_millis(ms)) => true,
        _ = stop.cancelled() => false,
    }
}

pub async fn run(
    outbox: Arc<dyn Outbox>,
    pool: PgPool,
    cfg: WriterConfig,
    stats: Arc<AuditStats>,
    stop: CancellationToken,
) {
    let mut prefetched: Option<Vec<RawEntry>> = None;
    while !stop.is_cancelled() {
        let entries = match prefetched.take() {
            Some(e) => e,
            None => match outbox.fetch(cfg.batch_max, cfg.batch_wait_ms).await {
                Ok(e) => e,
                Err(e) => {
                    tracing::warn!(error = %crate::cause::chain(&e), "audit outbox read failed");
                    if !pause(500, &stop).await {
                        return;
                    }
                    continue;
                }
            },
        };
        if entries.is_empty() {
            continue;
        }
        let (batch, bad) = record::build(&entries);
        if !bad.is_empty() {
            let _ = outbox.dead_letter(&bad).await;
        }
        if batch.is_empty() {
            continue;
        }
        // Write this batch (retrying until it is in) while the next one is read: at most
        // two batches are ever held, and the next is only acknowledged after its own write.
        let (written, next) = tokio::join!(
            write_until_done(&pool, &batch, &stats, &stop),
            outbox.fetch(cfg.batch_max, cfg.batch_wait_ms)
        );
        if !written {
            return;
        }
        prefetched = next.ok();
        while let Err(e) = outbox.ack(&batch.ids).await {
            tracing::warn!(error = %crate::cause::chain(&e), "audit acknowledgement failed; retrying");
            if !pause(200, &stop).await {
                return;
            }
        }
    }
}

/// Writes `batch`, retrying with backoff while PostgreSQL fails; false when stopped.
async fn write_until_done(
    pool: &PgPool,
    batch: &Batch,
    stats: &AuditStats,
    stop: &CancellationToken,
) -> bool {
    let mut backoff = 100;
    loop {
        match pg::write_batch(pool, batch).await {
            Ok(()) => {
                stats.database_ok.store(true, Ordering::Relaxed);
                stats
                    .written
                    .fetch_add(batch.events.len() as u64, Ordering::Relaxed);
                metrics::audit_written(batch.events.len() as u64);
                return true;
            }
            Err(e) => {
                if stats.database_ok.swap(false, Ordering::Relaxed) {
                    tracing::warn!(error = %crate::cause::chain(&e), "audit write failed; the backlog waits in the outbox");
                }
                if !pause(backoff, stop).await {
                    return false;
                }
                backoff = (backoff * 2).min(5_000);
            }
        }
    }
}

/// Samples the outbox backlog every second.
pub async fn sample_backlog(
    outbox: Arc<dyn Outbox>,
    stats: Arc<AuditStats>,
    stop: CancellationToken,
) {
    while pause(1_000, &stop).await {
        if let Ok(b) = outbox.backlog().await {
            let age = b.oldest.map_or(0, |t| (now_ms() - t).max(0));
            stats.backlog.store(b.len, Ordering::Relaxed);
            stats.backlog_age_ms.store(age, Ordering::Relaxed);
            metrics::audit_backlog(b.len as f64, age as f64);
        }
    }
}
