import { randomBytes } from 'node:crypto';
import postgres, { type Sql } from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyMigrations, MIGRATIONS } from '../../src/traces/store/migrations.js';
import { dayOf, dropExpiredPartitions, partitionName } from '../../src/traces/store/partitions.js';
import { getTraces, listTraceSummaries } from '../../src/traces/store/reader.js';
import { traceStore, type TraceStore } from '../../src/traces/store/store.js';
import { writeDocuments } from '../../src/traces/store/writer.js';

const databaseUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const connect = (): Sql => postgres(databaseUrl, { max: 4, onnotice: () => {} });

// A fixed clock and seeded ids: every run writes the same documents.
const NOW = 1_796_601_600 + 13 * 3600; // 2026-12-07 13:00 UTC
let seed = 42;
function hex(n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    s += (seed >>> 16).toString(16).slice(-1);
  }
  return s;
}
const traceId = (epoch: number) => `1-${Math.floor(epoch).toString(16)}-${hex(24)}`;

const clients: Sql[] = [];
const schemas: string[] = [];
function freshStore(options: { retentionSeconds?: number; batchSize?: number } = {}): TraceStore {
  const sql = connect();
  clients.push(sql);
  const schema = `test_trace_store_${randomBytes(4).toString('hex')}`;
  schemas.push(schema);
  return traceStore(sql, { schema, ...options });
}

afterAll(async () => {
  const sql = connect();
  for (const s of schemas) await sql.unsafe(`drop schema if exists "${s}" cascade`);
  await sql.end();
  await Promise.all(clients.map((c) => c.end()));
});

describe('migrations', () => {
  it('apply each version once, also from two connections at once and when run again', async () => {
    const a = freshStore();
    const b = traceStore(connect(), a.options);
    clients.push(b.sql);
    const [ra, rb] = await Promise.all([applyMigrations(a), applyMigrations(b)]);
    expect([...ra.applied, ...rb.applied].sort()).toEqual(MIGRATIONS.map((m) => m.version));
    expect((await applyMigrations(a)).applied).toEqual([]);
    const ledger = await a.sql.unsafe(`select version from "${a.options.schema}".schema_migrations order by version`);
    expect(ledger.map((r) => r.version)).toEqual(MIGRATIONS.map((m) => m.version));
  });
});

/** A trace as three documents: a root segment with a subsegment, a downstream segment, an independent subsegment. */
function makeTrace(epoch: number, i: number) {
  const tid = traceId(epoch);
  const rootId = hex(16);
  const callId = hex(16);
  const start = epoch + i * 0.001;
  const root = {
    trace_id: tid, id: rootId, name: 'front', start_time: start, end_time: start + 0.5, origin: 'AWS::EC2::Instance',
    http: { request: { method: 'GET', url: `https://front/${i}` }, response: { status: 200 } },
    metadata: { default: { nested: { list: [1, 'two', null, { three: 3 }] } } },
    subsegments: [{ id: callId, name: 'back', start_time: start + 0.1, end_time: start + 0.4, namespace: 'remote', annotations: { n: i } }],
  };
  const down = { trace_id: tid, id: hex(16), parent_id: callId, name: 'back', start_time: start + 0.15, end_time: start + 0.35, sql: { url: 'db' } };
  const sub = { type: 'subsegment', trace_id: tid, id: hex(16), parent_id: rootId, name: 'local', start_time: start + 0.41, end_time: start + 0.45 };
  // Odd spacing and an exponent prove the text comes back as sent, not re-serialised.
  const texts = [JSON.stringify(root, null, 1), JSON.stringify(down).replace(`"end_time":${down.end_time}`, `"end_time" : ${down.end_time.toExponential()}`), JSON.stringify(sub)];
  return { tid, rootId, texts };
}

describe('documents', () => {
  let store: TraceStore;
  beforeAll(async () => {
    store = freshStore({ batchSize: 250 });
    await applyMigrations(store);
  });

  it('keep hundreds of documents whole, once each, and a completed placeholder replaces its stand-in', async () => {
    const traces = Array.from({ length: 120 }, (_, i) => makeTrace(NOW - 3600, i));
    const all = traces.flatMap((t) => t.texts);
    // placeholder of trace 0's downstream segment, completed by the second call
    const down0 = JSON.parse(all[1]!);
    const placeholder = JSON.stringify({ trace_id: down0.trace_id, id: down0.id, name: 'back', start_time: down0.start_time, in_progress: true });
    const first = [placeholder, ...all.slice(2), all[0]!, ...all.slice(2, 60), all[0]!];
    const r1 = await writeDocuments(store, first.map((text) => ({ text })), { now: NOW });
    expect(r1.rejected).toEqual([]);
    expect(r1.written).toBe(all.length);
    const [mid] = await listPartial(store, traces[0]!.tid);
    expect(mid).toBe(true);

    // resend everything; a late placeholder must not replace a complete document
    const late = JSON.stringify({ ...JSON.parse(all[0]!), in_progress: true, end_time: undefined });
    const r2 = await writeDocuments(store, [...all, late, ...all.slice(0, 30), 'not json'].map((text) => ({ text })), { now: NOW });
    expect(r2.rejected).toEqual([{ index: all.length + 31, reason: 'not JSON' }]);

    const got = await getTraces(store, [...traces.map((t) => t.tid), '1-00000000-000000000000000000000000', 'bogus']);
    expect(got.unknown).toEqual(['1-00000000-000000000000000000000000', 'bogus']);
    expect(got.traces).toHaveLength(traces.length);
    for (const [i, t] of got.traces.entries()) {
      const sent = traces[i]!.texts;
      expect(t.id).toBe(traces[i]!.tid);
      expect(t.documents.map((d) => d.text).sort()).toEqual([...sent].sort());
      expect(t.documents.map((d) => JSON.parse(d.text))).toEqual(expect.arrayContaining(sent.map((s) => JSON.parse(s))));
      expect(t.duration).toBeCloseTo(0.5, 9);
    }
    const [partial, count] = await listPartial(store, traces[0]!.tid);
    expect(partial).toBe(false);
    expect(count).toBe(3);
    const [{ n }] = await store.sql.unsafe<[{ n: number }]>(`select count(*)::int as n from "${store.options.schema}".documents`);
    expect(n).toBe(all.length);
  });

  it('summarise a trace from its root segment, every segment and every subsegment annotation', async () => {
    const tid = traceId(NOW - 600);
    const start = NOW - 600 + 0.25;
    const root = {
      trace_id: tid, id: 'a000000000000001', name: 'checkout', origin: 'AWS::ECS::Container', user: 'alice',
      start_time: start, end_time: start + 2, fault: true, aws: { account_id: '123456789012' },
      http: { request: { method: 'POST', url: 'https://shop/checkout', user_agent: 'curl/8', client_ip: '10.0.0.1' }, response: { status: 502 } },
      annotations: { tier: 'gold' },
      subsegments: [{ id: 'a000000000000002', name: 'payments', start_time: start + 0.1, end_time: start + 1.9, fault: true, namespace: 'remote',
        annotations: { attempt: 2, retried: true }, subsegments: [{ id: 'a000000000000003', name: 'sign', start_time: start + 0.2, end_time: start + 0.3, annotations: { tier: 'gold' } }] }],
    };
    const payments = {
      trace_id: tid, id: 'b000000000000001', parent_id: 'a000000000000002', name: 'payments', start_time: start + 0.2, end_time: start + 2.5,
      user: 'alice', error: true, throttle: true, http: { response: { status: 429 } }, annotations: { tier: 'silver' },
    };
    await writeDocuments(store, [root, payments].map((d) => ({ text: JSON.stringify(d) })), { now: NOW });
    const { summaries } = await listTraceSummaries(store, { start: NOW - 601, end: NOW - 598 });
    expect(summaries).toHaveLength(1);
    const s = summaries[0]!;
    const checkout = { name: 'checkout', type: 'AWS::ECS::Container', account_id: '123456789012' };
    const pay = { name: 'payments', type: null, account_id: null };
    expect(s).toMatchObject({
      traceId: tid, startTime: start, endTime: start + 2.5, hasFault: true, hasError: true, hasThrottle: true, isPartial: false,
      root: { id: 'a000000000000001', name: 'checkout', type: 'AWS::ECS::Container' },
      http: { method: 'POST', url: 'https://shop/checkout', status: 502, userAgent: 'curl/8', clientIp: '10.0.0.1' },
      documentCount: 2,
    });
    expect(s.duration).toBeCloseTo(2.5, 9);
    expect(s.responseTime).toBeCloseTo(2, 9);
    expect(s.serviceNames.sort()).toEqual(['checkout', 'payments']);
    expect(s.services).toEqual(expect.arrayContaining([checkout, pay]));
    expect(s.users).toEqual([{ user: 'alice', services: expect.arrayContaining([checkout, pay]) }]);
    expect(s.annotations.attempt).toEqual([{ value: 2, services: [checkout] }]);
    expect(s.annotations.retried).toEqual([{ value: true, services: [checkout] }]);
    expect(s.annotations.tier).toEqual(expect.arrayContaining([{ value: 'gold', services: [checkout] }, { value: 'silver', services: [pay] }]));
    expect(s.annotations.tier).toHaveLength(2);

    // the annotation and service indexes answer containment queries
    const t = `"${store.options.schema}".traces`;
    const byAnn = await store.sql.unsafe(`select trace_id from ${t} where annotations @> '{"tier":[{"value":"silver"}]}'`);
    expect(byAnn.map((r) => r.trace_id)).toEqual([tid]);
    const byService = await store.sql.unsafe(`select trace_id from ${t} where service_names @> array['payments']`);
    expect(byService.map((r) => r.trace_id)).toEqual([tid]);
  });

  it('page through every trace once, in (start_time, trace_id) order', async () => {
    const seen: string[] = [];
    let after;
    do {
      const page = await listTraceSummaries(store, { start: NOW - 86_400, end: NOW, limit: 7, after });
      expect(page.summaries.length).toBeLessThanOrEqual(7);
      seen.push(...page.summaries.map((s) => s.traceId));
      after = page.next;
    } while (after);
    const [{ n }] = await store.sql.unsafe<[{ n: number }]>(`select count(*)::int as n from "${store.options.schema}".traces`);
    expect(seen).toHaveLength(n);
    expect(new Set(seen).size).toBe(n);
    expect(n).toBe(121);
  });
});

describe('concurrent writers', () => {
  it('two connections writing parts of the same traces at once leave complete summaries', async () => {
    const a = freshStore();
    await applyMigrations(a);
    const b = traceStore(connect(), a.options);
    clients.push(b.sql);
    const traces = Array.from({ length: 200 }, (_, i) => makeTrace(NOW - 7200, i));
    const all = traces.flatMap((t) => t.texts).map((text) => ({ text }));
    // every trace split between the writers: without a per-trace lock each would summarise only
    // what it saw committed, and the later summary would miss the other's documents
    const [ra, rb] = await Promise.all([
      writeDocuments(a, all.filter((_, i) => i % 3 !== 2), { now: NOW }),
      writeDocuments(b, all.filter((_, i) => i % 3 === 2), { now: NOW }),
    ]);
    expect(ra.rejected.concat(rb.rejected)).toEqual([]);
    const rows = await a.sql.unsafe<{ document_count: number; is_partial: boolean }[]>(
      `select document_count, is_partial from "${a.options.schema}".traces`,
    );
    expect(rows).toHaveLength(traces.length);
    expect(rows.every((r) => r.document_count === 3 && !r.is_partial)).toBe(true);
  });

  it('refuse documents whose trace id names a day retention has dropped or a far future one', async () => {
    const store = freshStore();
    await applyMigrations(store);
    const old = makeTrace(NOW - 8 * 86_400, 0).texts[0]!;
    const future = makeTrace(NOW + 3 * 86_400, 0).texts[0]!;
    const r = await writeDocuments(store, [{ text: old }, { text: future }], { now: NOW });
    expect(r).toEqual({
      written: 0,
      rejected: [{ index: 0, reason: 'older than the retention' }, { index: 1, reason: 'trace id time is in the future' }],
    });
  });
});

async function listPartial(store: TraceStore, tid: string): Promise<[boolean, number]> {
  const [r] = await store.sql.unsafe(`select is_partial, document_count from "${store.options.schema}".traces where trace_id = $1`, [tid]);
  return [r!.is_partial, r!.document_count];
}

describe('partitions', () => {
  it('are made per day for a batch, and retention drops the day that has passed it', async () => {
    const week = 7 * 86_400;
    const store = freshStore({ retentionSeconds: week });
    await applyMigrations(store);
    const older = makeTrace(NOW - 86_400, 0);
    const newer = makeTrace(NOW, 1);
    await writeDocuments(store, [...older.texts, ...newer.texts].map((text) => ({ text })), { now: NOW });
    const parts = async () =>
      (await store.sql.unsafe(`select tablename from pg_tables where schemaname = $1 and tablename like '%\\_p%' order by 1`, [store.options.schema])).map((r) => r.tablename);
    const d1 = dayOf(NOW - 86_400);
    const d2 = dayOf(NOW);
    const d3 = d2 + 1; // made a day early
    const made = [d1, d2, d3];
    expect(await parts()).toEqual([...made.map((d) => partitionName('documents', d)), ...made.map((d) => partitionName('traces', d))]);

    // just after the older day's last second passes the retention
    const later = (d1 + 1) * 86_400 + week + 1;
    expect(await dropExpiredPartitions(store, later)).toEqual([partitionName('documents', d1), partitionName('traces', d1)]);
    expect(await dropExpiredPartitions(store, later)).toEqual([]);
    expect(await parts()).toEqual([partitionName('documents', d2), partitionName('documents', d3), partitionName('traces', d2), partitionName('traces', d3)]);
    const got = await getTraces(store, [older.tid, newer.tid]);
    expect(got.unknown).toEqual([older.tid]);
    expect(got.traces.map((t) => t.id)).toEqual([newer.tid]);

    // a document of the dropped day is refused, not stored in a partition made again
    const r = await writeDocuments(store, [{ text: older.texts[0]! }], { now: later });
    expect(r.rejected).toEqual([{ index: 0, reason: 'older than the retention' }]);
  });
});
