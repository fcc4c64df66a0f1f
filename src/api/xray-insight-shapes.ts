import type { Insight, InsightEvent, RequestImpact, ServiceRef } from '../insights/model.js';
import { toEpoch } from './epoch.js';
import { consoleInsightUrl } from './console-links.js';

/**
 * Our insights in X-Ray's shapes (reference §4.4). Categories pass through as we have them: X-Ray's enum
 * is FAULT only, but we also report LATENCY and THROTTLE, and @aws-sdk/client-xray keeps enum values it
 * does not know as plain strings.
 */

/** X-Ray's ServiceId. A service without an origin has no Type, as in GetServiceGraph. */
export function xrayServiceId(s: ServiceRef, accountId: string) {
  return { Name: s.name, Names: [s.name], ...(s.type ? { Type: s.type } : {}), AccountId: accountId };
}

export function xrayImpact(r: RequestImpact) {
  return { FaultCount: r.faultCount, OkCount: r.okCount, TotalCount: r.totalCount };
}

export interface ShapeContext {
  groupArn: string;
  accountId: string;
  /** The service's public address (PUBLIC_URL): each insight then links its console page. */
  publicUrl?: string | null;
}

/** The root cause X-Ray names: our best-ranked candidate. */
export function rootCauseOf(i: Insight): ServiceRef | undefined {
  return i.rootCauseCandidates[0]?.service;
}

/** X-Ray's Insight (GetInsight). EndTime is left out while the insight is active. */
export function xrayInsight(i: Insight, ctx: ShapeContext) {
  const root = rootCauseOf(i);
  return {
    InsightId: i.id,
    GroupARN: ctx.groupArn,
    GroupName: i.groupName,
    ...(root ? { RootCauseServiceId: xrayServiceId(root, ctx.accountId) } : {}),
    Categories: [...i.categories],
    State: i.state,
    StartTime: toEpoch(i.startTime),
    ...(i.state === 'CLOSED' && i.endTime !== null ? { EndTime: toEpoch(i.endTime) } : {}),
    Summary: i.summary,
    ClientRequestImpactStatistics: xrayImpact(i.clientRequestImpactStatistics),
    RootCauseServiceRequestImpactStatistics: xrayImpact(i.rootCauseServiceRequestImpactStatistics),
    TopAnomalousServices: i.topAnomalousServices.map((s) => ({ ServiceId: xrayServiceId(s, ctx.accountId) })),
    ...traceLinks(i),
    ...(ctx.publicUrl ? { ConsoleUrl: consoleInsightUrl(ctx.publicUrl, i.id) } : {}),
  };
}

/**
 * Our extension to X-Ray's shapes (SDKs ignore fields they do not know): where the insight's traces are,
 * as a GetTraceSummaries query and as example trace ids for BatchGetTraces.
 */
export function traceLinks(i: Insight) {
  return {
    ...(i.traceFilter ? { TraceFilter: { FilterExpression: i.traceFilter.filterExpression, StartTime: toEpoch(i.traceFilter.startTime), EndTime: toEpoch(i.traceFilter.endTime) } } : {}),
    ...(i.exemplarTraceIds ? { ExemplarTraceIds: [...i.exemplarTraceIds] } : {}),
  };
}

/** X-Ray's InsightSummary (GetInsightSummaries): the Insight plus LastUpdateTime. */
export function xrayInsightSummary(i: Insight, ctx: ShapeContext) {
  return { ...xrayInsight(i, ctx), LastUpdateTime: toEpoch(i.lastUpdateTime) };
}

/**
 * X-Ray's InsightEvent: the insight as it stood at the event. The summary says what happened then; a
 * closing event says so, since the snapshot's own summary describes the anomaly, not its end.
 */
export function xrayInsightEvent(e: InsightEvent, accountId: string) {
  const i = e.insight;
  const summary = e.type === 'insight.closed' ? `Resolved: ${i.summary}` : i.summary;
  return {
    Summary: summary,
    EventTime: toEpoch(e.eventTime),
    ClientRequestImpactStatistics: xrayImpact(i.clientRequestImpactStatistics),
    RootCauseServiceRequestImpactStatistics: xrayImpact(i.rootCauseServiceRequestImpactStatistics),
    TopAnomalousServices: i.topAnomalousServices.map((s) => ({ ServiceId: xrayServiceId(s, accountId) })),
  };
}
