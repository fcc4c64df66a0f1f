import type { Graph } from '../aggregate/read.js';
import { CLIENT_TYPE, parseNodeId } from '../aggregate/graph-ids.js';
import type { AnomalousEdge, AnomalousNode, Candidate, Group } from '../detect/root-cause.js';
import { insightId, type Insight, type InsightEvent, type RequestImpact, type ServiceRef } from './model.js';

/**
 * The insight state machine, one closed window at a time (pure: same windows in, same events out).
 * - open: a group must be anomalous in two consecutive windows (a single noisy window, or a blip
 *   shorter than a window, opens nothing), or in one whose evidence is overwhelming (`Group.strong`:
 *   a tiny p-value on a change that affects most of the window); the insight starts at the first of them;
 * - root cause: candidates are ranked by their blame summed over the insight's windows, so one quieter
 *   window late in an incident does not reorder what the whole of it showed;
 * - update: while it lasts, when its root cause, categories or impacted services change, or its impact
 *   grows by half since the last event;
 * - close: after `closeAfterWindows` windows in a row without its anomaly.
 */
export interface LifecycleOptions {
  groupName: string;
  windowSeconds: number;
  /** normal windows in a row that close an insight @defaultValue 3 */
  closeAfterWindows: number;
}

interface Pending {
  source: string;
  members: string[];
  firstWindow: number;
  lastWindow: number;
  /** the first window's impact, counted when the insight opens (absent in states saved before it was kept) */
  client?: RequestImpact;
  root?: RequestImpact;
  /** the first window's candidate blame */
  scores?: Record<string, number>;
  /** the first window's requests of each member */
  nodes?: Record<string, RequestImpact>;
}

interface Tracked {
  insight: Insight;
  source: string;
  members: string[];
  lastAnomalousWindow: number;
  normalStreak: number;
  /** client faults at the last event, to tell a notable change */
  reportedClientFaults: number;
  /** candidate blame summed over the insight's windows (absent in states saved before it was kept) */
  scores?: Record<string, number>;
  /** each candidate's latest reason */
  reasons?: Record<string, string>;
  /** requests of each member over the insight's anomalous windows: the root cause's, whichever it is */
  nodes?: Record<string, RequestImpact>;
  /** the best exemplars of the root cause so far (exemplars.ts), and which node they are of */
  exemplars?: Array<[string, number]>;
  exemplarSource?: string;
}

export type { Tracked };

export interface LifecycleState {
  /** last window processed (windows must come in order) */
  lastWindow: number | null;
  pending: Pending[];
  active: Tracked[];
}

export const emptyLifecycle = (): LifecycleState => ({ lastWindow: null, pending: [], active: [] });

const ref = (id: string): ServiceRef => parseNodeId(id);
const zero = (): RequestImpact => ({ faultCount: 0, okCount: 0, totalCount: 0 });
const add = (a: RequestImpact, b: RequestImpact): RequestImpact => ({ faultCount: a.faultCount + b.faultCount, okCount: a.okCount + b.okCount, totalCount: a.totalCount + b.totalCount });

function overlaps(a: readonly string[], b: readonly string[]): boolean {
  const s = new Set(a);
  return b.some((x) => s.has(x));
}

/** Impact of one window: client requests entering at the group's entry services, and each member's requests. */
function windowImpact(g: Graph, grp: Group): { client: RequestImpact; root: RequestImpact; nodes: Record<string, RequestImpact> } {
  const members = new Set(grp.members);
  let client = zero();
  for (const e of g.edges.values()) {
    if (parseNodeId(e.from).type !== CLIENT_TYPE || !members.has(e.to)) continue;
    client = add(client, { faultCount: e.stats.fault, okCount: e.stats.ok, totalCount: e.stats.count });
  }
  const nodes: Record<string, RequestImpact> = {};
  for (const id of grp.members) {
    const r = g.nodes.get(id)?.stats;
    if (r) nodes[id] = { faultCount: r.fault, okCount: r.ok, totalCount: r.count };
  }
  return { client, root: nodes[grp.source] ?? zero(), nodes };
}

/** Adds a window's per-member requests to those of the windows before (a copy). */
function addNodes(into: Record<string, RequestImpact> | undefined, w: Record<string, RequestImpact>): Record<string, RequestImpact> {
  const out = { ...(into ?? {}) };
  for (const [id, r] of Object.entries(w)) out[id] = add(out[id] ?? zero(), r);
  return out;
}

function summarize(grp: Group, root: string, impact: RequestImpact): string {
  const cats = grp.categories.map((c) => c.toLowerCase()).join(' and ');
  const others = grp.members.length - 1;
  const clients = impact.totalCount ? `; ${impact.faultCount} of ${impact.totalCount} client requests faulted` : '';
  return `${cats[0]!.toUpperCase()}${cats.slice(1)} anomaly rooted in ${ref(root).name}${others ? `, impacting ${others} other service${others > 1 ? 's' : ''}` : ''}${clients}.`;
}

function evidenceOf(w: number, W: number, grp: Group, byId: Map<string, AnomalousNode>, edges: readonly AnomalousEdge[]) {
  const members = new Set(grp.members);
  return {
    window: { start: w, end: w + W },
    rootCause: { service: ref(grp.candidates[0]!.id), reason: grp.candidates[0]!.reason },
    anomalies: grp.members.map((id) => ({ service: ref(id), evidence: byId.get(id)?.evidence ?? [] })),
    calls: edges.filter((e) => members.has(e.from) || members.has(e.to)).map((e) => ({ from: ref(e.from), to: ref(e.to), evidence: e.evidence })),
  };
}

const addScores = (into: Record<string, number>, cs: readonly Candidate[]) => {
  for (const c of cs) into[c.id] = Math.round(((into[c.id] ?? 0) + c.score) * 1000) / 1000;
  return into;
};

const byBlame = (scores: Record<string, number>) => Object.entries(scores).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));

/** Candidates ranked by blame summed over the windows so far, each with its latest reason. */
function ranked(scores: Record<string, number>, reasons: Record<string, string>) {
  return byBlame(scores).map(([id, score]) => ({ service: ref(id), score, reason: reasons[id] ?? '' }));
}

const topOf = (scores: Record<string, number>) => byBlame(scores)[0]![0];

const reasonsOf = (cs: readonly Candidate[], into: Record<string, string> = {}) => {
  for (const c of cs) into[c.id] = c.reason;
  return into;
};

function topAnomalous(grp: Group, byId: Map<string, AnomalousNode>): ServiceRef[] {
  return [...grp.members]
    .sort((a, b) => {
      const sa = Math.max(...(byId.get(a)?.evidence.map((e) => e.score) ?? [0]));
      const sb = Math.max(...(byId.get(b)?.evidence.map((e) => e.score) ?? [0]));
      return sb - sa || (a < b ? -1 : 1);
    })
    .slice(0, 5)
    .map(ref);
}

/** Feeds one closed window's groups; returns the new state and the events it produced. */
export function stepLifecycle(
  state: LifecycleState,
  w: number,
  groups: readonly Group[],
  g: Graph,
  anomalous: readonly AnomalousNode[],
  o: LifecycleOptions,
  anomalousEdges: readonly AnomalousEdge[] = [],
): { state: LifecycleState; events: InsightEvent[] } {
  const W = o.windowSeconds;
  const eventTime = w + W;
  const byId = new Map(anomalous.map((a) => [a.id, a]));
  const events: InsightEvent[] = [];
  const active = state.active.map((t) => ({ ...t, insight: { ...t.insight } }));
  const matched = new Set<Tracked>();
  const nextPending: Pending[] = [];

  for (const grp of groups) {
    const impact = windowImpact(g, grp);
    // the active insight this group continues: same root cause, or overlapping services
    const hit =
      active.find((t) => !matched.has(t) && t.source === grp.source) ??
      active.find((t) => !matched.has(t) && (t.members.includes(grp.source) || grp.members.includes(t.source) || overlaps(t.members, grp.members)));
    if (hit) {
      matched.add(hit);
      const ins = hit.insight;
      const newMembers = grp.members.filter((m) => !hit.members.includes(m));
      hit.scores = addScores({ ...(hit.scores ?? {}) }, grp.candidates);
      hit.reasons = reasonsOf(grp.candidates, { ...(hit.reasons ?? {}) });
      const candidates = ranked(hit.scores, hit.reasons);
      const source = topOf(hit.scores);
      const rootChanged = hit.source !== source;
      const catsChanged = grp.categories.some((c) => !ins.categories.includes(c));
      hit.source = source;
      hit.nodes = addNodes(hit.nodes, impact.nodes);
      hit.members = [...new Set([...hit.members, ...grp.members])].sort();
      hit.lastAnomalousWindow = w;
      hit.normalStreak = 0;
      ins.categories = [...new Set([...ins.categories, ...grp.categories])].sort();
      ins.clientRequestImpactStatistics = add(ins.clientRequestImpactStatistics, impact.client);
      ins.rootCauseServiceRequestImpactStatistics = hit.nodes[source] ?? (rootChanged ? zero() : add(ins.rootCauseServiceRequestImpactStatistics, impact.root));
      ins.rootCauseCandidates = candidates;
      ins.impactedServices = hit.members.map(ref);
      ins.topAnomalousServices = topAnomalous(grp, byId);
      ins.summary = summarize(grp, source, ins.clientRequestImpactStatistics);
      ins.evidence = evidenceOf(w, W, grp, byId, anomalousEdges);
      const grew = ins.clientRequestImpactStatistics.faultCount >= Math.max(1, hit.reportedClientFaults) * 1.5 && ins.clientRequestImpactStatistics.faultCount - hit.reportedClientFaults >= 10;
      if (rootChanged || catsChanged || newMembers.length || grew) {
        ins.lastUpdateTime = eventTime;
        hit.reportedClientFaults = ins.clientRequestImpactStatistics.faultCount;
        events.push({ type: 'insight.updated', eventTime, insight: { ...ins } });
      }
      continue;
    }
    const found = state.pending.find((p) => p.lastWindow === w - W && (p.source === grp.source || overlaps(p.members, grp.members)));
    if (!found && !grp.strong) {
      nextPending.push({ source: grp.source, members: grp.members, firstWindow: w, lastWindow: w, client: impact.client, root: impact.root, scores: addScores({}, grp.candidates), nodes: impact.nodes });
      continue;
    }
    // overwhelming evidence opens at once, as if the window before had been its first
    const prev: Pending = found ?? { source: grp.source, members: grp.members, firstWindow: w, lastWindow: w, client: zero(), root: zero(), scores: {} };
    const startTime = prev.firstWindow;
    const members = [...new Set([...prev.members, ...grp.members])].sort();
    // the insight starts at the first window, so its impact does too
    const client = found ? add(prev.client ?? zero(), impact.client) : impact.client;
    const scores = addScores({ ...(prev.scores ?? {}) }, grp.candidates);
    const reasons = reasonsOf(grp.candidates);
    const candidates = ranked(scores, reasons);
    const source = topOf(scores);
    const nodes = addNodes(found ? prev.nodes : undefined, impact.nodes);
    const root = nodes[source] ?? (found && prev.source === grp.source ? add(prev.root ?? zero(), impact.root) : impact.root);
    const insight: Insight = {
      id: insightId(o.groupName, source, startTime),
      groupName: o.groupName,
      state: 'ACTIVE',
      categories: [...grp.categories],
      startTime,
      endTime: null,
      rootCauseCandidates: candidates,
      impactedServices: members.map(ref),
      topAnomalousServices: topAnomalous(grp, byId),
      clientRequestImpactStatistics: client,
      rootCauseServiceRequestImpactStatistics: root,
      summary: summarize(grp, source, client),
      evidence: evidenceOf(w, W, grp, byId, anomalousEdges),
      lastUpdateTime: eventTime,
    };
    const t: Tracked = { insight, source, members, lastAnomalousWindow: w, normalStreak: 0, reportedClientFaults: client.faultCount, scores, reasons, nodes };
    active.push(t);
    matched.add(t);
    events.push({ type: 'insight.opened', eventTime, insight: { ...insight } });
  }

  const stillActive: Tracked[] = [];
  for (const t of active) {
    if (!matched.has(t)) t.normalStreak++;
    if (t.normalStreak >= o.closeAfterWindows) {
      t.insight.state = 'CLOSED';
      t.insight.endTime = t.lastAnomalousWindow + W;
      t.insight.lastUpdateTime = eventTime;
      if (t.insight.traceFilter) t.insight.traceFilter = { ...t.insight.traceFilter, endTime: t.insight.endTime };
      events.push({ type: 'insight.closed', eventTime, insight: { ...t.insight } });
    } else stillActive.push(t);
  }
  return { state: { lastWindow: w, pending: nextPending, active: stillActive }, events };
}

/** Closes every active insight (end of a replay's input). */
export function flushLifecycle(state: LifecycleState, w: number, o: LifecycleOptions): { state: LifecycleState; events: InsightEvent[] } {
  const events: InsightEvent[] = state.active.map((t) => ({
    type: 'insight.closed' as const,
    eventTime: w + o.windowSeconds,
    insight: { ...t.insight, state: 'CLOSED' as const, endTime: t.lastAnomalousWindow + o.windowSeconds, lastUpdateTime: w + o.windowSeconds },
  }));
  return { state: { lastWindow: w, pending: [], active: [] }, events };
}
