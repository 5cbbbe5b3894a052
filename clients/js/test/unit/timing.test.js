import assert from 'node:assert/strict';
import { test } from 'node:test';

import { compareStamps, expiresAt, isNewer, projected, remainingAt, sharers, stampOf, startsAt, usedAt } from '../../dist/index.js';
import { iso, P1, P2, state } from './helpers.js';

const T = 1_700_000_000_000;
const P3 = '44444444-4444-4444-8444-444444444444';
const G = '55555555-5555-4555-8555-555555555555';

test('per_participant: the running clock counts down from cycle_started_at, the other is frozen', () => {
  const s = state({ startedAt: T, participants: [{ id: P1, total: 60_000 }, { id: P2, total: 45_000 }] });
  assert.equal(remainingAt(s, P1, T), 60_000);
  assert.equal(remainingAt(s, P1, T + 1234.5), 60_000 - 1234.5);
  assert.equal(remainingAt(s, P2, T + 1234.5), 45_000);
  // Before cycle_started_at (a client clock slightly behind): never more than the budget.
  assert.equal(remainingAt(s, P1, T - 50), 60_000);
});

test('never negative, and unknown participants are NaN', () => {
  const s = state({ startedAt: T });
  assert.equal(remainingAt(s, P1, T + 10 * 60_000), 0);
  assert.ok(Number.isNaN(remainingAt(s, P3, T)));
  assert.ok(Number.isNaN(usedAt(s, P3, T)));
});

test('paused, pending, completed and expired states are frozen', () => {
  for (const status of ['paused', 'pending', 'completed', 'expired']) {
    const s = state({ status, participants: [{ id: P1, total: 30_000 }, { id: P2, total: 20_000 }] });
    assert.equal(remainingAt(s, P1, T + 5000), 30_000, status);
    assert.equal(expiresAt(s), null, status);
  }
  // cycle_started_at set but status not running (defensive): still frozen.
  const odd = state({ status: 'paused', extra: { cycle_started_at: iso(T) } });
  assert.equal(remainingAt(odd, P1, T + 5000), 60_000);
});

test('global: one clock shared by everyone runs down for every participant', () => {
  const s = state({
    mode: 'global',
    participants: [
      { id: P1, total: 90_000 },
      { id: P2, total: 90_000 },
      { id: P3, total: 90_000 },
    ],
  });
  assert.deepEqual(sharers(s, 0), [0, 1, 2]);
  for (const id of [P1, P2, P3]) assert.equal(remainingAt(s, id, T + 1000), 89_000);
  // Time used is charged to the active participant only.
  assert.equal(usedAt(s, P1, T + 1000), 1000);
  assert.equal(usedAt(s, P2, T + 1000), 0);
});

test('per_group: members of the running group run down, others and ungrouped are frozen', () => {
  const s = state({
    mode: 'per_group',
    active: P1,
    participants: [
      { id: P1, total: 50_000, group: G },
      { id: P2, total: 50_000, group: G },
      { id: P3, total: 70_000 },
    ],
  });
  assert.deepEqual(sharers(s, 0), [0, 1]);
  assert.deepEqual(sharers(s, 2), [2]);
  assert.equal(remainingAt(s, P2, T + 2000), 48_000);
  assert.equal(remainingAt(s, P3, T + 2000), 70_000);
});

test('per_cycle: the turn allotment in total_time_ms counts down', () => {
  const s = state({ mode: 'per_cycle', extra: { time_per_cycle_ms: 10_000 }, participants: [{ id: P1, total: 10_000 }, { id: P2, total: 10_000 }] });
  assert.equal(remainingAt(s, P1, T + 2500), 7500);
  assert.equal(remainingAt(s, P1, T + 12_000), 0);
  assert.equal(expiresAt(s), T + 10_000);
});

test('count_up: time used counts up to the cap, total_time_ms is what is left', () => {
  const s = state({ mode: 'count_up', extra: { max_time_ms: 20_000 }, participants: [{ id: P1, total: 15_000, used: 5000 }, { id: P2, total: 20_000 }] });
  assert.equal(usedAt(s, P1, T + 3000), 8000);
  assert.equal(remainingAt(s, P1, T + 3000), 12_000);
  // Capped: the server never charges beyond the budget.
  assert.equal(usedAt(s, P1, T + 60_000), 20_000);
  assert.equal(remainingAt(s, P1, T + 60_000), 0);
  assert.equal(usedAt(s, P2, T + 3000), 0);
});

test('versions order states; a re-created session (later created_at) outranks any older version', () => {
  const v5 = state({ version: 5 });
  const v6 = state({ version: 6 });
  assert.ok(isNewer(v6, v5));
  assert.ok(!isNewer(v5, v6));
  assert.ok(!isNewer(v5, v5), 'equal is not newer');
  assert.ok(isNewer(v5, null));
  const recreated = state({ version: 1, createdAt: T + 60_000 });
  assert.ok(isNewer(recreated, state({ version: 50 })));
  assert.ok(!isNewer(state({ version: 50 }), recreated));
  assert.ok(compareStamps(stampOf(v5), stampOf(v6)) < 0);
  assert.deepEqual(stampOf(recreated), [T + 60_000, 1]);
});

test('a pending session with start_at runs from that instant, as the server will store it', () => {
  const s = state({ status: 'pending', active: null, startedAt: null, extra: { start_at: iso(T + 1000) } });
  assert.equal(startsAt(s), T + 1000);
  assert.equal(remainingAt(s, P1, T + 999), 60_000);
  assert.equal(remainingAt(s, P1, T + 1000 + 2500), 57_500);
  assert.equal(remainingAt(s, P2, T + 1000 + 2500), 60_000);
  assert.equal(usedAt(s, P1, T + 1000 + 2500), 2500);
  const p = projected(s, T + 1000);
  assert.equal(p.status, 'running');
  assert.equal(p.active_participant_id, P1);
  assert.equal(p.cycle_started_at, iso(T + 1000));
  assert.ok(p.participants[0].is_active && !p.participants[1].is_active);
  // Not pending (started, or never scheduled): as is.
  const running = state({ startedAt: T, extra: { start_at: iso(T) } });
  assert.equal(startsAt(running), null);
  assert.equal(projected(running, T + 5), running);
});
