import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from '../../src/util/net.js';

/**
 * A redis-server of a test's own, on a free port with its own data directory, configured as
 * docker-compose.yml configures production (append-only file, noeviction): the test may SIGKILL it
 * and start it again from its AOF, or fill it to maxmemory. The shared test Redis is never touched.
 */
export interface PrivateRedis {
  readonly port: number;
  readonly url: string;
  readonly dir: string;
  /** Still running? */
  alive(): boolean;
  /** SIGKILL (no shutdown, no final fsync) and wait for the exit. */
  kill(): Promise<void>;
  /** Starts redis-server again on the same port and directory (it loads its AOF) and waits until it serves. */
  restart(): Promise<void>;
  /** Kills it (if running) and deletes its directory. */
  destroy(): Promise<void>;
}

export interface PrivateRedisOptions {
  /** e.g. '64mb'; none: no limit */
  maxmemory?: string;
  /** @defaultValue 'everysec' */
  appendfsync?: 'always' | 'everysec' | 'no';
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until the server answers PING (not LOADING: ioredis' ready check waits for the AOF load). */
async function waitServing(url: string, child: ChildProcess, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}`);
    const r = new Redis(url, { lazyConnect: true, connectTimeout: 500, maxRetriesPerRequest: 0, retryStrategy: () => null });
    r.on('error', () => undefined);
    try {
      await r.connect();
      if ((await r.ping()) === 'PONG') return;
    } catch {
      // not up yet, or still loading its AOF
    } finally {
      r.disconnect();
    }
    await sleep(50);
  }
  throw new Error(`redis-server at ${url} did not serve within ${timeoutMs} ms`);
}

export async function startPrivateRedis(opts: PrivateRedisOptions = {}): Promise<PrivateRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'ti-redis-'));
  const url = `redis://127.0.0.1:${port}`;
  const args = [
    '--port', String(port),
    '--bind', '127.0.0.1',
    '--dir', dir,
    '--appendonly', 'yes',
    '--appendfsync', opts.appendfsync ?? 'everysec',
    '--save', '',
    '--maxmemory-policy', 'noeviction',
    '--hash-max-listpack-entries', '512',
    ...(opts.maxmemory ? ['--maxmemory', opts.maxmemory] : []),
  ];
  let child: ChildProcess;
  const launch = async () => {
    child = spawn('redis-server', args, { stdio: 'ignore' });
    await waitServing(url, child);
  };
  const alive = () => child.exitCode === null && child.signalCode === null;
  const kill = async () => {
    if (!alive()) return;
    const gone = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await gone;
  };
  await launch();
  // whatever happens to the test run, this server does not outlive it
  const onExit = () => child.kill('SIGKILL');
  process.once('exit', onExit);
  return {
    port,
    url,
    dir,
    alive,
    kill,
    restart: launch,
    destroy: async () => {
      await kill();
      process.off('exit', onExit);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
