import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { killAll, spawnServer } from '../helpers/processes.js';
import { uniquePrefix } from '../helpers/redis.js';
import { SHOP, traffic } from '../../src/sim/traffic.js';
import { freePort } from '../../src/util/net.js';

/**
 * A configured Redis that nobody answers at: the batch command says so at once, the services wait a
 * bounded time with a warning now and then, and come up if Redis does.
 */

const bin = fileURLToPath(new URL('../../bin/trace-insights.js', import.meta.url));
const root = fileURLToPath(new URL('../../', import.meta.url));
const dir = mkdtempSync(path.join(tmpdir(), 'ti-unreachable-'));
const hasRedisServer = spawnSync('sh', ['-c', 'command -v redis-server']).status === 0;
/** redis-servers and CLI runs this file started, killed whatever happens. */
const children = new Set<ChildProcess>();
const cliRuns = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of children) c.kill('SIGKILL');
  for (const c of cliRuns) killGroup(c);
});

interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** SIGKILLs a CLI run and whatever it started (replay's worker processes): it leads its own process group. */
function killGroup(child: ChildProcess): void {
  try {
    process.kill(-child.pid!, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** Runs the real CLI to its end (SIGKILLed after killAfterMs, which then shows as code null). */
function runCli(args: string[], env: Record<string, string>, killAfterMs: number): Promise<Finished> {
  // no trace store: it would make database trace_insights on the machine's PostgreSQL
  const full: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'warn', TRACES_ENABLED: 'false', ...env };
  // vitest's own variables would make the child think it is a test worker
  for (const k of Object.keys(full)) if (k.startsWith('VITEST')) delete full[k];
  const started = Date.now();
  const child = spawn(process.execPath, [bin, ...args], { cwd: root, env: full, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  cliRuns.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (b: Buffer) => (stdout += b.toString('utf8')));
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString('utf8')));
  const timer = setTimeout(() => killGroup(child), killAfterMs);
  return new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      const ms = Date.now() - started;
      clearTimeout(timer);
      // the rest of its output; a process it left behind may hold the pipes open, so not for ever
      const done = () => {
        killGroup(child);
        cliRuns.delete(child);
        resolve({ code, signal, stdout, stderr, ms });
      };
      const grace = setTimeout(done, 2_000);
      child.once('close', () => {
        clearTimeout(grace);
        done();
      });
    });
  });
}

const lines = (text: string) => text.split('\n').filter((l) => l.trim() !== '');

/** pino records on stdout whose message says the service is waiting for Redis at url. */
const waitingWarnings = (stdout: string, url: string) =>
  lines(stdout)
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as { level?: number; msg?: string }];
      } catch {
        return [];
      }
    })
    .filter((r) => r.level === 40 && r.msg?.startsWith(`waiting for Redis at ${url}:`));

function startRedis(port: number): ChildProcess {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

describe('a configured Redis that does not answer', () => {
  afterAll(async () => {
    await killAll();
    for (const c of children) c.kill('SIGKILL');
    for (const c of cliRuns) killGroup(c);
    rmSync(dir, { recursive: true, force: true });
  });

  it('replay exits 1 at once with one line naming the URL and REDIS_URL', async () => {
    const url = `redis://127.0.0.1:${await freePort()}`;
    const gen = traffic({ seed: 7, services: SHOP, entry: 'api-gateway', startTime: 1_790_000_000, rate: 5 });
    const docs = Array.from({ length: 20 }, () => gen.next().value!.docs).flat();
    const input = path.join(dir, 'in.ndjson');
    writeFileSync(input, docs.map((d) => JSON.stringify(d)).join('\n') + '\n');

    const r = await runCli(['replay', input], { REDIS_URL: url, KEY_PREFIX: uniquePrefix('unreachable-replay') }, 30_000);

    expect(r.code, r.stderr).toBe(1);
    expect(r.ms).toBeLessThan(10_000);
    const err = lines(r.stderr);
    expect(err, r.stderr).toHaveLength(1);
    expect(err[0]).toContain(url);
    expect(err[0]).toContain('REDIS_URL');
    expect(err[0]).toContain('ECONNREFUSED');
    expect(r.stdout + r.stderr).not.toContain('Unhandled error event');
    expect(r.stdout).toBe('');
  });

  it('start waits REDIS_CONNECT_TIMEOUT_SECONDS, warning, then exits 1 with one clear last line', async () => {
    const url = `redis://127.0.0.1:${await freePort()}`;
    const env = { REDIS_URL: url, REDIS_CONNECT_TIMEOUT_SECONDS: '3', KEY_PREFIX: uniquePrefix('unreachable-start'), PORT: '0', UDP_PORT: '0', HOST: '127.0.0.1' };

    const r = await runCli(['start'], env, 30_000);

    const all = r.stdout + r.stderr;
    expect(r.code, all).toBe(1);
    expect(r.ms).toBeLessThan(15_000);
    // it did wait the configured time rather than give up at the first refusal
    expect(r.ms).toBeGreaterThanOrEqual(3_000);
    const err = lines(r.stderr);
    expect(err, r.stderr).toHaveLength(1);
    const last = err.at(-1)!;
    expect(last).toContain(`cannot reach Redis at ${url}`);
    expect(last).toContain('REDIS_URL');
    expect(last).toContain('after 3 s');
    expect(all).not.toContain('Unhandled error event');
    expect(all).not.toMatch(/^\s+at /m);
    // one warning per interval, not one per ioredis retry
    const warnings = waitingWarnings(r.stdout, url);
    expect(warnings.length, r.stdout).toBeGreaterThanOrEqual(1);
    expect(warnings.length, r.stdout).toBeLessThanOrEqual(2);
  });

  it('refuses a bad REDIS_CONNECT_TIMEOUT_SECONDS in one line naming the key', async () => {
    const r = await runCli(['start'], { REDIS_URL: 'redis://127.0.0.1:1', REDIS_CONNECT_TIMEOUT_SECONDS: 'soon', KEY_PREFIX: uniquePrefix('unreachable-config') }, 30_000);
    expect(r.code, r.stderr).toBe(2);
    const err = lines(r.stderr);
    expect(err, r.stderr).toHaveLength(1);
    expect(err[0]).toContain('redisConnectTimeoutSeconds');
    expect(err[0]).toContain('REDIS_CONNECT_TIMEOUT_SECONDS');
  });

  it.skipIf(!hasRedisServer)('start comes up when Redis appears while it waits, and shuts down cleanly', async () => {
    const port = await freePort();
    const url = `redis://127.0.0.1:${port}`;
    let waiting!: () => void;
    const warned = new Promise<void>((r) => (waiting = r));
    const starting = spawnServer({
      keyPrefix: uniquePrefix('unreachable-late'),
      env: { REDIS_URL: url, REDIS_CONNECT_TIMEOUT_SECONDS: '60' },
      timeoutMs: 60_000,
      // Redis appears only once the process says it waits for it (however long a busy machine takes to start it)
      onOutput: (text) => text.includes('waiting for Redis') && waiting(),
    });
    await warned;
    const redis = startRedis(port);
    const server = await starting;

    const ready = await fetch(`${server.baseUrl}/readyz`, { signal: AbortSignal.timeout(10_000) });
    expect(ready.status).toBe(200);
    expect(waitingWarnings(server.output(), url).length, server.output()).toBeGreaterThanOrEqual(1);
    expect(server.output()).not.toContain('Unhandled error event');

    // the signal handlers are installed once both halves have started
    for (let i = 0; i < 300 && !server.output().includes('"worker running"'); i++) await new Promise((r) => setTimeout(r, 100));
    expect(server.output()).toContain('"worker running"');
    await server.kill('SIGTERM');
    expect((await server.exited).code, server.output()).toBe(0);
    redis.kill('SIGTERM');
    await new Promise((r) => (redis.exitCode !== null || redis.signalCode !== null ? r(undefined) : redis.once('exit', r)));
  });
});
