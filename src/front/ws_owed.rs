//! What a WebSocket connection's reader owes the peer (a pong, a close) and hands to its
//! writer, which alone writes to the socket. One pending pong at most: a newer ping's
//! pong replaces an unsent one (RFC 6455 §5.5.3 allows answering only the most recent
//! ping), and one close: so this holds a few bytes, never a queue, and an idle socket
//! allocates nothing here (a channel cost every connection ~1.5 KB, issue 15).
//!
//! Must not: write to the socket or decide when to close (the reader does).

use std::sync::Mutex;

use fastwebsockets::OpCode;
use tokio::sync::Notify;

#[derive(Default)]
struct Pending {
    pong: Option<Vec<u8>>,
    close: Option<Vec<u8>>,
    /// The reader ended: nothing more will come.
    ended: bool,
}

#[derive(Default)]
pub struct Owed {
    pending: Mutex<Pending>,
    notify: Notify,
}

impl Owed {
    fn with(&self, f: impl FnOnce(&mut Pending)) {
        f(&mut self.pending.lock().unwrap_or_else(|e| e.into_inner()));
        self.notify.notify_one();
    }

    /// Owes a pong frame with `payload` (replacing one not sent yet).
    pub fn pong(&self, payload: Vec<u8>) {
        self.with(|p| p.pong = Some(payload));
    }

    /// Owes a close frame with `payload` (code and reason); the first one counts.
    pub fn close(&self, payload: Vec<u8>) {
        self.with(|p| {
            p.close.get_or_insert(payload);
        });
    }

    /// Owes a frame the WebSocket library asked for (a pong or a close echo).
    pub fn frame(&self, op: OpCode, payload: Vec<u8>) {
        match op {
            OpCode::Close => self.close(payload),
            _ => self.pong(payload),
        }
    }

    /// The reader ended: the writer stops once it has sent what is owed.
    pub fn end(&self) {
        self.with(|p| p.ended = true);
    }

    /// The next frame to send (pongs before a close), or `None` once the reader ended
    /// and nothing is left. Cancel-safe: nothing is taken until it returns.
    pub async fn next(&self) -> Option<(OpCode, Vec<u8>)> {
        loop {
            {
                let mut p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
                if let Some(b) = p.pong.take() {
                    return Some((OpCode::Pong, b));
                }
                if let Some(b) = p.close.take() {
                    return Some((OpCode::Close, b));
                }
                if p.ended {
                    return None;
                }
            }
            // A notification sent since the check above is stored as a permit.
            self.notify.notified().await;
        }
    }
}

/// Ends `Owed` when the reader returns, whichever way.
pub struct EndOnDrop<'a>(pub &'a Owed);

impl Drop for EndOnDrop<'_> {
    fn drop(&mut self) {
        self.0.end();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_latest_pong_then_the_first_close_then_the_end() {
        let o = Owed::default();
        o.pong(vec![1]);
        o.pong(vec![2]);
        o.close(vec![3]);
        o.close(vec![4]);
        drop(EndOnDrop(&o));
        assert_eq!(o.next().await, Some((OpCode::Pong, vec![2])));
        assert_eq!(o.next().await, Some((OpCode::Close, vec![3])));
        assert_eq!(o.next().await, None);
    }
}
