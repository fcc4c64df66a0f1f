import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';

/** One minute's figures. */
export interface Reading {
  minute: number;
  /** resident set of the product process (VmRSS), bytes */
  rssBytes: number;
  /** Redis `used_memory`, bytes */
  usedMemory: number;
  /** keys in the soak's private Redis (DBSIZE) */
  keys: number;
}

/** VmRSS of a process in bytes, from /proc (Linux); 0 once it is gone. */
export function readRss(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

export async function readRedis(redis: Redis): Promise<{ usedMemory: number; keys: number }> {
  const [info, keys] = await Promise.all([redis.info('memory'), redis.dbsize()]);
  return { usedMemory: Number(/^used_memory:(\d+)/m.exec(info)?.[1] ?? 0), keys };
}

/**
 * The shape of a key, for counting keys by kind: the prefix, window starts, numbers and ids folded, and
 * node or edge names too, so `{soak:w1765100000}:n:AWS::ECS::Container|OrderService` and every other
 * node of every window are one kind, `{P:w#}:n:<node>`.
 */
export function keyKind(key: string): string {
  const m = /^\{([^}]*)\}(.*)$/s.exec(key);
  let head = '';
  let rest = key;
  if (m) {
    const tag = m[1]!;
    const inner = tag.includes(':') ? tag.slice(tag.indexOf(':') + 1) : '';
    head = /^w\d+$/.test(inner) ? '{P:w#}' : inner ? `{P:${inner}}` : '{P}';
    rest = m[2]!;
  }
  if (head === '{P:w#}') rest = rest.replace(/^:([nex]):.*$/s, ':$1:<node>');
  return (
    head +
    rest
      .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '<uuid>')
      .replace(/[0-9a-f]*\d[0-9a-f]*/g, (x) => (x.length >= 12 ? '<id>' : x))
      .replace(/\d+/g, '#')
  );
}

export interface KindTally {
  keys: number;
  /** MEMORY USAGE summed (Redis' estimate, sampling large values) */
  bytes: number;
}

/** Every key by kind, with its memory: a census for finding what grows. One SCAN of the private Redis. */
export async function census(redis: Redis): Promise<Map<string, KindTally>> {
  const out = new Map<string, KindTally>();
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'COUNT', 1000);
    cursor = next;
    if (!keys.length) continue;
    const p = redis.pipeline();
    for (const k of keys) p.memory('USAGE', k);
    const res = (await p.exec()) ?? [];
    keys.forEach((k, i) => {
      const kind = keyKind(k);
      const t = out.get(kind) ?? { keys: 0, bytes: 0 };
      t.keys += 1;
      t.bytes += Number(res[i]?.[1] ?? 0);
      out.set(kind, t);
    });
  } while (cursor !== '0');
  return out;
}

/** Growth in per cent from `from` to `to` (0 when `from` is 0 and `to` too). */
export function growthPct(from: number, to: number): number {
  if (from === 0) return to === 0 ? 0 : Infinity;
  return (100 * (to - from)) / from;
}

export interface Verdict {
  /** false: the run was too short for the check to mean anything (nothing failed) */
  meaningful: boolean;
  ok: boolean;
  growth: { rss: number; usedMemory: number; keys: number };
  /** the figures that grew more than the limit */
  grew: Array<'rss' | 'usedMemory' | 'keys'>;
}

/**
 * Bounded state: from the reading at `fromMinute` to the last, none of RSS, used_memory and keys may grow
 * more than `limitPct`. Runs shorter than `minMinutes` are not judged (state has barely settled).
 */
export function judge(readings: readonly Reading[], opts: { fromMinute: number; minMinutes: number; limitPct: number }): Verdict {
  const last = readings[readings.length - 1];
  const from = readings.find((r) => r.minute === opts.fromMinute);
  if (!last || !from || last.minute < opts.minMinutes) return { meaningful: false, ok: true, growth: { rss: 0, usedMemory: 0, keys: 0 }, grew: [] };
  const growth = { rss: growthPct(from.rssBytes, last.rssBytes), usedMemory: growthPct(from.usedMemory, last.usedMemory), keys: growthPct(from.keys, last.keys) };
  const grew = (['rss', 'usedMemory', 'keys'] as const).filter((k) => growth[k] > opts.limitPct);
  return { meaningful: true, ok: grew.length === 0, growth, grew };
}
