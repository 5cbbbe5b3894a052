//! The audit trail with real Redis, PostgreSQL and `synckairos` processes
//! (`support::audit`): exactly-once delivery, crashes, outages, history, migrations;
//! `bench` is `#[ignore]`d (bench.sh).

mod bench;
mod crash;
mod history;
mod migrate;
mod outage;
mod ready;
mod trail;
