import assert from 'node:assert/strict';
import { test } from 'node:test';

import { SyncKairosClient, SyncKairosError } from '../../dist/index.js';
import { fakeEnv, fakeFetch, fakeSocketClass, flush, iso, P1, P2, pong, SID, state } from './helpers.js';

const URL_A = 'http://a.example:3000';
const URL_B = 'http://b.example:3000/';

/** A client wired to fakes, connected up to `CONNECTED` (and `STATE_SYNC` with `initial`). */
async function connected({ initial = state(), options = {}, fetchRoutes } = {}) {
  const clock = fakeEnv();
  const { FakeSocket, sockets } = fakeSocketClass();
  const fetch = fakeFetch(clock, fetchRoutes ?? (() => ({ status: 500, body: {} })));
  const client = new SyncKairosClient({
    urls: URL_A,
    sessionId: SID,
    WebSocket: FakeSocket,
    fetch,
    env: clock.env,
    ...options,
  });
  const first = client.connect();
  await flush();
  const ws = sockets.at(-1);
  ws.open();
  ws.receive({ type: 'CONNECTED', sessionId: SID, timestamp: 0 });
  if (initial) ws.receive({ type: 'STATE_SYNC', sessionId: SID, timestamp: 0, state: initial });
  return { clock, client, ws, sockets, first, fetch };
}

test('subscribes with sessionId and token, pings on open, asks for the state on CONNECTED', async () => {
  const { client, ws, first } = await connected({ options: { token: 'tok en' } });
  assert.equal(ws.url, `ws://a.example:3000/ws?sessionId=${SID}&token=tok%20en`);
  assert.equal(ws.sent[0].type, 'PING');
  assert.equal(typeof ws.sent[0].timestamp, 'number');
  assert.deepEqual(ws.sent[1], { type: 'RECONNECT' });
  const s = await first;
  assert.equal(s.version, 1);
  assert.equal(client.version, 1);
  assert.equal(client.activeParticipant, P1);
  assert.ok(client.connected);
  client.close();
});

test('never applies an older version; a re-created session wins', async () => {
  const { client, ws } = await connected({ initial: state({ version: 5 }) });
  const seen = [];
  client.on('state', (s, prev) => seen.push([s.version, prev?.version]));
  ws.receive({ type: 'STATE_UPDATE', state: state({ version: 4 }) });
  ws.receive({ type: 'STATE_UPDATE', state: state({ version: 5 }) });
  assert.equal(client.version, 5);
  ws.receive({ type: 'STATE_UPDATE', state: state({ version: 7 }) });
  ws.receive({ type: 'STATE_SYNC', state: state({ version: 6 }) });
  assert.equal(client.version, 7);
  const recreated = state({ version: 1, createdAt: 1_700_000_100_000 });
  ws.receive({ type: 'STATE_UPDATE', state: recreated });
  assert.equal(client.version, 1);
  assert.equal(client.state.created_at, recreated.created_at);
  ws.receive({ type: 'STATE_UPDATE', state: state({ version: 9 }) }); // the old incarnation
  assert.equal(client.version, 1);
  assert.deepEqual(seen, [
    [7, 5],
    [1, 7],
  ]);
  client.close();
});

test('PONG gives the offset and its bound; the burst then the periodic pings follow', async () => {
  const { client, ws, clock } = await connected();
  assert.equal(client.clockEstimate(), null);
  assert.equal(client.errorBound, Infinity);
  const syncs = [];
  client.on('sync', (e) => syncs.push(e));
  pong(ws, clock, { offset: 2500, up: 2, down: 2 });
  assert.equal(syncs.length, 1);
  const e = client.clockEstimate();
  assert.ok(Math.abs(e.offset - 2500) <= e.errorBound, JSON.stringify(e));
  assert.ok(e.errorBound <= (4 + 1 + 0.2) / 2 + 1e-6);
  // Burst: the next ping 50 ms later, 8 in all, then every 2 s.
  assert.equal(ws.sentOf('PING').length, 1);
  await clock.advance(50);
  assert.equal(ws.sentOf('PING').length, 2);
  for (let i = 2; i < 8; i++) {
    pong(ws, clock, { offset: 2500, up: 1, down: 1 });
    await clock.advance(50);
  }
  assert.equal(ws.sentOf('PING').length, 8);
  pong(ws, clock, { offset: 2500, up: 1, down: 1 });
  await clock.advance(1999);
  assert.equal(ws.sentOf('PING').length, 8);
  await clock.advance(1);
  assert.equal(ws.sentOf('PING').length, 9);
  assert.equal(client.clockEstimate().samples, 8);
  client.close();
});

test("a server elsewhere answers in the home's clock: its error widens the bound, a new timebase restarts the estimate", async () => {
  const { client, ws, clock } = await connected();
  // Before the server knows the session's home: its own region's clock.
  pong(ws, clock, { offset: 0, up: 1, down: 1, timebase: 'nrt', error: 0.1 });
  assert.equal(client.clockRegion, 'nrt');
  await clock.advance(50);
  // Then the home's (iad, 50 ms ahead of nrt), known to the server within ±80 ms.
  pong(ws, clock, { offset: 50, up: 1, down: 1, timebase: 'iad', error: 80 });
  assert.equal(client.clockRegion, 'iad');
  const e = client.clockEstimate();
  assert.equal(e.samples, 1, 'the estimate restarted');
  assert.ok(Math.abs(e.offset - 50) <= e.errorBound, JSON.stringify(e));
  assert.ok(e.errorBound >= 80 && e.errorBound <= 80 + (2 + 1 + 0.2) / 2 + 1e-6, JSON.stringify(e));
  await clock.advance(50);
  pong(ws, clock, { offset: 50, up: 1, down: 1, timebase: 'iad', error: 80 });
  assert.equal(client.clockEstimate().samples, 2);
  client.close();
});

test('a scheduled start shows at start_at, before the update arrives', async () => {
  const clock0 = fakeEnv();
  const at = Math.floor(clock0.now) + 1000;
  const pending = state({ status: 'pending', active: null, startedAt: null, extra: { start_at: iso(at) } });
  const { client, ws, clock } = await connected({ initial: pending });
  pong(ws, clock, { offset: 0, up: 1, down: 1 });
  const frames = [];
  client.onTick((f) => frames.push(f));
  await clock.advance(20);
  let f = frames.at(-1);
  assert.equal(f.activeParticipant, null);
  assert.ok(f.startsInMs > 900 && f.startsInMs <= 1000, `${f.startsInMs}`);
  assert.equal(f.remaining[P1], 60_000);
  await clock.advance(1500);
  f = frames.at(-1);
  assert.equal(f.startsInMs, null);
  assert.equal(f.activeParticipant, P1);
  assert.ok(Math.abs(f.remaining[P1] - (60_000 - (f.serverNow - at))) < 1e-6);
  assert.equal(f.remaining[P2], 60_000);
  assert.equal(client.activeParticipant, P1, 'a switch is guarded by the participant who runs');
  client.close();
});

test('remaining time is computed with the server clock estimate', async () => {
  const clock0 = fakeEnv();
  const start = Math.floor(clock0.now) + 10_000; // the server's clock runs 10 s ahead
  const { client, ws, clock } = await connected({ initial: state({ startedAt: start - 1500 }) });
  pong(ws, clock, { offset: 10_000, up: 1, down: 1 });
  const bound = client.errorBound;
  const truthNow = clock.now + 10_000;
  const expect = 60_000 - (truthNow - (start - 1500));
  assert.ok(Math.abs(client.remainingMs(P1) - expect) <= bound + 1e-6, `${client.remainingMs(P1)} vs ${expect} ± ${bound}`);
  assert.equal(client.remainingMs(P2), 60_000);
  assert.equal(client.remainingMs(), client.remainingMs(P1));
  assert.ok(Math.abs(client.usedMs(P1) - (truthNow - (start - 1500))) <= bound + 1e-6);
  assert.ok(Number.isNaN(client.remainingMs('nobody')));
  client.close();
});

test('the shown server time never goes backwards when the estimate moves back', async () => {
  const { client, ws, clock } = await connected();
  pong(ws, clock, { offset: 100, up: 4, down: 4 }); // wide: offset 100 ± ~4.6
  const a = client.serverNow();
  // A tighter sample that puts the offset ~3 ms lower (inside the first bound).
  await clock.advance(50);
  pong(ws, clock, { offset: 97, up: 0.2, down: 0.2 });
  const b = client.serverNow();
  assert.ok(b >= a, `${b} < ${a}`);
  const f = client.frame();
  assert.ok(f.serverNow >= b);
  assert.ok(f.errorBound >= client.errorBound);
  client.close();
});

test('values shown before the first clock sample are replaced at once by the first estimate', async () => {
  const { client, ws, clock } = await connected();
  const before = client.serverNow();
  assert.equal(before, clock.now, 'no estimate yet: the client clock');
  pong(ws, clock, { offset: -500, up: 1, down: 1 }); // this device's clock is 0.5 s ahead
  const after = client.serverNow();
  assert.ok(Math.abs(after - (clock.now - 500)) <= client.errorBound + 1e-6, 'no hold without a bound');
  client.close();
});

test('onTick runs on a timer without requestAnimationFrame and never shows negative time', async () => {
  const clock0 = fakeEnv();
  const { client, ws, clock } = await connected({
    initial: state({ startedAt: Math.floor(clock0.now) - 59_950, participants: [{ id: P1, total: 60_000 }, { id: P2, total: 1000 }] }),
  });
  pong(ws, clock, { offset: 0, up: 0.5, down: 0.5 });
  const frames = [];
  const stop = client.onTick((f) => frames.push(f));
  await clock.advance(200);
  stop();
  const n = frames.length;
  assert.ok(n >= 10 && n <= 13, `${n} frames in 200 ms`);
  await clock.advance(100);
  assert.equal(frames.length, n, 'stopped');
  for (let i = 1; i < n; i++) {
    assert.ok(frames[i].serverNow >= frames[i - 1].serverNow);
    assert.ok(frames[i].remaining[P1] <= frames[i - 1].remaining[P1]);
  }
  assert.equal(frames.at(-1).remaining[P1], 0);
  assert.ok(frames.every((f) => f.remaining[P1] >= 0 && f.remaining[P2] === 1000));
  assert.equal(frames[0].activeParticipant, P1);
  client.close();
});

test('commands over the socket: requestId, guard, ACK and ERROR', async () => {
  const { client, ws } = await connected();
  const p = client.switch();
  const sw = ws.sentOf('SWITCH')[0];
  assert.equal(typeof sw.requestId, 'string');
  assert.equal(sw.current_participant_id, P1, 'guarded by the known active participant');
  ws.receive({ type: 'ACK', requestId: sw.requestId, op: 'switch', version: 2 });
  assert.deepEqual(await p, { op: 'switch', version: 2, via: 'ws' });

  const q = client.switch({ next: P2, current: null });
  const sw2 = ws.sentOf('SWITCH')[1];
  assert.equal(sw2.next_participant_id, P2);
  assert.equal('current_participant_id' in sw2, false);
  assert.notEqual(sw2.requestId, sw.requestId);
  ws.receive({ type: 'ERROR', requestId: sw2.requestId, code: 'CONFLICT', message: 'nope' });
  await assert.rejects(q, (e) => e instanceof SyncKairosError && e.code === 'CONFLICT' && e.requestId === sw2.requestId);

  for (const op of ['start', 'pause', 'resume', 'complete']) {
    const r = client[op]();
    const m = ws.sentOf(op.toUpperCase())[0];
    ws.receive({ type: 'ACK', requestId: m.requestId, op, version: 9 });
    assert.equal((await r).version, 9);
  }
  client.close();
});

test('a command without an answer times out; a closed socket rejects pending commands', async () => {
  const { client, ws, clock } = await connected({ options: { commandTimeoutMs: 1000 } });
  const p = assert.rejects(client.pause(), (e) => e.code === 'TIMEOUT');
  await clock.advance(1000);
  await p;
  const q = client.resume();
  ws.serverClose(1006);
  await assert.rejects(q, (e) => e.code === 'DISCONNECTED');
  client.close();
});

test('commands over REST: path, bearer token, body; full states are applied; error envelopes', async () => {
  const calls = [];
  const routes = (url, init) => {
    calls.push({ url, init });
    if (url.endsWith('/pause')) return { status: 200, body: { data: state({ version: 3, status: 'paused' }) } };
    if (url.endsWith('/switch')) return { status: 409, body: { error: { code: 'CONFLICT', message: 'Concurrent modification detected, please retry', details: { expected_version: 1, actual_version: 2 } } } };
    return { status: 200, body: { data: { version: 4 } } };
  };
  const { client } = await connected({ options: { commands: 'rest', token: async () => 'secret' }, fetchRoutes: routes });
  const r = await client.pause();
  assert.equal(calls[0].url, `http://a.example:3000/v1/sessions/${SID}/pause`);
  assert.equal(calls[0].init.method, 'POST');
  assert.equal(calls[0].init.headers.authorization, 'Bearer secret');
  assert.equal(r.via, 'rest');
  assert.equal(r.version, 3);
  assert.equal(client.version, 3, 'the answer state was applied');
  assert.equal(client.state.status, 'paused');
  await assert.rejects(client.switch({ next: P2 }), (e) => e.code === 'CONFLICT' && e.status === 409 && e.details.actual_version === 2);
  assert.deepEqual(JSON.parse(calls[1].init.body), { next_participant_id: P2, current_participant_id: P1 });
  client.close();
});

test('reconnects with growing backoff, resynchronises with RECONNECT, and resets after a sync', async () => {
  const { client, ws, sockets, clock } = await connected({ options: { reconnect: { initialMs: 100, maxMs: 1000, jitter: 0 } } });
  const events = [];
  client.on('disconnected', (d) => events.push(d.reconnectInMs));
  ws.serverClose(1006, 'gone');
  assert.equal(client.connected, false);
  await clock.advance(99);
  assert.equal(sockets.length, 1);
  await clock.advance(1);
  assert.equal(sockets.length, 2);
  sockets[1].serverClose(1006); // failed before syncing
  await clock.advance(200);
  assert.equal(sockets.length, 3);
  sockets[2].serverClose(1006);
  await clock.advance(400);
  assert.equal(sockets.length, 4);
  assert.deepEqual(events, [100, 200, 400]);
  const s4 = sockets[3];
  s4.open();
  s4.receive({ type: 'CONNECTED' });
  assert.deepEqual(s4.sentOf('RECONNECT'), [{ type: 'RECONNECT' }]);
  s4.receive({ type: 'STATE_SYNC', state: state({ version: 8 }) });
  assert.equal(client.version, 8);
  s4.serverClose(1013, 'slow consumer');
  assert.deepEqual(events, [100, 200, 400, 100], 'backoff reset after the sync');
  client.close();
});

test('a silent connection is dropped after the pong timeout and replaced', async () => {
  const { client, ws, sockets, clock } = await connected({ options: { clock: { pongTimeoutMs: 3000 }, reconnect: { initialMs: 10, jitter: 0 } } });
  await clock.advance(3000);
  assert.ok(ws.closedWith, 'closed by the client');
  await clock.advance(10);
  assert.equal(sockets.length, 2);
  client.close();
});

test('deletion and policy closes are terminal', async () => {
  {
    const { client, ws, sockets, clock } = await connected();
    let deleted = 0;
    client.on('deleted', () => deleted++);
    ws.receive({ type: 'SESSION_DELETED', sessionId: SID });
    ws.serverClose(1000, 'Session deleted');
    await clock.advance(60_000);
    assert.equal(deleted, 1);
    assert.equal(client.state, null);
    assert.equal(sockets.length, 1);
  }
  {
    const clock = fakeEnv();
    const { FakeSocket, sockets } = fakeSocketClass();
    const client = new SyncKairosClient({ urls: URL_A, sessionId: SID, WebSocket: FakeSocket, env: clock.env });
    const errors = [];
    client.on('error', (e) => errors.push(e.code));
    const first = client.connect();
    await flush();
    sockets[0].open();
    sockets[0].serverClose(1008, 'Invalid sessionId format');
    await assert.rejects(first, (e) => e.code === 'PROTOCOL');
    await clock.advance(60_000);
    assert.equal(sockets.length, 1);
    assert.deepEqual(errors, ['PROTOCOL']);
  }
});

test('a session that does not exist yet: connect resolves null, the creation is applied later', async () => {
  const { client, ws, first } = await connected({ initial: null });
  const errors = [];
  client.on('error', (e) => errors.push(e.code));
  ws.receive({ type: 'ERROR', code: 'SESSION_NOT_FOUND', message: 'Session x not found' });
  assert.equal(await first, null);
  assert.deepEqual(errors, ['SESSION_NOT_FOUND']);
  ws.receive({ type: 'STATE_UPDATE', state: state({ version: 1, status: 'pending', active: null }) });
  assert.equal(client.state.status, 'pending');
  assert.equal(client.activeParticipant, null);
  assert.ok(Number.isNaN(client.remainingMs()));
  client.close();
});

test('TIME_EXPIRED and TIME_WARNING are delivered as events', async () => {
  const { client, ws } = await connected();
  const got = [];
  client.on('expired', (m) => got.push(['expired', m.participantId, m.action]));
  client.on('warning', (m) => got.push(['warning', m.participantId, m.thresholdMs]));
  ws.receive({ type: 'TIME_WARNING', sessionId: SID, timestamp: 1, participantId: P1, thresholdMs: 10_000, remainingMs: 10_000, at: 1, version: 2 });
  ws.receive({ type: 'TIME_EXPIRED', sessionId: SID, timestamp: 1, participantId: P1, expiredAt: 1, action: 'end', version: 3 });
  ws.receive({ type: 'SOMETHING_NEW', x: 1 }); // ignored
  assert.deepEqual(got, [
    ['warning', P1, 10_000],
    ['expired', P1, 'end'],
  ]);
  client.close();
});

test('picks the region with the lowest round trip, seeds the clock from its probes, moves after repeated failures', async () => {
  const clock = fakeEnv();
  const { FakeSocket, sockets } = fakeSocketClass();
  const rtt = { 'http://a.example:3000': 80, 'http://b.example:3000': 12 };
  const fetch = fakeFetch(clock, (url) => {
    // The probes ask for the session's home timebase.
    assert.ok(url.endsWith(`/v1/time?sessionId=${SID}`), url);
    const base = url.replace(/\/v1\/time.*$/, '');
    return { status: 200, rtt: rtt[base], body: { timestamp_ms: Math.floor(clock.now + rtt[base] / 2 + 700), server_version: '2.0.0', drift_tolerance_ms: 50 } };
  });
  const client = new SyncKairosClient({
    urls: [URL_A, URL_B],
    sessionId: SID,
    WebSocket: FakeSocket,
    fetch,
    env: clock.env,
    reconnect: { initialMs: 10, jitter: 0, regionFailures: 2 },
  });
  client.connect();
  await clock.advance(3 * 80);
  assert.equal(fetch.calls.length, 6, '3 probes per region');
  assert.equal(client.regionUrl, 'http://b.example:3000');
  assert.ok(sockets[0].url.startsWith('ws://b.example:3000/ws?'));
  const e = client.clockEstimate();
  assert.ok(e && Math.abs(e.offset - 700) <= e.errorBound, 'seeded from the chosen region');
  // b fails twice without syncing: probe again and move to a.
  sockets[0].serverClose(1006);
  await clock.advance(10);
  assert.equal(sockets.length, 2);
  assert.ok(sockets[1].url.startsWith('ws://b.example'), 'one failure: same region');
  sockets[1].serverClose(1006);
  await clock.advance(20 + 3 * 80);
  assert.equal(sockets.length, 3);
  assert.ok(sockets[2].url.startsWith('ws://a.example'), sockets[2].url);
  assert.equal(client.regionUrl, 'http://a.example:3000');
  client.close();
});

test('without a WebSocket implementation connect fails clearly (Node 18/20: pass ws)', async () => {
  const clock = fakeEnv();
  const client = new SyncKairosClient({ urls: URL_A, sessionId: SID, env: clock.env, WebSocket: undefined });
  if (typeof globalThis.WebSocket === 'function') return; // Node 22+: a global one exists
  await assert.rejects(client.connect(), (e) => e.code === 'CONFIG');
});

test('close() stops everything and rejects what is pending', async () => {
  const { client, ws, sockets, clock } = await connected();
  const p = client.complete();
  client.close();
  await assert.rejects(p, (e) => e.code === 'CLOSED');
  assert.equal(ws.closedWith.code, 1000);
  await clock.advance(60_000);
  assert.equal(sockets.length, 1);
  await assert.rejects(client.switch(), (e) => e.code === 'CLOSED');
  assert.equal(iso(0), '1970-01-01T00:00:00.000Z');
});
