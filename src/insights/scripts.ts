import { readFileSync } from 'node:fs';
import type { Redis, Result } from 'ioredis';

const lua = (name: string) => readFileSync(new URL(`./lua/${name}`, import.meta.url), 'utf8');

/** The insight store's Lua commands, named `<command>-<numKeys>.lua` ('n' = variable). */
const definitions = {
  insCommit: { file: 'commit-n.lua', numberOfKeys: undefined },
  insOutboxDone: { file: 'outbox-done-1.lua', numberOfKeys: 1 },
} as const;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    insCommit(numKeys: number, ...keysThenArgs: Array<string | number>): Result<number, Context>;
    insOutboxDone(outbox: string, ...handed: string[]): Result<number, Context>;
  }
}

const loaded = new WeakSet<Redis>();

/** Registers the insight store's Lua commands on a connection (idempotent). */
export function withInsightScripts(redis: Redis): Redis {
  if (loaded.has(redis)) return redis;
  for (const [name, def] of Object.entries(definitions)) {
    redis.defineCommand(name, def.numberOfKeys === undefined ? { lua: lua(def.file) } : { lua: lua(def.file), numberOfKeys: def.numberOfKeys });
  }
  loaded.add(redis);
  return redis;
}
