import { ENTITY_ID_RE, TRACE_ID_RE } from './ids.js';

/**
 * A fast structural check of segment documents for the hot path, used before the zod schemas in
 * segment-schema.ts (which stay the single source of truth). It answers only "certainly valid" or
 * "not sure": anything it does not fully check (a `cause`, `sql`, `links`, uncommon `aws` fields, a
 * type it does not expect) sends the document to zod, which decides and explains. A differential test
 * (test/unit/fast-check.test.ts) holds it to "certainly valid ⇒ zod accepts".
 */

const MIN_EPOCH = 946684800;
const MAX_EPOCH = 4102444800;
const MAX_STR = 10_000;

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const optBool = (v: unknown) => v === undefined || typeof v === 'boolean';
const optStr = (v: unknown, max = MAX_STR) => v === undefined || (typeof v === 'string' && v.length <= max);
const optId = (v: unknown) => v === undefined || (typeof v === 'string' && ENTITY_ID_RE.test(v));
const epoch = (v: unknown) => typeof v === 'number' && v >= MIN_EPOCH && v <= MAX_EPOCH;
const optEpoch = (v: unknown) => v === undefined || epoch(v);

/** Keys the zod schemas give a type to; any other key is the producer's own and is allowed. */
const ENTITY_KEYS = new Set(['id', 'name', 'start_time', 'end_time', 'in_progress', 'trace_id', 'parent_id', 'error', 'throttle', 'fault', 'cause', 'http', 'aws', 'annotations', 'metadata']);
const SEGMENT_KEYS = new Set([...ENTITY_KEYS, 'service', 'user', 'origin', 'resource_arn', 'links', 'inferred', 'subsegments']);
const SUBSEGMENT_KEYS = new Set([...ENTITY_KEYS, 'type', 'namespace', 'sql', 'precursor_ids', 'traced', 'subsegments']);
/** The keys this checker handles itself; a schema key outside this set present in a document → zod. */
const HANDLED = new Set(['id', 'name', 'start_time', 'end_time', 'in_progress', 'trace_id', 'parent_id', 'error', 'throttle', 'fault', 'http', 'aws', 'annotations', 'metadata', 'service', 'user', 'origin', 'resource_arn', 'inferred', 'subsegments', 'type', 'namespace', 'traced']);

const REQUEST_KEYS: Record<string, (v: unknown) => boolean> = {
  method: (v) => optStr(v),
  url: (v) => optStr(v),
  user_agent: (v) => optStr(v),
  client_ip: (v) => optStr(v),
  x_forwarded_for: optBool,
  traced: optBool,
};

function checkHttp(v: unknown): boolean {
  if (v === undefined) return true;
  if (!isObj(v)) return false;
  const req = v.request;
  if (req !== undefined) {
    if (!isObj(req)) return false;
    for (const k in req) {
      const check = REQUEST_KEYS[k];
      if (check && !check(req[k])) return false;
    }
  }
  const res = v.response;
  if (res !== undefined) {
    if (!isObj(res)) return false;
    const st = res.status;
    if (st !== undefined && !(typeof st === 'number' && Number.isInteger(st) && st >= 0 && st <= 999)) return false;
    const cl = res.content_length;
    if (cl !== undefined && !Number.isFinite(cl) && typeof cl !== 'string') return false;
  }
  return true;
}

const AWS_STRING_KEYS = new Set(['account_id', 'operation', 'region', 'request_id', 'queue_url', 'table_name', 'function_name', 'topic_arn']);
const AWS_OTHER_KEYS = new Set(['table_names', 'resource_names', 'retries', 'status_code', 'cloudwatch_logs', 'ec2', 'ecs', 'eks', 'elastic_beanstalk', 'xray']);

function checkAws(v: unknown): boolean {
  if (v === undefined) return true;
  if (!isObj(v)) return false;
  for (const k in v) {
    const x = v[k];
    if (AWS_STRING_KEYS.has(k)) {
      if (!optStr(x)) return false;
    } else if (k === 'retries' || k === 'status_code') {
      if (x !== undefined && !Number.isFinite(x)) return false;
    } else if (k === 'ec2' || k === 'ecs' || k === 'eks') {
      if (x !== undefined && !isObj(x)) return false;
    } else if (k === 'xray') {
      if (x === undefined) continue;
      if (!isObj(x) || !optBool(x.auto_instrumentation) || !optStr(x.sdk_version) || !optStr(x.sdk)) return false;
    } else if (AWS_OTHER_KEYS.has(k)) return false; // rarer shapes: let zod judge
  }
  return true;
}

function checkAnnotations(v: unknown): boolean {
  if (v === undefined) return true;
  if (!isObj(v)) return false;
  for (const k in v) {
    if (k.length < 1 || k.length > 500) return false;
    const x = v[k];
    const t = typeof x;
    if (t === 'string') {
      if ((x as string).length > MAX_STR) return false;
    } else if (t === 'number') {
      if (!Number.isFinite(x)) return false;
    } else if (t !== 'boolean') return false;
  }
  return true;
}

function checkEntity(o: Obj, keys: Set<string>): boolean {
  for (const k in o) if (keys.has(k) && !HANDLED.has(k)) return false;
  const name = o.name;
  if (typeof name !== 'string' || name.length < 1 || name.length > 250) return false;
  if (typeof o.id !== 'string' || !ENTITY_ID_RE.test(o.id)) return false;
  if (!epoch(o.start_time) || !optEpoch(o.end_time)) return false;
  if (!optBool(o.in_progress) || !optBool(o.error) || !optBool(o.throttle) || !optBool(o.fault)) return false;
  if (o.trace_id !== undefined && !(typeof o.trace_id === 'string' && TRACE_ID_RE.test(o.trace_id))) return false;
  if (!optId(o.parent_id)) return false;
  if (!checkHttp(o.http) || !checkAws(o.aws) || !checkAnnotations(o.annotations)) return false;
  if (o.metadata !== undefined && !isObj(o.metadata)) return false;
  return true;
}

function checkSubsegments(v: unknown): boolean {
  if (v === undefined) return true;
  if (!Array.isArray(v)) return false;
  for (const s of v) if (!isObj(s) || !checkSubsegment(s)) return false;
  return true;
}

function checkSubsegment(o: Obj): boolean {
  if (!checkEntity(o, SUBSEGMENT_KEYS)) return false;
  if (o.type !== undefined && o.type !== 'subsegment') return false;
  if (!optStr(o.namespace, 50) || !optBool(o.traced)) return false;
  return checkSubsegments(o.subsegments);
}

/** True only when `segmentSchema` certainly accepts `o`. */
export function certainlyValidSegment(o: Obj): boolean {
  if (!checkEntity(o, SEGMENT_KEYS)) return false;
  if (typeof o.trace_id !== 'string') return false;
  if (o.service !== undefined && !(isObj(o.service) && optStr(o.service.version))) return false;
  if (!optStr(o.user) || !optStr(o.origin, 250) || !optStr(o.resource_arn) || !optBool(o.inferred)) return false;
  return checkSubsegments(o.subsegments);
}

/** True only when `independentSubsegmentSchema` certainly accepts `o`. */
export function certainlyValidIndependentSubsegment(o: Obj): boolean {
  if (o.type !== 'subsegment' || typeof o.trace_id !== 'string' || typeof o.parent_id !== 'string') return false;
  return checkSubsegment(o);
}
