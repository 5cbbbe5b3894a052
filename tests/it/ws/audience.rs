//! A large audience on one instance: more watchers of one session than one task flushes
//! (`hub::FLUSH_CHUNK`), so that a delivery is staged in every mailbox and written by
//! several tasks. Every watcher gets each update before the next is written, then the
//! delete and its close.

use futures_util::future::join_all;

use crate::support::server::TestServer;
use crate::support::ws::{WsClient, WAIT};

const WATCHERS: usize = 1_300;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_watcher_of_a_large_audience_gets_each_update_at_once() {
    let s = TestServer::start_with(|c| {
        c.server.max_connections_per_address = 0;
        c.rate_limit.switch_per_second = 0;
    })
    .await;
    let (id, _) = s.create(&[600_000, 600_000]).await;
    let url = s.ws_url(&id);
    let mut watchers = Vec::with_capacity(WATCHERS);
    for _ in 0..WATCHERS {
        watchers.push(WsClient::connect_ready(&url).await.0);
    }
    assert!(s.eventually(WAIT, |s| s.ws_connections() == WATCHERS).await);
    for op in ["start", "switch", "switch", "switch"] {
        let version = s.op_ok(&id, op).await["version"].clone();
        // Each update reaches everyone before the next is written: nothing waits for
        // a later push to be flushed.
        let got = join_all(watchers.iter_mut().map(|w| w.next_json(WAIT))).await;
        for (i, m) in got.iter().enumerate() {
            assert_eq!(m["type"], "STATE_UPDATE", "watcher {i}: {m}");
            assert_eq!(m["state"]["version"], version, "watcher {i}");
        }
    }
    s.http
        .delete(&format!("/v1/sessions/{id}"))
        .await
        .expect(204);
    let got = join_all(watchers.iter_mut().map(|w| async move {
        let m = w.next_json(WAIT).await;
        (m["type"].clone(), w.expect_close(WAIT).await)
    }))
    .await;
    for (i, (kind, close)) in got.iter().enumerate() {
        assert_eq!(kind, "SESSION_DELETED", "watcher {i}");
        assert_eq!(*close, (1000, "Session deleted".to_owned()), "watcher {i}");
    }
}
