import type { Graph, GraphNode } from '../aggregate/read.js';
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
  why: Array<{ w: number; text: string }>;
}

export function findRootCauses(g: Graph, nodes: readonly AnomalousNode[], edges: readonly AnomalousEdge[], testedGapEdges: ReadonlySet<string>): Group[] {
  const byId = new Map(nodes.filter((a) => a.node.ref.type !== CLIENT_TYPE).map((a) => [a.id, a]));
  const edgeById = new Map(edges.map((e) => [e.id, e]));
  const blame = new Map<string, Blame>();
  const give = (id: string, w: number, text: string) => {
    if (!(w > 0) || g.nodes.get(id)?.ref.type === CLIENT_TYPE) return;
    let b = blame.get(id);
    if (!b) blame.set(id, (b = { score: 0, why: [] }));
    b.score += w;
    b.why.push({ w, text });
  };
  const label = (id: string) => (g.nodes.get(id) ? labelOf(g.nodes.get(id)!) : id);
  const has = (id: string, pred: (e: Evidence) => boolean) => byId.get(id)?.evidence.some(pred) ?? false;
  const outEdges = (id: string) => [...g.edges.values()].filter((e) => e.from === id);
  const edgeHas = (key: string, metric: Evidence['metric']) => edgeById.get(key)?.evidence.some((e) => e.metric === metric) ?? false;

  // share of a node's tested calls, in or out, that show a grown gap
  const gapShare = (id: string, side: 'in' | 'out') => {
    const tested = [...testedGapEdges].filter((k) => (side === 'in' ? k.slice(k.indexOf('>') + 1) === id : k.slice(0, k.indexOf('>')) === id));
    return tested.length ? tested.filter((k) => edgeHas(k, 'gapMs')).length / tested.length : 0;
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
      } else if (e.metric === 'latencyMs') give(a.id, 0.3 * s, `${d}: its requests end early`);
      else if (e.metric === 'faultRate') {
        const st = a.node.stats;
        const own = st.ownFault + st.passedFault ? st.ownFault / (st.ownFault + st.passedFault) : 1;
        const faulty = callees.filter((c) => has(c, (x) => x.metric === 'faultRate' || x.metric === 'throttleRate') && (g.edges.get(`${a.id}>${c}`)?.stats.fault ?? 0) + (g.edges.get(`${a.id}>${c}`)?.stats.throttle ?? 0) > 0);
        if (!faulty.length) give(a.id, s, `${d}: ${pct(own)} of its faults originated in its own code and no faulting callee explains them`);
        else {
          give(a.id, own * s, `${d}: ${pct(own)} of its faults originated in its own code`);
          for (const c of faulty) give(c, ((1 - own) * s) / faulty.length, `faults passed up to ${label(a.id)} (${d})`);
        }
      } else if (e.metric === 'throttleRate') {
        const throttling = callees.filter((c) => has(c, (x) => x.metric === 'throttleRate'));
        if (!throttling.length) give(a.id, s, `${d}: it throttles requests itself`);
        else for (const c of throttling) give(c, s / throttling.length, `throttles seen by ${label(a.id)} (${d})`);
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
        give(ed.to, (s * inShare) / sum, `${d}; ${pct(inShare)} of its tested callers see it`);
        give(ed.from, (s * outShare) / sum, `${d}; ${pct(outShare)} of its tested calls see it`);
      } else if (e.metric === 'callsPerRequest') give(ed.from, s, `${d}: where the requests' path changed`);
      else give(ed.to, s, d);
    }
  }

  // groups: nodes with impact evidence and the ends of edges with impact evidence, connected through the
  // graph; a node whose evidence only says where (own time, small shifts) joins the group it touches
  const notClient = (id: string) => g.nodes.get(id)?.ref.type !== CLIENT_TYPE;
  const involved = new Set<string>([...byId.values()].filter((a) => a.evidence.some((e) => e.impact)).map((a) => a.id));
  for (const ed of edges) if (ed.evidence.some((e) => e.impact)) for (const id of [ed.from, ed.to]) if (notClient(id)) involved.add(id);
  for (const e of g.edges.values()) {
    for (const [a, b] of [[e.from, e.to], [e.to, e.from]] as const) if (involved.has(a) && !involved.has(b) && byId.has(b)) involved.add(b);
  }
  const parent = new Map([...involved].map((id) => [id, id]));
  const find = (x: string): string => (parent.get(x) === x ? x : find(parent.get(x)!));
  for (const e of g.edges.values()) if (involved.has(e.from) && involved.has(e.to)) parent.set(find(e.from), find(e.to));
  const comps = new Map<string, string[]>();
  for (const id of [...involved].sort()) {
    const r = find(id);
    comps.set(r, [...(comps.get(r) ?? []), id]);
  }

  const out: Group[] = [];
  for (const members of comps.values()) {
    const evidence = [...members.flatMap((id) => byId.get(id)?.evidence ?? []), ...edges.filter((e) => members.includes(e.from) || members.includes(e.to)).flatMap((e) => e.evidence)];
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
