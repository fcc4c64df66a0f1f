import { UnrecoverableError, type Job } from 'bullmq';
import type { Logger } from 'pino';
import { readJob } from '../src/queue/catalog.js';
import { QUEUE } from '../src/queue/queues.js';
import { writeDocuments, type WriteResult } from '../src/traces/store/writer.js';
import { isStoreUnavailable } from '../src/traces/store/unavailable.js';
import type { TraceStore } from '../src/traces/store/store.js';
import type { Metrics } from '../src/obs/metrics.js';

export interface TracesProcessorOptions {
  /** First wait after PostgreSQL was found away, ms. @defaultValue 500 */
  initialRetryMs?: number;
  /** Longest wait between tries while it stays away, ms. @defaultValue 10000 */
  maxRetryMs?: number;
}

export interface TracesProcessorDeps {
  store: TraceStore;
  /** Where invalid payloads are recorded, with their reason. */
  deadLetter: (job: Job, reason: string) => Promise<void>;
  /** true once the worker is stopping: a write waiting for PostgreSQL gives its job back to the queue. */
  closing: () => boolean;
  /** Why the store cannot take writes yet (migrations pending); such a write waits like one to a store away. */
  notReady?: () => string | undefined;
  log: Logger;
  metrics?: Metrics;
  options?: TracesProcessorOptions;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Processor of the "traces" queue: writes a batch of documents to the trace store. While PostgreSQL is
 * away the job waits and tries again with backoff, holding its place (no attempt is spent), so writes
 * resume by themselves when it is back; meanwhile the queue fills up to the feed's bound, past which
 * new documents are shed and counted at the doors.
 */
export function tracesProcessor(deps: TracesProcessorDeps) {
  const initial = deps.options?.initialRetryMs ?? 500;
  const max = deps.options?.maxRetryMs ?? 10_000;
  let away = false;
  return async (job: Job): Promise<WriteResult> => {
    const payload = readJob(QUEUE.traces, job);
    if (!payload.ok) {
      const reason = payload.reason;
      await deps.deadLetter(job, reason);
      deps.metrics?.deadLettered.inc({ queue: 'traces' });
      throw new UnrecoverableError(`invalid trace job payload: ${reason}`);
    }
    const docs = payload.data.docs.map((text) => ({ text }));
    for (let wait = initial; ; wait = Math.min(max, wait * 2)) {
      try {
        const pending = deps.notReady?.();
        if (pending) throw Object.assign(new Error(pending), { code: 'CONNECTION_CLOSED' });
        const r = await writeDocuments(deps.store, docs);
        deps.metrics?.tracesWritten.inc(r.written);
        if (r.rejected.length) deps.metrics?.tracesDropped.inc({ reason: 'refused' }, r.rejected.length);
        if (away) {
          away = false;
          deps.metrics?.tracesPaused.set(0);
          deps.log.info('trace store reachable again: trace writes resumed');
        }
        return r;
      } catch (err) {
        if (!isStoreUnavailable(err)) throw err;
        if (!away) {
          away = true;
          deps.metrics?.tracesPaused.set(1);
          deps.log.warn({ err: (err as Error).message }, 'trace store unreachable: trace writes wait and retry (counters and insights go on)');
        }
        if (deps.closing()) throw new Error('stopping while the trace store is unreachable: the job goes back to the queue');
        await sleep(wait);
      }
    }
  };
}
