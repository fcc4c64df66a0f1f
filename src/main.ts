import { createLogger } from './obs/log.js';
import { createMetrics } from './obs/metrics.js';
import { loadConfig } from './config/load.js';
import { resolveRedisForCli } from './redis/resolve.js';
import { startServer, startWorker, type Running } from './runtime.js';
import { AppError } from './util/errors.js';
import { openTraceStore, type OpenTraceStore } from './traces/runtime.js';
import { configuredTarget } from './redis/target.js';

export type Role = 'all' | 'server' | 'worker';

/**
 * The composition root for long-running processes: reads the environment, finds Redis, starts the
 * requested halves, and shuts down gracefully on SIGTERM/SIGINT (stop accepting, flush open batches,
 * finish active jobs).
 */
export async function run(role: Role, opts: { config?: string; closes?: boolean }): Promise<void> {
  // Started by another process over IPC (replay's workers): go when it goes, however it went, and
  // also when it went before this process got as far as listening for that.
  let onParentGone: () => void = () => process.exit(0);
  if (process.send) {
    if (!process.connected) process.exit(0);
    process.on('disconnect', () => onParentGone());
  }
  let cfg;
  try {
    cfg = loadConfig({ file: opts.config, env: process.env });
  } catch (err) {
    console.error(err instanceof AppError ? err.message : String(err));
    process.exit(2);
  }
  const log = createLogger(cfg.logLevel);
  const redis = await resolveRedisForCli(configuredTarget(cfg));
  if (!redis) process.exit(2);
  log.info({ redis: redis.url.replace(/\/\/[^@]*@/, '//***@'), source: redis.source, role, keyPrefix: cfg.keyPrefix }, 'starting');
  const metrics = createMetrics();
  // The trace store: live processes only (replay's workers, started with closes=false, keep none).
  let traces: OpenTraceStore | undefined;
  let tracesOff: string | undefined;
  if (opts.closes !== false) {
    const opened = await openTraceStore(cfg, log.child({ component: 'traces' }), process.env);
    if ('reason' in opened) {
      tracesOff = opened.reason;
      log.warn({ traces: 'off' }, `running without the trace store: ${opened.reason}`);
    } else traces = opened;
  }
  const parts: Running[] = [];
  if (role !== 'worker') parts.push(await startServer(cfg, redis.url, log, metrics, traces ? { traces: { store: traces.store, notReady: traces.notReady } } : { tracesOff }));
  if (role !== 'server') parts.push(await startWorker(cfg, redis.url, log, metrics, { closes: opts.closes, traces }));
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    for (const p of parts) await p.close();
    await traces?.close();
    await redis.stop();
    log.info('stopped');
    process.exit(0);
  };
  onParentGone = () => void stop('parent exited');
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}
