/**
 * One trace as a waterfall: every segment and subsegment of its documents as a bar on one time axis,
 * nested as the calls were made. Segments embed their subsegments; a subsegment may also arrive as a
 * document of its own (streamed: `type: "subsegment"` with `parent_id`), possibly after an in-progress
 * copy; a downstream service's segment names the caller's subsegment as its `parent_id`.
 */

export type Outcome = 'ok' | 'error' | 'throttle' | 'fault';

export interface Span {
  id: string;
  name: string;
  kind: 'segment' | 'subsegment';
  /** the segment (service) this entity belongs to */
  service: string;
  origin?: string;
  namespace?: string;
  /** epoch seconds */
  start: number;
  /** epoch seconds; null while in progress */
  end: number | null;
  outcome: Outcome;
  httpStatus?: number;
  parentId?: string;
  children: Span[];
  /** the entity's own fields as sent (without its subsegments) */
  doc: Record<string, unknown>;
}

export interface WaterfallRow {
  span: Span;
  depth: number;
}

export interface Waterfall {
  start: number;
  end: number;
  rows: WaterfallRow[];
  roots: Span[];
}

type Doc = Record<string, unknown>;

const num = (x: unknown): number | undefined => (typeof x === 'number' && Number.isFinite(x) ? x : undefined);
const str = (x: unknown): string | undefined => (typeof x === 'string' && x !== '' ? x : undefined);

/** Fault beats throttle beats error: the worst thing that happened to the entity. */
export function outcomeOf(d: Doc): Outcome {
  if (d.fault === true) return 'fault';
  if (d.throttle === true) return 'throttle';
  if (d.error === true) return 'error';
  return 'ok';
}

function statusOf(d: Doc): number | undefined {
  const http = d.http as { response?: { status?: unknown } } | undefined;
  return num(http?.response?.status);
}

/** A complete copy of an entity is better than an in-progress one; the later end wins between two. */
function better(a: Span, b: Span): Span {
  if ((a.end === null) !== (b.end === null)) return a.end === null ? b : a;
  return (b.end ?? 0) > (a.end ?? 0) ? b : a;
}

/** Builds the waterfall from a trace's documents (objects or JSON text); unreadable documents are skipped. */
export function buildWaterfall(documents: ReadonlyArray<unknown>): Waterfall {
  const byId = new Map<string, Span>();
  const add = (d: Doc, kind: Span['kind'], parentId: string | undefined, service: string) => {
    const id = str(d.id);
    const start = num(d.start_time);
    if (!id || start === undefined) return;
    const { subsegments, ...own } = d;
    const end = d.in_progress === true ? null : (num(d.end_time) ?? null);
    const span: Span = {
      id,
      name: str(d.name) ?? '(unnamed)',
      kind,
      service,
      ...(str(d.origin) ? { origin: str(d.origin)! } : {}),
      ...(str(d.namespace) ? { namespace: str(d.namespace)! } : {}),
      start,
      end,
      outcome: outcomeOf(d),
      ...(statusOf(d) !== undefined ? { httpStatus: statusOf(d)! } : {}),
      ...(parentId ? { parentId } : {}),
      children: [],
      doc: own,
    };
    const seen = byId.get(id);
    byId.set(id, seen ? better(seen, span) : span);
    if (Array.isArray(subsegments)) for (const s of subsegments) if (s && typeof s === 'object') add(s as Doc, 'subsegment', id, service);
  };
  for (const raw of documents) {
    let d: unknown = raw;
    if (typeof raw === 'string') {
      try {
        d = JSON.parse(raw);
      } catch {
        continue;
      }
    }
    if (!d || typeof d !== 'object') continue;
    const doc = d as Doc;
    if (doc.type === 'subsegment') add(doc, 'subsegment', str(doc.parent_id), '');
    else add(doc, 'segment', str(doc.parent_id), str(doc.name) ?? '(unnamed)');
  }

  const roots: Span[] = [];
  for (const s of byId.values()) {
    const parent = s.parentId !== undefined ? byId.get(s.parentId) : undefined;
    if (parent && parent !== s) parent.children.push(s);
    else roots.push(s);
  }
  const order = (a: Span, b: Span) => a.start - b.start || (a.kind === b.kind ? 0 : a.kind === 'segment' ? -1 : 1) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  const rows: WaterfallRow[] = [];
  const visited = new Set<Span>();
  const walk = (s: Span, depth: number, service: string) => {
    // a malformed parent loop would otherwise never end
    if (visited.has(s)) return;
    visited.add(s);
    if (s.kind === 'subsegment') s.service = service;
    rows.push({ span: s, depth });
    s.children.sort(order);
    for (const c of s.children) walk(c, depth + 1, c.kind === 'segment' ? c.name : s.kind === 'segment' ? s.name : s.service);
  };
  roots.sort(order);
  for (const r of roots) walk(r, 0, r.kind === 'segment' ? r.name : r.service);
  // entities caught in a parent loop have no root: show them at the top level rather than lose them
  for (const s of byId.values()) if (!visited.has(s)) walk(s, 0, s.service);

  let start = Infinity;
  let end = -Infinity;
  for (const { span } of rows) {
    start = Math.min(start, span.start);
    end = Math.max(end, span.end ?? span.start);
  }
  if (!rows.length) return { start: 0, end: 0, rows, roots };
  return { start, end: Math.max(end, start), rows, roots };
}

/** The parts of an entity a person opens it for, present ones only, in a fixed order. */
export function spanDetails(s: Span): Array<[string, unknown]> {
  const keys = ['http', 'sql', 'aws', 'annotations', 'metadata', 'cause'];
  return keys.filter((k) => s.doc[k] !== undefined).map((k) => [k, s.doc[k]]);
}

export interface ExceptionView {
  id?: string;
  type?: string;
  message?: string;
  remote?: boolean;
  stack: string[];
}

/** A `cause` as readable exceptions (an exception-id reference is shown as such). */
export function exceptionsOf(cause: unknown): ExceptionView[] {
  if (typeof cause === 'string') return [{ id: cause, message: `see exception ${cause} (in another entity)`, stack: [] }];
  if (!cause || typeof cause !== 'object') return [];
  const ex = (cause as { exceptions?: unknown }).exceptions;
  if (!Array.isArray(ex)) return [];
  return ex.map((e: Record<string, unknown>) => ({
    ...(str(e.id) ? { id: str(e.id)! } : {}),
    ...(str(e.type) ? { type: str(e.type)! } : {}),
    ...(str(e.message) ? { message: str(e.message)! } : {}),
    ...(typeof e.remote === 'boolean' ? { remote: e.remote } : {}),
    stack: Array.isArray(e.stack) ? e.stack.map((f: Record<string, unknown>) => `${str(f.label) ?? '?'} (${str(f.path) ?? '?'}:${num(f.line) ?? '?'})`) : [],
  }));
}
