import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { simulate } from '../../src/sim/simulate.js';
import { writeSimulation } from '../../src/sim/write.js';
import { testRedis, uniquePrefix } from '../helpers/redis.js';

/**
 * Stopping a replay half-way: SIGTERM (or Ctrl-C) ends it with 130 after stopping its worker
 * processes and dropping its namespace; SIGKILL cannot clean up, but its workers still go with it.
 */
const bin = fileURLToPath(new URL('../../bin/trace-insights.js', import.meta.url));
const root = fileURLToPath(new URL('../../', import.meta.url));
const dir = mkdtempSync(path.join(tmpdir(), 'ti-interrupt-'));

/** Running, not a zombie waiting for a parent that does not reap it (as PID 1 in a container may not). */
const alive = (pid: number) => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
};
const childrenOf = (pid: number): number[] => {
  try {
    return execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
};
const until = async (what: string, ok: () => boolean | Promise<boolean>, ms: number) => {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
};

describe('replay, interrupted', () => {
  let file = '';
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const start = async (prefix: string) => {
    if (!file) {
      file = path.join(dir, 'shop.ndjson.gz');
      // long enough that it is still running when the signal comes
      await writeSimulation(simulate('shop', { hours: 0.25, rate: 100 }), { out: file });
    }
    const env: NodeJS.ProcessEnv = { ...process.env, KEY_PREFIX: prefix, LOG_LEVEL: 'warn' };
    for (const k of Object.keys(env)) if (k.startsWith('VITEST')) delete env[k];
    const child = spawn(process.execPath, [bin, 'replay', '--workers', '2', '--out', path.join(dir, `${prefix}.ndjson`), file], { cwd: root, env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (b: Buffer) => (stderr += b.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    await until('two worker processes', () => childrenOf(child.pid!).length >= 2, 30_000);
    const workers = childrenOf(child.pid!);
    const redis = testRedis();
    // wait until it is really under way: its namespace has keys
    await until('keys in the namespace', async () => (await redis.scan('0', 'MATCH', `{${prefix}-replay-*`, 'COUNT', 1000))[1].length > 0, 30_000);
    redis.disconnect();
    return { child, workers, exited, stderr: () => stderr };
  };

  const keysOf = async (prefix: string) => {
    const redis = testRedis();
    const found: string[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `{${prefix}-replay-*`, 'COUNT', 2000);
      cursor = next;
      found.push(...keys);
    } while (cursor !== '0');
    if (found.length) await redis.unlink(...found);
    redis.disconnect();
    return found.length;
  };

  it('SIGTERM: exits 130, its workers stop, its namespace is dropped', async () => {
    const prefix = uniquePrefix('int');
    const r = await start(prefix);
    r.child.kill('SIGTERM');
    expect(await r.exited).toBe(130);
    expect(r.stderr()).toMatch(/SIGTERM, stopping/);
    await until('workers gone', () => r.workers.every((p) => !alive(p)), 15_000);
    expect(await keysOf(prefix)).toBe(0);
  }, 120_000);

  it('SIGKILL: its workers stop on their own', async () => {
    const prefix = uniquePrefix('int');
    const r = await start(prefix);
    r.child.kill('SIGKILL');
    await r.exited;
    await until('workers gone', () => r.workers.every((p) => !alive(p)), 15_000);
    // nothing could clean up after SIGKILL: this test removes what it left
    await keysOf(prefix);
  }, 120_000);
});
