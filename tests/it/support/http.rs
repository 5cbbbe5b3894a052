//! A small HTTP/1.1 client on hyper 1 (`hyper_util`'s pooled client): requests with
//! JSON, raw or chunked (no `Content-Length`) bodies, responses as status + headers +
//! bytes with JSON helpers, and a raw-TCP escape hatch for malformed requests. Every
//! request has a time limit, so a hung server fails a test instead of the suite.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Frame};
use hyper::header::{HeaderMap, CONTENT_TYPE};
use hyper::{Method, Request};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client as Legacy;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

pub type ReqBody = UnsyncBoxBody<Bytes, Infallible>;

/// Per-request limit, so a hung server fails a test instead of stalling the suite.
const TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub struct Client {
    addr: SocketAddr,
    inner: Legacy<HttpConnector, ReqBody>,
}

#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Response {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON; panics (showing the body) when it is not JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "status {}: body is not JSON ({e}): {:?}",
                self.status,
                self.text()
            )
        })
    }

    /// `body.data` of a session response.
    pub fn data(&self) -> Value {
        self.json()["data"].clone()
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().expect("ascii header").to_owned())
    }

    /// `error.code` of an error response.
    pub fn error_code(&self) -> String {
        self.json()["error"]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("no error.code in {}", self.text()))
            .to_owned()
    }

    pub fn error_message(&self) -> String {
        self.json()["error"]["message"]
            .as_str()
            .unwrap_or_else(|| panic!("no error.message in {}", self.text()))
            .to_owned()
    }

    /// Panics with the body unless the status is `want`.
    #[track_caller]
    pub fn expect(self, want: u16) -> Self {
        assert_eq!(
            self.status,
            want,
            "unexpected status; body: {}",
            self.text()
        );
        self
    }
}

/// A request body that yields the chunks sent through a channel and has no known
/// length, so hyper sends it with `Transfer-Encoding: chunked`.
pub struct ChannelBody(mpsc::Receiver<Bytes>);

impl Body for ChannelBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.0.poll_recv(cx).map(|c| c.map(|b| Ok(Frame::data(b))))
    }
}

fn full(b: impl Into<Bytes>) -> ReqBody {
    Full::new(b.into()).boxed_unsync()
}

impl Client {
    pub fn new(addr: SocketAddr) -> Client {
        let inner = Legacy::builder(TokioExecutor::new()).build_http();
        Client { addr, inner }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Sends a request; `Err` on transport failure or timeout.
    pub async fn try_send(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: ReqBody,
    ) -> Result<Response, String> {
        let mut req = Request::builder().method(method).uri(self.url(path));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req.body(body).map_err(|e| e.to_string())?;
        let fut = async {
            let resp = self
                .inner
                .request(req)
                .await
                .map_err(|e| format!("{e:?}"))?;
            let (parts, body) = resp.into_parts();
            let body = body.collect().await.map_err(|e| e.to_string())?.to_bytes();
            Ok(Response {
                status: parts.status.as_u16(),
                headers: parts.headers,
                body,
            })
        };
        tokio::time::timeout(TIMEOUT, fut)
            .await
            .map_err(|_| format!("request to {path} timed out"))?
    }

    pub async fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> Response {
        self.try_send(method, path, headers, full(body))
            .await
            .unwrap_or_else(|e| panic!("request to {path} failed: {e}"))
    }

    pub async fn get(&self, path: &str) -> Response {
        self.send(Method::GET, path, &[], Bytes::new()).await
    }

    pub async fn delete(&self, path: &str) -> Response {
        self.send(Method::DELETE, path, &[], Bytes::new()).await
    }

    /// POST with no body and no content type.
    pub async fn post_empty(&self, path: &str) -> Response {
        self.send(Method::POST, path, &[], Bytes::new()).await
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Response {
        self.send(
            Method::POST,
            path,
            &[("content-type", "application/json")],
            serde_json::to_vec(body).expect("serializable"),
        )
        .await
    }

    /// POST raw bytes with a JSON content type (malformed JSON, garbage).
    pub async fn post_raw(&self, path: &str, body: impl Into<Bytes>) -> Response {
        self.send(
            Method::POST,
            path,
            &[("content-type", "application/json")],
            body,
        )
        .await
    }

    /// POST `chunks` with `Transfer-Encoding: chunked` (no `Content-Length`).
    pub async fn try_post_chunked(
        &self,
        path: &str,
        chunks: Vec<Bytes>,
    ) -> Result<Response, String> {
        let (tx, rx) = mpsc::channel(chunks.len().max(1));
        for c in chunks {
            tx.send(c).await.expect("channel open");
        }
        drop(tx);
        self.try_send(
            Method::POST,
            path,
            &[("content-type", "application/json")],
            ChannelBody(rx).boxed_unsync(),
        )
        .await
    }

    /// Starts a chunked POST whose body is fed through the returned sender; the
    /// request ends when the sender is dropped. For in-flight-request tests.
    pub fn post_streaming(
        &self,
        path: &str,
    ) -> (
        mpsc::Sender<Bytes>,
        tokio::task::JoinHandle<Result<Response, String>>,
    ) {
        let (tx, rx) = mpsc::channel(16);
        let me = self.clone();
        let path = path.to_owned();
        let task = tokio::spawn(async move {
            me.try_send(
                Method::POST,
                &path,
                &[("content-type", "application/json")],
                ChannelBody(rx).boxed_unsync(),
            )
            .await
        });
        (tx, task)
    }
}

/// Writes `request` verbatim on a fresh TCP connection and returns everything the
/// server sends until it closes the connection (or `limit` passes).
pub async fn raw(addr: SocketAddr, request: &[u8], limit: Duration) -> String {
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    // The server may answer and close before reading everything (oversize cases).
    let _ = s.write_all(request).await;
    let mut out = Vec::new();
    let _ = tokio::time::timeout(limit, s.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

/// The status code of a raw HTTP/1.1 response text (`HTTP/1.1 400 ...`).
pub fn raw_status(response: &str) -> Option<u16> {
    response.split_whitespace().nth(1)?.parse().ok()
}

/// Whether a JSON content type is set.
pub fn is_json(r: &Response) -> bool {
    r.headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}
