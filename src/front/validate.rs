//! Request validation with v2's rules and zod-like issues (`field` path joined with
//! `.`, `message`, `code`), every issue reported at once. Unknown keys are ignored;
//! `null` for an optional field is refused (zod `.optional()` semantics).
//!
//! Owns: JSON → typed requests (one field's check is `validate_field`'s). Must not:
//! apply cross-field domain rules (`domain::create` does: duplicates, per-mode
//! requirements).

use serde_json::Value;

use super::validate_field::{expected, int_in, present, root, uuid, Issues};
use crate::domain::create::{
    MAX_BUDGET_MS, MAX_INCREMENT_MS, MAX_PARTICIPANTS, MAX_PARTICIPANT_INDEX,
    MAX_WARNING_THRESHOLDS, MIN_BUDGET_MS,
};
use crate::domain::uuid::is_strict_uuid;
use crate::domain::{
    FieldIssue, NewParticipant, NewSession, ParticipantId, PausePolicy, RegionId, SessionId,
    SyncMode, TimeoutAction,
};

const TOTAL_TIME: &str = "Total time";

fn participant(v: &Value, i: usize, out: &mut Issues) -> Option<NewParticipant> {
    let base = format!("participants.{i}");
    let Some(o) = v.as_object() else {
        out.push(expected(&base, "object", Some(v)));
        return None;
    };
    let f = |k: &str| format!("{base}.{k}");
    let id = present(
        o,
        "participant_id",
        &f("participant_id"),
        true,
        "string",
        out,
    )
    .and_then(|v| uuid(v, &f("participant_id"), "participant_id", out));
    let index = present(
        o,
        "participant_index",
        &f("participant_index"),
        true,
        "number",
        out,
    )
    .and_then(|v| {
        int_in(
            v,
            &f("participant_index"),
            0,
            MAX_PARTICIPANT_INDEX,
            "participant_index",
            out,
        )
    });
    let total =
        present(o, "total_time_ms", &f("total_time_ms"), true, "number", out).and_then(|v| {
            let r = int_in(
                v,
                &f("total_time_ms"),
                MIN_BUDGET_MS,
                MAX_BUDGET_MS,
                TOTAL_TIME,
                out,
            );
            if r.is_none() {
                if let Some(last) = out.last_mut().filter(|l| l.code == "too_small") {
                    last.message = "Total time must be at least 1000ms (1 second)".into();
                }
            }
            r
        });
    let group = present(o, "group_id", &f("group_id"), false, "string", out)
        .map(|v| uuid(v, &f("group_id"), "group_id", out));
    Some(NewParticipant {
        participant_id: id?.into(),
        participant_index: index? as u32,
        total_time_ms: total?,
        group_id: match group {
            Some(g) => Some(g?),
            None => None,
        },
    })
}

/// `POST /v1/sessions`.
pub fn create_session(body: &Value) -> Result<NewSession, Issues> {
    let mut out = Vec::new();
    let Some(o) = root(body, &mut out) else {
        return Err(out);
    };
    let session_id = present(o, "session_id", "session_id", true, "string", &mut out)
        .and_then(|v| uuid(v, "session_id", "session_id", &mut out));
    let sync_mode = present(o, "sync_mode", "sync_mode", true, "string", &mut out).and_then(|v| {
        let m = v.as_str().and_then(SyncMode::parse);
        if m.is_none() {
            out.push(FieldIssue::new(
                "sync_mode",
                "invalid_value",
                "Invalid sync mode. Must be one of: per_participant, per_cycle, per_group, global, count_up",
            ));
        }
        m
    });
    let participants = present(o, "participants", "participants", true, "array", &mut out)
        .and_then(|v| {
            let Some(arr) = v.as_array() else {
                out.push(expected("participants", "array", Some(v)));
                return None;
            };
            if arr.is_empty() {
                out.push(FieldIssue::new(
                    "participants",
                    "too_small",
                    "At least one participant is required",
                ));
                return None;
            }
            if arr.len() > MAX_PARTICIPANTS {
                out.push(FieldIssue::new(
                    "participants",
                    "too_big",
                    format!("At most {MAX_PARTICIPANTS} participants are allowed"),
                ));
                return None;
            }
            let ps: Vec<_> = arr
                .iter()
                .enumerate()
                .map(|(i, p)| participant(p, i, &mut out))
                .collect();
            ps.into_iter().collect::<Option<Vec<_>>>()
        });
    let budget = |key: &str, required: bool, out: &mut Issues| {
        present(o, key, key, required, "number", out)
            .map(|v| int_in(v, key, MIN_BUDGET_MS, MAX_BUDGET_MS, key, out))
    };
    let total_time_ms = budget("total_time_ms", true, &mut out).flatten();
    let time_per_cycle_ms = budget("time_per_cycle_ms", false, &mut out);
    let max_time_ms = budget("max_time_ms", false, &mut out);
    let increment_ms =
        present(o, "increment_ms", "increment_ms", false, "number", &mut out).map(|v| {
            int_in(
                v,
                "increment_ms",
                0,
                MAX_INCREMENT_MS,
                "increment_ms",
                &mut out,
            )
        });
    if let Some(v) = present(o, "metadata", "metadata", false, "object", &mut out) {
        if !v.is_object() {
            out.push(expected("metadata", "object", Some(v)));
        }
    }
    let action = present(
        o,
        "action_on_timeout",
        "action_on_timeout",
        false,
        "string",
        &mut out,
    )
    .map(|v| {
        let a = v.as_str().and_then(TimeoutAction::parse);
        if a.is_none() {
            out.push(FieldIssue::new(
                "action_on_timeout",
                "invalid_value",
                "Invalid action_on_timeout. Must be one of: continue, skip, end",
            ));
        }
        a
    });
    let pause_policy = present(o, "pause_policy", "pause_policy", false, "string", &mut out).map(
        |v| {
            let p = v.as_str().and_then(PausePolicy::parse);
            if p.is_none() {
                out.push(FieldIssue::new(
                    "pause_policy",
                    "invalid_value",
                    "Invalid pause_policy. Must be one of: service, active_participant, any_participant",
                ));
            }
            p
        },
    );
    let durability = present(o, "durability", "durability", false, "string", &mut out).map(|v| {
        let d = match v.as_str() {
            Some("zero_loss") => Some(true),
            Some("local") => Some(false),
            _ => None,
        };
        if d.is_none() {
            out.push(FieldIssue::new(
                "durability",
                "invalid_value",
                "Invalid durability. Must be one of: local, zero_loss",
            ));
        }
        d
    });
    let thresholds = present(
        o,
        "warning_thresholds_ms",
        "warning_thresholds_ms",
        false,
        "array",
        &mut out,
    )
    .map(|v| thresholds(v, &mut out));
    if !out.is_empty() {
        return Err(out);
    }
    // Every value below was checked above; an absent one would have added an issue.
    let (Some(session_id), Some(sync_mode), Some(participants), Some(total_time_ms)) =
        (session_id, sync_mode, participants, total_time_ms)
    else {
        return Err(vec![FieldIssue::new(
            "",
            "custom",
            "Request validation failed",
        )]);
    };
    Ok(NewSession {
        session_id: session_id.into(),
        sync_mode,
        participants,
        total_time_ms,
        time_per_cycle_ms: time_per_cycle_ms.flatten(),
        increment_ms: increment_ms.flatten().unwrap_or(0),
        max_time_ms: max_time_ms.flatten(),
        action_on_timeout: action.flatten().unwrap_or_default(),
        warning_thresholds_ms: thresholds.flatten().unwrap_or_default(),
        pause_policy: pause_policy.flatten().unwrap_or_default(),
        // The timing extensions: `validate_timing`.
        lag_compensation: None,
        start_at: None,
        zero_loss: durability.flatten(),
    })
}

fn thresholds(v: &Value, out: &mut Issues) -> Option<Vec<u64>> {
    let field = "warning_thresholds_ms";
    let Some(arr) = v.as_array() else {
        out.push(expected(field, "array", Some(v)));
        return None;
    };
    if arr.len() > MAX_WARNING_THRESHOLDS {
        out.push(FieldIssue::new(
            field,
            "too_big",
            format!("At most {MAX_WARNING_THRESHOLDS} thresholds are allowed"),
        ));
        return None;
    }
    arr.iter()
        .enumerate()
        .map(|(i, t)| {
            int_in(
                t,
                &format!("{field}.{i}"),
                1,
                MAX_BUDGET_MS,
                "A warning threshold",
                out,
            )
        })
        .collect()
}

/// `POST /v1/sessions/:id/switch` body: `{}` or `{"next_participant_id": uuid}`, plus
/// the extension `current_participant_id` (apply only while that one is active).
pub fn switch_body(body: &Value) -> Result<(Option<ParticipantId>, Option<ParticipantId>), Issues> {
    let mut out = Vec::new();
    let Some(o) = root(body, &mut out) else {
        return Err(out);
    };
    let id = |key: &str, out: &mut Issues| {
        present(o, key, key, false, "string", out).and_then(|v| uuid(v, key, key, out))
    };
    let next = id("next_participant_id", &mut out);
    let current = id("current_participant_id", &mut out);
    if out.is_empty() {
        Ok((next.map(Into::into), current.map(Into::into)))
    } else {
        Err(out)
    }
}

/// The `:id` path parameter.
pub fn session_id_param(id: &str) -> Result<SessionId, Issues> {
    if is_strict_uuid(id) {
        Ok(SessionId::from(id))
    } else {
        Err(vec![FieldIssue::new(
            "id",
            "invalid_format",
            "Invalid session ID format (expected a UUID)",
        )])
    }
}

/// The optional `home_region` of a create body (extension): one of the deployment's
/// regions (this one when single-region).
pub fn home_region(body: &Value, cfg: &crate::config::Config) -> Result<Option<RegionId>, Issues> {
    let Some(v) = body.get("home_region") else {
        return Ok(None);
    };
    let known: Vec<&str> = if cfg.multi_region() {
        cfg.cluster.regions.iter().map(String::as_str).collect()
    } else {
        vec![cfg.region.as_str()]
    };
    match v.as_str() {
        Some(r) if known.contains(&r) => Ok(Some(r.into())),
        Some(r) => Err(vec![FieldIssue::new(
            "home_region",
            "invalid_value",
            format!("Unknown region {r:?}; known regions: {}", known.join(", ")),
        )]),
        None => Err(vec![expected("home_region", "string", Some(v))]),
    }
}
