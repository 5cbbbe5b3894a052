//! The pure domain core (`synckairos::domain`, public API only): hand-computed
//! timelines and property tests (generators, expected values, checkers and the v2
//! model are in `support::domain`). No IO.

mod create;
mod deadlines;
mod defects;
mod fairness;
mod iso_lifetime;
mod lifecycle;
mod modes;
mod props_invariants;
mod props_schedule;
mod props_terminal;
mod props_v2_switch;
mod props_warnings;
mod switch;
mod timeouts;
