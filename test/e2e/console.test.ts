import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import postgres, { type Sql } from 'postgres';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLE_ALL, type Scenario } from '../../src/sim/model.js';
import { shop } from '../../src/sim/scenarios/shop.js';
import { Simulation } from '../../src/sim/simulate.js';
import { DEFAULT_CONSOLE_DIR } from '../../src/api/console.js';
import { applyMigrations } from '../../src/traces/store/migrations.js';
import { traceStore, type TraceStore } from '../../src/traces/store/store.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { dropPrefix, testRedis } from '../helpers/redis.js';

/**
 * The console in a real browser (Debian's chromium, never a downloaded one): the shipped shop scenario's
 * payment-API incident is sent to a running product, and the map, the insight list and the insight's
 * page must show it. Screenshots go to test-artifacts/console/.
 */

const CHROMIUM = '/usr/bin/chromium';
const DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const ARTIFACTS = join(process.cwd(), 'test-artifacts', 'console');
const W = 10;
// recent enough that the map's default range (last 15 min) holds all of it
const T0 = Math.floor((Date.now() / 1000 - 240) / W) * W;

/** The shop scenario's first incident (the payment API fails charges), compressed into three minutes. */
function scenario(): Scenario {
  const base = shop.build({ ...shop.defaults, start: T0, hours: 1 });
  const pay = base.incidents.find((i) => i.target === 'api.payments.example.com')!;
  return { ...base, end: T0 + 170, traffic: { ...base.traffic, rate: 30, amplitude: 0, noise: 0 }, sampling: SAMPLE_ALL, incidents: [{ ...pay, start: T0 + 80, end: T0 + 150, magnitude: 0.5 }] };
}

const SERVICES = ['api-gateway', 'OrderService', 'InventoryService', 'PaymentService', 'DynamoDB', 'api.payments.example.com'];

describe.skipIf(!existsSync(CHROMIUM))('the console in a browser', () => {
  let stack: Stack;
  let ctx: BrowserContext;
  let page: Page;
  let profile: string;
  const redis = testRedis();
  let insightId = '';
  let rootCause = '';
  // the trace pages need the trace store (PostgreSQL); without one they are skipped, the rest runs
  const schema = `t_console_${randomBytes(4).toString('hex')}`;
  let sql: Sql | undefined;
  let store: TraceStore | undefined;

  beforeAll(async () => {
    // the console the product serves is the one built from these sources
    execFileSync(process.execPath, ['--import', 'tsx', 'scripts/console/build.ts', '--if-stale'], { stdio: 'inherit' });
    expect(existsSync(join(DEFAULT_CONSOLE_DIR, 'index.html'))).toBe(true);
    try {
      sql = postgres(DATABASE_URL, { max: 4, onnotice: () => undefined, connect_timeout: 5 });
      store = traceStore(sql, { schema });
      await applyMigrations(store);
    } catch (err) {
      console.warn(`console e2e: no trace store (${(err as Error).message}); the trace pages are not tested`);
      await sql?.end().catch(() => undefined);
      sql = undefined;
      store = undefined;
    }
    stack = await startStack({ windowSeconds: W, allowedLatenessSeconds: 0, close: { tickSeconds: 1, idleSeconds: 100_000_000 } }, { traces: store ? { store } : undefined });
    const put = async (docs: unknown[]) => {
      const r = await fetch(`${stack.baseUrl}/TraceSegments`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ TraceSegmentDocuments: docs.map((d) => JSON.stringify(d)) }) });
      expect(r.status).toBe(200);
    };
    let batch: unknown[] = [];
    for (const r of new Simulation(scenario()).requests()) {
      batch.push(...r.docs);
      if (batch.length >= 400) {
        await put(batch);
        batch = [];
      }
    }
    if (batch.length) await put(batch);
    await stack.drain();
    if (store) await stack.drainTraces(120_000);
    // the insight opens once its windows close
    const deadline = Date.now() + 90_000;
    for (;;) {
      const body = (await (await fetch(`${stack.baseUrl}/v1/console/insights?from=${T0 - 60}&to=${T0 + 600}`)).json()) as { insights: Array<{ id: string; rootCauseCandidates: Array<{ service: { name: string } }> }> };
      const first = body.insights[0];
      if (first) {
        insightId = first.id;
        rootCause = first.rootCauseCandidates[0]!.service.name;
        break;
      }
      if (Date.now() > deadline) throw new Error('no insight opened within 90 s');
      await new Promise((r) => setTimeout(r, 500));
    }
    mkdirSync(ARTIFACTS, { recursive: true });
    profile = mkdtempSync(join(tmpdir(), 'console-e2e-chromium-'));
    ctx = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1280, height: 800 },
    });
    page = ctx.pages()[0] ?? (await ctx.newPage());
    // the console must need nothing but the product: any request elsewhere fails the test
    await page.route('**/*', (route) => (route.request().url().startsWith(stack.baseUrl) ? route.continue() : route.abort()));
  }, 240_000);

  afterAll(async () => {
    await ctx?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
    await stack?.close();
    if (stack) await dropPrefix(redis, stack.cfg.keyPrefix);
    await sql?.unsafe(`drop schema if exists "${schema}" cascade`);
    await sql?.end();
    redis.disconnect();
  });

  it('the map shows every service of the scenario, the root cause marked', async () => {
    expect(rootCause).toBe('api.payments.example.com');
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${stack.baseUrl}/`);
    await page.waitForSelector('svg.graph g.node');
    for (const name of SERVICES) await page.waitForSelector(`g.node[data-name="${name}"]`, { timeout: 15_000 });
    const roots = await page.$$eval('g.node[data-root-cause="true"]', (els) => els.map((e) => e.getAttribute('data-name')));
    expect(roots).toEqual([rootCause]);
    // said in words too, not only by colour
    expect(await page.textContent(`g.node[data-name="${rootCause}"]`)).toContain('ROOT CAUSE');
    await page.screenshot({ path: join(ARTIFACTS, 'map.png') });

    // a node's windows as charts, with the expected band
    await page.click('g.node[data-name="PaymentService"]');
    await page.waitForSelector('.panel .chart canvas', { timeout: 15_000 });
    expect(await page.$$eval('.panel figure.chart', (els) => els.length)).toBe(7);
    await page.screenshot({ path: join(ARTIFACTS, 'map-node.png'), fullPage: true });
    // an uninstrumented dependency has no stats of its own: its windows come from its callers' calls
    await page.click(`g.node[data-name="${rootCause}"]`);
    await page.waitForFunction((name) => document.querySelector('.panel h2')?.textContent?.includes(name) && document.querySelectorAll('.panel .chart canvas').length === 7, rootCause);
    expect(errors).toEqual([]);
  });

  it("a node's windows over 7 days come back in at most 1,500 points", async () => {
    const node = encodeURIComponent('AWS::EC2::Instance|PaymentService');
    const to = Math.floor(Date.now() / 1000);
    const r = await fetch(`${stack.baseUrl}/v1/console/series?node=${node}&from=${to - 7 * 86400}&to=${to}`);
    expect(r.status).toBe(200);
    const body = (await r.json()) as { bucketSeconds: number; windows: Array<{ count: number }> };
    expect(body.windows.length).toBeLessThanOrEqual(1500);
    expect(body.bucketSeconds % W).toBe(0);
    expect(body.windows.reduce((n, w) => n + w.count, 0)).toBeGreaterThan(0);
  });

  it('the insight list shows the insight with its root cause', async () => {
    await page.goto(`${stack.baseUrl}/insights`);
    const row = await page.waitForSelector(`tr[data-insight="${insightId}"]`);
    expect(await row.$eval('.root-cause-cell', (e) => e.textContent)).toContain(rootCause);
    expect(await row.textContent()).toContain('FAULT');
    await page.screenshot({ path: join(ARTIFACTS, 'insights.png') });
  });

  it("the insight's page shows the ranked candidates and their evidence", async () => {
    await page.click(`tr[data-insight="${insightId}"] a`);
    await page.waitForSelector('ol.candidates li.candidate');
    expect(new URL(page.url()).pathname).toBe(`/insights/${insightId}`);
    expect(await page.textContent('dd.root-cause')).toContain(rootCause);
    const first = await page.$eval('li.candidate.top', (e) => e.getAttribute('data-candidate'));
    expect(first).toBe(rootCause);
    const evidence = await page.$$eval('table.evidence tbody tr', (rows) => rows.map((r) => r.textContent ?? ''));
    expect(evidence.length).toBeGreaterThan(0);
    expect(evidence.join('\n')).toMatch(/faultRate/);
    expect(evidence.join('\n')).toMatch(/n = \d+/);
    expect(await page.$$eval('ol.events > li', (els) => els.length)).toBeGreaterThan(0);
    await page.waitForSelector(`section svg.graph g.node[data-name="${rootCause}"][data-root-cause="true"]`);
    // exemplar traces, once the insight carries them
    const api = (await (await fetch(`${stack.baseUrl}/v1/console/insights/${insightId}`)).json()) as { insight: { exemplarTraceIds?: string[] } };
    const shown = await page.$$eval('ul.traces code', (els) => els.map((e) => e.textContent));
    expect(shown).toEqual(api.insight.exemplarTraceIds ?? []);
    await page.screenshot({ path: join(ARTIFACTS, 'insight.png'), fullPage: true });
    await page.screenshot({ path: join(ARTIFACTS, 'insight-top.png'), fullPage: true, clip: { x: 0, y: 0, width: 1280, height: 1000 } });
  });

  it('a trace search with a filter expression lists faulty traces', async (t) => {
    if (!store) t.skip();
    await page.goto(`${stack.baseUrl}/traces?from=${T0 - 60}&to=${T0 + 600}`);
    await page.fill('#filter', 'fault = true');
    await page.press('#filter', 'Enter');
    await page.waitForSelector('table.traces-list[data-filter="fault = true"] tbody tr');
    expect(new URL(page.url()).searchParams.get('filter')).toBe('fault = true');
    const statuses = await page.$$eval('table.traces-list tbody tr', (rows) => rows.map((r) => r.getAttribute('data-status')));
    expect(statuses.length).toBeGreaterThan(0);
    expect(new Set(statuses)).toEqual(new Set(['Fault']));
    await page.screenshot({ path: join(ARTIFACTS, 'traces.png') });
    // a filter that is not X-Ray's language says why
    await page.fill('#filter', 'fault = = true');
    await page.press('#filter', 'Enter');
    await page.waitForSelector('p.error[role="alert"]');
  });

  it("a trace's waterfall shows its segments, the fault marked, and an entity's details on click", async (t) => {
    if (!store) t.skip();
    await page.goto(`${stack.baseUrl}/traces?from=${T0 - 60}&to=${T0 + 600}&filter=${encodeURIComponent(`service("${rootCause}") { fault = true }`)}`);
    await page.click('table.traces-list[data-filter] tbody tr a');
    await page.waitForSelector('.waterfall .wf-row[data-span]');
    expect(new URL(page.url()).pathname).toMatch(/^\/traces\/1-[0-9a-f]{8}-[0-9a-f]{24}$/);
    const rows = await page.$$eval('.waterfall .wf-row[data-span]', (els) => els.map((e) => ({ kind: e.getAttribute('data-kind'), outcome: e.getAttribute('data-outcome'), text: e.textContent ?? '' })));
    const segments = rows.filter((r) => r.kind === 'segment');
    expect(segments.length).toBeGreaterThanOrEqual(3);
    expect(rows.some((r) => r.outcome === 'fault' && r.text.includes('5xx fault'))).toBe(true);
    // the faulting call to the payment API, its details
    await page.click(`.waterfall .wf-row[data-kind="subsegment"][data-outcome="fault"]:has-text("${rootCause}")`);
    await page.waitForSelector('.span-details');
    expect(await page.textContent('.span-details')).toContain('Fault (5xx)');
    await page.screenshot({ path: join(ARTIFACTS, 'trace.png'), fullPage: true });
  });
});
