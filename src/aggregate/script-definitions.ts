import type { Redis, Result } from 'ioredis';
import { defineScripts } from '../redis/script.js';

/**
 * The aggregation's Lua commands (src/aggregate/lua, `<command>-<numKeys>.lua`, 'n' = variable), apart
 * from their typed wrappers (scripts.ts): connect() defines them on every connection, and this file
 * imports nothing of the aggregation, so the connection module does not depend on it.
 */
export const AGGREGATE_SCRIPTS = {
  claim: { name: 'tiClaim', file: 'claim-2.lua', numberOfKeys: 2 },
  apply: { name: 'tiApply', file: 'apply-n.lua' },
  max: { name: 'tiMax', file: 'max-1.lua', numberOfKeys: 1 },
  hmax: { name: 'tiHmax', file: 'hmax-1.lua', numberOfKeys: 1 },
  park: { name: 'tiPark', file: 'park-1.lua', numberOfKeys: 1 },
  unpark: { name: 'tiUnpark', file: 'unpark-1.lua', numberOfKeys: 1 },
  resolve: { name: 'tiResolve', file: 'resolve-2.lua', numberOfKeys: 2 },
  unlock: { name: 'tiUnlock', file: 'unlock-1.lua', numberOfKeys: 1 },
  renew: { name: 'tiRenew', file: 'renew-1.lua', numberOfKeys: 1 },
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

/** Registers the aggregation's Lua commands on a connection (idempotent). */
export function withScripts(redis: Redis): Redis {
  return defineScripts(redis, new URL('./lua/', import.meta.url), Object.values(AGGREGATE_SCRIPTS), loaded);
}
