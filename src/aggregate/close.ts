import type { Redis } from 'ioredis';
import type { KeySpace } from './keys.js';
import { CloseGenerations } from './close-generations.js';
import { pipeline } from '../redis/pipeline.js';
import { maxScript, resolveScript } from './scripts.js';
import { matchCallees } from './link-match.js';

/**
 * Closing a window: once event time has passed its end plus the allowed lateness, link evidence left
 * pending by the workers (a traced call in one batch, its callee's segment in another) is matched and
 * turned into link counts, so the service graph of that window no longer depends on short-lived keys.
 * Late segments still count in the window's stats afterwards; they re-open it and it closes again.
 */
export interface CloseOptions {
  windowSeconds: number;
  allowedLatenessSeconds: number;
  retentionSeconds: number;
}

export interface WindowCloseResult {
  window: number;
  linksResolved: number;
}

/** Windows whose end plus lateness is at or before `now` (epoch seconds, event time or wall clock). */
export async function dueWindows(redis: Redis, keys: KeySpace, opts: CloseOptions, now: number): Promise<number[]> {
  const bound = now - opts.allowedLatenessSeconds - opts.windowSeconds;
  const ws = await redis.zrangebyscore(keys.openWindows(), '-inf', bound);
  return ws.map(Number).sort((a, b) => a - b);
}

/** Closes one window; safe to run twice or concurrently (each link is counted by whoever removes it). */
export async function closeWindow(redis: Redis, keys: KeySpace, opts: CloseOptions, w: number): Promise<WindowCloseResult> {
  const W = opts.windowSeconds;
  const [callees, callersBefore, callersHere] = await Promise.all([
    redis.hgetall(keys.pendingCallees(w)),
    redis.hgetall(keys.pendingCallers(w - W)),
    redis.hgetall(keys.pendingCallers(w)),
  ]);
  const pairs: string[] = [];
  const usedBefore: string[] = [];
  const usedHere: string[] = [];
  // a callee's caller is in its window, or the one before (a call starts before the segment it reaches)
  const callerOf = ({ parent }: { parent: string }) => {
    const here = callersHere[parent];
    const edge = here ?? callersBefore[parent];
    return edge ? { edge, used: here ? usedHere : usedBefore } : undefined;
  };
  matchCallees(
    Object.entries(callees).map(([parent, node]) => ({ parent, node })),
    callerOf,
    (caller, { parent }, link) => {
      pairs.push(parent, link);
      caller.used.push(parent);
    },
  );
  let linksResolved = 0;
  if (pairs.length) linksResolved = await resolveScript.run(redis, { keys, window: w, ttl: opts.retentionSeconds, pairs });
  const cleanup = pipeline(redis);
  if (usedBefore.length) cleanup.hdel(keys.pendingCallers(w - W), ...usedBefore);
  if (usedHere.length) cleanup.hdel(keys.pendingCallers(w), ...usedHere);
  // a window is closed when it leaves the open set; re-opened by late data, it is closed again later
  cleanup.zrem(keys.openWindows(), String(w));
  maxScript.queue(cleanup, { key: keys.closedThrough(), value: w, ttl: opts.retentionSeconds });
  // windows close oldest first, so the first one set stays the oldest
  cleanup.set(keys.closedFrom(), w, 'EX', opts.retentionSeconds, 'NX');
  // last: whoever keeps this window's contents re-reads them once it sees this close
  CloseGenerations.bump(cleanup, keys, w, opts.retentionSeconds);
  await cleanup.exec();
  return { window: w, linksResolved };
}
