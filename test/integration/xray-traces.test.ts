import type { Sql } from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BatchGetTracesCommand,
  GetTraceGraphCommand,
  GetTraceSummariesCommand,
  InvalidRequestException,
  type XRayClient,
  paginateGetTraceSummaries,
  type Service,
  type TimeRangeType,
  type TraceSummary,
} from '@aws-sdk/client-xray';
import type { TraceStore } from '../../src/traces/store/store.js';
import { writeDocuments } from '../../src/traces/store/writer.js';
import { openTestStore, seededHex, xrayClient, type TestTraceStore } from '../helpers/trace-store.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { dropPrefix, testRedis, uniquePrefix } from '../helpers/redis.js';

/**
 * BatchGetTraces and GetTraceSummaries over the trace store, read with @aws-sdk/client-xray: 50 hand-made
 * traces whose every property is a function of their index, so each filter's answer is known in advance.
 */

const NOW = 1_796_601_600 + 13 * 3600; // 2026-12-07 13:00 UTC
const BASE = NOW - 7200;
const N = 50;
const PAGE = 7;

const hex = seededHex(7);

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

// Hand-made traces outside `all`, each for one question.
const tid = (epoch: number) => `1-${epoch.toString(16)}-${hex(24)}`;
const at = (seconds: number) => new Date(seconds * 1000);

// its id was made 1000 s before the request started (an upstream proxy minted it): TraceId and Event
// time ranges find it in different places
const SKEW_ID_EPOCH = BASE - 3000;
const SKEW_START = BASE - 2000.5;
const skewed: Doc = { trace_id: tid(SKEW_ID_EPOCH), id: hex(16), name: 'front', start_time: SKEW_START, end_time: SKEW_START + 0.2 };

// ten traces with one id epoch and one start: pages must split them by id and lose none
const TIE = BASE - 1000;
const ties: Doc[] = Array.from({ length: 10 }, () => ({ trace_id: tid(TIE), id: hex(16), name: 'front', start_time: TIE + 0.5, end_time: TIE + 0.7 }));

/**
 * front → orders (traced, its own segment) → inventory-db (a remote call no segment answered); with
 * `fail`, inventory-db's call fails with an exception and the fault passes up through orders to front.
 * With `dynamo`, front also reads a DynamoDB table (an AWS call: an inferred AWS::DynamoDB::Table node).
 */
function ordersTrace(epoch: number, fail: boolean, dynamo: boolean): Doc[] {
  const id = tid(epoch);
  const t0 = epoch + 0.1;
  const callOrders = hex(16);
  const fault = fail ? { fault: true } : {};
  const front: Doc = {
    trace_id: id, id: hex(16), name: 'front', origin: 'AWS::EC2::Instance', start_time: t0, end_time: t0 + 1,
    http: { request: { method: 'GET', url: 'https://shop.example/cart' }, response: { status: fail ? 500 : 200 } }, ...fault,
    subsegments: [
      { id: callOrders, name: 'orders', namespace: 'remote', start_time: t0 + 0.1, end_time: t0 + 0.9, ...fault, http: { response: { status: fail ? 500 : 200 } } },
      ...(dynamo ? [{ id: hex(16), name: 'DynamoDB', namespace: 'aws', start_time: t0 + 0.02, end_time: t0 + 0.06, aws: { operation: 'GetItem', table_name: 'carts' } }] : []),
    ],
  };
  const orders: Doc = {
    trace_id: id, id: hex(16), parent_id: callOrders, name: 'orders', origin: 'AWS::ECS::Container', start_time: t0 + 0.15, end_time: t0 + 0.85, ...fault,
    subsegments: [{
      id: hex(16), name: 'inventory-db', namespace: 'remote', start_time: t0 + 0.2, end_time: t0 + 0.8, ...fault,
      ...(fail ? { cause: { exceptions: [{ id: hex(16), type: 'SocketError', message: 'connection reset by peer' }] } } : {}),
    }],
  };
  return [front, orders];
}
const failing = ordersTrace(BASE - 1500, true, false);
const healthy = ordersTrace(BASE - 1400, false, true);
const crafted = [skewed, ...ties, ...failing, ...healthy];

describe('BatchGetTraces and GetTraceSummaries over the trace store (@aws-sdk/client-xray)', () => {
  const redis = testRedis();
  const prefix = uniquePrefix('traces');
  let db: TestTraceStore;
  let sql: Sql;
  let store: TraceStore;
  let stack: Stack;
  let xray: XRayClient;

  async function summaries(input: { StartTime: Date; EndTime: Date; FilterExpression?: string; TimeRangeType?: TimeRangeType | undefined }): Promise<TraceSummary[]> {
    const out: TraceSummary[] = [];
    for await (const page of paginateGetTraceSummaries({ client: xray }, { ...input })) out.push(...(page.TraceSummaries ?? []));
    return out;
  }

  beforeAll(async () => {
    db = await openTestStore('xray_traces');
    ({ sql, store } = db);
    const docs = [...traces.flatMap((t) => t.docs).map((d, n) => ({ text: textOf(d, n) })), ...crafted.map((d) => ({ text: JSON.stringify(d) }))];
    const written = await writeDocuments(store, docs, { now: NOW });
    expect(written.rejected).toEqual([]);
    stack = await startStack({ keyPrefix: prefix }, { worker: false, traces: { store, pageSize: PAGE } });
    xray = xrayClient(stack.baseUrl);
  }, 60_000);

  afterAll(async () => {
    xray?.destroy();
    await stack?.close();
    await db?.drop();
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
    // newest first, as X-Ray: the first page holds the latest traces
    expect(first.TraceSummaries?.map((s) => s.Id)).toEqual(traces.slice(N - PAGE).map((t) => t.id).reverse());

    const listed = await summaries(all);
    expect(listed.map((s) => s.Id)).toEqual(traces.map((t) => t.id).reverse());
    const range = { StartTime: new Date((BASE + 100) * 1000), EndTime: new Date((BASE + 400) * 1000) };
    expect((await summaries(range)).map((s) => s.Id)).toEqual(idsWhere(() => true, 10, 40).reverse());

    const s4 = listed.find((s) => s.Id === traces[4]!.id)!;
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
    expect(s4.MatchedEventTime?.getTime()).toBe((BASE + 40.25) * 1000);
    expect(s4.FaultRootCauses).toEqual([]);
    const s3 = listed.find((s) => s.Id === traces[3]!.id)!;
    expect(s3.HasFault).toBe(true);
    expect(s3.ServiceIds?.map((s) => s.Name).sort()).toEqual(['billing', 'front']);
    // billing faulted and front still answered 200: billing is the cause, and the client never saw it
    expect(s3.FaultRootCauses).toHaveLength(1);
    expect(s3.FaultRootCauses![0]!.ClientImpacting).toBe(false);
    expect(s3.FaultRootCauses![0]!.Services?.map((s) => s.Name)).toEqual(['front', 'billing']);
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
    expect((await summaries({ ...all, FilterExpression: expr })).map((s) => s.Id)).toEqual(idsWhere(pred).reverse());
    const range = { StartTime: new Date((BASE + 100) * 1000), EndTime: new Date((BASE + 400) * 1000) };
    expect((await summaries({ ...range, FilterExpression: expr })).map((s) => s.Id)).toEqual(idsWhere(pred, 10, 40).reverse());
  });

  it('refuses a bad filter, naming where it went wrong, and a token of another query', async () => {
    const bad = xray.send(new GetTraceSummariesCommand({ ...all, FilterExpression: 'annotation.tier = ' }));
    await expect(bad).rejects.toBeInstanceOf(InvalidRequestException);
    await expect(bad).rejects.toThrow(/at 1:\d+/);
    const first = await xray.send(new GetTraceSummariesCommand({ ...all }));
    const other = xray.send(new GetTraceSummariesCommand({ ...all, FilterExpression: 'fault', NextToken: first.NextToken }));
    await expect(other).rejects.toBeInstanceOf(InvalidRequestException);
  });

  it('counts every trace a page passed over, matched or not, and pages traces sharing a time by id', async () => {
    let token: string | undefined;
    let processed = 0;
    const ids: string[] = [];
    do {
      const page = await xray.send(new GetTraceSummariesCommand({ ...all, FilterExpression: 'fault', NextToken: token }));
      processed += page.TracesProcessedCount ?? 0;
      ids.push(...(page.TraceSummaries ?? []).map((s) => s.Id!));
      token = page.NextToken;
    } while (token);
    expect(ids).toEqual(idsWhere(rootFault).reverse());
    expect(processed).toBe(N);

    const tied = ties.map((d) => d.trace_id as string).sort().reverse();
    for (const type of ['Event', 'TraceId'] as const) {
      const listed = await summaries({ StartTime: at(TIE - 1), EndTime: at(TIE + 1), TimeRangeType: type });
      expect(listed.map((x) => x.Id), type).toEqual(tied);
    }
  });

  it('selects on the epoch in the trace id with TimeRangeType TraceId and on the start with Event (the default)', async () => {
    const nearId = { StartTime: at(SKEW_ID_EPOCH - 100), EndTime: at(SKEW_ID_EPOCH + 100) };
    const nearStart = { StartTime: at(SKEW_START - 100), EndTime: at(SKEW_START + 100) };
    const ids = async (q: Parameters<typeof summaries>[0]) => (await summaries(q)).map((x) => x.Id);

    const byId = await summaries({ ...nearId, TimeRangeType: 'TraceId' });
    expect(byId.map((x) => x.Id)).toEqual([skewed.trace_id]);
    expect(byId[0]!.MatchedEventTime).toBeUndefined();
    expect(await ids({ ...nearStart, TimeRangeType: 'TraceId' })).toEqual([]);

    for (const type of ['Event', 'Service', undefined] as const) {
      expect(await ids({ ...nearId, TimeRangeType: type }), type).toEqual([]);
      const byStart = await summaries({ ...nearStart, TimeRangeType: type });
      expect(byStart.map((x) => x.Id), type).toEqual([skewed.trace_id]);
      expect(byStart[0]!.MatchedEventTime?.getTime(), type).toBe(SKEW_START * 1000);
    }
    const bad = xray.send(new GetTraceSummariesCommand({ ...nearId, TimeRangeType: 'Wall' as never }));
    await expect(bad).rejects.toBeInstanceOf(InvalidRequestException);
  });

  it('names the deepest faulting entity as the root cause when a downstream fault passes up', async () => {
    const [s] = await summaries({ StartTime: at(BASE - 1510), EndTime: at(BASE - 1490) });
    expect(s?.Id).toBe(failing[0]!.trace_id);
    expect(s!.HasFault).toBe(true);
    expect(s!.FaultRootCauses).toEqual([
      {
        ClientImpacting: true,
        Services: [
          {
            Name: 'front', Names: ['front'], Type: 'AWS::EC2::Instance', Inferred: false,
            EntityPath: [{ Name: 'front', Exceptions: [], Remote: false }, { Name: 'orders', Exceptions: [], Remote: true }],
          },
          {
            Name: 'orders', Names: ['orders'], Type: 'AWS::ECS::Container', Inferred: false,
            EntityPath: [
              { Name: 'orders', Exceptions: [], Remote: false },
              { Name: 'inventory-db', Exceptions: [{ Name: 'SocketError', Message: 'connection reset by peer' }], Remote: true },
            ],
          },
          { Name: 'inventory-db', Names: ['inventory-db'], Type: 'remote', Inferred: true, EntityPath: [{ Name: 'inventory-db', Exceptions: [], Remote: true }] },
        ],
      },
    ]);
    expect(s!.ErrorRootCauses).toEqual([]);
    // the time goes down the same path: each step takes most of its caller's time
    const [rt] = s!.ResponseTimeRootCauses!;
    expect(rt?.Services?.map((x) => x.Name)).toEqual(['front', 'orders', 'inventory-db']);
    const coverage = rt!.Services!.flatMap((x) => x.EntityPath!.map((e) => [e.Name, e.Coverage]));
    expect(coverage.map(([n]) => n)).toEqual(['front', 'orders', 'orders', 'inventory-db', 'inventory-db']);
    [1, 0.8, 0.7, 0.6, 0.6].forEach((c, i) => expect(coverage[i]![1]).toBeCloseTo(c, 6));

    const [ok] = await summaries({ StartTime: at(BASE - 1410), EndTime: at(BASE - 1390) });
    expect(ok?.Id).toBe(healthy[0]!.trace_id);
    expect(ok!.FaultRootCauses).toEqual([]);
  });

  it('draws the service graph of two traces, with inferred nodes for the calls no segment answered', async () => {
    const unknown = `1-${BASE.toString(16)}-${'0'.repeat(24)}`;
    const res = await xray.send(new GetTraceGraphCommand({ TraceIds: [failing[0]!.trace_id as string, healthy[0]!.trace_id as string, unknown] }));
    const services = res.Services ?? [];
    expect(res.NextToken).toBeUndefined();
    expect(services.map((x) => `${x.Type}|${x.Name}`).sort()).toEqual(
      ['AWS::DynamoDB::Table|DynamoDB', 'AWS::EC2::Instance|front', 'AWS::ECS::Container|orders', 'client|front', 'remote|inventory-db'],
    );
    const node = (type: string, name: string) => services.find((x) => x.Type === type && x.Name === name)!;
    const edge = (from: Service, to: Service) => from.Edges?.find((e) => e.ReferenceId === to.ReferenceId);
    const client = node('client', 'front');
    const front = node('AWS::EC2::Instance', 'front');
    const orders = node('AWS::ECS::Container', 'orders');
    const inventory = node('remote', 'inventory-db');
    const dynamo = node('AWS::DynamoDB::Table', 'DynamoDB');

    expect(front.Root).toBe(true);
    expect(front.State).toBe('active');
    expect(front.SummaryStatistics).toMatchObject({ TotalCount: 2, OkCount: 1, FaultStatistics: { TotalCount: 1 } });
    expect(front.SummaryStatistics!.TotalResponseTime).toBeCloseTo(2, 6);
    expect(front.ResponseTimeHistogram?.reduce((n, h) => n + h.Count!, 0)).toBe(2);
    expect(client.State).toBe('unknown');
    expect(edge(client, front)?.SummaryStatistics?.TotalCount).toBe(2);
    expect(client.Edges).toHaveLength(1);

    // front → orders: a call a traced segment answered, drawn to orders' own node, known by the caller's name
    const toOrders = edge(front, orders);
    expect(toOrders?.SummaryStatistics).toMatchObject({ TotalCount: 2, OkCount: 1, FaultStatistics: { TotalCount: 1 } });
    expect(toOrders?.Aliases).toEqual([{ Name: 'orders', Names: ['orders'], Type: 'remote' }]);
    expect(edge(front, dynamo)?.SummaryStatistics).toMatchObject({ TotalCount: 1, OkCount: 1 });
    expect(front.Edges).toHaveLength(2);

    // inventory-db sent no segment: an inferred node whose statistics are its callers' view of it
    expect(edge(orders, inventory)?.SummaryStatistics).toMatchObject({ TotalCount: 2, FaultStatistics: { TotalCount: 1 } });
    expect(inventory.SummaryStatistics).toMatchObject({ TotalCount: 2, OkCount: 1, FaultStatistics: { TotalCount: 1 } });
    expect(inventory.SummaryStatistics!.TotalResponseTime).toBeCloseTo(1.2, 6);
    expect(inventory.Edges).toEqual([]);
    expect(dynamo.SummaryStatistics).toMatchObject({ TotalCount: 1, OkCount: 1 });
    expect(orders.SummaryStatistics).toMatchObject({ TotalCount: 2, FaultStatistics: { TotalCount: 1 } });

    // one trace alone: only its own nodes
    const one = await xray.send(new GetTraceGraphCommand({ TraceIds: [failing[0]!.trace_id as string] }));
    expect((one.Services ?? []).map((x) => x.Name).sort()).toEqual(['front', 'front', 'inventory-db', 'orders']);

    await expect(xray.send(new GetTraceGraphCommand({ TraceIds: [] }))).rejects.toBeInstanceOf(InvalidRequestException);
    const tooMany = Array.from({ length: 101 }, () => unknown);
    await expect(xray.send(new GetTraceGraphCommand({ TraceIds: tooMany }))).rejects.toBeInstanceOf(InvalidRequestException);
  });

  it('answers 503 with a reason when no trace store is configured', async () => {
    const bare = await startStack({}, { worker: false });
    const client = xrayClient(bare.baseUrl);
    try {
      const get = client.send(new BatchGetTracesCommand({ TraceIds: [traces[0]!.id] }));
      const unavailable = { name: 'ServiceUnavailableException', $metadata: expect.objectContaining({ httpStatusCode: 503 }) };
      await expect(get).rejects.toMatchObject(unavailable);
      await expect(get).rejects.toThrow(/no trace store/);
      await expect(client.send(new GetTraceSummariesCommand({ ...all }))).rejects.toMatchObject(unavailable);
      await expect(client.send(new GetTraceGraphCommand({ TraceIds: [traces[0]!.id] }))).rejects.toMatchObject(unavailable);
    } finally {
      client.destroy();
      await dropPrefix(redis, bare.cfg.keyPrefix);
      await bare.close();
    }
  });
});
