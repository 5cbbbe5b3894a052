//! Trends for the operators' dashboard: a few latency series and counters kept in
//! memory at a fixed cost, sampled into aligned intervals (default 5 s) and kept for
//! the last 15 minutes, so `/dashboard` can draw p50/p99 over time for every region.
//! Intervals hold bucket counts, not percentiles, so the figures of several instances
//! of a region merge exactly.
//!
//! Owns: the series, their histograms and their history. Must not: do IO or know who
//! reads the figures (the front's dashboard gathers and serves them).

pub mod histogram;
pub mod history;
pub mod series;
