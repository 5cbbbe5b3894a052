// Test doubles: a fake clock with timers, a fake WebSocket, a fake fetch, and states.

/** A manual clock; timers fire only when `advance` passes their time. */
export function fakeEnv(start = 1_700_000_000_000.25) {
  let now = start;
  let seq = 0;
  const timers = new Map();
  const env = {
    now: () => now,
    setTimeout: (fn, ms) => {
      const id = ++seq;
      timers.set(id, { at: now + Math.max(0, ms), fn, seq: id });
      return id;
    },
    clearTimeout: (id) => {
      if (id != null) timers.delete(id);
    },
    random: () => 0.5,
    requestFrame: undefined,
    cancelFrame: undefined,
  };
  return {
    env,
    get now() {
      return now;
    },
    /** Moves the clock without firing timers (time spent inside a call). */
    skew(ms) {
      now += ms;
    },
    /** Moves the clock, firing due timers in order (and their microtasks). */
    async advance(ms) {
      const end = now + ms;
      for (;;) {
        await flush();
        let next = null;
        for (const [id, t] of timers) {
          if (t.at <= end && (next === null || t.at < next.t.at || (t.at === next.t.at && t.seq < next.t.seq))) next = { id, t };
        }
        if (next === null) break;
        timers.delete(next.id);
        now = Math.max(now, next.t.at);
        next.t.fn();
      }
      now = end;
      await flush();
    },
    pending: () => [...timers.values()].map((t) => t.at - now).sort((a, b) => a - b),
  };
}

/** Lets pending promise callbacks run. */
export async function flush() {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
}

/** A WebSocket double: the test plays the server. */
export function fakeSocketClass() {
  const sockets = [];
  class FakeSocket {
    constructor(url) {
      this.url = url;
      this.readyState = 0;
      this.sent = [];
      this.onopen = this.onmessage = this.onclose = this.onerror = null;
      this.closedWith = null;
      sockets.push(this);
    }
    send(data) {
      if (this.readyState !== 1) throw new Error('not open');
      this.sent.push(JSON.parse(data));
    }
    close(code, reason) {
      this.closedWith = { code, reason };
      this.readyState = 3;
    }
    // ---- server side
    open() {
      this.readyState = 1;
      this.onopen?.({});
    }
    receive(msg) {
      this.onmessage?.({ data: JSON.stringify(msg) });
    }
    serverClose(code, reason = '') {
      this.readyState = 3;
      this.onclose?.({ code, reason });
    }
    sentOf(type) {
      return this.sent.filter((m) => m.type === type);
    }
  }
  return { FakeSocket, sockets };
}

/** A server double that answers PINGs with the given clock offset and delays. */
export function pong(socket, clock, { offset = 0, up = 5, down = 5, type = 'PING', timebase, error } = {}) {
  const ping = socket.sentOf(type).at(-1);
  const t1 = Math.floor(ping.timestamp + up + offset);
  const t2 = t1;
  clock.skew(up + down);
  const extra = timebase === undefined ? {} : { timebase, ...(error === undefined ? {} : { timebase_error_ms: error }) };
  socket.receive({ type: 'PONG', timestamp: t2, client_timestamp: ping.timestamp, server_receive_timestamp: t1, server_send_timestamp: t2, ...extra });
}

const P1 = '11111111-1111-4111-8111-111111111111';
const P2 = '22222222-2222-4222-8222-222222222222';
export const SID = '33333333-3333-4333-8333-333333333333';
export { P1, P2 };

export function iso(ms) {
  return new Date(ms).toISOString();
}

/** A session state (per_participant by default) with overrides. */
export function state({
  version = 1,
  createdAt = 1_700_000_000_000,
  status = 'running',
  active = P1,
  startedAt = 1_700_000_000_000,
  mode = 'per_participant',
  participants = [
    { id: P1, total: 60_000 },
    { id: P2, total: 60_000 },
  ],
  extra = {},
} = {}) {
  return {
    session_id: SID,
    sync_mode: mode,
    status,
    version,
    participants: participants.map((p, i) => ({
      participant_id: p.id,
      participant_index: i,
      total_time_ms: p.total,
      time_used_ms: p.used ?? 0,
      time_remaining_ms: p.total,
      cycle_count: 0,
      is_active: p.id === active,
      has_expired: false,
      ...(p.group ? { group_id: p.group } : {}),
    })),
    active_participant_id: active,
    total_time_ms: 60_000,
    time_per_cycle_ms: null,
    cycle_started_at: status === 'running' && startedAt !== null ? iso(startedAt) : null,
    session_started_at: iso(createdAt),
    session_completed_at: null,
    increment_ms: 0,
    created_at: iso(createdAt),
    updated_at: iso(startedAt ?? createdAt),
    action_on_timeout: 'continue',
    home_region: 'local',
    ...extra,
  };
}

/** A fetch double: `routes(url, init)` returns `{status, body}` or throws; `rtt` advances the fake clock. */
export function fakeFetch(clock, routes) {
  const calls = [];
  const f = async (url, init = {}) => {
    calls.push({ url, init });
    const r = await routes(url, init);
    // The answer arrives `rtt` ms later on the fake clock (advance it to let probes finish).
    if (r.rtt) await new Promise((resolve) => clock.env.setTimeout(resolve, r.rtt));
    return { ok: r.status >= 200 && r.status < 300, status: r.status, text: async () => (typeof r.body === 'string' ? r.body : JSON.stringify(r.body)) };
  };
  f.calls = calls;
  return f;
}
