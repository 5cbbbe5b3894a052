//! `synckairos-cluster`: the one owner of the local cluster. Starts and stops the
//! processes a SyncKairos deployment is made of on this machine, on loopback ports,
//! without Docker: `redis-server`s, `synckairos` instances, and the
//! `synckairos-delay-proxy` links of the three-region world (iad, lhr, nrt; one-way
//! delays iad–lhr 40 ms, iad–nrt 80 ms, lhr–nrt 120 ms), with partitions of whole
//! regions or single directions, and clock skew (libfaketime, [`faketime`]) for an
//! instance or a region's instances.
//!
//! Used by the integration tests (a [`World`] per test, killed on drop), by the
//! bench (`regions` scenario) and by developers and `scripts/bench.sh` through the
//! `synckairos-cluster` binary ([`dev`]: a detached world in `target/dev-regions/`).
//!
//! Knows the server only as binaries: its environment variables, the generated
//! regions TOML, and the Redis keys it reads for snapshots and relay liveness
//! (`s:<id>`, `rh:<region>`). Never links the `synckairos` library.

pub mod config;
pub mod describe;
pub mod dev;
pub mod faketime;
pub mod instance;
pub mod lock;
pub mod ports;
pub mod process;
pub mod proxy;
pub mod redis;
pub mod region;
pub mod spec;
pub mod topology;
pub mod world;

pub use describe::ClusterFile;
pub use instance::Instance;
pub use lock::FileLock;
pub use proxy::Proxy;
pub use redis::Redis;
pub use region::Region;
pub use spec::{Bins, Relay, Spec};
pub use topology::{delay_ms, Partitions, REGIONS};
pub use world::World;

/// Wall-clock epoch milliseconds (every process here runs on this machine's clock).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as i64
}
