//! `/metrics` documents itself: after a server has served sessions, switches, a
//! deadline, a refused request and a WebSocket, every metric family it exposes has a
//! `# HELP` line (the reference exporter had them; Prometheus and Grafana show them)
//! next to its `# TYPE`, and the counters alerts take rates of exist from the start.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::support::server::{session_body, uuid, TestServer};
use crate::support::ws::WsClient;

/// `# KIND name text` lines of an exposition, by name.
fn comments(scrape: &str, kind: &str) -> BTreeMap<String, String> {
    scrape
        .lines()
        .filter_map(|l| l.strip_prefix(&format!("# {kind} ")))
        .map(|rest| {
            let (name, text) = rest.split_once(' ').unwrap_or((rest, ""));
            (name.to_owned(), text.trim().to_owned())
        })
        .collect()
}

#[tokio::test]
async fn every_type_has_a_help_line() {
    let s = TestServer::start().await;
    let id = uuid();
    s.http
        .post_json("/v1/sessions", &session_body(&id, &[1_000, 60_000]))
        .await
        .expect(201);
    let (mut ws, _) = WsClient::connect_ready(&s.ws_url(&id)).await;
    s.http
        .post_empty(&format!("/v1/sessions/{id}/start"))
        .await
        .expect(200);
    ws.next_of_type("TIME_EXPIRED", Duration::from_secs(5))
        .await;
    s.http
        .post_empty(&format!("/v1/sessions/{id}/switch"))
        .await
        .expect(200);
    s.http.get("/v1/sessions/not-a-uuid").await;
    let scrape = s.http.get("/metrics").await.expect(200).text();
    drop(ws);

    let types = comments(&scrape, "TYPE");
    let helps = comments(&scrape, "HELP");
    assert!(types.len() >= 10, "too few metrics exercised:\n{scrape}");
    for name in types.keys() {
        let help = helps
            .get(name)
            .unwrap_or_else(|| panic!("{name} has # TYPE but no # HELP:\n{scrape}"));
        assert!(help.len() >= 10, "{name}: HELP too short: {help:?}");
    }
    for name in helps.keys() {
        assert!(types.contains_key(name), "{name}: # HELP without # TYPE");
    }
    // Zero from the start, so that rate() and the alerts have a series to work on.
    for zeroed in [
        "synckairos_redis_errors_total",
        "synckairos_rate_limiter_unavailable_total",
        "synckairos_websocket_slow_consumer_closes_total",
    ] {
        assert!(types.contains_key(zeroed), "{zeroed} is not exported");
    }
}
