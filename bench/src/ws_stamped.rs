//! A watcher's WebSocket read with the kernel's receive time of every message
//! (`SO_TIMESTAMPNS`): when the harness plays thousands of watchers on the cores the
//! servers use, the moment the harness gets around to reading a socket says more
//! about the harness than about the server. The kernel stamps a segment as it arrives
//! (on loopback, inside the server's send), so "switch → kernel receipt" is what a
//! watcher on its own machine would see, and "switch → harness read" stays beside it.
//!
//! Only what a watcher needs: the opening handshake, unmasked server frames (text,
//! ping, close; no fragments: the server sends each message as one frame), masked
//! pongs back. Everything else ends the socket with an error.

use crate::target::Target;
use anyhow::{bail, Context, Result};
use std::io;
use std::os::fd::AsRawFd;
use tokio::io::{AsyncReadExt, AsyncWriteExt, Interest};
use tokio::net::TcpStream;

/// One server message and the kernel's receive time (epoch µs) of the read that
/// completed it.
pub enum Msg {
    Text { payload: Vec<u8>, kernel_us: u64 },
    Closed,
}

pub struct StampedWs {
    stream: TcpStream,
    buf: Vec<u8>,
    /// Bytes of `buf` already consumed.
    start: usize,
    /// Kernel receive time of the newest read.
    last_stamp_us: u64,
}

/// Opens `ws://<target>/ws?sessionId=<id>` with receive timestamps on.
pub async fn connect(target: &Target, session_id: &str) -> Result<StampedWs> {
    let mut stream = TcpStream::connect(target.addr)
        .await
        .with_context(|| format!("ws connect to {}", target.url))?;
    stream.set_nodelay(true)?;
    let on: libc::c_int = 1;
    // SAFETY: a valid socket fd and a c_int option of the right size.
    let rc = unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_TIMESTAMPNS,
            (&on as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error()).context("SO_TIMESTAMPNS");
    }
    let req = format!(
        "GET /ws?sessionId={session_id} HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Version: 13\r\n\r\n",
        target.authority
    );
    stream.write_all(req.as_bytes()).await?;
    let mut buf = Vec::with_capacity(4096);
    let head_end = loop {
        let mut chunk = [0u8; 1024];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            bail!("ws handshake with {}: closed", target.url);
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > 16 * 1024 {
            bail!("ws handshake with {}: response head too long", target.url);
        }
    };
    if !buf.starts_with(b"HTTP/1.1 101") {
        let line = buf.split(|b| *b == b'\r').next().unwrap_or_default();
        bail!(
            "ws handshake with {}: {}",
            target.url,
            String::from_utf8_lossy(line)
        );
    }
    Ok(StampedWs {
        stream,
        buf,
        start: head_end,
        last_stamp_us: 0,
    })
}

impl StampedWs {
    /// The next text message (pings answered on the way), or `Closed`.
    pub async fn next(&mut self) -> Result<Msg> {
        loop {
            while let Some((op, range)) = self.frame()? {
                match op {
                    0x1 | 0x2 => {
                        let payload = self.buf[range].to_vec();
                        return Ok(Msg::Text {
                            payload,
                            kernel_us: self.last_stamp_us,
                        });
                    }
                    0x8 => return Ok(Msg::Closed),
                    0x9 => {
                        let pong = masked(0xA, &self.buf[range]);
                        self.stream.write_all(&pong).await?;
                    }
                    _ => {}
                }
            }
            if self.start > 0 {
                self.buf.drain(..self.start);
                self.start = 0;
            }
            if self.read().await? == 0 {
                return Ok(Msg::Closed);
            }
        }
    }

    /// The next whole frame in the buffer (consumed), or `None` when more is needed.
    fn frame(&mut self) -> Result<Option<(u8, std::ops::Range<usize>)>> {
        let b = &self.buf[self.start..];
        if b.len() < 2 {
            return Ok(None);
        }
        if b[0] & 0x80 == 0 {
            bail!("fragmented server message");
        }
        if b[1] & 0x80 != 0 {
            bail!("masked server frame");
        }
        let (len, head) = match b[1] & 0x7f {
            126 if b.len() >= 4 => (u16::from_be_bytes([b[2], b[3]]) as usize, 4),
            127 if b.len() >= 10 => {
                let mut l = [0u8; 8];
                l.copy_from_slice(&b[2..10]);
                (u64::from_be_bytes(l) as usize, 10)
            }
            126 | 127 => return Ok(None),
            n => (n as usize, 2),
        };
        if len > 4 << 20 {
            bail!("server frame of {len} bytes");
        }
        if b.len() < head + len {
            return Ok(None);
        }
        let op = b[0] & 0x0f;
        let at = self.start + head;
        self.start = at + len;
        Ok(Some((op, at..at + len)))
    }

    /// One `recvmsg` into the buffer, keeping the kernel's receive time.
    async fn read(&mut self) -> Result<usize> {
        if self.buf.capacity() - self.buf.len() < 2048 {
            self.buf.reserve(4096);
        }
        loop {
            self.stream.readable().await?;
            let fd = self.stream.as_raw_fd();
            let buf = &mut self.buf;
            match self
                .stream
                .try_io(Interest::READABLE, || recv_stamped(fd, buf))
            {
                Ok((n, stamp)) => {
                    if let Some(us) = stamp {
                        self.last_stamp_us = us;
                    }
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }
}

/// `recvmsg` into the spare capacity of `buf`; the `SCM_TIMESTAMPNS` time in epoch µs.
fn recv_stamped(fd: i32, buf: &mut Vec<u8>) -> io::Result<(usize, Option<u64>)> {
    let spare = buf.spare_capacity_mut();
    let mut iov = libc::iovec {
        iov_base: spare.as_mut_ptr().cast(),
        iov_len: spare.len(),
    };
    // Room for one timespec control message (aligned).
    let mut control = [0u64; 8];
    // SAFETY: msghdr is plain data; every pointer set below outlives the call.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&control) as _;
    // SAFETY: fd is an open socket; iov points at `spare`, which stays borrowed.
    let n = unsafe { libc::recvmsg(fd, &mut msg, libc::MSG_DONTWAIT) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let n = n as usize;
    // SAFETY: the kernel initialised the first n bytes of the spare capacity.
    unsafe { buf.set_len(buf.len() + n) };
    let mut stamp = None;
    // SAFETY: walking the control messages the kernel wrote into `control`.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_TIMESTAMPNS {
                let ts: libc::timespec = std::ptr::read_unaligned(libc::CMSG_DATA(c).cast());
                stamp = Some(ts.tv_sec as u64 * 1_000_000 + ts.tv_nsec as u64 / 1_000);
            }
            c = libc::CMSG_NXTHDR(&msg, c);
        }
    }
    Ok((n, stamp))
}

/// A client frame (masked with a zero key, which RFC 6455 allows).
fn masked(op: u8, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(payload.len() + 8);
    f.push(0x80 | op);
    f.push(0x80 | payload.len().min(125) as u8);
    f.extend_from_slice(&[0, 0, 0, 0]);
    f.extend_from_slice(&payload[..payload.len().min(125)]);
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_zero_mask_pong_is_well_formed() {
        assert_eq!(masked(0xA, b"hi"), vec![0x8A, 0x82, 0, 0, 0, 0, b'h', b'i']);
    }
}
