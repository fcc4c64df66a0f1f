import type { InsightEvent, RequestImpact, ServiceRef } from '../../src/insights/model.js';

/** An insight event as the demo shows it, whether it came by webhook or from the X-Ray API. */
export interface SeenEvent {
  via: 'webhook' | 'X-Ray API';
  type: InsightEvent['type'];
  insightId: string;
  /** epoch seconds */
  eventTime: number;
  state: 'ACTIVE' | 'CLOSED';
  categories: string[];
  startTime: number;
  endTime: number | null;
  summary: string;
  rootCause?: ServiceRef;
  client: RequestImpact;
  rootCauseImpact: RequestImpact;
  topAnomalous: string[];
}

export function fromWebhook(e: InsightEvent): SeenEvent {
  const i = e.insight;
  return {
    via: 'webhook',
    type: e.type,
    insightId: i.id,
    eventTime: e.eventTime,
    state: i.state,
    categories: i.categories,
    startTime: i.startTime,
    endTime: i.endTime,
    summary: i.summary,
    rootCause: i.rootCauseCandidates[0]?.service,
    client: i.clientRequestImpactStatistics,
    rootCauseImpact: i.rootCauseServiceRequestImpactStatistics,
    topAnomalous: i.topAnomalousServices.map((s) => s.name),
  };
}

interface XrayImpact {
  FaultCount: number;
  OkCount: number;
  TotalCount: number;
}
interface XrayServiceId {
  Name: string;
  Type?: string;
}
interface XraySummary {
  InsightId: string;
  State: 'ACTIVE' | 'CLOSED';
  Categories: string[];
  StartTime: number;
  EndTime?: number;
  Summary: string;
  RootCauseServiceId?: XrayServiceId;
}
interface XrayEvent {
  Summary: string;
  EventTime: number;
  ClientRequestImpactStatistics: XrayImpact;
  RootCauseServiceRequestImpactStatistics: XrayImpact;
  TopAnomalousServices: Array<{ ServiceId: XrayServiceId }>;
}

const impact = (r: XrayImpact): RequestImpact => ({ faultCount: r.FaultCount, okCount: r.OkCount, totalCount: r.TotalCount });

async function post<T>(baseUrl: string, path: string, body: unknown): Promise<T> {
  const res = await fetch(`${baseUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/**
 * Without webhooks: polls GetInsightSummaries and GetInsightEvents (the X-Ray API) every `everyMs` and
 * reports each event once. X-Ray's InsightEvent has no type; the first is the opening, one whose
 * summary says "Resolved" the closing, the rest updates.
 */
export function pollInsightEvents(baseUrl: string, since: number, onEvent: (e: SeenEvent) => void, everyMs = 2000): { stop(): void } {
  const seen = new Map<string, number>();
  let stopped = false;
  const tick = async () => {
    const now = Date.now() / 1000;
    const { InsightSummaries } = await post<{ InsightSummaries: XraySummary[] }>(baseUrl, '/InsightSummaries', { StartTime: since - 60, EndTime: now + 60, GroupName: 'Default' });
    for (const s of [...InsightSummaries].reverse()) {
      const { InsightEvents } = await post<{ InsightEvents: XrayEvent[] }>(baseUrl, '/InsightEvents', { InsightId: s.InsightId, MaxResults: 50 });
      const done = seen.get(s.InsightId) ?? 0;
      InsightEvents.slice(done).forEach((e, k) => {
        const n = done + k;
        const closing = e.Summary.startsWith('Resolved');
        onEvent({
          via: 'X-Ray API',
          type: n === 0 ? 'insight.opened' : closing ? 'insight.closed' : 'insight.updated',
          insightId: s.InsightId,
          eventTime: e.EventTime,
          state: closing ? 'CLOSED' : 'ACTIVE',
          categories: s.Categories,
          startTime: s.StartTime,
          endTime: closing ? (s.EndTime ?? null) : null,
          summary: e.Summary.replace(/^Resolved: /, ''),
          rootCause: s.RootCauseServiceId ? { name: s.RootCauseServiceId.Name, type: s.RootCauseServiceId.Type ?? '' } : undefined,
          client: impact(e.ClientRequestImpactStatistics),
          rootCauseImpact: impact(e.RootCauseServiceRequestImpactStatistics),
          topAnomalous: e.TopAnomalousServices.map((t) => t.ServiceId.Name),
        });
      });
      seen.set(s.InsightId, InsightEvents.length);
    }
  };
  const loop = async () => {
    while (!stopped) {
      await tick().catch(() => undefined);
      await new Promise((r) => setTimeout(r, everyMs));
    }
  };
  void loop();
  return {
    stop: () => {
      stopped = true;
    },
  };
}
