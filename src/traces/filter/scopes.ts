import type { FlagKeyword, NumberKeyword, StringKeyword } from './ast.js';
import {
  asString,
  durationOf,
  httpField,
  isIncomplete,
  isOk,
  outcomeOf,
  partialWithin,
  segmentField,
  statusOf,
  type Entity,
  type ExceptionInfo,
} from './entity.js';
import type { RootCauseEntity, RootCauseService } from './root-causes.js';
import { traceDuration, type GraphNode, type TraceModel } from './trace-model.js';

/**
 * What the simple keywords mean in each place an expression can stand: the whole trace, one segment of
 * a service(…) { } or one call of an edge(…) { }, one element of a root-cause path. A keyword a place
 * gives no meaning to is false / unset there (check.ts refuses such expressions before they get here).
 */
export interface Scope {
  flag(k: FlagKeyword): boolean;
  number(k: NumberKeyword): number | undefined;
  /** every value the keyword has here: `user` at trace level is the user of any segment */
  strings(k: StringKeyword): string[];
}

const some = (v: string | undefined): string[] => (v === undefined ? [] : [v]);

function httpStrings(e: Entity | undefined, k: StringKeyword): string[] | undefined {
  if (!e) return undefined;
  switch (k) {
    case 'http.url':
      return some(httpField(e, 'url'));
    case 'http.method':
      return some(httpField(e, 'method'));
    case 'http.useragent':
      return some(httpField(e, 'user_agent'));
    case 'http.clientip':
      return some(httpField(e, 'client_ip'));
    default:
      return undefined;
  }
}

function outcomeFlag(e: Entity | undefined, k: FlagKeyword): boolean | undefined {
  if (!e) return k === 'ok' || k === 'error' || k === 'throttle' || k === 'fault' ? false : undefined;
  const o = outcomeOf(e);
  switch (k) {
    case 'ok':
      return isOk(o);
    case 'error':
    case 'fault':
    case 'throttle':
      return o[k];
    default:
      return undefined;
  }
}

/** Trace level: the status, times and HTTP fields of the root segment (reference §7.2). */
export function traceScope(model: TraceModel): Scope {
  const root = model.root;
  return {
    flag(k) {
      if (k === 'partial') return model.entities.some(isIncomplete);
      if (k === 'inferred') return model.nodes.some((n) => n.inferred);
      return outcomeFlag(root, k) ?? false;
    },
    number(k) {
      if (k === 'duration') return traceDuration(model);
      if (!root) return undefined;
      if (k === 'responsetime') return durationOf(root);
      return k === 'http.status' ? statusOf(root) : undefined;
    },
    strings(k) {
      const http = httpStrings(root, k);
      if (http) return http;
      // the docs: "value of the user field on any segment in the trace", and alike for these
      if (k === 'user') return model.segments.flatMap((s) => some(asString(s.doc.user)));
      if (k === 'availabilityzone' || k === 'instance.id' || k === 'resource.arn') {
        return model.segments.flatMap((s) => some(segmentField(s, k)));
      }
      return [];
    },
  };
}

/** One segment of a node (or, for an inferred node, one call to it), or the entity of an edge's call. */
export function entityScope(e: Entity, node: GraphNode, model: TraceModel): Scope {
  return {
    flag(k) {
      if (k === 'partial') return partialWithin(e);
      if (k === 'inferred') return node.inferred;
      if (k === 'root') return e === model.root;
      return outcomeFlag(e, k) ?? false;
    },
    number(k) {
      if (k === 'responsetime' || k === 'duration') return durationOf(e);
      return k === 'http.status' ? statusOf(e) : undefined;
    },
    strings(k) {
      const http = httpStrings(e, k);
      if (http) return http;
      if (k === 'user') return some(asString(e.doc.user));
      if (k === 'availabilityzone' || k === 'instance.id' || k === 'resource.arn') return some(segmentField(e, k));
      return [];
    },
  };
}

// X-Ray does not say whether `index` counts from 0 or 1; 0 keeps `first` = `index = 0`
function positional(k: FlagKeyword | NumberKeyword, index: number, count: number): boolean | number | undefined {
  if (k === 'first') return index === 0;
  if (k === 'last') return index === count - 1;
  if (k === 'index') return index;
  return undefined;
}

export function rootCauseServiceScope(s: RootCauseService, index: number, count: number): Scope {
  return {
    flag: (k) => (k === 'inferred' ? s.inferred : positional(k, index, count) === true),
    number: (k) => numeric(positional(k, index, count)),
    strings(k) {
      if (k === 'name') return [s.name];
      if (k === 'type') return some(s.type);
      return k === 'account.id' ? some(s.accountId) : [];
    },
  };
}

export function rootCauseEntityScope(x: RootCauseEntity, index: number, count: number): Scope {
  return {
    flag: (k) => (k === 'remote' ? x.remote : positional(k, index, count) === true),
    number: (k) => (k === 'coverage' ? x.coverage : numeric(positional(k, index, count))),
    strings: (k) => (k === 'name' ? [x.name] : []),
  };
}

export function rootCauseExceptionScope(x: ExceptionInfo, index: number, count: number): Scope {
  return {
    flag: (k) => positional(k, index, count) === true,
    number: (k) => numeric(positional(k, index, count)),
    strings(k) {
      if (k === 'name') return some(x.name);
      return k === 'message' ? some(x.message) : [];
    },
  };
}

const numeric = (v: boolean | number | undefined) => (typeof v === 'number' ? v : undefined);
