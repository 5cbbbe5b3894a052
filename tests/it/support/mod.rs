//! Everything the tests share, and nothing else: clients, servers, processes and
//! checkers. Must not hold tests.
//!
//! - [`http`], [`ws`]: HTTP/1.1 and WebSocket clients;
//! - [`clock`]: libfaketime, NTP-style sampling over `PING`/`PONG`, arrival-stamped
//!   watchers;
//! - [`server`]: an in-process server on port 0 and session-body builders;
//! - [`procs`]: throwaway `redis-server` / `synckairos` (from `synckairos-cluster`)
//!   and PostgreSQL processes;
//! - [`redis`]: N instances on one Redis, and message collectors;
//! - [`regions`]: the 3-region world of `synckairos-cluster` with clients;
//! - [`owners`]: the one-chain-per-session checker over every region's relay log;
//! - [`relay`]: seeding a home through its store, digests, byte comparisons, log
//!   surgery and labelled metrics for the relay-at-scale tests;
//! - [`audit`]: Redis + PostgreSQL stacks, tallies and the exactly-once checks;
//! - [`domain`]: generators, expected values and checkers of the domain tests;
//! - [`auth`]: signed tokens of every role and authorized requests;
//! - [`abuse`]: RSS and a bystander's latency while an abuse runs.

pub mod abuse;
pub mod audit;
pub mod auth;
pub mod clock;
pub mod deploy;
pub mod domain;
pub mod http;
pub mod owners;
pub mod procs;
pub mod redis;
pub mod regions;
pub mod relay;
pub mod server;
pub mod tls;
pub mod ws;
