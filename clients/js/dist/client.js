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
import { backoffDelay } from './backoff.js';
import { ClockSync } from './clock.js';
import { defaultEnv, globalFetch, globalWebSocket, messageText, } from './env.js';
import { SyncKairosError } from './errors.js';
import { normalizeUrl, probeRegions, withTimeout, wsUrl } from './regions.js';
import { activeParticipantId, isNewer, remainingAt, startsAt, usedAt } from './timing.js';
const OPEN = 1;
/** Closes after which reconnecting would only repeat the failure. */
const TERMINAL_CLOSES = new Set([1002, 1007, 1008, 1009]);
export class SyncKairosClient {
    constructor(opts) {
        this.listeners = {
            state: new Set(),
            expired: new Set(),
            warning: new Set(),
            deleted: new Set(),
            connected: new Set(),
            disconnected: new Set(),
            sync: new Set(),
            error: new Set(),
        };
        this.current = null;
        this.url = null;
        this.ws = null;
        this.subscribed = false;
        this.started = false;
        this.closed = false;
        this.deleted = false;
        this.attempt = 0;
        this.regionFailures = 0;
        this.syncedOnSocket = false;
        this.timers = { connect: null, ping: null, pong: null, reconnect: null };
        this.pings = [];
        /** The region whose clock the estimate is of (`PONG.timebase`), when the server says. */
        this.timebase = null;
        this.pingsOnSocket = 0;
        this.pending = new Map();
        this.requestSeq = 0;
        this.shown = null;
        this.tickListeners = new Set();
        this.tickHandle = null;
        this.tickIsFrame = false;
        /** The last probe results (nearest first), for diagnostics. */
        this.lastProbe = [];
        const urls = (Array.isArray(opts.urls) ? opts.urls : [opts.urls]).map(normalizeUrl).filter((u) => u.length > 0);
        if (urls.length === 0)
            throw new SyncKairosError('CONFIG', 'at least one region URL is needed');
        if (!opts.sessionId)
            throw new SyncKairosError('CONFIG', 'sessionId is required');
        this.opts = opts;
        this.urls = urls;
        this.sessionId = opts.sessionId;
        this.env = { ...defaultEnv(), ...(opts.env ?? {}) };
        this.clock = new ClockSync(opts.clock);
        this.WS = opts.WebSocket ?? globalWebSocket();
        this.fetchImpl = opts.fetch ?? globalFetch();
        this.requestPrefix = Math.floor(this.env.random() * 36 ** 6).toString(36);
        let resolve;
        let reject;
        const promise = new Promise((res, rej) => {
            resolve = res;
            reject = rej;
        });
        promise.catch(() => undefined); // a rejection nobody awaited is not an unhandled one
        this.firstSync = { promise, resolve, reject, done: false };
    }
    // ------------------------------------------------------------------ lifecycle
    /**
     * Starts (once) and resolves with the first state received (`null` when the session
     * does not exist yet: the client stays subscribed and applies it when it is created).
     * Rejects only on a terminal failure (no WebSocket implementation, a refused
     * `sessionId`, `close()`).
     */
    connect() {
        if (this.closed)
            return Promise.reject(new SyncKairosError('CLOSED', 'client closed'));
        if (!this.started) {
            this.started = true;
            if (!this.WS) {
                this.fail(new SyncKairosError('CONFIG', 'no WebSocket implementation: pass options.WebSocket (e.g. the `ws` package)'));
            }
            else {
                void this.open();
            }
        }
        return this.firstSync.promise;
    }
    /** Stops everything: socket, timers, ticks; pending commands are rejected with `CLOSED`. */
    close() {
        if (this.closed)
            return;
        this.closed = true;
        this.clearTimers();
        this.stopTicking();
        this.tickListeners.clear();
        const ws = this.ws;
        this.detach();
        if (ws) {
            try {
                ws.close(1000, 'client closed');
            }
            catch {
                /* already closing */
            }
        }
        this.rejectPending(new SyncKairosError('CLOSED', 'client closed'));
        this.settleFirst(new SyncKairosError('CLOSED', 'client closed'));
    }
    /** Whether the socket is open and subscribed. */
    get connected() {
        return this.subscribed;
    }
    /** The region URL in use (or last used). */
    get regionUrl() {
        return this.url;
    }
    // ------------------------------------------------------------------ state and time
    /** The newest state applied (`null` before the first, or after deletion). */
    get state() {
        return this.current;
    }
    get version() {
        return this.current?.version ?? null;
    }
    /** The active participant (a scheduled start that has come counts as started). */
    get activeParticipant() {
        return activeParticipantId(this.current, this.serverNow());
    }
    /** The region whose clock `offset` is of (the session's home, once a server said), or `null`. */
    get clockRegion() {
        return this.timebase;
    }
    /** The clock estimate now (`null` before the first sample). */
    clockEstimate() {
        return this.clock.estimate(this.env.now());
    }
    /** server clock − client clock (ms; 0 before the first sample). */
    get offset() {
        return this.clockEstimate()?.offset ?? 0;
    }
    /** ± bound on `offset` (ms; `Infinity` before the first sample). */
    get errorBound() {
        return this.clockEstimate()?.errorBound ?? Infinity;
    }
    /**
     * The server's clock now, as shown: never goes backwards. When a new estimate puts
     * it earlier than a value already shown, by no more than the two estimates' bounds
     * together, the shown time holds still until the estimate catches up; a larger
     * contradiction (a clock step) is followed at once.
     */
    serverNow() {
        return this.showAt(this.env.now()).value;
    }
    /** Live remaining time (ms, ≥ 0) of a participant (default: the active one); `NaN` if unknown. */
    remainingMs(participantId, serverNow = this.serverNow()) {
        const s = this.current;
        const id = participantId ?? activeParticipantId(s, serverNow);
        if (!s || id == null)
            return Number.NaN;
        return remainingAt(s, id, serverNow);
    }
    /** Live time used (ms) of a participant (a `count_up` stopwatch); `NaN` if unknown. */
    usedMs(participantId, serverNow = this.serverNow()) {
        const s = this.current;
        const id = participantId ?? activeParticipantId(s, serverNow);
        if (!s || id == null)
            return Number.NaN;
        return usedAt(s, id, serverNow);
    }
    /** One frame's values, computed now. */
    frame() {
        const at = this.env.now();
        const shown = this.showAt(at);
        const s = this.current;
        const remaining = {};
        if (s)
            for (const p of s.participants)
                remaining[p.participant_id] = remainingAt(s, p.participant_id, shown.value);
        const est = this.clock.estimate(at);
        const start = s ? startsAt(s) : null;
        return {
            at,
            serverNow: shown.value,
            errorBound: shown.errorBound,
            offset: est?.offset ?? 0,
            state: s,
            version: s?.version ?? null,
            activeParticipant: activeParticipantId(s, shown.value),
            remaining,
            startsInMs: start !== null && start > shown.value ? start - shown.value : null,
        };
    }
    /**
     * Calls `cb` at display rate (`requestAnimationFrame` in browsers, a timer elsewhere)
     * with the live values. Returns the unsubscribe function.
     */
    onTick(cb) {
        this.tickListeners.add(cb);
        if (this.tickHandle === null && !this.closed)
            this.scheduleTick();
        return () => {
            this.tickListeners.delete(cb);
            if (this.tickListeners.size === 0)
                this.stopTicking();
        };
    }
    on(event, cb) {
        this.listeners[event].add(cb);
        return () => this.off(event, cb);
    }
    off(event, cb) {
        this.listeners[event].delete(cb);
    }
    // ------------------------------------------------------------------ commands
    start(via) {
        return this.command('start', {}, via);
    }
    /** Passes the turn (see `SwitchOptions`: by default guarded by the locally known active participant). */
    switch(opts = {}, via) {
        const body = {};
        if (opts.next)
            body.next_participant_id = opts.next;
        const current = opts.current === undefined ? this.activeParticipant : opts.current;
        if (current)
            body.current_participant_id = current;
        return this.command('switch', body, via);
    }
    pause(via) {
        return this.command('pause', {}, via);
    }
    resume(via) {
        return this.command('resume', {}, via);
    }
    complete(via) {
        return this.command('complete', {}, via);
    }
    command(op, body, via) {
        if (this.closed)
            return Promise.reject(new SyncKairosError('CLOSED', 'client closed'));
        const want = via ?? this.opts.commands ?? 'ws';
        if (want === 'ws' && this.subscribed && this.ws && this.ws.readyState === OPEN)
            return this.wsCommand(op, body);
        return this.restCommand(op, body);
    }
    wsCommand(op, body) {
        const requestId = `${this.requestPrefix}-${++this.requestSeq}`;
        const timeout = this.opts.commandTimeoutMs ?? 5000;
        return new Promise((resolve, reject) => {
            const timer = this.env.setTimeout(() => {
                this.pending.delete(requestId);
                reject(new SyncKairosError('TIMEOUT', `${op}: no answer within ${timeout} ms (it may have been applied)`, { requestId }));
            }, timeout);
            this.pending.set(requestId, { op, resolve, reject, timer });
            this.send({ type: op.toUpperCase(), requestId, ...body });
        });
    }
    async restCommand(op, body) {
        const f = this.fetchImpl;
        if (!f)
            throw new SyncKairosError('CONFIG', 'no fetch implementation: pass options.fetch');
        const base = this.url ?? this.urls[0];
        const headers = { 'content-type': 'application/json' };
        const token = await this.token();
        if (token)
            headers.authorization = `Bearer ${token}`;
        const url = `${base}/v1/sessions/${encodeURIComponent(this.sessionId)}/${op}`;
        const timeout = this.opts.commandTimeoutMs ?? 5000;
        let status = 0;
        let text;
        try {
            const res = await withTimeout(f(url, { method: 'POST', headers, body: JSON.stringify(body) }), timeout, this.env, op);
            status = res.status;
            text = await withTimeout(res.text(), timeout, this.env, op);
        }
        catch (e) {
            const msg = e instanceof Error ? e.message : String(e);
            throw new SyncKairosError(/timed out/.test(msg) ? 'TIMEOUT' : 'NETWORK', `${op}: ${msg}`);
        }
        let json = {};
        try {
            json = text ? JSON.parse(text) : {};
        }
        catch {
            /* not JSON */
        }
        if (status < 200 || status >= 300 || !json.data) {
            const err = json.error ?? {};
            throw new SyncKairosError(err.code ?? `HTTP_${status}`, err.message ?? `${op}: HTTP ${status}`, {
                status,
                details: err.details,
            });
        }
        const data = json.data;
        const result = { op, version: Number(data.version), via: 'rest' };
        // start/pause/resume/complete answer with the full state; the switch answer is partial.
        if (typeof data.created_at === 'string' && Array.isArray(data.participants)) {
            result.state = data;
            this.applyState(result.state);
        }
        return result;
    }
    async token() {
        const t = this.opts.token;
        if (t === undefined)
            return undefined;
        return typeof t === 'function' ? await t() : t;
    }
    // ------------------------------------------------------------------ connection
    async open() {
        if (this.closed)
            return;
        let url;
        let token;
        try {
            url = await this.chooseRegion();
            token = await this.token();
        }
        catch (e) {
            this.emit('error', new SyncKairosError('NETWORK', e instanceof Error ? e.message : String(e)));
            this.scheduleReconnect(0, 'open failed');
            return;
        }
        if (this.closed)
            return;
        const WS = this.WS;
        let ws;
        try {
            ws = new WS(wsUrl(url, this.sessionId, token));
        }
        catch (e) {
            this.emit('error', new SyncKairosError('NETWORK', e instanceof Error ? e.message : String(e)));
            this.regionFailures += 1;
            this.scheduleReconnect(0, 'socket construction failed');
            return;
        }
        this.ws = ws;
        this.subscribed = false;
        this.syncedOnSocket = false;
        this.pings = [];
        this.pingsOnSocket = 0;
        const timeout = this.opts.connectTimeoutMs ?? 5000;
        this.timers.connect = this.env.setTimeout(() => this.dropSocket(4000, 'connect timeout'), timeout);
        ws.onopen = () => {
            if (this.ws !== ws)
                return;
            this.sendPing();
        };
        ws.onmessage = (ev) => {
            if (this.ws !== ws)
                return;
            const text = messageText(ev.data);
            if (text !== null)
                this.onMessage(text);
        };
        ws.onclose = (ev) => {
            if (this.ws !== ws)
                return;
            this.onSocketClosed(ev.code, ev.reason);
        };
        ws.onerror = () => {
            /* a close event follows */
        };
    }
    /** The region to connect to: the current one unless it keeps failing, else the nearest. */
    async chooseRegion() {
        const failures = this.opts.reconnect?.regionFailures ?? 2;
        if (this.urls.length === 1)
            return this.useRegion(this.urls[0], null);
        if (this.url !== null && this.regionFailures < failures)
            return this.url;
        const f = this.fetchImpl;
        if (!f)
            return this.useRegion(this.nextRegion(), null);
        const results = await probeRegions([...this.urls], f, this.env, { ...this.opts.probe, sessionId: this.sessionId });
        this.lastProbe = results;
        const reachable = results.filter((r) => r.roundTrip < Infinity);
        // After repeated failures on the current region, the nearest *other* one that answers.
        const pick = (this.url !== null ? reachable.find((r) => r.url !== this.url) : undefined) ?? reachable[0];
        return pick ? this.useRegion(pick.url, pick) : this.useRegion(this.nextRegion(), null);
    }
    nextRegion() {
        if (this.url === null)
            return this.urls[0];
        const i = this.urls.indexOf(this.url);
        return this.urls[(i + 1) % this.urls.length];
    }
    useRegion(url, probe) {
        if (url !== this.url) {
            // Another server, another clock: start the estimate again.
            this.clock.reset();
            this.shown = null;
            this.timebase = null;
            this.url = url;
            this.regionFailures = 0;
        }
        if (probe) {
            this.onTimebase(probe.timebase ?? null);
            for (const s of probe.samples)
                this.clock.addSample(s);
        }
        return url;
    }
    onMessage(text) {
        let msg;
        try {
            msg = JSON.parse(text);
        }
        catch {
            return;
        }
        if (!msg || typeof msg !== 'object')
            return;
        switch (msg.type) {
            case 'CONNECTED':
                this.env.clearTimeout(this.timers.connect);
                this.timers.connect = null;
                this.subscribed = true;
                this.send({ type: 'RECONNECT' });
                this.emit('connected', { url: this.url });
                break;
            case 'STATE_SYNC':
            case 'STATE_UPDATE': {
                const state = msg.state;
                if (state && typeof state === 'object')
                    this.applyState(state);
                if (msg.type === 'STATE_SYNC')
                    this.onSynced(this.current);
                break;
            }
            case 'PONG':
                this.onPong(msg);
                break;
            case 'ACK':
            case 'ERROR':
                this.onAnswer(msg);
                break;
            case 'TIME_EXPIRED':
                this.emit('expired', msg);
                break;
            case 'TIME_WARNING':
                this.emit('warning', msg);
                break;
            case 'SESSION_DELETED': {
                this.deleted = true;
                this.current = null;
                this.emit('deleted');
                break;
            }
            default:
                break; // unknown types are ignored (forward compatibility)
        }
    }
    onSynced(state) {
        this.syncedOnSocket = true;
        this.attempt = 0;
        this.regionFailures = 0;
        if (!this.firstSync.done) {
            this.firstSync.done = true;
            this.firstSync.resolve(state);
        }
    }
    /** Applies `state` if it is newer than the current one. Returns whether it was applied. */
    applyState(state) {
        if (!isNewer(state, this.current))
            return false;
        const previous = this.current;
        this.current = state;
        this.emit('state', state, previous);
        return true;
    }
    onAnswer(msg) {
        const requestId = typeof msg.requestId === 'string' ? msg.requestId : undefined;
        const p = requestId !== undefined ? this.pending.get(requestId) : undefined;
        if (msg.type === 'ACK') {
            if (!p || requestId === undefined)
                return;
            this.pending.delete(requestId);
            this.env.clearTimeout(p.timer);
            p.resolve({ op: p.op, version: Number(msg.version), via: 'ws' });
            return;
        }
        const err = new SyncKairosError(String(msg.code ?? 'ERROR'), String(msg.message ?? ''), requestId !== undefined ? { requestId } : {});
        if (p && requestId !== undefined) {
            this.pending.delete(requestId);
            this.env.clearTimeout(p.timer);
            p.reject(err);
            return;
        }
        if (err.code === 'SESSION_NOT_FOUND') {
            // The answer to RECONNECT: the session does not exist (yet). Stay subscribed.
            this.onSynced(null);
        }
        this.emit('error', err);
    }
    // ------------------------------------------------------------------ clock sync
    sendPing() {
        const ws = this.ws;
        if (!ws || ws.readyState !== OPEN)
            return;
        this.env.clearTimeout(this.timers.ping);
        this.timers.ping = null;
        const t0 = this.env.now();
        this.pings.push(t0);
        if (this.pings.length > 32)
            this.pings.shift();
        this.pingsOnSocket += 1;
        this.send({ type: 'PING', timestamp: t0 });
        if (this.timers.pong === null) {
            const timeout = this.opts.clock?.pongTimeoutMs ?? 10000;
            this.timers.pong = this.env.setTimeout(() => this.dropSocket(4001, 'pong timeout'), timeout);
        }
    }
    onPong(msg) {
        const t3 = this.env.now();
        const echoed = msg.client_timestamp;
        let i = typeof echoed === 'number' ? this.pings.indexOf(echoed) : -1;
        if (i < 0)
            i = 0; // an older server without the echo: answers come in order
        const t0 = this.pings[i];
        this.pings.splice(0, i + 1);
        this.env.clearTimeout(this.timers.pong);
        this.timers.pong = null;
        if (this.pings.length > 0) {
            const timeout = this.opts.clock?.pongTimeoutMs ?? 10000;
            this.timers.pong = this.env.setTimeout(() => this.dropSocket(4001, 'pong timeout'), timeout);
        }
        if (t0 !== undefined) {
            const t1 = typeof msg.server_receive_timestamp === 'number' ? msg.server_receive_timestamp : Number(msg.timestamp);
            const t2 = typeof msg.server_send_timestamp === 'number' ? msg.server_send_timestamp : Number(msg.timestamp);
            const serverError = typeof msg.timebase_error_ms === 'number' ? msg.timebase_error_ms : 0;
            this.onTimebase(typeof msg.timebase === 'string' ? msg.timebase : null);
            if (this.clock.addSample({ t0, t1, t2, t3, serverError })) {
                const est = this.clock.estimate(t3);
                if (est)
                    this.emit('sync', est);
            }
        }
        const c = this.opts.clock ?? {};
        const burst = c.burst ?? 8;
        const delay = this.pingsOnSocket < burst ? (c.burstGapMs ?? 50) : (c.intervalMs ?? 2000);
        if (this.timers.ping === null && this.pings.length === 0) {
            this.timers.ping = this.env.setTimeout(() => this.sendPing(), delay);
        }
    }
    /**
     * Answers in another region's clock than the samples so far (the server learnt the
     * session's home): start the estimate again. The shown time stays monotonic (a
     * contradiction beyond the bounds is followed, as after a clock step).
     */
    onTimebase(timebase) {
        if (timebase === null)
            return;
        if (this.timebase !== null && this.timebase !== timebase)
            this.clock.reset();
        this.timebase = timebase;
    }
    /** The shown server time at client time `at` (monotonic, see `serverNow`). */
    showAt(at) {
        const est = this.clock.estimate(at);
        const raw = at + (est?.offset ?? 0);
        const bound = est?.errorBound ?? Infinity;
        const last = this.shown;
        // (Values shown before the first sample had no bound: the first estimate replaces them.)
        if (last !== null && raw < last.value && Number.isFinite(last.bound) && last.value - raw <= last.bound + bound) {
            // Hold: never backwards; the shown value is within `bound` + the hold of the truth.
            return { value: last.value, errorBound: bound + (last.value - raw) };
        }
        this.shown = { value: raw, bound };
        return { value: raw, errorBound: bound };
    }
    // ------------------------------------------------------------------ ticks
    scheduleTick() {
        const rf = this.env.requestFrame;
        if (rf) {
            this.tickIsFrame = true;
            this.tickHandle = rf(() => this.tick());
        }
        else {
            this.tickIsFrame = false;
            this.tickHandle = this.env.setTimeout(() => this.tick(), this.opts.tickIntervalMs ?? 16);
        }
    }
    tick() {
        this.tickHandle = null;
        if (this.closed || this.tickListeners.size === 0)
            return;
        const f = this.frame();
        for (const cb of [...this.tickListeners]) {
            try {
                cb(f);
            }
            catch (e) {
                this.emit('error', new SyncKairosError('LISTENER', e instanceof Error ? e.message : String(e)));
            }
        }
        if (this.tickHandle === null && this.tickListeners.size > 0 && !this.closed)
            this.scheduleTick();
    }
    stopTicking() {
        if (this.tickHandle === null)
            return;
        if (this.tickIsFrame)
            this.env.cancelFrame?.(this.tickHandle);
        else
            this.env.clearTimeout(this.tickHandle);
        this.tickHandle = null;
    }
    // ------------------------------------------------------------------ plumbing
    send(msg) {
        const ws = this.ws;
        if (!ws || ws.readyState !== OPEN)
            return;
        try {
            ws.send(JSON.stringify(msg));
        }
        catch {
            /* the close event follows */
        }
    }
    /** Gives up on the current socket without waiting for its close handshake. */
    dropSocket(code, reason) {
        const ws = this.ws;
        if (!ws)
            return;
        this.detach();
        try {
            ws.close(4000, reason);
        }
        catch {
            /* ignore */
        }
        this.onSocketClosed(code, reason, true);
    }
    detach() {
        const ws = this.ws;
        if (!ws)
            return;
        ws.onopen = null;
        ws.onmessage = null;
        ws.onclose = null;
        ws.onerror = null;
        this.ws = null;
    }
    onSocketClosed(code, reason, alreadyDetached = false) {
        if (!alreadyDetached)
            this.detach();
        this.subscribed = false;
        this.env.clearTimeout(this.timers.connect);
        this.env.clearTimeout(this.timers.ping);
        this.env.clearTimeout(this.timers.pong);
        this.timers.connect = this.timers.ping = this.timers.pong = null;
        this.rejectPending(new SyncKairosError('DISCONNECTED', `connection closed (${code}) before the answer; the command may have been applied`));
        if (this.closed)
            return;
        if (this.deleted && code === 1000) {
            this.emit('disconnected', { code, reason, reconnectInMs: null });
            this.settleFirst(null);
            this.closed = true;
            this.stopTicking();
            return;
        }
        if (TERMINAL_CLOSES.has(code)) {
            const err = new SyncKairosError('PROTOCOL', `server closed the connection: ${code} ${reason}`);
            this.emit('error', err);
            this.emit('disconnected', { code, reason, reconnectInMs: null });
            this.fail(err);
            return;
        }
        if (!this.syncedOnSocket)
            this.regionFailures += 1;
        this.scheduleReconnect(code, reason);
    }
    scheduleReconnect(code, reason) {
        if (this.closed)
            return;
        const delay = backoffDelay(this.attempt, this.opts.reconnect, () => this.env.random());
        this.attempt += 1;
        this.emit('disconnected', { code, reason, reconnectInMs: delay });
        this.env.clearTimeout(this.timers.reconnect);
        this.timers.reconnect = this.env.setTimeout(() => {
            this.timers.reconnect = null;
            void this.open();
        }, delay);
    }
    fail(err) {
        this.closed = true;
        this.clearTimers();
        this.stopTicking();
        this.rejectPending(err);
        this.settleFirst(err);
    }
    settleFirst(result) {
        if (this.firstSync.done)
            return;
        this.firstSync.done = true;
        if (result instanceof SyncKairosError)
            this.firstSync.reject(result);
        else
            this.firstSync.resolve(result);
    }
    rejectPending(err) {
        for (const [id, p] of this.pending) {
            this.env.clearTimeout(p.timer);
            p.reject(new SyncKairosError(err.code, err.message, { requestId: id }));
        }
        this.pending.clear();
    }
    clearTimers() {
        for (const k of Object.keys(this.timers)) {
            this.env.clearTimeout(this.timers[k]);
            this.timers[k] = null;
        }
    }
    emit(event, ...args) {
        for (const cb of [...this.listeners[event]]) {
            try {
                cb(...args);
            }
            catch {
                /* a listener's failure is its own */
            }
        }
    }
}
