import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { Redis } from 'ioredis';
import { AppError } from '../util/errors.js';
import { freePort } from '../util/net.js';
import { probeRedis, unreachableMessage } from './wait.js';
import { clusterNodesOf, type RedisSource } from './target.js';

export interface ResolvedRedis {
  url: string;
  /** How it was found, for the start-up log line. */
  source: RedisSource;
  /** Stops a private redis-server we started (no-op otherwise). */
  stop: () => Promise<void>;
}

async function reachable(url: string, timeoutMs = 1000): Promise<boolean> {
  const r = new Redis(url, { lazyConnect: true, connectTimeout: timeoutMs, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  r.on('error', () => undefined);
  try {
    await r.connect();
    return (await r.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    r.disconnect();
  }
}

/**
 * Finds Redis the way DEVELOPERS.md promises: REDIS_URL (or the config file's redisUrl) when set, else
 * 127.0.0.1:6379, else a private redis-server (data kept under dataDir), else one clear error.
 */
export async function resolveRedis(opts: { configured: string | null; fromEnv: boolean; dataDir: string }): Promise<ResolvedRedis> {
  const none = async () => undefined;
  if (opts.configured && clusterNodesOf(opts.configured)) return { url: opts.configured, source: 'REDIS_CLUSTER_NODES', stop: none };
  if (opts.configured) return { url: opts.configured, source: opts.fromEnv ? 'REDIS_URL' : 'config', stop: none };
  const local = 'redis://127.0.0.1:6379';
  if (await reachable(local)) return { url: local, source: 'local', stop: none };
  const which = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
  const bin = which.stdout.trim();
  if (!bin) {
    throw new AppError(
      'redis_missing',
      'trace-insights: no Redis at 127.0.0.1:6379 and no redis-server installed — set REDIS_URL=redis://host:port, install Redis (apt-get install redis-server, brew install redis), or run `docker compose up`.',
    );
  }
  mkdirSync(opts.dataDir, { recursive: true });
  const port = await freePort();
  const child: ChildProcess = spawn(
    bin,
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', opts.dataDir, '--appendonly', 'yes', '--save', '', '--maxmemory-policy', 'noeviction', '--hash-max-listpack-entries', '512'],
    { stdio: 'ignore' },
  );
  const url = `redis://127.0.0.1:${port}`;
  for (let i = 0; i < 50 && !(await reachable(url, 200)); i++) await new Promise((r) => setTimeout(r, 100));
  if (!(await reachable(url))) {
    child.kill('SIGKILL');
    throw new AppError('redis_missing', `trace-insights: started ${bin} on port ${port} but it did not answer; set REDIS_URL instead.`);
  }
  return {
    url,
    source: 'private',
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/**
 * Where a configured Redis URL came from: REDIS_URL when that is set (it overrides the config file; blank
 * counts as unset, as in loadConfig), else the config file.
 */
export function configuredRedisSource(env: Record<string, string | undefined>): 'REDIS_URL' | 'config' {
  return env.REDIS_URL?.trim() ? 'REDIS_URL' : 'config';
}

/**
 * resolveRedis for a command-line entry point: the configured Redis (REDIS_URL counts as configured),
 * or null after printing the one line that says what to do.
 */
export async function resolveRedisForCli(redisUrl: string | null): Promise<ResolvedRedis | null> {
  try {
    return await resolveRedis({ configured: redisUrl, fromEnv: configuredRedisSource(process.env) === 'REDIS_URL', dataDir: '.data/redis' });
  } catch (err) {
    console.error(err instanceof AppError ? err.message : String(err));
    return null;
  }
}

/** A batch command does not wait for Redis to come up: it says so and stops. */
const BATCH_PROBE_TIMEOUT_MS = 5000;

/**
 * The Redis a batch command (replay, eval) runs on, or the exit code it ends with: 2 when none can be
 * had, 1 when the one found does not answer within 5 s (each said in one line on stderr).
 */
export async function resolveRedisForBatch(redisUrl: string | null): Promise<ResolvedRedis | number> {
  const redis = await resolveRedisForCli(redisUrl);
  if (!redis) return 2;
  const unreachable = await probeRedis(redis.url, BATCH_PROBE_TIMEOUT_MS);
  if (unreachable === null) return redis;
  console.error(unreachableMessage({ url: redis.url, source: redis.source, reason: unreachable }));
  await redis.stop();
  return 1;
}
