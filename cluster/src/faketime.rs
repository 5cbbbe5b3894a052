//! Clock skew for a child process: Debian's libfaketime (`faketime` package) preloaded
//! with a `FAKETIME` offset such as `+2s` or `-0.05`, so that the process reads a
//! system clock that far off this machine's (its monotonic clock shifts by the same
//! constant and keeps its rate). Finds the library; starts nothing.
//!
//! Debian's `redis-server` is linked with jemalloc, which libfaketime cannot be
//! preloaded into (recursive `clock_gettime` at start-up): skew `synckairos`
//! processes, not Redis.

use std::path::PathBuf;

use anyhow::bail;

/// Where Debian installs the library, per architecture.
const CANDIDATES: [&str; 3] = [
    "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
    "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1",
    "/usr/lib/faketime/libfaketime.so.1",
];

/// The libfaketime shared object.
pub fn library() -> anyhow::Result<PathBuf> {
    match CANDIDATES.iter().map(PathBuf::from).find(|p| p.exists()) {
        Some(p) => Ok(p),
        None => {
            bail!("libfaketime is missing (apt-get install faketime; scripts/test.sh installs it)")
        }
    }
}

/// The environment that runs a child `offset` off this machine's clock (`+2s`,
/// `-2s`, `+0.05`: libfaketime's relative `FAKETIME` syntax).
pub fn env(offset: &str) -> anyhow::Result<Vec<(String, String)>> {
    Ok(vec![
        ("LD_PRELOAD".into(), library()?.display().to_string()),
        ("FAKETIME".into(), offset.into()),
    ])
}
