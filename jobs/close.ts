import type { Job } from 'bullmq';
import type { CloseAndJudge, CloseAndJudgeResult } from '../src/insights/close-and-judge.js';
import type { CloseLock } from '../src/insights/close-lock.js';
import type { InsightEvent } from '../src/insights/model.js';

export interface CloseProcessorDeps {
  /** closes windows and judges them (src/insights/close-and-judge.ts) */
  closer: CloseAndJudge;
  /** one closer at a time per namespace */
  lock: CloseLock;
  /**
   * Called with insight events for delivery. With an outbox, with what the outbox holds (the events
   * committed by this tick, and any a crashed tick committed but never handed over), and they leave
   * the outbox only once this returns; without one, with the events this tick committed.
   */
  onEvents?: (events: InsightEvent[]) => Promise<void>;
  /** When traffic stops, event time is taken to follow the wall clock after this long (live only). */
  idleSeconds?: number;
  /** Wall clock, epoch seconds. */
  now?: () => number;
}

/**
 * Processor of the "close" queue. A job scheduler ticks it; each tick, under the close lock, closes the
 * windows that event time has passed (end + allowed lateness), oldest first, and judges them. A tick that
 * loses the lock midway stops, and cannot commit what another closer committed (the commit is fenced).
 */
export function closeProcessor(deps: CloseProcessorDeps) {
  const now = deps.now ?? (() => Date.now() / 1000);
  return async (_job: Job): Promise<CloseAndJudgeResult & { skipped?: string }> => {
    const lease = await deps.lock.acquire();
    if (!lease) return { closed: [], events: 0, skipped: 'another worker is closing windows' };
    try {
      const bound = await deps.closer.liveBound(now(), deps.idleSeconds);
      return await deps.closer.run({ bound, lease, onEvents: deps.onEvents });
    } finally {
      await lease.release();
    }
  };
}
