//! SyncKairos: synchronized timers for many regions ("calculate, don't count").
//!
//! Module map, lowest layer first (a module uses only its own layer and the ones
//! below; `tests/it/architecture.rs` checks it and that the graph has no circles):
//!
//! 1. `domain`: the pure timer core (model, ids, transitions, deadlines, time math).
//!    No IO; `now` is an argument.
//! 2. `clock`, `config`, `metrics`, `trend`, `cause`, `view`, `protocol`, `wsframe`,
//!    `mailbox`, `wakeup`, `timebase`: wall-clock reads, settings, Prometheus names, the
//!    dashboard's 15-minute history, error chains for logs, the JSON a client sees,
//!    WebSocket messages, their frames as sent, a connection's outgoing queue (written
//!    straight to an idle socket), the scheduler's early-wake signal, and each home
//!    region's authoritative time (its Redis clock, sampled NTP-style; the other
//!    regions' clocks as estimated here; the refusal policy for an instance whose clock
//!    cannot be trusted).
//! 3. `store` (trait, memory and Redis implementations, Lua scripts, keys, the
//!    stored-state codec and the one envelope codec, the recent states writes start
//!    from), `ratelimit`, `quota` (live
//!    sessions per client behind a trait), `auth` (signed tokens → the
//!    `domain::access` actor; keys by id, signing for `synckairos token`).
//! 4. `fanout` (the Redis broker that brings other instances' commits here), `hub`
//!    (this instance's WebSocket subscribers per session), `audit` (outbox →
//!    PostgreSQL, history).
//! 5. `service` (load → transition → compare-and-set: where a request becomes a
//!    stored change), `scheduler` (deadlines, fired once at the deadline).
//! 6. `region` (the cluster: peers, the authenticated peer client, the typed
//!    internal call, link health, which state of a session wins; `owners`: leases,
//!    fencing and takeover when a home is lost).
//! 7. `relay` (following other homes' logs, keeping copies, reconciliation).
//! 8. `error` (the contract's error envelope and the mapping of module errors).
//! 9. `gateway`: the one place that knows where a session lives: here, at its home
//!    (typed call), or unknown (ask the peers); freshness and stale marks.
//!    `dashboard`: sampling, publishing and gathering every region's figures.
//! 10. `front`: hyper + fastwebsockets for clients, the internal API for peers.
//! 11. `backends`, `app`: building the parts from a `Config`; wiring and shutdown.
//!
//! A switch, from the socket to every region's subscribers: `front::handler` (HTTP)
//! or `front::ws_msg` → `front::rest` / `front::ws_command` (validate) →
//! `gateway::Gateway::apply` → here: `service::Sessions::write` →
//! `domain::perform` → `store::redis` (`lua/commit.lua`: compare-and-set, deadline
//! index, sequence, fan-out publish, audit outbox, relay log, in one step) →
//! every instance of the region: `fanout::redis` → `hub` → `mailbox` → the socket
//! (`front::ws_out`, directly when idle; else `front::ws_conn`'s writer) writes
//! `STATE_UPDATE`; every other region: `relay::follower`
//! (reading `relay::source` at the home over the internal API) → `relay::copies`
//! (keeps the copy, republishes locally) → that region's `fanout` → `hub`. When the
//! home is elsewhere, `gateway::home` sends the write as a `region::wire::PeerCall`
//! and the home's `front::internal` hands it to its own gateway.

pub mod app;
pub mod audit;
pub mod auth;
pub mod backends;
pub mod cause;
pub mod clock;
pub mod config;
pub mod dashboard;
pub mod domain;
pub mod error;
pub mod fanout;
pub mod front;
pub mod gateway;
pub mod hub;
pub mod mailbox;
pub mod metrics;
pub mod protocol;
pub mod quota;
pub mod ratelimit;
pub mod region;
pub mod relay;
pub mod scheduler;
pub mod service;
pub mod store;
pub mod timebase;
pub mod trend;
pub mod view;
pub mod wakeup;
pub mod wsframe;
