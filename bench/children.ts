import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

/** A node child process of the benchmark, with the /proc readings the report needs. */
export interface Child {
  readonly label: string;
  readonly pid: number;
  readonly process: ChildProcess;
  /** Settles when the process has exited, however. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  alive(): boolean;
  /** The last 64 kB it wrote to stdout/stderr. */
  output(): string;
  /** VmHWM: the largest resident set it has had, bytes (undefined once it is gone). */
  peakRss(): number | undefined;
  /** user + system CPU it has used, seconds (undefined once it is gone). */
  cpuSeconds(): number | undefined;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when it has exited. */
  stop(graceMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const live = new Set<Child>();
// Whatever happens to the benchmark, no child outlives it.
process.once('exit', () => {
  for (const c of live) c.process.kill('SIGKILL');
});

let clockTicks: number | undefined;
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
    clockTicks = Number(r.stdout?.trim()) || 100;
  }
  return clockTicks;
}

/** Peak resident set (VmHWM) of a process, bytes. */
export function peakRssOf(pid: number): number | undefined {
  try {
    const m = /VmHWM:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** CPU time (user + system) a process has used, seconds. */
export function cpuSecondsOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the command name may hold spaces and parentheses: fields are counted after the last ')'
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / ticksPerSecond();
  } catch {
    return undefined;
  }
}

/** Busy and total jiffies of the whole machine, to see how much CPU others took meanwhile. */
export function machineCpu(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  const total = v.reduce((a, b) => a + b, 0);
  return { busy: (total - idle) / ticksPerSecond(), total: total / ticksPerSecond() };
}

export { freePort } from '../src/util/net.js';

/** Starts `node <nodeArgs> <args>` with this environment (layered over ours); IPC when asked. */
export function spawnNode(label: string, nodeArgs: readonly string[], args: readonly string[], env: Record<string, string>, opts: { ipc?: boolean; cwd: string }): Child {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  // npm's own variables are harmless, but a profiler flag meant for us must not leak into children
  delete childEnv.NODE_OPTIONS;
  const proc = spawn(process.execPath, [...nodeArgs, ...args], {
    cwd: opts.cwd,
    env: childEnv,
    stdio: opts.ipc ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
  });
  if (proc.pid === undefined) throw new Error(`could not spawn ${label}`);
  const pid = proc.pid;
  let out = '';
  const keep = (b: Buffer) => {
    out = (out + b.toString('utf8')).slice(-65536);
  };
  proc.stdout!.on('data', keep);
  proc.stderr!.on('data', keep);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.once('exit', (code, signal) => resolve({ code, signal }));
  });
  const alive = () => proc.exitCode === null && proc.signalCode === null;
  const child: Child = {
    label,
    pid,
    process: proc,
    exited,
    alive,
    output: () => out,
    peakRss: () => (alive() ? peakRssOf(pid) : undefined),
    cpuSeconds: () => (alive() ? cpuSecondsOf(pid) : undefined),
    stop: async (graceMs = 15_000) => {
      if (alive()) proc.kill('SIGTERM');
      const timer = setTimeout(() => alive() && proc.kill('SIGKILL'), graceMs);
      const r = await exited;
      clearTimeout(timer);
      return r;
    },
  };
  live.add(child);
  void exited.then(() => live.delete(child));
  return child;
}

/** Throws with the child's output if it has exited. */
export function assertAlive(...children: Child[]): void {
  for (const c of children) {
    if (!c.alive()) throw new Error(`${c.label} (pid ${c.pid}) exited (code ${c.process.exitCode}, signal ${c.process.signalCode}):\n${c.output()}`);
  }
}

/** Polls `ready` until it says yes, failing early if a child dies or after `timeoutMs`. */
export async function waitFor(what: string, ready: () => Promise<boolean>, children: Child[], timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    assertAlive(...children);
    if (await ready().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what}: not ready after ${timeoutMs} ms\n${children.map((c) => `${c.label}: ${c.output()}`).join('\n')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** SIGKILLs every child still running. */
export async function killAll(): Promise<void> {
  await Promise.all([...live].map((c) => c.stop(0)));
}

/**
 * On a shared machine, waits (up to `maxSeconds`) for a second in which other processes use less than
 * `threshold` cores, so the figures measure this code rather than the neighbours. Returns the load seen last.
 */
export async function waitForQuiet(maxSeconds: number, threshold = 0.5): Promise<{ busyCores: number; waitedSeconds: number }> {
  const t0 = Date.now();
  for (;;) {
    const a = machineCpu();
    await new Promise((r) => setTimeout(r, 1000));
    const b = machineCpu();
    const busyCores = (b.busy - a.busy) / Math.max(1e-9, (b.total - a.total) / availableParallelism());
    const waitedSeconds = (Date.now() - t0) / 1000;
    if (busyCores < threshold || waitedSeconds >= maxSeconds) return { busyCores, waitedSeconds };
  }
}
