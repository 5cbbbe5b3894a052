#!/usr/bin/env node
// The timing figures of a scripts/bench.sh run as Markdown (stdout), from the files the
// run wrote into OUT: client-timing.json (Chromium on loopback), client-timing-regions.json
// (Chromium connected to nrt, writes to iad), timing_measure.txt (the measure_timing_*
// tests: deadline lateness with skewed instances, lag credited over the 120 ms link).
//
//   node scripts/bench-timing-summary.mjs OUT > OUT/timing.md
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const out = process.argv[2];
if (!out) {
  console.error('usage: bench-timing-summary.mjs OUT');
  process.exit(2);
}
const json = (name) => {
  const f = join(out, name);
  return existsSync(f) ? JSON.parse(readFileSync(f, 'utf8')) : null;
};
const lines = [];
const say = (s = '') => lines.push(s);
const ms = (x) => (x === null || x === undefined ? 'n/a' : `${x}`);

say('# Timing figures');
say();
say('Every figure with the exact command that produced it. Times in ms.');
say();
say('## The players\' client in headless Chromium');
say();
say('Displayed remaining time minus the authoritative value (the server state of the same version at the home\'s clock), sampled every 50 ms while another client switches every 100–400 ms and pauses/resumes; clock-sync error bound (± half the best round trip, plus the server\'s own uncertainty of the home\'s clock) after 1, 5 and 20 pings, with the actual offset error next to it.');
say();
say('| run | samples | error p50 | error p99 | error max | bound after 1 / 5 / 20 pings (actual error) | violations | command |');
say('|---|---|---|---|---|---|---|---|');
for (const [label, name] of [
  ['loopback (one server)', 'client-timing.json'],
  ['across regions (page at nrt, writes at iad)', 'client-timing-regions.json'],
]) {
  const r = json(name);
  if (!r) {
    say(`| ${label} | not run | | | | | | |`);
    continue;
  }
  const e = r.displayed_error_ms;
  const c = r.clock_sync;
  const b = (x) => (x ? `${x.error_bound_ms} (${x.actual_offset_error_ms})` : 'n/a');
  say(`| ${label} | ${r.running_samples} | ${ms(e.p50)} | ${ms(e.p99)} | ${ms(e.max)} | ${b(c.after_1)} / ${b(c.after_5)} / ${b(c.after_20)} | ${r.violations} | \`${r.command}\` |`);
}
say();
const m = join(out, 'timing_measure.txt');
if (existsSync(m)) {
  const text = readFileSync(m, 'utf8');
  // `cargo test` prints "test <name> ... " before a test's own output on the same line.
  const pick = (re) =>
    text
      .split('\n')
      .map((l) => l.replace(/^test \S+ \.\.\. /, ''))
      .filter((l) => re.test(l));
  say('## Server clocks and lag compensation');
  say();
  say('Command: `cargo test --release --test it -- --ignored --nocapture --test-threads=1 measure_timing_` (output: timing_measure.txt).');
  say();
  for (const l of [...pick(/^instances at \+2 s and -2 s/), ...pick(/^credited lag per move/)]) say(`- ${l}`);
  say();
}
process.stdout.write(lines.join('\n') + '\n');
