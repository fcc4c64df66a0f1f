import { spawn, type ChildProcess } from 'node:child_process';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Queue } from 'bullmq';
import { redisEnv } from './redis.js';

/**
 * Real `trace-insights` processes for tests: workers (any number, killable with any signal) and whole
 * servers on free ports. Every process started here is SIGKILLed by killAll() and, whatever happens,
 * when the test process exits.
 */

const bin = fileURLToPath(new URL('../../bin/trace-insights.js', import.meta.url));
const root = fileURLToPath(new URL('../../', import.meta.url));

export type Role = 'start' | 'server' | 'worker';

export interface TiProcess {
  readonly role: Role;
  readonly pid: number;
  /** The BullMQ worker name it runs under (src/runtime.ts): what `job.processedBy` says. */
  readonly name: string;
  readonly child: ChildProcess;
  /** Settles when the process has exited, however. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Still running? */
  alive(): boolean;
  /** What it wrote to stdout and stderr (the last 64 kB), for failure messages. */
  output(): string;
  /** Sends a signal (default SIGKILL) and waits for the exit; no-op if it is gone. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export type WorkerProcess = TiProcess;

export interface ServerProcess extends TiProcess {
  httpPort: number;
  udpPort: number;
  baseUrl: string;
}

export interface SpawnOptions {
  keyPrefix: string;
  windowSeconds?: number;
  concurrency?: number;
  /** Any other environment (envMap names in src/config/schema.ts), e.g. WORKER_LOCK_DURATION_MS. */
  env?: Record<string, string>;
  /** Told of everything it writes, as it writes it (e.g. to wait for a log line before going on). */
  onOutput?: (chunk: string) => void;
}

const live = new Set<TiProcess>();

// Whatever happens to the test run, no process outlives it.
process.once('exit', () => {
  for (const p of live) p.child.kill('SIGKILL');
});

function spawnRole(role: Role, opts: SpawnOptions, extraEnv: Record<string, string>): TiProcess {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...redisEnv(),
    KEY_PREFIX: opts.keyPrefix,
    LOG_LEVEL: 'warn',
    // no trace store unless a test gives one (DATABASE_URL + TRACES_ENABLED): a process would otherwise
    // make database trace_insights on the machine's PostgreSQL, which tests must not touch
    TRACES_ENABLED: 'false',
    ...(opts.windowSeconds !== undefined ? { WINDOW_SECONDS: String(opts.windowSeconds) } : {}),
    ...(opts.concurrency !== undefined ? { WORKER_CONCURRENCY: String(opts.concurrency) } : {}),
    ...extraEnv,
    ...opts.env,
  };
  // vitest's own variables would make the child think it is a test worker
  for (const k of Object.keys(env)) if (k.startsWith('VITEST')) delete env[k];
  const child = spawn(process.execPath, [bin, role], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.pid === undefined) throw new Error(`could not spawn trace-insights ${role}`);
  let out = '';
  const keep = (b: Buffer) => {
    const text = b.toString('utf8');
    out = (out + text).slice(-65536);
    opts.onOutput?.(text);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  const alive = () => child.exitCode === null && child.signalCode === null;
  const p: TiProcess = {
    role,
    pid: child.pid,
    name: `${hostname()}:${child.pid}`,
    child,
    exited,
    alive,
    output: () => out,
    kill: async (signal = 'SIGKILL') => {
      if (alive()) child.kill(signal);
      await exited;
    },
  };
  live.add(p);
  void exited.then(() => live.delete(p));
  return p;
}

/** Starts `node bin/trace-insights.js worker` on the test Redis; see waitForWorkers for readiness. */
export function spawnWorker(opts: SpawnOptions): WorkerProcess {
  return spawnRole('worker', opts, {});
}

/**
 * Starts `trace-insights start` (HTTP + UDP + worker) or `server` on free ports and resolves once it
 * listens, with the ports it logged.
 */
export async function spawnServer(opts: SpawnOptions & { role?: 'start' | 'server'; timeoutMs?: number }): Promise<ServerProcess> {
  // info level: the "listening" line carries the ports
  const p = spawnRole(opts.role ?? 'start', opts, { PORT: '0', UDP_PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info' });
  const ports = await new Promise<{ httpPort: number; udpPort: number }>((resolve, reject) => {
    let buf = '';
    const onData = (b: Buffer) => {
      buf += b.toString('utf8');
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        try {
          const rec = JSON.parse(line) as { msg?: string; httpPort?: number; udpPort?: number };
          if (rec.msg === 'listening' && rec.httpPort && rec.udpPort) return done(undefined, { httpPort: rec.httpPort, udpPort: rec.udpPort });
        } catch {
          // not a log record
        }
      }
    };
    const timer = setTimeout(() => done(new Error(`trace-insights ${p.role} did not listen in time:\n${p.output()}`)), opts.timeoutMs ?? 30_000);
    const onExit = () => done(new Error(`trace-insights ${p.role} exited before it listened:\n${p.output()}`));
    const done = (err?: Error, v?: { httpPort: number; udpPort: number }) => {
      clearTimeout(timer);
      p.child.stdout!.off('data', onData);
      p.child.off('exit', onExit);
      if (err) reject(err);
      else resolve(v!);
    };
    p.child.stdout!.on('data', onData);
    p.child.once('exit', onExit);
  }).catch(async (err) => {
    await p.kill();
    throw err;
  });
  return Object.assign(p, ports, { baseUrl: `http://127.0.0.1:${ports.httpPort}` });
}

/** SIGKILLs every process started here that is still running, and waits for them to be gone. */
export async function killAll(): Promise<void> {
  await Promise.all([...live].map((p) => p.kill('SIGKILL')));
}

/**
 * Waits until each of these workers is connected to the queue (BullMQ names the connection after the
 * worker name), failing early with the process's output if one exits first.
 */
export async function waitForWorkers(queue: Queue, workers: readonly TiProcess[], timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const dead = workers.find((w) => !w.alive());
    if (dead) throw new Error(`worker ${dead.pid} exited before it was ready:\n${dead.output()}`);
    // getWorkers() shortens `name`; `rawname` is the full CLIENT SETNAME value
    const names = (await queue.getWorkers()).map((c) => c.rawname ?? c.name ?? '');
    if (workers.every((w) => names.some((n) => n.endsWith(`:w:${w.name}`)))) return;
    if (Date.now() > deadline) throw new Error(`workers not ready after ${timeoutMs} ms:\n${workers.map((w) => `${w.pid}: ${w.output()}`).join('\n')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
