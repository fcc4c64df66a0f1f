import type { Sql } from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { traceCommand, tracesCommand, type TraceCliIo, type TraceCliOptions, type TracesCliOptions } from '../../src/traces/cli/cli.js';
import type { TraceStore } from '../../src/traces/store/store.js';
import { writeDocuments } from '../../src/traces/store/writer.js';
import { openTestStore, seededHex, xrayClient, type TestTraceStore } from '../helpers/trace-store.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { dropPrefix, testRedis, uniquePrefix } from '../helpers/redis.js';

/**
 * `traces` and `trace ID` against a running server with a trace store, called as functions with the
 * server's base URL: 12 hand-made traces; the odd ones call billing, whose segment names the calling
 * subsegment as its parent and faults when i % 4 === 1; every trace streams one subsegment on its own.
 */

const NOW = 1_796_601_600 + 13 * 3600; // 2026-12-07 13:00 UTC
const BASE = NOW - 1800;
const N = 12;
const PAGE = 5;

const hex = seededHex(11);

const callsBilling = (i: number) => i % 2 === 1;
const billingFault = (i: number) => i % 4 === 1;

function makeTrace(i: number) {
  const epoch = BASE + i * 60;
  const id = `1-${epoch.toString(16)}-${hex(24)}`;
  const start = epoch + 0.25;
  const rootId = hex(16);
  const callId = hex(16);
  const root = {
    trace_id: id,
    id: rootId,
    name: 'front',
    start_time: start,
    end_time: start + 0.5,
    http: { request: { method: 'GET', url: `https://shop.example/orders/${i}` }, response: { status: billingFault(i) ? 502 : 200 } },
    annotations: { n: i },
    ...(billingFault(i) ? { fault: true } : {}),
    subsegments: [{ id: callId, name: callsBilling(i) ? 'billing' : 'cache', namespace: 'remote', start_time: start + 0.1, end_time: start + 0.4, ...(billingFault(i) ? { fault: true } : {}) }],
  };
  // sent on its own, before its segment was complete (a streamed subsegment)
  const streamed = { type: 'subsegment', trace_id: id, parent_id: rootId, id: hex(16), name: 'render', start_time: start + 0.42, end_time: start + 0.48 };
  const docs: Record<string, unknown>[] = [root, streamed];
  if (callsBilling(i)) {
    docs.push({
      trace_id: id,
      id: hex(16),
      parent_id: callId,
      name: 'billing',
      start_time: start + 0.15,
      end_time: start + 0.35,
      ...(billingFault(i) ? { fault: true, cause: { exceptions: [{ id: hex(16), type: 'CardDeclined', message: `card ${i} declined` }] } } : {}),
    });
  }
  return { id, docs };
}

const traces = Array.from({ length: N }, (_, i) => makeTrace(i));
const idsWhere = (pred: (i: number) => boolean) => traces.filter((_, i) => pred(i)).map((t) => t.id).sort();
const ID = /1-[0-9a-f]{8}-[0-9a-f]{24}/;

describe('traces and trace commands against the HTTP API', () => {
  const redis = testRedis();
  const prefix = uniquePrefix('trace-cli');
  let db: TestTraceStore;
  let sql: Sql;
  let store: TraceStore;
  let stack: Stack;

  function run<O>(command: (o: O, io: TraceCliIo) => Promise<number>, o: O) {
    const out: string[] = [];
    const err: string[] = [];
    const io: TraceCliIo = { out: (l) => out.push(...l.split('\n')), err: (l) => err.push(l), env: {}, now: () => NOW };
    return command(o, io).then((code) => ({ code, out, err }));
  }
  const traces_ = (o: TracesCliOptions) => run(tracesCommand, { endpoint: stack.baseUrl, ...o });
  const trace = (id: string, o: TraceCliOptions = {}) => run((opts: TraceCliOptions, io) => traceCommand(id, opts, io), { endpoint: stack.baseUrl, ...o });
  const listed = (out: string[]) => out.slice(1).map((l) => ID.exec(l)?.[0]).filter((v): v is string => v !== undefined).sort();

  beforeAll(async () => {
    db = await openTestStore('trace_cli');
    ({ sql, store } = db);
    const written = await writeDocuments(store, traces.flatMap((t) => t.docs).map((d) => ({ text: JSON.stringify(d) })), { now: NOW });
    expect(written.rejected).toEqual([]);
    stack = await startStack({ keyPrefix: prefix }, { worker: false, traces: { store, pageSize: PAGE } });
  }, 60_000);

  afterAll(async () => {
    await stack?.close();
    await db?.drop();
    await dropPrefix(redis, prefix);
    await redis.quit();
  });

  it('lists every trace of the range, paging past the page size, and stops at --limit', async () => {
    const all = await traces_({ since: '1h' });
    expect(all.code).toBe(0);
    expect(all.err).toEqual([]);
    expect(all.out[0]).toMatch(/^TIME \(UTC\)\s+TRACE ID\s+RESPONSE\s+STATUS\s+METHOD URL\s+SERVICES$/);
    expect(listed(all.out)).toEqual(idsWhere(() => true));
    const faulty = all.out.find((l) => l.includes(traces[1]!.id))!;
    expect(faulty).toMatch(/500\.0 ms\s+502 FAULT\s+GET https:\/\/shop\.example\/orders\/1\s+/);
    expect(faulty).toMatch(/billing/);

    const some = await traces_({ since: '2026-12-07T12:25:00Z', until: '2026-12-07T13:00:00Z', limit: '7' });
    expect(some.code).toBe(0);
    expect(listed(some.out)).toHaveLength(7);
    expect(some.err).toEqual([expect.stringMatching(/showing the first 7; there are more/)]);

    const json = await traces_({ since: '1h', json: true });
    expect((JSON.parse(json.out.join('\n')) as { Id: string }[]).map((s) => s.Id).sort()).toEqual(idsWhere(() => true));
  });

  it('narrows the list with --filter, and refuses a bad filter in one line naming the position', async () => {
    const f = await traces_({ since: '1h', filter: 'service("billing") { fault }' });
    expect(f.code).toBe(0);
    expect(listed(f.out)).toEqual(idsWhere(billingFault));
    expect(listed(f.out).length).toBeLessThan(N);

    const bad = await traces_({ since: '1h', filter: 'annotation.n = ' });
    expect(bad.code).toBe(2);
    expect(bad.out).toEqual([]);
    expect(bad.err).toHaveLength(1);
    expect(bad.err[0]).toMatch(/^traces: refused: .*InvalidRequestException: .*at 1:\d+/);
  });

  it('prints a trace as a timeline: every segment, the streamed subsegment, the called segment under its caller, the fault', async () => {
    const t = traces[5]!;
    const r = await trace(t.id);
    expect(r.code).toBe(0);
    expect(r.err).toEqual([]);
    expect(r.out[0]).toBe(`trace ${t.id}  ${new Date((BASE + 300.25) * 1000).toISOString()}  500.0 ms  2 segments`);
    const body = r.out.slice(1).map((l) => l.replace(/^\s*\+[\d.]+ ms\s+[\d.]+ ms  /, ''));
    expect(body).toEqual([
      'front  GET https://shop.example/orders/5 502  FAULT  n=5',
      '  billing  FAULT',
      '    billing  FAULT  (CardDeclined: card 5 declined)',
      '  render',
    ]);
    expect(r.out[3]).toMatch(/^\s*\+150\.0 ms\s+200\.0 ms/);

    const docs = await trace(t.id, { json: true });
    expect(JSON.parse(docs.out.join('\n'))).toEqual(expect.arrayContaining(t.docs));
  });

  it('says in one line when the trace is unknown, the service keeps no traces, or nothing answers', async () => {
    const unknown = await trace(`1-${BASE.toString(16)}-${'0'.repeat(24)}`);
    expect(unknown.code).toBe(1);
    expect(unknown.err).toEqual([expect.stringMatching(/has no trace 1-/)]);

    const bare = await startStack({}, { worker: false });
    try {
      const r = await run(tracesCommand, { endpoint: bare.baseUrl, since: '1h' });
      expect(r.code).toBe(1);
      expect(r.err).toEqual([expect.stringMatching(/answered 503 ServiceUnavailableException: .*no trace store/)]);
    } finally {
      await dropPrefix(redis, bare.cfg.keyPrefix);
      await bare.close();
    }
    // the bare stack's port is closed now
    const gone = await run(tracesCommand, { endpoint: bare.baseUrl });
    expect(gone.code).toBe(1);
    expect(gone.err).toEqual([expect.stringMatching(/^traces: cannot reach http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/)]);
  });
});
