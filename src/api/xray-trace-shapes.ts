import { outcomeOf } from '../traces/filter/entity.js';
import { rootCausesOf, type RootCause } from '../traces/filter/root-causes.js';
import type { TraceModel } from '../traces/filter/trace-model.js';
import type { ServiceRef, TraceSummaryRow } from '../traces/store/reader.js';
import { toEpoch } from './epoch.js';

const serviceId = (s: ServiceRef) => ({ Name: s.name, Names: [s.name], ...(s.type ? { Type: s.type } : {}), ...(s.account_id ? { AccountId: s.account_id } : {}) });

function annotationValue(v: string | number | boolean) {
  if (typeof v === 'number') return { NumberValue: v };
  if (typeof v === 'boolean') return { BooleanValue: v };
  return { StringValue: v };
}

/**
 * One root cause in X-Ray's FaultRootCause / ErrorRootCause shape, or with `coverage` its
 * ResponseTimeRootCause shape (entities carry Coverage instead of Exceptions).
 */
function xrayRootCause(cause: RootCause, clientImpacting: boolean, coverage: boolean) {
  return {
    Services: cause.services.map((s) => ({
      Name: s.name,
      Names: [s.name],
      ...(s.type !== undefined ? { Type: s.type } : {}),
      ...(s.accountId !== undefined ? { AccountId: s.accountId } : {}),
      EntityPath: s.entityPath.map((e) => ({
        Name: e.name,
        ...(coverage
          ? e.coverage !== undefined ? { Coverage: Math.round(e.coverage * 1e6) / 1e6 } : {}
          : {
              Exceptions: e.exceptions.map((x) => ({
                ...(x.name !== undefined ? { Name: x.name } : {}),
                ...(x.message !== undefined ? { Message: x.message } : {}),
              })),
            }),
        Remote: e.remote,
      })),
      Inferred: s.inferred,
    })),
    ClientImpacting: clientImpacting,
  };
}

/**
 * FaultRootCauses, ErrorRootCauses and ResponseTimeRootCauses of an assembled trace (root-causes.ts).
 * A fault or error root cause impacts the client when the root segment answered with one too; the
 * response-time path starts at the root segment, so its time is the client's by construction.
 */
export function xrayRootCauses(model: TraceModel) {
  const root = model.root && outcomeOf(model.root);
  return {
    FaultRootCauses: rootCausesOf(model, 'fault').map((c) => xrayRootCause(c, root?.fault ?? false, false)),
    ErrorRootCauses: rootCausesOf(model, 'error').map((c) => xrayRootCause(c, root?.error ?? false, false)),
    ResponseTimeRootCauses: rootCausesOf(model, 'responsetime').map((c) => xrayRootCause(c, true, true)),
  };
}

export interface TraceSummaryExtras {
  /** the trace's documents assembled; without it (documents gone since) root causes are empty */
  model?: TraceModel | undefined;
  /** epoch seconds; set when the query's time range matched on an event time */
  matchedEventTime?: number | undefined;
}

/** A stored summary row in X-Ray's TraceSummary shape; absent facts are left out, not invented. */
export function xrayTraceSummary(r: TraceSummaryRow, extras: TraceSummaryExtras = {}) {
  const http = {
    ...(r.http.url !== null ? { HttpURL: r.http.url } : {}),
    ...(r.http.status !== null ? { HttpStatus: r.http.status } : {}),
    ...(r.http.method !== null ? { HttpMethod: r.http.method } : {}),
    ...(r.http.userAgent !== null ? { UserAgent: r.http.userAgent } : {}),
    ...(r.http.clientIp !== null ? { ClientIp: r.http.clientIp } : {}),
  };
  return {
    Id: r.traceId,
    StartTime: toEpoch(r.startTime),
    ...(r.duration !== null ? { Duration: toEpoch(r.duration) } : {}),
    ...(r.responseTime !== null ? { ResponseTime: toEpoch(r.responseTime) } : {}),
    HasFault: r.hasFault,
    HasError: r.hasError,
    HasThrottle: r.hasThrottle,
    IsPartial: r.isPartial,
    Http: http,
    Annotations: Object.fromEntries(
      Object.entries(r.annotations).map(([k, vs]) => [k, vs.map((v) => ({ AnnotationValue: annotationValue(v.value), ServiceIds: v.services.map(serviceId) }))]),
    ),
    Users: r.users.map((u) => ({ UserName: u.user, ServiceIds: u.services.map(serviceId) })),
    ServiceIds: r.services.map(serviceId),
    ...(r.root?.name ? { EntryPoint: serviceId({ name: r.root.name, type: r.root.type, account_id: null }) } : {}),
    ...(extras.model ? xrayRootCauses(extras.model) : { FaultRootCauses: [], ErrorRootCauses: [], ResponseTimeRootCauses: [] }),
    ...(extras.matchedEventTime !== undefined ? { MatchedEventTime: toEpoch(extras.matchedEventTime) } : {}),
  };
}
