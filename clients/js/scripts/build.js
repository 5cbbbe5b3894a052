// Builds dist/: tsc emits the ES modules with their .d.ts files (the package), then
// esbuild bundles them into dist/synckairos.js, the single file the server serves at
// /demo/synckairos.js. dist/ is committed so that `cargo build` needs no Node.
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
rmSync(join(root, 'dist'), { recursive: true, force: true });
execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.json')], {
  stdio: 'inherit',
});
await build({
  entryPoints: [join(root, 'dist/index.js')],
  outfile: join(root, 'dist/synckairos.js'),
  bundle: true,
  format: 'esm',
  target: 'es2020',
  legalComments: 'none',
  banner: { js: '// SyncKairos client (bundled from clients/js/src by `npm run build`; do not edit).' },
  logLevel: 'warning',
});
