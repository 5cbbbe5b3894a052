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
import type { SessionState } from './types.js';
/** Epoch milliseconds of an ISO timestamp, `null` for `null`/absent/unparseable. */
export declare function parseInstant(iso: string | null | undefined): number | null;
/**
 * Indices of the participants whose clock is the same budget as participant `idx`'s:
 * everyone in `global`, the group members in `per_group`, else only `idx`.
 */
export declare function sharers(state: SessionState, idx: number): number[];
export declare function indexOf(state: SessionState, participantId: string): number;
/** The active participant's id, or `null` (pending, finished, nobody active). */
export declare function activeParticipantId(state: SessionState | null | undefined, serverNow?: number): string | null;
/** The scheduled start (server epoch ms) of a pending session, else `null`. */
export declare function startsAt(state: SessionState): number | null;
/**
 * The state as the server will have it at `serverNow`: a pending session whose
 * `start_at` has come is running, its first participant (array order) active since
 * `start_at`. Any other state is returned as is.
 */
export declare function projected(state: SessionState, serverNow: number): SessionState;
/**
 * When participant `idx`'s clock is running: the start of the running cycle (server
 * epoch ms). `null` while frozen (pending, paused, finished, or another budget runs).
 */
export declare function runningSince(state: SessionState, idx: number): number | null;
/**
 * Live remaining time of a participant at `serverNow` (server epoch ms):
 * `total_time_ms − (serverNow − cycle_started_at)` while its budget runs, the stored
 * `total_time_ms` otherwise; never negative. In `count_up`, `total_time_ms` is what is
 * left to the cap, so the same formula holds. Unknown participant → `NaN`.
 */
export declare function remainingAt(state: SessionState, participantId: string, serverNow: number): number;
/**
 * Live time used by a participant at `serverNow`: `time_used_ms` plus, for the active
 * participant while running, the running cycle's elapsed time up to what its budget
 * holds (the server never charges beyond the budget). A `count_up` stopwatch shows this.
 */
export declare function usedAt(state: SessionState, participantId: string, serverNow: number): number;
/**
 * The server epoch ms at which the active participant's budget runs out, or `null`
 * when no clock is running.
 */
export declare function expiresAt(state: SessionState): number | null;
/**
 * How the server orders states of one session id (`Session::stamp`): a newer
 * incarnation (created later, after a delete and re-create) outranks every version of
 * an older one; within an incarnation, `version` decides.
 */
export type Stamp = readonly [createdAt: number, version: number];
export declare function stampOf(state: SessionState): Stamp;
/** < 0 when `a` is older than `b`, 0 when equal, > 0 when newer. */
export declare function compareStamps(a: Stamp, b: Stamp): number;
/** Whether `next` should replace `current` (strictly newer; anything beats nothing). */
export declare function isNewer(next: SessionState, current: SessionState | null | undefined): boolean;
