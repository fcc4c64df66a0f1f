/** The shapes the console reads from /v1/console (src/api/console-api.ts) and our insight records. */

export interface StatsSummary {
  count: number;
  okCount: number;
  errorCount: number;
  throttleCount: number;
  faultCount: number;
  faultRate: number | null;
  errorRate: number | null;
  throttleRate: number | null;
  meanMs: number | null;
  p50Ms: number | null;
  p90Ms: number | null;
  p99Ms: number | null;
}

export interface MapNode {
  id: string;
  name: string;
  type: string;
  kind: 'client' | 'service' | 'inferred';
  root: boolean;
  perMinute: number;
  stats: StatsSummary;
}

export interface MapEdge {
  id: string;
  from: string;
  to: string;
  perMinute: number;
  stats: StatsSummary;
}

export interface GraphResponse {
  from: number;
  to: number;
  windowSeconds: number;
  nodes: MapNode[];
  edges: MapEdge[];
}

export type Band = [number, number];

export interface WindowPoint {
  start: number;
  count: number;
  faultRate: number | null;
  errorRate: number | null;
  throttleRate: number | null;
  p50Ms: number | null;
  p90Ms: number | null;
  p99Ms: number | null;
  baselineWindows: number;
  expected: Record<'count', Band> & Record<'faultRate' | 'errorRate' | 'throttleRate' | 'p50Ms' | 'p90Ms' | 'p99Ms', Band | null> | null;
}

export interface SeriesResponse {
  node: string;
  from: number;
  to: number;
  windowSeconds: number;
  /** seconds per point: the window, or several windows merged on long ranges */
  bucketSeconds: number;
  baseline: { historyWindows: number; minHistoryWindows: number; alpha: number; minRateIncrease: number; minLatencyRatio: number };
  windows: WindowPoint[];
  insights: Array<{ id: string; state: 'ACTIVE' | 'CLOSED'; startTime: number; endTime: number | null; lastUpdateTime: number; rootCause: ServiceRef | null }>;
}

export interface ServiceRef {
  name: string;
  type: string;
}

export interface RequestImpact {
  faultCount: number;
  okCount: number;
  totalCount: number;
}

export interface Evidence {
  category: string;
  metric: string;
  direction: 'up' | 'down';
  observed: number;
  expected: { low: number; high: number };
  baseline: number;
  test: string;
  pValue: number;
  score: number;
  sampleSize: number;
  count: number;
  phi: number;
  share: number;
  baselineWindows: number;
  baselineSource: 'recent' | 'daily';
  operation?: string;
  impact: boolean;
  strong: boolean;
}

export interface InsightEvidence {
  window: { start: number; end: number };
  rootCause: { service: ServiceRef; reason: string };
  anomalies: Array<{ service: ServiceRef; evidence: Evidence[] }>;
  calls: Array<{ from: ServiceRef; to: ServiceRef; evidence: Evidence[] }>;
}

export interface Insight {
  id: string;
  groupName: string;
  state: 'ACTIVE' | 'CLOSED';
  categories: string[];
  startTime: number;
  endTime: number | null;
  rootCauseCandidates: Array<{ service: ServiceRef; score: number; reason: string }>;
  impactedServices: ServiceRef[];
  topAnomalousServices: ServiceRef[];
  clientRequestImpactStatistics: RequestImpact;
  rootCauseServiceRequestImpactStatistics: RequestImpact;
  summary: string;
  evidence: InsightEvidence | null | undefined;
  lastUpdateTime: number;
  /** up to 20 traces of the root cause during the insight (absent on older records) */
  exemplarTraceIds?: string[];
  /** a trace search for the insight's requests on its root cause */
  traceFilter?: { filterExpression: string; startTime: number; endTime: number };
}

export interface InsightEvent {
  type: 'insight.opened' | 'insight.updated' | 'insight.closed';
  eventTime: number;
  insight: Insight;
}

export interface InsightsResponse {
  from: number;
  to: number;
  windowSeconds: number;
  insights: Insight[];
}

export interface InsightDetailResponse {
  windowSeconds: number;
  insight: Insight;
  events: InsightEvent[];
  graph: { from: number; to: number; nodes: MapNode[]; edges: MapEdge[] };
}

/** A node id as the server builds it (src/aggregate/graph-ids.ts): `type|name`, with %, | and > escaped. */
export function nodeIdOf(s: ServiceRef): string {
  const esc = (x: string) => x.replace(/%/g, '%25').replace(/\|/g, '%7C').replace(/>/g, '%3E');
  return `${esc(s.type)}|${esc(s.name)}`;
}

export const labelOf = (s: ServiceRef): string => (s.type ? `${s.name} (${s.type})` : s.name);
