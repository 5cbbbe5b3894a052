//! The field checks every request body shares, with v2's (zod's) issue format: a
//! value's JSON type, presence (`null` for an optional field is refused), integers in
//! a range (`1000.0` counts as an integer, as in JavaScript), UUIDs, an object at the
//! root.
//!
//! Owns: one field's check and its issue text. Must not: know a request's shape
//! (`validate`, `validate_timing` do).

use serde_json::{Map, Value};

use crate::domain::uuid::is_strict_uuid;
use crate::domain::FieldIssue;

pub(super) type Issues = Vec<FieldIssue>;

fn type_name(v: Option<&Value>) -> &'static str {
    match v {
        None => "undefined",
        Some(Value::Null) => "null",
        Some(Value::Bool(_)) => "boolean",
        Some(Value::Number(_)) => "number",
        Some(Value::String(_)) => "string",
        Some(Value::Array(_)) => "array",
        Some(Value::Object(_)) => "object",
    }
}

pub(super) fn expected(field: &str, what: &str, v: Option<&Value>) -> FieldIssue {
    FieldIssue::new(
        field,
        "invalid_type",
        format!("Invalid input: expected {what}, received {}", type_name(v)),
    )
}

/// A present, non-null value, or an issue (`required` decides about absence).
pub(super) fn present<'a>(
    o: &'a Map<String, Value>,
    key: &str,
    field: &str,
    required: bool,
    what: &str,
    out: &mut Issues,
) -> Option<&'a Value> {
    match o.get(key) {
        None if !required => None,
        Some(v) if !v.is_null() => Some(v),
        v => {
            out.push(expected(field, what, v));
            None
        }
    }
}

/// An integer in `[min, max]` (`1000.0` counts as an integer, as in JavaScript).
pub(super) fn int_in(
    v: &Value,
    field: &str,
    min: u64,
    max: u64,
    label: &str,
    out: &mut Issues,
) -> Option<u64> {
    let n = match v {
        Value::Number(n) => n
            .as_u64()
            .map(|u| u as f64)
            .or_else(|| n.as_i64().map(|i| i as f64))
            .or_else(|| n.as_f64()),
        _ => None,
    };
    let Some(n) = n else {
        out.push(expected(field, "number", Some(v)));
        return None;
    };
    if n.fract() != 0.0 || !n.is_finite() {
        out.push(FieldIssue::new(
            field,
            "invalid_type",
            "Invalid input: expected int, received number",
        ));
        return None;
    }
    if n < min as f64 {
        out.push(FieldIssue::new(
            field,
            "too_small",
            format!("{label} must be at least {min}"),
        ));
        return None;
    }
    if n > max as f64 {
        out.push(FieldIssue::new(
            field,
            "too_big",
            format!("{label} must be at most {max}"),
        ));
        return None;
    }
    Some(n as u64)
}

pub(super) fn uuid(v: &Value, field: &str, label: &str, out: &mut Issues) -> Option<String> {
    match v.as_str() {
        Some(s) if is_strict_uuid(s) => Some(s.to_owned()),
        Some(_) => {
            out.push(FieldIssue::new(
                field,
                "invalid_format",
                format!("Invalid {label} format (expected a UUID)"),
            ));
            None
        }
        None => {
            out.push(expected(field, "string", Some(v)));
            None
        }
    }
}

pub(super) fn root<'a>(body: &'a Value, out: &mut Issues) -> Option<&'a Map<String, Value>> {
    let o = body.as_object();
    if o.is_none() {
        out.push(expected("", "object", Some(body)));
    }
    o
}
