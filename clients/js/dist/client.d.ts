/**
 * `SyncKairosClient`: one session, seen from a player's device.
 *
 * - picks the nearest of several region URLs (lowest `/v1/time` round trip), subscribes
 *   over `/ws?sessionId=`, and on every (re)connect asks for the state (`RECONNECT` →
 *   `STATE_SYNC`); reconnects with exponential backoff and jitter, and moves to another
 *   region after repeated failures;
 * - applies a state only if it is newer (`created_at`, then `version`: a deleted and
 *   re-created session starts at version 1 again but outranks the old one);
 * - estimates the server clock from `PING`/`PONG` (see `ClockSync`) and computes the
 *   live remaining time from the state; `onTick` delivers it at display rate. The
 *   clock is the session's home region's: a server elsewhere answers in the home's
 *   timebase (`PONG.timebase`, `/v1/time?sessionId=`) with its own uncertainty
 *   (`timebase_error_ms`) added to the bound; the estimate restarts when the timebase
 *   changes;
 * - sends commands over the socket (`requestId` → `ACK`/`ERROR`) or over REST.
 */
import { type BackoffOptions } from './backoff.js';
import { type ClockEstimate, type ClockSyncOptions } from './clock.js';
import { type Env, type FetchLike, type WebSocketConstructor } from './env.js';
import { SyncKairosError } from './errors.js';
import { type ProbeOptions, type ProbeResult } from './regions.js';
import type { CommandResult, SessionState, SwitchOptions, TimeExpiredMessage, TimeWarningMessage } from './types.js';
export interface ClockOptions extends ClockSyncOptions {
    /** Pings sent right after connecting, `burstGapMs` apart. Default 8. */
    burst?: number;
    /** Gap between burst pings. Default 50 ms (the server allows 50 messages/s per connection). */
    burstGapMs?: number;
    /** Then one ping every `intervalMs`. Default 2000 ms. */
    intervalMs?: number;
    /** A ping unanswered this long means the connection is dead: reconnect. Default 10 000 ms. */
    pongTimeoutMs?: number;
}
export interface ReconnectOptions extends BackoffOptions {
    /** Failed connection attempts in a row after which the regions are probed again. Default 2. */
    regionFailures?: number;
}
export type Token = string | (() => string | Promise<string>);
export interface SyncKairosOptions {
    /** Region base URLs (`https://iad.example.com`); the nearest is used. */
    urls: string | string[];
    sessionId: string;
    /** Sent as `Authorization: Bearer` on REST and `?token=` on the WebSocket URL. */
    token?: Token;
    /** WebSocket implementation (required where there is no global one, e.g. Node 18/20: `ws`). */
    WebSocket?: WebSocketConstructor;
    /** `fetch` implementation (default the global one). */
    fetch?: FetchLike;
    /** How commands travel by default. `ws` falls back to REST while the socket is down. Default `ws`. */
    commands?: 'ws' | 'rest';
    /** Default 5000 ms. */
    commandTimeoutMs?: number;
    /** Socket open + `CONNECTED` deadline. Default 5000 ms. */
    connectTimeoutMs?: number;
    clock?: ClockOptions;
    reconnect?: ReconnectOptions;
    probe?: ProbeOptions;
    /** `onTick` period where there is no `requestAnimationFrame` (Node). Default 16 ms. */
    tickIntervalMs?: number;
    /** Clock, timers, frames, randomness (tests inject fakes). */
    env?: Partial<Env>;
}
/** What `onTick` delivers, once per displayed frame. */
export interface TickFrame {
    /** Client clock of this frame. */
    at: number;
    /** The server time the frame shows (never goes backwards). */
    serverNow: number;
    /** The frame's values are within this of the truth (clock estimate, plus any hold). */
    errorBound: number;
    offset: number;
    state: SessionState | null;
    version: number | null;
    activeParticipant: string | null;
    /** Live remaining time per participant id (never negative). */
    remaining: Record<string, number>;
    /** A scheduled start (`start_at`) still ahead: ms until it (server time), else `null`. */
    startsInMs: number | null;
}
export interface DisconnectInfo {
    code: number;
    reason: string;
    /** Delay before the next attempt, or `null` when the client stops (terminal close, `close()`). */
    reconnectInMs: number | null;
}
export interface SyncKairosEvents {
    /** A newer state was applied. */
    state: (state: SessionState, previous: SessionState | null) => void;
    /** `TIME_EXPIRED` from the server (the resulting state follows). */
    expired: (msg: TimeExpiredMessage) => void;
    /** `TIME_WARNING` from the server (the resulting state follows). */
    warning: (msg: TimeWarningMessage) => void;
    /** The session was deleted (the client stops). */
    deleted: () => void;
    /** Subscribed (after `CONNECTED`) to `url`. */
    connected: (info: {
        url: string;
    }) => void;
    disconnected: (info: DisconnectInfo) => void;
    /** The clock estimate took a new sample. */
    sync: (estimate: ClockEstimate) => void;
    /** Errors not tied to a command (e.g. `SESSION_NOT_FOUND`, a terminal close). */
    error: (err: SyncKairosError) => void;
}
export declare class SyncKairosClient {
    readonly sessionId: string;
    readonly urls: readonly string[];
    private readonly env;
    private readonly opts;
    private readonly clock;
    private readonly WS;
    private readonly fetchImpl;
    private readonly listeners;
    private current;
    private url;
    private ws;
    private subscribed;
    private started;
    private closed;
    private deleted;
    private attempt;
    private regionFailures;
    private syncedOnSocket;
    private timers;
    private pings;
    /** The region whose clock the estimate is of (`PONG.timebase`), when the server says. */
    private timebase;
    private pingsOnSocket;
    private readonly pending;
    private requestSeq;
    private readonly requestPrefix;
    private shown;
    private readonly tickListeners;
    private tickHandle;
    private tickIsFrame;
    private firstSync;
    /** The last probe results (nearest first), for diagnostics. */
    lastProbe: ProbeResult[];
    constructor(opts: SyncKairosOptions);
    /**
     * Starts (once) and resolves with the first state received (`null` when the session
     * does not exist yet: the client stays subscribed and applies it when it is created).
     * Rejects only on a terminal failure (no WebSocket implementation, a refused
     * `sessionId`, `close()`).
     */
    connect(): Promise<SessionState | null>;
    /** Stops everything: socket, timers, ticks; pending commands are rejected with `CLOSED`. */
    close(): void;
    /** Whether the socket is open and subscribed. */
    get connected(): boolean;
    /** The region URL in use (or last used). */
    get regionUrl(): string | null;
    /** The newest state applied (`null` before the first, or after deletion). */
    get state(): SessionState | null;
    get version(): number | null;
    /** The active participant (a scheduled start that has come counts as started). */
    get activeParticipant(): string | null;
    /** The region whose clock `offset` is of (the session's home, once a server said), or `null`. */
    get clockRegion(): string | null;
    /** The clock estimate now (`null` before the first sample). */
    clockEstimate(): ClockEstimate | null;
    /** server clock − client clock (ms; 0 before the first sample). */
    get offset(): number;
    /** ± bound on `offset` (ms; `Infinity` before the first sample). */
    get errorBound(): number;
    /**
     * The server's clock now, as shown: never goes backwards. When a new estimate puts
     * it earlier than a value already shown, by no more than the two estimates' bounds
     * together, the shown time holds still until the estimate catches up; a larger
     * contradiction (a clock step) is followed at once.
     */
    serverNow(): number;
    /** Live remaining time (ms, ≥ 0) of a participant (default: the active one); `NaN` if unknown. */
    remainingMs(participantId?: string | null, serverNow?: number): number;
    /** Live time used (ms) of a participant (a `count_up` stopwatch); `NaN` if unknown. */
    usedMs(participantId?: string | null, serverNow?: number): number;
    /** One frame's values, computed now. */
    frame(): TickFrame;
    /**
     * Calls `cb` at display rate (`requestAnimationFrame` in browsers, a timer elsewhere)
     * with the live values. Returns the unsubscribe function.
     */
    onTick(cb: (frame: TickFrame) => void): () => void;
    on<K extends keyof SyncKairosEvents>(event: K, cb: SyncKairosEvents[K]): () => void;
    off<K extends keyof SyncKairosEvents>(event: K, cb: SyncKairosEvents[K]): void;
    start(via?: 'ws' | 'rest'): Promise<CommandResult>;
    /** Passes the turn (see `SwitchOptions`: by default guarded by the locally known active participant). */
    switch(opts?: SwitchOptions, via?: 'ws' | 'rest'): Promise<CommandResult>;
    pause(via?: 'ws' | 'rest'): Promise<CommandResult>;
    resume(via?: 'ws' | 'rest'): Promise<CommandResult>;
    complete(via?: 'ws' | 'rest'): Promise<CommandResult>;
    private command;
    private wsCommand;
    private restCommand;
    private token;
    private open;
    /** The region to connect to: the current one unless it keeps failing, else the nearest. */
    private chooseRegion;
    private nextRegion;
    private useRegion;
    private onMessage;
    private onSynced;
    /** Applies `state` if it is newer than the current one. Returns whether it was applied. */
    applyState(state: SessionState): boolean;
    private onAnswer;
    private sendPing;
    private onPong;
    /**
     * Answers in another region's clock than the samples so far (the server learnt the
     * session's home): start the estimate again. The shown time stays monotonic (a
     * contradiction beyond the bounds is followed, as after a clock step).
     */
    private onTimebase;
    /** The shown server time at client time `at` (monotonic, see `serverNow`). */
    private showAt;
    private scheduleTick;
    private tick;
    private stopTicking;
    private send;
    /** Gives up on the current socket without waiting for its close handshake. */
    private dropSocket;
    private detach;
    private onSocketClosed;
    private scheduleReconnect;
    private fail;
    private settleFirst;
    private rejectPending;
    private clearTimers;
    private emit;
}
