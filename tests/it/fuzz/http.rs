//! Raw HTTP requests (well-formed or not) over fresh connections: the answer is either
//! nothing (the server closed a connection it could not parse) or a documented status;
//! a JSON body is the contract's error envelope for every 4xx/5xx; never another 5xx.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::gen::{raw_request, Bytes};
use super::run::{connect, run, server, Report};

/// Every status the public port documents (README, openapi.json), plus hyper's own
/// answers to requests it cannot parse (400, 431, 505).
pub const DOCUMENTED: &[u16] = &[
    101, 200, 201, 204, 400, 401, 403, 404, 405, 408, 409, 413, 426, 429, 431, 503, 505,
];

/// Checks one raw answer; the outcome label is its status (or `closed`).
pub fn check_answer(answer: &[u8]) -> Result<String, String> {
    if answer.is_empty() {
        return Ok("closed".into());
    }
    let text = String::from_utf8_lossy(answer);
    // An interim `100 Continue` (the request said `Expect: 100-continue`) precedes it.
    let text = text
        .strip_prefix("HTTP/1.1 100 Continue\r\n\r\n")
        .unwrap_or(&text);
    let status: u16 = text
        .strip_prefix("HTTP/1.1 ")
        .or_else(|| text.strip_prefix("HTTP/1.0 "))
        .and_then(|r| r.get(..3))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("not an HTTP response: {:?}", &text[..text.len().min(80)]))?;
    if !DOCUMENTED.contains(&status) {
        return Err(format!("undocumented status {status}: {text}"));
    }
    // The first response only (a request cut short by an empty header line leaves the
    // rest to be read as a second request).
    if let Some((head, rest)) = text.split_once("\r\n\r\n") {
        let lower = head.to_ascii_lowercase();
        let length = lower
            .lines()
            .find_map(|l| l.strip_prefix("content-length: "))
            .and_then(|n| n.trim().parse::<usize>().ok())
            .unwrap_or(rest.len());
        let body = rest.get(..length.min(rest.len())).unwrap_or(rest);
        let json = lower.contains("content-type: application/json");
        // A HEAD answer has no body: what follows is the next response.
        if status >= 400 && json && !body.is_empty() && !body.starts_with("HTTP/") {
            let v: serde_json::Value = serde_json::from_str(body)
                .map_err(|_| format!("{status} with a body that is not JSON: {body}"))?;
            if !(v["error"]["code"].is_string() && v["error"]["message"].is_string()) {
                return Err(format!("{status} without the error envelope: {body}"));
            }
        }
    }
    Ok(status.to_string())
}

pub async fn suite(n: usize, seed: u8) -> Report {
    let s = server().await;
    let addr = s.addr();
    let counter = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    let report = run("http", n, seed, 48, raw_request, move |req: Bytes| {
        let i = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        async move {
            let mut c = connect(addr, i)
                .await
                .map_err(|e| format!("connect: {e}"))?;
            // The server may answer and close before reading everything: a failed
            // write is not a finding.
            let _ = c.write_all(&req.0).await;
            let mut answer = Vec::new();
            let read = tokio::time::timeout(Duration::from_secs(5), c.read_to_end(&mut answer));
            match read.await {
                Err(_) => Err("no answer and no close within 5 s".into()),
                // A reset after the answer (unread request bytes) is fine.
                Ok(_) => check_answer(&answer),
            }
        }
    })
    .await;
    s.http.get("/health").await.expect(200);
    report
}
