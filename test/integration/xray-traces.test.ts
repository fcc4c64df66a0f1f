import { randomBytes } from 'node:crypto';
import postgres, { type Sql } from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BatchGetTracesCommand,
  GetTraceSummariesCommand,
  InvalidRequestException,
  XRayClient,
  paginateGetTraceSummaries,
  type TraceSummary,
} from '@aws-sdk/client-xray';
import { applyMigrations } from '../../src/traces/store/migrations.js';
import { traceStore, type TraceStore } from '../../src/traces/store/store.js';
import { writeDocuments } from '../../src/traces/store/writer.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { dropPrefix, testRedis, uniquePrefix } from '../helpers/redis.js';

/**
 * BatchGetTraces and GetTraceSummaries over the trace store, read with @aws-sdk/client-xray: 50 hand-made
 * traces whose every property is a function of their index, so each filter's answer is known in advance.
 */

const databaseUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const NOW = 1_796_601_600 + 13 * 3600; // 2026-12-07 13:00 UTC
const BASE = NOW - 7200;
const N = 50;
const PAGE = 7;

let seed = 7;
const hex = (n: number) =>
  Array.from({ length: n }, () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return ((seed >>> 16) & 15).toString(16);
  }).join('');

type Doc = Record<string, unknown> & { id: string };

// What trace i is: the filters' expected answers below read these, never the store.
const rootFault = (i: number) => i % 10 === 0; // root answers 500 and says fault
const billingFault = (i: number) => i % 6 === 3; // billing (odd i only) faults, the root still answers 200
const callsBilling = (i: number) => i % 2 === 1;
const tier = (i: number) => ['gold', 'silver', 'bronze'][i % 3]!;

function makeTrace(i: number): { id: string; docs: Doc[] } {
  const epoch = BASE + i * 10;
  const id = `1-${epoch.toString(16)}-${hex(24)}`;
  const start = epoch + 0.25;
  const callId = hex(16);
  const root: Doc = {
    trace_id: id,
    id: hex(16),
    name: 'front',
    origin: 'AWS::EC2::Instance',
    start_time: start,
    end_time: start + 0.5,
    http: {
      request: { method: i % 4 === 1 ? 'POST' : 'GET', url: `https://shop.example/orders/${i}`, user_agent: 'curl/8.4', client_ip: '10.0.0.9' },
      response: { status: rootFault(i) ? 500 : 200 },
    },
    annotations: { tier: tier(i), n: i },
    ...(rootFault(i) ? { fault: true } : {}),
    ...(i % 4 === 0 ? { user: 'alice' } : {}),
    subsegments: [{ id: callId, name: callsBilling(i) ? 'billing' : 'cache', namespace: 'remote', start_time: start + 0.1, end_time: start + 0.4 }],
  };
  const docs = [root];
  if (callsBilling(i)) {
    docs.push({
      trace_id: id,
      id: hex(16),
      parent_id: callId,
      name: 'billing',
      start_time: start + 0.15,
      end_time: start + 0.35,
      ...(billingFault(i) ? { fault: true } : {}),
    });
  }
  return { id, docs };
}

const traces = Array.from({ length: N }, (_, i) => makeTrace(i));
// some documents pretty-printed: the text must come back exactly as written
const textOf = (d: Doc, n: number) => (n % 2 === 0 ? JSON.stringify(d, null, 2) : JSON.stringify(d));
const idsWhere = (pred: (i: number) => boolean, from = 0, to = N) => traces.filter((_, i) => i >= from && i < to && pred(i)).map((t) => t.id);
const all = { StartTime: new Date((BASE - 10) * 1000), EndTime: new Date((BASE + N * 10 + 10) * 1000) };

describe('BatchGetTraces and GetTraceSummaries over the trace store (@aws-sdk/client-xray)', () => {
  const redis = testRedis();
  const prefix = uniquePrefix('traces');
  const schema = `test_xray_traces_${randomBytes(4).toString('hex')}`;
  let sql: Sql;
  let store: TraceStore;
  let stack: Stack;
  let xray: XRayClient;

  async function summaries(input: { StartTime: Date; EndTime: Date; FilterExpression?: string }): Promise<TraceSummary[]> {
    const out: TraceSummary[] = [];
    for await (const page of paginateGetTraceSummaries({ client: xray }, { ...input })) out.push(...(page.TraceSummaries ?? []));
    return out;
  }

  beforeAll(async () => {
    sql = postgres(databaseUrl, { max: 4, onnotice: () => {} });
    store = traceStore(sql, { schema });
    await applyMigrations(store);
    const docs = traces.flatMap((t) => t.docs).map((d, n) => ({ text: textOf(d, n) }));
    const written = await writeDocuments(store, docs, { now: NOW });
    expect(written.rejected).toEqual([]);
    stack = await startStack({ keyPrefix: prefix }, { worker: false, traces: { store, pageSize: PAGE } });
    xray = new XRayClient({ endpoint: stack.baseUrl, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' }, maxAttempts: 1 });
  }, 60_000);

  afterAll(async () => {
    xray?.destroy();
    await stack?.close();
    await sql?.unsafe(`drop schema if exists "${schema}" cascade`);
    await sql?.end();
    await dropPrefix(redis, prefix);
    await redis.quit();
  });

  it('returns every document exactly as written, and unknown ids as unprocessed', async () => {
    const texts = new Map(traces.flatMap((t) => t.docs).map((d, n) => [d.id, textOf(d, n)]));
    const seen = new Set<string>();
    for (let k = 0; k < N; k += 5) {
      const ids = traces.slice(k, k + 5).map((t) => t.id);
      const res = await xray.send(new BatchGetTracesCommand({ TraceIds: ids }));
      expect(res.UnprocessedTraceIds ?? []).toEqual([]);
      expect(res.Traces?.map((t) => t.Id)).toEqual(ids);
      for (const [n, t] of (res.Traces ?? []).entries()) {
        const want = traces[k + n]!.docs;
        expect(t.LimitExceeded).toBe(false);
        expect(t.Duration).toBeCloseTo(0.5, 3);
        expect(t.Segments?.length).toBe(want.length);
        for (const s of t.Segments ?? []) {
          const doc = want.find((d) => d.id === s.Id);
          expect(JSON.parse(s.Document!)).toEqual(doc);
          expect(s.Document).toBe(texts.get(s.Id!));
          seen.add(s.Id!);
        }
      }
    }
    expect(seen.size).toBe(texts.size);

    const unknown = `1-${BASE.toString(16)}-${'0'.repeat(24)}`;
    const res = await xray.send(new BatchGetTracesCommand({ TraceIds: [traces[3]!.id, unknown, 'not-a-trace-id'] }));
    expect(res.Traces?.map((t) => t.Id)).toEqual([traces[3]!.id]);
    expect(res.UnprocessedTraceIds).toEqual([unknown, 'not-a-trace-id']);
  });

  it('lists the summaries of a time range, paging with NextToken, each trace once', async () => {
    const first = await xray.send(new GetTraceSummariesCommand({ ...all }));
    expect(first.TraceSummaries?.length).toBe(PAGE);
    expect(first.NextToken).toBeDefined();
    expect(first.TracesProcessedCount).toBe(PAGE);
    expect(first.ApproximateTime).toBeInstanceOf(Date);

    const listed = await summaries(all);
    expect(listed.map((s) => s.Id)).toEqual(traces.map((t) => t.id));
    const range = { StartTime: new Date((BASE + 100) * 1000), EndTime: new Date((BASE + 400) * 1000) };
    expect((await summaries(range)).map((s) => s.Id)).toEqual(idsWhere(() => true, 10, 40));

    const s4 = listed[4]!;
    expect(s4).toMatchObject({
      HasFault: false,
      HasError: false,
      HasThrottle: false,
      IsPartial: false,
      Http: { HttpURL: 'https://shop.example/orders/4', HttpStatus: 200, HttpMethod: 'GET', UserAgent: 'curl/8.4', ClientIp: '10.0.0.9' },
      Users: [{ UserName: 'alice', ServiceIds: [expect.objectContaining({ Name: 'front' })] }],
      ServiceIds: [expect.objectContaining({ Name: 'front' })],
    });
    expect(s4.Duration).toBeCloseTo(0.5, 3);
    expect(s4.ResponseTime).toBeCloseTo(0.5, 3);
    expect(s4.Annotations?.tier?.[0]?.AnnotationValue).toEqual({ StringValue: 'silver' });
    expect(s4.Annotations?.n?.[0]?.AnnotationValue).toEqual({ NumberValue: 4 });
    const s3 = listed[3]!;
    expect(s3.HasFault).toBe(true);
    expect(s3.ServiceIds?.map((s) => s.Name).sort()).toEqual(['billing', 'front']);
  });

  it.each([
    // trace-level keywords read the root segment (src/traces/filter/evaluate.ts): billing's faults do not count
    ['fault', rootFault],
    ['annotation.tier = "gold"', (i: number) => tier(i) === 'gold'],
    ['http.status >= 500', rootFault],
    ['service("billing")', callsBilling],
    ['service("billing") { fault }', billingFault],
    ['annotation.tier = "gold" AND NOT fault', (i: number) => tier(i) === 'gold' && !rootFault(i)],
  ])('filters with %s, over every page and within a range', async (expr, pred) => {
    expect((await summaries({ ...all, FilterExpression: expr })).map((s) => s.Id)).toEqual(idsWhere(pred));
    const range = { StartTime: new Date((BASE + 100) * 1000), EndTime: new Date((BASE + 400) * 1000) };
    expect((await summaries({ ...range, FilterExpression: expr })).map((s) => s.Id)).toEqual(idsWhere(pred, 10, 40));
  });

  it('refuses a bad filter, naming where it went wrong, and a token of another query', async () => {
    const bad = xray.send(new GetTraceSummariesCommand({ ...all, FilterExpression: 'annotation.tier = ' }));
    await expect(bad).rejects.toBeInstanceOf(InvalidRequestException);
    await expect(bad).rejects.toThrow(/at 1:\d+/);
    const first = await xray.send(new GetTraceSummariesCommand({ ...all }));
    const other = xray.send(new GetTraceSummariesCommand({ ...all, FilterExpression: 'fault', NextToken: first.NextToken }));
    await expect(other).rejects.toBeInstanceOf(InvalidRequestException);
  });

  it('answers 503 with a reason when no trace store is configured', async () => {
    const bare = await startStack({}, { worker: false });
    const client = new XRayClient({ endpoint: bare.baseUrl, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' }, maxAttempts: 1 });
    try {
      const get = client.send(new BatchGetTracesCommand({ TraceIds: [traces[0]!.id] }));
      const unavailable = { name: 'ServiceUnavailableException', $metadata: expect.objectContaining({ httpStatusCode: 503 }) };
      await expect(get).rejects.toMatchObject(unavailable);
      await expect(get).rejects.toThrow(/no trace store/);
      await expect(client.send(new GetTraceSummariesCommand({ ...all }))).rejects.toMatchObject(unavailable);
    } finally {
      client.destroy();
      await dropPrefix(redis, bare.cfg.keyPrefix);
      await bare.close();
    }
  });
});
