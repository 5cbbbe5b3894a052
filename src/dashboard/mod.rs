//! The operators' dashboard: every region side by side, p50/p99 over the last
//! minutes. Each instance samples its own series (`crate::trend`) and publishes each
//! interval in its region's Redis; any instance serving the page asks one instance of
//! every other region for that region's figures over the internal API, merges the
//! instances' bucket counts per interval and turns them into percentiles.
//!
//! Owns: sampling, publishing and gathering the figures, and their JSON for the page.
//! Must not: be on a request's hot path (recording is `crate::metrics`' job).

pub mod gather;
pub mod sampler;
pub mod trends;
pub mod view;
