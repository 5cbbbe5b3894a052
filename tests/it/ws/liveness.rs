//! Liveness and back-pressure on WebSocket connections (CONTRACT.md §3.3, ARCHITECTURE
//! "slow clients disconnected when their queue is full"): protocol pings at
//! `ws.ping_interval_ms`; a peer that stops answering them is dropped while one that
//! answers stays; a consumer that never reads is disconnected (write timeout) and one
//! whose queue overflows is closed 1013, while another client on the same session
//! keeps receiving every update; a frame the fan-out wrote only in part is finished
//! before anything else.

use std::time::{Duration, Instant};

use crate::support::relay::metric;
use crate::support::server::TestServer;
use crate::support::ws::{WsClient, WsEvent, WsOptions, WAIT};

#[tokio::test]
async fn a_peer_that_stops_answering_pings_is_dropped() {
    let s = TestServer::start_with(|c| c.ws.ping_interval_ms = 200).await;
    let (id, _) = s.create(&[600_000]).await;
    let (mut good, _) = WsClient::connect_ready(&s.ws_url(&id)).await;
    let mut mute = WsClient::connect_with(
        &s.ws_url(&id),
        WsOptions {
            auto_pong: false,
            ..Default::default()
        },
    )
    .await
    .expect("connect");
    let started = Instant::now();
    let mut pings = 0;
    let ended = loop {
        match mute.next_event(Duration::from_secs(3)).await {
            Some(WsEvent::Ping) => pings += 1,
            Some(WsEvent::Text(_)) => {}
            Some(WsEvent::Close(..)) | Some(WsEvent::Ended(_)) => break started.elapsed(),
            other => panic!("mute client still connected: {other:?}"),
        }
    };
    println!("mute peer dropped after {ended:?} ({pings} pings)");
    assert!(pings >= 1, "the server pings");
    assert!(
        ended >= Duration::from_millis(350),
        "dropped too early: {ended:?}"
    );
    assert!(
        ended < Duration::from_millis(1500),
        "dropped too late: {ended:?}"
    );
    // The client that answers pings is alive well past several intervals.
    tokio::time::sleep(Duration::from_millis(400)).await;
    good.ping_pong().await;
    assert!(s.eventually(WAIT, |s| s.ws_connections() == 1).await);
    s.op_ok(&id, "start").await;
    assert_eq!(good.next_json(WAIT).await["type"], "STATE_UPDATE");
}

#[tokio::test]
async fn application_traffic_alone_does_not_replace_pongs_for_a_silent_peer() {
    // A peer that only reads (never writes, never pongs) is dropped even while
    // updates flow to it: liveness is about the peer answering.
    let s = TestServer::start_with(|c| c.ws.ping_interval_ms = 150).await;
    let (id, _) = s.create(&[600_000, 600_000]).await;
    s.op_ok(&id, "start").await;
    let mut mute = WsClient::connect_with(
        &s.ws_url(&id),
        WsOptions {
            auto_pong: false,
            ..Default::default()
        },
    )
    .await
    .expect("connect");
    for _ in 0..10 {
        s.op_ok(&id, "switch").await;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    mute.expect_ended(Duration::from_secs(2)).await;
}

/// A session whose state is large (~140 KB per message), so socket buffers fill fast.
async fn big_session(s: &TestServer) -> String {
    let (id, _) = s.create(&[600_000; 600]).await;
    s.op_ok(&id, "start").await;
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_that_never_reads_is_disconnected_while_others_get_everything() {
    let s = TestServer::start_with(|c| {
        c.ws.queue_capacity = 4;
        c.ws.write_timeout_ms = 300;
        c.rate_limit.switch_per_second = 0;
    })
    .await;
    let id = big_session(&s).await;
    let (mut fast, _) = WsClient::connect_ready(&s.ws_url(&id)).await;
    let _slow = WsClient::connect_stuck(&s.ws_url(&id)).await;
    assert!(s.eventually(WAIT, |s| s.ws_connections() == 2).await);
    let mut version = 2;
    let started = Instant::now();
    while s.ws_connections() == 2 {
        assert!(version < 300, "the slow consumer was never disconnected");
        let resp = s.op_ok(&id, "switch").await;
        version += 1;
        assert_eq!(resp["version"], version);
        // The fast client gets this very version, before the next write.
        let m = fast.next_json(WAIT).await;
        assert_eq!(m["type"], "STATE_UPDATE");
        assert_eq!(
            m["state"]["version"], version,
            "fast client missed an update"
        );
    }
    println!(
        "slow consumer dropped after {} updates, {:?}",
        version - 2,
        started.elapsed()
    );
    // The fast client carries on.
    for _ in 0..5 {
        s.op_ok(&id, "switch").await;
        version += 1;
        assert_eq!(fast.next_json(WAIT).await["state"]["version"], version);
    }
    assert_eq!(s.ws_connections(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_whose_queue_overflows_is_closed_1013() {
    let s = TestServer::start_with(|c| {
        c.ws.queue_capacity = 4;
        c.ws.write_timeout_ms = 30_000;
        c.ws.messages_per_second = 1000;
        c.rate_limit.switch_per_second = 0;
    })
    .await;
    let id = big_session(&s).await;
    let mut slow = WsClient::connect_stuck(&s.ws_url(&id)).await;
    assert!(s.eventually(WAIT, |s| s.ws_connections() == 1).await);
    // Large states fill the socket buffers until the server's write blocks (states
    // coalesce in the queue, so they alone never overflow it). 8 MB is well past what
    // the buffers hold (tcp_wmem max is 4 MB counting overhead; the client's receive
    // buffer is pinned small).
    let mut pushed = 0;
    while pushed < 8 << 20 {
        // The pushed state is the size of the switch response, give or take.
        pushed += s.op(&id, "switch").await.expect(200).body.len();
    }
    // Now the PONGs owed for these PINGs pile up behind the blocked write.
    for _ in 0..10 {
        slow.send_text(r#"{"type":"PING"}"#).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    // Once it reads again, it finds the backlog and then the close.
    slow.start_reading();
    let (code, reason) = slow.expect_close(Duration::from_secs(10)).await;
    assert_eq!(
        (code, reason.as_str()),
        (1013, "Slow consumer, please reconnect")
    );
    assert!(s.eventually(WAIT, |s| s.ws_connections() == 0).await);
    // Others are served as usual.
    let (mut fresh, _) = WsClient::connect_ready(&s.ws_url(&id)).await;
    s.op(&id, "switch").await.expect(200);
    assert_eq!(fresh.next_json(WAIT).await["type"], "STATE_UPDATE");
}

/// A state too big for the socket is written in part by the fan-out itself (straight
/// to the idle socket); the connection's writer sends the rest before anything else,
/// so a client that was slow to read still gets whole frames, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frame_the_socket_takes_in_part_is_finished_before_the_next() {
    let s = TestServer::start_with(|c| {
        c.ws.queue_capacity = 64;
        c.ws.write_timeout_ms = 30_000;
        c.rate_limit.switch_per_second = 0;
    })
    .await;
    let id = big_session(&s).await;
    let mut slow = WsClient::connect_stuck(&s.ws_url(&id)).await;
    assert!(s.eventually(WAIT, |s| s.ws_connections() == 1).await);
    let partial = [("outcome", "partial")];
    let mut version = 2;
    while metric(
        &s.http,
        "synckairos_websocket_direct_writes_total",
        &partial,
    )
    .await
        == 0.0
    {
        assert!(version < 50, "no state was ever written in part");
        s.op_ok(&id, "switch").await;
        version += 1;
    }
    // These wait behind the rest of that frame (coalesced to the newest).
    for _ in 0..3 {
        s.op_ok(&id, "switch").await;
        version += 1;
    }
    slow.send_text(r#"{"type":"PING"}"#).await;
    slow.start_reading();
    let (mut last, mut pong) = (0, false);
    while last < version || !pong {
        let m = slow.next_json(WAIT).await;
        match m["type"].as_str() {
            Some("STATE_UPDATE") => {
                let v = m["state"]["version"].as_i64().expect("a version");
                assert!(v > last, "version {v} after {last}");
                last = v;
            }
            Some("PONG") => pong = true,
            Some("CONNECTED") => {}
            other => panic!("unexpected message {other:?}"),
        }
    }
}
