import type { Redis } from 'ioredis';
import { machineCpu, type Child } from './children.js';

/** CPU seconds used during an interval, per participant: who was busy while the clock ran. */
export interface CpuUse {
  wallSeconds: number;
  /** the benchmark process itself (HTTP client or BullMQ producer, Redis polling) */
  bench: number;
  /** redis-server (INFO cpu: includes work for anyone else using that Redis meanwhile) */
  redis: number;
  /** every process on the machine, and how many cores it has */
  machine: number;
  cores: number;
  children: Record<string, number>;
}

interface Snapshot {
  at: bigint;
  bench: number;
  redis: number;
  machine: number;
  children: Record<string, number | undefined>;
}

async function redisCpu(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const get = (k: string) => Number(new RegExp(`^${k}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0);
  return get('used_cpu_user') + get('used_cpu_sys');
}

/** Starts measuring now; `stop()` returns what each participant used since. */
export async function startCpuMeter(redis: Redis, children: readonly Child[], cores: number): Promise<{ stop(): Promise<CpuUse> }> {
  const snap = async (): Promise<Snapshot> => {
    const u = process.cpuUsage();
    return {
      at: process.hrtime.bigint(),
      bench: (u.user + u.system) / 1e6,
      redis: await redisCpu(redis),
      machine: machineCpu().busy,
      children: Object.fromEntries(children.map((c) => [c.label, c.cpuSeconds()])),
    };
  };
  const a = await snap();
  return {
    stop: async () => {
      const b = await snap();
      const children: Record<string, number> = {};
      for (const c of Object.keys(b.children)) children[c] = (b.children[c] ?? 0) - (a.children[c] ?? 0);
      return {
        wallSeconds: Number(b.at - a.at) / 1e9,
        bench: b.bench - a.bench,
        redis: b.redis - a.redis,
        machine: b.machine - a.machine,
        cores,
        children,
      };
    },
  };
}

/**
 * CPU cost per segment of each participant, and the two ceilings it implies: all participants sharing
 * the machine's cores, and the busiest single-threaded process on its one core.
 */
export function perSegment(u: CpuUse, segments: number): { us: Record<string, number>; totalUs: number; coresCeiling: number; busiest: string; threadCeiling: number } {
  const us: Record<string, number> = {};
  for (const [k, v] of Object.entries(u.children)) us[k] = (1e6 * v) / segments;
  us.redis = (1e6 * u.redis) / segments;
  us.bench = (1e6 * u.bench) / segments;
  const totalUs = Object.values(us).reduce((a, b) => a + b, 0);
  const [busiest, most] = Object.entries(us).sort((a, b) => b[1] - a[1])[0] ?? ['?', 0];
  return { us, totalUs, coresCeiling: (u.cores * 1e6) / totalUs, busiest, threadCeiling: most ? 1e6 / most : Infinity };
}

export function formatPerSegment(u: CpuUse, segments: number): string {
  const p = perSegment(u, segments);
  const parts = Object.entries(p.us).map(([k, v]) => `${k} ${v.toFixed(1)}`);
  return (
    `cpu per segment (µs): ${parts.join(', ')}; total ${p.totalUs.toFixed(1)} → ceiling ${Math.round(p.coresCeiling).toLocaleString('en-US')}/s on ${u.cores} cores, ` +
    `${Math.round(p.threadCeiling).toLocaleString('en-US')}/s for ${p.busiest} on one core`
  );
}

/** One line: each participant's share of one core, and what the rest of the machine did. */
export function formatCpu(u: CpuUse): string {
  const pct = (s: number) => `${((100 * s) / u.wallSeconds).toFixed(0)}%`;
  const parts = [...Object.entries(u.children).map(([k, v]) => `${k} ${pct(v)}`), `bench ${pct(u.bench)}`, `redis ${pct(u.redis)}`];
  const ours = Object.values(u.children).reduce((a, b) => a + b, 0) + u.bench + u.redis;
  const others = Math.max(0, u.machine - ours);
  return `${parts.join(', ')}; machine ${pct(u.machine)} of ${u.cores * 100}% (others ${pct(others)})`;
}
