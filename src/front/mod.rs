//! The edge: HTTP/1.1 on hyper and WebSocket on fastwebsockets, routed by hand.
//!
//! Owns: turning bytes on a socket into service calls and back, with the contract's
//! shapes, codes, limits and headers. Must not: hold session state (instances are
//! stateless) or apply domain rules itself.

pub mod body;
pub mod ctx;
pub mod handler;
mod history;
pub mod http;
mod limits;
pub mod listener;
pub mod ops;
pub mod rest;
pub mod router;
mod routing;
pub mod validate;
pub mod ws;
mod ws_command;
mod ws_conn;
mod ws_msg;

pub use ctx::{AuditHandle, Ctx};
pub use listener::{serve, serve_internal};
