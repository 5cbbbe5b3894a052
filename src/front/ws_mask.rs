//! RFC 6455 §5.1: a server must close the connection when a client sends an unmasked
//! frame. fastwebsockets unmasks what it reads but does not say whether a frame was
//! masked, so the bytes of a client socket pass through `MaskCheck`, which follows the
//! frame headers (and skips payloads) and fails the read with `Unmasked` at the first
//! unmasked frame; the connection then closes with 1002.
//!
//! Must not: buffer or change the bytes (it only looks at headers as they pass).

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use tokio::io::{AsyncRead, ReadBuf};

/// The error a read fails with at an unmasked client frame.
#[derive(Debug, thiserror::Error)]
#[error("unmasked client frame")]
pub struct Unmasked;

/// Whether `e` (from a failed frame read) is an unmasked frame.
pub fn is_unmasked(e: &io::Error) -> bool {
    e.get_ref().is_some_and(|inner| inner.is::<Unmasked>())
}

enum State {
    /// Reading a header: `have` of its bytes so far.
    Head { buf: [u8; 14], have: usize },
    /// Skipping a payload.
    Body { left: u64 },
}

pub struct MaskCheck<R> {
    inner: R,
    state: State,
}

impl<R> MaskCheck<R> {
    pub fn new(inner: R) -> Self {
        MaskCheck {
            inner,
            state: State::Head {
                buf: [0; 14],
                have: 0,
            },
        }
    }
}

/// Header length once its first two bytes are known.
fn header_len(b1: u8) -> usize {
    let ext = match b1 & 0x7f {
        126 => 2,
        127 => 8,
        _ => 0,
    };
    2 + ext + if b1 & 0x80 != 0 { 4 } else { 0 }
}

fn payload_len(buf: &[u8]) -> u64 {
    match buf[1] & 0x7f {
        126 => u64::from(u16::from_be_bytes([buf[2], buf[3]])),
        127 => {
            let mut b = [0u8; 8];
            b.copy_from_slice(&buf[2..10]);
            u64::from_be_bytes(b)
        }
        n => u64::from(n),
    }
}

impl State {
    /// Follows `bytes`; `Err` at an unmasked frame header.
    fn scan(&mut self, mut bytes: &[u8]) -> Result<(), Unmasked> {
        while !bytes.is_empty() {
            match self {
                State::Body { left } => {
                    let skip = (*left).min(bytes.len() as u64);
                    *left -= skip;
                    bytes = &bytes[skip as usize..];
                    if *left == 0 {
                        *self = State::Head {
                            buf: [0; 14],
                            have: 0,
                        };
                    }
                }
                State::Head { buf, have } => {
                    buf[*have] = bytes[0];
                    *have += 1;
                    bytes = &bytes[1..];
                    if *have < 2 {
                        continue;
                    }
                    if buf[1] & 0x80 == 0 {
                        return Err(Unmasked);
                    }
                    if *have == header_len(buf[1]) {
                        let left = payload_len(&buf[..]);
                        *self = if left == 0 {
                            State::Head {
                                buf: [0; 14],
                                have: 0,
                            }
                        } else {
                            State::Body { left }
                        };
                    }
                }
            }
        }
        Ok(())
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for MaskCheck<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let me = &mut *self;
        ready!(Pin::new(&mut me.inner).poll_read(cx, buf))?;
        me.state
            .scan(&buf.filled()[before..])
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(masked: bool, len: usize) -> Vec<u8> {
        let mut f = vec![0x81];
        let m = if masked { 0x80 } else { 0 };
        match len {
            0..=125 => f.push(m | len as u8),
            126..=65535 => {
                f.push(m | 126);
                f.extend_from_slice(&(len as u16).to_be_bytes());
            }
            _ => {
                f.push(m | 127);
                f.extend_from_slice(&(len as u64).to_be_bytes());
            }
        }
        if masked {
            f.extend_from_slice(&[1, 2, 3, 4]);
        }
        f.extend(std::iter::repeat_n(0x80u8, len));
        f
    }

    #[test]
    fn follows_masked_frames_of_every_length_byte_by_byte_and_whole() {
        let mut all = Vec::new();
        for len in [0, 1, 125, 126, 300, 65535, 70_000] {
            all.extend(frame(true, len));
        }
        let mut s = State::Head {
            buf: [0; 14],
            have: 0,
        };
        assert!(s.scan(&all).is_ok());
        let mut s = State::Head {
            buf: [0; 14],
            have: 0,
        };
        for b in &all {
            assert!(s.scan(std::slice::from_ref(b)).is_ok());
        }
        assert!(matches!(s, State::Head { have: 0, .. }));
        all.extend(frame(false, 3));
        let mut s = State::Head {
            buf: [0; 14],
            have: 0,
        };
        assert!(s.scan(&all).is_err());
    }
}
