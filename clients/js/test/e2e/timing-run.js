// The displayed-time check in headless Chromium.
//
// A page (the server's own /demo, using the client library) shows a session while a
// writer in Node (the library over `ws`, commands alternating WebSocket and REST)
// switches it every 100–400 ms and pauses/resumes it now and then. Every
// `sampleEveryMs` the page's last rendered frame is read (page.evaluate): the values it
// displayed and the page-clock instant they were computed for. Each sample is compared
// with the authoritative value: the server's state of the same version (recorded by an
// independent WebSocket observer) evaluated at the server's clock at that instant.
//
// The server's clock at a page instant ("truth"):
// - `system` (loopback default): the server reads this machine's system clock, so the
//   truth is the system clock at that instant, mapped from the page clock by catching
//   `Date.now()` ticks (±0.1 ms);
// - `server`: measured from the page against `GET <writeUrl>/v1/time` (NTP-style
//   intervals, as the library does with PONGs), for a server that is not this machine's
//   clock (a skewed instance, another region's home). Its own bound widens the tolerance.
//
// URLs are parameters: `pageUrl` serves /demo and is the region the page connects to;
// `writeUrl` receives the writes and is observed (the session's home).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { execFileSync } from 'node:child_process';

import { chromium } from 'playwright-core';
import WebSocket from 'ws';

import { remainingAt, SyncKairosClient } from '../../dist/index.js';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function quantile(sorted, q) {
  if (sorted.length === 0) return null;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i];
}

function summary(values) {
  const s = [...values].sort((a, b) => a - b);
  const r3 = (x) => (x === null ? null : Math.round(x * 1000) / 1000);
  return { n: s.length, p50: r3(quantile(s, 0.5)), p99: r3(quantile(s, 0.99)), max: r3(s.length ? s[s.length - 1] : null) };
}

/** Runs in the page: page clock (timeOrigin + now) ↔ system clock, from Date.now() ticks. */
function clockEdgeInPage() {
  const perf = () => performance.timeOrigin + performance.now();
  let best = null;
  for (let k = 0; k < 7; k++) {
    const d0 = Date.now();
    let prev = perf();
    for (;;) {
      const p = perf();
      const d = Date.now();
      if (d !== d0) {
        const half = (p - prev) / 2;
        if (best === null || half < best.half) best = { m: d - (prev + p) / 2, half, at: p };
        break;
      }
      prev = p;
    }
  }
  return best;
}

/** Runs in the page: offset of `url`'s clock to the page clock via /v1/time, interval intersection. */
async function serverOffsetInPage({ url, n }) {
  const perf = () => performance.timeOrigin + performance.now();
  let lo = -Infinity;
  let hi = Infinity;
  let failures = 0;
  for (let ok = 0; ok < n && failures < n; ) {
    try {
      const t0 = perf();
      const r = await fetch(`${url}/v1/time`, { cache: 'no-store' });
      const body = await r.json();
      const t3 = perf();
      const ts = body.timestamp_ms;
      // The server's clock read ts (truncated ms) between t0 and t3: θ ∈ [ts − t3, ts + 1 − t0].
      lo = Math.max(lo, ts - t3 - 0.1);
      hi = Math.min(hi, ts + 1 - t0 + 0.1);
      ok++;
    } catch {
      failures++; // e.g. a pooled keep-alive connection closed under the request: try again
    }
  }
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) throw new Error(`${url}/v1/time: ${failures} failures, no answer`);
  return { offset: (lo + hi) / 2, bound: (hi - lo) / 2, consistent: lo <= hi, failures };
}

/** Runs in the page: the last rendered frame, as displayed. */
function sampleInPage() {
  const d = window.skDemo;
  const f = d.lastFrame;
  if (!f) return null;
  return {
    at: f.at,
    serverNow: f.serverNow,
    errorBound: f.errorBound,
    offset: f.offset,
    version: f.version,
    createdAt: f.state ? f.state.created_at : null,
    status: f.state ? f.state.status : null,
    active: f.activeParticipant,
    remaining: f.remaining,
    ids: f.state ? f.state.participants.map((p) => p.participant_id) : [],
    shown: [...d.shown],
    formatted: f.state ? f.state.participants.slice(0, 2).map((p) => d.format(f.remaining[p.participant_id])) : [],
  };
}

async function rest(url, path, body) {
  const r = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body ?? {}),
  });
  const text = await r.text();
  if (!r.ok) throw new Error(`POST ${path}: ${r.status} ${text}`);
  return JSON.parse(text).data;
}

/** Records every state of the session pushed over a WebSocket (independent of the library). */
function observe(url, sessionId) {
  const states = new Map(); // `${created_at}|${version}` → state
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/ws?sessionId=${sessionId}`);
  const ready = new Promise((res, rej) => {
    ws.on('error', rej);
    ws.on('message', (data) => {
      const m = JSON.parse(data.toString());
      if (m.type === 'CONNECTED') ws.send(JSON.stringify({ type: 'RECONNECT' }));
      if ((m.type === 'STATE_SYNC' || m.type === 'STATE_UPDATE') && m.state) {
        states.set(`${m.state.created_at}|${m.state.version}`, m.state);
        if (m.type === 'STATE_SYNC') res();
      }
    });
  });
  return { states, ready, close: () => ws.close() };
}

function chromiumVersion(path) {
  try {
    return execFileSync(path, ['--version'], { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}

/**
 * @param {object} o
 * @param {string} o.pageUrl    region the page loads /demo from and connects to
 * @param {string} [o.writeUrl] where writes go and states are observed (default pageUrl)
 * @param {number} o.durationMs
 * @param {'system'|'server'} [o.truth]
 */
export async function runTiming(o) {
  const pageUrl = o.pageUrl.replace(/\/+$/, '');
  const writeUrl = (o.writeUrl ?? o.pageUrl).replace(/\/+$/, '');
  const durationMs = o.durationMs;
  const sampleEveryMs = o.sampleEveryMs ?? 50;
  const pingMs = o.pingIntervalMs ?? 500;
  const truth = o.truth ?? 'system';
  const executablePath = o.chromium ?? process.env.CHROMIUM ?? '/usr/bin/chromium';
  const log = o.log ?? (() => {});

  // ---- the session: two players, 10 min each, 1 s increment, running
  const sessionId = randomUUID();
  const players = [randomUUID(), randomUUID()];
  await fetch(`${writeUrl}/v1/sessions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      session_id: sessionId,
      sync_mode: 'per_participant',
      participants: players.map((id, i) => ({ participant_id: id, participant_index: i, total_time_ms: 600_000 })),
      total_time_ms: 1_200_000,
      increment_ms: 1000,
    }),
  }).then(async (r) => {
    if (r.status !== 201) throw new Error(`create: ${r.status} ${await r.text()}`);
  });
  const observer = observe(writeUrl, sessionId);
  await observer.ready;
  await rest(writeUrl, `/v1/sessions/${sessionId}/start`);

  // ---- the page
  const userDataDir = mkdtempSync(join(tmpdir(), 'synckairos-chromium-'));
  // A fresh profile each run (launchPersistentContext passes it as --user-data-dir).
  const context = await chromium.launchPersistentContext(userDataDir, { executablePath, headless: true, args: CHROMIUM_ARGS });
  const writer = new SyncKairosClient({ urls: writeUrl, sessionId, WebSocket });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    const pageErrors = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(`${pageUrl}/demo?session=${sessionId}&urls=${encodeURIComponent(pageUrl)}&ping=${pingMs}`);
    await page.waitForFunction(() => window.skDemo && window.skDemo.ready && window.skDemo.lastFrame && window.skDemo.lastFrame.version >= 2, null, { timeout: 15_000 });
    const edgeStart = await page.evaluate(clockEdgeInPage);
    const refStart = await page.evaluate(serverOffsetInPage, { url: writeUrl, n: 20 });
    await writer.connect();

    // ---- the writer: switches every 100–400 ms, a pause/resume every ~5 s
    let stopWriter = false;
    const counts = { switch: 0, pause: 0, resume: 0, ws: 0, rest: 0, errors: {} };
    const writerLoop = (async () => {
      let n = 0;
      let nextPause = Date.now() + 2500 + Math.random() * 2500;
      while (!stopWriter) {
        await sleep(100 + Math.random() * 300);
        if (stopWriter) break;
        const via = n++ % 2 === 0 ? 'ws' : 'rest';
        try {
          if (Date.now() >= nextPause) {
            await writer.pause(via);
            counts.pause++;
            await sleep(200 + Math.random() * 300);
            await writer.resume(via);
            counts.resume++;
            nextPause = Date.now() + 4000 + Math.random() * 2000;
          } else {
            await writer.switch({}, via);
            counts.switch++;
          }
          counts[via]++;
        } catch (e) {
          counts.errors[e.code] = (counts.errors[e.code] ?? 0) + 1;
        }
      }
    })();

    // ---- the sampler
    const samples = [];
    const t0 = Date.now();
    while (Date.now() - t0 < durationMs) {
      const s = await page.evaluate(sampleInPage);
      if (s) samples.push(s);
      await sleep(sampleEveryMs);
    }
    stopWriter = true;
    await writerLoop;
    const edgeEnd = await page.evaluate(clockEdgeInPage);
    const refEnd = await page.evaluate(serverOffsetInPage, { url: writeUrl, n: 20 });
    const syncLog = await page.evaluate(() => window.skDemo.syncLog);
    const stateLog = await page.evaluate(() => window.skDemo.stateLog);
    await sleep(200); // the observer's last updates

    return analyse({
      samples,
      states: observer.states,
      edgeStart,
      edgeEnd,
      refStart,
      refEnd,
      syncLog,
      stateLog,
      truth,
      counts,
      pageErrors,
      meta: {
        pageUrl,
        writeUrl,
        sessionId,
        duration_s: durationMs / 1000,
        sample_every_ms: sampleEveryMs,
        ping_interval_ms: pingMs,
        chromium: chromiumVersion(executablePath),
      },
      log,
    });
  } finally {
    writer.close();
    observer.close();
    await context.close().catch(() => {});
    rmSync(userDataDir, { recursive: true, force: true });
  }
}

function analyse({ samples, states, edgeStart, edgeEnd, refStart, refEnd, syncLog, stateLog, truth, counts, pageErrors, meta }) {
  // Page clock → system clock: linear between the two measurements (drift over the run).
  const slope = edgeEnd.at !== edgeStart.at ? (edgeEnd.m - edgeStart.m) / (edgeEnd.at - edgeStart.at) : 0;
  const systemOffset = (at) => edgeStart.m + slope * (at - edgeStart.at);
  const refSlope = (refEnd.offset - refStart.offset) / Math.max(1, edgeEnd.at - edgeStart.at);
  const serverOffset = (at) => refStart.offset + refSlope * (at - edgeStart.at);
  const truthOffset = truth === 'server' ? serverOffset : systemOffset;
  const truthBound = truth === 'server' ? Math.max(refStart.bound, refEnd.bound) : Math.max(edgeStart.half, edgeEnd.half) + 0.1;

  // States in order, with their commit instants (updated_at), to tell stale samples.
  const ordered = [...states.values()].sort((a, b) => Date.parse(a.created_at) - Date.parse(b.created_at) || a.version - b.version);
  const latestAt = (t) => {
    let best = null;
    for (const s of ordered) if (Date.parse(s.updated_at) <= t) best = s;
    return best;
  };
  // Delivery: commit (updated_at, whole ms) → the page applied that version.
  // Only states committed after the page's first one (that one came with the initial STATE_SYNC).
  const delivery = [];
  const since = stateLog.length > 0 ? stateLog[0].at + truthOffset(stateLog[0].at) : Infinity;
  for (const e of stateLog) {
    const st = states.get(`${e.createdAt}|${e.version}`);
    if (st && Date.parse(st.updated_at) > since) delivery.push(e.at + truthOffset(e.at) - Date.parse(st.updated_at));
  }

  const errors = [];
  const bounds = [];
  let frozen = 0;
  let frozenMismatch = 0;
  let violations = [];
  let missing = 0;
  let textMismatch = 0;
  let stale = 0;
  let backwards = 0;
  let backwardsMax = 0;
  let prev = null;
  for (const s of samples) {
    if (!s.createdAt) continue;
    const st = states.get(`${s.createdAt}|${s.version}`);
    if (!st) {
      missing++;
      continue;
    }
    const now = s.at + truthOffset(s.at);
    for (let i = 0; i < s.formatted.length; i++) if (s.formatted[i] !== s.shown[i]) textMismatch++;
    if (prev && s.serverNow < prev.serverNow) backwards++;
    if (prev && prev.version === s.version && prev.createdAt === s.createdAt && s.active) {
      const up = s.remaining[s.active] - prev.remaining[s.active];
      if (up > 0) backwardsMax = Math.max(backwardsMax, up);
    }
    prev = s;
    if (st.status === 'running' && st.active_participant_id) {
      const id = st.active_participant_id;
      const err = s.remaining[id] - remainingAt(st, id, now);
      errors.push(Math.abs(err));
      bounds.push(s.errorBound);
      if (Math.abs(err) > 5 + s.errorBound + truthBound) violations.push({ err, bound: s.errorBound, version: s.version });
    } else {
      frozen++;
      for (const id of s.ids) if (Math.abs(s.remaining[id] - remainingAt(st, id, now)) > 1e-9) frozenMismatch++;
    }
    const latest = latestAt(now);
    if (latest && (latest.version !== s.version || latest.created_at !== s.createdAt)) stale++;
  }

  const at = (k) => {
    const e = syncLog.find((x) => x.samples === k);
    if (!e) return null;
    const actual = e.at !== undefined ? Math.abs(e.offset - truthOffset(e.at)) : null;
    return { error_bound_ms: round(e.errorBound), actual_offset_error_ms: actual === null ? null : round(actual), best_round_trip_ms: round(e.roundTrip) };
  };

  return {
    ...meta,
    truth,
    samples: samples.length,
    running_samples: errors.length,
    frozen_samples: frozen,
    displayed_error_ms: summary(errors),
    error_bound_ms_during_run: summary(bounds),
    tolerance: '|displayed − authoritative| ≤ 5 ms + the frame\'s error bound' + (truthBound > 0 ? ` + ${round(truthBound)} ms (truth reference)` : ''),
    violations: violations.length,
    violation_examples: violations.slice(0, 5),
    frozen_mismatches: frozenMismatch,
    missing_states: missing,
    text_mismatches: textMismatch,
    server_time_went_backwards: backwards,
    remaining_went_up_within_a_version_ms: round(backwardsMax),
    stale_samples: stale,
    update_delivery_ms: { ...summary(delivery), note: 'commit (updated_at, truncated to whole ms, so up to +1 ms) to the page applying the state; samples in that window show the previous version (stale_samples)' },
    clock_sync: { after_1: at(1), after_5: at(5), after_20: at(20), pings: syncLog.length },
    reference: {
      system_clock_mapping_uncertainty_ms: round(Math.max(edgeStart.half, edgeEnd.half)),
      page_clock_drift_ppm: round(slope * 1e6),
      server_reference_offset_ms: { start: round(refStart.offset - systemOffset(edgeStart.at)), end: round(refEnd.offset - systemOffset(edgeEnd.at)), bound: round(Math.max(refStart.bound, refEnd.bound)), failed_requests: refStart.failures + refEnd.failures, note: 'writeUrl clock minus the system clock, measured from the page over /v1/time (≈ 0 on loopback)' },
    },
    writer: counts,
    page_errors: pageErrors,
  };
}

function round(x) {
  return x === null || x === undefined || !Number.isFinite(x) ? x ?? null : Math.round(x * 1000) / 1000;
}
