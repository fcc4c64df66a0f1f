import { randomUUID } from 'node:crypto';
import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { closeWindow, dueWindows, type CloseOptions, type WindowCloseResult } from '../src/aggregate/close.js';
import type { KeySpace } from '../src/aggregate/keys.js';
import type { InsightEngine } from '../src/insights/engine.js';
import type { InsightEvent } from '../src/insights/model.js';

export interface CloseProcessorDeps {
  redis: Redis;
  keys: KeySpace;
  opts: CloseOptions;
  /** detection and insights, run on every closed window */
  engine?: InsightEngine;
  /**
   * Called with insight events for delivery. With an outbox, with what the outbox holds (the events
   * committed by this tick, and any a crashed tick committed but never handed over), and they leave
   * the outbox only once this returns; without one, with the events this tick produced.
   */
  onEvents?: (events: InsightEvent[]) => Promise<void>;
  outbox?: { peek(max: number): Promise<InsightEvent[]>; done(n: number): Promise<void> };
  /** When traffic stops, event time is taken to follow the wall clock after this long (live only). */
  idleSeconds?: number;
  /** Wall clock, epoch seconds. */
  now?: () => number;
}

const LOCK_MS = 120_000;

/**
 * Processor of the "close" queue. A job scheduler ticks it; each tick closes the windows that event
 * time has passed (end + allowed lateness), oldest first, then runs detection on them. One process at a
 * time does this (a lock), so windows are judged in order and every insight event is produced once.
 */
export function closeProcessor(deps: CloseProcessorDeps) {
  const now = deps.now ?? (() => Date.now() / 1000);
  return async (_job: Job): Promise<{ closed: WindowCloseResult[]; events: number; skipped?: string }> => {
    const token = randomUUID();
    const lock = deps.keys.closeLock();
    if ((await deps.redis.set(lock, token, 'PX', LOCK_MS, 'NX')) !== 'OK') return { closed: [], events: 0, skipped: 'another worker is closing windows' };
    const drain = async () => {
      if (!deps.outbox || !deps.onEvents) return;
      for (;;) {
        const batch = await deps.outbox.peek(200);
        if (!batch.length) return;
        await deps.onEvents(batch);
        await deps.outbox.done(batch.length);
      }
    };
    try {
      // first what an earlier tick committed and did not hand over (it died), so order is kept
      await drain();
      const wm = Number((await deps.redis.get(deps.keys.watermark())) ?? 0);
      const bound = deps.idleSeconds === undefined ? wm : Math.max(wm, now() - deps.idleSeconds);
      const closed: WindowCloseResult[] = [];
      for (const w of await dueWindows(deps.redis, deps.keys, deps.opts, bound)) closed.push(await closeWindow(deps.redis, deps.keys, deps.opts, w));
      let events = 0;
      if (deps.engine && closed.length) {
        const last = closed[closed.length - 1]!.window;
        const r = await deps.engine.advanceTo(last, closed[0]!.window);
        events = r.events.length;
        if (deps.outbox) await drain();
        else if (r.events.length) await deps.onEvents?.(r.events);
      }
      return { closed, events };
    } finally {
      await deps.redis.tiUnlock(lock, token);
    }
  };
}
