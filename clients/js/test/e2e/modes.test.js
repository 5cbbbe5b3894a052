// The client's formula agrees with the server in every sync mode: the live values the
// client computes from a state at instant T are exactly what the server stores when it
// charges time at T (a switch or a pause), for every participant.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';

import { parseInstant, remainingAt, sharers, usedAt } from '../../dist/index.js';
import { startServer } from './server.js';

let server;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server?.stop();
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function call(method, path, body) {
  const r = await fetch(`${server.url}${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  assert.ok(r.ok, `${method} ${path}: ${r.status} ${text}`);
  return JSON.parse(text).data;
}

const group = randomUUID();
const modes = {
  per_participant: { increment_ms: 700 },
  per_cycle: { time_per_cycle_ms: 5000 },
  per_group: { increment_ms: 300, groups: [group, group, null] },
  global: { increment_ms: 400 },
  count_up: { max_time_ms: 20_000 },
};

for (const [mode, extra] of Object.entries(modes)) {
  test(`${mode}: the client's remaining and used time equal what the server charges`, async () => {
    const id = randomUUID();
    const ps = [0, 1, 2].map((i) => ({
      participant_id: randomUUID(),
      participant_index: i,
      total_time_ms: 30_000,
      ...(extra.groups && extra.groups[i] ? { group_id: extra.groups[i] } : {}),
    }));
    const { groups: _g, ...fields } = extra;
    await call('POST', '/v1/sessions', { session_id: id, sync_mode: mode, participants: ps, total_time_ms: 60_000, ...fields });
    const s1 = await call('POST', `/v1/sessions/${id}/start`);
    await sleep(120);
    await call('POST', `/v1/sessions/${id}/switch`, {});
    const s2 = await call('GET', `/v1/sessions/${id}`);
    const t2 = parseInstant(s2.cycle_started_at);
    // The switch charged the outgoing budget at t2, then (modes with an increment) added it.
    const out = s1.participants.findIndex((p) => p.participant_id === s1.active_participant_id);
    const inc = ['per_participant', 'per_group', 'global'].includes(mode) ? s1.increment_ms : 0;
    const incoming = s2.participants.findIndex((p) => p.participant_id === s2.active_participant_id);
    s1.participants.forEach((p, i) => {
      const got = s2.participants[i];
      assert.equal(usedAt(s1, p.participant_id, t2), got.time_used_ms, `used, participant ${i}`);
      if (mode === 'per_cycle' && i === incoming) return; // a fresh allotment for the new turn
      const expect = remainingAt(s1, p.participant_id, t2) + (sharers(s1, out).includes(i) ? inc : 0);
      assert.equal(expect, got.total_time_ms, `remaining, participant ${i}`);
    });
    await sleep(90);
    const s3 = await call('POST', `/v1/sessions/${id}/pause`);
    const t3 = parseInstant(s3.updated_at);
    s2.participants.forEach((p, i) => {
      assert.equal(remainingAt(s2, p.participant_id, t3), s3.participants[i].total_time_ms, `paused remaining, participant ${i}`);
      assert.equal(usedAt(s2, p.participant_id, t3), s3.participants[i].time_used_ms, `paused used, participant ${i}`);
      // Paused: frozen.
      assert.equal(remainingAt(s3, p.participant_id, t3 + 10_000), s3.participants[i].total_time_ms);
    });
  });
}
