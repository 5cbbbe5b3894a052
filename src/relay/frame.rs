//! Framing of a relay stream (an HTTP response body): `[len: u32 BE][kind: u8][data]`.
//! An envelope frame carries exactly the bytes the home published locally
//! (`msgpack(seq)` + `msgpack(body)`), so a receiving region can republish them as is.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum FrameError {
    #[error("bad relay frame length {0}")]
    Length(usize),
    #[error("unknown relay frame kind {0}")]
    Kind(u8),
}

/// Frames larger than this are a protocol error (a session state is a few KB at most).
pub const MAX_FRAME: usize = 4 * 1024 * 1024;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    Envelope {
        seq: u64,
        payload: Bytes,
    },
    /// Nothing new; `head` is the home's latest sequence number.
    Heartbeat {
        head: u64,
    },
    /// The log no longer holds everything after the requested position.
    Gap {
        log_start: u64,
        head: u64,
    },
}

pub fn encode(frame: &Frame) -> Bytes {
    let mut b = BytesMut::new();
    match frame {
        Frame::Envelope { seq, payload } => {
            b.put_u32(9 + payload.len() as u32);
            b.put_u8(1);
            b.put_u64(*seq);
            b.put_slice(payload);
        }
        Frame::Heartbeat { head } => {
            b.put_u32(9);
            b.put_u8(2);
            b.put_u64(*head);
        }
        Frame::Gap { log_start, head } => {
            b.put_u32(17);
            b.put_u8(3);
            b.put_u64(*log_start);
            b.put_u64(*head);
        }
    }
    b.freeze()
}

/// Incremental decoder over body chunks.
#[derive(Default)]
pub struct Reader {
    buf: BytesMut,
}

impl Reader {
    pub fn push(&mut self, chunk: &[u8]) {
        self.buf.extend_from_slice(chunk);
    }

    /// The next complete frame, `Ok(None)` if more bytes are needed.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, FrameError> {
        if self.buf.len() < 4 {
            return Ok(None);
        }
        let len = u32::from_be_bytes([self.buf[0], self.buf[1], self.buf[2], self.buf[3]]) as usize;
        if !(9..=MAX_FRAME).contains(&len) {
            return Err(FrameError::Length(len));
        }
        if self.buf.len() < 4 + len {
            return Ok(None);
        }
        self.buf.advance(4);
        let mut f = self.buf.split_to(len);
        let kind = f.get_u8();
        let a = f.get_u64();
        match kind {
            1 => Ok(Some(Frame::Envelope {
                seq: a,
                payload: f.freeze(),
            })),
            2 => Ok(Some(Frame::Heartbeat { head: a })),
            3 if f.len() >= 8 => Ok(Some(Frame::Gap {
                log_start: a,
                head: f.get_u64(),
            })),
            k => Err(FrameError::Kind(k)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_across_chunk_boundaries() {
        let frames = vec![
            Frame::Envelope {
                seq: 7,
                payload: Bytes::from_static(b"hello"),
            },
            Frame::Heartbeat { head: 9 },
            Frame::Gap {
                log_start: 3,
                head: 9,
            },
        ];
        let wire: Vec<u8> = frames.iter().flat_map(|f| encode(f).to_vec()).collect();
        let mut r = Reader::default();
        let mut got = Vec::new();
        for chunk in wire.chunks(3) {
            r.push(chunk);
            while let Some(f) = r.next_frame().unwrap() {
                got.push(f);
            }
        }
        assert_eq!(got, frames);
    }

    #[test]
    fn garbage_is_an_error() {
        let mut r = Reader::default();
        r.push(&[0xff, 0xff, 0xff, 0xff, 1]);
        assert!(r.next_frame().is_err());
    }
}
