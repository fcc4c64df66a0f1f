import type { Queue } from 'bullmq';
import type { Logger } from 'pino';
import { Backlog } from '../ingest/backlog.js';
import { Batcher } from '../ingest/batcher.js';
import type { Metrics } from '../obs/metrics.js';
import type { TraceJob } from './job.js';
import { addJob } from '../queue/catalog.js';
import { QUEUE } from '../queue/queues.js';

export interface TraceFeedOptions {
  /** Trace-write jobs waiting at which new documents are shed (counted) instead of queued. */
  maxBufferedJobs: number;
  /** How often the queue's length is read, ms. @defaultValue 1000 */
  pollMs?: number;
  /** Documents per job. @defaultValue 500 */
  maxDocs?: number;
  /** Longest wait before a partial job is queued, ms. @defaultValue 200 */
  maxWaitMs?: number;
}

/**
 * The ingest side of the trace store: accepted documents, as sent, go to the "traces" queue in jobs of
 * hundreds, so the exact counters never wait for PostgreSQL. It never fails its caller: when the queue
 * is over its bound (PostgreSQL away or slow for long) or Redis refuses the job, the documents are
 * shed from the store, and counted in trace_insights_traces_dropped_total{reason}; the counters and
 * insights have them anyway.
 */
export class TraceFeed {
  private readonly batcher: Batcher<string>;
  private readonly buffer: Backlog;

  constructor(
    private readonly queue: Queue,
    private readonly metrics: Metrics | undefined,
    opts: TraceFeedOptions,
    private readonly log: Logger,
  ) {
    this.buffer = new Backlog(
      () => queue.getJobCountByTypes('waiting', 'delayed', 'prioritized'),
      { maxJobs: opts.maxBufferedJobs, pollMs: opts.pollMs ?? 1000 },
      (s) => {
        if (s.throttling) log.warn({ jobs: s.jobs, limit: s.limit }, 'trace store writes are behind (PostgreSQL away or slow): new documents are not kept in the trace store until they catch up; counters and insights are unaffected');
        else log.info({ jobs: s.jobs }, 'trace store writes caught up: keeping documents again');
      },
    );
    this.batcher = new Batcher<string>({
      maxSegments: opts.maxDocs ?? 500,
      maxWaitMs: opts.maxWaitMs ?? 200,
      enqueue: (job) => this.enqueue(job),
    });
  }

  async start(): Promise<void> {
    await this.buffer.start();
  }

  /** Queues documents (texts of accepted documents); resolves once they are queued or shed. */
  add(texts: readonly string[]): Promise<void> {
    if (texts.length === 0) return Promise.resolve();
    if (this.shedding(texts.length)) return Promise.resolve();
    return this.batcher.add(texts).catch(() => undefined);
  }

  /**
   * Queues one whole batch under an id derived from `batchId` (the file door's ingest batch), so the
   * batch's retries queue it once.
   */
  async addBatch(batchId: string, texts: readonly string[]): Promise<void> {
    if (texts.length === 0 || this.shedding(texts.length)) return;
    await this.enqueue({ id: `t-${batchId}`, docs: [...texts] }).catch(() => undefined);
  }

  private shedding(n: number): boolean {
    if (!this.buffer.current.throttling) return false;
    this.metrics?.tracesDropped.inc({ reason: 'buffer_full' }, n);
    return true;
  }

  private async enqueue(job: TraceJob): Promise<void> {
    try {
      await addJob(this.queue, QUEUE.traces, 'documents', job, { jobId: job.id });
      this.metrics?.tracesQueued.inc(job.docs.length);
    } catch (err) {
      this.metrics?.tracesDropped.inc({ reason: 'enqueue_failed' }, job.docs.length);
      this.log.debug({ err: (err as Error).message, docs: job.docs.length }, 'trace documents not queued');
      throw err;
    }
  }

  /** Queues what is pending now. */
  flush(): Promise<void> {
    return this.batcher.flush().catch(() => undefined);
  }

  /** Queues what is pending and stops reading the queue's length. */
  async close(): Promise<void> {
    await this.batcher.close();
    this.buffer.stop();
  }
}
