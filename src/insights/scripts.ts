import type { Redis, Result } from 'ioredis';
import { asNumber, defineScripts, Script } from '../redis/script.js';

/**
 * The insight store's Lua scripts (src/insights/lua, `<command>-<numKeys>.lua`, 'n' = variable), each
 * with the one typed function that encodes its KEYS/ARGV and decodes its answer.
 */

declare module 'ioredis' {
  interface RedisCommander<Context> {
    insCommit(numKeys: number, ...keysThenArgs: Array<string | number>): Result<number, Context>;
    insOutboxDone(outbox: string, ...handed: string[]): Result<number, Context>;
  }
}

/** One insight event of a commit, with its insight's keys. */
export interface CommittedEvent {
  /** the insight's document (string) */
  insightKey: string;
  /** the insight's event list */
  eventsKey: string;
  insightId: string;
  insightStart: number;
  insightJson: string;
  eventJson: string;
}

/**
 * Commits the lifecycle's progress if the stored state is still the one it started from (commit-n.lua):
 * true when committed, false when fenced out (nothing written).
 */
export const commitScript = new Script(
  { name: 'insCommit', file: 'commit-n.lua' },
  (a: {
    state: string;
    index: string;
    feed: string;
    outbox: string;
    /** the lastWindow of the state the caller started from (null: no state yet) */
    base: number | null;
    ttl: number;
    stateJson: string;
    /** also queue the events in the outbox */
    queue: boolean;
    feedLength: number;
    events: readonly CommittedEvent[];
  }) => {
    const keys = [a.state, a.index, a.feed, a.outbox];
    const args: Array<string | number> = [a.base === null ? '' : String(a.base), a.ttl, a.stateJson, a.queue ? '1' : '0', a.feedLength];
    for (const e of a.events) {
      keys.push(e.insightKey, e.eventsKey);
      args.push(e.insightStart, e.insightId, e.insightJson, e.eventJson);
    }
    return { keys, args };
  },
  (reply) => reply === 1,
);

/** Removes events handed to delivery from the head of the outbox, each only if still there (outbox-done-1.lua). */
export const outboxDoneScript = new Script(
  { name: 'insOutboxDone', file: 'outbox-done-1.lua', numberOfKeys: 1 },
  (a: { outbox: string; handed: readonly string[] }) => ({ keys: [a.outbox], args: [...a.handed] }),
  asNumber,
);

const scripts = [commitScript, outboxDoneScript].map((s) => s.def);
const loaded = new WeakSet<Redis>();

/** Registers the insight store's Lua commands on a connection (idempotent). */
export function withInsightScripts(redis: Redis): Redis {
  return defineScripts(redis, new URL('./lua/', import.meta.url), scripts, loaded);
}
