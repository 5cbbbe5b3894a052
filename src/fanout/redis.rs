//! Cross-instance fan-out from Redis: one subscriber connection per instance (RESP3
//! pushes, resubscribed automatically after a reconnect) listening only to the shard
//! channels its WebSocket clients watch, plus the deadline wake channel. Envelopes are
//! decoded once, skipped cheaply when nobody here watches the session, and handed to
//! the hub in publish order (the hub and mailboxes drop stale or duplicate versions).
//! After a disconnection, watched sessions are re-read so nothing missed while pub/sub
//! was down (it is at-most-once) stays missed.
//!
//! Must not: write anything, or know who the audience is beyond `Audience`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use redis::aio::ConnectionManager;
use redis::{ProtocolVersion, PushInfo, PushKind, Value};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use super::{Audience, Interest};
use crate::domain::SessionId;
use crate::store::envelope::Envelope;
use crate::store::redis::{command_config, connection_info};
use crate::store::{decode_state, keys, Store, StoreError, Update};
use crate::wakeup::Wakeup;

struct Shard {
    sessions: usize,
    ready: watch::Sender<bool>,
}

/// The hub's `Interest`: reference-counts watched sessions per shard and asks the
/// subscriber task to (un)subscribe shard channels.
pub struct RedisFeed {
    shards: u32,
    state: Mutex<HashMap<u32, Shard>>,
    commands: mpsc::UnboundedSender<(u32, bool)>,
}

impl RedisFeed {
    fn state(&self) -> MutexGuard<'_, HashMap<u32, Shard>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn mark_ready(&self, shard: u32) {
        if let Some(s) = self.state().get(&shard) {
            s.ready.send_replace(true);
        }
    }

    fn wanted(&self, shard: u32) -> bool {
        self.state().contains_key(&shard)
    }
}

impl Interest for RedisFeed {
    fn watch(&self, session_id: &SessionId) {
        let shard = keys::fanout_shard(session_id, self.shards);
        let mut state = self.state();
        let entry = state.entry(shard).or_insert_with(|| Shard {
            sessions: 0,
            ready: watch::channel(false).0,
        });
        entry.sessions += 1;
        if entry.sessions == 1 {
            let _ = self.commands.send((shard, true));
        }
    }

    fn unwatch(&self, session_id: &SessionId) {
        let shard = keys::fanout_shard(session_id, self.shards);
        let mut state = self.state();
        let Some(entry) = state.get_mut(&shard) else {
            return;
        };
        entry.sessions = entry.sessions.saturating_sub(1);
        if entry.sessions == 0 {
            state.remove(&shard);
            let _ = self.commands.send((shard, false));
        }
    }

    fn ready(&self, session_id: &SessionId) -> Option<watch::Receiver<bool>> {
        let shard = keys::fanout_shard(session_id, self.shards);
        self.state().get(&shard).map(|s| s.ready.subscribe())
    }
}

/// Where a started feed delivers, and what it reads back after a reconnect.
pub struct FeedTargets {
    pub audience: Arc<dyn Audience>,
    pub store: Arc<dyn Store>,
    pub wakeup: Arc<Wakeup>,
}

/// Connects the subscriber and starts its tasks; the returned feed is the audience's
/// `Interest` (the caller registers it with the hub).
pub fn start(
    url: &str,
    shards: u32,
    timeout: Duration,
    targets: FeedTargets,
    stop: CancellationToken,
) -> Result<Arc<RedisFeed>, StoreError> {
    let info = connection_info(url).map_err(StoreError::unavailable("parse the Redis URL"))?;
    let settings = info
        .redis_settings()
        .clone()
        .set_protocol(ProtocolVersion::RESP3);
    let client = redis::Client::open(info.set_redis_settings(settings))
        .map_err(StoreError::unavailable("open a client"))?;
    let (push_tx, push_rx) = mpsc::unbounded_channel::<PushInfo>();
    let config = command_config(timeout)
        .set_push_sender(push_tx)
        .set_automatic_resubscription();
    let conn = ConnectionManager::new_lazy_with_config(client, config)
        .map_err(StoreError::unavailable("subscribe"))?;
    let (commands, commands_rx) = mpsc::unbounded_channel();
    let feed = Arc::new(RedisFeed {
        shards,
        state: Mutex::new(HashMap::new()),
        commands,
    });
    tokio::spawn(subscriptions(
        conn.clone(),
        feed.clone(),
        commands_rx,
        stop.clone(),
    ));
    tokio::spawn(deliveries(conn, push_rx, targets, stop));
    Ok(feed)
}

/// Applies (un)subscribe requests in order; a failed SUBSCRIBE is retried while the
/// shard is still wanted.
async fn subscriptions(
    mut conn: ConnectionManager,
    feed: Arc<RedisFeed>,
    mut commands: mpsc::UnboundedReceiver<(u32, bool)>,
    stop: CancellationToken,
) {
    while let Err(e) = conn.subscribe(keys::DEADLINE_WAKE).await {
        tracing::warn!(error = %crate::cause::chain(&e), "cannot subscribe to deadline wake-ups yet; retrying");
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
            _ = stop.cancelled() => return,
        }
    }
    loop {
        let (shard, on) = tokio::select! {
            c = commands.recv() => match c { Some(c) => c, None => return },
            _ = stop.cancelled() => return,
        };
        let channel = keys::fanout_channel(shard);
        if !on {
            if !feed.wanted(shard) {
                let _ = conn.unsubscribe(&channel).await;
            }
            continue;
        }
        loop {
            match conn.subscribe(&channel).await {
                Ok(()) => {
                    feed.mark_ready(shard);
                    break;
                }
                Err(e) if feed.wanted(shard) && !stop.is_cancelled() => {
                    tracing::warn!(error = %crate::cause::chain(&e), shard, "subscribe failed; retrying");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(_) => break,
            }
        }
    }
}

async fn deliveries(
    mut conn: ConnectionManager,
    mut pushes: mpsc::UnboundedReceiver<PushInfo>,
    targets: FeedTargets,
    stop: CancellationToken,
) {
    let FeedTargets {
        audience,
        store,
        wakeup,
    } = targets;
    loop {
        let push = tokio::select! {
            p = pushes.recv() => match p { Some(p) => p, None => return },
            _ = stop.cancelled() => return,
        };
        match push.kind {
            PushKind::Message => on_message(&push.data, &*audience, &wakeup),
            PushKind::Disconnection => {
                tracing::warn!("fan-out subscription lost; reconnecting");
                // Pinging drives the reconnect (which resubscribes every channel).
                while redis::cmd("PING")
                    .query_async::<Value>(&mut conn)
                    .await
                    .is_err()
                {
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_millis(250)) => {}
                        _ = stop.cancelled() => return,
                    }
                }
                tracing::info!("fan-out subscription restored; re-reading watched sessions");
                resync(&*audience, &store).await;
            }
            _ => {}
        }
    }
}

fn on_message(data: &[Value], hub: &dyn Audience, wakeup: &Wakeup) {
    let (Some(Value::BulkString(channel)), Some(Value::BulkString(payload))) =
        (data.first(), data.get(1))
    else {
        return;
    };
    if channel.as_slice() == keys::DEADLINE_WAKE.as_bytes() {
        let due = std::str::from_utf8(payload)
            .ok()
            .and_then(|s| s.parse().ok());
        wakeup.hint(due);
        return;
    }
    let body = match Envelope::decode(payload) {
        Ok(e) => e.body,
        Err(e) => {
            tracing::warn!(error = %crate::cause::chain(&e), "dropping an undecodable fan-out envelope");
            return;
        }
    };
    if !hub.is_watched(&body.session_id) {
        return;
    }
    if body.deleted {
        hub.deliver(Update::Deleted {
            session_id: body.session_id,
        });
        return;
    }
    match decode_state(&body.session_id, &body.state) {
        Ok(session) => hub.deliver(Update::State {
            session: Arc::new(session),
            events: body.events.into(),
        }),
        Err(e) => {
            tracing::warn!(error = %crate::cause::chain(&e), "dropping a fan-out envelope with bad state")
        }
    }
}

/// Re-reads every watched session and delivers it; versions already delivered are
/// dropped by the mailboxes, so only what was missed goes out.
async fn resync(hub: &dyn Audience, store: &Arc<dyn Store>) {
    for id in hub.watched() {
        match store.load(&id).await {
            Ok(Some(session)) => hub.deliver(Update::State {
                session,
                events: Arc::new([]),
            }),
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(error = %crate::cause::chain(&e), "resync after reconnect failed; will retry on the next one");
                return;
            }
        }
    }
}
