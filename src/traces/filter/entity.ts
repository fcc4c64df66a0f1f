/**
 * One segment or subsegment of an assembled trace, and the fields filter keywords read from it. The
 * documents are raw JSON (whatever was stored), so every field is read defensively.
 */

export type RawDoc = Record<string, unknown>;

export interface Entity {
  doc: RawDoc;
  name: string;
  isSegment: boolean;
  /** the segment this entity belongs to (itself for a segment); undefined for an orphan subsegment */
  segment: Entity | undefined;
  /** the enclosing subsegment or segment; for a segment, the caller's entity named by its parent_id */
  parent: Entity | undefined;
  /** subsegments, embedded or sent independently */
  children: Entity[];
  /** segments of other services whose parent_id names this entity: the calls it made */
  downstream: Entity[];
}

export const asObject = (v: unknown): RawDoc | undefined =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as RawDoc) : undefined;
export const asString = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const asNumber = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

export const startOf = (e: Entity) => asNumber(e.doc.start_time);
export const endOf = (e: Entity) => (e.doc.in_progress === true ? undefined : asNumber(e.doc.end_time));

/** Seconds, rounded to the microsecond so that `responsetime = 0.386` means what it says. */
export function roundSeconds(s: number): number {
  return Math.round(s * 1e6) / 1e6;
}

export function durationOf(e: Entity): number | undefined {
  const start = startOf(e);
  const end = endOf(e);
  return start === undefined || end === undefined ? undefined : roundSeconds(Math.max(0, end - start));
}

/** A call to another service: X-Ray draws a node for it (reference §1.3 namespace). */
export const isCall = (e: Entity) => !e.isSegment && (e.doc.namespace === 'aws' || e.doc.namespace === 'remote');

/** The type X-Ray gives the node a call infers (same rule as ingest's parse). */
export function inferredType(call: Entity): string {
  if (call.doc.namespace !== 'aws') return 'remote';
  const name = call.name.replace(/\s+/g, '');
  const aws = asObject(call.doc.aws);
  return aws?.table_name !== undefined || aws?.table_names !== undefined ? `AWS::${name}::Table` : `AWS::${name}`;
}

export function httpField(e: Entity, field: 'url' | 'method' | 'user_agent' | 'client_ip'): string | undefined {
  return asString(asObject(asObject(e.doc.http)?.request)?.[field]);
}

export function statusOf(e: Entity): number | undefined {
  return asNumber(asObject(asObject(e.doc.http)?.response)?.status);
}

export interface Outcome {
  fault: boolean;
  /** 4xx, throttles included (X-Ray counts throttles among errors) */
  error: boolean;
  throttle: boolean;
}

/** The entity's flags; when it sets none, its HTTP status classifies it the way the SDKs would have. */
export function outcomeOf(e: Entity): Outcome {
  const fault = e.doc.fault === true;
  const error = e.doc.error === true;
  const throttle = e.doc.throttle === true;
  if (fault || error || throttle) return { fault, error: error || throttle, throttle };
  const st = statusOf(e);
  if (st === undefined) return { fault: false, error: false, throttle: false };
  return { fault: st >= 500 && st < 600, error: st >= 400 && st < 500, throttle: st === 429 };
}

export const isOk = (o: Outcome) => !o.fault && !o.error && !o.throttle;

export const isIncomplete = (e: Entity) => e.doc.in_progress === true || endOf(e) === undefined;

/** The entity or one of its subsegments has not finished. */
export function partialWithin(e: Entity): boolean {
  return isIncomplete(e) || e.children.some(partialWithin);
}

/** Segment-level string fields that `availabilityzone`, `instance.id` and `resource.arn` read. */
export function segmentField(e: Entity, field: 'availabilityzone' | 'instance.id' | 'resource.arn'): string | undefined {
  const aws = asObject(e.doc.aws);
  switch (field) {
    case 'availabilityzone':
      return asString(asObject(aws?.ec2)?.availability_zone) ?? asString(asObject(aws?.ecs)?.availability_zone);
    case 'instance.id':
      return asString(asObject(aws?.ec2)?.instance_id);
    case 'resource.arn':
      return asString(e.doc.resource_arn);
  }
}

export interface ExceptionInfo {
  name?: string;
  message?: string;
}

/** The exceptions recorded on the entity itself (a `cause` that is only an id refers elsewhere). */
export function exceptionsOf(e: Entity): ExceptionInfo[] {
  const list = asObject(e.doc.cause)?.exceptions;
  if (!Array.isArray(list)) return [];
  const out: ExceptionInfo[] = [];
  for (const x of list) {
    const o = asObject(x);
    if (!o) continue;
    const info: ExceptionInfo = {};
    const name = asString(o.type) ?? asString(o.name);
    const message = asString(o.message);
    if (name !== undefined) info.name = name;
    if (message !== undefined) info.message = message;
    out.push(info);
  }
  return out;
}

/** Who an entity calls, in the trace's call tree: its subsegments and the segments it called. */
export const calleesOf = (e: Entity): Entity[] => (e.downstream.length ? [...e.children, ...e.downstream] : e.children);
