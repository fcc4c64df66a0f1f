import { UnrecoverableError, type Job } from 'bullmq';
import { decodeRawBatch, parseIngestJob, type SlimDoc } from '../src/ingest/record.js';
import { readJob } from '../src/queue/catalog.js';
import { QUEUE } from '../src/queue/queues.js';
import { parseDocument } from '../src/ingest/parse.js';
import type { AggregateStore, ApplyResult } from '../src/aggregate/store.js';
import type { Metrics } from '../src/obs/metrics.js';

export interface IngestProcessorDeps {
  store: AggregateStore;
  /** Where invalid payloads are recorded, with their reason. */
  deadLetter: (job: Job, reason: string) => Promise<void>;
  /** Where refused documents of raw jobs are recorded (idempotent: keyed by job and position). */
  recordRejections?: (entries: Array<[string, string]>) => Promise<void>;
  /** Raw jobs' documents (claim check): fetch, and mark done + delete once applied. */
  blobs?: {
    get(key: string): Promise<string | null>;
    /** true when the batch was fully applied before (its blob is then gone for good) */
    done(batchId: string): Promise<boolean>;
    finish(batchId: string, key: string): Promise<void>;
  };
  metrics?: Metrics;
}

/** Processor of the "ingest" queue: validate the payload, apply it, report what it did. */
export function ingestProcessor(deps: IngestProcessorDeps) {
  return async (job: Job): Promise<ApplyResult> => {
    if (job.name === 'raw') return processRaw(deps, job);
    if (job.name !== 'batch') {
      const reason = `unknown job name "${job.name}" on queue ingest`;
      await deps.deadLetter(job, reason);
      deps.metrics?.deadLettered.inc({ queue: 'ingest' });
      throw new UnrecoverableError(reason);
    }
    // the catalog's schema (src/queue/catalog.ts), with a fast path for the well-formed jobs our doors write
    const payload = parseIngestJob(job.data);
    if (!payload.success) {
      const reason = payload.reason;
      await deps.deadLetter(job, reason);
      deps.metrics?.deadLettered.inc({ queue: 'ingest' });
      throw new UnrecoverableError(`invalid ingest payload: ${reason}`);
    }
    const r = await deps.store.applyBatch(payload.data);
    if (deps.metrics) {
      deps.metrics.entitiesCounted.inc(r.counted);
      deps.metrics.duplicates.inc(r.duplicates);
      deps.metrics.batchesReplayed.inc(r.windowsAlreadyApplied);
      deps.metrics.parked.inc(r.parked);
      if (r.maxEventTime) deps.metrics.watermark.set(r.maxEventTime);
    }
    return r;
  };
}

async function processRaw(deps: IngestProcessorDeps, job: Job): Promise<ApplyResult> {
  const payload = readJob(QUEUE.ingest, job);
  if (!payload.ok || payload.name !== 'raw') {
    const reason = payload.ok ? 'not a raw job' : payload.reason;
    await deps.deadLetter(job, reason);
    deps.metrics?.deadLettered.inc({ queue: 'ingest' });
    throw new UnrecoverableError(`invalid raw ingest payload: ${reason}`);
  }
  const { id, blob } = payload.data;
  if (!deps.blobs) throw new UnrecoverableError('raw jobs need a blob store');
  const text = await deps.blobs.get(blob);
  if (text === null) {
    if (await deps.blobs.done(id)) return { documents: 0, counted: 0, duplicates: 0, windows: 0, windowsAlreadyApplied: 0, parked: 0, maxEventTime: 0 };
    const reason = `the documents of raw batch ${id} are gone (${blob} expired?)`;
    await deps.deadLetter(job, reason);
    throw new UnrecoverableError(reason);
  }
  const { texts: raw, sources: src } = decodeRawBatch(text);
  const docs: SlimDoc[] = [];
  const refused: Array<[string, string]> = [];
  for (let i = 0; i < raw.length; i++) {
    const r = parseDocument(raw[i]!);
    if (r.ok) for (const d of r.docs) docs.push(d);
    else {
      refused.push([`${id}:${i}`, JSON.stringify({ source: src?.[i] ?? '', ...r.rejection })]);
      deps.metrics?.documentsRejected.inc({ door: 'file', code: r.rejection.code });
    }
  }
  if (refused.length) await deps.recordRejections?.(refused);
  const r = await deps.store.applyBatch({ id, docs });
  await deps.blobs.finish(id, blob);
  return r;
}
