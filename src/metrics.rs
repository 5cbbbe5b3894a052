//! Prometheus metrics: every metric name in one place, the helpers that record them,
//! and the text exposition for `/metrics`. Every series carries a `region` label.
//!
//! The v2 series keep their names and labels (CONTRACT.md §2.3.7); new ones follow
//! the same `synckairos_` prefix. Must not: be read on a hot path (recording is cheap
//! and lock-free per series; rendering happens only on scrape).

use std::sync::OnceLock;
use std::time::Duration;

use metrics::{counter, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::trend::series::{self as trend, Measure};

pub const HTTP_REQUESTS: &str = "synckairos_http_requests_total";
pub const HTTP_DURATION: &str = "synckairos_http_request_duration_ms";
pub const SWITCH_DURATION: &str = "synckairos_switch_cycle_duration_ms";
pub const ACTIVE_SESSIONS: &str = "synckairos_active_sessions";
pub const WS_CONNECTIONS: &str = "synckairos_websocket_connections";
pub const WS_CLOSED_SLOW: &str = "synckairos_websocket_slow_consumer_closes_total";
pub const WS_MESSAGES_IN: &str = "synckairos_websocket_messages_received_total";
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
enum Kind {
    Counter,
    Gauge,
    Histogram,
}

use Kind::{Counter, Gauge, Histogram};

/// Every metric, its type and its `# HELP` text.
const HELP: &[(&str, Kind, &str)] = &[
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
const ZEROED: &[&str] = &[
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
const ZEROED_LABELLED: &[(&str, &str, &[&str])] = &[
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

const HTTP_BUCKETS: &[f64] = &[
    0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0,
];
const SWITCH_BUCKETS: &[f64] = &[0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 25.0, 50.0];
const RELAY_BUCKETS: &[f64] = &[
    1.0, 2.0, 5.0, 10.0, 25.0, 50.0, 100.0, 150.0, 250.0, 500.0, 1000.0,
];
const LATENESS_BUCKETS: &[f64] = &[1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 500.0, 1000.0];
const LAG_BUCKETS: &[f64] = &[
    1.0, 5.0, 10.0, 25.0, 50.0, 100.0, 150.0, 250.0, 500.0, 1000.0,
];
const RTT_BUCKETS: &[f64] = &[
    1.0, 2.0, 5.0, 10.0, 25.0, 50.0, 100.0, 150.0, 250.0, 500.0, 1000.0, 2500.0,
];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process-wide recorder once; later calls (more servers in one test
/// process) reuse it, and the first region label wins.
pub fn install(region: &str) -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .add_global_label("region", region)
                .set_buckets_for_metric(Matcher::Full(HTTP_DURATION.into()), HTTP_BUCKETS)
                .and_then(|b| {
                    b.set_buckets_for_metric(Matcher::Full(SWITCH_DURATION.into()), SWITCH_BUCKETS)
                })
                .and_then(|b| {
                    b.set_buckets_for_metric(
                        Matcher::Full(DEADLINE_LATENESS.into()),
                        LATENESS_BUCKETS,
                    )
                })
                .and_then(|b| {
                    b.set_buckets_for_metric(Matcher::Full(RELAY_LATENCY.into()), RELAY_BUCKETS)
                })
                .and_then(|b| b.set_buckets_for_metric(Matcher::Full(WS_RTT.into()), RTT_BUCKETS))
                .and_then(|b| {
                    b.set_buckets_for_metric(Matcher::Full(FORWARD_DURATION.into()), RELAY_BUCKETS)
                })
                .and_then(|b| {
                    b.set_buckets_for_metric(Matcher::Full(LAG_CREDITED.into()), LAG_BUCKETS)
                });
            match builder.and_then(|b| b.install_recorder()) {
                Ok(h) => {
                    describe();
                    h
                }
                // Another recorder is installed (a test harness): keep a private one
                // so /metrics still renders.
                Err(_) => PrometheusBuilder::new()
                    .add_global_label("region", region)
                    .build_recorder()
                    .handle(),
            }
        })
        .clone()
}

/// Gives every metric its `# HELP` line and registers the zeroed counters.
fn describe() {
    for &(name, kind, help) in HELP {
        match kind {
            Counter => metrics::describe_counter!(name, help),
            Gauge => metrics::describe_gauge!(name, help),
            Histogram => metrics::describe_histogram!(name, help),
        }
    }
    for name in ZEROED {
        counter!(*name).absolute(0);
    }
    gauge!(CLOCK_REFUSING).set(0.0);
    gauge!(FENCED).set(0.0);
    for &(name, label, values) in ZEROED_LABELLED {
        for v in values {
            counter!(name, label => *v).absolute(0);
        }
    }
}

/// Prometheus text for `/metrics`.
pub fn render(handle: &PrometheusHandle) -> String {
    if let Some(rss) = resident_memory_bytes() {
        gauge!(RESIDENT_MEMORY).set(rss as f64);
    }
    handle.render()
}

/// Drains histogram samples so memory stays flat between scrapes.
pub async fn upkeep(handle: PrometheusHandle, stop: tokio_util::sync::CancellationToken) {
    let mut every = tokio::time::interval(Duration::from_secs(5));
    loop {
        tokio::select! {
            _ = every.tick() => handle.run_upkeep(),
            _ = stop.cancelled() => return,
        }
    }
}

fn resident_memory_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

pub fn http_request(method: &'static str, route: &'static str, status: u16, ms: f64) {
    trend::global().request(status >= 500);
    counter!(HTTP_REQUESTS, "method" => method, "route" => route, "status_code" => status.to_string())
        .increment(1);
    histogram!(HTTP_DURATION, "method" => method, "route" => route).record(ms);
}

pub fn switch_duration(ms: f64) {
    trend::global().record(Measure::Switch, None, ms);
    histogram!(SWITCH_DURATION).record(ms);
}

pub fn session_created() {
    gauge!(ACTIVE_SESSIONS).increment(1.0);
}

pub fn session_deleted() {
    gauge!(ACTIVE_SESSIONS).decrement(1.0);
}

pub fn ws_connections(delta: f64) {
    gauge!(WS_CONNECTIONS).increment(delta);
}

pub fn ws_slow_consumer_closed() {
    counter!(WS_CLOSED_SLOW).increment(1);
}

pub fn ws_message_in(kind: &'static str) {
    counter!(WS_MESSAGES_IN, "type" => kind).increment(1);
}

pub fn deadline_lateness(ms: f64) {
    trend::global().record(Measure::DeadlineLateness, None, ms);
    counter!(DEADLINES_FIRED).increment(1);
    histogram!(DEADLINE_LATENESS).record(ms);
}

pub fn rate_limiter_unavailable() {
    counter!(RATE_LIMITER_DOWN).increment(1);
}

pub fn rate_limited(bucket: &'static str) {
    counter!(RATE_LIMITED, "bucket" => bucket).increment(1);
}

pub fn audit_backlog(size: f64, age_ms: f64) {
    gauge!(DB_WRITE_QUEUE).set(size);
    gauge!(AUDIT_BACKLOG_AGE).set(age_ms);
}

pub fn audit_written(n: u64) {
    counter!(AUDIT_WRITTEN).increment(n);
}

/// Commit at the home → applied here, per home region.
pub fn relay_latency(home: &str, ms: f64) {
    trend::global().record(Measure::RelayLag, Some(home), ms);
    histogram!(RELAY_LATENCY, "home" => home.to_owned()).record(ms);
}

/// A write forwarded to its home region (`how`: `forward` or `fly-replay`).
pub fn forwarded(home: &str, how: &'static str) {
    counter!(FORWARDED, "home" => home.to_owned(), "how" => how).increment(1);
}

/// This region moved a session's home (`how`: `rehome` or `takeover`).
pub fn ownership_moved(how: &'static str) {
    counter!(OWNERSHIP_MOVES, "how" => how).increment(1);
}

/// A hand-over installed from a forwarded call.
pub fn ownership_learned() {
    counter!(OWNERSHIP_LEARNED).increment(1);
}

/// A re-home's hand-over completed after `ms`.
pub fn handover_duration(ms: f64) {
    histogram!(HANDOVER_DURATION).record(ms);
}

/// Whether this region is fenced now; `newly`: it just lost its lease.
pub fn fenced(on: bool, newly: bool) {
    gauge!(FENCED).set(if on { 1.0 } else { 0.0 });
    if newly {
        counter!(FENCINGS).increment(1);
    }
}

/// This region took over `home`'s sessions.
pub fn takeover(home: &str) {
    counter!(TAKEOVERS, "home" => home.to_owned()).increment(1);
}

/// Writes committed here that a takeover superseded.
pub fn superseded(n: u64) {
    counter!(SUPERSEDED).increment(n);
}

/// A zero-loss write the successor did not confirm.
pub fn not_durable() {
    counter!(NOT_DURABLE).increment(1);
}

/// A session id found created in two regions (the later incarnation is dropped).
pub fn relay_conflict() {
    counter!(RELAY_CONFLICTS).increment(1);
}

/// A chunk of the relay stream from `home` arrived (heartbeats included): a link whose
/// rate drops to 0 is stalled.
pub fn relay_frames(home: &str) {
    counter!(RELAY_FRAMES, "home" => home.to_owned()).increment(1);
}

/// A Redis command of the store failed.
pub fn redis_error() {
    counter!(REDIS_ERRORS).increment(1);
}

/// A write started from a stale copy of its session and went again from the stored one.
pub fn write_start_stale() {
    counter!(WRITE_START_STALE).increment(1);
}

/// Starts the counters of a followed home at 0 (rates and alerts work before the
/// first event), its takeovers by this region included.
pub fn relay_home(home: &str) {
    let h = || home.to_owned();
    for reason in ["undecodable", "oversized", "malformed"] {
        counter!(RELAY_SKIPPED, "home" => h(), "reason" => reason).absolute(0);
    }
    counter!(RELAY_STALLS, "home" => h()).absolute(0);
    counter!(RELAY_ROLLBACKS, "home" => h()).absolute(0);
    counter!(RELAY_GAPS, "home" => h()).absolute(0);
    counter!(TAKEOVERS, "home" => h()).absolute(0);
}

/// What a follower knows of its position in `home`'s log.
pub fn relay_position(home: &str, applied: u64, head: u64, behind_ms: u64) {
    let h = || home.to_owned();
    gauge!(RELAY_APPLIED_SEQ, "home" => h()).set(applied as f64);
    gauge!(RELAY_HEAD_SEQ, "home" => h()).set(head.max(applied) as f64);
    gauge!(RELAY_LAG_ENTRIES, "home" => h()).set(head.saturating_sub(applied) as f64);
    gauge!(RELAY_LAG_MS, "home" => h()).set(behind_ms as f64);
}

/// Whether reads of `home`'s sessions are marked stale while its link is up.
pub fn relay_stale(home: &str, stale: bool) {
    gauge!(RELAY_STALE, "home" => home.to_owned()).set(if stale { 1.0 } else { 0.0 });
}

/// An entry of `home`'s log skipped (`reason`: `undecodable`, `oversized`).
pub fn relay_skipped(home: &str, reason: &'static str) {
    counter!(RELAY_SKIPPED, "home" => home.to_owned(), "reason" => reason).increment(1);
}

pub fn relay_stall(home: &str) {
    counter!(RELAY_STALLS, "home" => home.to_owned()).increment(1);
}

pub fn relay_rollback(home: &str) {
    counter!(RELAY_ROLLBACKS, "home" => home.to_owned()).increment(1);
}

pub fn relay_gap(home: &str) {
    counter!(RELAY_GAPS, "home" => home.to_owned()).increment(1);
}

/// A full catch-up with `home` started (`reason`: why the stream could not go on).
pub fn relay_catchup(home: &str, reason: &'static str) {
    counter!(RELAY_CATCHUPS, "home" => home.to_owned(), "reason" => reason).increment(1);
}

/// A periodic check with `home` ended (`result`: `equal`, `repaired`, `busy`, ...).
pub fn relay_check(home: &str, result: &'static str) {
    counter!(RELAY_CHECKS, "home" => home.to_owned(), "result" => result).increment(1);
}

/// What the last check or catch-up with `home` did.
pub fn relay_check_report(home: &str, ms: f64, compared: u64, repaired: u64, dropped: u64) {
    let h = || home.to_owned();
    gauge!(RELAY_CHECK_MS, "home" => h()).set(ms);
    gauge!(RELAY_CHECK_COMPARED, "home" => h()).set(compared as f64);
    gauge!(RELAY_CHECK_REPAIRED, "home" => h()).set(repaired as f64);
    gauge!(RELAY_CHECK_DROPPED, "home" => h()).set(dropped as f64);
}

/// Entries the commit scripts trimmed from this home's relay log.
pub fn relay_log_trimmed(n: u64) {
    counter!(RELAY_LOG_TRIMMED).increment(n);
}

/// Audit records the commit scripts trimmed from the outbox (lost to the audit trail).
pub fn audit_outbox_dropped(n: u64) {
    counter!(AUDIT_OUTBOX_DROPPED).increment(n);
}

/// This instance's reading of its region's authoritative clock: the system clock's
/// offset to it and the reading's uncertainty, both in ms.
pub fn clock(offset_ms: f64, error_bound_ms: f64) {
    gauge!(CLOCK_OFFSET).set(offset_ms);
    gauge!(CLOCK_ERROR).set(error_bound_ms);
}

/// Whether this instance refuses to act because its clock cannot be trusted.
pub fn clock_refusing(refusing: bool) {
    gauge!(CLOCK_REFUSING).set(if refusing { 1.0 } else { 0.0 });
}

/// A write or deadline claim refused for an untrusted clock (`what`: write, deadline).
pub fn clock_refused(what: &'static str) {
    counter!(CLOCK_REFUSALS, "what" => what).increment(1);
}

/// The estimated clock of `home` relative to this region's (ms), and its uncertainty.
pub fn region_clock(home: &str, offset_ms: f64, error_bound_ms: f64) {
    gauge!(REGION_CLOCK_OFFSET, "home" => home.to_owned()).set(offset_ms);
    gauge!(REGION_CLOCK_ERROR, "home" => home.to_owned()).set(error_bound_ms);
}

/// Lag credited back to a mover (lag-compensated sessions).
pub fn lag_credited(ms: f64) {
    histogram!(LAG_CREDITED).record(ms);
}

/// A token refused (401 or WebSocket 4401), by reason.
pub fn auth_refused(reason: &'static str) {
    counter!(AUTH_REFUSED, "reason" => reason).increment(1);
}

/// A request refused by a quota, by the limit's name.
pub fn quota_refused(limit: &'static str) {
    counter!(QUOTA_REFUSED, "limit" => limit).increment(1);
}

/// Client connections opened (+1) or closed (-1).
pub fn connections_open(delta: f64) {
    gauge!(CONNECTIONS_OPEN).increment(delta);
}

/// A client connection refused at a cap, or closed for a body that did not arrive.
pub fn connection_refused(limit: &'static str) {
    counter!(CONNECTIONS_REFUSED, "limit" => limit).increment(1);
}

/// A WebSocket closed for abuse (`frame_rate`, `message_rate`, `unmasked`).
pub fn ws_abuse_closed(reason: &'static str) {
    counter!(WS_ABUSE_CLOSED, "reason" => reason).increment(1);
}

/// A lookup of a session unknown here (`asked` peers, or `cached` as unknown).
pub fn peer_lookup(outcome: &'static str) {
    counter!(PEER_LOOKUPS, "outcome" => outcome).increment(1);
}

/// A WebSocket protocol ping answered by the client after `ms`.
pub fn ws_rtt(ms: f64) {
    trend::global().record(Measure::ClientRtt, None, ms);
    histogram!(WS_RTT).record(ms);
}

/// A write sent to `home` answered after `ms` (any answer, refusals included).
pub fn forward_duration(home: &str, ms: f64) {
    trend::global().record(Measure::Forward, Some(home), ms);
    histogram!(FORWARD_DURATION, "home" => home.to_owned()).record(ms);
}

/// A WebSocket command answered; `server_error` for a 5xx-class failure (the
/// dashboard's error rate counts them with HTTP requests).
pub fn ws_command(server_error: bool) {
    trend::global().request(server_error);
}
