//! Accepting TCP connections and serving HTTP/1.1 (with upgrades) on each, until the
//! instance starts draining; then every connection finishes its in-flight request
//! and closes (hyper's graceful shutdown, driven per connection because upgradeable
//! connections are outside hyper-util's graceful helper). Connections over the caps
//! (`conns`) get their error response and are closed at once.

use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio_util::task::TaskTracker;

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use super::conns::{ConnGuard, Connections};
use super::ctx::Ctx;
use super::{handler, internal};
use crate::error::ApiError;

/// Serves the public API until `ctx.draining` is cancelled; connection tasks go into
/// `tracker`.
pub async fn serve(listener: TcpListener, ctx: Arc<Ctx>, tracker: TaskTracker) {
    let conns = ctx.conns.clone();
    serve_with(listener, ctx, conns, tracker, handler::handle).await
}

/// Serves the internal (peer) API.
pub async fn serve_internal(listener: TcpListener, ctx: Arc<Ctx>, tracker: TaskTracker) {
    serve_with(
        listener,
        ctx,
        Connections::unlimited(),
        tracker,
        internal::handle,
    )
    .await
}

/// Answers a connection over a cap with its error and closes it (bounded in time).
async fn refuse(mut stream: TcpStream, e: ApiError) {
    let body = serde_json::to_vec(&e.body()).unwrap_or_default();
    let head = format!(
        "HTTP/1.1 {} {}\r\ncontent-type: application/json; charset=utf-8\r\n\
         retry-after: {}\r\nconnection: close\r\ncontent-length: {}\r\n\r\n",
        e.status.as_u16(),
        e.status.canonical_reason().unwrap_or(""),
        e.retry_after.unwrap_or(1),
        body.len()
    );
    let write = async {
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(&body).await?;
        stream.shutdown().await
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), write).await;
}

async fn serve_with<H, F, B>(
    listener: TcpListener,
    ctx: Arc<Ctx>,
    conns: Arc<Connections>,
    tracker: TaskTracker,
    handle: H,
) where
    H: Fn(Arc<Ctx>, Arc<ConnGuard>, hyper::Request<hyper::body::Incoming>) -> F
        + Clone
        + Send
        + Sync
        + 'static,
    F: std::future::Future<Output = Result<hyper::Response<B>, std::convert::Infallible>>
        + Send
        + 'static,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_millis(ctx.cfg.server.header_read_timeout_ms))
        .keep_alive(true);
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = ctx.draining.cancelled() => return,
        };
        let (stream, peer) = match accepted {
            Ok(pair) => pair,
            Err(e) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tracing::warn!(error = %crate::cause::chain(&e), "accept failed");
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        };
        let guard = match conns.accept(peer) {
            Ok(g) => g,
            Err(e) => {
                tracker.spawn(refuse(stream, e));
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let conn_ctx = ctx.clone();
        let h = handle.clone();
        let svc = service_fn(move |req| h(conn_ctx.clone(), guard.clone(), req));
        let conn = builder
            .serve_connection(TokioIo::new(stream), svc)
            .with_upgrades();
        let draining = ctx.draining.clone();
        tracker.spawn(async move {
            let mut conn = std::pin::pin!(conn);
            let result = tokio::select! {
                r = conn.as_mut() => r,
                _ = draining.cancelled() => {
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(e) = result {
                tracing::debug!(error = %crate::cause::chain(&e), %peer, "http connection ended with an error");
            }
        });
    }
}
