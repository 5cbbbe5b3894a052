//! The edges: HTTP/1.1 on hyper and WebSocket on fastwebsockets for clients, routed by
//! hand, and the internal API for peer regions on its own listener.
//!
//! Owns: turning bytes on a socket into gateway calls and back, with the contract's
//! shapes, codes, limits and headers. Must not: hold session state (instances are
//! stateless), know where a session lives, or apply domain rules itself.

mod auth;
pub mod body;
pub mod conns;
pub mod ctx;
pub mod handler;
mod history;
pub mod http;
pub mod internal;
mod limits;
pub mod listener;
mod operator;
pub mod ops;
pub mod rest;
pub mod routes;
pub mod validate;
mod validate_field;
pub mod validate_timing;
pub mod ws;
mod ws_auth;
mod ws_command;
mod ws_conn;
mod ws_link;
mod ws_mask;
mod ws_msg;
mod ws_out;
mod ws_owed;
mod ws_rate;

pub use ctx::{AuditHandle, Ctx};
pub use listener::{serve, serve_internal};
