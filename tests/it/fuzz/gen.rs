//! The generators (proptest strategies): raw HTTP requests (methods, paths, versions,
//! headers and bodies, well-formed or not), JSON values (arbitrary, and create or
//! switch bodies with every field mutated), and raw WebSocket frames (any opcode,
//! reserved bits, unmasked, fragmented, bogus lengths, JSON commands as payloads).

use proptest::collection::vec;
use proptest::prelude::*;
use serde_json::{json, Map, Value};

use crate::support::server::pid;

const UUIDS: &[&str] = &[
    "223e4567-e89b-12d3-a456-426614174001",
    "00000000-0000-0000-0000-000000000000",
    "ffffffff-ffff-ffff-ffff-ffffffffffff",
    "6f1c0000-0000-4000-8000-000000000001",
    "not-a-uuid",
    "",
    "223E4567-E89B-12D3-A456-426614174001",
];

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-z_/%.?&=-]{0,24}",
        2 => ".{0,16}",
        1 => Just("a".repeat(5_000)),
        2 => prop::sample::select(UUIDS).prop_map(str::to_owned),
    ]
}

fn id() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(UUIDS).prop_map(str::to_owned),
        1 => text(),
    ]
}

pub fn path() -> impl Strategy<Value = String> {
    let op = prop::sample::select(
        &[
            "start", "switch", "pause", "resume", "complete", "events", "STOP", "",
        ][..],
    );
    prop_oneof![
        3 => (id(), op).prop_map(|(i, o)| format!("/v1/sessions/{i}/{o}")),
        2 => id().prop_map(|i| format!("/v1/sessions/{i}")),
        1 => Just("/v1/sessions".to_owned()),
        1 => Just("/v1/sessions/".to_owned()),
        1 => prop::sample::select(&["/health", "/ready", "/metrics", "/v1/time", "/api-docs.json",
            "/ws", "/demo", "/dashboard", "/", "*", "//", "/v1//sessions", "/%00", "/../etc"][..])
            .prop_map(str::to_owned),
        1 => text().prop_map(|t| format!("/{t}")),
        1 => (id(), text()).prop_map(|(i, q)| format!("/v1/sessions/{i}/events?{q}")),
        1 => text().prop_map(|q| format!("/ws?sessionId={q}")),
    ]
}

/// Bytes shown in failure reports as text.
#[derive(Clone)]
pub struct Bytes(pub Vec<u8>);

impl std::fmt::Debug for Bytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(&self.0))
    }
}

pub fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        prop::num::f64::NORMAL.prop_map(|f| json!(f)),
        prop_oneof![Just(1e300), Just(-0.0), Just(1000.5), Just(4294967296.0)]
            .prop_map(|f| json!(f)),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(Value::Array),
            vec((key(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(&["session_id", "sync_mode", "participants", "total_time_ms",
            "time_per_cycle_ms", "increment_ms", "max_time_ms", "action_on_timeout",
            "warning_thresholds_ms", "home_region", "pause_policy", "metadata",
            "participant_id", "participant_index", "group_id", "next_participant_id",
            "current_participant_id", "type", "token"][..]).prop_map(str::to_owned),
        1 => "[a-z_]{0,8}",
    ]
}

fn number_like() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => (0u64..200_000).prop_map(|n| json!(n)),
        1 => any::<i64>().prop_map(|n| json!(n)),
        1 => any::<u64>().prop_map(|n| json!(n)),
        1 => Just(json!(1000.5)),
        1 => Just(json!("1000")),
        1 => Just(Value::Null),
        1 => json_value(),
    ]
}

/// A create body with each field valid-looking or mutated.
pub fn create_body() -> impl Strategy<Value = Value> {
    let participant = (
        0usize..4,
        number_like(),
        number_like(),
        prop::option::of(id()),
        any::<bool>(),
    )
        .prop_map(|(i, idx, total, group, drop_id)| {
            let mut p = json!({"participant_index": idx, "total_time_ms": total});
            if !drop_id {
                p["participant_id"] = json!(pid(i));
            }
            if let Some(g) = group {
                p["group_id"] = json!(g);
            }
            p
        });
    (
        prop::option::of(id()),
        prop::sample::select(
            &[
                "per_participant",
                "per_cycle",
                "per_group",
                "global",
                "count_up",
                "x",
            ][..],
        ),
        prop_oneof![4 => vec(participant, 0..6).prop_map(Value::Array), 1 => json_value()],
        number_like(),
        prop::option::of(number_like()),
        prop::option::of(number_like()),
        prop::option::of(prop::sample::select(
            &["continue", "skip", "end", "stop"][..],
        )),
        prop::option::of(prop_oneof![
            vec(number_like(), 0..10).prop_map(Value::Array),
            json_value()
        ]),
        prop::option::of(prop::sample::select(
            &["service", "active_participant", "any_participant", "x"][..],
        )),
        prop::option::of(json_value()),
    )
        .prop_map(
            |(sid, mode, ps, total, per_cycle, inc, action, thresholds, policy, extra)| {
                let mut b = json!({"sync_mode": mode, "participants": ps, "total_time_ms": total});
                if let Some(s) = sid {
                    b["session_id"] = json!(s);
                }
                let set = |b: &mut Value, k: &str, v: Option<Value>| {
                    if let Some(v) = v {
                        b[k] = v;
                    }
                };
                set(&mut b, "time_per_cycle_ms", per_cycle);
                set(&mut b, "increment_ms", inc);
                set(&mut b, "action_on_timeout", action.map(|a| json!(a)));
                set(&mut b, "warning_thresholds_ms", thresholds);
                set(&mut b, "pause_policy", policy.map(|p| json!(p)));
                set(&mut b, "metadata", extra);
                b
            },
        )
}

/// Percent-encodes everything but unreserved characters (a client library would).
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A JSON request: method, path, body (text: JSON or not).
#[derive(Debug, Clone)]
pub struct JsonRequest {
    pub method: &'static str,
    pub path: String,
    pub content_type: &'static str,
    pub body: Bytes,
}

pub fn json_request() -> impl Strategy<Value = JsonRequest> {
    let ct = prop::sample::select(
        &[
            "application/json",
            "application/json; charset=utf-8",
            "text/plain",
            "application/x+json",
            "",
        ][..],
    );
    let body = prop_oneof![
        4 => create_body().prop_map(|v| v.to_string().into_bytes()),
        3 => json_value().prop_map(|v| v.to_string().into_bytes()),
        1 => vec(any::<u8>(), 0..64),
        1 => Just(b"{\"participants\":[".to_vec()),
    ];
    let route = prop_oneof![
        4 => Just(("POST", "/v1/sessions".to_owned())),
        3 => (id(), prop::sample::select(&["start", "switch", "pause", "resume", "complete"][..]))
            .prop_map(|(i, op)| ("POST", format!("/v1/sessions/{}/{op}", encode(&i)))),
        1 => id().prop_map(|i| ("GET", format!("/v1/sessions/{}", encode(&i)))),
        1 => id().prop_map(|i| ("DELETE", format!("/v1/sessions/{}", encode(&i)))),
    ];
    (route, ct, body).prop_map(|((method, path), content_type, body)| JsonRequest {
        method,
        path,
        content_type,
        body: Bytes(body),
    })
}

/// A raw HTTP/1.1 request (possibly malformed).
pub fn raw_request() -> impl Strategy<Value = Bytes> {
    let method = prop_oneof![
        6 => prop::sample::select(&["GET", "POST", "DELETE", "HEAD", "OPTIONS", "PUT", "PATCH"][..]).prop_map(str::to_owned),
        1 => prop::sample::select(&["TRACE", "CONNECT", "get", "G ET", "", "\u{1}"][..]).prop_map(str::to_owned),
        1 => "[A-Z]{1,10}",
    ];
    let version = prop_oneof![
        8 => Just("HTTP/1.1"),
        1 => Just("HTTP/1.0"),
        1 => prop::sample::select(&["HTTP/2.0", "HTTP/9.9", "HTTP/1.1 x", "http/1.1", ""][..]),
    ];
    let header = prop_oneof![
        3 => prop::sample::select(&[
            "Content-Type: application/json", "Content-Type: text/plain",
            "Authorization: Bearer abc.def.ghi", "Authorization: Basic Zm9vOmJhcg==",
            "Origin: http://x", "Access-Control-Request-Headers: authorization",
            "Transfer-Encoding: chunked", "Content-Length: 0", "Content-Length: 5",
            "Content-Length: -1", "Content-Length: 99999999999999999999",
            "Content-Length: 2000000", "Upgrade: websocket", "Connection: upgrade",
            "Sec-WebSocket-Version: 13", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
            "Expect: 100-continue", "X-Forwarded-For: 1.2.3.4",
        ][..]).prop_map(str::to_owned),
        1 => ("[A-Za-z-]{1,12}", "[ -~]{0,40}").prop_map(|(k, v)| format!("{k}: {v}")),
        1 => "[ -~]{0,30}",
    ];
    let body = prop_oneof![
        3 => Just(Vec::new()),
        3 => create_body().prop_map(|v| v.to_string().into_bytes()),
        1 => vec(any::<u8>(), 0..256),
        1 => Just(b"5\r\nhello\r\n0\r\n\r\n".to_vec()),
        1 => Just(b"zz\r\n{}\r\n0\r\n\r\n".to_vec()),
    ];
    (
        method,
        path(),
        version,
        vec(header, 0..6),
        body,
        any::<bool>(),
    )
        .prop_map(|(m, p, v, headers, body, fix_length)| {
            let mut r = format!("{m} {p} {v}\r\nHost: fuzz\r\n");
            for h in headers {
                r.push_str(&h);
                r.push_str("\r\n");
            }
            if fix_length && !body.is_empty() {
                r.push_str(&format!("Content-Length: {}\r\n", body.len()));
            }
            r.push_str("Connection: close\r\n\r\n");
            let mut bytes = r.into_bytes();
            bytes.extend_from_slice(&body);
            Bytes(bytes)
        })
}

/// One raw WebSocket frame from a client.
#[derive(Debug, Clone)]
pub struct RawFrame {
    pub fin: bool,
    /// Reserved bits (mostly 0).
    pub rsv: u8,
    pub opcode: u8,
    pub masked: bool,
    /// A 64-bit length field claiming this much (bogus), instead of the payload's.
    pub claimed: Option<u64>,
    pub payload: Bytes,
}

impl RawFrame {
    pub fn encode(&self, key: [u8; 4]) -> Vec<u8> {
        let mut f = vec![(u8::from(self.fin) << 7) | (self.rsv << 4) | (self.opcode & 0x0f)];
        let m = if self.masked { 0x80 } else { 0 };
        let len = self.payload.0.len();
        match self.claimed {
            Some(n) => {
                f.push(m | 127);
                f.extend_from_slice(&n.to_be_bytes());
            }
            None if len < 126 => f.push(m | len as u8),
            None if len < 65_536 => {
                f.push(m | 126);
                f.extend_from_slice(&(len as u16).to_be_bytes());
            }
            None => {
                f.push(m | 127);
                f.extend_from_slice(&(len as u64).to_be_bytes());
            }
        }
        if self.masked {
            f.extend_from_slice(&key);
            f.extend(
                self.payload
                    .0
                    .iter()
                    .enumerate()
                    .map(|(i, b)| b ^ key[i % 4]),
            );
        } else {
            f.extend_from_slice(&self.payload.0);
        }
        f
    }
}

fn command() -> impl Strategy<Value = Vec<u8>> {
    let kind = prop::sample::select(
        &[
            "PING",
            "RECONNECT",
            "START",
            "SWITCH",
            "PAUSE",
            "RESUME",
            "COMPLETE",
            "AUTH",
            "NOPE",
            "ping",
        ][..],
    );
    (kind, prop::option::of(json_value()), prop::option::of(id())).prop_map(|(k, rid, next)| {
        let mut m = json!({"type": k});
        if let Some(r) = rid {
            m["requestId"] = r;
        }
        if let Some(n) = next {
            m["next_participant_id"] = json!(n);
        }
        m.to_string().into_bytes()
    })
}

pub fn frame() -> impl Strategy<Value = RawFrame> {
    let opcode = prop_oneof![
        6 => Just(1u8),
        2 => prop::sample::select(&[0u8, 2, 8, 9, 10][..]),
        1 => 0u8..16,
    ];
    let payload = prop_oneof![
        5 => command(),
        2 => vec(any::<u8>(), 0..64),
        1 => Just(Vec::new()),
        1 => Just(vec![b'x'; 5_000]),
        1 => Just(vec![0xff, 0xfe, 0xfd]),
        1 => Just(vec![0x03, 0xe8]),
    ];
    (
        prop_oneof![3 => Just(true), 1 => Just(false)],
        prop_oneof![15 => Just(0u8), 1 => 1u8..8],
        opcode,
        prop_oneof![30 => Just(true), 1 => Just(false)],
        prop_oneof![30 => Just(None), 1 => Just(Some(1u64 << 40))],
        payload,
    )
        .prop_map(|(fin, rsv, opcode, masked, claimed, payload)| RawFrame {
            fin,
            rsv,
            opcode,
            masked,
            claimed,
            payload: Bytes(payload),
        })
}

/// What a WebSocket case connects to, and the frames it sends.
#[derive(Debug, Clone)]
pub struct WsCase {
    pub query: String,
    pub frames: Vec<RawFrame>,
}

pub fn ws_case() -> impl Strategy<Value = WsCase> {
    let query = prop_oneof![
        8 => Just("sessionId=223e4567-e89b-12d3-a456-426614174001".to_owned()),
        1 => text().prop_map(|q| format!("sessionId={q}")),
        1 => text(),
    ];
    (query, vec(frame(), 1..8)).prop_map(|(query, frames)| WsCase { query, frames })
}
