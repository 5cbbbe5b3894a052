//! JSON bodies (arbitrary values, and create/switch bodies with every field mutated)
//! on every session route, over keep-alive connections: every answer a documented
//! status (200, 201, 204, 400, 404, 405, 409, 413, 429) with the error envelope on errors.

use bytes::Bytes as Body;
use hyper::Method;

use super::gen::{json_request, JsonRequest};
use super::run::{run, server, Report};
use crate::support::http::Client;

const DOCUMENTED: &[u16] = &[200, 201, 204, 400, 404, 405, 409, 413, 429];

pub async fn suite(n: usize, seed: u8) -> Report {
    let s = server().await;
    let http = Client::new(s.addr());
    let report = run("json", n, seed, 32, json_request, move |r: JsonRequest| {
        let http = http.clone();
        async move {
            let method = Method::from_bytes(r.method.as_bytes()).map_err(|e| e.to_string())?;
            let mut headers = Vec::new();
            if !r.content_type.is_empty() {
                headers.push(("content-type", r.content_type));
            }
            let resp = http
                .try_send(method, &r.path, &headers, http_body(r.body.0))
                .await?;
            if !DOCUMENTED.contains(&resp.status) {
                return Err(format!(
                    "undocumented status {}: {}",
                    resp.status,
                    resp.text()
                ));
            }
            if resp.status >= 400 {
                let v = resp.json();
                if !(v["error"]["code"].is_string() && v["error"]["message"].is_string()) {
                    return Err(format!(
                        "{} without the envelope: {}",
                        resp.status,
                        resp.text()
                    ));
                }
                return Ok(format!(
                    "{} {}",
                    resp.status,
                    v["error"]["code"].as_str().unwrap_or("")
                ));
            }
            Ok(resp.status.to_string())
        }
    })
    .await;
    s.http.get("/health").await.expect(200);
    report
}

fn http_body(b: Vec<u8>) -> crate::support::http::ReqBody {
    use http_body_util::BodyExt;
    http_body_util::Full::new(Body::from(b)).boxed_unsync()
}
