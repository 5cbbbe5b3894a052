//! Three regions as real processes (`support::regions` over `synckairos-cluster`):
//! routing, remote writes, partitions, reconciliation, the relay at scale and under
//! faults, chaos; `measure` and the long chaos run are `#[ignore]`d (bench.sh). One world at a time on the machine.

mod chaos;
mod client_timing;
mod clocks;
mod lag;
mod measure;
mod owners;
mod partition;
mod reconcile;
mod routing;
mod scale;
mod scale_measure;
mod writes;
