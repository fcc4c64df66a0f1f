import { Queue } from 'bullmq';
import { pino } from 'pino';
import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { createMetrics, type Metrics } from '../../src/obs/metrics.js';
import { startServer, startWorker, type ServerHalf, type Running } from '../../src/runtime.js';
import { QUEUE, bullPrefix } from '../../src/queue/queues.js';
import { redisUrl, uniquePrefix, bullConnection } from './redis.js';
import type { TraceApiOptions } from '../../src/api/xray-traces.js';

export interface Stack {
  cfg: Config;
  server: ServerHalf;
  worker?: Running;
  baseUrl: string;
  /** Waits until the ingest queue has nothing waiting, delayed or active. */
  drain(timeoutMs?: number): Promise<void>;
  /** Waits until the ingest queue, then the trace-store queue, are drained (documents written to the store). */
  drainTraces(timeoutMs?: number): Promise<void>;
  metrics: Metrics;
  close(): Promise<void>;
}

/** Server and (optionally) worker in this process, on free ports, in a fresh key prefix. */
export async function startStack(overrides: Record<string, unknown> = {}, opts: { worker?: boolean; traces?: TraceApiOptions } = {}): Promise<Stack> {
  const cfg = loadConfig({ overrides: { keyPrefix: uniquePrefix(), port: 0, udpPort: 0, host: '127.0.0.1', logLevel: 'silent', ...overrides } });
  const log = pino({ level: cfg.logLevel });
  const metrics = createMetrics();
  const server = await startServer(cfg, redisUrl, log, metrics, { traces: opts.traces });
  const worker = opts.worker === false ? undefined : await startWorker(cfg, redisUrl, log, metrics, { traces: opts.traces ? { store: opts.traces.store } : undefined });
  const queue = new Queue(QUEUE.ingest, { connection: bullConnection(), prefix: bullPrefix(cfg.keyPrefix) });
  const traceQueue = new Queue(QUEUE.traces, { connection: bullConnection(), prefix: bullPrefix(cfg.keyPrefix) });
  return {
    metrics,
    cfg,
    server,
    worker,
    baseUrl: `http://127.0.0.1:${server.httpPort}`,
    drain: (timeoutMs = 60_000) => drainQueue(queue, server, timeoutMs),
    drainTraces: async (timeoutMs = 60_000) => {
      await drainQueue(queue, server, timeoutMs);
      await server.traceFeed?.flush();
      await drainQueue(traceQueue, undefined, timeoutMs);
    },
    close: async () => {
      await server.close();
      await worker?.close();
      await queue.close();
      await traceQueue.close();
    },
  };
}

export async function drainQueue(queue: Queue, server: ServerHalf | undefined, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  await server?.batcher.flush();
  for (;;) {
    const c = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'waiting-children');
    const busy = Object.values(c).reduce((a, b) => a + b, 0);
    if (busy === 0 && (server?.batcher.size ?? 0) === 0) return;
    if (Date.now() > deadline) throw new Error(`queue not drained: ${JSON.stringify(c)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
