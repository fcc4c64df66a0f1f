import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { closeWindow, dueWindows, type CloseOptions, type WindowCloseResult } from '../src/aggregate/close.js';
import type { KeySpace } from '../src/aggregate/keys.js';

export interface CloseProcessorDeps {
  redis: Redis;
  keys: KeySpace;
  opts: CloseOptions;
  /** When traffic stops, event time is taken to follow the wall clock after this long (live only). */
  idleSeconds?: number;
  /** Wall clock, epoch seconds. */
  now?: () => number;
}

/**
 * Processor of the "close" queue. A job scheduler ticks it; each tick closes the windows that event
 * time has passed (end + allowed lateness), oldest first. Closing is idempotent, so overlapping ticks
 * from several workers are harmless.
 */
export function closeProcessor(deps: CloseProcessorDeps) {
  const now = deps.now ?? (() => Date.now() / 1000);
  return async (_job: Job): Promise<{ closed: WindowCloseResult[] }> => {
    const wm = Number((await deps.redis.get(deps.keys.watermark())) ?? 0);
    const bound = deps.idleSeconds === undefined ? wm : Math.max(wm, now() - deps.idleSeconds);
    const closed: WindowCloseResult[] = [];
    for (const w of await dueWindows(deps.redis, deps.keys, deps.opts, bound)) closed.push(await closeWindow(deps.redis, deps.keys, deps.opts, w));
    return { closed };
  };
}
