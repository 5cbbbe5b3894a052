//! SyncKairos: synchronized timers for many regions ("calculate, don't count").
//!
//! Module map (one concept per file):
//! - `domain`: pure timer core: model, transitions, deadlines, time math. No IO.
//! - `view`: the JSON shape of a session clients see.
//! - `protocol`: WebSocket messages by direction, close codes.
//! - `service`: load → transition → compare-and-set commit; the write path.
//! - `store`: the storage trait and its implementations (`memory`).
//! - `hub` + `mailbox`: local WebSocket subscribers and their bounded queues.
//! - `scheduler`: server-side deadlines, fired once at the deadline.
//! - `ratelimit`: v2's two limiters behind a trait.
//! - `region` + `relay`: home regions, write forwarding, peers, the internal API,
//!   the MessagePack relay with gap detection and reconciliation.
//! - `front`: hyper HTTP + fastwebsockets edge, routing, validation.
//! - `audit`: outbox → batched idempotent PostgreSQL writer, migrations, history.
//! - `config`, `error`, `metrics`, `clock`: settings, error envelope, Prometheus, time.
//! - `timebase`: each home region's authoritative time (its Redis clock, sampled
//!   NTP-style), the other regions' clocks as estimated here, and the refusal policy.
//! - `app`: wiring and ordered shutdown.

pub mod app;
pub mod audit;
pub mod backends;
pub mod cause;
pub mod clock;
pub mod config;
pub mod domain;
pub mod error;
pub mod fanout;
pub mod front;
pub mod gateway;
pub mod hub;
pub mod mailbox;
pub mod metrics;
pub mod protocol;
pub mod ratelimit;
pub mod region;
pub mod relay;
pub mod scheduler;
pub mod service;
pub mod store;
pub mod timebase;
pub mod view;
pub mod wakeup;
