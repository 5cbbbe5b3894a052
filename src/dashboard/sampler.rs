//! The sampling loop: at every interval boundary (aligned to the clock, so the
//! intervals of all instances line up), close the interval with the series' totals
//! and the gauges of the moment (connections, watched sessions).
//!
//! Must not: record anything itself (the metrics helpers feed the series).

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::trends::Trends;
use crate::clock::now_ms;
use crate::hub::Hub;
use crate::trend::series;

/// Runs until `stop`.
pub async fn run(trends: Arc<Trends>, hub: Arc<Hub>, stop: CancellationToken) {
    let interval = trends.interval_ms() as i64;
    loop {
        let now = now_ms();
        let next = now - now.rem_euclid(interval) + interval;
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis((next - now).max(1) as u64)) => {}
            _ = stop.cancelled() => return,
        }
        let gauges = vec![
            ("connections".to_owned(), hub.connection_count() as f64),
            ("watched_sessions".to_owned(), hub.watched_count() as f64),
        ];
        trends
            .sample(next - interval, series::global().totals(), gauges)
            .await;
    }
}
