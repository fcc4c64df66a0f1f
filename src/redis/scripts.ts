import { readFileSync } from 'node:fs';
import type { Redis, Result } from 'ioredis';

const luaDir = new URL('../aggregate/lua/', import.meta.url);
const lua = (name: string) => readFileSync(new URL(name, luaDir), 'utf8');

/** Lua commands, named `<command>-<numKeys>.lua` ('n' = variable). */
const definitions = {
  tiClaim: { file: 'claim-2.lua', numberOfKeys: 2 },
  tiApply: { file: 'apply-n.lua', numberOfKeys: undefined },
  tiMax: { file: 'max-1.lua', numberOfKeys: 1 },
  tiHmax: { file: 'hmax-1.lua', numberOfKeys: 1 },
  tiPark: { file: 'park-1.lua', numberOfKeys: 1 },
  tiUnpark: { file: 'unpark-1.lua', numberOfKeys: 1 },
  tiResolve: { file: 'resolve-2.lua', numberOfKeys: 2 },
  tiUnlock: { file: 'unlock-1.lua', numberOfKeys: 1 },
  tiRenew: { file: 'renew-1.lua', numberOfKeys: 1 },
} as const;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    tiClaim(seen: string, claim: string, seenTtl: number, claimTtl: number, ...members: string[]): Result<string, Context>;
    tiApply(numKeys: number, ...keysThenArgs: Array<string | number>): Result<number, Context>;
    tiMax(key: string, value: number, ttl: number): Result<string, Context>;
    tiHmax(key: string, ttl: number, ...pairs: Array<string | number>): Result<number, Context>;
    tiPark(key: string, ttl: number, ...pairs: string[]): Result<number, Context>;
    tiUnpark(key: string, ...pairs: string[]): Result<number, Context>;
    tiResolve(pendingCallees: string, links: string, ttl: number, ...pairs: string[]): Result<number, Context>;
    tiUnlock(key: string, token: string): Result<number, Context>;
    tiRenew(key: string, token: string, ttlMs: number): Result<number, Context>;
  }
}

const loaded = new WeakSet<Redis>();

/** Registers the project's Lua commands on a connection (idempotent). */
export function withScripts(redis: Redis): Redis {
  if (loaded.has(redis)) return redis;
  for (const [name, def] of Object.entries(definitions)) {
    redis.defineCommand(name, def.numberOfKeys === undefined ? { lua: lua(def.file) } : { lua: lua(def.file), numberOfKeys: def.numberOfKeys });
  }
  loaded.add(redis);
  return redis;
}
