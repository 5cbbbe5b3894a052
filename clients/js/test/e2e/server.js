// Starts the real `synckairos` binary (memory store) on a free loopback port, and stops
// it by PID. The binary defaults to the workspace's debug build.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');

export function defaultBinary() {
  return process.env.SYNCKAIROS_BIN || join(REPO, 'target/debug/synckairos');
}

export function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function healthy(url, deadline) {
  while (Date.now() < deadline) {
    try {
      const r = await fetch(`${url}/health`);
      if (r.ok) return true;
    } catch {
      /* not yet */
    }
    await sleep(50);
  }
  return false;
}

/**
 * Starts the server; resolves `{ url, pid, log, stop() }` once `/health` answers.
 * `env` adds variables (e.g. `SYNCKAIROS_RATE_LIMIT__SWITCH_PER_SECOND`).
 */
export async function startServer({ bin = defaultBinary(), env = {} } = {}) {
  if (!existsSync(bin)) throw new Error(`${bin} is missing: run \`cargo build --bin synckairos\` (or set SYNCKAIROS_BIN)`);
  const dir = mkdtempSync(join(tmpdir(), 'synckairos-e2e-'));
  const log = join(dir, 'server.log');
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const fd = openSync(log, 'a');
    const child = spawn(bin, [], {
      env: {
        ...process.env,
        PORT: String(port),
        SYNCKAIROS_SERVER__BIND: '127.0.0.1',
        // No regions/*.toml: built-in defaults, memory store, single region "local".
        SYNCKAIROS_REGIONS_DIR: join(dir, 'no-regions'),
        RUST_LOG: 'warn',
        ...env,
      },
      stdio: ['ignore', fd, fd],
    });
    const url = `http://127.0.0.1:${port}`;
    let exited = false;
    const exit = new Promise((r) => child.once('exit', () => { exited = true; r(); }));
    const stop = async () => {
      if (exited) return;
      try { process.kill(child.pid, 'SIGTERM'); } catch { /* gone */ }
      await Promise.race([exit, sleep(5000)]);
      if (!exited) {
        try { process.kill(child.pid, 'SIGKILL'); } catch { /* gone */ }
        await exit;
      }
    };
    const onExit = () => { if (!exited) try { process.kill(child.pid, 'SIGKILL'); } catch { /* gone */ } };
    process.once('exit', onExit);
    if (await healthy(url, Date.now() + 15_000)) {
      // Stops the server; its log is kept only when `keepLog` (e.g. after a failure).
      const stopAndClean = async ({ keepLog = false } = {}) => {
        await stop();
        if (!keepLog) rmSync(dir, { recursive: true, force: true });
      };
      return { url, pid: child.pid, bin, log, stop: stopAndClean };
    }
    await stop(); // the port may have been taken in between: try another
  }
  throw new Error(`the server did not become healthy (log: ${log})`);
}
