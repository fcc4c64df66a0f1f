import { asNumber, Script, type ScriptCall } from '../redis/script.js';
import { AGGREGATE_SCRIPTS } from './script-definitions.js';
import type { AggregateOptions } from './options.js';
import type { WindowDelta } from './fold.js';
import type { KeySpace } from './keys.js';

/**
 * The aggregation's Lua scripts (src/aggregate/lua, `<command>-<numKeys>.lua`, 'n' = variable), each
 * with the one typed function that encodes its KEYS/ARGV and decodes its answer. Call sites use these;
 * the ioredis commands (script-definitions.ts) stay typed for tests that drive a script by hand.
 */

/** Turns one window's delta into the keys and arguments of the apply script (`[numKeys, ...keys, ...args]`). */
export function encodeApply(keys: KeySpace, w: number, batchId: string, delta: WindowDelta, opts: AggregateOptions): Array<string | number> {
  const call = applyCall(keys, w, batchId, delta, opts);
  return [call.keys.length, ...call.keys, ...call.args];
}

function applyCall(keys: KeySpace, w: number, batchId: string, delta: WindowDelta, opts: AggregateOptions): ScriptCall {
  const dataKeys: string[] = [];
  const args: Array<string | number> = [opts.markerTtlSeconds];
  const keep = opts.retentionSeconds;
  const pendingTtl = opts.pendingTtlSeconds ?? 3600 + 3 * opts.windowSeconds;
  const hashOp = (key: string, op: 'i' | 's', fields: Map<string, number | string>, ttl = keep) => {
    if (fields.size === 0) return;
    dataKeys.push(key);
    args.push(op, ttl, fields.size);
    for (const [f, v] of fields) args.push(f, v);
  };
  const setOp = (key: string, members: Iterable<string>) => {
    const list = [...members];
    if (list.length === 0) return;
    dataKeys.push(key);
    args.push('a', keep, list.length, ...list);
  };
  for (const [id, fields] of delta.nodes) hashOp(keys.node(w, id), 'i', fields);
  for (const [id, fields] of delta.edges) hashOp(keys.edge(w, id), 'i', fields);
  setOp(keys.nodes(w), delta.nodes.keys());
  setOp(keys.edges(w), delta.edges.keys());
  hashOp(keys.links(w), 'i', delta.links);
  hashOp(keys.pendingCallers(w), 's', delta.pendingCallers, pendingTtl);
  hashOp(keys.pendingCallees(w), 's', delta.pendingCallees, pendingTtl);
  return { keys: [keys.applied(w, batchId), ...dataKeys], args };
}

/**
 * Reads the claim script's answer: flags for the members sent, or, on a retry, the first run's flags
 * with the first run's members. The first answer is authoritative: a retry that assembled a different
 * set of entities (a parked subsegment came or went) counts only what the first run claimed as new.
 */
export function claimAnswer(answer: string, sent: readonly string[]): { flags: string; members: readonly string[] } {
  const sp = answer.indexOf(' ');
  if (sp < 0) return { flags: answer, members: sent };
  return { flags: answer.slice(0, sp), members: answer.slice(sp + 1).split(',') };
}

/** Claims a unit's entities in one window (claim-2.lua): which members the unit may count. */
export const claimScript = new Script(
  AGGREGATE_SCRIPTS.claim,
  (a: { keys: KeySpace; window: number; unitId: string; members: readonly string[]; seenTtl: number; claimTtl: number }) => ({
    keys: [a.keys.seen(a.window), a.keys.claim(a.window, a.unitId)],
    args: [a.seenTtl, a.claimTtl, ...a.members],
  }),
  (reply, a) => claimAnswer(String(reply), a.members),
);

/** Applies a unit's deltas to one window once (apply-n.lua): true when applied now, false when before. */
export const applyScript = new Script(
  AGGREGATE_SCRIPTS.apply,
  (a: { keys: KeySpace; window: number; unitId: string; delta: WindowDelta; opts: AggregateOptions }) => applyCall(a.keys, a.window, a.unitId, a.delta, a.opts),
  (reply) => Number(reply) !== 0,
);

/** Raises a number to at least `value` (max-1.lua); answers the value after the call. */
export const maxScript = new Script(
  AGGREGATE_SCRIPTS.max,
  (a: { key: string; value: number; ttl: number }) => ({ keys: [a.key], args: [a.value, a.ttl] }),
  asNumber,
);

/** For each field, keeps the larger of the stored and the given number (hmax-1.lua). */
export const hmaxScript = new Script(
  AGGREGATE_SCRIPTS.hmax,
  (a: { key: string; ttl: number; pairs: ReadonlyArray<string | number> }) => ({ keys: [a.key], args: [a.ttl, ...a.pairs] }),
  asNumber,
);

/** Parks subsegments, as trace/line pairs, in one parking bucket (park-1.lua). */
export const parkScript = new Script(
  AGGREGATE_SCRIPTS.park,
  (a: { key: string; ttl: number; pairs: readonly string[] }) => ({ keys: [a.key], args: [a.ttl, ...a.pairs] }),
  asNumber,
);

/** Removes joined subsegments, as trace/line pairs, from one parking bucket (unpark-1.lua). */
export const unparkScript = new Script(
  AGGREGATE_SCRIPTS.unpark,
  (a: { key: string; pairs: readonly string[] }) => ({ keys: [a.key], args: [...a.pairs] }),
  asNumber,
);

/** Counts matched links of a closing window once each (resolve-2.lua); answers how many were added. */
export const resolveScript = new Script(
  AGGREGATE_SCRIPTS.resolve,
  (a: { keys: KeySpace; window: number; ttl: number; pairs: readonly string[] }) => ({
    keys: [a.keys.pendingCallees(a.window), a.keys.links(a.window)],
    args: [a.ttl, ...a.pairs],
  }),
  asNumber,
);

/** Releases a lock only if this holder still owns it (unlock-1.lua); true when released. */
export const unlockScript = new Script(
  AGGREGATE_SCRIPTS.unlock,
  (a: { key: string; token: string }) => ({ keys: [a.key], args: [a.token] }),
  (reply) => Number(reply) === 1,
);

/** Extends a lock only if this holder still owns it (renew-1.lua); true when extended. */
export const renewScript = new Script(
  AGGREGATE_SCRIPTS.renew,
  (a: { key: string; token: string; ttlMs: number }) => ({ keys: [a.key], args: [a.token, a.ttlMs] }),
  (reply) => Number(reply) === 1,
);
