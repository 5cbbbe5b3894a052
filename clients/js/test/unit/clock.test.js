import assert from 'node:assert/strict';
import { test } from 'node:test';

import { backoffDelay, ClockSync } from '../../dist/index.js';

/** Deterministic PRNG (mulberry32). */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * One simulated exchange: client clock c, true offset theta (server = client + theta),
 * one-way delays up/down, server processing proc; the server stamps whole ms (floor).
 */
function exchange(c, theta, up, down, proc) {
  const t0 = c;
  const t1 = Math.floor(c + up + theta);
  const t2 = Math.floor(c + up + proc + theta);
  const t3 = c + up + proc + down;
  return { t0, t1, t2, t3 };
}

test('one sample: offset within ± (round trip + server resolution + client resolution)/2 of the truth', () => {
  const c = new ClockSync({ clientResolutionMs: 0 });
  const theta = 1234.567;
  assert.ok(c.addSample(exchange(1_000_000, theta, 3, 7, 0.2)));
  const e = c.estimate(1_000_010.2);
  assert.ok(Math.abs(e.offset - theta) <= e.errorBound, `${e.offset} ± ${e.errorBound}`);
  assert.equal(e.samples, 1);
  // roundTrip excludes the server's time; the bound is half of it plus half a server ms.
  assert.ok(Math.abs(e.roundTrip - 10) <= 1);
  assert.ok(Math.abs(e.errorBound - (e.roundTrip + 1) / 2) < 1e-9);
});

test('the truth is always inside the bound (random delays, asymmetric paths, drift)', () => {
  const r = rng(42);
  for (let trial = 0; trial < 200; trial++) {
    const theta = (r() - 0.5) * 10_000;
    const driftPpm = (r() - 0.5) * 80; // within the assumed 50 ppm
    const sync = new ClockSync({ maxDriftPpm: 50, clientResolutionMs: 0 });
    let c = 5_000_000 + r() * 1000;
    for (let i = 0; i < 40; i++) {
      const up = 0.1 + r() * r() * 40;
      const down = 0.1 + r() * r() * 40;
      const th = theta + driftPpm * 1e-6 * (c - 5_000_000);
      sync.addSample(exchange(c, th, up, down, r() * 2));
      c += up + down + 2 + r() * 3000;
      const e = sync.estimate(c);
      const truth = theta + driftPpm * 1e-6 * (c - 5_000_000);
      assert.ok(Math.abs(e.offset - truth) <= e.errorBound + 1e-9, `trial ${trial} sample ${i}: |${e.offset} - ${truth}| > ${e.errorBound}`);
    }
  }
});

test('the bound shrinks with samples and the best round trips dominate', () => {
  const r = rng(7);
  const sync = new ClockSync({ clientResolutionMs: 0 });
  const theta = -250.3;
  let c = 1_000_000;
  const bounds = [];
  for (let i = 0; i < 20; i++) {
    // The first exchange is a slow one (10 ms round trip); later ones vary.
    const up = i === 0 ? 5 : 0.2 + r() * 5;
    const down = i === 0 ? 5 : 0.2 + r() * 5;
    sync.addSample(exchange(c, theta, up, down, 0.05));
    c += up + down + 50;
    bounds.push(sync.estimate(c).errorBound);
  }
  assert.ok(bounds[0] > 5);
  assert.ok(bounds[4] < bounds[0], `${bounds}`);
  assert.ok(bounds[19] <= bounds[4] + 0.05, `${bounds}`);
  // Never worse than the best single sample (+ its drift allowance for age).
  const best = sync.estimate(c);
  assert.ok(best.errorBound <= (best.roundTrip + 1) / 2 + 0.1, JSON.stringify(best));
});

test('a huge round trip does not disturb a good estimate', () => {
  const sync = new ClockSync({ clientResolutionMs: 0 });
  sync.addSample(exchange(1000, 500, 0.5, 0.5, 0));
  const good = sync.estimate(1001);
  sync.addSample(exchange(1100, 500, 900, 10, 0));
  const after = sync.estimate(2011);
  assert.ok(Math.abs(after.offset - good.offset) < 0.2);
  assert.ok(after.errorBound < 1.2);
});

test('old samples widen with age (drift allowance) and expire', () => {
  const sync = new ClockSync({ maxDriftPpm: 100, maxAgeMs: 60_000, clientResolutionMs: 0 });
  sync.addSample(exchange(0, 10, 1, 1, 0));
  const b0 = sync.estimate(2).errorBound;
  const b1 = sync.estimate(10_002).errorBound;
  assert.ok(Math.abs(b1 - b0 - 1) < 1e-6, `10 s at 100 ppm adds 1 ms: ${b0} → ${b1}`);
  assert.equal(sync.estimate(70_000), null);
});

test('a clock step: newer samples win, contradicting older ones are dropped', () => {
  const sync = new ClockSync({ clientResolutionMs: 0 });
  for (let i = 0; i < 5; i++) sync.addSample(exchange(i * 100, 1000, 1, 1, 0));
  assert.ok(Math.abs(sync.estimate(500).offset - 1000) < 1.5);
  sync.addSample(exchange(600, 3000, 1, 1, 0)); // the server clock jumped 2 s
  const e = sync.estimate(602);
  assert.ok(Math.abs(e.offset - 3000) <= e.errorBound, JSON.stringify(e));
});

test('keeps the lowest-round-trip samples when full', () => {
  const sync = new ClockSync({ maxSamples: 3, clientResolutionMs: 0 });
  sync.addSample(exchange(0, 0, 0.25, 0.25, 0));
  for (let i = 1; i <= 10; i++) sync.addSample(exchange(i * 10, 0, 20, 20, 0));
  const e = sync.estimate(500);
  assert.ok(e.roundTrip <= 0.5 + 1e-9, `best kept: ${e.roundTrip}`);
  assert.equal(e.samples, 11);
});

test('impossible samples are refused', () => {
  const sync = new ClockSync();
  assert.equal(sync.addSample({ t0: 10, t1: 5, t2: 6, t3: 9 }), false, 'answer before request');
  assert.equal(sync.addSample({ t0: 10, t1: 7, t2: 5, t3: 12 }), false, 'sent before received');
  assert.equal(sync.addSample({ t0: NaN, t1: 7, t2: 7, t3: 12 }), false);
  assert.equal(sync.estimate(20), null);
  sync.addSample({ t0: 10, t1: 7, t2: 7, t3: 12 });
  sync.reset();
  assert.equal(sync.estimate(20), null);
  assert.equal(sync.sampleCount, 0);
});

test('backoff grows, is capped, and is jittered within [(1 - jitter) d, d]', () => {
  const opts = { initialMs: 100, maxMs: 1000, factor: 2, jitter: 0.5 };
  assert.equal(backoffDelay(0, opts, () => 0), 100);
  assert.equal(backoffDelay(1, opts, () => 0), 200);
  assert.equal(backoffDelay(3, opts, () => 0), 800);
  assert.equal(backoffDelay(4, opts, () => 0), 1000);
  assert.equal(backoffDelay(50, opts, () => 0), 1000);
  assert.equal(backoffDelay(2, opts, () => 0.999999) > 200, true);
  assert.equal(backoffDelay(2, opts, () => 1), 200);
  assert.equal(backoffDelay(2, { ...opts, jitter: 0 }, () => 0.7), 400);
});
