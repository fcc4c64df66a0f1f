import { hostname } from 'node:os';
import { UnrecoverableError, Worker } from 'bullmq';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { Metrics } from '../obs/metrics.js';
import { connect } from '../redis/connect.js';
import { keySpace } from '../aggregate/keys.js';
import { QUEUE, bullPrefix } from '../queue/queues.js';
import { redisDeadLetter } from '../queue/dead-letter.js';
import { tracesProcessor, type TracesProcessorOptions } from '../../jobs/traces.js';
import { dropExpiredPartitions } from '../traces/store/partitions.js';
import type { TraceStore } from '../traces/store/store.js';
import { isStoreUnavailable } from '../traces/store/unavailable.js';
import { keepsEverything, sweepRetention } from '../traces/store/retention-sweep.js';
import { compileRules } from '../traces/retention.js';

/** How often expired partitions are looked for. */
const PARTITION_SWEEP_MS = 3600_000;

export interface TraceWorkerOptions {
  /** Trace-write jobs taken at once. @defaultValue 2 */
  concurrency?: number;
  retry?: TracesProcessorOptions;
}

/**
 * The worker side of the trace store: writes queued documents, applies the tail-based retention rules to
 * complete traces, and drops expired partitions.
 */
export async function startTraceWorker(
  cfg: Config,
  redisUrl: string,
  traces: { store: TraceStore; notReady?: () => string | undefined },
  log: Logger,
  metrics: Metrics,
  opts: TraceWorkerOptions = {},
): Promise<{ close(): Promise<void> }> {
  const redis = connect(redisUrl, 'worker');
  redis.on('error', (err) => log.debug({ err: err.message }, 'trace worker redis error'));
  let closing = false;
  const processor = tracesProcessor({
    store: traces.store,
    deadLetter: redisDeadLetter(redis, keySpace(cfg.keyPrefix).deadLetters(), cfg.retentionSeconds),
    closing: () => closing,
    notReady: traces.notReady,
    log,
    metrics,
    options: opts.retry,
  });
  const worker = new Worker(QUEUE.traces, processor, {
    connection: connect(redisUrl, 'worker'),
    prefix: bullPrefix(cfg.keyPrefix),
    concurrency: opts.concurrency ?? 2,
    name: `${hostname()}:${process.pid}`,
  });
  worker.on('failed', (job, err) => {
    const final = !job || err instanceof UnrecoverableError || job.attemptsMade >= (job.opts.attempts ?? 1);
    if (final && job) metrics.tracesDropped.inc({ reason: 'failed' }, Array.isArray(job.data?.docs) ? job.data.docs.length : 0);
    log.warn({ jobId: job?.id, err: err.message, attempts: job?.attemptsMade, final }, 'trace write failed');
  });
  worker.on('error', (err) => log.error({ err: err.message }, 'trace worker error'));
  await worker.waitUntilReady();

  const sweepPartitions = async () => {
    if (traces.notReady?.()) return;
    try {
      const dropped = await dropExpiredPartitions(traces.store);
      if (dropped.length) log.info({ dropped }, 'trace store: expired partitions dropped');
    } catch (err) {
      if (!isStoreUnavailable(err)) log.warn({ err: (err as Error).message }, 'trace store: dropping expired partitions failed');
    }
  };
  void sweepPartitions();
  const partitionTimer = setInterval(() => void sweepPartitions(), PARTITION_SWEEP_MS);
  partitionTimer.unref();

  // Tail-based retention: complete traces are kept or deleted by the rules (nothing to do when they keep all).
  const compiled = compileRules(cfg.traces.retentionRules);
  if (!compiled.ok) throw new Error(`traces.retentionRules: ${compiled.error.message}`);
  const rules = compiled.rules;
  let sweeping = false;
  const sweep = async () => {
    if (sweeping || closing || traces.notReady?.()) return;
    sweeping = true;
    try {
      for (;;) {
        const r = await sweepRetention(traces.store, rules, { completeSeconds: cfg.traces.completeSeconds, limit: 500 });
        if (r.dropped) metrics.tracesDiscarded.inc(r.dropped);
        if (r.decided < 500 || closing) break;
      }
    } catch (err) {
      if (!isStoreUnavailable(err)) log.warn({ err: (err as Error).message }, 'trace store: applying the retention rules failed; retrying');
    } finally {
      sweeping = false;
    }
  };
  const sweepTimer = keepsEverything(rules) ? undefined : setInterval(() => void sweep(), Math.max(1000, (cfg.traces.completeSeconds * 1000) / 3));
  sweepTimer?.unref();

  return {
    close: async () => {
      closing = true;
      clearInterval(partitionTimer);
      clearInterval(sweepTimer);
      await worker.close().catch(() => undefined);
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
