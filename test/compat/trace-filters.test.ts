import { randomBytes } from 'node:crypto';
import postgres, { type Sql } from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatchGetTracesCommand, GetTraceSummariesCommand, PutTraceSegmentsCommand, XRayClient } from '@aws-sdk/client-xray';
import { applyMigrations } from '../../src/traces/store/migrations.js';
import { traceStore, type TraceStore } from '../../src/traces/store/store.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { dropPrefix, testRedis, uniquePrefix } from '../helpers/redis.js';
import { filterTraffic, type Doc } from './fixtures/filter-traffic.js';

/**
 * Acceptance: a seeded hour of shop traffic goes in through PutTraceSegments (@aws-sdk/client-xray), and
 * every filter expression below must select, through GetTraceSummaries and all its pages, exactly the
 * traces a brute-force reading of the sent documents selects. The brute force (the oracle) is written
 * here from the reference's semantics (xray-reference.md §7.2) on purpose: it shares no code with
 * src/traces/filter/, so the two can only agree by both being right.
 */

const databaseUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const traffic = filterTraffic();
const range = { StartTime: new Date(traffic.start * 1000), EndTime: new Date((traffic.end + 60) * 1000) };

// ---------------------------------------------------------------------------------------------------
// The oracle: a trace read straight from its documents.

interface GraphNode {
  name: string;
  type: string | undefined;
  /** what service(…) { … } looks at: the node's segments, or for an inferred node the calls to it */
  entities: Doc[];
}

interface Trace {
  id: string;
  root: Doc | undefined;
  /** every segment and (nested) subsegment */
  entities: Doc[];
  isSegment: Set<Doc>;
  /** false for orphan subsegments, whose parent never came */
  inSegment: (e: Doc) => boolean;
  /** a subsegment's enclosing entity; a segment's caller (the subsegment its parent_id names) */
  parentOf: Map<Doc, Doc>;
  /** an entity's subsegments, then the segments it called */
  callees: (e: Doc) => Doc[];
  nodes: GraphNode[];
  /** calls between nodes, with the caller's subsegment that made each */
  calls: { from: GraphNode; to: GraphNode; entity: Doc }[];
}

const round6 = (s: number) => Math.round(s * 1e6) / 1e6;
const finished = (e: Doc) => e.in_progress !== true && typeof e.end_time === 'number';
/** responsetime / duration of one entity, seconds */
const time = (e: Doc) => (finished(e) ? round6(Math.max(0, e.end_time - e.start_time)) : undefined);
const status = (e: Doc): number | undefined => e.http?.response?.status;
// flags when the document sets them, else its status: 4xx error (429 also throttle), 5xx fault
const flagged = (e: Doc) => e.fault === true || e.error === true || e.throttle === true;
const fault = (e: Doc) => (flagged(e) ? e.fault === true : (status(e) ?? 0) >= 500);
const throttle = (e: Doc) => (flagged(e) ? e.throttle === true : status(e) === 429);
const error = (e: Doc) => (flagged(e) ? e.error === true || e.throttle === true : (status(e) ?? 0) >= 400 && (status(e) ?? 0) < 500);
const ok = (e: Doc) => !fault(e) && !error(e) && !throttle(e);
const request = (e: Doc | undefined, field: string): string | undefined => e?.http?.request?.[field];
const isCall = (e: Doc) => e.namespace === 'aws' || e.namespace === 'remote';

function readTrace(id: string, docs: Doc[]): Trace {
  const entities: Doc[] = [];
  const byId = new Map<string, Doc>();
  const parentOf = new Map<Doc, Doc>();
  const segmentOf = new Map<Doc, Doc>();
  const calleeLists = new Map<Doc, Doc[]>();
  const callees = (e: Doc) => calleeLists.get(e) ?? [];
  const link = (parent: Doc, child: Doc) => {
    parentOf.set(child, parent);
    calleeLists.set(parent, [...callees(parent), child]);
  };
  const visit = (e: Doc, parent: Doc | undefined, segment: Doc | undefined) => {
    entities.push(e);
    byId.set(e.id, e);
    if (segment) segmentOf.set(e, segment);
    if (parent) link(parent, e);
    for (const s of e.subsegments ?? []) visit(s, e, segment);
  };
  const segments = docs.filter((d) => d.type !== 'subsegment');
  for (const d of segments) visit(d, undefined, d);
  // independent subsegments join their parent (which may be another independent subsegment)
  let pending = docs.filter((d) => d.type === 'subsegment');
  while (pending.some((d) => byId.has(d.parent_id))) {
    for (const d of pending.filter((x) => byId.has(x.parent_id))) visit(d, byId.get(d.parent_id)!, segmentOf.get(byId.get(d.parent_id)!)!);
    pending = pending.filter((d) => !entities.includes(d));
  }
  // orphans (their segment never came) are still the trace's: annotations, partial and duration see them
  for (const d of pending) visit(d, undefined, undefined);
  for (const d of segments) if (d.parent_id !== undefined && byId.has(d.parent_id)) link(byId.get(d.parent_id)!, d);

  const nodes = new Map<string, GraphNode>();
  const node = (name: string, type: string | undefined) => {
    const key = `${type}|${name}`;
    if (!nodes.has(key)) nodes.set(key, { name, type, entities: [] });
    return nodes.get(key)!;
  };
  const isSegment = new Set(segments);
  const calls: Trace['calls'] = [];
  for (const d of segments) node(d.name, d.origin).entities.push(d);
  for (const d of segments) {
    const caller = parentOf.get(d);
    if (caller) calls.push({ from: node(segmentOf.get(caller)!.name, segmentOf.get(caller)!.origin), to: node(d.name, d.origin), entity: caller });
  }
  // a call no segment answers draws an inferred node: AWS::<Service>(::Table) or remote
  for (const e of entities) {
    if (!isCall(e) || !segmentOf.has(e) || callees(e).some((c) => isSegment.has(c))) continue;
    const type = e.namespace === 'aws' ? `AWS::${e.name}${e.aws?.table_name !== undefined ? '::Table' : ''}` : 'remote';
    const to = node(e.name, type);
    to.entities.push(e);
    calls.push({ from: node(segmentOf.get(e)!.name, segmentOf.get(e)!.origin), to, entity: e });
  }
  const root = segments.filter((d) => d.parent_id === undefined).sort((a, b) => a.start_time - b.start_time)[0];
  return { id, root, entities, isSegment, inSegment: (e) => segmentOf.has(e), parentOf, callees, nodes: [...nodes.values()], calls };
}

const traces: Trace[] = traffic.traces.map((t) => readTrace(t.id, t.texts.map((x) => JSON.parse(x) as Doc)));

// trace-level keywords read the root segment; user and annotations any segment / entity of the trace
const root = (t: Trace) => t.root!;
const rootTime = (t: Trace) => time(root(t));
const partial = (t: Trace) => t.entities.some((e) => !finished(e));
/** the entity or one of its subsegments (embedded or independent) is unfinished */
const partialWithin = (t: Trace, e: Doc): boolean => !finished(e) || t.callees(e).some((c) => !t.isSegment.has(c) && partialWithin(t, c));
function duration(t: Trace): number | undefined {
  const starts = t.entities.map((e) => e.start_time as number);
  const ends = t.entities.filter(finished).map((e) => e.end_time as number);
  return ends.length ? round6(Math.max(0, Math.max(...ends) - Math.min(...starts))) : undefined;
}
const users = (t: Trace): string[] => t.entities.filter((e) => t.isSegment.has(e) && typeof e.user === 'string').map((e) => e.user);
const annotation = (t: Trace, key: string): unknown[] => t.entities.filter((e) => e.annotations && key in e.annotations).map((e) => e.annotations[key]);
const num = (v: number | undefined, pred: (x: number) => boolean) => v !== undefined && pred(v);

type NodeMatch = (n: GraphNode) => boolean;
const named = (name: string, type?: string): NodeMatch => (n) => n.name === name && (type === undefined || n.type === type);
const anyNode: NodeMatch = () => true;
const service = (t: Trace, which: NodeMatch, pred: (e: Doc) => boolean = () => true) => t.nodes.some((n) => which(n) && n.entities.some(pred));
const edge = (t: Trace, from: NodeMatch, to: NodeMatch, pred: (e: Doc) => boolean = () => true) =>
  t.calls.some((c) => from(c.from) && to(c.to) && pred(c.entity));

// Root causes (not in the reference's table; the rules src/traces/filter/root-causes.ts documents): a path
// of entities from the top of the call tree down to the culprit, read as the services it passes through,
// plus the inferred node when it ends on a call no segment answered.
function servicesOn(t: Trace, path: Doc[]): string[] {
  const names = path.filter((e, i) => i === 0 || t.isSegment.has(e)).map((e) => e.name as string);
  const last = path[path.length - 1]!;
  if (isCall(last) && !t.callees(last).some((c) => t.isSegment.has(c))) names.push(last.name);
  return names;
}
function pathTo(t: Trace, e: Doc): Doc[] {
  const path = [e];
  for (let p = t.parentOf.get(e); p; p = t.parentOf.get(p)) path.unshift(p);
  return path;
}
/** fault: every faulting entity of a segment (orphans have no service) none of whose callees faults */
const faultCauses = (t: Trace): string[][] =>
  t.entities.filter((e) => t.inSegment(e) && fault(e) && !t.callees(e).some(fault)).map((e) => servicesOn(t, pathTo(t, e)));
/** response time: from the root, into the longest callee while it takes at least half its caller's time */
function responseTimeCause(t: Trace): string[] {
  if (rootTime(t) === undefined) return [];
  const path = [root(t)];
  for (let cur = root(t); ; ) {
    let longest: Doc | undefined;
    for (const c of t.callees(cur)) if ((time(c) ?? -1) > (longest ? time(longest)! : -1) && !path.includes(c)) longest = c;
    if (!longest || time(longest)! * 2 < (time(cur) ?? 0)) break;
    path.push(longest);
    cur = longest;
  }
  return servicesOn(t, path);
}

// ---------------------------------------------------------------------------------------------------

const FILTERS: { expr: string; oracle: (t: Trace) => boolean }[] = [
  // trace-level flags: the root segment's status
  { expr: 'ok', oracle: (t) => ok(root(t)) },
  { expr: 'error', oracle: (t) => error(root(t)) },
  { expr: 'fault', oracle: (t) => fault(root(t)) },
  { expr: 'throttle', oracle: (t) => throttle(root(t)) },
  { expr: 'partial', oracle: partial },
  { expr: 'error = true AND throttle = false', oracle: (t) => error(root(t)) && !throttle(root(t)) },
  { expr: 'ok != true', oracle: (t) => !ok(root(t)) },
  // where the flags and the status disagree, the flags the root sets decide; with none, its status does
  { expr: 'fault AND http.status < 500', oracle: (t) => fault(root(t)) && num(status(root(t)), (x) => x < 500) },
  { expr: 'error AND http.status = 200', oracle: (t) => error(root(t)) && status(root(t)) === 200 },
  { expr: '!fault AND http.status >= 500', oracle: (t) => !fault(root(t)) && num(status(root(t)), (x) => x >= 500) },
  { expr: 'throttle AND NOT http.status = 429', oracle: (t) => throttle(root(t)) && status(root(t)) !== 429 },
  // numbers
  { expr: 'responsetime > 0.5', oracle: (t) => num(rootTime(t), (x) => x > 0.5) },
  { expr: 'responseTime <= 0.1', oracle: (t) => num(rootTime(t), (x) => x <= 0.1) },
  { expr: 'responsetime = 0.4 OR duration = 0.401', oracle: (t) => rootTime(t) === 0.4 || duration(t) === 0.401 },
  { expr: 'duration >= 0.4 AND duration < 0.45', oracle: (t) => num(duration(t), (x) => x >= 0.4 && x < 0.45) },
  { expr: 'http.status = 429', oracle: (t) => status(root(t)) === 429 },
  { expr: 'http.status != 200', oracle: (t) => num(status(root(t)), (x) => x !== 200) },
  { expr: 'http.status >= 500', oracle: (t) => num(status(root(t)), (x) => x >= 500) },
  // strings on the root's request, and users
  { expr: 'http.url CONTAINS "/cart"', oracle: (t) => !!request(root(t), 'url')?.includes('/cart') },
  { expr: 'http.url BEGINSWITH "https://shop.example.com/prod/orders/"', oracle: (t) => !!request(root(t), 'url')?.startsWith('https://shop.example.com/prod/orders/') },
  { expr: 'http.url ENDSWITH "?express=1"', oracle: (t) => !!request(root(t), 'url')?.endsWith('?express=1') },
  { expr: 'http.url CONTAINS "%25_"', oracle: (t) => !!request(root(t), 'url')?.includes('%25_') },
  { expr: 'http.url ENDSWITH "é"', oracle: (t) => !!request(root(t), 'url')?.endsWith('é') },
  { expr: 'http.useragent CONTAINS "\\"crawler\\""', oracle: (t) => !!request(root(t), 'user_agent')?.includes('"crawler"') },
  { expr: 'http.method = "PUT" OR http.method = "DELETE"', oracle: (t) => ['PUT', 'DELETE'].includes(request(root(t), 'method')!) },
  { expr: 'http.method != "POST"', oracle: (t) => request(root(t), 'method') !== undefined && request(root(t), 'method') !== 'POST' },
  { expr: 'http.useragent CONTAINS "iPhone"', oracle: (t) => !!request(root(t), 'user_agent')?.includes('iPhone') },
  { expr: 'http.clientip BEGINSWITH "203.0.113.1"', oracle: (t) => !!request(root(t), 'client_ip')?.startsWith('203.0.113.1') },
  { expr: 'http.clientip = "203.0.113.7"', oracle: (t) => request(root(t), 'client_ip') === '203.0.113.7' },
  { expr: 'user = "user-7"', oracle: (t) => users(t).includes('user-7') },
  { expr: 'user BEGINSWITH "user-1"', oracle: (t) => users(t).some((u) => u.startsWith('user-1')) },
  { expr: 'user CONTAINS ""', oracle: (t) => users(t).length > 0 },
  { expr: 'user AND responseTime > 0.45', oracle: (t) => users(t).length > 0 && num(rootTime(t), (x) => x > 0.45) },
  { expr: 'user ENDSWITH "3" AND !user = "user-3"', oracle: (t) => users(t).some((u) => u.endsWith('3')) && !users(t).includes('user-3') },
  // annotations: typed, on any entity. Bare, set; but a boolean one "evaluates to the boolean value" (the
  // AWS filter docs, which the reference's "existence" shortens), so `annotation.k` is false when k is false
  { expr: 'annotation.customer_tier = "gold"', oracle: (t) => annotation(t, 'customer_tier').includes('gold') },
  { expr: 'annotation.customer_tier != "bronze"', oracle: (t) => annotation(t, 'customer_tier').some((v) => typeof v === 'string' && v !== 'bronze') },
  { expr: 'annotation.cart_items > 6', oracle: (t) => annotation(t, 'cart_items').some((v) => typeof v === 'number' && v > 6) },
  { expr: 'annotation.cart_items <= 2', oracle: (t) => annotation(t, 'cart_items').some((v) => typeof v === 'number' && v <= 2) },
  { expr: 'annotation.cart_items != 3', oracle: (t) => annotation(t, 'cart_items').some((v) => typeof v === 'number' && v !== 3) },
  { expr: 'annotation.balance < -50.5', oracle: (t) => annotation(t, 'balance').some((v) => typeof v === 'number' && v < -50.5) },
  { expr: 'annotation.balance >= 1e1 AND annotation.balance != 12.5', oracle: (t) => annotation(t, 'balance').some((v) => typeof v === 'number' && v >= 10) && annotation(t, 'balance').some((v) => typeof v === 'number' && v !== 12.5) },
  { expr: 'annotation.gift_wrap = true', oracle: (t) => annotation(t, 'gift_wrap').includes(true) },
  { expr: 'annotation.gift_wrap != true', oracle: (t) => annotation(t, 'gift_wrap').includes(false) },
  { expr: 'annotation.gift_wrap', oracle: (t) => annotation(t, 'gift_wrap').some((v) => v !== false) },
  { expr: '!annotation.gift_wrap', oracle: (t) => !annotation(t, 'gift_wrap').some((v) => v !== false) },
  { expr: 'annotation.promo_code = "42"', oracle: (t) => annotation(t, 'promo_code').includes('42') },
  { expr: 'annotation.promo_code = 42', oracle: (t) => annotation(t, 'promo_code').includes(42) },
  { expr: 'annotation.promo_code BEGINSWITH "S"', oracle: (t) => annotation(t, 'promo_code').some((v) => typeof v === 'string' && v.startsWith('S')) },
  { expr: 'annotation.charge_cents >= 15000', oracle: (t) => annotation(t, 'charge_cents').some((v) => typeof v === 'number' && v >= 15000) },
  // services: a node of the trace's graph, and one of its segments (or calls, if inferred) in braces
  { expr: 'service("PaymentService")', oracle: (t) => service(t, named('PaymentService')) },
  { expr: 'service("DynamoDB")', oracle: (t) => service(t, named('DynamoDB')) },
  { expr: 'NOT service("DynamoDB")', oracle: (t) => !service(t, named('DynamoDB')) },
  // a traced call whose segment never came draws an inferred (remote) node of the callee's name
  { expr: 'service(id(name: "PaymentService", type: "remote"))', oracle: (t) => service(t, named('PaymentService', 'remote')) },
  { expr: 'service("PaymentService") { fault }', oracle: (t) => service(t, named('PaymentService'), fault) },
  { expr: 'service("api.payments.example.com") { fault }', oracle: (t) => service(t, named('api.payments.example.com'), fault) },
  { expr: 'service("InventoryService") { throttle }', oracle: (t) => service(t, named('InventoryService'), throttle) },
  { expr: 'service("OrderService") { user CONTAINS "" }', oracle: (t) => service(t, named('OrderService'), (e) => typeof e.user === 'string') },
  {
    expr: 'service(id(name: "InventoryService", type: "AWS::Lambda::Function")) { responsetime > 0.2 }',
    oracle: (t) => service(t, named('InventoryService', 'AWS::Lambda::Function'), (e) => num(time(e), (x) => x > 0.2)),
  },
  {
    expr: 'service(id(name: "DynamoDB", type: "AWS::DynamoDB::Table")) { duration > 0.1 OR http.status != 200 }',
    oracle: (t) => service(t, named('DynamoDB', 'AWS::DynamoDB::Table'), (e) => num(time(e), (x) => x > 0.1) || num(status(e), (x) => x !== 200)),
  },
  { expr: 'service(id(type: "AWS::EC2::Instance")) { !ok }', oracle: (t) => service(t, (n) => n.type === 'AWS::EC2::Instance', (e) => !ok(e)) },
  { expr: 'service("PaymentService") { partial }', oracle: (t) => service(t, named('PaymentService'), (e) => partialWithin(t, e)) },
  { expr: 'service() { partial }', oracle: (t) => service(t, anyNode, (e) => partialWithin(t, e)) },
  // edges: the call as the caller's subsegment recorded it
  { expr: 'edge("OrderService", "InventoryService") { throttle }', oracle: (t) => edge(t, named('OrderService'), named('InventoryService'), throttle) },
  {
    expr: 'edge("PaymentService", "api.payments.example.com") { fault OR responsetime > 0.6 }',
    oracle: (t) => edge(t, named('PaymentService'), named('api.payments.example.com'), (e) => fault(e) || num(time(e), (x) => x > 0.6)),
  },
  {
    expr: 'edge(id(name: "api-gateway", type: "AWS::ApiGateway::Stage"), "OrderService") { http.status = 502 }',
    oracle: (t) => edge(t, named('api-gateway', 'AWS::ApiGateway::Stage'), named('OrderService'), (e) => status(e) === 502),
  },
  { expr: 'edge("OrderService", id(name: "InventoryService", type: "remote"))', oracle: (t) => edge(t, named('OrderService'), named('InventoryService', 'remote')) },
  { expr: 'edge("OrderService", id(name: "PaymentService"))', oracle: (t) => edge(t, named('OrderService'), named('PaymentService')) },
  // root causes
  { expr: 'rootcause.fault.service { name = "api.payments.example.com" }', oracle: (t) => faultCauses(t).some((p) => p.includes('api.payments.example.com')) },
  { expr: 'rootcause.fault.service { name = "InventoryService" }', oracle: (t) => faultCauses(t).some((p) => p.includes('InventoryService')) },
  { expr: 'rootcause.fault.service { last AND name = "OrderService" }', oracle: (t) => faultCauses(t).some((p) => p[p.length - 1] === 'OrderService') },
  { expr: 'rootcause.responsetime.service { name = "DynamoDB" }', oracle: (t) => responseTimeCause(t).includes('DynamoDB') },
  { expr: 'rootcause.responsetime.service { name = "api.payments.example.com" }', oracle: (t) => responseTimeCause(t).includes('api.payments.example.com') },
  // combinations: NOT, !, parentheses, juxtaposition as AND, nesting
  { expr: 'ok !partial duration < 0.4', oracle: (t) => ok(root(t)) && !partial(t) && num(duration(t), (x) => x < 0.4) },
  {
    expr: '(fault OR throttle) annotation.customer_tier = "silver"',
    oracle: (t) => (fault(root(t)) || throttle(root(t))) && annotation(t, 'customer_tier').includes('silver'),
  },
  {
    expr: '!http.url CONTAINS "/cart" AND NOT annotation.promo_code = 42',
    oracle: (t) => !request(root(t), 'url')?.includes('/cart') && !annotation(t, 'promo_code').includes(42),
  },
  { expr: 'NOT (ok OR partial) AND http.method = "POST"', oracle: (t) => !(ok(root(t)) || partial(t)) && request(root(t), 'method') === 'POST' },
  {
    expr: '(service("OrderService") { fault } AND NOT service("PaymentService")) OR (annotation.cart_items = 0 AND !(http.method = "GET" OR user CONTAINS "1"))',
    oracle: (t) =>
      (service(t, named('OrderService'), fault) && !service(t, named('PaymentService'))) ||
      (annotation(t, 'cart_items').includes(0) && !(request(root(t), 'method') === 'GET' || users(t).some((u) => u.includes('1')))),
  },
  {
    expr: 'NOT edge("InventoryService", "DynamoDB") OR (responsetime > 0.45 AND NOT (annotation.gift_wrap OR http.useragent ENDSWITH "0"))',
    oracle: (t) =>
      !edge(t, named('InventoryService'), named('DynamoDB')) ||
      (num(rootTime(t), (x) => x > 0.45) && !(annotation(t, 'gift_wrap').some((v) => v !== false) || !!request(root(t), 'user_agent')?.endsWith('0'))),
  },
];

const BAD_FILTERS = [
  { expr: '(fault OR error', at: '1:16' }, // unbalanced: the closing parenthesis is missing at the end
  { expr: 'fault AND ok)', at: '1:13' }, // unbalanced: one closing parenthesis too many
  { expr: 'colour = "red"', at: '1:1' }, // unknown keyword
  { expr: 'ok AND responsetime ~ 5', at: '1:21' }, // bad operator
  { expr: 'http.method == "GET"', at: '1:14' }, // bad operator: `=` and then no string
  { expr: 'http.url > "a"', at: '1:10' }, // an order operator on a string keyword
  { expr: 'annotation.cart_items CONTAINS 5', at: '1:32' }, // a string operator with a number
  { expr: 'service("OrderService") { annotation.cart_items = 1 }', at: '1:27' }, // annotations cannot go in braces
];

// ---------------------------------------------------------------------------------------------------

describe('filter expressions through GetTraceSummaries agree with a brute-force reading of the documents', () => {
  const redis = testRedis();
  const prefix = uniquePrefix('filters');
  const schema = `test_trace_filters_${randomBytes(4).toString('hex')}`;
  let sql: Sql;
  let store: TraceStore;
  let stack: Stack;
  let xray: XRayClient;

  // Ingest feeds the store (through the "traces" queue): wait until every sent document is written, none shed.
  async function storeSent(): Promise<void> {
    await stack.drainTraces(120_000);
    expect((await stack.metrics.tracesDropped.get()).values.reduce((a, v) => a + v.value, 0)).toBe(0);
  }

  /** PutTraceSegments, 100 documents a call and ten calls in flight, as a busy daemon would send. */
  async function send(texts: string[]): Promise<void> {
    const chunks = Array.from({ length: Math.ceil(texts.length / 100) }, (_, i) => texts.slice(i * 100, (i + 1) * 100));
    await Promise.all(
      Array.from({ length: 10 }, async () => {
        for (let chunk = chunks.shift(); chunk; chunk = chunks.shift()) {
          const put = await xray.send(new PutTraceSegmentsCommand({ TraceSegmentDocuments: chunk }));
          expect(put.UnprocessedTraceSegments ?? []).toEqual([]);
        }
      }),
    );
  }

  /** Every trace id GetTraceSummaries gives for a filter, following NextToken until it is absent. */
  async function summaryIds(filter?: string): Promise<string[]> {
    const ids: string[] = [];
    let token: string | undefined;
    do {
      const page = await xray.send(new GetTraceSummariesCommand({ ...range, FilterExpression: filter, NextToken: token }));
      ids.push(...(page.TraceSummaries ?? []).map((s) => s.Id!));
      token = page.NextToken;
    } while (token);
    return ids;
  }

  beforeAll(async () => {
    sql = postgres(databaseUrl, { max: 4, onnotice: () => {} });
    store = traceStore(sql, { schema });
    await applyMigrations(store);
    // pages of 250: the hour and most filters still take several pages, in 2/5 of the round trips of 100
    stack = await startStack({ keyPrefix: prefix }, { traces: { store, pageSize: 250 } });
    xray = new XRayClient({ endpoint: stack.baseUrl, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' }, maxAttempts: 1 });

    await send(traffic.early);
    await send(traffic.traces.flatMap((t) => t.texts));
    await send(traffic.late);
    await storeSent();
  }, 120_000);

  afterAll(async () => {
    xray?.destroy();
    await stack?.close();
    await sql?.unsafe(`drop schema if exists "${schema}" cascade`);
    await sql?.end();
    await dropPrefix(redis, prefix);
    await redis.quit();
  });

  it('pages an unfiltered hour: every trace exactly once', async () => {
    const ids = await summaryIds();
    expect(ids.length).toBe(traces.length);
    expect(new Set(ids).size).toBe(ids.length);
    expect(new Set(ids)).toEqual(new Set(traces.map((t) => t.id)));
  });

  it('returns every document of 200 traces (and of all that had placeholders) as sent, and unknown ids as unprocessed', async () => {
    const step = Math.floor(traffic.traces.length / 200);
    const replaced = new Set([...traffic.early, ...traffic.late].map((x) => (JSON.parse(x) as Doc).trace_id as string));
    const sample = [...new Set([...Array.from({ length: 200 }, (_, i) => traffic.traces[i * step]!), ...traffic.traces.filter((t) => replaced.has(t.id))])];
    expect(sample.length).toBeGreaterThan(250);
    for (let i = 0; i < sample.length; i += 5) {
      const batch = sample.slice(i, i + 5);
      const res = await xray.send(new BatchGetTracesCommand({ TraceIds: batch.map((t) => t.id) }));
      expect(res.UnprocessedTraceIds ?? []).toEqual([]);
      const got = new Map((res.Traces ?? []).map((t) => [t.Id!, (t.Segments ?? []).map((s) => JSON.parse(s.Document!) as Doc)]));
      for (const t of batch) {
        const byId = (a: Doc, b: Doc) => (a.id < b.id ? -1 : 1);
        expect(got.get(t.id)?.sort(byId)).toEqual(t.texts.map((x) => JSON.parse(x) as Doc).sort(byId));
      }
    }
    const unknown = [`1-${Math.floor(traffic.start).toString(16)}-${'0'.repeat(24)}`, `1-${Math.floor(traffic.start).toString(16)}-${'f'.repeat(24)}`];
    const res = await xray.send(new BatchGetTracesCommand({ TraceIds: [sample[0]!.id, ...unknown] }));
    expect(res.Traces?.map((t) => t.Id)).toEqual([sample[0]!.id]);
    expect(res.UnprocessedTraceIds?.sort()).toEqual(unknown.sort());
  });

  // concurrently (vitest's maxConcurrency, 5): the server, PostgreSQL and the oracle take turns on the cores
  describe.concurrent('filter', () => {
    it.for(FILTERS)('$expr', async ({ expr, oracle }, { expect }) => {
      const want = traces.filter(oracle).map((t) => t.id);
      // a filter that selects nothing or everything would prove little
      expect(want.length).toBeGreaterThan(0);
      expect(want.length).toBeLessThan(traces.length);
      const got = await summaryIds(expr);
      expect(new Set(got).size).toBe(got.length);
      const wanted = new Set(want);
      const found = new Set(got);
      const missing = want.filter((id) => !found.has(id));
      const extra = got.filter((id) => !wanted.has(id));
      expect({ missing: missing.slice(0, 5), extra: extra.slice(0, 5), counts: [missing.length, extra.length] }).toEqual({ missing: [], extra: [], counts: [0, 0] });
    });
  });

  it.each(BAD_FILTERS)('refuses $expr, naming the position $at', async ({ expr, at }) => {
    const res = xray.send(new GetTraceSummariesCommand({ ...range, FilterExpression: expr }));
    await expect(res).rejects.toMatchObject({ name: 'InvalidRequestException' });
    await expect(res).rejects.toThrow(`at ${at}`);
  });
});
