import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Redis } from 'ioredis';
import type { Config } from '../config/schema.js';
import { connect } from '../redis/connect.js';
import { keySpace, windowOf } from '../aggregate/keys.js';
import { closeWindow, dueWindows } from '../aggregate/close.js';
import { Batcher } from '../ingest/batcher.js';
import { Intake } from '../ingest/intake.js';
import { readTraceFile } from '../ingest/files.js';
import { ingestQueue } from '../queue/queues.js';
import { createMetrics } from '../obs/metrics.js';
import { startWorker } from '../runtime.js';
import { createInsights } from '../insights/build.js';
import type { InsightEvent } from '../insights/model.js';
import type { Rejection } from '../ingest/parse.js';

/**
 * Replay: historical trace files through the very path live traffic takes (intake → queue → workers →
 * windows → close → detection → insights), in event time, in a namespace of its own that never touches
 * live baselines. Deterministic: window W is closed only once every document read before event time
 * passed W's end plus the allowed lateness is applied, and nothing else is being applied meanwhile; so
 * worker count, machine speed and queue order cannot change the events.
 */
export interface ReplayOptions {
  files: string[];
  cfg: Config;
  redisUrl: string;
  log: Logger;
  /** receives each insight event, in order */
  onEvent: (e: InsightEvent) => void | Promise<void>;
  /** progress: documents read so far and the event time reached */
  onProgress?: (p: { documents: number; eventTime: number; insights: number }) => void;
  /** documents per intake submission @defaultValue 2000 */
  chunk?: number;
  /** keep the namespace's keys afterwards (for inspection) @defaultValue false */
  keep?: boolean;
}

export interface ReplayResult {
  namespace: string;
  documents: number;
  accepted: number;
  rejections: Array<Rejection & { source: string }>;
  events: number;
  firstEventTime: number | null;
  lastEventTime: number | null;
  windowsClosed: number;
  seconds: number;
}

async function dropNamespace(redis: Redis, prefix: string): Promise<void> {
  for (const pattern of [`{${prefix}:*`, `{${prefix}}:*`]) {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 2000);
      cursor = next;
      if (keys.length) await redis.unlink(...keys);
    } while (cursor !== '0');
  }
}

export async function replay(o: ReplayOptions): Promise<ReplayResult> {
  const started = performance.now();
  const namespace = `${o.cfg.keyPrefix}-replay-${randomBytes(4).toString('hex')}`;
  const cfg: Config = Object.freeze({ ...o.cfg, keyPrefix: namespace });
  const W = cfg.windowSeconds;
  const lateness = cfg.allowedLatenessSeconds;
  const log = o.log.child({ component: 'replay', namespace });
  const metrics = createMetrics();
  const redis = connect(o.redisUrl, 'worker');
  const keys = keySpace(namespace);
  const queueRedis = connect(o.redisUrl, 'worker');
  const queue = ingestQueue(queueRedis, namespace);
  const worker = await startWorker(cfg, o.redisUrl, log, metrics, { closes: false });
  let enqueued = 0;
  let completed = 0;
  let waiters: Array<() => void> = [];
  const finished = () => {
    completed++;
    if (completed >= enqueued) {
      const w = waiters;
      waiters = [];
      for (const f of w) f();
    }
  };
  worker.ingest.on('completed', finished);
  // a job that failed for good is finished too (its error is logged by the worker)
  worker.ingest.on('failed', (job) => {
    if (job && job.attemptsMade >= (job.opts.attempts ?? 1)) finished();
  });
  const batcher = new Batcher({
    maxSegments: cfg.batch.maxSegments,
    // replay reads as fast as it can: batches fill by size, the timer only matters at the very end
    maxWaitMs: cfg.batch.maxWaitMs,
    enqueue: async (job) => {
      enqueued++;
      await queue.add('batch', job, { jobId: job.id });
    },
  });
  const intake = new Intake(batcher, metrics, {});
  const { engine, store } = createInsights(redis, cfg);
  const closeOpts = { windowSeconds: W, allowedLatenessSeconds: lateness, retentionSeconds: cfg.retentionSeconds };

  const result: ReplayResult = { namespace, documents: 0, accepted: 0, rejections: [], events: 0, firstEventTime: null, lastEventTime: null, windowsClosed: 0, seconds: 0 };
  let insightsSeen = new Set<string>();
  let nextClose: number | null = null;
  let readTo = 0;
  let pending: Array<Promise<void>> = [];

  const settle = async () => {
    await batcher.flush();
    await Promise.all(pending);
    pending = [];
    if (completed < enqueued) await new Promise<void>((resolve) => waiters.push(resolve));
  };
  let firstWindow: number | null = null;
  const closeThrough = async (bound: number, last: number) => {
    await settle();
    const due = await dueWindows(redis, keys, closeOpts, bound);
    firstWindow ??= due[0] ?? null;
    for (const w of due) {
      await closeWindow(redis, keys, closeOpts, w);
      result.windowsClosed++;
    }
    const r = await engine.advanceTo(last, firstWindow ?? last);
    for (const e of r.events) {
      insightsSeen.add(e.insight.id);
      result.events++;
      result.firstEventTime ??= e.eventTime;
      result.lastEventTime = e.eventTime;
      await o.onEvent(e);
    }
  };

  try {
    let texts: string[] = [];
    let sources: string[] = [];
    const submit = async () => {
      if (!texts.length) return;
      const r = intake.submit('file', texts);
      result.documents += texts.length;
      result.accepted += r.accepted;
      for (const { index, ...rej } of r.rejections) result.rejections.push({ ...rej, source: sources[index] ?? '' });
      pending.push(r.queued);
      if (r.maxStartTime > readTo) readTo = r.maxStartTime;
      texts = [];
      sources = [];
      if (readTo > 0 && nextClose === null) nextClose = windowOf(readTo, W);
      // close every window whose end plus lateness the reading has passed
      if (nextClose !== null && nextClose + W + lateness <= readTo) {
        let last = nextClose;
        while (last + W + W + lateness <= readTo) last += W;
        await closeThrough(last + W + lateness, last);
        nextClose = last + W;
      }
      if (pending.length > 8) {
        await Promise.all(pending);
        pending = [];
      }
      o.onProgress?.({ documents: result.documents, eventTime: readTo, insights: insightsSeen.size });
    };
    for (const f of o.files) {
      for await (const d of readTraceFile(f)) {
        texts.push(d.text);
        sources.push(d.source);
        if (texts.length >= (o.chunk ?? 2000)) await submit();
      }
    }
    await submit();
    // end of input: close everything that is left
    if (readTo > 0) await closeThrough(Infinity, windowOf(readTo, W));
    o.onProgress?.({ documents: result.documents, eventTime: readTo, insights: insightsSeen.size });
  } finally {
    await batcher.close();
    await worker.close();
    await queue.close();
    if (!o.keep) await dropNamespace(redis, namespace).catch(() => undefined);
    redis.disconnect();
    queueRedis.disconnect();
    void store;
  }
  result.seconds = Math.round((performance.now() - started) / 10) / 100;
  return result;
}
