import { codePointLength, isEntityId, isExceptionIdRef, isTraceId } from './ids.js';

/**
 * A fast structural check of segment documents for the hot path, used before the zod schemas in
 * segment-schema.ts (which stay the single source of truth). It answers only "certainly valid" or
 * "not sure": anything it does not fully check (`links`, a
 * type it does not expect) sends the document to zod, which decides and explains. A differential test
 * (test/unit/fast-check.test.ts) holds it to "certainly valid ⇒ zod accepts"; another
 * (test/unit/validation-differential.test.ts) to exact agreement on annotations, causes and namespaces.
 */

const MIN_EPOCH = 946684800;
const MAX_EPOCH = 4102444800;
const MAX_STR = 10_000;

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const optBool = (v: unknown) => v === undefined || typeof v === 'boolean';
/** At most `max` code points, as zod counts: only a string longer in UTF-16 units needs counting. */
const fits = (s: string, max: number) => s.length <= max || (s.length <= 2 * max && codePointLength(s) <= max);
const optStr = (v: unknown, max = MAX_STR) => v === undefined || (typeof v === 'string' && fits(v, max));
const epoch = (v: unknown) => typeof v === 'number' && v >= MIN_EPOCH && v <= MAX_EPOCH;
const optEpoch = (v: unknown) => v === undefined || epoch(v);

/** Every element (for…of: a hole in a sparse array is undefined here, as it is to zod, where every() skips it). */
function all(v: unknown, ok: (x: unknown) => boolean): boolean {
  if (!Array.isArray(v)) return false;
  for (const x of v) if (!ok(x)) return false;
  return true;
}

const isStrArray = (v: unknown) => all(v, (x) => typeof x === 'string' && fits(x, MAX_STR));

function checkHttp(v: unknown): boolean {
  if (v === undefined) return true;
  if (!isObj(v)) return false;
  const req = v.request;
  if (req !== undefined) {
    if (!isObj(req)) return false;
    for (const k in req) {
      switch (k) {
        case 'method':
        case 'url':
        case 'user_agent':
        case 'client_ip':
          if (!optStr(req[k])) return false;
          break;
        case 'x_forwarded_for':
        case 'traced':
          if (!optBool(req[k])) return false;
          break;
        default:
      }
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

function checkAws(v: unknown): boolean {
  if (v === undefined) return true;
  if (!isObj(v)) return false;
  for (const k in v) {
    const x = v[k];
    switch (k) {
      case 'account_id':
      case 'operation':
      case 'region':
      case 'request_id':
      case 'queue_url':
      case 'table_name':
      case 'function_name':
      case 'topic_arn':
        if (!optStr(x)) return false;
        break;
      case 'retries':
      case 'status_code':
        if (x !== undefined && !Number.isFinite(x)) return false;
        break;
      case 'ec2':
      case 'ecs':
      case 'eks':
        if (x !== undefined && !isObj(x)) return false;
        break;
      case 'xray':
        if (x !== undefined && !(isObj(x) && optBool(x.auto_instrumentation) && optStr(x.sdk_version) && optStr(x.sdk))) return false;
        break;
      case 'table_names':
      case 'resource_names':
        if (x !== undefined && !isStrArray(x)) return false;
        break;
      case 'cloudwatch_logs':
        if (x !== undefined && !all(x, (l) => isObj(l) && optStr(l.log_group) && optStr(l.arn))) return false;
        break;
      case 'elastic_beanstalk':
        if (x !== undefined && !(isObj(x) && (x.deployment_id === undefined || typeof x.deployment_id === 'number'))) return false;
        break;
      default:
    }
  }
  return true;
}

const optInt = (v: unknown) => v === undefined || Number.isInteger(v);

const checkFrame = (f: unknown) => isObj(f) && optStr(f.path) && optStr(f.label) && (f.line === undefined || f.line === null || Number.isInteger(f.line));
const checkStack = (v: unknown) => v === undefined || all(v, checkFrame);

function checkException(x: unknown): boolean {
  if (!isObj(x)) return false;
  if (!(typeof x.id === 'string' && isEntityId(x.id))) return false;
  if (!optStr(x.message) || !optStr(x.type) || !optBool(x.remote) || !optInt(x.truncated) || !optInt(x.skipped)) return false;
  if (x.cause !== undefined && typeof x.cause !== 'string') return false;
  return checkStack(x.stack);
}

/**
 * A fault's or error's cause: an exception id, or the exceptions themselves. Checked here, not left to
 * zod, because during an incident it is on every faulting document: the slow path would slow the door
 * down exactly when traffic matters most.
 */
function checkCause(v: unknown): boolean {
  if (v === undefined) return true;
  if (typeof v === 'string') return isExceptionIdRef(v);
  if (!isObj(v) || !optStr(v.working_directory)) return false;
  if (v.paths !== undefined && !isStrArray(v.paths)) return false;
  return v.exceptions === undefined || all(v.exceptions, checkException);
}

const SQL_KEYS = new Set(['connection_string', 'url', 'sanitized_query', 'database_type', 'database_version', 'driver_version', 'user', 'preparation']);

/** A database call's details: the SDKs' SQL patchers put this on every query's subsegment. */
function checkSql(v: unknown): boolean {
  if (v === undefined) return true;
  if (!isObj(v)) return false;
  for (const k in v) if (SQL_KEYS.has(k) && !optStr(v[k])) return false;
  return true;
}

const checkIds = (v: unknown) => v === undefined || all(v, (x) => typeof x === 'string' && isEntityId(x));

/**
 * `for…in` sees an own `__proto__` key (JSON.parse makes it an ordinary property) and `v[k]` reads its
 * value, so every key is judged alike, `__proto__`, `constructor` and `toString` included.
 */
function checkAnnotations(v: unknown): boolean {
  if (v === undefined) return true;
  if (!isObj(v)) return false;
  for (const k in v) {
    if (k.length < 1 || !fits(k, 500)) return false;
    const x = v[k];
    const t = typeof x;
    if (t === 'string') {
      if (!fits(x as string, MAX_STR)) return false;
    } else if (t === 'number') {
      if (!Number.isFinite(x)) return false;
    } else if (t !== 'boolean') return false;
  }
  return true;
}

const OK = 0;
const BAD = 1;
const OTHER = 2;

/**
 * One key of any entity: OK (checked), BAD (invalid, or a shape left to zod) or OTHER (not an entity
 * key). A `switch` on the key: JSON.parse interns keys, so this is a few pointer comparisons per key
 * instead of two Set lookups and a second pass over the same fields.
 */
function entityKey(k: string, v: unknown): number {
  switch (k) {
    case 'id':
      return typeof v === 'string' && isEntityId(v) ? OK : BAD;
    case 'name':
      return typeof v === 'string' && v.length >= 1 && fits(v, 250) ? OK : BAD;
    case 'start_time':
      return epoch(v) ? OK : BAD;
    case 'end_time':
      return optEpoch(v) ? OK : BAD;
    case 'in_progress':
    case 'error':
    case 'throttle':
    case 'fault':
      return optBool(v) ? OK : BAD;
    case 'trace_id':
      return v === undefined || (typeof v === 'string' && isTraceId(v)) ? OK : BAD;
    case 'parent_id':
      return v === undefined || (typeof v === 'string' && isEntityId(v)) ? OK : BAD;
    case 'http':
      return checkHttp(v) ? OK : BAD;
    case 'aws':
      return checkAws(v) ? OK : BAD;
    case 'annotations':
      return checkAnnotations(v) ? OK : BAD;
    case 'metadata':
      return v === undefined || isObj(v) ? OK : BAD;
    case 'cause':
      return checkCause(v) ? OK : BAD;
    default:
      return OTHER;
  }
}

/** The required fields, once every present field has been checked. */
const hasRequired = (o: Obj) => typeof o.name === 'string' && typeof o.id === 'string' && typeof o.start_time === 'number';

function checkSubsegments(v: unknown): boolean {
  if (v === undefined) return true;
  if (!Array.isArray(v)) return false;
  for (const s of v) if (!isObj(s) || !checkSubsegment(s)) return false;
  return true;
}

/**
 * Every key of an entity: the shared ones by entityKey, the rest by `own` (its kind's keys; a key it
 * does not know is the producer's own, kept and not checked).
 */
function checkEntity(o: Obj, own: (k: string, v: unknown) => boolean): boolean {
  for (const k in o) {
    const v = o[k];
    const r = entityKey(k, v);
    if (r === BAD) return false;
    if (r === OTHER && !own(k, v)) return false;
  }
  return hasRequired(o);
}

function subsegmentKey(k: string, v: unknown): boolean {
  switch (k) {
    case 'type':
      return v === undefined || v === 'subsegment';
    case 'namespace':
      return v === undefined || v === 'aws' || v === 'remote';
    case 'traced':
      return optBool(v);
    case 'subsegments':
      return checkSubsegments(v);
    case 'sql':
      return checkSql(v);
    case 'precursor_ids':
      return checkIds(v);
    default:
      return true;
  }
}

function segmentKey(k: string, v: unknown): boolean {
  switch (k) {
    case 'service':
      return v === undefined || (isObj(v) && optStr(v.version));
    case 'user':
    case 'resource_arn':
      return optStr(v);
    case 'origin':
      return optStr(v, 250);
    case 'inferred':
      return optBool(v);
    case 'subsegments':
      return checkSubsegments(v);
    case 'links':
      return false; // let zod judge
    default:
      return true;
  }
}

const checkSubsegment = (o: Obj) => checkEntity(o, subsegmentKey);

/** True only when `segmentSchema` certainly accepts `o`. */
export function certainlyValidSegment(o: Obj): boolean {
  return checkEntity(o, segmentKey) && typeof o.trace_id === 'string';
}

/** True only when `independentSubsegmentSchema` certainly accepts `o`. */
export function certainlyValidIndependentSubsegment(o: Obj): boolean {
  if (o.type !== 'subsegment' || typeof o.trace_id !== 'string' || typeof o.parent_id !== 'string') return false;
  return checkSubsegment(o);
}
