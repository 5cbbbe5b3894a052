// End-to-end: the demo page in headless Chromium (Debian's chromium, driven by
// playwright-core) against the real server binary on loopback. Every sampled displayed
// time must be within 5 ms + the reported error bound of the authoritative value.
// Duration: E2E_DURATION_S (default 10; scripts/bench.sh runs 30 s via timing.js).
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';

import { runTiming } from './timing-run.js';
import { startServer } from './server.js';

const chromium = process.env.CHROMIUM ?? '/usr/bin/chromium';
let server;
let failed = false;

before(async () => {
  assert.ok(existsSync(chromium), `${chromium} is missing (apt-get install chromium; scripts/test.sh does it)`);
  server = await startServer();
});
after(async () => {
  await server?.stop({ keepLog: failed });
  if (failed && server) console.log(`# server log: ${server.log}`);
});

test('the server serves the current demo page and client bundle', async () => {
  // Byte for byte the files in this tree: a server built before the last `npm run build` fails here.
  const page = await fetch(`${server.url}/demo`);
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-type'), /^text\/html/);
  assert.equal(await page.text(), readFileSync(new URL('../../demo/index.html', import.meta.url), 'utf8'));
  const js = await fetch(`${server.url}/demo/synckairos.js`);
  assert.equal(js.status, 200);
  assert.match(js.headers.get('content-type'), /^text\/javascript/);
  assert.equal(await js.text(), readFileSync(new URL('../../dist/synckairos.js', import.meta.url), 'utf8'));
});

test('displayed remaining time in Chromium stays within 5 ms + the error bound while another client switches', { timeout: 120_000 }, async () => {
  const durationMs = Number(process.env.E2E_DURATION_S ?? 10) * 1000;
  failed = true; // until the checks below pass
  const r = await runTiming({ pageUrl: server.url, durationMs, chromium });
  const e = r.displayed_error_ms;
  const c = r.clock_sync;
  console.log(
    `# displayed-time error p50 ${e.p50} / p99 ${e.p99} / max ${e.max} ms over ${e.n} samples; ` +
      `bound after 1/5/20 pings: ${c.after_1?.error_bound_ms} / ${c.after_5?.error_bound_ms} / ${c.after_20?.error_bound_ms} ms; ` +
      `writer ${JSON.stringify(r.writer)}`,
  );
  assert.deepEqual(r.page_errors, []);
  assert.ok(r.running_samples >= durationMs / 100, `too few samples: ${r.running_samples}`);
  assert.ok(r.writer.switch >= durationMs / 1000, `too few switches: ${JSON.stringify(r.writer)}`);
  assert.equal(r.missing_states, 0, 'every displayed version was observed on the server');
  assert.equal(r.violations, 0, JSON.stringify(r.violation_examples));
  assert.equal(r.frozen_mismatches, 0);
  assert.equal(r.text_mismatches, 0, 'the DOM shows what the frame computed');
  assert.equal(r.server_time_went_backwards, 0);
  assert.equal(r.remaining_went_up_within_a_version_ms, 0);
  assert.ok(c.after_5 && c.after_5.error_bound_ms < 5, JSON.stringify(c));
  failed = false;
});
