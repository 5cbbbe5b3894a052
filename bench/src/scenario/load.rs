//! Background switch load for `deadline --background N --switch-rate R` (issue 15's
//! sessions at scale): N more running sessions (each with its deadline indexed, 24 h
//! out) and an open loop of R switches per second over them while the deadlines fall.
//! Latency is taken from the intended send instant (no coordinated omission), as in
//! `switch --mode open`; one pacer (a timerfd) hands tickets to `connections` workers.

use crate::api::{self, Session, SessionSpec};
use crate::http::HttpConn;
use crate::stats::{io_kind, status_kind, Recorder};
use crate::target::Target;
use anyhow::Result;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A running switch load; `finish` stops it and returns its recordings.
pub struct Load {
    stop: tokio::sync::watch::Sender<bool>,
    workers: tokio::task::JoinSet<Result<Recorder>>,
    pacing: tokio::task::JoinHandle<Result<()>>,
}

/// Creates and starts `n` sessions on `t` (the background population).
pub async fn population(t: &Target, n: usize) -> Result<Vec<Session>> {
    api::setup_sessions(t, n, &SessionSpec::long_running(), 16).await
}

/// Starts `rate` switches per second over `sessions` through `connections` connections.
pub async fn start(
    t: &Target,
    sessions: &[Session],
    rate: f64,
    connections: usize,
    timeout: Duration,
) -> Result<Load> {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let (tx, rx) = flume::bounded::<(Instant, usize)>(connections * 64);
    let interval = Duration::from_secs_f64(1.0 / rate.max(0.001));
    let start = Instant::now() + Duration::from_millis(100);
    let pacer = crate::pacer::Pacer::new()?;
    let pacing = tokio::spawn(async move {
        for seq in 0usize.. {
            if *stopped.borrow() {
                break;
            }
            let intended = start + interval.mul_f64(seq as f64);
            pacer.sleep_until(intended).await?;
            if tx.send_async((intended, seq)).await.is_err() {
                break;
            }
        }
        anyhow::Ok(())
    });
    let shared = Arc::new(sessions.to_vec());
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..connections.max(1) {
        let (rx, ss, mut conn) = (rx.clone(), shared.clone(), HttpConn::new(t, timeout));
        workers.spawn(async move {
            conn.connect().await?;
            let mut rec = Recorder::default();
            while let Ok((intended, seq)) = rx.recv_async().await {
                let s = &ss[seq % ss.len()];
                let r = conn.request("POST", &s.switch_path, Some(b"{}")).await;
                let us = intended.elapsed().as_micros() as u64;
                match r {
                    Ok(resp) if resp.status == 200 => rec.record_us(us),
                    Ok(resp) => rec.error(status_kind(resp.status, &resp.body)),
                    Err(e) => {
                        rec.error(io_kind(&e));
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                }
            }
            anyhow::Ok(rec)
        });
    }
    Ok(Load {
        stop,
        workers,
        pacing,
    })
}

impl Load {
    /// Stops the pacer, lets the workers finish what they took, merges their recordings.
    pub async fn finish(mut self) -> Result<Recorder> {
        let _ = self.stop.send(true);
        self.pacing.await??;
        let mut all = Recorder::default();
        while let Some(r) = self.workers.join_next().await {
            all.merge(&r??);
        }
        Ok(all)
    }
}
