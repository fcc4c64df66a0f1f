/**
 * Builds the browser console into dist/console/. `--if-stale` skips the build when the output was made
 * from the same sources (a hash of src/console and the lockfile, so a checkout's mtimes do not matter):
 * `npm ci` (prepare) and `npm start` (prestart) both run it that way, with `--soft`: a console that fails
 * to build must not stop dependencies from installing or the API from starting, so it warns and exits 0
 * (the server then answers `/` with a page saying how to build it; the e2e test builds without it).
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CONSOLE_DIST, CONSOLE_SRC, consoleViteConfig } from './vite-config.js';

const STAMP = '.source-hash';
const root = fileURLToPath(new URL('../../', import.meta.url));

function files(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const p = join(dir, name);
      return statSync(p).isDirectory() ? files(p) : [p];
    });
}

function sourceHash(): string {
  const h = createHash('sha256');
  const inputs = [...files(CONSOLE_SRC), join(root, 'package-lock.json'), fileURLToPath(new URL('./vite-config.ts', import.meta.url))];
  for (const f of inputs) {
    if (!existsSync(f)) continue;
    h.update(relative(root, f)).update('\0').update(readFileSync(f)).update('\0');
  }
  return h.digest('hex');
}

const ifStale = process.argv.includes('--if-stale');
const soft = process.argv.includes('--soft');
if (!existsSync(join(CONSOLE_SRC, 'index.html'))) {
  // e.g. a Docker layer that installs dependencies before the sources are copied in
  console.log('console: no sources at src/console, nothing to build');
  process.exit(0);
}
const hash = sourceHash();
const stampFile = join(CONSOLE_DIST, STAMP);
if (ifStale && existsSync(join(CONSOLE_DIST, 'index.html')) && existsSync(stampFile) && readFileSync(stampFile, 'utf8') === hash) {
  process.exit(0);
}
const t0 = Date.now();
try {
  // loaded only when there is something to build: a fresh build costs `npm start` no Vite start-up
  const { build } = await import('vite');
  await build(consoleViteConfig());
} catch (err) {
  if (!soft) throw err;
  console.warn(`console: the build failed (${err instanceof Error ? err.message.split('\n')[0] : String(err)}); the API works, / says how to build it: npm run build:console`);
  process.exit(0);
}
writeFileSync(stampFile, hash);
console.log(`console: built into ${relative(root, CONSOLE_DIST)} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
