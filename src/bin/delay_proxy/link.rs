//! Accepting connections and forwarding them to a target through a delay line, both
//! ways, until either side closes, a partition blackholes them, or a heal resets them.

use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};

use crate::gate::{Gate, State};
use crate::timer::Timer;

/// Largest chunk read at once.
const CHUNK: usize = 64 * 1024;
/// Chunks in flight per direction before reading pauses (≈ 256 MiB of 64 KiB reads:
/// far above any bandwidth-delay product a development link needs; not a cap).
const IN_FLIGHT: usize = 4096;
/// A target that neither accepts nor refuses within this is skipped.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// The targets, taken in turn.
pub struct Targets {
    list: Vec<String>,
    next: AtomicUsize,
}

impl Targets {
    pub fn new(list: Vec<String>) -> Targets {
        Targets {
            list,
            next: AtomicUsize::new(0),
        }
    }

    /// Connects to the next target that accepts, starting after the previous pick.
    async fn connect(&self) -> Option<TcpStream> {
        let n = self.list.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        for i in 0..n {
            let target = &self.list[(start + i) % n];
            match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(target)).await {
                Ok(Ok(s)) => return Some(s),
                Ok(Err(e)) => eprintln!("delay-proxy: {target}: {e}"),
                Err(_) => eprintln!("delay-proxy: {target}: connect timed out"),
            }
        }
        None
    }
}

/// Accepts connections forever.
pub async fn serve(
    listener: TcpListener,
    targets: Arc<Targets>,
    delay: Duration,
    gate: Gate,
    timer: Timer,
) {
    loop {
        match listener.accept().await {
            Ok((client, _)) => {
                let _ = client.set_nodelay(true);
                let conn = handle(
                    client,
                    targets.clone(),
                    delay,
                    gate.subscribe(),
                    timer.clone(),
                );
                tokio::spawn(conn);
            }
            Err(e) => {
                // Out of descriptors and the like: back off briefly instead of spinning.
                eprintln!("delay-proxy: accept: {e}");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
}

async fn handle(
    mut client: TcpStream,
    targets: Arc<Targets>,
    delay: Duration,
    mut gate: watch::Receiver<State>,
    timer: Timer,
) {
    let State { partitioned, epoch } = *gate.borrow_and_update();
    if partitioned {
        // Accepted but never forwarded; closed on heal.
        hold(gate, epoch).await;
        return;
    }
    let upstream = tokio::select! {
        up = targets.connect() => up,
        _ = gate.wait_for(|s| s.partitioned) => None,
    };
    let Some(mut upstream) = upstream else {
        if gate.borrow().partitioned {
            hold(gate, epoch).await;
        }
        return; // every target refused: the client sees its connection close
    };
    let _ = upstream.set_nodelay(true);
    let blackholed = {
        let (cr, cw) = client.split();
        let (ur, uw) = upstream.split();
        let forward = async {
            tokio::try_join!(
                direction(cr, uw, delay, &timer),
                direction(ur, cw, delay, &timer)
            )
        };
        tokio::select! {
            _ = forward => false,
            r = gate.wait_for(|s| s.partitioned || s.epoch != epoch) => r.is_ok(),
        }
    };
    if blackholed {
        // Forwarding stopped and chunks in flight are lost; both sockets stay open
        // and silent until the heal, then close.
        hold(gate, epoch).await;
    }
}

/// Waits for the heal that ends the partition this connection was caught in.
async fn hold(mut gate: watch::Receiver<State>, epoch: u64) {
    let _ = gate.wait_for(|s| s.epoch != epoch).await;
}

/// Copies `from` to `to`, each chunk written `delay` after it was read; end of stream
/// is passed on (as a write shutdown) after the same delay.
async fn direction<R, W>(mut from: R, mut to: W, delay: Duration, timer: &Timer) -> io::Result<()>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let (tx, mut rx) = mpsc::channel::<(Instant, Vec<u8>)>(IN_FLIGHT);
    let reader = async move {
        let mut buf = vec![0u8; CHUNK];
        loop {
            let n = from.read(&mut buf).await?;
            let at = Instant::now();
            // An empty chunk marks the end of the stream.
            if tx.send((at, buf[..n].to_vec())).await.is_err() || n == 0 {
                return Ok::<_, io::Error>(());
            }
        }
    };
    let writer = async move {
        while let Some((at, chunk)) = rx.recv().await {
            timer.sleep_until(at + delay).await;
            if chunk.is_empty() {
                // The peer may already be gone; a failed half-close changes nothing.
                let _ = to.shutdown().await;
                return Ok(());
            }
            to.write_all(&chunk).await?;
        }
        Ok::<_, io::Error>(())
    };
    tokio::try_join!(reader, writer)?;
    Ok(())
}
