//! Accepting TCP connections and serving HTTP/1.1 (with upgrades) on each, until the
//! instance starts draining; then every connection finishes its in-flight request
//! and closes (hyper's graceful shutdown, driven per connection because upgradeable
//! connections are outside hyper-util's graceful helper).

use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio_util::task::TaskTracker;

use super::ctx::Ctx;
use super::{handler, internal};

/// Serves the public API until `ctx.draining` is cancelled; connection tasks go into
/// `tracker`.
pub async fn serve(listener: TcpListener, ctx: Arc<Ctx>, tracker: TaskTracker) {
    serve_with(listener, ctx, tracker, handler::handle).await
}

/// Serves the internal (peer) API.
pub async fn serve_internal(listener: TcpListener, ctx: Arc<Ctx>, tracker: TaskTracker) {
    serve_with(listener, ctx, tracker, internal::handle).await
}

async fn serve_with<H, F, B>(listener: TcpListener, ctx: Arc<Ctx>, tracker: TaskTracker, handle: H)
where
    H: Fn(Arc<Ctx>, std::net::SocketAddr, hyper::Request<hyper::body::Incoming>) -> F
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
        let _ = stream.set_nodelay(true);
        let conn_ctx = ctx.clone();
        let h = handle.clone();
        let svc = service_fn(move |req| h(conn_ctx.clone(), peer, req));
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
