import { Redis } from 'ioredis';
import { AppError } from '../util/errors.js';
import { clusterNodesOf, type RedisSource } from './target.js';

/** Redis did not answer at start-up; the command line turns this into one line and exit status 1. */
export class RedisUnreachableError extends AppError {
  constructor(
    readonly url: string,
    readonly reason: string,
    /** How long start-up waited before giving up. */
    readonly waitedSeconds: number,
  ) {
    super('redis_unreachable', `cannot reach Redis at ${redactRedisUrl(url)} after ${waitedSeconds} s: ${reason}`, true);
    this.name = 'RedisUnreachableError';
  }
}

/** The URL without its credentials, for logs and messages. */
export function redactRedisUrl(url: string): string {
  return url.replace(/\/\/[^@]*@/, '//***@');
}

/**
 * What went wrong, in a few words. Node reports a connection refused on every address of a dual-stack
 * name as an AggregateError with an empty message: its parts say it.
 */
export function describeRedisError(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length) return [...new Set(err.errors.map(describeRedisError))].join(', ');
  if (err instanceof Error) return err.message || (err as NodeJS.ErrnoException).code || err.name;
  return String(err);
}

type Source = RedisSource;

const origin: Record<Source, string> = {
  REDIS_URL: 'from REDIS_URL',
  config: "from the config file's redisUrl",
  local: 'the default',
  private: 'a private redis-server',
  REDIS_CLUSTER_NODES: 'the cluster from REDIS_CLUSTER_NODES',
};

const remedy: Record<Source, string> = {
  REDIS_URL: 'start Redis there or set REDIS_URL to one that is up',
  config: 'start Redis there or set redisUrl (or REDIS_URL) to one that is up',
  local: 'start Redis there or set REDIS_URL to one that is up',
  private: 'set REDIS_URL to a Redis that is up',
  REDIS_CLUSTER_NODES: 'start the cluster or set REDIS_CLUSTER_NODES to nodes that are up',
};

/**
 * The one line a user reads when Redis cannot be reached: where, where that came from, why, and what to
 * do. `waitedSeconds` for a service that waited (it then also names the setting that bounds the wait).
 */
export function unreachableMessage(o: { url: string; source: Source; reason: string; waitedSeconds?: number }): string {
  const after = o.waitedSeconds === undefined ? '' : ` after ${o.waitedSeconds} s`;
  const longer = o.waitedSeconds === undefined ? '' : ' (or wait longer with REDIS_CONNECT_TIMEOUT_SECONDS)';
  return `trace-insights: cannot reach Redis at ${redactRedisUrl(o.url)} (${origin[o.source]})${after}: ${o.reason} — ${remedy[o.source]}${longer}`;
}

/**
 * One attempt to reach Redis, bounded by `timeoutMs` as a whole (connect, handshake and PING), on a
 * connection of its own that is closed again. Resolves null when Redis answered, else the reason.
 */
export async function probeRedis(target: string, timeoutMs: number): Promise<string | null> {
  // a cluster answers through any of its nodes: the first seed stands for it
  const seed = clusterNodesOf(target)?.[0];
  const url = seed ? `redis://${seed.host.includes(':') ? `[${seed.host}]` : seed.host}:${seed.port}` : target;
  const r = new Redis(url, { lazyConnect: true, connectTimeout: timeoutMs, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  // the error event carries the cause; connect() itself only says "Connection is closed."
  let cause: unknown;
  r.on('error', (err) => (cause = err));
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(cause === undefined ? `no answer within ${timeoutMs / 1000} s` : describeRedisError(cause)), timeoutMs);
  });
  const attempt = (async () => {
    try {
      await r.connect();
      const pong = await r.ping();
      return pong === 'PONG' ? null : `unexpected answer to PING: ${pong}`;
    } catch (err) {
      return describeRedisError(cause ?? err);
    }
  })();
  try {
    return await Promise.race([attempt, bound]);
  } finally {
    clearTimeout(timer);
    r.disconnect();
  }
}

export interface WaitReadyOptions {
  /** The URL the connections use, for the error. */
  url: string;
  /** Give up (RedisUnreachableError) when the connections are not all ready after this long. */
  timeoutMs: number;
  /** Interval between onWaiting calls. @defaultValue 5000 */
  warnEveryMs?: number;
  /** Called at the first failure (or after warnEveryMs without any word), then once per warnEveryMs while waiting. */
  onWaiting?: (w: { reason: string; waitedMs: number; timeoutMs: number }) => void;
}

/**
 * Waits until every connection is ready, letting ioredis reconnect as it does at any other time: this only
 * watches. The reason given is the last error any of them reported, whichever retry it came from.
 */
export function waitUntilReady(conns: readonly Redis[], o: WaitReadyOptions): Promise<void> {
  const allReady = () => conns.every((c) => c.status === 'ready');
  if (allReady()) return Promise.resolve();
  const every = o.warnEveryMs ?? 5000;
  const started = Date.now();
  return new Promise<void>((resolve, reject) => {
    let reason: string | undefined;
    let warnTimer: NodeJS.Timeout | undefined;
    const warn = () => {
      clearTimeout(warnTimer);
      o.onWaiting?.({ reason: reason ?? 'no answer yet', waitedMs: Date.now() - started, timeoutMs: o.timeoutMs });
      warnTimer = setTimeout(warn, every);
    };
    const giveUp = () => finish(new RedisUnreachableError(o.url, reason ?? 'no answer', Math.round((Date.now() - started) / 1000)));
    const onError = (err: unknown) => {
      const first = reason === undefined;
      reason = describeRedisError(err);
      if (first) warn();
    };
    const onReady = () => {
      if (allReady()) finish();
    };
    // a connection that stops reconnecting will never be ready
    const onEnd = giveUp;
    const deadline = setTimeout(giveUp, o.timeoutMs);
    warnTimer = setTimeout(warn, every);
    const finish = (err?: Error) => {
      clearTimeout(deadline);
      clearTimeout(warnTimer);
      for (const c of conns) c.off('error', onError).off('ready', onReady).off('end', onEnd);
      if (err) reject(err);
      else resolve();
    };
    for (const c of conns) c.on('error', onError).on('ready', onReady).on('end', onEnd);
  });
}
