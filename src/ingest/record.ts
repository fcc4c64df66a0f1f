import { z } from 'zod';

/**
 * The slim form of a segment or subsegment that travels in ingest jobs: only what aggregation needs,
 * with short keys because hundreds of them go into every job. Annotations, metadata, http details and
 * causes are validated at the door and not carried further.
 */
export interface SlimEntity {
  /** id (lower-case hex) */
  i: string;
  /** name */
  n: string;
  /** start_time, epoch seconds */
  s: number;
  /** end_time, epoch seconds */
  e: number;
  /** outcome flags: FLAG_ERROR | FLAG_THROTTLE | FLAG_FAULT */
  f?: number;
  /** namespace of a downstream call: 'r' remote, 'a' aws; absent for local work */
  ns?: 'r' | 'a';
  /** node type: a segment's origin, or the inferred AWS type of an aws call */
  ty?: string;
  /** 1 when the downstream is traced and will send its own segment with parent_id = i */
  tr?: 1;
  /** 1 on an embedded subsegment that says it was also sent alone (streamed): it is de-duplicated */
  st?: 1;
  /** child subsegments */
  c?: SlimEntity[];
}

/** A whole document: a segment ('s') or an independent subsegment ('x'). */
export interface SlimDoc extends SlimEntity {
  k: 's' | 'x';
  /** trace_id */
  t: string;
  /** parent_id: the caller's subsegment for a segment; the parent (sub)segment for a subsegment */
  p?: string;
  /** the operation a segment served (operation.ts): method and normalized URL path */
  u?: string;
}

export const FLAG_ERROR = 1;
export const FLAG_THROTTLE = 2;
export const FLAG_FAULT = 4;

const entityShape = {
  i: z.string().min(1).max(64),
  n: z.string().max(250),
  s: z.number(),
  e: z.number(),
  f: z.number().int().min(0).max(7).optional(),
  ns: z.enum(['r', 'a']).optional(),
  ty: z.string().max(250).optional(),
  tr: z.literal(1).optional(),
  st: z.literal(1).optional(),
};

export const slimEntitySchema: z.ZodType<SlimEntity> = z.lazy(() =>
  z.object({ ...entityShape, c: z.array(slimEntitySchema).optional() }),
) as z.ZodType<SlimEntity>;

export const slimDocSchema: z.ZodType<SlimDoc> = z.object({
  ...entityShape,
  c: z.array(slimEntitySchema).optional(),
  k: z.enum(['s', 'x']),
  t: z.string().min(1).max(64),
  p: z.string().max(64).optional(),
  u: z.string().max(120).optional(),
}) as z.ZodType<SlimDoc>;

/** Payload of one ingest job. `id` is stable across retries: it keys the exactly-once markers. */
export const ingestJobSchema = z.object({
  id: z.string().min(1).max(128),
  docs: z.array(slimDocSchema),
});
export type IngestJob = z.infer<typeof ingestJobSchema>;

/**
 * A job of raw documents, not yet validated: replay's file door hands parsing to the workers, so that
 * reading a file and validating its documents run in parallel (on as many worker processes as there
 * are). Each document is validated exactly as at the live doors; refusals are recorded with `src`.
 */
export const rawIngestJobSchema = z.object({
  id: z.string().min(1).max(128),
  /**
   * Redis key of the documents (claim check): one per line, then a line with a NUL character, then
   * where each came from (file:line). Kept out of the job itself so that no document is JSON-escaped
   * and copied by the queue; the worker deletes it once the batch is applied.
   */
  blob: z.string().min(1).max(256),
});
export type RawIngestJob = z.infer<typeof rawIngestJobSchema>;

/** The line that parts a raw batch's documents from their sources (a NUL: no JSON document holds one raw). */
const RAW_SEPARATOR = '\n\u0000\n';

/** The claim-check text of a raw batch: its documents, one per line, then where each came from. */
export function encodeRawBatch(texts: readonly string[], sources: readonly string[]): string {
  return `${texts.join('\n')}${RAW_SEPARATOR}${sources.join('\n')}`;
}

/** A raw batch's documents and their sources (empty when the text carries none), from its claim-check text. */
export function decodeRawBatch(text: string): { texts: string[]; sources: string[] } {
  const sep = text.indexOf(RAW_SEPARATOR);
  return {
    texts: (sep < 0 ? text : text.slice(0, sep)).split('\n'),
    sources: sep < 0 ? [] : text.slice(sep + RAW_SEPARATOR.length).split('\n'),
  };
}

const isEntity = (e: unknown, depth: number): boolean => {
  if (typeof e !== 'object' || e === null || Array.isArray(e) || depth > 64) return false;
  const x = e as Record<string, unknown>;
  if (typeof x.i !== 'string' || x.i.length < 1 || x.i.length > 64) return false;
  if (typeof x.n !== 'string' || x.n.length > 250) return false;
  if (!Number.isFinite(x.s) || !Number.isFinite(x.e)) return false;
  if (x.f !== undefined && !(Number.isInteger(x.f) && (x.f as number) >= 0 && (x.f as number) <= 7)) return false;
  if (x.ns !== undefined && x.ns !== 'r' && x.ns !== 'a') return false;
  if (x.ty !== undefined && !(typeof x.ty === 'string' && x.ty.length <= 250)) return false;
  if ((x.tr !== undefined && x.tr !== 1) || (x.st !== undefined && x.st !== 1)) return false;
  if (x.c !== undefined) {
    if (!Array.isArray(x.c)) return false;
    for (const c of x.c) if (!isEntity(c, depth + 1)) return false;
  }
  return true;
};

const isDoc = (doc: unknown): boolean => {
  if (!isEntity(doc, 0)) return false;
  const x = doc as Record<string, unknown>;
  return (x.k === 's' || x.k === 'x') && typeof x.t === 'string' && x.t.length >= 1 && x.t.length <= 64 && (x.p === undefined || (typeof x.p === 'string' && x.p.length <= 64)) && (x.u === undefined || (typeof x.u === 'string' && x.u.length <= 120));
};

/**
 * Validates an ingest job's payload against ingestJobSchema. A structural pass that mirrors the schema
 * covers the well-formed case (every job our doors write) at a fraction of zod's cost; a payload it
 * doubts goes to zod, which decides and gives the reason (test/unit/record.test.ts keeps them in step).
 */
export function parseIngestJob(data: unknown): { success: true; data: IngestJob } | { success: false; reason: string } {
  const d = data as { id?: unknown; docs?: unknown } | null;
  if (d && typeof d === 'object' && typeof d.id === 'string' && d.id.length >= 1 && d.id.length <= 128 && Array.isArray(d.docs) && d.docs.every(isDoc)) {
    return { success: true, data: data as IngestJob };
  }
  const r = ingestJobSchema.safeParse(data);
  if (r.success) return { success: true, data: r.data };
  return { success: false, reason: r.error.issues.slice(0, 3).map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') };
}
