//! Three regions as real processes (`support::regions` over `synckairos-cluster`):
//! routing, remote writes, partitions, reconciliation, the relay at scale and under
//! faults; `measure` is `#[ignore]`d (bench.sh). One world at a time on the machine.

mod measure;
mod partition;
mod reconcile;
mod routing;
mod scale;
mod writes;
