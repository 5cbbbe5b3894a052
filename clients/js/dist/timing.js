/**
 * "Calculate, don't count": the live remaining time of a participant from the
 * authoritative state and the server's clock, for every sync mode (README "Sync
 * modes", src/domain/deadline.rs `remaining_at`). Pure functions.
 *
 * A pending session with `start_at` starts by itself at that instant (the home's
 * clock): from then on it is computed as the server will store it (running, the first
 * participant active since `start_at`), before the update arrives, so that the start
 * shows at the same instant in every region.
 */
/** Epoch milliseconds of an ISO timestamp, `null` for `null`/absent/unparseable. */
export function parseInstant(iso) {
    if (iso == null)
        return null;
    const ms = Date.parse(iso);
    return Number.isFinite(ms) ? ms : null;
}
/**
 * Indices of the participants whose clock is the same budget as participant `idx`'s:
 * everyone in `global`, the group members in `per_group`, else only `idx`.
 */
export function sharers(state, idx) {
    const ps = state.participants;
    if (state.sync_mode === 'global')
        return ps.map((_, i) => i);
    if (state.sync_mode === 'per_group') {
        const g = ps[idx]?.group_id;
        if (g !== undefined) {
            const out = [];
            ps.forEach((p, i) => {
                if (p.group_id === g)
                    out.push(i);
            });
            return out;
        }
    }
    return [idx];
}
export function indexOf(state, participantId) {
    return state.participants.findIndex((p) => p.participant_id === participantId);
}
/** The active participant's id, or `null` (pending, finished, nobody active). */
export function activeParticipantId(state, serverNow) {
    if (state && serverNow !== undefined)
        return projected(state, serverNow).active_participant_id ?? null;
    return state?.active_participant_id ?? null;
}
/** The scheduled start (server epoch ms) of a pending session, else `null`. */
export function startsAt(state) {
    return state.status === 'pending' ? parseInstant(state.start_at) : null;
}
/**
 * The state as the server will have it at `serverNow`: a pending session whose
 * `start_at` has come is running, its first participant (array order) active since
 * `start_at`. Any other state is returned as is.
 */
export function projected(state, serverNow) {
    const at = startsAt(state);
    const first = state.participants[0];
    if (at === null || serverNow < at || !first)
        return state;
    return {
        ...state,
        status: 'running',
        active_participant_id: first.participant_id,
        cycle_started_at: state.start_at ?? null,
        session_started_at: state.start_at ?? null,
        participants: state.participants.map((p, i) => ({ ...p, is_active: i === 0 })),
    };
}
/**
 * When participant `idx`'s clock is running: the start of the running cycle (server
 * epoch ms). `null` while frozen (pending, paused, finished, or another budget runs).
 */
export function runningSince(state, idx) {
    if (state.status !== 'running')
        return null;
    const started = parseInstant(state.cycle_started_at);
    if (started === null || state.active_participant_id == null)
        return null;
    const active = indexOf(state, state.active_participant_id);
    if (active < 0)
        return null;
    return sharers(state, active).includes(idx) ? started : null;
}
/**
 * Live remaining time of a participant at `serverNow` (server epoch ms):
 * `total_time_ms − (serverNow − cycle_started_at)` while its budget runs, the stored
 * `total_time_ms` otherwise; never negative. In `count_up`, `total_time_ms` is what is
 * left to the cap, so the same formula holds. Unknown participant → `NaN`.
 */
export function remainingAt(state, participantId, serverNow) {
    state = projected(state, serverNow);
    const idx = indexOf(state, participantId);
    if (idx < 0)
        return Number.NaN;
    const p = state.participants[idx];
    const since = runningSince(state, idx);
    if (since === null)
        return Math.max(0, p.total_time_ms);
    return Math.max(0, p.total_time_ms - Math.max(0, serverNow - since));
}
/**
 * Live time used by a participant at `serverNow`: `time_used_ms` plus, for the active
 * participant while running, the running cycle's elapsed time up to what its budget
 * holds (the server never charges beyond the budget). A `count_up` stopwatch shows this.
 */
export function usedAt(state, participantId, serverNow) {
    state = projected(state, serverNow);
    const idx = indexOf(state, participantId);
    if (idx < 0)
        return Number.NaN;
    const p = state.participants[idx];
    const active = state.active_participant_id === participantId;
    const since = runningSince(state, idx);
    if (!active || since === null)
        return p.time_used_ms;
    return p.time_used_ms + Math.min(p.total_time_ms, Math.max(0, serverNow - since));
}
/**
 * The server epoch ms at which the active participant's budget runs out, or `null`
 * when no clock is running.
 */
export function expiresAt(state) {
    const id = state.active_participant_id;
    if (id == null)
        return null;
    const idx = indexOf(state, id);
    if (idx < 0)
        return null;
    const since = runningSince(state, idx);
    if (since === null)
        return null;
    return since + state.participants[idx].total_time_ms;
}
export function stampOf(state) {
    return [parseInstant(state.created_at) ?? 0, state.version];
}
/** < 0 when `a` is older than `b`, 0 when equal, > 0 when newer. */
export function compareStamps(a, b) {
    return a[0] !== b[0] ? a[0] - b[0] : a[1] - b[1];
}
/** Whether `next` should replace `current` (strictly newer; anything beats nothing). */
export function isNewer(next, current) {
    if (!current)
        return true;
    return compareStamps(stampOf(next), stampOf(current)) > 0;
}
