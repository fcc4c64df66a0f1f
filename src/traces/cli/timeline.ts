import { buildTraceModel } from '../filter/trace-model.js';
import { asObject, asString, durationOf, exceptionsOf, httpField, outcomeOf, roundSeconds, startOf, statusOf, type Entity } from '../filter/entity.js';
import { clip, columns, isoTime, marks, ms } from './format.js';

/** One segment or subsegment of a trace, placed in its call tree. */
export interface TimelineEntry {
  /** 0 for a root; a segment called by another sits one below the subsegment that called it */
  depth: number;
  isSegment: boolean;
  name: string;
  /** seconds from the trace's earliest start; undefined when the document has no start */
  offset: number | undefined;
  /** seconds; undefined while in progress */
  duration: number | undefined;
  /** what it did: `GET https://… 500`, an AWS operation, or a SQL query */
  operation: string | undefined;
  /** FAULT, ERROR, THROTTLE, IN PROGRESS */
  marks: string[];
  /** the first exception recorded in its cause, `Type: message` */
  exception: string | undefined;
  annotations: [string, string | number | boolean][];
}

export interface Timeline {
  /** epoch seconds of the earliest start */
  start: number | undefined;
  /** earliest start to latest end, seconds */
  duration: number | undefined;
  segments: number;
  entries: TimelineEntry[];
}

function operationOf(e: Entity): string | undefined {
  const aws = asObject(e.doc.aws);
  const status = statusOf(e);
  const op = asString(aws?.operation);
  if (op !== undefined) {
    const resource = asString(aws?.table_name) ?? asString(aws?.queue_url) ?? asString(aws?.function_name) ?? asString(aws?.topic_arn);
    return [op, resource, status].filter((v) => v !== undefined).join(' ');
  }
  const sql = asObject(e.doc.sql);
  if (sql) {
    const q = asString(sql.sanitized_query);
    return q !== undefined ? `SQL ${q}` : ['SQL', asString(sql.database_type), asString(sql.url)].filter(Boolean).join(' ');
  }
  const method = httpField(e, 'method');
  const url = httpField(e, 'url');
  if (method !== undefined || url !== undefined || status !== undefined) return [method, url, status].filter((v) => v !== undefined).join(' ');
  return undefined;
}

function exceptionOf(e: Entity): string | undefined {
  const x = exceptionsOf(e).find((i) => i.name !== undefined || i.message !== undefined);
  if (!x) return undefined;
  return x.name !== undefined && x.message !== undefined ? `${x.name}: ${x.message}` : (x.message ?? x.name);
}

function annotationsOf(e: Entity): [string, string | number | boolean][] {
  const a = asObject(e.doc.annotations);
  if (!a) return [];
  return Object.entries(a).filter((kv): kv is [string, string | number | boolean] => ['string', 'number', 'boolean'].includes(typeof kv[1]));
}

const byStart = (a: Entity, b: Entity) => (startOf(a) ?? Infinity) - (startOf(b) ?? Infinity);

/**
 * A trace's documents as a call tree in start order: embedded subsegments under their parent,
 * independently sent subsegments under the entity their parent_id names, and a segment under the
 * subsegment whose id is its parent_id (the call that reached it). The documents are assembled by the
 * same rules the filter expressions use (src/traces/filter/trace-model.ts), so what a filter matched
 * and what is printed agree.
 */
export function timelineOf(documents: readonly object[]): Timeline {
  const model = buildTraceModel(documents);
  let start = Infinity;
  let end = -Infinity;
  for (const e of model.entities) {
    const s = startOf(e);
    const d = durationOf(e);
    if (s !== undefined) start = Math.min(start, s);
    if (s !== undefined && d !== undefined) end = Math.max(end, s + d);
  }
  const t0 = start === Infinity ? undefined : start;
  const entries: TimelineEntry[] = [];
  const visited = new Set<Entity>();
  const visit = (e: Entity, depth: number) => {
    // parent_ids can form a loop in bad data; print each entity once
    if (visited.has(e)) return;
    visited.add(e);
    const s = startOf(e);
    const o = outcomeOf(e);
    const m = marks(o);
    if (e.doc.in_progress === true) m.push('IN PROGRESS');
    entries.push({
      depth,
      isSegment: e.isSegment,
      name: e.name || '(unnamed)',
      offset: s !== undefined && t0 !== undefined ? roundSeconds(s - t0) : undefined,
      duration: durationOf(e),
      operation: operationOf(e),
      marks: m,
      exception: exceptionOf(e),
      annotations: annotationsOf(e),
    });
    for (const c of [...e.children, ...e.downstream].sort(byStart)) visit(c, depth + 1);
  };
  // roots: segments no entity of the trace called, and subsegments whose parent never arrived
  const roots = model.entities.filter((e) => e.parent === undefined).sort(byStart);
  for (const r of roots) visit(r, 0);
  // whatever only a loop reaches
  for (const e of [...model.entities].sort(byStart)) visit(e, 0);
  return { start: t0, duration: t0 === undefined || end === -Infinity ? undefined : roundSeconds(Math.max(0, end - t0)), segments: model.segments.length, entries };
}

const annotation = ([k, v]: [string, string | number | boolean]) => `${k}=${typeof v === 'string' && !/^[^\s"=]+$/.test(v) ? JSON.stringify(v) : String(v)}`;

/**
 * The timeline as text: a header line, then one line per entity with its offset from the trace's
 * start and its duration in aligned columns, and its name indented by depth.
 */
export function formatTimeline(traceId: string, t: Timeline): string[] {
  const header = `trace ${traceId}  ${isoTime(t.start)}  ${ms(t.duration)}  ${t.segments} segment${t.segments === 1 ? '' : 's'}`;
  const rows = t.entries.map((e) => {
    const what = [
      `${'  '.repeat(e.depth)}${e.name}`,
      e.operation !== undefined ? clip(e.operation, 100) : undefined,
      e.marks.length ? e.marks.join(' ') : undefined,
      e.exception !== undefined ? `(${clip(e.exception, 120)})` : undefined,
      e.annotations.length ? e.annotations.map(annotation).join(' ') : undefined,
    ];
    return [e.offset === undefined ? '?' : `+${ms(e.offset)}`, ms(e.duration), what.filter((w) => w !== undefined).join('  ')];
  });
  return [header, ...columns(rows, new Set([0, 1]))];
}
