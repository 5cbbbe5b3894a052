//! The WebSocket protocol against an in-process server: messages, commands,
//! snapshots, liveness, abuse. No external processes.

mod abuse;
mod audience;
mod commands;
mod liveness;
mod protocol;
mod snapshots;
