import type { Insight, InsightEvent } from '../insights/model.js';

/** The simulator's labels file. */
export interface Labels {
  scenario?: string;
  start?: number;
  end?: number;
  incidents: Array<{ id: string; kind: string; start: number; end: number; rootCause: { name: string; type?: string } }>;
}

export interface IncidentScore {
  id: string;
  kind: string;
  detected: boolean;
  /** seconds from the incident's start to the event that opened its insight */
  delaySeconds: number | null;
  insightId: string | null;
  rootCauseTop1: boolean;
  rootCauseTop3: boolean;
  named: string | null;
}

export interface Score {
  incidents: number;
  detected: number;
  insights: number;
  falsePositives: number;
  hours: number;
  falsePositivesPerHour: number;
  precision: number | null;
  recall: number | null;
  medianDelaySeconds: number | null;
  medianDelayWindows: number | null;
  rootCauseTop1: number | null;
  rootCauseTop3: number | null;
  perIncident: IncidentScore[];
}

const median = (xs: number[]) => {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/**
 * Scores insight events against labelled incidents. An insight matches an incident when their times
 * overlap (the insight may open up to two windows after the incident ends, the detection delay); a
 * matched insight is a true positive, an unmatched one a false positive. Root cause is right when the
 * insight's first (top-1) or first three (top-3) candidates name the labelled service.
 */
export function score(events: readonly InsightEvent[], labels: Labels, windowSeconds: number, span?: { start: number; end: number }): Score {
  const opened = new Map<string, number>();
  const latest = new Map<string, Insight>();
  for (const e of events) {
    if (e.type === 'insight.opened') opened.set(e.insight.id, e.eventTime);
    latest.set(e.insight.id, e.insight);
  }
  // the root cause as first named when opened, later updates may refine it
  const firstRoot = new Map<string, Insight>();
  for (const e of events) if (!firstRoot.has(e.insight.id)) firstRoot.set(e.insight.id, e.insight);
  const insights = [...latest.values()];
  const overlaps = (i: Insight, inc: Labels['incidents'][number]) => i.startTime < inc.end + 2 * windowSeconds && (i.endTime ?? Infinity) > inc.start;
  const names = (i: Insight, n: number) => i.rootCauseCandidates.slice(0, n).map((c) => c.service.name);
  const matchedInsights = new Set<string>();
  const perIncident: IncidentScore[] = labels.incidents.map((inc) => {
    const hits = insights.filter((i) => overlaps(i, inc));
    for (const h of hits) matchedInsights.add(h.id);
    // prefer the insight that names the labelled root cause
    const best = hits.find((h) => names(firstRoot.get(h.id)!, 1).includes(inc.rootCause.name)) ?? hits.find((h) => names(firstRoot.get(h.id)!, 3).includes(inc.rootCause.name)) ?? hits[0];
    if (!best) return { id: inc.id, kind: inc.kind, detected: false, delaySeconds: null, insightId: null, rootCauseTop1: false, rootCauseTop3: false, named: null };
    const first = firstRoot.get(best.id)!;
    return {
      id: inc.id,
      kind: inc.kind,
      detected: true,
      delaySeconds: Math.max(0, (opened.get(best.id) ?? best.lastUpdateTime) - inc.start),
      insightId: best.id,
      rootCauseTop1: names(first, 1).includes(inc.rootCause.name),
      rootCauseTop3: names(first, 3).includes(inc.rootCause.name),
      named: first.rootCauseCandidates[0]?.service.name ?? null,
    };
  });
  const start = span?.start ?? labels.start ?? Math.min(...insights.map((i) => i.startTime), Infinity);
  const end = span?.end ?? labels.end ?? Math.max(...insights.map((i) => i.lastUpdateTime), -Infinity);
  const hours = Number.isFinite(end - start) && end > start ? (end - start) / 3600 : 0;
  const falsePositives = insights.filter((i) => !matchedInsights.has(i.id)).length;
  const detected = perIncident.filter((p) => p.detected);
  const delay = median(detected.map((p) => p.delaySeconds!));
  return {
    incidents: labels.incidents.length,
    detected: detected.length,
    insights: insights.length,
    falsePositives,
    hours: Math.round(hours * 100) / 100,
    falsePositivesPerHour: hours ? Math.round((falsePositives / hours) * 100) / 100 : 0,
    precision: insights.length ? Math.round(((insights.length - falsePositives) / insights.length) * 1000) / 1000 : null,
    recall: labels.incidents.length ? Math.round((detected.length / labels.incidents.length) * 1000) / 1000 : null,
    medianDelaySeconds: delay,
    medianDelayWindows: delay === null ? null : Math.round((delay / windowSeconds) * 100) / 100,
    rootCauseTop1: detected.length ? Math.round((detected.filter((p) => p.rootCauseTop1).length / detected.length) * 1000) / 1000 : null,
    rootCauseTop3: detected.length ? Math.round((detected.filter((p) => p.rootCauseTop3).length / detected.length) * 1000) / 1000 : null,
    perIncident,
  };
}

export function formatScore(s: Score): string {
  const pct = (x: number | null) => (x === null ? 'n/a' : `${Math.round(x * 1000) / 10} %`);
  const lines = [
    `incidents detected   ${s.detected}/${s.incidents}`,
    `insights             ${s.insights} (false positives ${s.falsePositives}, ${s.falsePositivesPerHour}/h over ${s.hours} h)`,
    `precision            ${pct(s.precision)}`,
    `median delay         ${s.medianDelaySeconds === null ? 'n/a' : `${s.medianDelaySeconds} s (${s.medianDelayWindows} windows)`}`,
    `root cause top-1     ${pct(s.rootCauseTop1)}`,
    `root cause top-3     ${pct(s.rootCauseTop3)}`,
  ];
  for (const p of s.perIncident) {
    lines.push(`  ${p.id.padEnd(24)} ${p.kind.padEnd(9)} ${p.detected ? `detected after ${p.delaySeconds}s, named ${p.named}${p.rootCauseTop1 ? '' : p.rootCauseTop3 ? ' (right one in top 3)' : ' (wrong)'}` : 'MISSED'}`);
  }
  return lines.join('\n');
}
