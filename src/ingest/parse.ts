import { operationOf } from './operation.js';
import { independentSubsegmentSchema, segmentSchema, type IndependentSubsegmentDoc, type SegmentDoc, type SubsegmentDoc } from '../xray/segment-schema.js';
import { certainlyValidIndependentSubsegment, certainlyValidSegment } from '../xray/fast-check.js';
import { FLAG_ERROR, FLAG_FAULT, FLAG_THROTTLE, type SlimDoc, type SlimEntity } from './record.js';

/** X-Ray's per-document limit (reference §1.9). */
export const MAX_DOCUMENT_BYTES = 64 * 1024;
/** Deeper subsegment nesting than this is refused before schema validation. */
export const MAX_DEPTH = 32;
/** More annotations than this on one document is refused (X-Ray indexes 50 per trace). */
export const MAX_ANNOTATIONS = 1000;

/** Why a document was refused; codes follow X-Ray's UnprocessedTraceSegments where X-Ray has one. */
export type RejectCode =
  | 'InvalidJson'
  | 'SegmentTooLarge'
  | 'MissingId'
  | 'InvalidId'
  | 'InvalidTraceId'
  | 'InvalidTimestamp'
  | 'TooDeep'
  | 'TooManyAnnotations'
  | 'InvalidSegment';

export interface Rejection {
  /** The document's id when one could be found, else undefined. */
  id?: string;
  code: RejectCode;
  message: string;
}

export type ParseResult =
  | { ok: true; docs: SlimDoc[]; inProgress: number }
  | { ok: false; rejection: Rejection };

export interface ParseOptions {
  /** Wall clock in epoch seconds for the future-timestamp check; omit in replay (historical data). */
  now?: number;
  /** How far in the future a timestamp may be, relative to `now`. */
  maxFutureSeconds?: number;
}

const ID_SNIFF = /"id"\s*:\s*"([^"\\]{1,64})"/;

function sniffId(text: string): string | undefined {
  return ID_SNIFF.exec(text)?.[1];
}

function reject(code: RejectCode, message: string, id?: string): ParseResult {
  return { ok: false, rejection: { id, code, message } };
}

/** Depth of subsegment nesting, stopping early once past the limit. */
function depthOf(node: unknown, depth: number): number {
  if (depth > MAX_DEPTH) return depth;
  const subs = (node as { subsegments?: unknown }).subsegments;
  if (!Array.isArray(subs)) return depth;
  let max = depth;
  for (const s of subs) {
    if (s && typeof s === 'object') max = Math.max(max, depthOf(s, depth + 1));
    if (max > MAX_DEPTH) break;
  }
  return max;
}

function annotationCount(node: unknown): number {
  const a = (node as { annotations?: unknown }).annotations;
  let n = a && typeof a === 'object' ? Object.keys(a).length : 0;
  const subs = (node as { subsegments?: unknown }).subsegments;
  if (Array.isArray(subs)) for (const s of subs) if (s && typeof s === 'object') n += annotationCount(s);
  return n;
}

function flagsOf(d: { error?: boolean; throttle?: boolean; fault?: boolean; http?: { response?: { status?: number } } }): number {
  let f = (d.error ? FLAG_ERROR : 0) | (d.throttle ? FLAG_THROTTLE : 0) | (d.fault ? FLAG_FAULT : 0);
  if (f === 0) {
    // Producers that set only the status still get classified the way the SDKs would have.
    const st = d.http?.response?.status;
    if (st !== undefined) {
      if (st === 429) f = FLAG_ERROR | FLAG_THROTTLE;
      else if (st >= 400 && st < 500) f = FLAG_ERROR;
      else if (st >= 500 && st < 600) f = FLAG_FAULT;
    }
  }
  return f;
}

function awsTypeOf(sub: SubsegmentDoc): string {
  const name = sub.name.replace(/\s+/g, '');
  if (sub.aws?.table_name || sub.aws?.table_names) return `AWS::${name}::Table`;
  return `AWS::${name}`;
}

/** The complete children of an entity, slimmed (in-progress ones are counted and left out). */
function slimChildren(subs: SubsegmentDoc[] | undefined, inProgress: { n: number }): SlimEntity[] | undefined {
  if (!subs?.length) return undefined;
  const c: SlimEntity[] = [];
  for (const s of subs) {
    const x = slimSub(s, inProgress);
    if (x) c.push(x);
  }
  return c.length ? c : undefined;
}

function slimSub(sub: SubsegmentDoc, inProgress: { n: number }): SlimEntity | undefined {
  if (sub.in_progress || sub.end_time === undefined) {
    inProgress.n++;
    return undefined;
  }
  const out: SlimEntity = { i: sub.id.toLowerCase(), n: sub.name, s: sub.start_time, e: Math.max(sub.end_time, sub.start_time) };
  const f = flagsOf(sub);
  if (f) out.f = f;
  if (sub.namespace === 'remote') out.ns = 'r';
  else if (sub.namespace === 'aws') {
    out.ns = 'a';
    out.ty = awsTypeOf(sub);
  }
  if (out.ns && (sub.traced === true || sub.http?.request?.traced === true)) out.tr = 1;
  if (sub.type === 'subsegment' && sub.trace_id !== undefined) out.st = 1;
  const c = slimChildren(sub.subsegments, inProgress);
  if (c) out.c = c;
  return out;
}

function firstIssue(error: { issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }> }): { path: string; message: string } {
  const issue = error.issues[0]!;
  return { path: issue.path.map(String).join('.'), message: issue.message };
}

function codeForPath(path: string): RejectCode {
  if (path === 'id') return 'InvalidId';
  if (path === 'trace_id') return 'InvalidTraceId';
  if (/(^|\.)(start_time|end_time)$/.test(path)) return 'InvalidTimestamp';
  if (/(^|\.)(id|parent_id)$/.test(path)) return 'InvalidId';
  return 'InvalidSegment';
}

/** Validates one parsed JSON value as a segment or independent subsegment document. */
function parseObject(value: unknown, opts: ParseOptions, rawId: () => string | undefined): ParseResult {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return reject('InvalidSegment', 'document must be a JSON object', rawId());
  const obj = value as Record<string, unknown>;
  const id = typeof obj.id === 'string' ? obj.id : rawId();
  if (obj.id === undefined) return reject('MissingId', 'document has no "id"', undefined);
  if (depthOf(obj, 0) > MAX_DEPTH) return reject('TooDeep', `subsegments are nested deeper than ${MAX_DEPTH} levels`, id);
  const annotations = annotationCount(obj);
  if (annotations > MAX_ANNOTATIONS) return reject('TooManyAnnotations', `${annotations} annotations (at most ${MAX_ANNOTATIONS} per document)`, id);

  const independent = obj.type === 'subsegment';
  // The fast check vouches for the common shapes; zod judges (and explains) everything else.
  let doc: SegmentDoc | IndependentSubsegmentDoc;
  if (independent ? certainlyValidIndependentSubsegment(obj) : certainlyValidSegment(obj)) {
    doc = obj as unknown as SegmentDoc;
  } else {
    const parsed = independent ? independentSubsegmentSchema.safeParse(obj) : segmentSchema.safeParse(obj);
    if (!parsed.success) {
      const { path, message } = firstIssue(parsed.error);
      return reject(codeForPath(path), `${path || 'document'}: ${message}`, id);
    }
    doc = parsed.data;
  }
  const inProgress = { n: 0 };
  if (doc.in_progress === true || doc.end_time === undefined) {
    if (doc.end_time === undefined && doc.in_progress !== true) return reject('InvalidTimestamp', 'end_time is required unless in_progress is true', id);
    // A placeholder: accepted, never counted; the complete document with the same id replaces it.
    return { ok: true, docs: [], inProgress: 1 };
  }
  if (doc.end_time < doc.start_time) return reject('InvalidTimestamp', `end_time ${doc.end_time} is before start_time ${doc.start_time}`, id);
  if (opts.now !== undefined) {
    const limit = opts.now + (opts.maxFutureSeconds ?? 900);
    if (doc.start_time > limit || doc.end_time > limit) return reject('InvalidTimestamp', `timestamp is more than ${opts.maxFutureSeconds ?? 900}s in the future`, id);
  }
  const out: SlimDoc = {
    k: independent ? 'x' : 's',
    t: doc.trace_id.toLowerCase(),
    i: doc.id.toLowerCase(),
    n: doc.name,
    s: doc.start_time,
    e: doc.end_time,
  };
  if (doc.parent_id) out.p = doc.parent_id.toLowerCase();
  const f = flagsOf(doc);
  if (f) out.f = f;
  if (independent) {
    const sub = slimSub(doc as SubsegmentDoc, inProgress);
    if (!sub) return { ok: true, docs: [], inProgress: 1 };
    Object.assign(out, sub, { k: 'x', t: out.t, p: out.p });
    delete out.st;
  } else {
    const origin = (doc as { origin?: string }).origin;
    if (origin) out.ty = origin;
    const op = operationOf(doc.http);
    if (op) out.u = op;
    const c = slimChildren(doc.subsegments, inProgress);
    if (c) out.c = c;
  }
  return { ok: true, docs: [out], inProgress: inProgress.n };
}

/**
 * Parses one document as PutTraceSegments or the daemon carries it: a JSON segment, an independent
 * subsegment, or a JSON array of independent subsegments (reference §4.3). Never throws.
 */
export function parseDocument(text: string, opts: ParseOptions = {}): ParseResult {
  // a UTF-16 length above a third of the limit may still be within it in bytes: only then count bytes
  if (text.length > MAX_DOCUMENT_BYTES || (text.length * 3 > MAX_DOCUMENT_BYTES && Buffer.byteLength(text, 'utf8') > MAX_DOCUMENT_BYTES)) {
    return reject('SegmentTooLarge', `document is larger than ${MAX_DOCUMENT_BYTES} bytes`, sniffId(text));
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return reject('InvalidJson', `not valid JSON: ${(err as Error).message}`, sniffId(text));
  }
  if (Array.isArray(value)) {
    if (value.length === 0) return reject('InvalidSegment', 'empty subsegment array', undefined);
    const docs: SlimDoc[] = [];
    let inProgress = 0;
    for (const item of value) {
      const r = parseObject(item, opts, () => undefined);
      if (!r.ok) return r;
      if (r.docs[0] && r.docs[0].k !== 'x') return reject('InvalidSegment', 'an array may hold only independent subsegments', r.docs[0].i);
      docs.push(...r.docs);
      inProgress += r.inProgress;
    }
    return { ok: true, docs, inProgress };
  }
  return parseObject(value, opts, () => sniffId(text));
}
