//! Every metric name (`synckairos_*` and the v2 names), its type and `# HELP` text,
//! and which counters start at 0. The one file that names metrics; recording lives in
//! `record.rs`, the recorder and `/metrics` in `mod.rs`. Must not: record anything.

pub const HTTP_REQUESTS: &str = "synckairos_http_requests_total";
pub const HTTP_DURATION: &str = "synckairos_http_request_duration_ms";
pub const SWITCH_DURATION: &str = "synckairos_switch_cycle_duration_ms";
pub const ACTIVE_SESSIONS: &str = "synckairos_active_sessions";
pub const WS_CONNECTIONS: &str = "synckairos_websocket_connections";
pub const WS_CLOSED_SLOW: &str = "synckairos_websocket_slow_consumer_closes_total";
pub const WS_MESSAGES_IN: &str = "synckairos_websocket_messages_received_total";
pub const WS_DIRECT_WRITES: &str = "synckairos_websocket_direct_writes_total";
pub const DEADLINE_LATENESS: &str = "synckairos_deadline_lateness_ms";
pub const DEADLINES_FIRED: &str = "synckairos_deadlines_fired_total";
pub const RATE_LIMITED: &str = "synckairos_rate_limited_total";
pub const RATE_LIMITER_DOWN: &str = "synckairos_rate_limiter_unavailable_total";
pub const RESIDENT_MEMORY: &str = "synckairos_process_resident_memory_bytes";
/// v2's name for the audit backlog (records waiting for PostgreSQL).
pub const DB_WRITE_QUEUE: &str = "synckairos_db_write_queue_size";
pub const AUDIT_BACKLOG_AGE: &str = "synckairos_audit_backlog_age_ms";
pub const AUDIT_WRITTEN: &str = "synckairos_audit_events_written_total";
pub const RELAY_LATENCY: &str = "synckairos_relay_latency_ms";
pub const FORWARDED: &str = "synckairos_forwarded_requests_total";
pub const RELAY_CONFLICTS: &str = "synckairos_relay_conflicts_total";
pub const RELAY_FRAMES: &str = "synckairos_relay_frames_received_total";
pub const REDIS_ERRORS: &str = "synckairos_redis_errors_total";
pub const WRITE_START_STALE: &str = "synckairos_write_start_stale_total";
pub const RELAY_APPLIED_SEQ: &str = "synckairos_relay_applied_seq";
pub const RELAY_HEAD_SEQ: &str = "synckairos_relay_head_seq";
pub const RELAY_LAG_ENTRIES: &str = "synckairos_relay_lag_entries";
pub const RELAY_LAG_MS: &str = "synckairos_relay_lag_ms";
pub const RELAY_STALE: &str = "synckairos_relay_stale";
pub const RELAY_SKIPPED: &str = "synckairos_relay_skipped_entries_total";
pub const RELAY_STALLS: &str = "synckairos_relay_stalls_total";
pub const RELAY_ROLLBACKS: &str = "synckairos_relay_rollbacks_total";
pub const RELAY_GAPS: &str = "synckairos_relay_gaps_total";
pub const RELAY_CATCHUPS: &str = "synckairos_relay_catchups_total";
pub const RELAY_CHECKS: &str = "synckairos_relay_checks_total";
pub const RELAY_CHECK_MS: &str = "synckairos_relay_last_check_duration_ms";
pub const RELAY_CHECK_COMPARED: &str = "synckairos_relay_last_check_compared";
pub const RELAY_CHECK_REPAIRED: &str = "synckairos_relay_last_check_repaired";
pub const RELAY_CHECK_DROPPED: &str = "synckairos_relay_last_check_dropped";
pub const RELAY_LOG_TRIMMED: &str = "synckairos_relay_log_trimmed_total";
pub const AUDIT_OUTBOX_DROPPED: &str = "synckairos_audit_outbox_dropped_total";
pub const CLOCK_OFFSET: &str = "synckairos_clock_offset_ms";
pub const CLOCK_ERROR: &str = "synckairos_clock_error_bound_ms";
pub const CLOCK_REFUSING: &str = "synckairos_clock_refusing";
pub const CLOCK_REFUSALS: &str = "synckairos_clock_refusals_total";
pub const REGION_CLOCK_OFFSET: &str = "synckairos_region_clock_offset_ms";
pub const REGION_CLOCK_ERROR: &str = "synckairos_region_clock_error_bound_ms";
pub const LAG_CREDITED: &str = "synckairos_lag_credited_ms";
pub const AUTH_REFUSED: &str = "synckairos_auth_refused_total";
pub const QUOTA_REFUSED: &str = "synckairos_quota_refused_total";
pub const CONNECTIONS_OPEN: &str = "synckairos_connections_open";
pub const CONNECTIONS_REFUSED: &str = "synckairos_connections_refused_total";
pub const WS_ABUSE_CLOSED: &str = "synckairos_websocket_abuse_closes_total";
pub const PEER_LOOKUPS: &str = "synckairos_peer_lookups_total";
pub const WS_RTT: &str = "synckairos_websocket_rtt_ms";
pub const FORWARD_DURATION: &str = "synckairos_forward_duration_ms";
pub const OWNERSHIP_MOVES: &str = "synckairos_ownership_moves_total";
pub const OWNERSHIP_LEARNED: &str = "synckairos_ownership_learned_total";
pub const HANDOVER_DURATION: &str = "synckairos_handover_duration_ms";
pub const FENCED: &str = "synckairos_fenced";
pub const FENCINGS: &str = "synckairos_fencings_total";
pub const TAKEOVERS: &str = "synckairos_takeovers_total";
pub const SUPERSEDED: &str = "synckairos_superseded_writes_total";
pub const NOT_DURABLE: &str = "synckairos_not_durable_total";

#[derive(Clone, Copy)]
pub(super) enum Kind {
    Counter,
    Gauge,
    Histogram,
}

use Kind::{Counter, Gauge, Histogram};

/// Every metric, its type and its `# HELP` text.
pub(super) const HELP: &[(&str, Kind, &str)] = &[
    (
        HTTP_REQUESTS,
        Counter,
        "HTTP requests answered, by method, route and status code",
    ),
    (
        HTTP_DURATION,
        Histogram,
        "HTTP request duration in milliseconds, by method and route",
    ),
    (
        SWITCH_DURATION,
        Histogram,
        "Switch latency in milliseconds (request in to stored and answered)",
    ),
    (
        ACTIVE_SESSIONS,
        Gauge,
        "Sessions created minus sessions deleted through this instance",
    ),
    (
        WS_CONNECTIONS,
        Gauge,
        "Open WebSocket connections on this instance",
    ),
    (
        WS_CLOSED_SLOW,
        Counter,
        "WebSocket connections closed (1013) because their send queue overflowed",
    ),
    (
        WS_DIRECT_WRITES,
        Counter,
        "Messages written straight to an idle WebSocket, without waking its writer, by \
         outcome: whole, partial (the writer finishes the frame) or full (the socket \
         took nothing; queued for the writer)",
    ),
    (
        WS_MESSAGES_IN,
        Counter,
        "WebSocket messages received from clients, by type",
    ),
    (
        DEADLINE_LATENESS,
        Histogram,
        "Deadline lateness in milliseconds: when it was acted on minus when it fell due",
    ),
    (
        DEADLINES_FIRED,
        Counter,
        "Deadlines (a participant's time running out) acted on by this instance",
    ),
    (
        RATE_LIMITED,
        Counter,
        "Requests refused with 429, by limiter bucket (general, switch)",
    ),
    (
        RATE_LIMITER_DOWN,
        Counter,
        "Rate-limiter checks that failed (Redis unreachable); those requests got 503",
    ),
    (
        RESIDENT_MEMORY,
        Gauge,
        "Resident memory of the server process in bytes",
    ),
    (
        DB_WRITE_QUEUE,
        Gauge,
        "Audit records waiting in the outbox for PostgreSQL (the backlog)",
    ),
    (
        AUDIT_BACKLOG_AGE,
        Gauge,
        "Age in milliseconds of the oldest audit record not yet in PostgreSQL (0 when none)",
    ),
    (
        AUDIT_WRITTEN,
        Counter,
        "Audit events written to PostgreSQL by this instance",
    ),
    (
        RELAY_LATENCY,
        Histogram,
        "Relay latency in milliseconds, commit at the home region to applied here, by home",
    ),
    (
        FORWARDED,
        Counter,
        "Writes sent on to their home region, by home and how (forward, fly-replay)",
    ),
    (
        RELAY_CONFLICTS,
        Counter,
        "Session ids found created in two regions (the later incarnation is dropped)",
    ),
    (
        RELAY_FRAMES,
        Counter,
        "Relay stream chunks (envelopes and heartbeats) received from each home region",
    ),
    (
        REDIS_ERRORS,
        Counter,
        "Redis commands of the session store that failed (unreachable, timed out, refused)",
    ),
    (
        WRITE_START_STALE,
        Counter,
        "Writes that started from this instance's copy of a session and found it stale (one extra Redis round trip each)",
    ),
    (
        RELAY_APPLIED_SEQ,
        Gauge,
        "Position applied here from each home's relay log (the home's sequence number)",
    ),
    (
        RELAY_HEAD_SEQ,
        Gauge,
        "Latest sequence number each home was last known to be at",
    ),
    (
        RELAY_LAG_ENTRIES,
        Gauge,
        "Entries of each home's log not applied here yet (head minus applied)",
    ),
    (
        RELAY_LAG_MS,
        Gauge,
        "Milliseconds this region has been behind each home's head (0 when caught up)",
    ),
    (
        RELAY_STALE,
        Gauge,
        "1 while reads of a home's sessions are marked stale although its link is up (diverged, stalled, catching up)",
    ),
    (
        RELAY_SKIPPED,
        Counter,
        "Relay log entries skipped (undecodable, oversized), by home and reason; reconciliation repairs their sessions",
    ),
    (
        RELAY_STALLS,
        Counter,
        "Relay links that delivered heartbeats but no entries while the home's head moved, by home",
    ),
    (
        RELAY_ROLLBACKS,
        Counter,
        "Homes found with a log behind or unlike what was applied here (restored from an older copy), by home",
    ),
    (
        RELAY_GAPS,
        Counter,
        "Catch-ups from a home whose log no longer held entries this region needed (trimmed by its caps), by home",
    ),
    (
        RELAY_CATCHUPS,
        Counter,
        "Full catch-ups with a home from a snapshot of its index, by home and reason",
    ),
    (
        RELAY_CHECKS,
        Counter,
        "Periodic comparisons with a home's index digest, by home and result",
    ),
    (
        RELAY_CHECK_MS,
        Gauge,
        "Duration in milliseconds of the last check or catch-up with each home",
    ),
    (
        RELAY_CHECK_COMPARED,
        Gauge,
        "Sessions whose index entries the last check or catch-up with each home compared",
    ),
    (
        RELAY_CHECK_REPAIRED,
        Gauge,
        "Copies the last check or catch-up with each home replaced",
    ),
    (
        RELAY_CHECK_DROPPED,
        Gauge,
        "Copies the last check or catch-up with each home removed (gone at the home)",
    ),
    (
        RELAY_LOG_TRIMMED,
        Counter,
        "Entries trimmed from this home's relay log by its caps (entries, bytes)",
    ),
    (
        AUDIT_OUTBOX_DROPPED,
        Counter,
        "Audit records trimmed from the outbox by its caps before PostgreSQL had them",
    ),
    (
        CLOCK_OFFSET,
        Gauge,
        "This instance's system clock minus its region's authoritative clock (the region's Redis TIME), in milliseconds",
    ),
    (
        CLOCK_ERROR,
        Gauge,
        "Uncertainty (plus or minus, milliseconds) of this instance's reading of its region's authoritative clock",
    ),
    (
        CLOCK_REFUSING,
        Gauge,
        "1 while this instance refuses to act because its clock cannot be trusted (offset or uncertainty over the tolerance)",
    ),
    (
        CLOCK_REFUSALS,
        Counter,
        "Writes and deadline claims refused because this instance's clock could not be trusted, by what (write, deadline)",
    ),
    (
        REGION_CLOCK_OFFSET,
        Gauge,
        "Estimated authoritative clock of each home region minus this region's, in milliseconds (NTP-style, by home)",
    ),
    (
        REGION_CLOCK_ERROR,
        Gauge,
        "Uncertainty (plus or minus, milliseconds) of the estimated clock offset to each home region",
    ),
    (
        LAG_CREDITED,
        Histogram,
        "Lag credited back to the mover per switch in lag-compensated sessions, in milliseconds",
    ),
    (
        AUTH_REFUSED,
        Counter,
        "Requests and sockets refused for their token (401 / close 4401), by reason",
    ),
    (
        QUOTA_REFUSED,
        Counter,
        "Requests refused by a quota (429 / 413 QUOTA_EXCEEDED), by limit",
    ),
    (
        CONNECTIONS_OPEN,
        Gauge,
        "Open client connections (HTTP and WebSocket) on this instance",
    ),
    (
        CONNECTIONS_REFUSED,
        Counter,
        "Client connections refused at a cap, by limit (max_connections, max_connections_per_address) or closed for a slow body",
    ),
    (
        WS_ABUSE_CLOSED,
        Counter,
        "WebSocket connections closed for abuse, by reason (frame_rate, message_rate, unmasked)",
    ),
    (
        PEER_LOOKUPS,
        Counter,
        "Lookups of sessions unknown here, by outcome (asked peers, or answered from the negative cache)",
    ),
    (
        WS_RTT,
        Histogram,
        "Round-trip time of WebSocket protocol pings to clients, in milliseconds",
    ),
    (
        FORWARD_DURATION,
        Histogram,
        "Writes sent to their home region: call out to the home's reply in, in milliseconds, by home",
    ),
    (
        OWNERSHIP_MOVES,
        Counter,
        "Sessions whose home this region moved, by how (rehome: planned or automatic; takeover: from a lost home)",
    ),
    (
        OWNERSHIP_LEARNED,
        Counter,
        "Hand-overs this region learned from a forwarded call instead of the hand-over itself",
    ),
    (
        HANDOVER_DURATION,
        Histogram,
        "Milliseconds from a re-home's commit to the new home having installed it",
    ),
    (
        FENCED,
        Gauge,
        "1 while this region is fenced (no majority of regions vouches for it: it commits nothing)",
    ),
    (
        FENCINGS,
        Counter,
        "Times this region fenced itself (lost its ownership lease)",
    ),
    (
        TAKEOVERS,
        Counter,
        "Takeovers of a lost home's sessions by this region (one per home lost)",
    ),
    (
        SUPERSEDED,
        Counter,
        "Writes this region committed as a home that were superseded by a takeover (never relayed; reported, not merged)",
    ),
    (
        NOT_DURABLE,
        Counter,
        "Zero-loss writes answered 503 because the successor region did not confirm them",
    ),
];

/// Counters that start at 0 when the recorder is installed, so that rates and alerts
/// work before the first event (the others carry labels known only when they happen).
pub(super) const ZEROED: &[&str] = &[
    WS_CLOSED_SLOW,
    DEADLINES_FIRED,
    RATE_LIMITER_DOWN,
    RELAY_CONFLICTS,
    REDIS_ERRORS,
    WRITE_START_STALE,
    RELAY_LOG_TRIMMED,
    AUDIT_OUTBOX_DROPPED,
    FENCINGS,
    SUPERSEDED,
    NOT_DURABLE,
];

/// Labels of the counters above that have one, started at 0 with each value.
pub(super) const ZEROED_LABELLED: &[(&str, &str, &[&str])] = &[
    (
        QUOTA_REFUSED,
        "limit",
        &[
            "creates_per_minute",
            "live_sessions",
            "max_participants_x_thresholds",
        ],
    ),
    (
        CONNECTIONS_REFUSED,
        "limit",
        &[
            "max_connections",
            "max_connections_per_address",
            "body_read_timeout",
        ],
    ),
];
