//! Support of the `domain::*` tests of the pure domain core (`synckairos::domain`,
//! public API only; no IO, no clock: `now` is always an argument): the ids every test
//! uses, and
//! - [`timeline`]: builders and readers for the unit tests' hand-computed timelines;
//! - [`generators`]: random sessions and op / tick sequences for the property tests;
//! - [`expected`]: what the domain must answer, written independently of `src/domain/`;
//! - [`checker`]: the invariant checker run after every step (`domain/props_invariants.rs`);
//! - [`v2_model`]: v2's engine as CONTRACT §1.5/§1.6 writes it (`domain/props_v2_switch.rs`).

pub mod checker;
pub mod expected;
pub mod generators;
pub mod timeline;
pub mod v2_model;

use synckairos::domain::ParticipantId;

pub const SID: &str = "6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b";
pub const UNKNOWN: &str = "323e4567-e89b-12d3-a456-426614174999";

pub fn pid(i: usize) -> ParticipantId {
    format!("223e4567-e89b-12d3-a456-4266141740{i:02}").into()
}
