import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTraceFile } from '../../src/ingest/files.js';
import { parseDocument } from '../../src/ingest/parse.js';
import { DEFAULT_SAMPLING, SAMPLE_ALL, type IncidentSpec, type Scenario, type ServiceSpec } from '../../src/sim/model.js';
import { SCENARIOS } from '../../src/sim/scenarios/index.js';
import { shopServices } from '../../src/sim/scenarios/shop.js';
import { simulate } from '../../src/sim/simulate.js';
import { SHOP, traffic } from '../../src/sim/traffic.js';
import { writeSimulation } from '../../src/sim/write.js';

interface Sub {
  id: string;
  name: string;
  start_time: number;
  end_time: number;
  namespace?: string;
  traced?: boolean;
  fault?: boolean;
  error?: boolean;
  throttle?: boolean;
  http?: { response?: { status?: number } };
  aws?: { retries?: number; table_name?: string };
}
interface Doc extends Sub {
  trace_id: string;
  parent_id?: string;
  origin?: string;
  cause?: unknown;
  service?: { version?: string };
  subsegments?: Sub[];
}

const T0 = 1_790_000_000;
const docsOf = (sc: Parameters<typeof simulate>[0], opts?: Parameters<typeof simulate>[1]) => [...simulate(sc, opts)] as unknown as Doc[];
const rate = (xs: readonly unknown[], pred: (x: never) => boolean) => xs.filter(pred as (x: unknown) => boolean).length / xs.length;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const dur = (d: Sub) => d.end_time - d.start_time;

/** A shop-shaped scenario of `seconds` from T0, every request sampled unless told otherwise. */
function custom(over: Partial<Scenario> & { seconds: number; rate: number }): Scenario {
  return {
    name: 'test',
    description: 'test',
    seed: 42,
    start: T0,
    end: T0 + over.seconds,
    services: shopServices(),
    traffic: { rate: over.rate, entries: [{ service: 'api-gateway', share: 1 }] },
    sampling: SAMPLE_ALL,
    incidents: [],
    ...over,
  };
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sim-test-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('output files', () => {
  it('are the same byte for byte for the same seed, and differ for another seed', async () => {
    const write = (name: string, seed: number) => writeSimulation(simulate('shop', { hours: 0.25, seed }), { out: join(dir, `${name}.ndjson.gz`) });
    const a = await write('a', 7);
    const b = await write('b', 7);
    const c = await write('c', 8);
    const [ba, bb, bc] = await Promise.all([a, b, c].map((s) => readFile(s.out)));
    expect(a.stats.documents).toBeGreaterThan(1000);
    expect(ba!.equals(bb!)).toBe(true);
    expect(ba!.equals(bc!)).toBe(false);
    expect(await readFile(a.labels, 'utf8')).toBe(await readFile(b.labels, 'utf8'));
    expect(a.labels).toBe(join(dir, 'a.labels.json'));
    // the file door reads them back, one document per line
    let n = 0;
    for await (const d of readTraceFile(a.out)) {
      expect(parseDocument(d.text).ok).toBe(true);
      n++;
    }
    expect(n).toBe(a.stats.documents);
  });

  it('are plain NDJSON without .gz, with --labels honoured', async () => {
    const s = await writeSimulation(simulate('control', { hours: 0.05 }), { out: join(dir, 'plain.ndjson'), labels: join(dir, 'sub', 'l.json') });
    const text = await readFile(s.out, 'utf8');
    expect(text.split('\n').filter(Boolean)).toHaveLength(s.stats.documents);
    expect(JSON.parse(await readFile(join(dir, 'sub', 'l.json'), 'utf8')).scenario).toBe('control');
  });
});

describe.each(SCENARIOS.map((s) => s.name))('scenario %s', (name) => {
  const sim = simulate(name, { hours: name === 'mesh' ? 0.15 : 0.5 });
  const lines = [...sim.lines()];
  const docs = lines.map((l) => JSON.parse(l) as Doc);

  it('documents validate with parseDocument, sorted by start_time, in canonical JSON', () => {
    expect(docs.length).toBeGreaterThan(500);
    const rejected = lines.map((l) => parseDocument(l)).filter((r) => !r.ok);
    expect(rejected).toEqual([]);
    expect(docs.findIndex((d, i) => i > 0 && d.start_time < docs[i - 1]!.start_time)).toBe(-1);
    // the hand-written JSON is exactly what JSON.stringify would write
    expect(lines.filter((l) => JSON.stringify(JSON.parse(l)) !== l)).toEqual([]);
    expect(sim.stats.documents).toBe(docs.length);
    expect(Object.values(sim.stats.perService).reduce((a, b) => a + b, 0)).toBe(docs.length);
  });

  it('sends whole traces: one root each, every traced call answered by the callee segment, times nested', () => {
    const byTrace = new Map<string, Doc[]>();
    for (const d of docs) {
      const ds = byTrace.get(d.trace_id);
      if (ds) ds.push(d);
      else byTrace.set(d.trace_id, [d]);
    }
    expect(byTrace.size).toBe(sim.stats.sampled);
    // one assertion at the end: tens of thousands of expect() calls would dominate the run time
    const problems: string[] = [];
    const check = (ok: boolean, what: string, d: Sub) => {
      if (!ok && problems.length < 10) problems.push(`${what}: ${JSON.stringify(d)}`);
    };
    for (const [traceId, ds] of byTrace) {
      const roots = ds.filter((d) => !d.parent_id);
      check(roots.length === 1, 'one root', ds[0]!);
      check(parseInt(traceId.slice(2, 10), 16) === Math.floor(roots[0]!.start_time), 'trace id epoch', roots[0]!);
      const subs = new Map(ds.flatMap((d) => (d.subsegments ?? []).map((s) => [s.id, { s, d }] as const)));
      const answered = new Set<string>();
      for (const d of ds) {
        if (!d.parent_id) continue;
        const call = subs.get(d.parent_id);
        if (!call) {
          check(false, 'parent_id names a subsegment of the trace', d);
          continue;
        }
        check(call.s.traced === true && call.s.name === d.name, 'called by a traced subsegment of its name', d);
        check(call.s.start_time <= d.start_time && call.s.end_time >= d.end_time, 'the call encloses the callee', d);
        check(!!call.s.fault === !!d.fault && call.s.http?.response?.status === (d as { http?: { response?: { status?: number } } }).http?.response?.status, 'the call shows the callee status', d);
        answered.add(d.parent_id);
      }
      for (const [id, { s, d }] of subs) {
        check(s.traced ? answered.has(id) : s.namespace === 'remote' || s.namespace === 'aws', 'traced calls answered, others remote/aws', s);
        check(s.start_time >= d.start_time && s.end_time <= d.end_time, 'subsegments inside their segment', s);
      }
    }
    expect(problems).toEqual([]);
  });

  it('has labels in the agreed shape', () => {
    const l = sim.labels;
    expect(l).toMatchObject({ scenario: name, windowSecondsHint: 60, seed: expect.any(Number), start: expect.any(Number), end: expect.any(Number) });
    expect(Array.isArray(l.incidents) && Array.isArray(l.nonIncidents)).toBe(true);
  });
});

describe('shipped scenarios at their defaults', () => {
  const labels = Object.fromEntries(SCENARIOS.map((s) => [s.name, simulate(s.name).labels]));
  const scenarios = Object.fromEntries(SCENARIOS.map((s) => [s.name, simulate(s.name).scenario]));

  it('shop: ≥ 2 h, an hour of baseline, four 5–15-min incidents of every kind with graph-typed root causes', () => {
    const l = labels.shop!;
    expect(l.end - l.start).toBeGreaterThanOrEqual(2 * 3600);
    expect(l.start).toBe(Date.parse('2026-10-01T00:00:00Z') / 1000);
    expect(Math.min(...l.incidents.map((i) => i.start)) - l.start).toBeGreaterThanOrEqual(3600);
    for (const i of l.incidents) {
      expect(i.end - i.start).toBeGreaterThanOrEqual(300);
      expect(i.end - i.start).toBeLessThanOrEqual(900);
      expect(Object.keys(i).sort()).toEqual(['description', 'end', 'id', 'kind', 'magnitude', 'rootCause', 'start']);
    }
    expect(l.incidents.map((i) => [i.kind, i.rootCause])).toEqual([
      ['fault', { name: 'api.payments.example.com', type: 'remote' }],
      ['latency', { name: 'DynamoDB', type: 'AWS::DynamoDB::Table' }],
      ['throttle', { name: 'InventoryService', type: 'AWS::Lambda::Function' }],
      ['fault', { name: 'OrderService', type: 'AWS::ECS::Container' }],
    ]);
    expect(l.nonIncidents).toEqual([]);
  });

  it('mesh: 20+ services, and incidents overlapping in time in subtrees that share no node', () => {
    const sc = scenarios.mesh!;
    expect(sc.services.length).toBeGreaterThanOrEqual(20);
    const byName = new Map(sc.services.map((s) => [s.name, s]));
    const subtree = (name: string, acc = new Set<string>()): Set<string> => {
      acc.add(name);
      for (const c of byName.get(name)?.calls ?? []) subtree(c.kind === 'service' ? c.target : c.name, acc);
      return acc;
    };
    const l = labels.mesh!;
    expect(Math.min(...l.incidents.map((i) => i.start)) - l.start).toBeGreaterThanOrEqual(3600);
    const overlapping = l.incidents.flatMap((a, i) =>
      l.incidents.slice(i + 1).filter((b) => a.start < b.end && b.start < a.end).map((b) => [a, b] as const),
    );
    expect(overlapping.length).toBeGreaterThanOrEqual(2);
    const callers = (name: string) => sc.services.filter((s) => s.calls?.some((c) => (c.kind === 'service' ? c.target : c.name) === name)).map((s) => s.name);
    for (const [a, b] of overlapping) {
      // the root causes and their direct callers: no node below any of them is shared
      for (const x of [a.rootCause.name, ...callers(a.rootCause.name)]) {
        for (const y of [b.rootCause.name, ...callers(b.rootCause.name)]) {
          const sx = subtree(x);
          expect([...subtree(y)].filter((n) => sx.has(n))).toEqual([]);
        }
      }
    }
    expect(new Set(l.incidents.map((i) => i.kind))).toEqual(new Set(['fault', 'latency', 'throttle']));
  });

  it('control: no incidents; a ×3 surge and a deploy listed as non-incidents', () => {
    const l = labels.control!;
    expect(l.incidents).toEqual([]);
    expect(l.nonIncidents.map((n) => [n.kind, n.magnitude, n.end - n.start])).toEqual([
      ['traffic-surge', 3, 600],
      ['deploy', 1.6, l.end - l.nonIncidents[1]!.start],
    ]);
    expect(l.nonIncidents[1]!.target).toEqual({ name: 'InventoryService', type: 'AWS::Lambda::Function' });
  });

  it('leaves incidents past --hours out of the labels and clips the one cut short', () => {
    const l = simulate('shop', { hours: 1.2 }).labels;
    expect(l.incidents.map((i) => i.id)).toEqual(['shop-payment-api-faults']);
    expect(simulate('shop', { hours: 1.1 }).labels.incidents[0]!.end).toBe(l.start + 1.1 * 3600);
  });
});

describe('sampling', () => {
  it('samples the first request of each second plus 5 % of the rest, at the entry, for the whole trace', () => {
    const sim = simulate(custom({ seconds: 1200, rate: 40, sampling: DEFAULT_SAMPLING }));
    const docs = [...sim] as unknown as Doc[];
    const roots = docs.filter((d) => !d.parent_id);
    const { requests, sampled } = sim.stats;
    expect(requests).toBeGreaterThan(1200 * 40 * 0.95);
    expect(roots).toHaveLength(sampled);
    // per second: 1 from the reservoir + 5 % of the other ~39
    const expected = 1200 + 0.05 * (requests - 1200);
    expect(sampled).toBeGreaterThan(expected * 0.93);
    expect(sampled).toBeLessThan(expected * 1.07);
    expect(new Set(roots.map((d) => Math.floor(d.start_time))).size).toBeGreaterThanOrEqual(1199);
    // downstream services see exactly the sampled traces
    const traces = new Set(roots.map((d) => d.trace_id));
    expect(docs.every((d) => traces.has(d.trace_id))).toBe(true);
    expect(docs.filter((d) => d.name === 'OrderService').length).toBe(roots.filter((d) => d.http && (d.subsegments ?? []).length).length);
  });

  it('samples everything when the scenario says so', () => {
    const sim = simulate(custom({ seconds: 120, rate: 30 }));
    const n = [...sim].length;
    expect(n).toBeGreaterThan(0);
    expect(sim.stats.sampled).toBe(sim.stats.requests);
  });

  it('follows the traffic profile: a ×3 surge triples the requests', () => {
    const sim = simulate(custom({ seconds: 900, rate: 10, surges: [{ id: 's', start: T0 + 300, end: T0 + 600, multiplier: 3 }] }));
    const roots = [...sim.lines()].filter((l) => !l.includes('"parent_id"')).map((l) => JSON.parse(l) as Doc);
    const inRange = (a: number, b: number) => roots.filter((d) => d.start_time >= T0 + a && d.start_time < T0 + b).length;
    const ratio = inRange(300, 600) / ((inRange(0, 300) + inRange(600, 900)) / 2);
    expect(ratio).toBeGreaterThan(2.7);
    expect(ratio).toBeLessThan(3.3);
  });
});

describe('incidents', () => {
  const incidents: IncidentSpec[] = [
    { id: 'f', kind: 'fault', target: 'api.payments.example.com', start: T0 + 600, end: T0 + 900, magnitude: 0.3 },
    { id: 'l', kind: 'latency', target: 'DynamoDB', start: T0 + 1200, end: T0 + 1500, magnitude: 4 },
    { id: 't', kind: 'throttle', target: 'InventoryService', start: T0 + 1800, end: T0 + 2100, magnitude: 0.3 },
    { id: 'o', kind: 'fault', target: 'OrderService', start: T0 + 2400, end: T0 + 2700, magnitude: 0.25 },
  ];
  const sim = simulate(custom({ seconds: 2700, rate: 10, incidents, deploys: [{ id: 'd', target: 'PaymentService', at: T0 + 2400, latencyFactor: 1, version: '9.9.9' }] }));
  const docs = [...sim] as unknown as Doc[];
  const within = <T extends Sub>(xs: T[], a: number, b: number) => xs.filter((x) => x.start_time >= T0 + a && x.start_time < T0 + b);
  const subsNamed = (name: string) => docs.flatMap((d) => (d.subsegments ?? []).filter((s) => s.name === name));
  const segs = (name: string) => docs.filter((d) => d.name === name);

  it('a fault surge in a remote dependency fails its calls and the callers above pass it up', () => {
    const calls = subsNamed('api.payments.example.com');
    const before = rate(within(calls, 0, 600), (s: Sub) => !!s.fault);
    const during = rate(within(calls, 600, 900), (s: Sub) => !!s.fault);
    expect(before).toBeLessThan(0.02);
    expect(during).toBeGreaterThan(0.25);
    expect(during).toBeLessThan(0.36);
    const gw = (a: number, b: number) => rate(within(segs('api-gateway'), a, b), (d: Doc) => !!d.fault);
    expect(gw(600, 900) - gw(0, 600)).toBeGreaterThan(0.15);
    // the dependency sends nothing itself
    expect(segs('api.payments.example.com')).toEqual([]);
  });

  it('a latency surge multiplies the target’s time and adds up the chain', () => {
    const calls = subsNamed('DynamoDB');
    const ratio = median(within(calls, 1200, 1500).map(dur)) / median(within(calls, 0, 1200).map(dur));
    expect(ratio).toBeGreaterThan(3.3);
    expect(ratio).toBeLessThan(4.8);
    const inv = segs('InventoryService');
    const added = median(within(inv, 1200, 1500).map(dur)) - median(within(inv, 0, 1200).map(dur));
    expect(added).toBeGreaterThan(0.015);
  });

  it('throttling gives 429 with throttle+error at the target, passed up unless absorbed', () => {
    const inv = segs('InventoryService');
    const thr = (xs: Doc[]) => rate(xs, (d: Doc) => !!d.throttle && !!d.error && (d as { http?: { response?: { status?: number } } }).http?.response?.status === 429);
    expect(thr(within(inv, 0, 1800))).toBeLessThan(0.01);
    expect(thr(within(inv, 1800, 2100))).toBeGreaterThan(0.24);
    expect(thr(within(inv, 1800, 2100))).toBeLessThan(0.36);
    expect(thr(within(segs('OrderService'), 1800, 2100))).toBeGreaterThan(0.2);
    // a throttled request does no downstream work
    for (const d of inv.filter((d) => d.throttle && !d.subsegments?.some((s) => s.throttle))) expect(d.subsegments).toBeUndefined();
  });

  it('a fault surge in a service is its own (cause recorded), not its callees’', () => {
    const orders = within(segs('OrderService'), 2400, 2700);
    const own = orders.filter((d) => d.fault && d.cause);
    expect(own.length / orders.length).toBeGreaterThan(0.19);
    expect(own.length / orders.length).toBeLessThan(0.31);
    for (const d of own) expect(d.subsegments?.some((s) => s.fault) ?? false).toBe(false);
  });

  it('a deploy changes service.version from its time on', () => {
    const pay = segs('PaymentService');
    expect(new Set(within(pay, 0, 2400).map((d) => d.service?.version))).toEqual(new Set(['5.0.3']));
    expect(new Set(within(pay, 2400, 2700).map((d) => d.service?.version))).toEqual(new Set(['9.9.9']));
  });
});

describe('fault propagation', () => {
  // front calls A (hard dependency), B (optional: always absorbed), C (half absorbed), D (retried once)
  const leaf = (name: string): ServiceSpec => ({ name, origin: 'AWS::ECS::Container', medianMs: 5, sigma: 0.3, faultRate: 0.2 });
  const services: ServiceSpec[] = [
    {
      name: 'front',
      medianMs: 5,
      sigma: 0.3,
      faultRate: 0,
      parallel: true,
      calls: [
        { kind: 'service', target: 'A' },
        { kind: 'service', target: 'B', absorb: 1 },
        { kind: 'service', target: 'C', absorb: 0.5 },
        { kind: 'service', target: 'D', retries: 1, absorb: 1 },
      ],
    },
    leaf('A'),
    leaf('B'),
    leaf('C'),
    leaf('D'),
  ];
  const docs = docsOf(custom({ seconds: 600, rate: 10, services, traffic: { rate: 10, entries: [{ service: 'front', share: 1 }] } }));
  const fronts = docs.filter((d) => d.name === 'front');
  const failed = (d: Doc, target: string) => d.subsegments!.filter((s) => s.name === target).some((s) => s.fault);

  it('a callee fault fails the call subsegment, and the caller faults unless it absorbs it', () => {
    expect(fronts.length).toBeGreaterThan(5000);
    for (const d of fronts) {
      const a = failed(d, 'A');
      if (a) expect(d.fault).toBe(true);
      if (!a && !failed(d, 'C')) expect(d.fault).toBeUndefined();
      // passed up, not its own: no cause, and the evidence is in its subsegments
      if (d.fault) expect(d.cause).toBeUndefined();
      if (d.fault) expect(d.http?.response?.status).toBe(502);
    }
    const cOnly = fronts.filter((d) => failed(d, 'C') && !failed(d, 'A'));
    const passed = cOnly.filter((d) => d.fault).length / cOnly.length;
    expect(passed).toBeGreaterThan(0.38);
    expect(passed).toBeLessThan(0.62);
    expect(rate(fronts, (d: Doc) => !!d.fault)).toBeGreaterThan(0.2 + 0.8 * 0.1 - 0.03);
  });

  it('the faulting segment owns the fault: it has a cause and no faulting subsegment', () => {
    const own = docs.filter((d) => d.name !== 'front' && d.fault);
    expect(own.length).toBeGreaterThan(1000);
    for (const d of own) expect(d.cause).toBeDefined();
  });

  it('retries make a second call subsegment after a failed first one', () => {
    const withRetry = fronts.filter((d) => d.subsegments!.filter((s) => s.name === 'D').length === 2);
    const firstFailed = fronts.filter((d) => d.subsegments!.find((s) => s.name === 'D')?.fault);
    expect(withRetry.length).toBe(firstFailed.length);
    for (const d of withRetry) {
      const [first, second] = d.subsegments!.filter((s) => s.name === 'D');
      expect(second!.start_time).toBeGreaterThanOrEqual(first!.end_time);
    }
    expect(withRetry.length / fronts.length).toBeGreaterThan(0.15);
  });

  it('an optional call’s fault shows on its subsegment but not on the caller', () => {
    const bOnly = fronts.filter((d) => failed(d, 'B') && !failed(d, 'A') && !failed(d, 'C'));
    expect(bOnly.length).toBeGreaterThan(500);
    expect(bOnly.every((d) => !d.fault)).toBe(true);
  });
});

describe('traffic() (steady generator for tests and benchmarks)', () => {
  it('yields requests whose documents parse, callees before callers', () => {
    const gen = traffic({ seed: 3, services: SHOP, entry: 'api-gateway', startTime: T0, rate: 50 });
    let last = T0;
    for (let i = 0; i < 300; i++) {
      const r = gen.next().value!;
      expect(r.time).toBeGreaterThan(last);
      last = r.time;
      expect(r.docs.at(-1)!.name).toBe('api-gateway');
      for (const d of r.docs) expect(parseDocument(JSON.stringify(d)).ok).toBe(true);
    }
  });
});

describe('scenario checks', () => {
  it('refuses unknown targets, cycles and unknown scenario names', () => {
    expect(() => simulate(custom({ seconds: 10, rate: 1, incidents: [{ id: 'x', kind: 'fault', target: 'nope', start: T0, end: T0 + 1, magnitude: 0.1 }] }))).toThrow(/unknown "nope"/);
    const loop: ServiceSpec[] = [
      { name: 'a', medianMs: 1, sigma: 0, faultRate: 0, calls: [{ kind: 'service', target: 'b' }] },
      { name: 'b', medianMs: 1, sigma: 0, faultRate: 0, calls: [{ kind: 'service', target: 'a' }] },
    ];
    expect(() => simulate(custom({ seconds: 10, rate: 1, services: loop, traffic: { rate: 1, entries: [{ service: 'a', share: 1 }] } }))).toThrow(/cycle/);
    expect(() => simulate('nope')).toThrow(/unknown scenario/);
  });
});

describe('CLI', () => {
  it('writes the files and prints a summary', async () => {
    const out = join(dir, 'cli.ndjson.gz');
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/sim/cli.ts', '--scenario', 'shop', '--hours', '1.2', '--rate', '5', '--out', out]);
    expect(stdout).toMatch(/shop \(seed 20261001\).*requests.*sampled.*documents/);
    expect(stdout).toMatch(/1 incidents/);
    const labels = JSON.parse(await readFile(join(dir, 'cli.labels.json'), 'utf8'));
    expect(labels.rate).toBe(5);
    expect(labels.incidents).toHaveLength(1);
  });
});
