//! Loopback ports for the processes this crate starts. Owns the choice of a port
//! before a child binds it; must not bind anything for longer than the check.
//!
//! Ports come from outside the kernel's ephemeral range (`ip_local_port_range`), so
//! the source port of an outgoing connection cannot take one between the pick and
//! the child's bind (the flake of binding port 0 and releasing it). What is left is a
//! race with another process picking the same port in the same instant: callers
//! restart the child with a fresh port when its log says "Address already in use".

use std::collections::HashSet;
use std::net::{Ipv4Addr, TcpListener};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

/// Lowest port handed out (below: well-known and registered services).
const LOW: u16 = 10_000;

/// Ports handed out by this process: never the same one twice, even before the
/// child that got it has bound it.
static GIVEN: Mutex<Option<HashSet<u16>>> = Mutex::new(None);

/// The kernel's ephemeral port range (Linux default when unreadable).
pub fn ephemeral_range() -> (u16, u16) {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| {
            let mut it = s.split_whitespace().map(|p| p.parse::<u16>().ok());
            Some((it.next()??, it.next()??))
        })
        .unwrap_or((32_768, 60_999))
}

/// Whether `port` can be bound on 127.0.0.1 and 0.0.0.0 right now.
pub fn bindable(port: u16) -> bool {
    [Ipv4Addr::LOCALHOST, Ipv4Addr::UNSPECIFIED]
        .iter()
        .all(|ip| TcpListener::bind((*ip, port)).is_ok())
}

/// A small xorshift seeded from the clock, the pid and a call counter (no `rand`).
fn random(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// A free loopback port outside the ephemeral range, checked by binding it, never
/// handed out before by this process.
pub fn pick() -> std::io::Result<u16> {
    let (lo, hi) = ephemeral_range();
    let pool: Vec<u16> = (LOW..=u16::MAX)
        .filter(|p| !(lo..=hi).contains(p))
        .collect();
    let mut seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64)
        ^ ((std::process::id() as u64) << 32)
        | 1;
    let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
    let given = given.get_or_insert_with(HashSet::new);
    for _ in 0..2_000 {
        let port = pool[(random(&mut seed) % pool.len() as u64) as usize];
        if !given.contains(&port) && bindable(port) {
            given.insert(port);
            return Ok(port);
        }
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::AddrInUse,
        "no free loopback port outside the ephemeral range",
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn picks_distinct_bindable_ports_outside_the_ephemeral_range() {
        let (lo, hi) = super::ephemeral_range();
        let mut seen = std::collections::HashSet::new();
        for _ in 0..50 {
            let p = super::pick().unwrap();
            assert!(p >= super::LOW && !(lo..=hi).contains(&p), "{p}");
            assert!(seen.insert(p), "{p} handed out twice");
        }
    }
}
