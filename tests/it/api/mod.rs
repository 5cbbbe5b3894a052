//! The HTTP API against an in-process server (`support::server`): bodies, operations,
//! validation, rate limits, concurrency, hostile input. No external processes.

mod bodies;
mod concurrency;
mod hostile;
mod lifecycle;
mod metrics_help;
mod ops;
mod rate_limit;
mod switch;
mod timing;
mod validation;
