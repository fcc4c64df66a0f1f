import type { Graph, GraphEdge, GraphNode } from '../aggregate/read.js';
import { CLIENT_TYPE } from '../aggregate/graph-ids.js';
import type { Category, Evidence } from './detect.js';

/**
 * Root cause on a real graph: every piece of evidence puts blame on the node where its trouble starts,
 * and candidates are ranked by the blame their anomalies leave unexplained by their own callees.
 *
 * - own time grew at X: X (nothing below it explains time it spends in its own code);
 * - a gap grew on X → Y (the network between them): shared between Y and X by how much of each one's
 *   tested calls show it: a callee whose every caller sees the gap has a network (or a starved server)
 *   of its own; a caller that sees it to every callee has a starved client;
 * - calls per request changed on X → Y: X, where the request's path changed (it returns early, or it
 *   retries);
 * - X is slower with no own-time growth: X only in small part when a callee is slower or a gap grew
 *   (they explain it), more when nothing below it does; requests that end early at X: X in part;
 * - faults at X: X for the share that originated in its own code, its faulting callees for the share
 *   passed up from them; throttles: the callee that throttles, else X;
 * - an uninstrumented dependency (seen only through its callers): itself.
 *
 * Anomalous nodes and edges that touch each other form one group (independent incidents in different
 * parts of the graph stay apart); its candidates are its nodes by blame, every one of them listed.
 */

export interface AnomalousNode {
  id: string;
  node: GraphNode;
  evidence: Evidence[];
}

export interface AnomalousEdge {
  /** `from>to`, as the graph keys it */
  id: string;
  from: string;
  to: string;
  evidence: Evidence[];
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
  /** anomalous nodes of the group, and the nodes its anomalous edges connect */
  members: string[];
  candidates: Candidate[];
  /** some evidence is overwhelming (detect.ts isStrong): the group may open an insight at once */
  strong: boolean;
}

const ms = (x: number) => `${x >= 100 ? x.toFixed(0) : x >= 1 ? x.toFixed(1) : x.toFixed(3)} ms`;
const pct = (x: number) => `${(x * 100).toFixed(x < 0.1 ? 1 : 0)} %`;
export const labelOf = (n: GraphNode) => (n.ref.type ? `${n.ref.name} (${n.ref.type})` : n.ref.name);

/** How a piece of evidence reads in a sentence. */
export function describe(e: Evidence, where = ''): string {
  const n = `n = ${e.sampleSize}, p = ${e.pValue.toExponential(1)}`;
  if (e.operation !== undefined) where = `${where}${e.operation}: `;
  switch (e.metric) {
    case 'faultRate':
    case 'throttleRate':
      return `${where}${e.metric === 'faultRate' ? 'fault' : 'throttle'} rate ${pct(e.observed)} (expected ≤ ${pct(e.expected.high)}, ${n})`;
    case 'callsPerRequest':
      return `${where}calls per request ${e.observed} (usually ${e.baseline}, ${n})`;
    default: {
      const what = e.metric === 'ownTimeMs' ? 'own time' : e.metric === 'gapMs' ? 'network gap' : 'response time';
      return `${where}${what} ${e.direction === 'up' ? 'up' : 'down'} to ${ms(e.observed)} from ${ms(e.baseline)} (${n})`;
    }
  }
}

/** A shift large enough to matter (own time is never impact, but may be large). */
const matters = (e: Evidence) => e.expected.high !== Infinity && e.observed > e.expected.high;

/** Strength of one piece of evidence, 0..1: its −log10 p-value, saturating at 20. */
const strength = (e: Evidence) => Math.min(e.score, 20) / 20;

interface Blame {
  score: number;
  /** the part of the score from the node's own evidence (not handed down by its callers) */
  self: number;
  why: Array<{ w: number; text: string }>;
}

export function findRootCauses(g: Graph, nodes: readonly AnomalousNode[], edges: readonly AnomalousEdge[], testedGapEdges: ReadonlySet<string>): Group[] {
  const byId = new Map(nodes.filter((a) => a.node.ref.type !== CLIENT_TYPE).map((a) => [a.id, a]));
  const edgeById = new Map(edges.map((e) => [e.id, e]));
  const blame = new Map<string, Blame>();
  const give = (id: string, w: number, text: string, self = true) => {
    if (!(w > 0) || g.nodes.get(id)?.ref.type === CLIENT_TYPE) return;
    let b = blame.get(id);
    if (!b) blame.set(id, (b = { score: 0, self: 0, why: [] }));
    b.score += w;
    if (self) b.self += w;
    b.why.push({ w, text });
  };
  const label = (id: string) => (g.nodes.get(id) ? labelOf(g.nodes.get(id)!) : id);
  const has = (id: string, pred: (e: Evidence) => boolean) => byId.get(id)?.evidence.some(pred) ?? false;
  // each node's outgoing edges, once (the graph is walked from every node and piece of evidence)
  const outgoing = new Map<string, GraphEdge[]>();
  for (const e of g.edges.values()) {
    const list = outgoing.get(e.from);
    if (list) list.push(e);
    else outgoing.set(e.from, [e]);
  }
  const outEdges = (id: string): readonly GraphEdge[] => outgoing.get(id) ?? [];
  const edgeHas = (key: string, metric: Evidence['metric']) => edgeById.get(key)?.evidence.some((e) => e.metric === metric) ?? false;

  // share of a node's tested calls, in or out, that show a grown gap
  const gapCounts = new Map<string, { tested: number; grown: number }>();
  for (const k of testedGapEdges) {
    const gt = k.indexOf('>');
    const grown = edgeHas(k, 'gapMs') ? 1 : 0;
    for (const end of [`in:${k.slice(gt + 1)}`, `out:${k.slice(0, gt)}`]) {
      const c = gapCounts.get(end) ?? { tested: 0, grown: 0 };
      gapCounts.set(end, { tested: c.tested + 1, grown: c.grown + grown });
    }
  }
  const gapShare = (id: string, side: 'in' | 'out') => {
    const c = gapCounts.get(`${side}:${id}`);
    return c ? c.grown / c.tested : 0;
  };

  const notClient = (id: string) => g.nodes.get(id)?.ref.type !== CLIENT_TYPE;
  // callees that fault (or throttle) on the calls this node makes to them: why its requests may end early
  const faultingCallees = (id: string) =>
    outEdges(id)
      .filter((e) => notClient(e.to) && e.stats.fault + e.stats.throttle > 0 && has(e.to, (x) => x.metric === 'faultRate' || x.metric === 'throttleRate'))
      .map((e) => e.to)
      .sort();
  /** A change of path at `id`: its own, unless a faulting callee explains it (it gave up after a failed call). */
  const pathChange = (id: string, s: number, d: string) => {
    const failing = faultingCallees(id);
    if (!failing.length) return give(id, s, `${d}: where the requests' path changed`);
    give(id, 0.25 * s, `${d}, after failed calls to ${failing.map(label).join(', ')}`);
    for (const c of failing) give(c, (0.75 * s) / failing.length, `its failures change what ${label(id)} does (${d})`, false);
  };

  for (const a of byId.values()) {
    const callees = outEdges(a.id).map((e) => e.to);
    for (const e of a.evidence) {
      const s = strength(e);
      const d = describe(e);
      if (a.node.inferred) {
        give(a.id, s, `${d}: an uninstrumented dependency, seen by its callers, where its trouble starts`);
        continue;
      }
      if (e.metric === 'ownTimeMs') give(a.id, (e.impact || matters(e) ? 1 : 0.5) * s, `${d}: time in its own code, which no callee explains`);
      else if (e.metric === 'latencyMs' && e.direction === 'up') {
        const below = callees.filter((c) => has(c, (x) => x.category === 'LATENCY') || edgeHas(`${a.id}>${c}`, 'gapMs'));
        if (below.length) give(a.id, 0.1 * s, `${d}, explained by slower calls to ${below.map(label).join(', ')}`);
        else give(a.id, 0.5 * s, `${d}, with no slower callee to explain it`);
      } else if (e.metric === 'latencyMs') pathChange(a.id, 0.3 * s, `${d}: its requests end early`);
      else if (e.metric === 'faultRate') {
        const st = a.node.stats;
        const own = st.ownFault + st.passedFault ? st.ownFault / (st.ownFault + st.passedFault) : 1;
        const faulty = callees.filter((c) => has(c, (x) => x.metric === 'faultRate' || x.metric === 'throttleRate') && (g.edges.get(`${a.id}>${c}`)?.stats.fault ?? 0) + (g.edges.get(`${a.id}>${c}`)?.stats.throttle ?? 0) > 0);
        if (!faulty.length) give(a.id, s, `${d}: ${pct(own)} of its faults originated in its own code and no faulting callee explains them`);
        else {
          give(a.id, own * s, `${d}: ${pct(own)} of its faults originated in its own code`);
          for (const c of faulty) give(c, ((1 - own) * s) / faulty.length, `faults passed up to ${label(a.id)} (${d})`, false);
        }
      } else if (e.metric === 'throttleRate') {
        const throttling = callees.filter((c) => has(c, (x) => x.metric === 'throttleRate'));
        if (!throttling.length) give(a.id, s, `${d}: it throttles requests itself`);
        else for (const c of throttling) give(c, s / throttling.length, `throttles seen by ${label(a.id)} (${d})`, false);
      }
    }
  }
  for (const ed of edges) {
    for (const e of ed.evidence) {
      const s = strength(e);
      const d = describe(e, `calls ${label(ed.from)} → ${label(ed.to)}: `);
      if (e.metric === 'gapMs') {
        const inShare = gapShare(ed.to, 'in');
        const outShare = gapShare(ed.from, 'out');
        const sum = inShare + outShare || 1;
        give(ed.to, (s * inShare) / sum, `${d}; ${pct(inShare)} of its tested callers see it`, false);
        give(ed.from, (s * outShare) / sum, `${d}; ${pct(outShare)} of its tested calls see it`);
      } else if (e.metric === 'callsPerRequest') pathChange(ed.from, s, d);
      else give(ed.to, s, d, false);
    }
  }

  // Groups, one per source, as independent incidents are: from every node and edge with impact
  // evidence, follow its trouble down the graph, category by category (slower through slower callees and
  // grown gaps, faults through faulting callees, throttles through throttling ones), to where it starts:
  // a node with no troubled callee of that kind, or one that carries at least half of its own evidence
  // as blame. Every node on the way is a member of the source's group.
  const load = new Map<string, number>();
  const carry = (id: string, e: Evidence) => load.set(id, (load.get(id) ?? 0) + strength(e));
  for (const a of byId.values()) for (const e of a.evidence) carry(a.id, e);
  for (const ed of edges) for (const e of ed.evidence) carry(ed.from, e);
  const ownsItself = (id: string) => (blame.get(id)?.self ?? 0) >= 0.5 * (load.get(id) ?? Infinity);
  const troubled = (id: string, cat: Category): string[] =>
    outEdges(id)
      .filter((e) => notClient(e.to) && e.to !== id)
      .filter((e) => {
        if (cat === 'LATENCY') return edgeHas(e.from + '>' + e.to, 'gapMs') || has(e.to, (x) => x.category === 'LATENCY');
        if (cat === 'THROTTLE') return has(e.to, (x) => x.metric === 'throttleRate');
        return has(e.to, (x) => x.metric === 'faultRate' || x.metric === 'throttleRate') && e.stats.fault + e.stats.throttle > 0;
      })
      .map((e) => e.to)
      .sort();
  const memo = new Map<string, Set<string>>();
  const sourcesOf = (id: string, cat: Category, path: Set<string>): Set<string> => {
    const key = `${cat}:${id}`;
    const done = memo.get(key);
    if (done) return done;
    const out = new Set<string>();
    const next = troubled(id, cat).filter((n) => !path.has(`${cat}:${n}`));
    if (!next.length || ownsItself(id)) out.add(id);
    path.add(key);
    for (const n of next) for (const x of sourcesOf(n, cat, path)) out.add(x);
    path.delete(key);
    memo.set(key, out);
    return out;
  };
  const groupsBySource = new Map<string, { members: Set<string>; evidence: Evidence[] }>();
  const join = (source: string, members: Iterable<string>, evidence: readonly Evidence[]) => {
    let grp = groupsBySource.get(source);
    if (!grp) groupsBySource.set(source, (grp = { members: new Set([source]), evidence: [] }));
    for (const m of members) if (notClient(m)) grp.members.add(m);
    grp.evidence.push(...evidence);
  };
  const start = (id: string, evidence: readonly Evidence[], also: readonly string[]) => {
    for (const cat of new Set(evidence.filter((e) => e.impact).map((e) => e.category))) {
      const own = evidence.filter((e) => e.category === cat);
      // a change of path starts at the caller that made it, unless its failing callees explain it
      const pathOnly = own.every((e) => e.metric === 'callsPerRequest' || (e.metric === 'latencyMs' && e.direction === 'down'));
      const sources = pathOnly && !faultingCallees(id).length ? new Set([id]) : sourcesOf(id, cat, new Set());
      // a path that changed because requests failed (here, or in the calls they made) is reported as
      // what failed: requests that are throttled end early and skip their later calls too
      const rates = pathOnly ? [id, ...faultingCallees(id)].flatMap((n) => byId.get(n)?.evidence ?? []).filter((x) => x.metric === 'faultRate' || x.metric === 'throttleRate') : [];
      const as = rates.length && rates.every((x) => x.metric === 'throttleRate') ? 'THROTTLE' : undefined;
      const reported = as ? own.map((e) => ({ ...e, category: as as Category })) : own;
      for (const src of sources) join(src, [id, ...also], reported);
    }
  };
  for (const a of byId.values()) if (notClient(a.id)) start(a.id, a.evidence, []);
  for (const ed of edges) if (notClient(ed.from)) start(ed.from, ed.evidence, [ed.to]);
  // the path from each member to its source belongs to the group too
  for (const [key, sources] of memo) {
    const id = key.slice(key.indexOf(':') + 1);
    for (const src of sources) groupsBySource.get(src)?.members.add(id);
  }
  // a node whose evidence only says where (own time, small shifts) joins each group it touches
  for (const grp of groupsBySource.values()) {
    for (const e of g.edges.values()) {
      for (const [a, b] of [[e.from, e.to], [e.to, e.from]] as const) {
        const extra = byId.get(b);
        if (grp.members.has(a) && extra && !grp.members.has(b) && !extra.evidence.some((x) => x.impact)) {
          grp.members.add(b);
          grp.evidence.push(...extra.evidence);
        }
      }
    }
  }
  const comps = new Map<string, { members: string[]; evidence: Evidence[] }>();
  for (const grp of groupsBySource.values()) {
    const members = [...grp.members].sort();
    // groups whose best candidate is the same node are one incident
    const top = members.reduce((best, id) => ((blame.get(id)?.score ?? 0) > (blame.get(best)?.score ?? 0) || ((blame.get(id)?.score ?? 0) === (blame.get(best)?.score ?? 0) && id < best) ? id : best));
    const c = comps.get(top);
    if (!c) comps.set(top, { members, evidence: [...grp.evidence] });
    else {
      c.members = [...new Set([...c.members, ...members])].sort();
      c.evidence.push(...grp.evidence);
    }
  }

  const out: Group[] = [];
  for (const { members, evidence } of comps.values()) {
    if (!evidence.some((e) => e.impact)) continue;
    const candidates = members
      .map((id) => {
        const b = blame.get(id);
        const why = (b?.why ?? []).sort((x, y) => y.w - x.w).slice(0, 3).map((x) => x.text);
        return { id, score: Math.round((b?.score ?? 0) * 1000) / 1000, reason: `${label(id)}: ${why.length ? why.join('; ') : 'involved, but none of the evidence starts here'}.` };
      })
      .sort((x, y) => y.score - x.score || (x.id < y.id ? -1 : 1));
    out.push({
      source: candidates[0]!.id,
      categories: [...new Set(evidence.filter((e) => e.impact).map((e) => e.category))].sort(),
      members,
      candidates,
      strong: evidence.some((e) => e.strong),
    });
  }
  return out.sort((a, b) => (a.source < b.source ? -1 : 1));
}
