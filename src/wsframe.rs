//! WebSocket frames as this server sends them (RFC 6455 §5.2): final, unmasked, encoded
//! once into bytes that go to the socket as they are. A fan-out encodes an update's
//! frame once per instance and every connection writes the same bytes.
//!
//! Owns: the frame header encoding of the server's frames. Must not: do IO or read
//! frames (fastwebsockets reads the client's).

use bytes::{BufMut, Bytes, BytesMut};

const TEXT: u8 = 0x1;
const CLOSE: u8 = 0x8;
const PING: u8 = 0x9;
const PONG: u8 = 0xA;

/// One complete frame, header and payload, ready for the socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Framed(Bytes);

/// A control frame's kind (what the writer sends besides the mailbox's messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    Close,
    Ping,
    Pong,
}

impl Framed {
    /// A text message.
    pub fn text(payload: &[u8]) -> Framed {
        Framed::of(TEXT, payload)
    }

    /// A close frame with `code` and `reason`.
    pub fn close(code: u16, reason: &str) -> Framed {
        Framed::of(CLOSE, &close_payload(code, reason))
    }

    /// A control frame carrying `payload` as it is (a close echo, a pong, a ping).
    pub fn control(kind: Control, payload: &[u8]) -> Framed {
        let op = match kind {
            Control::Close => CLOSE,
            Control::Ping => PING,
            Control::Pong => PONG,
        };
        Framed::of(op, payload)
    }

    fn of(opcode: u8, payload: &[u8]) -> Framed {
        let mut b = BytesMut::with_capacity(10 + payload.len());
        b.put_u8(0x80 | opcode);
        match payload.len() {
            n if n < 126 => b.put_u8(n as u8),
            n if n <= usize::from(u16::MAX) => {
                b.put_u8(126);
                b.put_u16(n as u16);
            }
            n => {
                b.put_u8(127);
                b.put_u64(n as u64);
            }
        }
        b.put_slice(payload);
        Framed(b.freeze())
    }

    /// The frame's bytes.
    pub fn bytes(&self) -> &Bytes {
        &self.0
    }
}

/// A close frame's payload: the code, then the reason (RFC 6455 §5.5.1).
pub fn close_payload(code: u16, reason: &str) -> Vec<u8> {
    let mut payload = Vec::with_capacity(2 + reason.len());
    payload.extend_from_slice(&code.to_be_bytes());
    payload.extend_from_slice(reason.as_bytes());
    payload
}

#[cfg(test)]
mod tests {
    use super::*;
    use fastwebsockets::{Frame, OpCode, Payload};

    /// What fastwebsockets would have written for the same frame.
    fn theirs(op: OpCode, payload: &[u8]) -> Vec<u8> {
        let mut buf = Vec::new();
        let mut f = Frame::new(true, op, None, Payload::Owned(payload.to_vec()));
        f.write(&mut buf).to_vec()
    }

    #[test]
    fn frames_match_fastwebsockets_at_every_length_class() {
        for len in [0, 1, 125, 126, 127, 65_535, 65_536, 70_000] {
            let payload: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            assert_eq!(
                Framed::text(&payload).bytes().as_ref(),
                theirs(OpCode::Text, &payload),
                "{len}"
            );
        }
        for (kind, op) in [
            (Control::Ping, OpCode::Ping),
            (Control::Pong, OpCode::Pong),
            (Control::Close, OpCode::Close),
        ] {
            assert_eq!(
                Framed::control(kind, b"12345678").bytes().as_ref(),
                theirs(op, b"12345678")
            );
        }
        assert_eq!(
            Framed::close(1000, "bye").bytes().as_ref(),
            theirs(OpCode::Close, b"\x03\xe8bye")
        );
    }
}
