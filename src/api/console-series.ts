import type { Redis } from 'ioredis';
import type { AggregateReader } from '../aggregate/read.js';
import { buildGraph } from '../aggregate/read.js';
import { emptyStats, mergeStats, statsFromHash, type Stats } from '../aggregate/stats.js';
import { pipeline } from '../redis/pipeline.js';

/** Points a chart gets at most: a longer range is drawn in buckets of several windows. */
export const MAX_POINTS = 1500;
/** Windows read through the whole graph for a node without stats of its own (inferred, clients). */
export const MAX_GRAPH_WINDOWS = 3000;

export interface Windowed {
  start: number;
  stats: Stats;
}

/** How many windows go in one chart point for a range of `count` windows. */
export function bucketFactor(count: number, maxPoints = MAX_POINTS): number {
  return Math.max(1, Math.ceil(count / maxPoints));
}

/**
 * Consecutive windows merged `factor` at a time into buckets aligned on multiples of `factor × W` (so
 * a bucket means the same time span whichever range asked for it). Merging is exact: counts add up and
 * histograms merge, so a bucket's percentiles are those of all its requests.
 */
export function bucketize(windows: readonly Windowed[], W: number, factor: number): Windowed[] {
  if (factor <= 1) return [...windows];
  const step = W * factor;
  const out: Windowed[] = [];
  for (const w of windows) {
    const start = Math.floor(w.start / step) * step;
    let last = out[out.length - 1];
    if (!last || last.start !== start) out.push((last = { start, stats: emptyStats() }));
    mergeStats(last.stats, w.stats);
  }
  return out;
}

/**
 * One node's stats in each window of [from, to) (window starts, multiples of W). A traced service's own
 * hash is read directly, one pipelined HGETALL per window, so days of windows stay cheap; a node with no
 * stats of its own (an inferred dependency, the clients) exists only through its callers' edges and is
 * read as the map draws it, from each window's graph.
 * @returns null when such a node is asked for over more than MAX_GRAPH_WINDOWS windows
 */
export async function nodeWindows(redis: Redis, reader: AggregateReader, id: string, from: number, to: number): Promise<Windowed[] | null> {
  const W = reader.windowSeconds;
  const starts: number[] = [];
  for (let w = from; w < to; w += W) starts.push(w);
  const p = pipeline(redis);
  for (const w of starts) p.hgetall(reader.keys.node(w, id));
  const res = (await p.exec()) ?? [];
  const own = res.map(([err, h], i) => {
    if (err) throw err;
    return { start: starts[i]!, stats: statsFromHash(h as Record<string, string>) };
  });
  if (own.some((w) => w.stats.count > 0)) return own;
  if (starts.length > MAX_GRAPH_WINDOWS) return null;
  const { windows, evidence } = await reader.readRange(from, to, starts.length + 1);
  const byStart = new Map(windows.map((w) => [w.start, w]));
  return starts.map((w) => {
    const data = byStart.get(w);
    const node = data ? buildGraph([data], evidence).nodes.get(id) : undefined;
    return { start: w, stats: node?.stats ?? emptyStats() };
  });
}
