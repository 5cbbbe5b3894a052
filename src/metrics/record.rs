//! Recording: one function per event the server reports (counters, gauges,
//! histograms, and the dashboard's trend series where it keeps one). Must not: name a
//! metric (`names.rs` does) or render (`mod.rs`).

use metrics::{counter, gauge, histogram};

use super::names::*;
use crate::trend::series::{self as trend, Measure};

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

/// `outcome`: `whole`, `partial` or `full` (see the metric's help).
pub fn ws_direct_write(outcome: &'static str) {
    counter!(WS_DIRECT_WRITES, "outcome" => outcome).increment(1);
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
