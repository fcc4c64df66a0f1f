import { createHash } from 'node:crypto';
import type { InsightEvent, RequestImpact, ServiceRef } from '../insights/model.js';
import type { Format } from './subscription.js';

/**
 * Request bodies. `insight-event` is the event JSON exactly as replay writes it (and as stored, byte for
 * byte). `eventbridge` is the event X-Ray puts on the default bus (reference §5.2), so EventBridge rules
 * on `source`, `detail-type` and `detail.*` can be pointed at a webhook unchanged.
 */

export interface EventBridgeEnvelope {
  account: string;
  region: string;
}

const stats = (r: RequestImpact) => ({ FaultCount: r.faultCount, OkCount: r.okCount, TotalCount: r.totalCount });

const serviceId = (s: ServiceRef, account: string) => ({ Name: s.name, Names: [s.name], AccountId: account, Type: s.type });

/** A UUID derived from the webhook id: the same on every attempt, like EventBridge's `id`. */
function uuidFrom(seed: string): string {
  const h = createHash('sha256').update(seed).digest('hex');
  const variant = ((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** The EventBridge event for an insight event (times in epoch seconds, as the API uses). */
export function toEventBridge(e: InsightEvent, webhookId: string, env: EventBridgeEnvelope) {
  const i = e.insight;
  const root = i.rootCauseCandidates[0]?.service;
  const top = i.topAnomalousServices.map((s) => ({ ServiceId: serviceId(s, env.account) }));
  return {
    version: '0',
    id: uuidFrom(webhookId),
    'detail-type': 'AWS X-Ray Insight Update',
    source: 'aws.xray',
    account: env.account,
    time: new Date(e.eventTime * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: env.region,
    resources: [],
    detail: {
      InsightId: i.id,
      GroupName: i.groupName,
      State: i.state,
      Categories: i.categories,
      StartTime: i.startTime,
      EndTime: i.endTime,
      Summary: i.summary,
      RootCauseServiceId: root ? serviceId(root, env.account) : null,
      ClientRequestImpactStatistics: stats(i.clientRequestImpactStatistics),
      RootCauseServiceRequestImpactStatistics: stats(i.rootCauseServiceRequestImpactStatistics),
      TopAnomalousServices: top,
      ...(i.traceFilter ? { TraceFilter: { FilterExpression: i.traceFilter.filterExpression, StartTime: i.traceFilter.startTime, EndTime: i.traceFilter.endTime } } : {}),
      ...(i.exemplarTraceIds ? { ExemplarTraceIds: i.exemplarTraceIds } : {}),
      ...(i.consoleUrl ? { ConsoleUrl: i.consoleUrl } : {}),
      Event: {
        EventTime: e.eventTime,
        Summary: i.summary,
        ClientRequestImpactStatistics: stats(i.clientRequestImpactStatistics),
        RootCauseServiceRequestImpactStatistics: stats(i.rootCauseServiceRequestImpactStatistics),
        TopAnomalousServices: top,
      },
    },
  };
}

/** The body of a delivery, from the stored event JSON. */
export function renderBody(format: Format, eventJson: string, webhookId: string, env: EventBridgeEnvelope): string {
  if (format === 'insight-event') return eventJson;
  return JSON.stringify(toEventBridge(JSON.parse(eventJson) as InsightEvent, webhookId, env));
}
