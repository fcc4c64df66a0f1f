import { randomBytes } from 'node:crypto';
import postgres, { type Sql } from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { matches } from '../../src/traces/filter/evaluate.js';
import { parseFilter } from '../../src/traces/filter/parse.js';
import { compileFilter } from '../../src/traces/filter/sql.js';
import { findTraceIds } from '../../src/traces/filter/sql-query.js';
import { applyMigrations } from '../../src/traces/store/migrations.js';
import { traceStore, type TraceStore } from '../../src/traces/store/store.js';
import { writeDocuments } from '../../src/traces/store/writer.js';

const databaseUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const NOW = 1_796_601_600 + 13 * 3600; // 2026-12-07 13:00 UTC
const BASE = NOW - 7200;

// Seeded: every run writes the same traces.
let seed = 20261207;
function rand(): number {
  seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
  return seed / 2 ** 31;
}
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
const chance = (p: number) => rand() < p;
const hex = (n: number) => Array.from({ length: n }, () => Math.floor(rand() * 16).toString(16)).join('');

type Doc = Record<string, unknown>;

/** One trace: a root (sometimes missing or unfinished), a call to a traced service, an AWS call, odd outcomes. */
function makeTrace(i: number): Doc[] {
  const epoch = BASE + i * 7;
  const traceId = `1-${epoch.toString(16)}-${hex(24)}`;
  const start = epoch + pick([0.125, 0.5, 0.75]);
  const rt = pick([0.05, 0.1, 0.25, 0.5, 1.2, 3]);
  const status = pick([200, 200, 201, 404, 429, 500, 503, undefined]);
  const root: Doc = {
    trace_id: traceId,
    id: hex(16),
    name: pick(['front', 'api']),
    origin: pick(['AWS::EC2::Instance', 'AWS::ECS::Container']),
    start_time: start,
    end_time: start + rt,
    http: {
      request: {
        method: pick(['GET', 'GET', 'POST', 'PUT', 'DELETE']),
        url: pick(['https://shop.example/api/cart', 'https://shop.example/api/items/7', 'http://admin.example/login', 'https://shop.example/']),
        user_agent: pick(['Mozilla/5.0 (X11)', 'curl/8.4', 'okhttp/4.9']),
        client_ip: pick(['10.0.0.1', '10.0.0.2', '192.168.1.9']),
      },
      ...(status === undefined ? {} : { response: { status } }),
    },
  };
  // flags agreeing with the status, contradicting it, or standing alone
  if (status !== undefined && status >= 500 && chance(0.7)) root.fault = true;
  if (status === 500 && chance(0.2)) root.error = true;
  if (status === 429 && chance(0.5)) root.throttle = true;
  if (status === 429 && chance(0.3)) root.error = true;
  if (status === 404 && chance(0.3)) root.fault = true;
  if (status === undefined && chance(0.3)) root[pick(['fault', 'error', 'throttle'])] = true;
  if (chance(0.5)) root.user = pick(['alice', 'bob', 'bea', 'carol']);
  const ann: Doc = {};
  if (chance(0.5)) ann.tier = pick(['gold', 'silver', 'bronze']);
  if (chance(0.5)) ann.n = pick([1, 5, 7.5, 12]);
  if (chance(0.2)) ann.n = '5';
  if (chance(0.4)) ann.flag = chance(0.5);
  if (Object.keys(ann).length) root.annotations = ann;

  const callId = hex(16);
  const subs: Doc[] = [];
  const docs: Doc[] = [];
  if (chance(0.6)) {
    const call = { id: callId, name: 'auth', namespace: 'remote', start_time: start + 0.01, end_time: start + rt * 0.8 };
    subs.push(call);
    const down: Doc = {
      trace_id: traceId, id: hex(16), parent_id: callId, name: pick(['auth', 'billing']), start_time: start + 0.02, end_time: start + rt * 0.7,
    };
    if (chance(0.3)) down.fault = true;
    if (chance(0.2)) down.http = { response: { status: pick([404, 429, 503]) } };
    if (chance(0.3)) down.user = pick(['dave', 'alice']);
    if (chance(0.3)) down.annotations = { tier: pick(['gold', 'platinum']), flag: false };
    docs.push(down);
  }
  if (chance(0.4)) {
    const db: Doc = { id: hex(16), name: 'DynamoDB', namespace: 'aws', aws: { table_name: 'orders' }, start_time: start + 0.03, end_time: start + 0.04 };
    if (chance(0.3)) db.throttle = true;
    if (chance(0.3)) db.annotations = { n: 99 };
    subs.push(db);
  }
  // an unfinished nested subsegment: partial, though no document is in progress
  if (chance(0.1)) subs.push({ id: hex(16), name: 'local', start_time: start + 0.05 });
  if (subs.length) root.subsegments = subs;
  if (chance(0.15)) {
    docs.push({ type: 'subsegment', trace_id: traceId, id: hex(16), parent_id: root.id, name: 'cache', start_time: start + 0.01, end_time: start + 0.02, annotations: { tier: 'silver' } });
  }
  if (chance(0.08)) {
    // still running: only the placeholder
    delete root.end_time;
    root.in_progress = true;
  }
  // no root segment: the caller was not instrumented
  if (chance(0.08)) root.parent_id = hex(16);
  if (chance(0.05)) return [{ ...docs[0], trace_id: traceId, id: hex(16), name: 'search', start_time: start, end_time: start + rt, parent_id: hex(16) }];
  return [root, ...docs];
}

const FILTERS = [
  '',
  'ok',
  'error',
  'fault',
  'throttle',
  '!ok',
  'fault = false',
  'error != false',
  'partial',
  'NOT partial',
  'inferred',
  'responsetime > 0.3',
  'responsetime <= 0.1',
  'responsetime = 0.25',
  'duration >= 1',
  'duration < 0.5 AND ok',
  'http.status = 500',
  'http.status != 200',
  'http.status >= 400 AND http.status < 500',
  'http.url CONTAINS "/api/"',
  'http.url BEGINSWITH "https://shop"',
  'http.url ENDSWITH "/cart"',
  'http.url = "https://shop.example/"',
  'http.url',
  'http.method = "POST"',
  'http.method != "GET"',
  'http.useragent CONTAINS "Mozilla"',
  'http.clientip = "10.0.0.1"',
  'user = "alice"',
  'user',
  'user != "alice"',
  'user BEGINSWITH "b"',
  'annotation.tier = "gold"',
  'annotation.tier CONTAINS "il"',
  'annotation.tier ENDSWITH "d"',
  'annotation.tier BEGINSWITH "pl"',
  '!annotation.tier',
  'annotation.n > 5',
  'annotation.n <= 7.5',
  'annotation.n = "5"',
  'annotation.n != 5',
  'annotation.flag = true',
  'annotation.flag',
  'annotation.flag != false',
  'service("auth")',
  'service("DynamoDB")',
  'NOT service("billing")',
  'service("auth") { fault }',
  '!service("auth") { fault }',
  'service() { throttle }',
  'service(id(name: "front", type: "AWS::EC2::Instance"))',
  'edge("front", "auth")',
  'edge("api", "DynamoDB") { throttle }',
  'rootcause.fault.service { name = "auth" }',
  'fault OR error AND http.method = "POST"',
  '(fault OR error) AND http.method = "POST"',
  'NOT (ok OR user = "alice")',
  'ok http.method = "GET"',
  '!fault !partial annotation.tier = "gold" OR user = "bob"',
  'service("auth") AND !fault AND responsetime > 0.2',
  'NOT (service("billing") { fault } OR http.status = 429)',
  'annotation.tier = "gold" AND NOT edge("front", "auth")',
];

describe('filter expressions compiled to SQL', () => {
  let sql: Sql;
  let store: TraceStore;
  const traces = new Map<string, Doc[]>();

  beforeAll(async () => {
    sql = postgres(databaseUrl, { max: 4, onnotice: () => {} });
    store = traceStore(sql, { schema: `test_filter_sql_${randomBytes(4).toString('hex')}`, batchSize: 200 });
    await applyMigrations(store);
    for (let i = 0; i < 400; i++) {
      const docs = makeTrace(i);
      traces.set((docs[0]!.trace_id as string).toLowerCase(), docs);
    }
    const all = [...traces.values()].flat().map((d) => ({ text: JSON.stringify(d) }));
    const r = await writeDocuments(store, all, { now: NOW });
    expect(r.rejected).toEqual([]);
  });

  afterAll(async () => {
    await sql?.unsafe(`drop schema if exists "${store.options.schema}" cascade`);
    await sql?.end();
  });

  const window = { start: BASE - 10, end: NOW, limit: 10_000 };
  // brute force: every trace whose first start lies in the window, in the store's order
  function expected(text: string): string[] {
    const parsed = parseFilter(text);
    if (!parsed.ok) throw new Error(parsed.error.message);
    return [...traces.entries()]
      .filter(([, docs]) => matches(parsed.ast, { documents: docs }))
      .sort(([a, x], [b, y]) => firstStart(x) - firstStart(y) || (a < b ? -1 : 1))
      .map(([id]) => id);
  }

  it.each(FILTERS)('%j returns exactly what matches() returns', async (text) => {
    const got = await findTraceIds(store, text, window);
    expect(got.ok).toBe(true);
    if (got.ok) expect(got.traceIds).toEqual(expected(text));
  });

  it('decides in SQL alone what the summary row answers, and says when it cannot', async () => {
    const compiled = (text: string) => {
      const p = parseFilter(text);
      if (!p.ok) throw new Error(p.error.message);
      return compileFilter(p.ast, { sql, schema: store.options.schema });
    };
    for (const f of ['annotation.n > 5 OR user = "bob"', 'NOT annotation.tier ENDSWITH "d" user']) expect(compiled(f).exact, f).toBe(true);
    for (const f of ['service("auth") { fault }', 'edge("front", "auth")', 'rootcause.fault.service { name = "auth" }', 'partial']) {
      expect(compiled(f).exact, f).toBe(false);
    }
    // root keywords are undecided only where the summary has no root (matches() may elect a segment whose caller is missing)
    const table = sql.unsafe(`"${store.options.schema}"."traces"`);
    for (const f of ['fault', '!ok AND http.url CONTAINS "/api/"', 'responsetime > 1 duration < 2', 'NOT (throttle OR http.status = 404)']) {
      const { where, sure } = compiled(f);
      const [row] = await sql<{ undecided: number; rooted: number }[]>`
        select count(*) filter (where not ${sure})::int as undecided,
          count(*) filter (where not ${sure} and t.root_id is not null and not t.is_partial)::int as rooted
        from ${table} t where ${where}`;
      expect(row!.rooted, f).toBe(0);
      expect(row!.undecided, f).toBeLessThan(traces.size / 3);
    }
  });

  it('pages by limit and refuses a bad expression as a value', async () => {
    const all = expected('!ok');
    const got = await findTraceIds(store, '!ok', { ...window, limit: 7 });
    expect(got.ok && got.traceIds).toEqual(all.slice(0, 7));
    const some = expected('service("auth") { fault }');
    const paged = await findTraceIds(store, 'service("auth") { fault }', { ...window, limit: 3 });
    expect(paged.ok && paged.traceIds).toEqual(some.slice(0, 3));
    const bad = await findTraceIds(store, 'http.status >', window);
    expect(bad.ok).toBe(false);
  });

  it('treats literals as parameters, never as SQL', async () => {
    const got = await findTraceIds(store, `user = "x' or '1'='1" OR annotation.tier = "'; drop table traces; --"`, window);
    expect(got).toEqual({ ok: true, traceIds: [] });
  });
});

function firstStart(docs: Doc[]): number {
  return Math.min(...docs.map((d) => d.start_time as number));
}
