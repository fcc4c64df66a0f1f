import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres, { type Sql } from 'postgres';
import { afterAll, describe, expect, it } from 'vitest';
import { AggregateReader, buildGraph } from '../../src/aggregate/read.js';
import { keySpace } from '../../src/aggregate/keys.js';
import { InsightStore } from '../../src/insights/store.js';
import type { InsightEvent } from '../../src/insights/model.js';
import { SAMPLE_ALL, type Scenario } from '../../src/sim/model.js';
import { shopServices } from '../../src/sim/scenarios/shop.js';
import { Simulation } from '../../src/sim/simulate.js';
import { applyMigrations } from '../../src/traces/store/migrations.js';
import { findPostgresBinaries, startPrivatePostgres, type ResolvedPostgres } from '../../src/traces/store/resolve.js';
import { traceStore } from '../../src/traces/store/store.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { dropPrefix, testRedis } from '../helpers/redis.js';

/**
 * Acceptance: PostgreSQL stopped for 30 s under live traffic. Counters and insights are exact and the
 * same as a run without a trace store at all; trace writes resume by themselves afterwards; every
 * document is either in the store or counted as shed. The server is a private one this test starts,
 * stops and starts again on the same port (the machine's PostgreSQL is never touched).
 */

const W = 10;
// two hours back, so nothing is in the future; windows close on event time alone (huge idle)
const T0 = Math.floor((Date.now() / 1000 - 7200) / W) * W;
const OUTAGE_MS = 30_000;
const bins = findPostgresBinaries();

const scenario: Scenario = {
  name: 'postgres-outage',
  description: 'the payment API fails half its calls for 40 s while the trace store is away',
  seed: 17,
  start: T0,
  end: T0 + 150,
  services: shopServices(),
  traffic: { rate: 30, entries: [{ service: 'api-gateway', share: 1 }] },
  sampling: SAMPLE_ALL,
  incidents: [{ id: 'pay', kind: 'fault', target: 'api.payments.example.com', start: T0 + 80, end: T0 + 120, magnitude: 0.5 }],
};

// 20 s of allowed lateness: the two runs send at different paces, and jobs applied out of order must not
// close a window before all of it is counted (that would differ between the runs, trace store or not)
const overrides = { windowSeconds: W, allowedLatenessSeconds: 20, close: { tickSeconds: 1, idleSeconds: 100_000_000 } };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function put(stack: Stack, docs: unknown[]): Promise<void> {
  for (let i = 0; i < docs.length; i += 400) {
    const r = await fetch(`${stack.baseUrl}/TraceSegments`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ TraceSegmentDocuments: docs.slice(i, i + 400).map((d) => JSON.stringify(d)) }) });
    expect(r.status).toBe(200);
  }
}

/** Sums the requests every service (not clients, not inferred nodes) counted over the run. */
async function counted(stack: Stack): Promise<number> {
  const redis = testRedis();
  try {
    const g = buildGraph(await new AggregateReader(redis, keySpace(stack.cfg.keyPrefix), W).readWindows(T0 - W, T0 + 600));
    return [...g.nodes.values()].filter((n) => !n.inferred && n.ref.type !== 'client').reduce((a, n) => a + n.stats.count, 0);
  } finally {
    redis.disconnect();
  }
}

/** Waits for the insight to close, then returns every insight event of the namespace. */
async function insightEvents(stack: Stack): Promise<InsightEvent[]> {
  const redis = testRedis();
  const store = new InsightStore(redis, stack.cfg.keyPrefix, 3600);
  try {
    for (let i = 0; i < 600; i++) {
      const list = await store.list(T0 - 3600, T0 + 3600);
      if (list.length > 0 && list.every((x) => x.state === 'CLOSED')) return (await Promise.all(list.map((x) => store.events(x.id)))).flat();
      await sleep(100);
    }
    throw new Error('the insight did not close');
  } finally {
    redis.disconnect();
  }
}

const requests = [...new Simulation(scenario).requests()];
const at = (lo: number, hi: number) => requests.filter((r) => r.time >= lo && r.time < hi).flatMap((r) => r.docs);
const parts = [at(T0, T0 + 50), at(T0 + 50, T0 + 100), at(T0 + 100, T0 + 1000)];
// a segment well later moves event time on, so the quiet windows after the incident close the insight
const later = [...new Simulation({ ...scenario, start: T0 + 400, end: T0 + 401, incidents: [] }).requests()][0]!.docs;
const segments = [...parts.flat(), ...later].filter((d) => (d as { type?: string }).type !== 'subsegment').length;

describe('PostgreSQL away for 30 s under live traffic', () => {
  const cleanup: Array<() => Promise<unknown>> = [];
  afterAll(async () => {
    for (const c of cleanup.reverse()) await c().catch(() => undefined);
  });

  it.skipIf(!bins)('keeps counters and insights exact, sheds trace documents counted, and resumes by itself', async () => {
    // the control: the same traffic, no trace store at all
    const control = await startStack(overrides);
    cleanup.push(async () => {
      await control.close();
      const r = testRedis();
      await dropPrefix(r, control.cfg.keyPrefix);
      r.disconnect();
    });
    for (const p of parts) await put(control, p);
    await control.drain();
    await put(control, later);
    await control.drain();
    const expected = await insightEvents(control);
    expect(expected.some((e) => e.type === 'insight.opened')).toBe(true);

    const root = mkdtempSync(join(tmpdir(), 'ti-pg-'));
    chmodSync(root, 0o755); // the server runs as the postgres account when the test runs as root
    cleanup.push(async () => rmSync(root, { recursive: true, force: true }));
    let pg: ResolvedPostgres = await startPrivatePostgres(bins!, join(root, 'data'));
    cleanup.push(() => pg.stop());
    const port = Number(new URL(pg.url).port);
    const sql: Sql = postgres(pg.url, { max: 4, connect_timeout: 2, onnotice: () => undefined });
    cleanup.push(() => sql.end({ timeout: 1 }));
    const store = traceStore(sql, { schema: 'outage' });
    await applyMigrations(store);
    const stack = await startStack({ ...overrides, traces: { enabled: true, databaseUrl: null, schema: 'outage', retentionSeconds: 604800, completeSeconds: 30, retentionRules: [{ match: '', keep: 1 }], maxBufferedJobs: 4 } }, { traces: { store } });
    cleanup.unshift(async () => {
      const r = testRedis();
      await dropPrefix(r, stack.cfg.keyPrefix);
      r.disconnect();
    });
    cleanup.push(() => stack.close());

    await put(stack, parts[0]!);
    await stack.drainTraces();

    // PostgreSQL goes away; the second part of the traffic arrives over the 30 s it is gone
    await pg.stop();
    const stopped = Date.now();
    const chunk = Math.ceil(parts[1]!.length / 10);
    for (let i = 0; i < parts[1]!.length; i += chunk) {
      await put(stack, parts[1]!.slice(i, i + chunk));
      await sleep(OUTAGE_MS / 12);
    }
    await stack.drain();
    expect((await stack.metrics.tracesPaused.get()).values[0]?.value).toBe(1);
    await sleep(Math.max(0, OUTAGE_MS - (Date.now() - stopped)));
    pg = await startPrivatePostgres(bins!, join(root, 'data'), { port });
    // the waiting writes go through by themselves once it is back (the writer's next try, ≤ 10 s later);
    // the doors keep documents again once the feed's next reading of the queue sees it drained (≤ 1 s)
    await stack.drainTraces(120_000);
    await sleep(1500);

    await put(stack, parts[2]!);
    await stack.drain();
    await put(stack, later);
    await stack.drainTraces(120_000);

    // counters and insights: exact, and what the run without a trace store found
    expect(await counted(stack)).toBe(segments);
    expect(await counted(control)).toBe(segments);
    expect(await insightEvents(stack)).toEqual(expected);

    // trace writes resumed, and every document is either stored or counted as shed
    const value = async (m: { get(): Promise<{ values: Array<{ value: number; labels: Record<string, unknown> }> }> }, reason?: string) =>
      (await m.get()).values.filter((v) => reason === undefined || v.labels.reason === reason).reduce((a, v) => a + v.value, 0);
    expect(await value(stack.metrics.tracesPaused)).toBe(0);
    const shed = await value(stack.metrics.tracesDropped, 'buffer_full');
    const written = await value(stack.metrics.tracesWritten);
    const total = [...parts.flat(), ...later].length;
    expect(shed).toBeGreaterThan(0);
    expect(await value(stack.metrics.tracesDropped)).toBe(shed);
    expect(written + shed).toBe(total);
    console.log(`postgres away ${OUTAGE_MS / 1000} s: ${total} documents sent, ${written} stored, ${shed} shed (counted as buffer_full); ${segments} segments counted exactly; ${expected.length} insight events, equal to the run without a store`);
    const [{ n }] = (await sql`select count(*)::int as n from outage.documents`) as unknown as [{ n: number }];
    expect(n).toBe(written);
    // everything sent after PostgreSQL came back is there
    const afterIds = [...new Set(parts[2]!.map((d) => (d as { trace_id: string }).trace_id))];
    const [{ m }] = (await sql`select count(distinct trace_id)::int as m from outage.documents where trace_id = any(${afterIds}::text[])`) as unknown as [{ m: number }];
    expect(m).toBe(afterIds.length);
  }, 240_000);
});
