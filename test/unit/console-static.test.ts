import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hono } from 'hono';
import { afterAll, describe, expect, it } from 'vitest';
import { consoleStatic } from '../../src/api/console.js';

const dir = mkdtempSync(join(tmpdir(), 'console-static-'));
mkdirSync(join(dir, 'assets'));
writeFileSync(join(dir, 'index.html'), '<!doctype html><title>console</title>');
writeFileSync(join(dir, 'assets', 'index-abc.js'), 'console.log(1)');
writeFileSync(join(dir, '.source-hash'), 'secret-ish');
const missing = join(dir, 'nope');

/** An app shaped like ours: API routes first, the console after them, then the API's 404. */
function app(consoleDir: string) {
  const a = new Hono();
  a.post('/ServiceGraph', (c) => c.json({ Services: [] }));
  a.get('/healthz', (c) => c.json({ ok: true }));
  a.get('/v1/services', (c) => c.json({ services: [] }));
  consoleStatic(a, consoleDir);
  a.notFound((c) => c.json({ __type: 'UnknownOperationException' }, 404));
  return a;
}

const html = { accept: 'text/html,application/xhtml+xml' };

describe('the console served at /', () => {
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('serves the page, its hashed assets (cached for good) and the page again for its own routes', async () => {
    const a = app(dir);
    const root = await a.request('/');
    expect(root.status).toBe(200);
    expect(root.headers.get('content-type')).toMatch(/text\/html/);
    expect(await root.text()).toContain('<title>console</title>');
    const js = await a.request('/assets/index-abc.js');
    expect(js.headers.get('content-type')).toMatch(/javascript/);
    expect(js.headers.get('cache-control')).toMatch(/immutable/);
    const deep = await a.request('/insights/0c5f2f2e-1111-5222-8333-444455556666', { headers: html });
    expect(deep.status).toBe(200);
    expect(await deep.text()).toContain('<title>console</title>');
    expect((await a.request('/', { method: 'HEAD' })).status).toBe(200);
  });

  it('leaves the API alone: its routes, its 404s, and non-browser GETs', async () => {
    const a = app(dir);
    expect(await (await a.request('/ServiceGraph', { method: 'POST', body: '{}' })).json()).toEqual({ Services: [] });
    expect(await (await a.request('/healthz', { headers: html })).json()).toEqual({ ok: true });
    expect((await a.request('/v1/nothing', { headers: html })).status).toBe(404);
    expect((await a.request('/TraceGraph', { headers: html })).status).toBe(404);
    expect((await a.request('/insights')).status).toBe(404); // no Accept: text/html: an API client
    expect((await a.request('/assets/missing.js', { headers: html })).status).toBe(404);
    expect((await a.request('/insights', { method: 'POST', headers: html })).status).toBe(404);
  });

  it('never serves dot files or anything outside its folder', async () => {
    const a = app(dir);
    expect((await a.request('/.source-hash')).status).toBe(404);
    expect((await a.request('/%2e%2e/%2e%2e/etc/passwd')).status).toBe(404);
    expect((await a.request('/assets/..%2f..%2fpackage.json')).status).toBe(404);
  });

  it('says how to build it when it has not been built', async () => {
    const r = await app(missing).request('/');
    expect(r.status).toBe(503);
    expect(await r.text()).toContain('npm run build:console');
  });
});
