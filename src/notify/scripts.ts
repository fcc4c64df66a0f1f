import type { Redis, Result } from 'ioredis';
import { defineScripts, Script } from '../redis/script.js';
import type { FinishInput, FinishResult, Head, NewDelivery } from './delivery-types.js';
import { notifyKeysLua, type NotifyKeys } from './keys.js';

/**
 * The webhook Lua scripts (src/notify/lua, `<command>-<numKeys>.lua`; shared fragments in lua/include),
 * each with the one typed function that encodes its KEYS/ARGV and decodes its answer.
 */

declare module 'ioredis' {
  interface RedisCommander<Context> {
    whEnqueue(delivery: string, ...args: Array<string | number>): Result<number, Context>;
    whFinish(delivery: string, ...args: Array<string | number>): Result<string[], Context>;
    whRedeliver(delivery: string, tag: string, id: string, now: number, ttl: number): Result<string[], Context>;
    whSweep(groups: string, tag: string, idleSince: number, now: number, limit: number): Result<string[], Context>;
    whHsetIfExists(key: string, ttl: number, ...pairs: Array<string | number>): Result<number, Context>;
  }
}

/**
 * Records a delivery and appends it to its group (enqueue-1.lua): 'head' when it heads its group (add
 * its job), 'queued' behind others, 'recorded' when it was recorded before (a re-run).
 */
export const enqueueScript = new Script(
  { name: 'whEnqueue', file: 'enqueue-1.lua', numberOfKeys: 1 },
  (a: { keys: NotifyKeys; delivery: NewDelivery; now: number; ttl: number; logMaxEntries: number }) => {
    const d = a.delivery;
    return {
      keys: [a.keys.delivery(d.id)],
      args: [a.keys.tag, d.id, d.subscriptionId, d.insightId, a.now, a.ttl, a.logMaxEntries, 'ev', d.eventKey, 'type', d.eventType, 'et', d.eventTime, 'test', d.test ? 1 : 0],
    };
  },
  (reply): 'head' | 'queued' | 'recorded' => (reply === 1 ? 'head' : reply === 2 ? 'queued' : 'recorded'),
);

/** Records an attempt's outcome, settles the delivery and moves its group on (finish-1.lua). */
export const finishScript = new Script(
  { name: 'whFinish', file: 'finish-1.lua', numberOfKeys: 1 },
  (a: { keys: NotifyKeys; id: string; finish: FinishInput; now: number; ttl: number; disableAfterFailures: number; subscriptionTtl: number }) => {
    const f = a.finish;
    return {
      keys: [a.keys.delivery(a.id)],
      args: [
        a.keys.tag,
        a.id,
        f.round,
        f.outcome,
        a.now,
        f.attempt ?? '',
        f.status ?? '',
        f.latencyMs ?? '',
        f.error ?? '',
        f.nextAttemptAt ?? '',
        a.ttl,
        a.disableAfterFailures,
        a.subscriptionTtl,
        f.reason ?? '',
      ],
    };
  },
  (reply): FinishResult => {
    const r = reply as Array<string | number>;
    const sub = String(r[2] ?? '');
    const head = String(r[4] ?? '');
    return {
      state: r[0] as FinishResult['state'],
      disabled: (r[1] || null) as FinishResult['disabled'],
      subscriptionId: sub || null,
      attempts: r[3] === '' || r[3] === undefined ? null : Number(r[3]),
      next: head ? { id: head, round: Number(r[5] ?? 0), subscriptionId: sub, eventKey: String(r[6]) } : null,
    };
  },
);

/** Puts a settled delivery back at the end of its group, in a new round (redeliver-1.lua). */
export const redeliverScript = new Script(
  { name: 'whRedeliver', file: 'redeliver-1.lua', numberOfKeys: 1 },
  (a: { keys: NotifyKeys; id: string; now: number; ttl: number }) => ({ keys: [a.keys.delivery(a.id)], args: [a.keys.tag, a.id, a.now, a.ttl] }),
  (reply, a): { kind: 'head'; head: Head } | { kind: 'queued' | 'missing' | 'busy' | 'expired' } => {
    const [kind, round, sub, ev] = reply as string[];
    if (kind === 'head') return { kind, head: { id: a.id, round: Number(round), subscriptionId: sub!, eventKey: ev! } };
    return { kind: kind as 'queued' | 'missing' | 'busy' | 'expired' };
  },
);

/** Heads of groups idle since `idleSince`, dropping heads whose delivery expired (sweep-1.lua). */
export const sweepScript = new Script(
  { name: 'whSweep', file: 'sweep-1.lua', numberOfKeys: 1 },
  (a: { keys: NotifyKeys; idleSince: number; now: number; limit: number }) => ({ keys: [a.keys.groups()], args: [a.keys.tag, a.idleSince, a.now, a.limit] }),
  (reply): Head[] => {
    const r = reply as string[];
    const out: Head[] = [];
    for (let i = 0; i + 3 < r.length; i += 4) out.push({ id: r[i]!, round: Number(r[i + 1] ?? 0), subscriptionId: r[i + 2]!, eventKey: r[i + 3]! });
    return out;
  },
);

/** Updates fields of a hash only if it exists, refreshing its TTL (hset-if-exists-1.lua); true when updated. */
export const hsetIfExistsScript = new Script(
  { name: 'whHsetIfExists', file: 'hset-if-exists-1.lua', numberOfKeys: 1 },
  (a: { key: string; ttl: number; fields: Readonly<Record<string, string | number>> }) => ({ keys: [a.key], args: [a.ttl, ...Object.entries(a.fields).flat()] }),
  (reply) => Boolean(reply),
);

const scripts = [enqueueScript, finishScript, redeliverScript, sweepScript, hsetIfExistsScript].map((s) => s.def);
const loaded = new WeakSet<Redis>();

/**
 * Fragments made at load time for the scripts' `--!include` lines: the key layout, from keys.ts, so
 * that the scripts derive a delivery's group, log or subscription key exactly as TypeScript names it.
 */
export const notifyLuaFragments: Readonly<Record<string, string>> = { 'notify-keys.lua': notifyKeysLua() };

/** Registers the webhook Lua commands on a connection (idempotent). */
export function withNotifyScripts(redis: Redis): Redis {
  return defineScripts(redis, new URL('./lua/', import.meta.url), scripts, loaded, notifyLuaFragments);
}
