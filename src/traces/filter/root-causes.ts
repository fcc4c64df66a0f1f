import {
  asObject,
  asString,
  calleesOf,
  durationOf,
  exceptionsOf,
  inferredType,
  isCall,
  outcomeOf,
  type Entity,
  type ExceptionInfo,
} from './entity.js';
import type { RootCauseCategory } from './ast.js';
import type { TraceModel } from './trace-model.js';

/**
 * Root causes as GetTraceSummaries reports them (FaultRootCauses, ErrorRootCauses,
 * ResponseTimeRootCauses): each one a path of services from the trace's entry to the culprit, and in
 * each service the path of its entities (EntityPath). X-Ray does not publish how it picks them; the
 * rules here:
 * - fault / error: every faulting (erring) entity none of whose callees — subsegments or the segments
 *   it called — faults (errs) is a root cause: the deepest faulting entity on its branch. Its path runs
 *   from the top of the call tree down to it.
 * - response time: one path, from the root segment down, stepping into the longest callee while that
 *   callee takes at least half of its caller's time; where no callee does, the time is the entity's own.
 * When a path ends on a call that no traced segment answered, the inferred node it calls (DynamoDB,
 * a remote host) ends the path as a service of its own, as in X-Ray's processed traces.
 */

export interface RootCauseEntity {
  name: string;
  /** a call to another service (namespace aws or remote), or an inferred node */
  remote: boolean;
  /** the entity's time over the root segment's (response-time root causes only) */
  coverage?: number;
  exceptions: ExceptionInfo[];
}

export interface RootCauseService {
  name: string;
  type?: string;
  accountId?: string;
  inferred: boolean;
  entityPath: RootCauseEntity[];
}

export interface RootCause {
  services: RootCauseService[];
}

/** The trace's root causes of one category: GetTraceSummaries reports them, `rootcause.*` filters on them. */
export function rootCausesOf(model: TraceModel, category: RootCauseCategory): RootCause[] {
  if (category !== 'responsetime') return faultRootCauses(model, category);
  const rt = responseTimeRootCause(model);
  return rt ? [rt] : [];
}

export function faultRootCauses(model: TraceModel, category: 'fault' | 'error'): RootCause[] {
  const has = (e: Entity) => outcomeOf(e)[category];
  const out: RootCause[] = [];
  for (const e of model.entities) {
    if (e.segment === undefined || !has(e)) continue;
    if (calleesOf(e).some(has)) continue;
    out.push({ services: servicesOf(pathTo(e)) });
  }
  return out;
}

export function responseTimeRootCause(model: TraceModel): RootCause | undefined {
  const root = model.root;
  const total = root && durationOf(root);
  if (!root || total === undefined) return undefined;
  const path = [root];
  const seen = new Set(path);
  for (let cur = root; ; ) {
    const own = durationOf(cur) ?? 0;
    let longest: Entity | undefined;
    let longestTime = -1;
    for (const c of calleesOf(cur)) {
      const d = durationOf(c);
      if (d !== undefined && d > longestTime && !seen.has(c)) [longest, longestTime] = [c, d];
    }
    if (!longest || longestTime * 2 < own) break;
    path.push(longest);
    seen.add(longest);
    cur = longest;
  }
  return { services: servicesOf(path, (e) => (total > 0 ? (durationOf(e) ?? 0) / total : undefined)) };
}

// a parent_id loop between segments (bad data) must not loop forever
function pathTo(e: Entity): Entity[] {
  const path: Entity[] = [];
  const seen = new Set<Entity>();
  for (let cur: Entity | undefined = e; cur && !seen.has(cur); cur = cur.parent) {
    seen.add(cur);
    path.push(cur);
  }
  return path.reverse();
}

function servicesOf(path: Entity[], coverage?: (e: Entity) => number | undefined): RootCauseService[] {
  const services: RootCauseService[] = [];
  const entityOf = (e: Entity, remote: boolean): RootCauseEntity => {
    const x: RootCauseEntity = { name: e.name, remote, exceptions: exceptionsOf(e) };
    const c = coverage?.(e);
    if (c !== undefined) x.coverage = c;
    return x;
  };
  for (const e of path) {
    if (e.isSegment || services.length === 0) {
      const s: RootCauseService = { name: e.name, inferred: e.doc.inferred === true, entityPath: [] };
      const type = asString(e.doc.origin);
      const account = asString(asObject(e.doc.aws)?.account_id);
      if (type !== undefined) s.type = type;
      if (account !== undefined) s.accountId = account;
      services.push(s);
    }
    services[services.length - 1]!.entityPath.push(entityOf(e, isCall(e)));
  }
  const last = path[path.length - 1];
  if (last && isCall(last) && last.downstream.length === 0) {
    const inferred = { ...entityOf(last, true), exceptions: [] };
    services.push({ name: last.name, type: inferredType(last), inferred: true, entityPath: [inferred] });
  }
  return services;
}
