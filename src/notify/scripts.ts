import { readFileSync } from 'node:fs';
import type { Redis, Result } from 'ioredis';

const lua = (name: string) => readFileSync(new URL(`./lua/${name}`, import.meta.url), 'utf8');

/** The webhook Lua commands, named `<command>-<numKeys>.lua`. */
const definitions = {
  whEnqueue: 'enqueue-1.lua',
  whFinish: 'finish-1.lua',
  whRedeliver: 'redeliver-1.lua',
  whSweep: 'sweep-1.lua',
  whHsetIfExists: 'hset-if-exists-1.lua',
} as const;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    whEnqueue(delivery: string, ...args: Array<string | number>): Result<number, Context>;
    whFinish(delivery: string, ...args: Array<string | number>): Result<string[], Context>;
    whRedeliver(delivery: string, tag: string, id: string, now: number, ttl: number): Result<string[], Context>;
    whSweep(groups: string, tag: string, idleSince: number, now: number, limit: number): Result<string[], Context>;
    whHsetIfExists(key: string, ttl: number, ...pairs: Array<string | number>): Result<number, Context>;
  }
}

const loaded = new WeakSet<Redis>();

/** Registers the webhook Lua commands on a connection (idempotent). */
export function withNotifyScripts(redis: Redis): Redis {
  if (loaded.has(redis)) return redis;
  for (const [name, file] of Object.entries(definitions)) redis.defineCommand(name, { lua: lua(file), numberOfKeys: 1 });
  loaded.add(redis);
  return redis;
}
