/**
 * Wire types: the session state and the WebSocket messages as the server sends them
 * (CONTRACT.md, README "Extensions"). Unknown fields are kept as they come.
 */
export type SyncMode = 'per_participant' | 'per_cycle' | 'per_group' | 'global' | 'count_up';
export type SessionStatus = 'pending' | 'running' | 'paused' | 'expired' | 'completed' | 'cancelled';
export type TimeoutAction = 'continue' | 'skip' | 'end';
export interface Participant {
    participant_id: string;
    participant_index: number;
    /** Remaining budget at the start of the current cycle (the contract's name). */
    total_time_ms: number;
    time_used_ms: number;
    /** A snapshot copy of `total_time_ms`; not live. */
    time_remaining_ms: number;
    cycle_count: number;
    is_active: boolean;
    has_expired: boolean;
    group_id?: string;
    /** Lag-compensated sessions only: transit time credited back to this participant's moves so far. */
    lag_credited_ms?: number;
}
/** Opt-in lag compensation of a session (server-measured transit credited back to the mover). */
export interface LagCompensation {
    /** Most credited for one move. */
    max_per_move_ms: number;
    /** Most credited per participant for the whole session. */
    budget_ms: number;
}
/** `SyncState`: timestamps are ISO 8601 strings ending in `Z`. */
export interface SessionState {
    session_id: string;
    sync_mode: SyncMode;
    status: SessionStatus;
    version: number;
    participants: Participant[];
    active_participant_id: string | null;
    total_time_ms: number;
    time_per_cycle_ms: number | null;
    cycle_started_at: string | null;
    session_started_at: string | null;
    session_completed_at: string | null;
    increment_ms: number;
    max_time_ms?: number;
    created_at: string;
    updated_at: string;
    action_on_timeout?: TimeoutAction;
    warning_thresholds_ms?: number[];
    home_region?: string;
    /** Present when the session compensates lag. */
    lag_compensation?: LagCompensation;
    /** Synchronized start: the pending session starts by itself at this instant (home's clock). */
    start_at?: string;
}
/** `TIME_EXPIRED` (server → client), followed by the resulting `STATE_UPDATE`. */
export interface TimeExpiredMessage {
    type: 'TIME_EXPIRED';
    sessionId: string;
    timestamp: number;
    participantId: string;
    /** Server epoch ms at which the budget ran out. */
    expiredAt: number;
    action: TimeoutAction;
    version: number;
}
/** `TIME_WARNING` (server → client), followed by the resulting `STATE_UPDATE`. */
export interface TimeWarningMessage {
    type: 'TIME_WARNING';
    sessionId: string;
    timestamp: number;
    participantId: string;
    thresholdMs: number;
    remainingMs: number;
    /** Server epoch ms of the crossing. */
    at: number;
    version: number;
}
/** Operations a client can ask for. */
export type Op = 'start' | 'switch' | 'pause' | 'resume' | 'complete';
export interface CommandResult {
    op: Op;
    /** The stored version after the command. */
    version: number;
    /** How the command travelled. */
    via: 'ws' | 'rest';
    /** The full state when the answer carried one (REST start/pause/resume/complete). */
    state?: SessionState;
}
export interface SwitchOptions {
    /** The participant who gets the turn (default: the next one in array order). */
    next?: string;
    /**
     * The switch applies only while this participant is active (409 otherwise): guards
     * against a double tap passing two turns. Default: the locally known active
     * participant; `null` sends no guard.
     */
    current?: string | null;
}
