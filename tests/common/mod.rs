//! Shared test support: an in-process server on port 0, a small HTTP client, a
//! WebSocket client, and throwaway `redis-server` / PostgreSQL processes.
#![allow(dead_code)]

pub mod http;
pub mod procs;
pub mod server;
pub mod ws;
