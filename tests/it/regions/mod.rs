//! Three regions as real processes (`support::regions` over `synckairos-cluster`):
//! routing, remote writes, partitions, reconciliation; `measure` is `#[ignore]`d
//! (bench.sh). One world at a time on the machine.

mod client_timing;
mod clocks;
mod lag;
mod measure;
mod partition;
mod reconcile;
mod routing;
mod writes;
