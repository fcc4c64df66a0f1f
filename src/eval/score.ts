import type { InsightEvent, RootCauseCandidate } from '../insights/model.js';
import type { CaseLabels, LabelledIncident } from './labels.js';

/** An insight's startTime may be up to 2W before the incident's start (see {@link scoreCase}). */
export const MATCH_BEFORE_WINDOWS = 2;
/** An insight's startTime may be up to 2W after the incident's end (see {@link scoreCase}). */
export const MATCH_AFTER_WINDOWS = 2;
/** An insight must open by incident.end + 5W, and AC@k reads its candidates as they stood then (see {@link scoreCase}). */
export const OPEN_LIMIT_WINDOWS = 5;

/** One labelled incident, scored. */
export interface IncidentResult {
  id: string;
  kind: string;
  expect: 'detect' | 'ignore';
  start: number;
  end: number;
  /** the labelled root-cause service (null only for incidents to ignore) */
  rootCause: string | null;
  detected: boolean;
  /** seconds from incident.start to the first matching insight's opening */
  delaySeconds: number | null;
  /** the matching insight that opened first: the one AC@k reads */
  insightId: string | null;
  /** every matching insight */
  matchedInsights: string[];
  /** candidate service names of that insight at incident.end + 5W, best first */
  candidates: string[];
  /** the named root cause (first candidate), null when undetected or it named none */
  named: string | null;
  /** 1-based rank of the labelled root cause among the candidates, null when absent */
  rank: number | null;
  ac1: boolean;
  ac3: boolean;
}

/** One insight, scored. */
export interface InsightResult {
  id: string;
  startTime: number;
  /** eventTime of its first event */
  openedAt: number;
  /** ids of the incidents it matches (of either `expect`) */
  matches: string[];
  falsePositive: boolean;
  /** first root-cause candidate in its last event */
  rootCause: string | null;
}

/** Counts and rates over some incidents and insights; rates are null when their denominator is 0. */
export interface Tally {
  /** incidents to detect (expect: "detect") */
  incidents: number;
  detected: number;
  recall: number | null;
  insights: number;
  matchedInsights: number;
  falsePositives: number;
  precision: number | null;
  /** hours of data the insights were counted over */
  hours: number;
  falsePositivesPerHour: number | null;
  medianDelaySeconds: number | null;
  p90DelaySeconds: number | null;
  ac1Hits: number;
  ac3Hits: number;
  ac1: number | null;
  ac3: number | null;
}

/** A case (one labels file and the insight events of its replay), scored. */
export interface CaseScore {
  tally: Tally;
  incidents: IncidentResult[];
  insights: InsightResult[];
}

/** Median: the middle value, or the mean of the middle two. */
export function median(xs: readonly number[]): number | null {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Nearest-rank percentile (p in (0, 100]): the smallest value with at least p % of the values at or below it. */
export function percentile(xs: readonly number[], p: number): number | null {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length, Math.max(1, Math.ceil((p / 100) * s.length))) - 1]!;
}

const ratio = (n: number, d: number) => (d ? n / d : null);

interface Track {
  id: string;
  startTime: number;
  openedAt: number;
  /** position of its first event in the stream: of insights opened by the same window, the first announced */
  order: number;
  /** its events, ordered by eventTime (stable, so equal times keep their emission order) */
  events: InsightEvent[];
}

function tracksOf(events: readonly InsightEvent[]): Track[] {
  const byId = new Map<string, Array<{ e: InsightEvent; at: number }>>();
  events.forEach((e, at) => {
    const list = byId.get(e.insight.id);
    if (list) list.push({ e, at });
    else byId.set(e.insight.id, [{ e, at }]);
  });
  return [...byId.entries()].map(([id, list]) => {
    const sorted = [...list].sort((a, b) => a.e.eventTime - b.e.eventTime);
    const first = sorted[0]!;
    // an insight's startTime is part of its identity (its id is derived from it): the first event's serves
    return { id, startTime: first.e.insight.startTime, openedAt: first.e.eventTime, order: first.at, events: sorted.map((x) => x.e) };
  });
}

/** The candidates as they stood at `bound`: those of the latest event at or before it. */
function candidatesAt(t: Track, bound: number): RootCauseCandidate[] {
  let last: InsightEvent | undefined;
  for (const e of t.events) if (e.eventTime <= bound) last = e;
  return last?.insight.rootCauseCandidates ?? [];
}

// one window's close often opens several insights at once: the detector announces its strongest first
const byOpening = (a: Track, b: Track) => a.openedAt - b.openedAt || a.order - b.order;

function matches(t: Track, inc: LabelledIncident, W: number): boolean {
  return t.startTime >= inc.start - MATCH_BEFORE_WINDOWS * W && t.startTime <= inc.end + MATCH_AFTER_WINDOWS * W && t.openedAt <= inc.end + OPEN_LIMIT_WINDOWS * W;
}

function scoreIncident(inc: LabelledIncident, tracks: readonly Track[], W: number): IncidentResult {
  const hits = tracks.filter((t) => matches(t, inc, W)).sort(byOpening);
  const first = hits[0];
  const candidates = first ? candidatesAt(first, inc.end + OPEN_LIMIT_WINDOWS * W).map((c) => c.service.name) : [];
  const want = inc.rootCause?.toLowerCase();
  const at = want === undefined ? -1 : candidates.findIndex((n) => n.toLowerCase() === want);
  return {
    id: inc.id,
    kind: inc.kind,
    expect: inc.expect,
    start: inc.start,
    end: inc.end,
    rootCause: inc.rootCause ?? null,
    detected: first !== undefined,
    delaySeconds: first ? first.openedAt - inc.start : null,
    insightId: first?.id ?? null,
    matchedInsights: hits.map((h) => h.id),
    candidates,
    named: candidates[0] ?? null,
    rank: at < 0 ? null : at + 1,
    ac1: at === 0,
    ac3: at >= 0 && at < 3,
  };
}

/**
 * Builds a tally from scored incidents (those to ignore are skipped here) and insight counts; pooling
 * is calling it on the concatenation of several cases' results.
 */
export function tallyOf(incidents: readonly IncidentResult[], insights: { insights: number; matched: number; hours: number }): Tally {
  const scored = incidents.filter((i) => i.expect === 'detect');
  const detected = scored.filter((i) => i.detected);
  const delays = detected.map((i) => i.delaySeconds!);
  const ac1Hits = scored.filter((i) => i.ac1).length;
  const ac3Hits = scored.filter((i) => i.ac3).length;
  const falsePositives = insights.insights - insights.matched;
  return {
    incidents: scored.length,
    detected: detected.length,
    recall: ratio(detected.length, scored.length),
    insights: insights.insights,
    matchedInsights: insights.matched,
    falsePositives,
    precision: ratio(insights.matched, insights.insights),
    hours: insights.hours,
    falsePositivesPerHour: ratio(falsePositives, insights.hours),
    medianDelaySeconds: median(delays),
    p90DelaySeconds: percentile(delays, 90),
    ac1Hits,
    ac3Hits,
    ac1: ratio(ac1Hits, scored.length),
    ac3: ratio(ac3Hits, scored.length),
  };
}

/**
 * Scores one case's insight events against its labels: the one set of rules that `eval` and
 * `replay --labels` share. W is the window length in seconds (`cfg.windowSeconds`); with W = 60 these
 * are the rules of the Nezha dev set's README ("How to score": 120 s, 300 s).
 *
 * 1. **Match.** An insight matches an incident when its `startTime` lies in
 *    [incident.start − 2W, incident.end + 2W] and it opened (the `eventTime` of its first event, normally
 *    `insight.opened`) no later than incident.end + 5W.
 * 2. **False positive.** An insight that matches no incident. An incident labelled `expect: "ignore"`
 *    excuses the insights that match it, but need not be detected: it is left out of incidents, recall,
 *    delay and AC@k.
 * 3. **Detection and delay.** An incident is detected when at least one insight matches it; its delay is
 *    the earliest matching insight's opening time minus incident.start (negative when it opened before
 *    the labelled start, which the −2W margin allows).
 * 4. **AC@k.** Take the matching insight that opened first (of several opened at the same eventTime, the
 *    one whose event came first in the stream) and its `rootCauseCandidates` as last updated
 *    by incident.end + 5W (its latest event with eventTime ≤ that bound). It is a hit when the labelled
 *    root cause is among the first k candidates' `service.name`, compared case-insensitively. Over all
 *    incidents to detect: a missed incident is a miss for both k = 1 and k = 3.
 * 5. **Rates.** recall = detected / incidents; precision = matched insights / insights; false
 *    positives per hour over (labels.end − labels.start) / 3600 hours, summed over cases when pooled.
 *    Delay percentiles: the median (mean of the middle two for an even count) and the nearest-rank p90.
 */
export function scoreCase(events: readonly InsightEvent[], labels: CaseLabels, windowSeconds: number): CaseScore {
  const tracks = tracksOf(events);
  const incidents = labels.incidents.map((inc) => scoreIncident(inc, tracks, windowSeconds));
  const insights: InsightResult[] = [...tracks].sort(byOpening).map((t) => {
    const m = labels.incidents.filter((inc) => matches(t, inc, windowSeconds)).map((inc) => inc.id);
    return { id: t.id, startTime: t.startTime, openedAt: t.openedAt, matches: m, falsePositive: m.length === 0, rootCause: t.events.at(-1)!.insight.rootCauseCandidates[0]?.service.name ?? null };
  });
  const hours = (labels.end - labels.start) / 3600;
  const matched = insights.filter((i) => !i.falsePositive).length;
  return { tally: tallyOf(incidents, { insights: insights.length, matched, hours }), incidents, insights };
}

/** Pools several cases: sums the counts and hours, and takes rates and delay percentiles over the union. */
export function poolScores(cases: readonly CaseScore[]): Tally {
  return tallyOf(
    cases.flatMap((c) => c.incidents),
    {
      insights: cases.reduce((n, c) => n + c.tally.insights, 0),
      matched: cases.reduce((n, c) => n + c.tally.matchedInsights, 0),
      hours: cases.reduce((n, c) => n + c.tally.hours, 0),
    },
  );
}

/** The kinds a case's incidents to detect have, sorted; one kind for every Nezha case. */
export function kindsOf(c: CaseScore): string[] {
  return [...new Set(c.incidents.filter((i) => i.expect === 'detect').map((i) => i.kind))].sort();
}

/** A tally per incident kind, with how many cases its insight columns cover. */
export interface KindTally extends Tally {
  /**
   * Insights carry no kind, so the insight columns (insights, false positives, precision, per hour) of a
   * kind pool only the cases whose incidents to detect are all of that kind; 0 when there is none.
   */
  cases: number;
}

/** Per incident kind: incident columns over that kind's incidents, insight columns over its single-kind cases. */
export function scoresByKind(cases: readonly CaseScore[]): Record<string, KindTally> {
  const kinds = [...new Set(cases.flatMap(kindsOf))].sort();
  const out: Record<string, KindTally> = {};
  for (const kind of kinds) {
    const only = cases.filter((c) => {
      const k = kindsOf(c);
      return k.length === 1 && k[0] === kind;
    });
    const pooled = poolScores(only);
    const incidents = cases.flatMap((c) => c.incidents).filter((i) => i.kind === kind);
    out[kind] = { ...tallyOf(incidents, { insights: pooled.insights, matched: pooled.matchedInsights, hours: pooled.hours }), cases: only.length };
  }
  return out;
}
