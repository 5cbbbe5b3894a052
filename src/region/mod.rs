//! Regions: every session has a home region whose Redis primary alone commits its
//! writes. This layer knows the regions and how to reach them: each region's instances
//! (static URLs or Fly's `.internal` DNS), the authenticated peer client, the typed
//! internal call (`wire`) and the reconciliation API (`sync_wire`), whether the link
//! from a home is up and its copies faithful (`health`), which of two states of one
//! session every region keeps (`precedence`), and how far each other region's clock is
//! from ours (`clock`).
//!
//! Must not: decide what to do with a session (the gateway does) or commit writes for
//! sessions homed elsewhere (never a second writer).

pub mod client;
pub mod clock;
pub mod cluster;
pub mod health;
pub mod owners;
pub mod peers;
pub mod precedence;
pub mod sync_wire;
pub mod wire;
