//! The watchers of `fanout`: where they run (the harness's runtime, or SCHED_IDLE
//! threads of their own), how each reads its socket (`ws_stamped`: kernel receipt and
//! harness read), and what each records (raw samples, folded by `fanout` after the
//! run). Must not: drive switches or report.

use crate::clock::{now_us, parse_iso_us};
use crate::ws::ServerMsg;
use crate::ws_stamped::{Msg, StampedWs};
use anyhow::{Context, Result};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

const RING: usize = 4096;

/// Send instants (epoch µs) of the switches of one session, indexed by version.
pub struct Ring(Vec<AtomicU64>);

impl Ring {
    pub fn new() -> Self {
        Ring((0..RING).map(|_| AtomicU64::new(0)).collect())
    }
    pub fn set(&self, version: u64, us: u64) {
        self.0[version as usize % RING].store(us, Relaxed);
    }
    fn get(&self, version: u64) -> u64 {
        self.0[version as usize % RING].load(Relaxed)
    }
}

/// What one watcher saw: raw samples (µs), folded into histograms after the run. A
/// histogram per watcher and series (~150 KB each, touched at random) cost the harness
/// more CPU than the socket reads, which the servers then lacked.
#[derive(Default)]
pub struct WatcherOut {
    pub from_send: Vec<u32>,
    pub from_send_kernel: Vec<u32>,
    pub from_commit: Vec<u32>,
    pub errors: Vec<&'static str>,
}

/// A latency in µs as a sample (saturating: the histograms stop at 5 minutes anyway).
fn sample(us: u64) -> u32 {
    us.min(u64::from(u32::MAX)) as u32
}

/// Where the watchers run: the harness's own runtime, or (`--watchers-idle`) a runtime
/// of two threads at `SCHED_IDLE`, shut down when dropped.
pub struct WatcherRuntime {
    pub handle: tokio::runtime::Handle,
    own: Option<tokio::runtime::Runtime>,
}

impl WatcherRuntime {
    pub fn new(idle: bool) -> Result<Self> {
        if !idle {
            return Ok(WatcherRuntime {
                handle: tokio::runtime::Handle::current(),
                own: None,
            });
        }
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("watcher")
            .on_thread_start(|| {
                if let Err(e) = crate::sysinfo::set_sched(libc::SCHED_IDLE) {
                    eprintln!("SCHED_IDLE: {e}");
                }
            })
            .enable_all()
            .build()
            .context("the watchers' runtime")?;
        Ok(WatcherRuntime {
            handle: rt.handle().clone(),
            own: Some(rt),
        })
    }
}

impl Drop for WatcherRuntime {
    fn drop(&mut self) {
        if let Some(rt) = self.own.take() {
            rt.shutdown_background();
        }
    }
}

/// Reads until `CONNECTED` arrives (the first message of the protocol).
pub async fn expect_connected(ws: &mut StampedWs) -> Result<()> {
    match ws.next().await? {
        Msg::Text { payload, .. } if ServerMsg::parse(&payload)?.kind == "CONNECTED" => Ok(()),
        Msg::Text { payload, .. } => {
            anyhow::bail!(
                "expected CONNECTED, got {}",
                String::from_utf8_lossy(&payload)
            )
        }
        Msg::Closed => anyhow::bail!("socket closed before CONNECTED"),
    }
}

/// Reads one watcher's socket until it closes or `stop` fires, recording latencies.
pub async fn watch(
    mut sock: StampedWs,
    ring: Arc<Ring>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> WatcherOut {
    let mut out = WatcherOut::default();
    loop {
        // Cancelling `next` is acceptable only because the socket is dropped right after.
        let (msg, kernel) = tokio::select! {
            r = sock.next() => match r {
                Ok(Msg::Text { payload, kernel_us }) => (payload, kernel_us),
                Ok(Msg::Closed) => break,
                Err(_) => {
                    out.errors.push("ws read error");
                    break;
                }
            },
            _ = stop.changed() => break,
        };
        let recv = now_us();
        // The kernel stamps with the wall clock, the harness measures with its own (wall
        // clock at start, advanced monotonically): the stamp's age, taken now on the wall
        // clock, moves it onto the harness's clock without the two clocks' drift.
        let kernel = (kernel != 0).then(|| {
            let wall = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_micros() as u64);
            recv.saturating_sub(wall.saturating_sub(kernel))
        });
        let Ok(m) = ServerMsg::parse(&msg) else {
            out.errors.push("bad ws message");
            continue;
        };
        if m.kind != "STATE_UPDATE" {
            continue;
        }
        let Some(st) = m.state else { continue };
        let sent = ring.get(st.version);
        if sent == 0 {
            continue; // an update the harness did not cause
        }
        out.from_send.push(sample(recv.saturating_sub(sent)));
        if let Some(k) = kernel {
            out.from_send_kernel.push(sample(k.saturating_sub(sent)));
        }
        if let Some(c) = st.updated_at.and_then(parse_iso_us) {
            out.from_commit.push(sample(recv.saturating_sub(c)));
        }
    }
    out
}
