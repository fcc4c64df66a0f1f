import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from '../../src/util/net.js';

/**
 * A redis-server of the soak's own: then `used_memory` and `DBSIZE` measure the product and nothing
 * else. No persistence (the soak measures memory, and an AOF rewrite would only add noise), `noeviction`
 * as production runs it, so an unbounded key shows up as growth rather than being evicted.
 */
export interface SoakRedis {
  readonly url: string;
  readonly pid: number;
  /** SIGTERM, wait for the exit, delete its directory; idempotent. */
  stop(): Promise<void>;
}

export async function startSoakRedis(): Promise<SoakRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'ti-soak-redis-'));
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction'], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const spawnFailed = new Promise<never>((_, reject) => child.once('error', (err) => reject(new Error(`cannot start redis-server (is it installed?): ${err.message}`))));
  const url = `redis://127.0.0.1:${port}`;
  const kill = () => child.kill('SIGKILL');
  process.once('exit', kill);
  const stop = async () => {
    process.off('exit', kill);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const serving = async () => {
    for (let i = 0; i < 100; i++) {
      const r = new Redis(url, { lazyConnect: true, connectTimeout: 300, maxRetriesPerRequest: 0, retryStrategy: () => null });
      r.on('error', () => undefined);
      try {
        await r.connect();
        if ((await r.ping()) === 'PONG') return;
      } catch {
        // not listening yet
      } finally {
        r.disconnect();
      }
      await new Promise((res) => setTimeout(res, 100));
    }
    throw new Error(`redis-server on port ${port} did not answer within 10 s`);
  };
  try {
    await Promise.race([serving(), spawnFailed]);
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, pid: child.pid!, stop };
}
