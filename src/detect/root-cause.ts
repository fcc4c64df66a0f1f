import type { Graph, GraphNode } from '../aggregate/read.js';
import { CLIENT_TYPE } from '../aggregate/graph-ids.js';
import type { Baseline } from './baseline.js';
import type { Category, Evidence } from './detect.js';

/**
 * Root cause: which anomalous node the trouble starts in. Local evidence decides: a node whose faults
 * were mostly its own (not passed up from a call that faulted or was throttled), or whose own time (not
 * waiting on calls) grew, or an uninstrumented dependency (it has no calls), is a source; any other
 * anomalous node points at its anomalous callees. Each source and the anomalous nodes that lead to it
 * form one group: independent incidents in different parts of the graph become separate groups.
 */

export interface AnomalousNode {
  id: string;
  node: GraphNode;
  evidence: Evidence[];
  baseline: Baseline;
}

export interface Candidate {
  id: string;
  score: number;
  reason: string;
}

export interface Group {
  /** the best root-cause candidate's node id */
  source: string;
  categories: Category[];
  /** anomalous nodes of the group: the source and the nodes whose anomaly leads to it */
  members: string[];
  candidates: Candidate[];
}

const pct = (x: number) => `${(x * 100).toFixed(x < 0.1 ? 1 : 0)} %`;
const ms = (x: number) => `${x >= 100 ? x.toFixed(0) : x.toFixed(1)} ms`;
const label = (n: GraphNode) => (n.ref.type ? `${n.ref.name} (${n.ref.type})` : n.ref.name);

function ownFaultShare(a: AnomalousNode): number {
  const s = a.node.stats;
  if (a.node.inferred) return 1;
  const f = s.ownFault + s.passedFault;
  return f ? s.ownFault / f : 1;
}

function ownTimeRatio(a: AnomalousNode): number {
  const s = a.node.stats;
  if (a.node.inferred || s.count === 0) return Infinity;
  const obs = (s.ownTimeSeconds * 1000) / s.count;
  return a.baseline.ownTimeMeanMs > 0 ? obs / a.baseline.ownTimeMeanMs : obs > 0 ? Infinity : 1;
}

function has(a: AnomalousNode, c: Category): boolean {
  return a.evidence.some((e) => e.category === c);
}

/** Anomalous callees that carry the same kind of trouble (faults/throttles for FAULT, slowness for LATENCY). */
function troubledCallees(g: Graph, a: AnomalousNode, all: Map<string, AnomalousNode>, cat: Category): string[] {
  const out: string[] = [];
  for (const e of g.edges.values()) {
    if (e.from !== a.id) continue;
    const callee = all.get(e.to);
    if (!callee) continue;
    if (cat === 'FAULT' && e.stats.fault + e.stats.throttle > 0 && (has(callee, 'FAULT') || has(callee, 'THROTTLE'))) out.push(e.to);
    if (cat === 'LATENCY' && has(callee, 'LATENCY')) out.push(e.to);
    if (cat === 'THROTTLE' && has(callee, 'THROTTLE')) out.push(e.to);
  }
  return out.sort();
}

/** How strongly a node is its own source for a category (0..1), and why. */
function rootness(g: Graph, a: AnomalousNode, all: Map<string, AnomalousNode>, cat: Category, latencyOwnRatio: number): { r: number; why: string; next: string[] } {
  const next = troubledCallees(g, a, all, cat);
  if (cat === 'FAULT') {
    const share = ownFaultShare(a);
    if (a.node.inferred) return { r: 1, why: 'an uninstrumented dependency: its faults are seen by its callers and start there', next: [] };
    if (next.length === 0) return { r: Math.max(share, 0.6), why: `${pct(share)} of its faults originated in its own code and no anomalous callee explains them`, next };
    return { r: share, why: share >= 0.5 ? `${pct(share)} of its faults originated in its own code` : `${pct(1 - share)} of its faults were passed up from calls to ${next.map((id) => label(all.get(id)!.node)).join(', ')}`, next };
  }
  if (cat === 'THROTTLE') {
    return next.length === 0 ? { r: 1, why: 'it throttles requests itself', next } : { r: 0.3, why: `its callees ${next.map((id) => label(all.get(id)!.node)).join(', ')} throttle too`, next };
  }
  const ratio = ownTimeRatio(a);
  if (a.node.inferred) return { r: 1, why: 'an uninstrumented dependency: the time its callers wait on it grew', next: [] };
  const own = (a.node.stats.ownTimeSeconds * 1000) / Math.max(a.node.stats.count, 1);
  if (ratio >= latencyOwnRatio) return { r: next.length ? 0.7 : 1, why: `its own time (not waiting on calls) grew to ${ms(own)} from ${ms(a.baseline.ownTimeMeanMs)}`, next };
  if (next.length === 0) return { r: 0.6, why: `it is slower although its own time did not grow (${ms(own)} vs ${ms(a.baseline.ownTimeMeanMs)}): the time goes between it and its callees`, next };
  return { r: 0.15, why: `its own time is unchanged (${ms(own)} vs ${ms(a.baseline.ownTimeMeanMs)}); it waits on ${next.map((id) => label(all.get(id)!.node)).join(', ')}`, next };
}

function strength(a: AnomalousNode): number {
  const best = Math.max(...a.evidence.map((e) => e.score));
  return Math.min(1, best / 20);
}

function describe(e: Evidence): string {
  if (e.metric === 'p90Ms') return `p90 ${ms(e.observed)} (expected ≤ ${ms(e.expected.high)}, n = ${e.sampleSize})`;
  return `${e.metric === 'faultRate' ? 'fault' : 'throttle'} rate ${pct(e.observed)} (expected ≤ ${pct(e.expected.high)}, n = ${e.sampleSize})`;
}

export interface RootCauseOptions {
  /** own time must grow by this ratio for a node to be its own latency source */
  latencyOwnRatio: number;
}

/** Groups a window's anomalous nodes by the source they lead to, and ranks root-cause candidates. */
export function findRootCauses(g: Graph, anomalous: readonly AnomalousNode[], opts: RootCauseOptions = { latencyOwnRatio: 1.3 }): Group[] {
  const all = new Map(anomalous.filter((a) => a.node.ref.type !== CLIENT_TYPE).map((a) => [a.id, a]));
  // for every anomalous node and category: where its trouble leads (sources reached through troubled callees)
  const sourcesOf = new Map<string, Set<string>>();
  const info = new Map<string, { r: number; why: string; cat: Category }>();
  const visit = (id: string, cat: Category, stack: Set<string>): Set<string> => {
    const key = `${cat}:${id}`;
    const done = sourcesOf.get(key);
    if (done) return done;
    const a = all.get(id)!;
    const { r, why, next } = rootness(g, a, all, cat, opts.latencyOwnRatio);
    const prev = info.get(id);
    if (!prev || r > prev.r) info.set(id, { r, why, cat });
    const out = new Set<string>();
    if (r >= 0.5 || next.length === 0) out.add(id);
    stack.add(key);
    for (const n of next) {
      if (stack.has(`${cat}:${n}`)) continue;
      for (const s of visit(n, cat, stack)) out.add(s);
    }
    stack.delete(key);
    sourcesOf.set(key, out);
    return out;
  };
  const groups = new Map<string, { members: Set<string>; categories: Set<Category> }>();
  for (const a of all.values()) {
    for (const e of a.evidence) {
      for (const s of visit(a.id, e.category, new Set())) {
        let grp = groups.get(s);
        if (!grp) groups.set(s, (grp = { members: new Set([s]), categories: new Set() }));
        grp.members.add(a.id);
        grp.categories.add(e.category);
      }
    }
  }
  // a source that is itself a member of a stronger source's group (its trouble leads further down) is folded in
  const out: Group[] = [];
  for (const [source, grp] of groups) {
    const candidates = [...grp.members]
      .map((id) => {
        const a = all.get(id)!;
        const i = info.get(id)!;
        const score = Math.round((id === source ? 1 : 0.5) * i.r * (0.5 + 0.5 * strength(a)) * 1000) / 1000;
        const evidence = a.evidence.map(describe).join('; ');
        return { id, score, reason: `${label(a.node)}: ${evidence}; ${i.why}.` };
      })
      .sort((x, y) => y.score - x.score || (x.id < y.id ? -1 : 1));
    out.push({ source: candidates[0]!.id, categories: [...grp.categories].sort(), members: [...grp.members].sort(), candidates });
  }
  // one group per source; groups whose best candidate is the same node are merged
  const merged = new Map<string, Group>();
  for (const grp of out) {
    const m = merged.get(grp.source);
    if (!m) merged.set(grp.source, grp);
    else {
      m.members = [...new Set([...m.members, ...grp.members])].sort();
      m.categories = [...new Set([...m.categories, ...grp.categories])].sort();
      const seen = new Set(m.candidates.map((c) => c.id));
      m.candidates = [...m.candidates, ...grp.candidates.filter((c) => !seen.has(c.id))].sort((x, y) => y.score - x.score || (x.id < y.id ? -1 : 1));
    }
  }
  return [...merged.values()].sort((a, b) => (a.source < b.source ? -1 : 1));
}
