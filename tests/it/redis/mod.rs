//! The Redis store with real `redis-server` and `synckairos` processes
//! (`support::redis`): the contract across instances, the writing scripts' atomicity,
//! deadlines, durability, lifetimes, outages, replicas, rate limits, the sequence,
//! writes from a stale copy; `measure` is `#[ignore]`d (bench.sh).

mod atomic;
mod clock_skew;
mod concurrency;
mod contract;
mod deadlines;
mod durability;
mod lifetime;
mod measure;
mod outage;
mod ratelimit;
mod replica;
mod sequence;
mod stale_copy;
