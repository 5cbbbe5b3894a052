//! Framing of a relay stream (an HTTP response body): `[len: u32 BE][kind: u8][data]`.
//! An envelope frame carries exactly the bytes the home published locally
//! (`msgpack(seq)` + `msgpack(body)`), so a receiving region can republish them as is.
//! A frame longer than `MAX_FRAME` is not buffered: its kind and sequence number are
//! read and the rest is skipped as it arrives (`Frame::Oversized`), so one huge entry
//! cannot stop a stream.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum FrameError {
    #[error("bad relay frame length {0}")]
    Length(usize),
    #[error("unknown relay frame kind {0}")]
    Kind(u8),
}

/// Frames larger than this are skipped (a session state is a few KB at most).
pub const MAX_FRAME: usize = 4 * 1024 * 1024;
/// Kind, then a u64, in every frame.
const HEAD: usize = 9;

/// Why the home could not send an entry of its log (`Frame::Skip`).
pub const SKIP_OVERSIZED: u8 = 1;
pub const SKIP_MALFORMED: u8 = 2;

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
    /// The requested position is not in the home's history (its log went back, or took
    /// another course after it): start again from a snapshot of the home.
    Reset {
        head: u64,
    },
    /// The home's entry at `seq` cannot be sent (`why`: `SKIP_*`).
    Skip {
        seq: u64,
        why: u8,
    },
    /// Decoding only: a frame of `len` bytes over `MAX_FRAME`, skipped (`seq` of an
    /// envelope, else 0).
    Oversized {
        seq: u64,
        len: usize,
    },
}

pub fn encode(frame: &Frame) -> Bytes {
    let mut b = BytesMut::new();
    let head = |b: &mut BytesMut, len: usize, kind: u8, a: u64| {
        b.put_u32(len as u32);
        b.put_u8(kind);
        b.put_u64(a);
    };
    match frame {
        Frame::Envelope { seq, payload } => {
            head(&mut b, HEAD + payload.len(), 1, *seq);
            b.put_slice(payload);
        }
        Frame::Heartbeat { head: h } => head(&mut b, HEAD, 2, *h),
        Frame::Gap { log_start, head: h } => {
            head(&mut b, HEAD + 8, 3, *log_start);
            b.put_u64(*h);
        }
        Frame::Reset { head: h } => head(&mut b, HEAD, 4, *h),
        Frame::Skip { seq, why } => {
            head(&mut b, HEAD + 1, 5, *seq);
            b.put_u8(*why);
        }
        // A receiver's view of a frame it would not buffer; sent, it is the skip.
        Frame::Oversized { seq, .. } => {
            head(&mut b, HEAD + 1, 5, *seq);
            b.put_u8(SKIP_OVERSIZED);
        }
    }
    b.freeze()
}

/// Incremental decoder over body chunks.
#[derive(Default)]
pub struct Reader {
    buf: BytesMut,
    /// Bytes of an oversized frame still to be dropped.
    discard: usize,
}

impl Reader {
    pub fn push(&mut self, chunk: &[u8]) {
        if self.discard > 0 {
            let n = self.discard.min(chunk.len());
            self.discard -= n;
            self.buf.extend_from_slice(&chunk[n..]);
        } else {
            self.buf.extend_from_slice(chunk);
        }
    }

    /// The next complete frame, `Ok(None)` if more bytes are needed.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, FrameError> {
        if self.discard > 0 {
            let n = self.discard.min(self.buf.len());
            self.buf.advance(n);
            self.discard -= n;
            if self.discard > 0 {
                return Ok(None);
            }
        }
        if self.buf.len() < 4 {
            return Ok(None);
        }
        let len = u32::from_be_bytes([self.buf[0], self.buf[1], self.buf[2], self.buf[3]]) as usize;
        if len < HEAD {
            return Err(FrameError::Length(len));
        }
        if len > MAX_FRAME {
            if self.buf.len() < 4 + HEAD {
                return Ok(None);
            }
            self.buf.advance(4);
            let kind = self.buf.get_u8();
            let a = self.buf.get_u64();
            self.discard = len - HEAD;
            let n = self.discard.min(self.buf.len());
            self.buf.advance(n);
            self.discard -= n;
            let seq = if kind == 1 { a } else { 0 };
            return Ok(Some(Frame::Oversized { seq, len }));
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
            4 => Ok(Some(Frame::Reset { head: a })),
            5 if !f.is_empty() => Ok(Some(Frame::Skip {
                seq: a,
                why: f.get_u8(),
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
            Frame::Reset { head: 2 },
            Frame::Skip {
                seq: 8,
                why: SKIP_MALFORMED,
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
    fn an_oversized_frame_is_skipped_without_buffering_and_the_stream_goes_on() {
        let big = Bytes::from(vec![7u8; MAX_FRAME + 10]);
        let mut wire = encode(&Frame::Envelope {
            seq: 41,
            payload: big,
        })
        .to_vec();
        wire.extend_from_slice(&encode(&Frame::Heartbeat { head: 41 }));
        let mut r = Reader::default();
        let mut got = Vec::new();
        for chunk in wire.chunks(64 * 1024) {
            r.push(chunk);
            assert!(r.buf.len() <= 64 * 1024 + 13, "buffered {}", r.buf.len());
            while let Some(f) = r.next_frame().unwrap() {
                got.push(f);
            }
        }
        assert_eq!(
            got,
            vec![
                Frame::Oversized {
                    seq: 41,
                    len: MAX_FRAME + 10 + HEAD
                },
                Frame::Heartbeat { head: 41 }
            ]
        );
    }

    #[test]
    fn garbage_is_an_error() {
        let mut r = Reader::default();
        r.push(&[0, 0, 0, 2, 1]);
        assert!(r.next_frame().is_err());
        let mut r = Reader::default();
        r.push(&encode(&Frame::Heartbeat { head: 1 })[..4]);
        r.push(&[9; 9]);
        assert_eq!(r.next_frame(), Err(FrameError::Kind(9)));
    }
}
