import { createHash } from 'node:crypto';

/** A service as insights name it. */
export interface ServiceRef {
  name: string;
  type: string;
}

export interface RequestImpact {
  faultCount: number;
  okCount: number;
  totalCount: number;
}

export interface RootCauseCandidate {
  service: ServiceRef;
  score: number;
  reason: string;
}

/** An insight: an incident record, as replay writes it, webhooks deliver it and the API serves it. */
export interface Insight {
  id: string;
  groupName: string;
  state: 'ACTIVE' | 'CLOSED';
  categories: string[];
  /** epoch seconds: start of the first anomalous window */
  startTime: number;
  /** epoch seconds: end of the last anomalous window, once CLOSED */
  endTime: number | null;
  rootCauseCandidates: RootCauseCandidate[];
  impactedServices: ServiceRef[];
  topAnomalousServices: ServiceRef[];
  clientRequestImpactStatistics: RequestImpact;
  rootCauseServiceRequestImpactStatistics: RequestImpact;
  summary: string;
  evidence: unknown;
  /** epoch seconds: end of the window that last changed it */
  lastUpdateTime: number;
  /**
   * How to find the insight's requests on its root cause: a filter expression for GetTraceSummaries
   * (and `npx trace-insights traces --filter`) with the insight's time range.
   */
  traceFilter?: TraceFilter;
  /** Up to 20 traces of the root cause during the insight: faulty first, then the slowest. */
  exemplarTraceIds?: string[];
  /** The insight's page in the console, when the service knows its public address (PUBLIC_URL); added on delivery. */
  consoleUrl?: string;
}

/** A trace search: an X-Ray filter expression over a time range (epoch seconds). */
export interface TraceFilter {
  filterExpression: string;
  startTime: number;
  endTime: number;
}

export type InsightEventType = 'insight.opened' | 'insight.updated' | 'insight.closed';

export interface InsightEvent {
  type: InsightEventType;
  /** epoch seconds: end of the window whose close produced the event */
  eventTime: number;
  insight: Insight;
}

/** Deterministic insight id in X-Ray's UUID pattern (version 5 style, from a SHA-1 of its identity). */
export function insightId(groupName: string, source: string, startTime: number): string {
  const h = createHash('sha1').update(`${groupName}\n${source}\n${startTime}`).digest('hex');
  const variant = ((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
