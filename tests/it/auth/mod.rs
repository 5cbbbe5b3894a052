//! Signed tokens with `auth.mode = "on"`: what each role may do and the 401/403 (JSON
//! envelope, WebSocket close codes) otherwise, in one region (in-process server) and
//! across regions (a forwarded write keeps its identity), and who did what in the
//! audit trail. The open mode is the rest of the suite (`auth.mode = "off"`).

mod audit;
mod regions;
mod roles;
mod sockets;
mod tokens;
