import type { Evidence, Insight, InsightEvent, ServiceRef } from './types.js';
import { labelOf, nodeIdOf } from './types.js';

const sameRef = (a: ServiceRef | undefined, b: ServiceRef | undefined) => !!a && !!b && a.name === b.name && a.type === b.type;

/** What an insight event changed, as short sentences, against the event before it (none for the first). */
export function eventChanges(prev: Insight | undefined, e: InsightEvent): string[] {
  const cur = e.insight;
  if (e.type === 'insight.opened' || !prev) {
    const root = cur.rootCauseCandidates[0]?.service;
    return [`opened: ${cur.categories.join(', ') || 'anomaly'}${root ? ` rooted in ${labelOf(root)}` : ''}`];
  }
  const out: string[] = [];
  if (e.type === 'insight.closed') out.push('closed: the services are back to normal');
  const r0 = prev.rootCauseCandidates[0]?.service;
  const r1 = cur.rootCauseCandidates[0]?.service;
  if (r1 && !sameRef(r0, r1)) out.push(`root cause: ${r0 ? labelOf(r0) : 'none'} → ${labelOf(r1)}`);
  const added = cur.categories.filter((c) => !prev.categories.includes(c));
  const removed = prev.categories.filter((c) => !cur.categories.includes(c));
  if (added.length || removed.length) out.push(`categories: ${[...added.map((c) => `+${c}`), ...removed.map((c) => `−${c}`)].join(' ')}`);
  const ids = (l: ServiceRef[]) => new Set(l.map(nodeIdOf));
  const before = ids(prev.impactedServices);
  const after = ids(cur.impactedServices);
  const newly = cur.impactedServices.filter((s) => !before.has(nodeIdOf(s)));
  const gone = prev.impactedServices.filter((s) => !after.has(nodeIdOf(s)));
  if (newly.length) out.push(`now impacting ${newly.map(labelOf).join(', ')}`);
  if (gone.length) out.push(`no longer impacting ${gone.map(labelOf).join(', ')}`);
  const a = prev.clientRequestImpactStatistics;
  const b = cur.clientRequestImpactStatistics;
  if (a.faultCount !== b.faultCount || a.totalCount !== b.totalCount) out.push(`client requests faulted: ${a.faultCount} of ${a.totalCount} → ${b.faultCount} of ${b.totalCount}`);
  if (!out.length) out.push('updated');
  return out;
}

/** The evidence that concerns one candidate: its own anomalies, then the calls it makes or receives. */
export function evidenceFor(i: Insight, s: ServiceRef): Array<{ where: string; evidence: Evidence }> {
  const ev = i.evidence;
  if (!ev) return [];
  const out: Array<{ where: string; evidence: Evidence }> = [];
  for (const a of ev.anomalies ?? []) if (sameRef(a.service, s)) for (const e of a.evidence) out.push({ where: labelOf(s), evidence: e });
  for (const c of ev.calls ?? []) {
    if (sameRef(c.from, s) || sameRef(c.to, s)) for (const e of c.evidence) out.push({ where: `${labelOf(c.from)} → ${labelOf(c.to)}`, evidence: e });
  }
  return out.sort((x, y) => y.evidence.score - x.evidence.score);
}

const UNITS: Record<string, 'rate' | 'ms' | 'ratio'> = { faultRate: 'rate', throttleRate: 'rate', latencyMs: 'ms', ownTimeMs: 'ms', gapMs: 'ms', callsPerRequest: 'ratio' };

/** A measured value in its metric's unit: rates as percentages, times in ms, ratios as plain numbers. */
export function formatMetricValue(metric: string, x: number): string {
  const unit = UNITS[metric] ?? 'ratio';
  if (!Number.isFinite(x)) return String(x);
  if (unit === 'rate') return `${(x * 100).toFixed(x < 0.1 ? 2 : 1)} %`;
  if (unit === 'ms') return `${x >= 100 ? x.toFixed(0) : x >= 1 ? x.toFixed(1) : x.toFixed(3)} ms`;
  return x.toFixed(2);
}

/** A p-value readably: scientific below 0.001. */
export function formatP(p: number): string {
  if (p === 0) return '< 1e-300';
  return p < 0.001 ? p.toExponential(1) : p.toPrecision(2);
}

/** Active first, then newest start, then by id (the server sorts the same way). */
export function insightOrder(a: Insight, b: Insight): number {
  if (a.state !== b.state) return a.state === 'ACTIVE' ? -1 : 1;
  return b.startTime - a.startTime || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** How long an insight lasted, or has lasted so far. */
export function insightDuration(i: Insight, now: number): number {
  return (i.endTime ?? Math.max(now, i.lastUpdateTime)) - i.startTime;
}

/**
 * Which nodes the active insights name, and which of them is an active insight's root cause (its first
 * candidate): the map marks both, the root cause distinctly. Closed insights mark nothing.
 */
export function activeMarks(insights: readonly Insight[] | undefined): { inInsight: Set<string>; rootCause: Set<string> } {
  const inInsight = new Set<string>();
  const rootCause = new Set<string>();
  for (const i of insights ?? []) {
    if (i.state !== 'ACTIVE') continue;
    for (const s of [...i.impactedServices, ...i.topAnomalousServices]) inInsight.add(nodeIdOf(s));
    const root = i.rootCauseCandidates[0]?.service;
    if (root) rootCause.add(nodeIdOf(root));
  }
  return { inInsight, rootCause };
}
