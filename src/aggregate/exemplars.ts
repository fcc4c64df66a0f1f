import type { Redis } from 'ioredis';
import { FLAG_ERROR, FLAG_FAULT, FLAG_THROTTLE, type SlimDoc, type SlimEntity } from '../ingest/record.js';
import { REMOTE_TYPE, nodeId } from './graph-ids.js';
import { windowOf, type KeySpace } from './keys.js';
import { pipeline } from '../redis/pipeline.js';

/**
 * Exemplars: for each node and window, the trace ids of its worst requests — faulty first, then errors
 * and throttles, then the slowest — so that an insight can name traces that show its trouble on its root
 * cause. A node's request is its segment, or, for a node known only from its callers (an uninstrumented
 * dependency), the call's subsegment. Kept in a sorted set per (window, node), score = severity tier ×
 * 10⁶ + seconds, trimmed to the top {@link EXEMPLARS_PER_WINDOW}: adding the same request again changes
 * nothing (a retried batch), and ties break on the trace id, so the set is the same whatever the order
 * of batches and workers.
 */
export const EXEMPLARS_PER_WINDOW = 20;

/**
 * How long a window's exemplars are kept at most. An insight takes them as the window closes (and again,
 * for the windows it spans, when its root cause changes), so they are needed for minutes, not for the
 * aggregates' retention: at 20 per node-window they would otherwise be the largest thing in Redis.
 */
export const EXEMPLAR_TTL_SECONDS = 7200;

/**
 * The exemplars' TTL under an aggregate retention: {@link EXEMPLAR_TTL_SECONDS}, or the retention when
 * that is shorter. Exemplars that outlive their window's aggregates name traces of a window nothing can
 * be judged on any more, and with a short retention (tests, the soak) they would be what Redis grows by
 * for two hours.
 */
export function exemplarTtlSeconds(retentionSeconds: number): number {
  return Math.min(EXEMPLAR_TTL_SECONDS, retentionSeconds);
}

const TIER = 1e6;

/** An exemplar's score: severity tier first (fault 2, error or throttle 1), then duration in seconds. */
export function exemplarScore(flags: number | undefined, seconds: number): number {
  const f = flags ?? 0;
  const tier = f & FLAG_FAULT ? 2 : f & (FLAG_ERROR | FLAG_THROTTLE) ? 1 : 0;
  return tier * TIER + Math.min(Math.max(0, seconds), TIER - 1);
}

/** Whether an exemplar's score says its request faulted. */
export const exemplarFaulted = (score: number) => score >= 2 * TIER;

type Top = Map<string, number>;

/** Window → node id → trace id → best score in the batch. */
export type BatchExemplars = Map<number, Map<string, Top>>;

function offer(into: BatchExemplars, w: number, node: string, trace: string, score: number): void {
  let byNode = into.get(w);
  if (!byNode) into.set(w, (byNode = new Map()));
  let top = byNode.get(node);
  if (!top) byNode.set(node, (top = new Map()));
  const had = top.get(trace);
  if (had === undefined || score > had) top.set(trace, score);
}

function calls(e: SlimEntity, visit: (c: SlimEntity) => void): void {
  if (!e.c) return;
  for (const c of e.c) {
    if (c.ns) visit(c);
    else calls(c, visit);
  }
}

/** The batch's candidate exemplars, per window and node (segments, and calls to their callee alias). */
export function collectExemplars(docs: readonly SlimDoc[], windowSeconds: number): BatchExemplars {
  const out: BatchExemplars = new Map();
  for (const d of docs) {
    if (d.k !== 's') continue;
    offer(out, windowOf(d.s, windowSeconds), nodeId(d.ty ?? '', d.n), d.t, exemplarScore(d.f, d.e - d.s));
    calls(d, (c) => {
      if (c.st) return;
      const alias = c.ns === 'a' ? nodeId(c.ty ?? `AWS::${c.n}`, c.n) : nodeId(REMOTE_TYPE, c.n);
      offer(out, windowOf(c.s, windowSeconds), alias, d.t, exemplarScore(c.f, c.e - c.s));
    });
  }
  return out;
}

/** The best `n` of a node's candidates, by score then trace id (the order Redis keeps ties in, reversed). */
function best(top: Top, n: number): Array<[string, number]> {
  return [...top].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? 1 : a[0] > b[0] ? -1 : 0)).slice(0, n);
}

/**
 * Adds a batch's exemplars to a pipeline: ZADD, trim to the top, expire after `ttlSeconds` (pass
 * {@link exemplarTtlSeconds} of the retention). Idempotent.
 */
export function writeExemplars(pipe: ReturnType<Redis['pipeline']>, keys: KeySpace, batch: BatchExemplars, ttlSeconds: number = EXEMPLAR_TTL_SECONDS): void {
  for (const [w, byNode] of batch) {
    for (const [node, top] of byNode) {
      const key = keys.exemplars(w, node);
      const args: Array<string | number> = [];
      for (const [trace, score] of best(top, EXEMPLARS_PER_WINDOW)) args.push(score, trace);
      pipe.zadd(key, ...args);
      pipe.zremrangebyrank(key, 0, -(EXEMPLARS_PER_WINDOW + 1));
      pipe.expire(key, ttlSeconds);
    }
  }
}

/** An exemplar as read back: a trace id and its score. */
export type Exemplar = [traceId: string, score: number];

/** A node's exemplars over `windows`, each window's best first (the caller merges). */
export async function readExemplars(redis: Redis, keys: KeySpace, node: string, windows: readonly number[]): Promise<Exemplar[]> {
  if (windows.length === 0) return [];
  const pipe = pipeline(redis);
  for (const w of windows) pipe.zrevrange(keys.exemplars(w, node), 0, EXEMPLARS_PER_WINDOW - 1, 'WITHSCORES');
  const out: Exemplar[] = [];
  for (const [err, flat] of (await pipe.exec()) ?? []) {
    if (err) throw err;
    const a = flat as string[];
    for (let i = 0; i + 1 < a.length; i += 2) out.push([a[i]!, Number(a[i + 1])]);
  }
  return out;
}

/** Merges exemplar lists: best score per trace, then the top `n` by score (ties: trace id). */
export function mergeExemplars(lists: ReadonlyArray<readonly Exemplar[]>, n = EXEMPLARS_PER_WINDOW): Exemplar[] {
  const top: Top = new Map();
  for (const list of lists) {
    for (const [t, s] of list) {
      const had = top.get(t);
      if (had === undefined || s > had) top.set(t, s);
    }
  }
  return best(top, n);
}
