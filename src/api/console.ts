import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Context, Hono } from 'hono';
import { consoleApiRoutes, type ConsoleApiDeps } from './console-api.js';

/** Where `npm run build:console` (also run by `npm ci` and `npm start`) writes the console. */
export const DEFAULT_CONSOLE_DIR = fileURLToPath(new URL('../../dist/console/', import.meta.url));

export interface ConsoleOptions {
  /** The built console. @defaultValue dist/console at the repository's root */
  dir?: string;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json',
};

/** GET paths the API owns: they keep their own answers (404s included), never the console's page. */
const API_PATH = /^\/(v1(\/|$)|healthz$|readyz$|metrics$|[A-Z])/;

const NOT_BUILT = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>trace-insights: console not built</title></head>
<body style="font-family:system-ui,sans-serif;max-width:40rem;margin:4rem auto;line-height:1.5">
<h1>The console has not been built</h1>
<p>trace-insights is running and its API answers on this port, but the browser console is missing from <code>dist/console/</code>.</p>
<p>Build it once with <code>npm run build:console</code> (<code>npm ci</code> and <code>npm start</code> also build it when it is missing or stale), then reload this page.</p>
</body></html>`;

/**
 * The console: its JSON API under /v1/console, and the built single-page app, read-only, at `/`.
 * Mounted after every API route, so those keep answering exactly as before.
 */
export function consoleRoutes(app: Hono, deps: ConsoleApiDeps, opts: ConsoleOptions = {}): void {
  consoleApiRoutes(app, deps);
  consoleStatic(app, opts.dir ?? DEFAULT_CONSOLE_DIR);
}

async function fileIn(dir: string, path: string): Promise<string | null> {
  let rel: string;
  try {
    rel = normalize(decodeURIComponent(path)).replace(/^[/\\]+/, '');
  } catch {
    return null;
  }
  if (!rel || rel.startsWith('..') || rel.split(sep).some((p) => p === '..' || p.startsWith('.'))) return null;
  const file = join(dir, rel);
  const st = await stat(file).catch(() => null);
  return st?.isFile() ? file : null;
}

/** Static files of the built console, and its page for every other non-API GET a browser asks for. */
export function consoleStatic(app: Hono, dir: string): void {
  const serve = async (c: Context, file: string, cache: string) => {
    const body = await readFile(file);
    c.header('content-type', TYPES[extname(file)] ?? 'application/octet-stream');
    c.header('cache-control', cache);
    c.header('x-content-type-options', 'nosniff');
    if (c.req.method === 'HEAD') return c.body(null);
    return c.body(new Uint8Array(body));
  };
  app.on(['GET', 'HEAD'], '*', async (c, next) => {
    const path = c.req.path;
    if (API_PATH.test(path)) return next();
    if (path !== '/') {
      const file = await fileIn(dir, path);
      // Vite names its assets by content hash: they never change under the same name
      if (file) return serve(c, file, path.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache');
    }
    // the app's own routes (/insights/…, /traces, …): a browser asking for a page gets index.html
    const wantsPage = path === '/' || (c.req.header('accept') ?? '').includes('text/html');
    if (!wantsPage || extname(path) !== '') return next();
    const index = join(dir, 'index.html');
    const found = await stat(index).catch(() => null);
    if (!found?.isFile()) return c.html(NOT_BUILT, 503, { 'cache-control': 'no-store' });
    return serve(c, index, 'no-cache');
  });
}
