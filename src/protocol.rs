//! The WebSocket protocol (CONTRACT.md §3): messages by direction and close codes.
//! v2 messages keep their exact shapes; extensions (`TIME_EXPIRED`, `TIME_WARNING`,
//! `ACK`, command messages, NTP-style `PONG` fields) are additive, so clients that
//! ignore unknown types and fields keep working.
//!
//! Owns: encoding server messages (as the text frames that carry them) and decoding
//! client ones. Must not: do IO.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::domain::{Event, Millis, Session};
use crate::view::SessionView;
use crate::wsframe::Framed;

pub mod close {
    /// Session deleted (terminal: do not reconnect).
    pub const NORMAL: u16 = 1000;
    /// Server shutting down (reconnect, possibly elsewhere).
    pub const GOING_AWAY: u16 = 1001;
    pub const PROTOCOL_ERROR: u16 = 1002;
    /// A text message that is not UTF-8.
    pub const INVALID_DATA: u16 = 1007;
    /// Bad `sessionId`, or message rate abuse (terminal).
    pub const POLICY: u16 = 1008;
    pub const TOO_BIG: u16 = 1009;
    /// Slow consumer or overload: reconnect after a moment.
    pub const TRY_AGAIN_LATER: u16 = 1013;
    /// Auth on: no token, or one that cannot be trusted (like HTTP 401; get a new one).
    pub const UNAUTHORIZED: u16 = 4401;
    /// Auth on: the token does not cover this session (like HTTP 403; terminal).
    pub const FORBIDDEN: u16 = 4403;
}

/// Messages a client sends. Unknown types decode as `Unknown` and are ignored.
#[derive(Debug, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ClientMessage {
    Ping {
        #[serde(default, alias = "client_timestamp", alias = "clientTimestamp")]
        timestamp: Option<Value>,
    },
    Reconnect,
    /// Extension: commands over the socket (lower latency than REST for players).
    Start(Command),
    Switch(Command),
    Pause(Command),
    Resume(Command),
    Complete(Command),
    #[serde(other)]
    Unknown,
}

#[derive(Debug, Default, Deserialize, PartialEq)]
pub struct Command {
    #[serde(default, alias = "request_id", rename = "requestId")]
    pub request_id: Option<Value>,
    #[serde(default, alias = "nextParticipantId")]
    pub next_participant_id: Option<String>,
    #[serde(default, alias = "currentParticipantId")]
    pub current_participant_id: Option<String>,
}

/// Decodes a client text message; `None` for anything that is not a JSON object with
/// a string `type` (ignored, as v2 did).
pub fn decode(text: &[u8]) -> Option<ClientMessage> {
    serde_json::from_slice(text).ok()
}

fn encode(v: &impl Serialize) -> Framed {
    // Serializing these plain structs cannot fail.
    Framed::text(&serde_json::to_vec(v).unwrap_or_default())
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Envelope<'a, T: Serialize> {
    #[serde(rename = "type")]
    kind: &'static str,
    session_id: &'a str,
    timestamp: Millis,
    #[serde(flatten)]
    body: T,
}

#[derive(Serialize)]
struct NoBody {}

#[derive(Serialize)]
struct StateBody<'a> {
    state: SessionView<'a>,
}

pub fn connected(session_id: &str, now: Millis) -> Framed {
    encode(&Envelope {
        kind: "CONNECTED",
        session_id,
        timestamp: now,
        body: NoBody {},
    })
}

/// `STATE_UPDATE` (pushed) or `STATE_SYNC` (requested) carrying the full state.
pub fn state(kind: &'static str, s: &Session, now: Millis) -> Framed {
    let body = StateBody {
        state: SessionView::from(s),
    };
    encode(&Envelope {
        kind,
        session_id: &s.session_id,
        timestamp: now,
        body,
    })
}

pub fn session_deleted(session_id: &str, now: Millis) -> Framed {
    encode(&Envelope {
        kind: "SESSION_DELETED",
        session_id,
        timestamp: now,
        body: NoBody {},
    })
}

#[derive(Serialize)]
struct Pong<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    timestamp: Millis,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_timestamp: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    server_receive_timestamp: Option<Millis>,
    #[serde(skip_serializing_if = "Option::is_none")]
    server_send_timestamp: Option<Millis>,
    #[serde(skip_serializing_if = "Option::is_none")]
    timebase: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    timebase_error_ms: Option<f64>,
}

/// Whose clock a `PONG`'s times are, and how uncertain the server is of it.
pub struct PongClock<'a> {
    /// The region whose authoritative clock the times are in (the session's home when
    /// known to the server).
    pub timebase: &'a str,
    /// ± ms the server's reading of that clock may be off (absent when unknown).
    pub error_ms: Option<f64>,
}

/// `PONG`; with the client's timestamp echoed plus receive/send times (and whose clock
/// they are) when it sent one.
pub fn pong(
    client_ts: Option<&Value>,
    received: Millis,
    now: Millis,
    clock: Option<PongClock<'_>>,
) -> Framed {
    let ntp = client_ts.is_some();
    let clock = clock.filter(|_| ntp);
    encode(&Pong {
        kind: "PONG",
        timestamp: now,
        client_timestamp: client_ts,
        server_receive_timestamp: ntp.then_some(received),
        server_send_timestamp: ntp.then_some(now),
        timebase: clock.as_ref().map(|c| c.timebase),
        timebase_error_ms: clock
            .and_then(|c| c.error_ms)
            .map(|e| (e * 1000.0).ceil() / 1000.0),
    })
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ErrorMsg<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    code: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<&'a Value>,
}

pub fn error(code: &str, message: &str, request_id: Option<&Value>) -> Framed {
    encode(&ErrorMsg {
        kind: "ERROR",
        code,
        message,
        request_id,
    })
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Ack<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<&'a Value>,
    op: &'a str,
    version: u64,
}

/// Extension: the reply to a command sent over the socket.
pub fn ack(op: &str, version: u64, request_id: Option<&Value>) -> Framed {
    encode(&Ack {
        kind: "ACK",
        request_id,
        op,
        version,
    })
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Expired<'a> {
    participant_id: &'a str,
    expired_at: Millis,
    action: &'static str,
    version: u64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Warning<'a> {
    participant_id: &'a str,
    threshold_ms: u64,
    remaining_ms: u64,
    at: Millis,
    version: u64,
}

/// The push message for a domain event, if that event is pushed to clients.
pub fn event(s: &Session, e: &Event, now: Millis) -> Option<Framed> {
    let session_id = s.session_id.as_str();
    let version = s.version;
    match e {
        Event::ParticipantExpired {
            participant_id,
            at,
            action,
        } => Some(encode(&Envelope {
            kind: "TIME_EXPIRED",
            session_id,
            timestamp: now,
            body: Expired {
                participant_id,
                expired_at: *at,
                action: action.as_str(),
                version,
            },
        })),
        Event::TimeWarning {
            participant_id,
            threshold_ms,
            at,
        } => Some(encode(&Envelope {
            kind: "TIME_WARNING",
            session_id,
            timestamp: now,
            body: Warning {
                participant_id,
                threshold_ms: *threshold_ms,
                remaining_ms: *threshold_ms,
                at: *at,
                version,
            },
        })),
        _ => None,
    }
}
