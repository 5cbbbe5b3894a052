#!/usr/bin/env node
// The displayed-time measurement in headless Chromium (see timing-run.js).
//
//   node clients/js/test/e2e/timing.js [--duration 30] [--out DIR] [--name client-timing]
//        [--sample-every 50] [--ping 500] [--page-url URL --write-url URL]
//        [--truth system|server] [--server-bin PATH]
//
// Without --page-url it starts target/debug/synckairos (or --server-bin / $SYNCKAIROS_BIN)
// on a free loopback port and stops it afterwards. With --out it writes
// DIR/<name>.json. Exits 1 when a sample is outside the tolerance.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { cpus, loadavg } from 'node:os';

import { runTiming } from './timing-run.js';
import { REPO, startServer } from './server.js';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const durationS = Number(opt('duration', '30'));
const out = opt('out');
let pageUrl = opt('page-url');
const writeUrl = opt('write-url', pageUrl);
const truth = opt('truth', 'system');

let server = null;
const load = loadavg().map((x) => x.toFixed(2)).join(' ');
try {
  if (!pageUrl) {
    server = await startServer({ bin: opt('server-bin') });
    pageUrl = server.url;
  }
  const r = await runTiming({
    pageUrl,
    writeUrl: writeUrl ?? pageUrl,
    durationMs: durationS * 1000,
    sampleEveryMs: Number(opt('sample-every', '50')),
    pingIntervalMs: Number(opt('ping', '500')),
    truth,
  });
  r.command = `node clients/js/test/e2e/timing.js ${args.join(' ')}`.trim();
  r.date = new Date().toISOString();
  r.machine = { cores: cpus().length, load_average_before: load };
  r.server = server ? `${relative(REPO, server.bin)} (memory store, default configuration), started by the harness on loopback` : `external: page ${pageUrl}, writes ${writeUrl}`;
  const e = r.displayed_error_ms;
  const c = r.clock_sync;
  const f = (x) => (x ? `${x.error_bound_ms} ms (actual ${x.actual_offset_error_ms} ms)` : 'n/a');
  console.log(`displayed-time error over ${r.running_samples} running samples (${r.samples} in all, ${r.duration_s} s): p50 ${e.p50} ms, p99 ${e.p99} ms, max ${e.max} ms`);
  console.log(`error bound during the run: p50 ${r.error_bound_ms_during_run.p50} ms, max ${r.error_bound_ms_during_run.max} ms; violations of ${r.tolerance}: ${r.violations}`);
  console.log(`clock-sync error bound after 1 ping: ${f(c.after_1)}; after 5: ${f(c.after_5)}; after 20: ${f(c.after_20)}`);
  const d = r.update_delivery_ms;
  console.log(`state delivery (commit → page): p50 ${d.p50} ms, p99 ${d.p99} ms, max ${d.max} ms over ${d.n} updates; samples showing a superseded version: ${r.stale_samples}`);
  console.log(`writer: ${JSON.stringify(r.writer)}`);
  if (out) {
    mkdirSync(out, { recursive: true });
    const file = join(out, `${opt('name', 'client-timing')}.json`);
    writeFileSync(file, JSON.stringify(r, null, 2) + '\n');
    console.log(`results: ${relative(process.cwd(), file) || file}`);
  }
  const bad = r.violations > 0 || r.missing_states > 0 || r.frozen_mismatches > 0 || r.text_mismatches > 0 || r.server_time_went_backwards > 0 || r.page_errors.length > 0;
  if (bad) {
    console.error('FAILED:', JSON.stringify({ violations: r.violation_examples, missing: r.missing_states, frozen: r.frozen_mismatches, text: r.text_mismatches, backwards: r.server_time_went_backwards, page_errors: r.page_errors }));
    process.exitCode = 1;
  }
} finally {
  await server?.stop({ keepLog: process.exitCode === 1 });
}
