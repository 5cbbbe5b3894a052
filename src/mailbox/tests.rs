//! The mailbox's ordering, coalescing, overflow and direct writes, against a socket
//! that takes a set number of bytes.

use super::*;

fn f(s: &'static str) -> Framed {
    Framed::text(s.as_bytes())
}

/// A mailbox whose writer has not opened it: nothing is written directly.
fn queue_only(capacity: usize) -> Mailbox {
    Mailbox::new(capacity, Socket::with_room(0))
}

fn drain(m: &Mailbox) -> Vec<Queued> {
    m.lock().queue.drain(..).collect()
}

/// A socket that takes `room` bytes, then nothing.
struct Socket {
    room: Mutex<usize>,
    got: Mutex<Vec<u8>>,
}

impl Socket {
    fn with_room(room: usize) -> Arc<Socket> {
        Arc::new(Socket {
            room: Mutex::new(room),
            got: Mutex::new(Vec::new()),
        })
    }
}

impl Direct for Socket {
    fn try_write(&self, bytes: &[u8]) -> Wrote {
        let mut room = self.room.lock().unwrap();
        let n = bytes.len().min(*room);
        *room -= n;
        self.got.lock().unwrap().extend_from_slice(&bytes[..n]);
        match n {
            0 => Wrote::Nothing,
            n if n == bytes.len() => Wrote::All,
            n => Wrote::Part(n),
        }
    }
}

#[test]
fn newer_state_replaces_unsent_older_and_stale_is_dropped() {
    let m = queue_only(8);
    assert!(m.push_state((10, 0, 2), f("v2")));
    assert!(m.push(f("evt")));
    assert!(m.push_state((10, 0, 3), f("v3")));
    assert!(m.push_state((10, 0, 3), f("dup")));
    assert!(m.push_state((10, 0, 1), f("old")));
    let got = drain(&m);
    assert_eq!(
        got,
        vec![
            Queued::Message(f("evt")),
            Queued::State {
                stamp: (10, 0, 3),
                frame: f("v3")
            },
        ]
    );
}

#[test]
fn a_new_incarnation_outranks_every_version_of_the_old_one() {
    let m = queue_only(8);
    assert!(m.push_state((10, 0, 71), f("old v71")));
    drain(&m);
    assert!(m.push_state((20, 0, 1), f("new v1")));
    assert_eq!(drain(&m).len(), 1);
}

#[test]
fn a_sync_counts_as_sent_state() {
    let m = queue_only(8);
    assert!(m.push_state((10, 0, 2), f("v2")));
    assert!(m.push_sync((10, 0, 3), f("sync v3")));
    assert!(m.push_state((10, 0, 3), f("v3")));
    assert_eq!(drain(&m), vec![Queued::Message(f("sync v3"))]);
}

#[test]
fn overflow_closes_with_reconnect_code() {
    let m = queue_only(2);
    assert!(m.push(f("a")));
    assert!(m.push(f("b")));
    assert!(!m.push(f("c")));
    assert!(!m.push(f("d")));
    assert_eq!(
        drain(&m),
        vec![Queued::Close(
            close::TRY_AGAIN_LATER,
            "Slow consumer, please reconnect"
        )]
    );
}

fn sent(socket: &Socket) -> Vec<u8> {
    socket.got.lock().unwrap().clone()
}

fn concat(frames: &[&Framed]) -> Vec<u8> {
    frames.iter().flat_map(|f| f.bytes().to_vec()).collect()
}

#[tokio::test]
async fn an_idle_socket_is_written_directly_and_a_busy_one_queues_in_order() {
    let socket = Socket::with_room(usize::MAX);
    let m = Mailbox::new(8, socket.clone());
    assert!(m.push(f("hello")));
    assert_eq!(
        drain(&m).len(),
        1,
        "nothing goes direct before the writer opens"
    );
    m.open();
    assert!(m.push_state((1, 0, 1), f("v1")));
    assert!(drain(&m).is_empty());
    {
        let _writing = m.claim();
        assert!(m.push(f("during a ping")));
        assert_eq!(m.lock().queue.len(), 1);
    }
    assert!(m.push(f("after it")));
    assert!(drain(&m).is_empty(), "what waited went first, then this");
    let (v1, during, after) = (f("v1"), f("during a ping"), f("after it"));
    assert_eq!(sent(&socket), concat(&[&v1, &during, &after]));
    {
        let _writing = m.claim();
        assert!(m.push(f("p1")));
    }
    let mut batch = Vec::new();
    let writing = m.next_batch(&mut batch).await;
    assert_eq!(batch, vec![Queued::Message(f("p1"))]);
    assert!(m.push_state((1, 0, 2), f("v2")));
    drop(writing);
    assert_eq!(
        drain(&m).len(),
        1,
        "queued while the writer wrote its batch"
    );
    assert!(m.push_state((1, 0, 3), f("v3")));
    assert!(drain(&m).is_empty(), "direct again once the writer is done");
}

#[test]
fn staged_frames_wait_for_the_flush_and_go_in_order() {
    let socket = Socket::with_room(usize::MAX);
    let m = Mailbox::new(8, socket.clone());
    m.open();
    assert!(m.stage(f("event")));
    assert!(m.stage_state((1, 0, 1), f("v1")));
    assert!(m.stage_state((1, 0, 2), f("v2")));
    assert!(sent(&socket).is_empty());
    m.flush();
    assert_eq!(sent(&socket), concat(&[&f("event"), &f("v2")]));
    assert!(drain(&m).is_empty());
    m.flush();
    assert_eq!(sent(&socket).len(), concat(&[&f("event"), &f("v2")]).len());
}

#[test]
fn the_unsent_end_of_a_frame_goes_first_even_through_an_overflow() {
    let v1 = f("a state of some length");
    let socket = Socket::with_room(5);
    let m = Mailbox::new(1, socket.clone());
    m.open();
    assert!(m.push_state((1, 0, 1), v1.clone()));
    assert_eq!(drain(&m), vec![Queued::Rest(v1.bytes().slice(5..))]);
    assert!(m.push_state((1, 0, 2), f("v2")), "a full socket queues");
    m.lock()
        .queue
        .push_front(Queued::Rest(v1.bytes().slice(5..)));
    assert!(!m.push(f("overflow")));
    assert_eq!(
        drain(&m),
        vec![
            Queued::Rest(v1.bytes().slice(5..)),
            Queued::Close(close::TRY_AGAIN_LATER, "Slow consumer, please reconnect"),
        ]
    );
}
