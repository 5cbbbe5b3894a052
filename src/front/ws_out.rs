//! A WebSocket connection's socket as the server writes it: the write half of its TCP
//! stream, shared by the connection's writer (which waits for room, within the write
//! timeout) and its mailbox (which writes to an idle socket without waiting,
//! `mailbox::Direct`, so that a fan-out does not wake one task per connection).
//!
//! Owns: splitting the upgraded socket, and the bytes' way into the kernel. Must not:
//! decide what is sent or in which order (the mailbox and the writer do), or wait in
//! `try_write`.

use std::io::{self, Cursor};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use fastwebsockets::{Role, WebSocketRead};
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, Chain};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;

use super::ws_mask::MaskCheck;
use crate::mailbox::{Direct, Wrote};
use crate::metrics;

/// A connection's frame reader: fastwebsockets behind the mask check, after what the
/// HTTP parser had already read past the upgrade request.
pub type Rx = WebSocketRead<MaskCheck<Chain<Cursor<Bytes>, OwnedReadHalf>>>;

/// Splits an upgraded socket into its reader and the outlet every write goes through
/// (fastwebsockets' writer is not used: frames arrive here encoded).
pub fn open(io: Upgraded) -> Option<(Rx, Arc<Outlet>)> {
    let Ok(parts) = io.downcast::<TokioIo<TcpStream>>() else {
        tracing::error!("websocket upgraded from a transport other than TCP; dropped");
        return None;
    };
    let (r, w) = parts.io.into_inner().into_split();
    // What hyper read past the upgrade request (normally nothing), copied: the slice
    // would keep hyper's whole read buffer (8 KB) alive for the socket's life.
    let early = Bytes::copy_from_slice(&parts.read_buf);
    let read = MaskCheck::new(Cursor::new(early).chain(r));
    let (rx, _) = fastwebsockets::after_handshake_split(read, tokio::io::sink(), Role::Server);
    Some((rx, Arc::new(Outlet { tx: w })))
}

pub struct Outlet {
    tx: OwnedWriteHalf,
}

/// Why a write did not finish.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("socket write failed")]
    Io(#[source] io::Error),
    /// The peer does not read (its receive window stayed full).
    #[error("socket write timed out")]
    TimedOut,
}

impl Outlet {
    /// Writes all of `bytes`, waiting for room at most `timeout`. A peer that does not
    /// read within it counts as a slow consumer.
    pub async fn write_all(&self, bytes: &[u8], timeout: Duration) -> Result<(), SendError> {
        match tokio::time::timeout(timeout, self.write_all_now(bytes)).await {
            Ok(r) => r.map_err(SendError::Io),
            Err(_) => {
                metrics::ws_slow_consumer_closed();
                Err(SendError::TimedOut)
            }
        }
    }

    async fn write_all_now(&self, mut rest: &[u8]) -> io::Result<()> {
        while !rest.is_empty() {
            match self.tx.try_write(rest) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => rest = &rest[n..],
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.tx.writable().await?,
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

impl Direct for Outlet {
    fn try_write(&self, bytes: &[u8]) -> Wrote {
        let wrote = match self.tx.try_write(bytes) {
            Ok(n) if n == bytes.len() => Wrote::All,
            Ok(0) => Wrote::Nothing,
            Ok(n) => Wrote::Part(n),
            // Full, or failed: the writer meets the same error and ends the connection.
            Err(_) => Wrote::Nothing,
        };
        metrics::ws_direct_write(match wrote {
            Wrote::All => "whole",
            Wrote::Part(_) => "partial",
            Wrote::Nothing => "full",
        });
        wrote
    }
}
