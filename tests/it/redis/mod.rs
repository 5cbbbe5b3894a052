//! The Redis store with real `redis-server` and `synckairos` processes
//! (`support::redis`): the contract across instances, deadlines, durability,
//! lifetimes, outages, replicas, rate limits; `measure` is `#[ignore]`d (bench.sh).

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
