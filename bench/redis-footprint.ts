import type { Redis } from 'ioredis';
import { keySpace } from '../src/aggregate/keys.js';

/** Bytes (MEMORY USAGE … SAMPLES 0) and key counts of one kind of key. */
export interface Tally {
  keys: number;
  bytes: number;
}

export interface Footprint {
  /** per-(service, window) stats hashes */
  node: Tally;
  /** per-(edge, window) stats hashes */
  edge: Tally;
  /** per-window sets of node ids and edge ids */
  sets: Tally;
  /** per-window resolved caller→callee links */
  links: Tally;
  /** de-duplication sets: one member per segment, expiring after the dedupe TTL */
  seen: Tally;
  /** traced calls and callee segments waiting for their other half */
  pending: Tally;
  /** claim answers and applied markers of batches */
  markers: Tally;
  /** parked subsegments, watermark, catalog, dead letters */
  other: Tally;
  /** keys of windows outside the measured ones (the warm-up's) */
  excluded: Tally;
  /** BullMQ's keys of the queue (retained completed jobs included) */
  bullmq: Tally;
  /** largest node hash: its field count and encoding */
  sampleNode?: { key: string; fields: number; encoding: string; bytes: number };
  hashMaxListpackEntries: string;
  hashMaxListpackValue: string;
}

const empty = (): Tally => ({ keys: 0, bytes: 0 });

async function scanAll(redis: Redis, pattern: string): Promise<string[]> {
  const out: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    out.push(...keys);
  } while (cursor !== '0');
  return out;
}

async function memoryUsage(redis: Redis, keys: readonly string[]): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < keys.length; i += 500) {
    const pipe = redis.pipeline();
    for (const k of keys.slice(i, i + 500)) pipe.call('MEMORY', 'USAGE', k, 'SAMPLES', '0');
    for (const [err, v] of (await pipe.exec()) ?? []) {
      if (err) throw err;
      out.push(Number(v ?? 0));
    }
  }
  return out;
}

async function configValue(redis: Redis, name: string): Promise<string> {
  const r = (await redis.config('GET', name)) as string[];
  return r[1] ?? '?';
}

/**
 * Measures every key of a run's prefix, sorted by what it is for. The aggregate (kept for the retention
 * period) and the transient (dedupe sets, pending links, markers; short TTLs) are reported apart.
 */
export async function measureFootprint(redis: Redis, prefix: string, windows: ReadonlySet<number>): Promise<Footprint> {
  const ks = keySpace(prefix);
  // The layout comes from keySpace itself, so this follows any change to it.
  const tag0 = ks.tag(0);
  const suffix = (k: string) => k.slice(tag0.length);
  const exact = new Map<string, keyof Footprint>([
    [suffix(ks.nodes(0)), 'sets'],
    [suffix(ks.edges(0)), 'sets'],
    [suffix(ks.links(0)), 'links'],
    [suffix(ks.seen(0)), 'seen'],
    [suffix(ks.pendingCallers(0)), 'pending'],
    [suffix(ks.pendingCallees(0)), 'pending'],
  ]);
  const starts: Array<[string, keyof Footprint]> = [
    [suffix(ks.node(0, '')), 'node'],
    [suffix(ks.edge(0, '')), 'edge'],
    [suffix(ks.claim(0, '')), 'markers'],
    [suffix(ks.applied(0, '')), 'markers'],
  ];
  const SENTINEL = 987654321;
  const [before = '', after = ''] = ks.tag(SENTINEL).split(String(SENTINEL));
  const windowTag = new RegExp(`^${escapeRe(before)}(-?\\d+)${escapeRe(after)}`);

  const fp: Footprint = {
    node: empty(),
    edge: empty(),
    sets: empty(),
    links: empty(),
    seen: empty(),
    pending: empty(),
    markers: empty(),
    other: empty(),
    excluded: empty(),
    bullmq: empty(),
    hashMaxListpackEntries: await configValue(redis, 'hash-max-listpack-entries'),
    hashMaxListpackValue: await configValue(redis, 'hash-max-listpack-value'),
  };
  const ours = await scanAll(redis, `{${prefix}:*`);
  const sizes = await memoryUsage(redis, ours);
  let largest: { key: string; bytes: number } | undefined;
  ours.forEach((key, i) => {
    const bytes = sizes[i]!;
    let kind: keyof Footprint = 'other';
    const m = windowTag.exec(key);
    if (m) {
      const rest = key.slice(m[0].length);
      kind = exact.get(rest) ?? starts.find(([s]) => rest.startsWith(s))?.[1] ?? 'other';
      if (!windows.has(Number(m[1]))) kind = 'excluded';
    }
    const t = fp[kind] as Tally;
    t.keys++;
    t.bytes += bytes;
    if (kind === 'node' && (!largest || bytes > largest.bytes)) largest = { key, bytes };
  });
  const bull = await scanAll(redis, `{${prefix}}:*`);
  fp.bullmq = { keys: bull.length, bytes: (await memoryUsage(redis, bull)).reduce((a, b) => a + b, 0) };
  if (largest) {
    const [encoding, fields] = await Promise.all([redis.object('ENCODING', largest.key), redis.hlen(largest.key)]);
    fp.sampleNode = { key: largest.key, fields, encoding: String(encoding), bytes: largest.bytes };
  }
  return fp;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Deletes a prefix's keys: ours (`{prefix:…}`) and BullMQ's (`{prefix}:…`), nothing else. */
export async function dropPrefix(redis: Redis, prefix: string): Promise<number> {
  let n = 0;
  for (const pattern of [`{${prefix}:*`, `{${prefix}}:*`]) {
    const keys = await scanAll(redis, pattern);
    for (let i = 0; i < keys.length; i += 1000) n += await redis.unlink(...keys.slice(i, i + 1000));
  }
  return n;
}
