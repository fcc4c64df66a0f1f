import { expect } from 'vitest';
import { CLIENT_TYPE } from '../../src/aggregate/graph-ids.js';

/**
 * What the service graph must say about some segment documents, computed from the documents alone
 * (X-Ray's rules, not our code), and the comparison with a GetServiceGraph answer.
 */

export type Doc = Record<string, any>;

export interface Totals {
  count: number;
  ok: number;
  /** 4xx, throttles included (X-Ray's ErrorStatistics.TotalCount) */
  error: number;
  throttle: number;
  fault: number;
  /** Σ round(duration in µs): what the workers add up */
  latencyUs: number;
}

const empty = (): Totals => ({ count: 0, ok: 0, error: 0, throttle: 0, fault: 0, latencyUs: 0 });

/** X-Ray's outcome rules: a flag set to true wins; without one, the HTTP status decides. */
export function outcome(d: Doc): 'fault' | 'throttle' | 'error' | 'ok' {
  const flagged = d.fault === true || d.error === true || d.throttle === true;
  const st: number | undefined = d.http?.response?.status;
  if (d.fault === true || (!flagged && st !== undefined && st >= 500 && st < 600)) return 'fault';
  if (d.throttle === true || (!flagged && st === 429)) return 'throttle';
  if (d.error === true || (!flagged && st !== undefined && st >= 400 && st < 500)) return 'error';
  return 'ok';
}

function add(t: Totals, d: Doc): void {
  t.count++;
  const o = outcome(d);
  if (o === 'fault') t.fault++;
  else if (o === 'ok') t.ok++;
  else {
    t.error++;
    if (o === 'throttle') t.throttle++;
  }
  t.latencyUs += Math.round((Math.max(d.end_time, d.start_time) - d.start_time) * 1e6);
}

export interface ExpectedGraph {
  /** by service name */
  nodes: Map<string, Totals>;
  /** `from>to` by name; `client:name>name` for requests entering at a root */
  edges: Map<string, Totals>;
  /** node type by name ('' when the segment has no origin) */
  types: Map<string, string>;
}

/** The outermost downstream calls of an entity: remote/aws subsegments, looked for through local ones. */
function callsOf(e: Doc, out: Doc[] = []): Doc[] {
  for (const s of e.subsegments ?? []) {
    if (s.in_progress === true || s.end_time === undefined) continue;
    if (s.namespace === 'remote' || s.namespace === 'aws') out.push(s);
    else callsOf(s, out);
  }
  return out;
}

/**
 * Per service and per edge, for complete segment documents with embedded subsegments (what
 * src/sim/traffic.ts sends). A traced call is an edge to the service whose segment names it as parent;
 * an untraced one, to an inferred node named after the subsegment.
 */
export function expectedGraph(docs: Iterable<Doc>): ExpectedGraph {
  const all = [...docs];
  const nodes = new Map<string, Totals>();
  const edges = new Map<string, Totals>();
  const types = new Map<string, string>();
  const get = (m: Map<string, Totals>, k: string) => m.get(k) ?? (m.set(k, empty()), m.get(k)!);
  const callee = new Map<string, string>();
  for (const d of all) {
    if (d.type === 'subsegment' || d.in_progress === true || d.end_time === undefined) {
      throw new Error(`expectedGraph counts complete segments only, not ${JSON.stringify(d).slice(0, 120)}`);
    }
    if (d.parent_id) callee.set(`${d.trace_id}/${d.parent_id}`, d.name);
  }
  for (const d of all) {
    types.set(d.name, d.origin ?? '');
    add(get(nodes, d.name), d);
    if (!d.parent_id) add(get(edges, `client:${d.name}>${d.name}`), d);
    for (const s of callsOf(d)) {
      const traced = s.traced === true || s.http?.request?.traced === true;
      const target = traced ? callee.get(`${d.trace_id}/${s.id}`) : undefined;
      add(get(edges, `${d.name}>${target ?? s.name}`), s);
      if (target === undefined) {
        // an inferred node: its stats are its callers' calls
        add(get(nodes, s.name), s);
        const table = s.aws?.table_name || s.aws?.table_names;
        types.set(s.name, s.namespace === 'aws' ? `AWS::${String(s.name).replace(/\s+/g, '')}${table ? '::Table' : ''}` : 'remote');
      }
    }
  }
  return { nodes, edges, types };
}

const view = (t: Totals) => ({ TotalCount: t.count, OkCount: t.ok, ErrorTotal: t.error, ThrottleCount: t.throttle, FaultTotal: t.fault });
const actual = (s: any) => ({
  TotalCount: s.TotalCount,
  OkCount: s.OkCount,
  ErrorTotal: s.ErrorStatistics.TotalCount,
  ThrottleCount: s.ErrorStatistics.ThrottleCount,
  FaultTotal: s.FaultStatistics.TotalCount,
});

/** Asserts that a GetServiceGraph `Services` list has exactly these nodes and edges with exactly these counts. */
export function expectGraph(services: any[], want: ExpectedGraph): void {
  const byName = new Map(services.filter((s) => s.Type !== CLIENT_TYPE).map((s) => [s.Name as string, s]));
  expect([...byName.keys()].sort()).toEqual([...want.nodes.keys()].sort());
  for (const [name, t] of want.nodes) {
    const s = byName.get(name)!;
    expect(s.Type ?? '', `type of ${name}`).toBe(want.types.get(name));
    expect(actual(s.SummaryStatistics), name).toEqual(view(t));
  }
  const got = new Map<string, any>();
  for (const s of services) {
    for (const e of s.Edges) got.set(`${s.Type === CLIENT_TYPE ? 'client:' : ''}${s.Name}>${services[e.ReferenceId].Name}`, e.SummaryStatistics);
  }
  expect([...got.keys()].sort()).toEqual([...want.edges.keys()].sort());
  for (const [k, t] of want.edges) expect(actual(got.get(k)), k).toEqual(view(t));
}
