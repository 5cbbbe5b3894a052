//! Open client connections and their caps: at most `server.max_connections` per
//! instance (503 beyond) and `server.max_connections_per_address` per client address
//! (429 beyond), HTTP and WebSocket alike. Behind a trusted proxy
//! (`server.client_ip_header`) every connection comes from the proxy, so the
//! per-address cap applies to WebSocket upgrades by the forwarded address instead.
//!
//! A connection holds a `ConnGuard` (shared with its WebSocket after an upgrade); the
//! slot is given back when the last holder drops it.
//!
//! Must not: read or answer requests (the listener and the upgrade do).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::domain::quota::QuotaExceeded;
use crate::error::ApiError;
use crate::metrics;

pub struct Connections {
    max: usize,
    per_address: usize,
    /// Whether the socket's peer is the client (no trusted proxy header).
    by_socket: bool,
    open: AtomicUsize,
    by_addr: Mutex<HashMap<String, usize>>,
}

/// A refused connection's error (the listener writes it before closing).
pub fn refusal(limit: &'static str, max: usize) -> ApiError {
    metrics::connection_refused(limit);
    let q = QuotaExceeded {
        limit,
        max: max as u64,
        requested: max as u64 + 1,
        retry_after: Some(1),
    };
    if limit == "max_connections" {
        let mut e = ApiError::unavailable(
            format!("Too many open connections on this server (at most {max}); please retry"),
            1,
        );
        e.code = "QUOTA_EXCEEDED".into();
        return e.with_details(serde_json::json!({"limit": limit, "max": max}));
    }
    ApiError::quota(&q)
}

impl Connections {
    pub fn new(max: usize, per_address: usize, by_socket: bool) -> Arc<Connections> {
        Arc::new(Connections {
            max,
            per_address,
            by_socket,
            open: AtomicUsize::new(0),
            by_addr: Mutex::new(HashMap::new()),
        })
    }

    /// No caps (the internal listener: peers are few and trusted).
    pub fn unlimited() -> Arc<Connections> {
        Connections::new(usize::MAX, 0, false)
    }

    pub fn open(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }

    fn take_addr(&self, key: &str) -> bool {
        if self.per_address == 0 {
            return true;
        }
        let mut m = self.by_addr.lock().unwrap_or_else(|e| e.into_inner());
        let n = m.entry(key.to_owned()).or_insert(0);
        if *n >= self.per_address {
            if *n == 0 {
                m.remove(key);
            }
            return false;
        }
        *n += 1;
        true
    }

    fn give_addr(&self, key: &str) {
        if self.per_address == 0 {
            return;
        }
        let mut m = self.by_addr.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = m.get_mut(key) {
            *n -= 1;
            if *n == 0 {
                m.remove(key);
            }
        }
    }

    /// A slot for a new connection from `peer`, or the error to answer with.
    pub fn accept(self: &Arc<Self>, peer: SocketAddr) -> Result<Arc<ConnGuard>, ApiError> {
        if self.open.fetch_add(1, Ordering::AcqRel) >= self.max {
            self.open.fetch_sub(1, Ordering::AcqRel);
            return Err(refusal("max_connections", self.max));
        }
        let addr = self.by_socket.then(|| addr_key(peer.ip()));
        if let Some(a) = &addr {
            if !self.take_addr(a) {
                self.open.fetch_sub(1, Ordering::AcqRel);
                return Err(refusal("max_connections_per_address", self.per_address));
            }
        }
        metrics::connections_open(1.0);
        Ok(Arc::new(ConnGuard {
            conns: self.clone(),
            peer,
            addr,
            forwarded: Mutex::new(None),
        }))
    }
}

fn addr_key(ip: IpAddr) -> String {
    ip.to_string()
}

/// One connection's slot.
pub struct ConnGuard {
    conns: Arc<Connections>,
    peer: SocketAddr,
    addr: Option<String>,
    /// Behind a proxy: the forwarded client address this (WebSocket) connection counts
    /// against.
    forwarded: Mutex<Option<String>>,
}

impl ConnGuard {
    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// Behind a trusted proxy, counts a WebSocket against its forwarded client address
    /// (`client`); a no-op when the socket address is already counted.
    pub fn hold_client(&self, client: &str) -> Result<(), ApiError> {
        if self.conns.by_socket || self.conns.per_address == 0 {
            return Ok(());
        }
        let mut f = self.forwarded.lock().unwrap_or_else(|e| e.into_inner());
        if f.is_some() {
            return Ok(());
        }
        if !self.conns.take_addr(client) {
            return Err(refusal(
                "max_connections_per_address",
                self.conns.per_address,
            ));
        }
        *f = Some(client.to_owned());
        Ok(())
    }
}

impl Drop for ConnGuard {
    fn drop(&mut self) {
        if let Some(a) = &self.addr {
            self.conns.give_addr(a);
        }
        let forwarded = self.forwarded.get_mut().map(Option::take).unwrap_or(None);
        if let Some(a) = forwarded {
            self.conns.give_addr(&a);
        }
        self.conns.open.fetch_sub(1, Ordering::AcqRel);
        metrics::connections_open(-1.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(last: u8) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, last], 1000))
    }

    #[test]
    fn caps_hold_and_slots_come_back() {
        let c = Connections::new(3, 2, true);
        let a1 = c.accept(peer(1)).unwrap();
        let a2 = c.accept(peer(1)).unwrap();
        let e = c.accept(peer(1)).err().unwrap();
        assert_eq!(e.status.as_u16(), 429);
        let b1 = c.accept(peer(2)).unwrap();
        let e = c.accept(peer(3)).err().unwrap();
        assert_eq!(e.status.as_u16(), 503);
        drop(a1);
        let _a3 = c.accept(peer(1)).unwrap();
        drop((a2, b1));
        assert_eq!(c.open(), 1);
    }

    #[test]
    fn behind_a_proxy_websockets_count_by_forwarded_address() {
        let c = Connections::new(10, 1, false);
        let a = c.accept(peer(1)).unwrap();
        let b = c.accept(peer(1)).unwrap();
        a.hold_client("9.9.9.9").unwrap();
        assert!(b.hold_client("9.9.9.9").is_err());
        drop(a);
        b.hold_client("9.9.9.9").unwrap();
    }
}
