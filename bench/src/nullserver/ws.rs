//! Null-server WebSocket endpoint: `CONNECTED` on join, the session's hub
//! messages pushed as they come, `PING` → `PONG`. The socket is split: the reader
//! owns the read half, the writer (hub messages, pongs, replies) the write half.

use super::store::Store;
use bytes::Bytes;
use fastwebsockets::{upgrade, Frame, OpCode, Payload, WebSocketError};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response};
use std::sync::Arc;
use tokio::sync::{broadcast, mpsc};

/// Answers the upgrade and spawns the connection.
pub fn upgrade(store: Arc<Store>, req: &mut Request<Incoming>) -> Response<Full<Bytes>> {
    let id = req
        .uri()
        .query()
        .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("sessionId=")))
        .unwrap_or("")
        .to_string();
    match upgrade::upgrade(req) {
        Ok((resp, fut)) => {
            tokio::spawn(async move {
                if let Ok(ws) = fut.await {
                    serve(store, id, ws).await;
                }
            });
            resp.map(|_| Full::new(Bytes::new()))
        }
        Err(_) => super::error(400, "BAD_REQUEST", "not a websocket upgrade"),
    }
}

type Upgraded = hyper_util::rt::TokioIo<hyper::upgrade::Upgraded>;

async fn serve(store: Arc<Store>, id: String, ws: fastwebsockets::WebSocket<Upgraded>) {
    store.ws_delta(1);
    let mut hub = store.subscribe(&id);
    let (mut rd, mut wr) = ws.split(tokio::io::split);
    let (tx, mut rx) = mpsc::channel::<Frame<'static>>(16);
    let connected = format!(
        r#"{{"type":"CONNECTED","sessionId":"{id}","timestamp":{}}}"#,
        store.now_ms()
    );
    let writer = tokio::spawn(async move {
        if wr
            .write_frame(Frame::text(Payload::Owned(connected.into_bytes())))
            .await
            .is_err()
        {
            return;
        }
        loop {
            let frame = tokio::select! {
                m = hub.recv() => match m {
                    Ok(b) => Frame::text(Payload::Owned(b.to_vec())),
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(_) => {
                        let _ = wr.write_frame(Frame::close(1000, b"Session deleted")).await;
                        return;
                    }
                },
                f = rx.recv() => match f { Some(f) => f, None => return },
            };
            let close = frame.opcode == OpCode::Close;
            if wr.write_frame(frame).await.is_err() || close {
                return;
            }
        }
    });
    loop {
        let tx2 = tx.clone();
        let mut obligated = move |f: Frame<'_>| {
            let owned = Frame::new(true, f.opcode, None, Payload::Owned(f.payload.to_vec()));
            let tx2 = tx2.clone();
            async move {
                tx2.send(owned)
                    .await
                    .map_err(|_| WebSocketError::ConnectionClosed)
            }
        };
        let frame = match rd.read_frame(&mut obligated).await {
            Ok(f) => f,
            Err(_) => break,
        };
        match frame.opcode {
            OpCode::Close => break,
            OpCode::Text if frame.payload.windows(6).any(|w| w == b"\"PING\"") => {
                let now = store.now_ms();
                let pong = format!(
                    r#"{{"type":"PONG","timestamp":{now},"server_receive_timestamp":{now},"server_send_timestamp":{now}}}"#
                );
                if tx
                    .send(Frame::text(Payload::Owned(pong.into_bytes())))
                    .await
                    .is_err()
                {
                    break;
                }
            }
            _ => {}
        }
    }
    drop(tx);
    writer.abort();
    let _ = writer.await;
    store.ws_delta(-1);
    store.unsubscribe(&id);
}
