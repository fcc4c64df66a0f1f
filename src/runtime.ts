import { hostname } from 'node:os';
import { createServer, type Server } from 'node:http';
import { getRequestListener } from '@hono/node-server';
import { Worker } from 'bullmq';
import type { Logger } from 'pino';
import type { Config } from './config/schema.js';
import { connect } from './redis/connect.js';
import { redactRedisUrl, waitUntilReady } from './redis/wait.js';
import { keySpace } from './aggregate/keys.js';
import { AggregateStore } from './aggregate/store.js';
import { AggregateReader } from './aggregate/read.js';
import { Batcher } from './ingest/batcher.js';
import { Intake } from './ingest/intake.js';
import { UdpListener } from './ingest/udp.js';
import { Backlog, backlogReading, doorThrottle } from './ingest/backlog.js';
import { createApp } from './api/app.js';
import type { TraceApiOptions } from './api/xray-traces.js';
import { nodePutTraceSegments } from './api/put-trace-segments.js';
import { QUEUE, bullPrefix, closeQueue, ingestQueue, tracesQueue } from './queue/queues.js';
import { TraceFeed } from './traces/feed.js';
import { startTraceWorker } from './compose/trace-worker.js';
import type { TraceStore } from './traces/store/store.js';
import type { Metrics } from './obs/metrics.js';
import { ingestProcessor } from '../jobs/ingest.js';
import { redisDeadLetter } from './queue/dead-letter.js';
import { addJob, type JobName } from './queue/catalog.js';
import { closeProcessor } from '../jobs/close.js';
import { createInsights } from './insights/build.js';
import { InsightStore } from './insights/store.js';
import { CloseLock } from './insights/close-lock.js';
import { startDelivery, webhookApi } from './compose/delivery.js';
import { withConsoleLinks } from './api/console-links.js';

export interface Running {
  /** Stops everything this half started; runs every step even if one fails; idempotent. */
  close(): Promise<void>;
}

export interface ServerHalf extends Running {
  httpPort: number;
  udpPort: number;
  intake: Intake;
  batcher: Batcher;
  /** the trace store's feed, when the server has a store */
  traceFeed?: TraceFeed;
}

/**
 * Closes a worker, waiting for its jobs in flight; but once none is left, waits no more than a second
 * for BullMQ to say it is closed. After Redis went away and came back, Worker.close() may wait forever
 * for its blocking connection's end (taskforcesh/bullmq#4656) with nothing left to finish.
 */
async function closeWorker(worker: Worker, idle: () => boolean, log: Logger): Promise<void> {
  const closing = worker.close().then(() => true);
  let idleFor = 0;
  for (;;) {
    const closed = await Promise.race([closing, new Promise<false>((r) => setTimeout(() => r(false), 250))]);
    if (closed) return;
    idleFor = idle() ? idleFor + 250 : 0;
    if (idleFor >= 1000) {
      log.warn({ worker: worker.name }, 'worker has no job left but BullMQ has not closed it after 1 s: going on');
      return;
    }
  }
}

/**
 * The longest one shutdown step may take. A batch job takes well under a second, so a step still busy
 * after this is stuck, not working: BullMQ's Worker.close() can wait forever for its blocking
 * connection's end after Redis went away and came back (taskforcesh/bullmq#4656). The process exits
 * anyway; a job it still held goes back to the queue when its lock expires and counts once.
 */
const STEP_TIMEOUT_MS = 15_000;

async function closeAll(log: Logger, steps: Array<[string, () => Promise<unknown> | unknown]>): Promise<void> {
  for (const [name, step] of steps) {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), STEP_TIMEOUT_MS);
      timer.unref();
    });
    try {
      const r = await Promise.race([Promise.resolve().then(step), late]);
      if (r === 'late') log.warn({ step: name, timeoutMs: STEP_TIMEOUT_MS }, 'shutdown step still not done: going on without it');
    } catch (err) {
      log.warn({ err, step: name }, 'shutdown step failed');
    } finally {
      clearTimeout(timer);
    }
  }
}

function once(fn: () => Promise<void>): () => Promise<void> {
  let p: Promise<void> | undefined;
  return () => (p ??= fn());
}

/**
 * HTTP + UDP doors: validate, batch, queue. `extras.traces` serves BatchGetTraces and GetTraceSummaries
 * from a trace store the caller owns; without it they answer 503.
 */
export async function startServer(cfg: Config, redisUrl: string, log: Logger, metrics: Metrics, extras: { traces?: TraceApiOptions; tracesOff?: string } = {}): Promise<ServerHalf> {
  const queueRedis = connect(redisUrl, 'request');
  const readRedis = connect(redisUrl, 'request');
  queueRedis.on('error', (err) => log.debug({ err: err.message }, 'queue redis error'));
  readRedis.on('error', (err) => log.debug({ err: err.message }, 'read redis error'));
  await waitReady([queueRedis, readRedis], cfg, redisUrl, log);
  const queue = ingestQueue(queueRedis, cfg.keyPrefix, cfg.queue.keepCompletedJobs);
  // BullMQ initialises a queue once (script load, version check); if that fails, every later add fails
  // with the same error while the connection looks ready: fail the start-up instead.
  await queue.waitUntilReady();
  const batcher = new Batcher({
    maxSegments: cfg.batch.maxSegments,
    maxWaitMs: cfg.batch.maxWaitMs,
    enqueue: async (job) => {
      try {
        await addJob(queue, QUEUE.ingest, 'batch', job, { jobId: job.id });
        metrics.batchesEnqueued.inc();
        metrics.batchSize.observe(job.docs.length);
      } catch (err) {
        metrics.enqueueFailures.inc();
        throw err;
      }
    },
  });
  // with a trace store, every accepted document is also queued, whole, for it
  const traceQueue = extras.traces ? tracesQueue(queueRedis, cfg.keyPrefix) : undefined;
  const feed = traceQueue ? new TraceFeed(traceQueue, metrics, { maxBufferedJobs: cfg.traces.maxBufferedJobs, maxWaitMs: cfg.batch.maxWaitMs }, log.child({ component: 'traces' })) : undefined;
  await feed?.start();
  const intake = new Intake(batcher, metrics, { now: () => Date.now() / 1000, maxFutureSeconds: 900, traces: feed });
  const backlog = new Backlog(
    backlogReading(queue, queueRedis, metrics),
    { maxJobs: cfg.queue.maxBacklogJobs, pollMs: cfg.queue.backlogPollMs, maxMemoryShare: cfg.queue.maxMemoryShare },
    (s) => {
      metrics.throttling.set(s.throttling ? 1 : 0);
      if (s.throttling) log.warn({ backlogJobs: s.jobs, limit: s.limit, reason: s.reason, redisMemory: s.memory }, `refusing new documents until the workers catch up: ${backlog.refusal()}`);
      else log.info({ backlogJobs: s.jobs, limit: s.limit, redisMemory: s.memory }, 'ingest backlog and Redis memory down again: accepting documents');
    },
  );
  await backlog.start();
  const ready = () => queueRedis.status === 'ready' && readRedis.status === 'ready';
  const reader = new AggregateReader(readRedis, keySpace(cfg.keyPrefix), cfg.windowSeconds);
  const webhooks = webhookApi(cfg, readRedis, queueRedis, log.child({ component: 'webhooks' }), metrics);
  const app = createApp({ intake, reader, redis: readRedis, ready, metrics, log: log.child({ component: 'http' }), bodyLimitBytes: cfg.http.bodyLimitBytes, webhooks: webhooks.deps, backlog, insights: new InsightStore(readRedis, cfg.keyPrefix, cfg.insights.retentionSeconds), xray: cfg.xray, publicUrl: cfg.publicUrl, traces: extras.traces, tracesOff: extras.tracesOff });
  // PutTraceSegments straight on node:http (the hot path); everything else through Hono.
  const put = nodePutTraceSegments({ intake, ready, log: log.child({ component: 'http' }), ...doorThrottle(backlog, metrics, 'http') }, cfg.http.bodyLimitBytes);
  const rest = getRequestListener(app.fetch);
  const server: Server = createServer((req, res) => {
    if (!put(req, res)) void rest(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(cfg.port, cfg.host, () => resolve());
  });
  const httpPort = (server.address() as { port: number }).port;
  const udp = new UdpListener({ host: cfg.host, port: cfg.udpPort, receiveBufferBytes: cfg.udp.receiveBufferBytes, ...doorThrottle(backlog, metrics, 'udp') }, intake, log.child({ component: 'udp' }), metrics);
  const udpPort = await udp.start();
  log.info({ httpPort, udpPort }, 'listening');
  return {
    httpPort,
    udpPort,
    intake,
    batcher,
    traceFeed: feed,
    close: once(() =>
      closeAll(log, [
        ['backlog', () => backlog.stop()],
        ['udp', () => udp.close()],
        ['http', () => new Promise<void>((resolve) => server.close(() => resolve()))],
        ['batcher', () => batcher.close()],
        ['trace-feed', () => feed?.close()],
        ['queue', () => Promise.all([queue.close(), traceQueue?.close()])],
        ['webhooks', () => webhooks.close()],
        ['redis', () => Promise.all([queueRedis.quit().catch(() => queueRedis.disconnect()), readRedis.quit().catch(() => readRedis.disconnect())])],
      ]),
    ),
  };
}

/**
 * Start-up waits for Redis (a container may start before it): one warning per interval saying why, and
 * after cfg.redisConnectTimeoutSeconds a RedisUnreachableError, with these connections closed.
 */
async function waitReady(conns: Array<ReturnType<typeof connect>>, cfg: Config, redisUrl: string, log: Logger): Promise<void> {
  const redis = redactRedisUrl(redisUrl);
  try {
    await waitUntilReady(conns, {
      url: redisUrl,
      timeoutMs: cfg.redisConnectTimeoutSeconds * 1000,
      onWaiting: ({ reason, waitedMs, timeoutMs }) => {
        const waited = Math.round(waitedMs / 1000);
        log.warn({ redis, reason, waitedSeconds: waited, timeoutSeconds: timeoutMs / 1000 }, `waiting for Redis at ${redis}: ${reason} (${waited} s so far, giving up after ${timeoutMs / 1000} s)`);
      },
    });
  } catch (err) {
    for (const c of conns) c.disconnect();
    throw err;
  }
}

export interface WorkerHalf extends Running {
  /** the BullMQ worker of the ingest queue (replay counts its completions) */
  ingest: Worker;
}

export interface WorkerHalfOptions {
  /** Tick the close queue and run detection (live). Replay closes windows itself. @defaultValue true */
  closes?: boolean;
  /** Write the "traces" queue's documents to this store (and drop its expired partitions). */
  traces?: { store: TraceStore; notReady?: () => string | undefined };
}

/** The aggregation worker: any number of these, on any machines, share one Redis. */
export async function startWorker(cfg: Config, redisUrl: string, log: Logger, metrics: Metrics, opts: WorkerHalfOptions = {}): Promise<WorkerHalf> {
  const redis = connect(redisUrl, 'worker');
  redis.on('error', (err) => log.debug({ err: err.message }, 'worker redis error'));
  // before BullMQ's connections exist: their waitUntilReady would wait for Redis forever, silently
  await waitReady([redis], cfg, redisUrl, log);
  const keys = keySpace(cfg.keyPrefix);
  const store = new AggregateStore(redis, keys, {
    windowSeconds: cfg.windowSeconds,
    retentionSeconds: cfg.retentionSeconds,
    dedupeTtlSeconds: cfg.dedupeTtlSeconds,
    markerTtlSeconds: cfg.markerTtlSeconds,
  });
  const recordRejections = async (entries: Array<[string, string]>) => {
    await redis.multi().hset(keys.rejected(), ...entries.flat()).expire(keys.rejected(), cfg.retentionSeconds).exec();
  };
  const blobs = {
    get: (key: string) => redis.get(key),
    done: async (batchId: string) => (await redis.exists(keys.blobDone(batchId))) === 1,
    // the marker first: a retry that finds the blob gone must know the batch was applied
    finish: async (batchId: string, key: string) => {
      await redis.set(keys.blobDone(batchId), '1', 'EX', cfg.markerTtlSeconds);
      await redis.unlink(key);
    },
  };
  const apply = ingestProcessor({ store, deadLetter: redisDeadLetter(redis, keys.deadLetters(), cfg.retentionSeconds), recordRejections, blobs, metrics });
  let inFlight = 0;
  const counted: typeof apply = async (job) => {
    inFlight++;
    try {
      return await apply(job);
    } finally {
      inFlight--;
    }
  };
  const worker = new Worker(QUEUE.ingest, counted, {
    connection: connect(redisUrl, 'worker'),
    prefix: bullPrefix(cfg.keyPrefix),
    concurrency: cfg.worker.concurrency,
    lockDuration: cfg.worker.lockDurationMs,
    stalledInterval: cfg.worker.stalledIntervalMs,
    // a job whose worker dies is retried, not failed: applying twice counts nothing
    maxStalledCount: 20,
    // recorded on every job it takes (job.processedBy): which process holds or held a job
    name: `${hostname()}:${process.pid}`,
  });
  worker.on('failed', (job, err) => log.warn({ jobId: job?.id, err: err.message, attempts: job?.attemptsMade }, 'ingest job failed'));
  worker.on('error', (err) => log.error({ err: err.message }, 'worker error'));
  await worker.waitUntilReady();
  const traceWorker = opts.traces ? await startTraceWorker(cfg, redisUrl, opts.traces, log.child({ component: 'traces' }), metrics) : undefined;
  if (opts.closes === false) {
    return {
      ingest: worker,
      close: once(() =>
        closeAll(log, [
          ['worker', () => closeWorker(worker, () => inFlight === 0, log)],
          ['trace-worker', () => traceWorker?.close()],
          ['redis', () => redis.quit().catch(() => redis.disconnect())],
        ]),
      ),
    };
  }

  // Window close: a scheduler ticks the "close" queue; every worker upserts the same scheduler.
  const insights = createInsights(redis, cfg, { outbox: true });
  // webhook delivery: the deliver worker, and one delivery per (insight event, matching subscription)
  const delivery = await startDelivery(cfg, redisUrl, redis, log.child({ component: 'webhooks' }), metrics);
  const closer = new Worker(QUEUE.close, closeProcessor({ closer: insights.closer, lock: new CloseLock(redis, keys.closeLock()), idleSeconds: cfg.close.idleSeconds, onEvents: async (events) => {
    for (const e of events) log.info({ type: e.type, insightId: e.insight.id, summary: e.insight.summary }, 'insight event');
    await delivery.dispatcher.enqueueEvents(withConsoleLinks(events, cfg.publicUrl));
  } }), {
    connection: connect(redisUrl, 'worker'),
    prefix: bullPrefix(cfg.keyPrefix),
    concurrency: 1,
    name: `${hostname()}:${process.pid}`,
  });
  closer.on('failed', (job, err) => log.warn({ jobId: job?.id, err: err.message }, 'close tick failed'));
  closer.on('completed', (_job, r: { stopped?: string; closed: unknown[] }) => {
    if (r.stopped) log.warn({ stopped: r.stopped, closed: r.closed.length }, 'close tick stopped short: another worker went on closing');
  });
  closer.on('error', (err) => log.error({ err: err.message }, 'close worker error'));
  const ticks = closeQueue(redis, cfg.keyPrefix);
  await ticks.upsertJobScheduler('close-tick', { every: cfg.close.tickSeconds * 1000 }, { name: 'tick' satisfies JobName<typeof QUEUE.close>, opts: { removeOnComplete: { count: 10 }, removeOnFail: { count: 100 } } });
  log.info({ concurrency: cfg.worker.concurrency }, 'worker running');
  return {
    ingest: worker,
    close: once(() =>
      closeAll(log, [
        ['worker', () => closeWorker(worker, () => inFlight === 0, log)],
        ['closer', () => closer.close()],
        ['close-queue', () => ticks.close()],
        ['delivery', () => delivery.close()],
        ['trace-worker', () => traceWorker?.close()],
        ['redis', () => redis.quit().catch(() => redis.disconnect())],
      ]),
    ),
  };
}
