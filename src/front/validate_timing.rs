//! The create body's timing extensions: `lag_compensation` (opt-in, `true` for the
//! defaults or a policy object) and `start_at` (a synchronized start: ISO 8601 with a
//! UTC offset, or epoch milliseconds), with the same issue format as `validate`, and
//! the whole create body (v2 fields plus these) with every issue reported at once.
//!
//! Must not: check the instant against the clock (the domain does, at the home).

use serde_json::Value;

use super::validate;
use super::validate_field::{expected, int_in, present, Issues};
use crate::domain::create::{MAX_LAG_BUDGET_MS, MAX_LAG_PER_MOVE_MS};
use crate::domain::iso::parse_iso;
use crate::domain::{FieldIssue, LagPolicy, Millis, NewSession};

/// `POST /v1/sessions`: the v2 fields (`validate::create_session`) and the timing
/// extensions.
pub fn create_session(body: &Value) -> Result<NewSession, Issues> {
    let mut out = Vec::new();
    let req = validate::create_session(body).map_err(|issues| out.extend(issues));
    let mut lag = None;
    let mut start_at = None;
    if let Some(o) = body.as_object() {
        lag = o
            .get("lag_compensation")
            .and_then(|v| lag_compensation(v, &mut out))
            .flatten();
        start_at = present(o, "start_at", "start_at", false, "string", &mut out)
            .and_then(|v| instant(v, "start_at", &mut out));
    }
    match req {
        Ok(mut req) if out.is_empty() => {
            req.lag_compensation = lag;
            req.start_at = start_at;
            Ok(req)
        }
        _ => Err(out),
    }
}

/// `lag_compensation` (extension): `true` (the defaults), `false` (off), or
/// `{"max_per_move_ms": 0..=5000, "budget_ms": 0..=600000}` (each optional).
fn lag_compensation(v: &Value, out: &mut Issues) -> Option<Option<LagPolicy>> {
    let field = "lag_compensation";
    match v {
        Value::Bool(false) => Some(None),
        Value::Bool(true) => Some(Some(LagPolicy::DEFAULT)),
        Value::Object(o) => {
            let mut get = |key: &str, max: u64, dflt: u64| {
                let f = format!("{field}.{key}");
                match present(o, key, &f, false, "number", out) {
                    Some(v) => int_in(v, &f, 0, max, key, out),
                    None => Some(dflt),
                }
            };
            let per_move = get(
                "max_per_move_ms",
                MAX_LAG_PER_MOVE_MS,
                LagPolicy::DEFAULT.max_per_move_ms,
            );
            let budget = get("budget_ms", MAX_LAG_BUDGET_MS, LagPolicy::DEFAULT.budget_ms);
            Some(Some(LagPolicy {
                max_per_move_ms: per_move?,
                budget_ms: budget?,
            }))
        }
        other => {
            out.push(expected(field, "boolean or object", Some(other)));
            None
        }
    }
}

/// An instant: ISO 8601 text with `Z` or an offset, or epoch milliseconds.
fn instant(v: &Value, field: &str, out: &mut Issues) -> Option<Millis> {
    let parsed = match v {
        Value::String(s) => parse_iso(s),
        Value::Number(n) => n.as_i64().filter(|&ms| ms > 0),
        _ => None,
    };
    if parsed.is_none() {
        out.push(FieldIssue::new(
            field,
            "invalid_format",
            format!("Invalid {field}: expected an ISO 8601 instant with a UTC offset (2030-01-01T12:00:00.000Z) or epoch milliseconds"),
        ));
    }
    parsed
}
