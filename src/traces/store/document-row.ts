import { isEntityId, isTraceId, traceIdEpoch } from '../../xray/ids.js';

/**
 * The columns the store derives from one document: everything the trace summary needs, so a summary
 * can be recomputed from rows alone, and a replaced document takes its contribution with it.
 */
export interface DocumentRow {
  trace_time: Date;
  trace_id: string;
  id: string;
  parent_id: string | null;
  kind: 'segment' | 'subsegment';
  name: string;
  service_name: string | null;
  service_type: string | null;
  account_id: string | null;
  start_time: number;
  end_time: number | null;
  in_progress: boolean;
  fault: boolean;
  error: boolean;
  throttle: boolean;
  user_name: string | null;
  http_method: string | null;
  http_url: string | null;
  http_status: number | null;
  user_agent: string | null;
  client_ip: string | null;
  /** every annotation of the document and its nested subsegments (a jsonb column) */
  annotations: { k: string; v: string | number | boolean }[];
  doc: string;
}

/** The row's columns in insert order. */
export const DOCUMENT_COLUMNS = [
  'trace_time', 'trace_id', 'id', 'parent_id', 'kind', 'name', 'service_name', 'service_type', 'account_id',
  'start_time', 'end_time', 'in_progress', 'fault', 'error', 'throttle', 'user_name',
  'http_method', 'http_url', 'http_status', 'user_agent', 'client_ip', 'annotations', 'doc',
] as const satisfies readonly (keyof DocumentRow)[];

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | undefined => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : undefined);
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/**
 * Derives the row of one document text, or a reason it cannot be stored. Documents are expected to
 * have passed the ingest schema already; this only re-checks what the keys and partitioning rely on.
 */
export function toDocumentRow(text: string): DocumentRow | { reason: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { reason: 'not JSON' };
  }
  const d = obj(parsed);
  if (!d) return { reason: 'not a JSON object' };
  const traceId = str(d.trace_id);
  const id = str(d.id);
  const start = num(d.start_time);
  if (!traceId || !isTraceId(traceId)) return { reason: 'missing or malformed trace_id' };
  if (!id || !isEntityId(id)) return { reason: 'missing or malformed id' };
  if (start === null) return { reason: 'missing start_time' };
  const kind = d.type === 'subsegment' ? 'subsegment' : 'segment';
  const segment = kind === 'segment';
  const http = obj(d.http);
  const req = obj(http?.request);
  const res = obj(http?.response);
  const status = num(res?.status);
  const annotations: DocumentRow['annotations'] = [];
  collectAnnotations(d, annotations, 0);
  return {
    trace_time: new Date(traceIdEpoch(traceId) * 1000),
    // ids are accepted in either case (ids.ts) but keyed in lower case so both spellings collide
    trace_id: traceId.toLowerCase(),
    id: id.toLowerCase(),
    parent_id: str(d.parent_id)?.toLowerCase() ?? null,
    kind,
    name: str(d.name) ?? '',
    service_name: segment ? str(d.name) : null,
    service_type: segment ? str(d.origin) : null,
    account_id: segment ? str(obj(d.aws)?.account_id) : null,
    start_time: start,
    end_time: num(d.end_time),
    in_progress: d.in_progress === true,
    fault: d.fault === true || (status !== null && status >= 500 && status <= 599),
    error: d.error === true || (status !== null && status >= 400 && status <= 499),
    throttle: d.throttle === true || status === 429,
    user_name: segment ? str(d.user) : null,
    http_method: str(req?.method),
    http_url: str(req?.url),
    http_status: status !== null && Number.isInteger(status) ? status : null,
    user_agent: str(req?.user_agent),
    client_ip: str(req?.client_ip),
    annotations,
    doc: text,
  };
}

// Deep enough for any real SDK; bounds the work a hostile document can ask for.
const MAX_DEPTH = 64;

function collectAnnotations(e: Obj, out: DocumentRow['annotations'], depth: number): void {
  const a = obj(e.annotations);
  if (a) {
    for (const [k, v] of Object.entries(a)) {
      if (typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v))) out.push({ k, v });
    }
  }
  if (depth >= MAX_DEPTH || !Array.isArray(e.subsegments)) return;
  for (const s of e.subsegments) {
    const o = obj(s);
    if (o) collectAnnotations(o, out, depth + 1);
  }
}

/** True when `next` should replace `prev` for the same (trace_id, id): a placeholder never replaces a complete document. */
export function replaces(next: Pick<DocumentRow, 'in_progress'>, prev: Pick<DocumentRow, 'in_progress'>): boolean {
  return !(next.in_progress && !prev.in_progress);
}
