//! The integration tests of `synckairos`, one test binary (`cargo nextest run
//! --test it`, or `-E 'test(/^regions::/)'` for one area). Every module below holds
//! the tests of one area; shared helpers are in [`support`] and nowhere else.
//!
//! Run with cargo-nextest (`scripts/test.sh` does): it gives every test a process of
//! its own, which `config` (it sets process environment variables) and the
//! process-wide metrics recorder rely on. The 3-region tests take a machine-wide lock
//! (`support::regions`) and form a nextest test group of one (`.config/nextest.toml`).
//! The `#[ignore]`d measurement tests (`redis::measure`, `audit::bench`,
//! `regions::measure`) are run by `scripts/bench.sh`.

mod abuse;
mod api;
mod architecture;
mod audit;
mod auth;
mod config;
mod dashboard;
mod deadlines;
mod deploy;
mod domain;
mod fly_config;
mod fuzz;
mod layout;
mod redis;
mod regions;
mod shutdown;
mod support;
mod tls;
mod ws;
