import { randomBytes } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { envMap } from '../config/schema.js';
import type { Logger } from 'pino';
import type { Redis } from 'ioredis';
import type { Config } from '../config/schema.js';
import { connect } from '../redis/connect.js';
import { keySpace, windowOf } from '../aggregate/keys.js';
import { readTraceFile } from '../ingest/files.js';
import { QUEUE, ingestQueue } from '../queue/queues.js';
import { addJob } from '../queue/catalog.js';
import { createMetrics } from '../obs/metrics.js';
import { startWorker, type WorkerHalf } from '../runtime.js';
import { createInsights } from '../insights/build.js';
import type { InsightEvent } from '../insights/model.js';
import type { Rejection } from '../ingest/parse.js';
import { clusterNodesOf } from '../redis/target.js';
import { dropNamespace } from '../redis/namespace.js';
import { encodeRawBatch } from '../ingest/record.js';

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
  /**
   * Replay into this key prefix instead of a fresh `<keyPrefix>-replay-<random>` one. It should hold
   * nothing yet (a replay starts from an empty namespace); with `keep`, a server started on the same
   * prefix then serves the replay's service graph and insights through the API. @defaultValue a fresh one
   */
  namespace?: string;
  /**
   * Worker processes to aggregate with; 0 runs the worker in this process. On a multi-core machine,
   * separate processes let reading/validating and aggregating run in parallel. @defaultValue 0
   */
  workerProcesses?: number;
  /** Stops the replay early (Ctrl-C): it throws, after stopping its workers and dropping its namespace. */
  signal?: AbortSignal;
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

const START_TIME = /"start_time"\s*:\s*(-?[0-9.]+(?:[eE][+-]?[0-9]+)?)/;

/** The first start_time in a document's text (0 if none): the reading position in event time. */
export function sniffStartTime(text: string): number {
  const m = START_TIME.exec(text);
  return m ? Number(m[1]) : 0;
}

/**
 * Worker processes (`trace-insights worker --no-close`) sharing the replay's namespace and settings. The IPC
 * channel is only a lifeline: when replay dies (SIGTERM, SIGKILL), it closes and the workers stop.
 */
async function startWorkerProcesses(cfg: Config, redisUrl: string, n: number): Promise<{ close(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'ti-replay-'));
  const file = join(dir, 'config.json');
  // the children's config names the same Redis: the cluster's nodes, or this URL
  const nodes = clusterNodesOf(redisUrl);
  writeFileSync(file, JSON.stringify({ ...cfg, redisUrl: nodes ? null : redisUrl, redisClusterNodes: nodes ? nodes.map((n) => `${n.host}:${n.port}`) : [], logLevel: cfg.logLevel === 'silent' ? 'silent' : 'warn' }));
  const bin = fileURLToPath(new URL('../../bin/trace-insights.js', import.meta.url));
  const env = { ...process.env };
  for (const k of Object.keys(envMap)) delete env[k];
  const children: ChildProcess[] = [];
  for (let i = 0; i < n; i++) {
    children.push(spawn(process.execPath, [bin, 'worker', '--no-close', '--config', file], { env, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] }));
  }
  return {
    close: async () => {
      await Promise.all(
        children.map(
          (c) =>
            new Promise<void>((resolve) => {
              if (c.exitCode !== null) return resolve();
              c.once('exit', () => resolve());
              c.kill('SIGTERM');
            }),
        ),
      );
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function replay(o: ReplayOptions): Promise<ReplayResult> {
  const started = performance.now();
  const namespace = o.namespace ?? `${o.cfg.keyPrefix}-replay-${randomBytes(4).toString('hex')}`;
  const cfg: Config = Object.freeze({ ...o.cfg, keyPrefix: namespace });
  const W = cfg.windowSeconds;
  const lateness = cfg.allowedLatenessSeconds;
  const log = o.log.child({ component: 'replay', namespace });
  const metrics = createMetrics();
  const redis = connect(o.redisUrl, 'worker');
  const keys = keySpace(namespace);
  const queueRedis = connect(o.redisUrl, 'worker');
  const queue = ingestQueue(queueRedis, namespace);
  const external = o.workerProcesses ?? 0;
  const worker: { close(): Promise<void>; ingest?: WorkerHalf['ingest'] } = external
    ? await startWorkerProcesses(cfg, o.redisUrl, external)
    : await startWorker(cfg, o.redisUrl, log, metrics, { closes: false });
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
  if (worker.ingest) {
    worker.ingest.on('completed', finished);
    // a job that failed for good is finished too (its error is logged by the worker)
    worker.ingest.on('failed', (job) => {
      if (job && job.attemptsMade >= (job.opts.attempts ?? 1)) finished();
    });
  }
  // the live close path itself (close-and-judge), so replay measures what production does
  const { closer } = createInsights(redis, cfg);

  const result: ReplayResult = { namespace, documents: 0, accepted: 0, rejections: [], events: 0, firstEventTime: null, lastEventTime: null, windowsClosed: 0, seconds: 0 };
  let insightsSeen = new Set<string>();
  let nextClose: number | null = null;
  let readTo = 0;
  let pending: Array<Promise<void>> = [];

  const settle = async () => {
    await Promise.all(pending);
    pending = [];
    if (!worker.ingest) {
      // workers in other processes: wait until the queue has nothing left to do
      for (;;) {
        const c = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
        if (Object.values(c).every((n) => n === 0)) return;
        await new Promise((r) => setTimeout(r, 10));
      }
    }
    if (completed < enqueued) await new Promise<void>((resolve) => waiters.push(resolve));
  };
  const closeThrough = async (bound: number, last: number) => {
    await settle();
    const r = await closer.run({
      bound,
      through: last,
      onEvents: async (events) => {
        for (const e of events) {
          insightsSeen.add(e.insight.id);
          result.events++;
          result.firstEventTime ??= e.eventTime;
          result.lastEventTime = e.eventTime;
          await o.onEvent(e);
        }
      },
    });
    result.windowsClosed += r.closed.length;
    // only another process committing insights in this namespace does this: the replay is not its own
    if (r.stopped) throw new Error(`replay into ${namespace}: another process committed insights here (${r.stopped})`);
  };

  try {
    let texts: string[] = [];
    let sources: string[] = [];
    let seq = 0;
    const submit = async () => {
      if (!texts.length) return;
      const id = `${namespace}-r${++seq}`;
      const job = { id, blob: keys.blob(id) };
      result.documents += texts.length;
      enqueued++;
      const body = encodeRawBatch(texts, sources);
      pending.push(
        redis
          .set(job.blob, body, 'EX', cfg.markerTtlSeconds)
          .then(() => addJob(queue, QUEUE.ingest, 'raw', job, { jobId: id }))
          .then(() => undefined),
      );
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
      if (pending.length > 16) {
        await Promise.all(pending);
        pending = [];
      }
      o.onProgress?.({ documents: result.documents, eventTime: readTo, insights: insightsSeen.size });
    };
    const batchSize = cfg.batch.maxSegments;
    for (const f of o.files) {
      for await (const d of readTraceFile(f)) {
        if (o.signal?.aborted) throw new Error('interrupted');
        texts.push(d.text);
        sources.push(d.source);
        // where the reading is in event time (any deterministic function of the text serves: it only
        // decides when windows close, and documents are sorted by time)
        const t = sniffStartTime(d.text);
        if (t > readTo && t < 4102444800) readTo = t;
        if (texts.length >= batchSize) await submit();
      }
    }
    await submit();
    // end of input: close everything that is left
    if (readTo > 0) await closeThrough(Infinity, windowOf(readTo, W));
    const refused = await redis.hgetall(keys.rejected());
    const order = (k: string) => k.slice(k.lastIndexOf('-r') + 2).split(':').map(Number) as [number, number];
    for (const k of Object.keys(refused).sort((a, b) => order(a)[0] - order(b)[0] || order(a)[1] - order(b)[1])) {
      result.rejections.push(JSON.parse(refused[k]!) as Rejection & { source: string });
    }
    result.accepted = result.documents - result.rejections.length;
    o.onProgress?.({ documents: result.documents, eventTime: readTo, insights: insightsSeen.size });
  } finally {
    await Promise.allSettled(pending);
    await worker.close();
    await queue.close();
    if (!o.keep) await dropNamespace(redis, namespace).catch(() => undefined);
    redis.disconnect();
    queueRedis.disconnect();
  }
  result.seconds = Math.round((performance.now() - started) / 10) / 100;
  return result;
}
