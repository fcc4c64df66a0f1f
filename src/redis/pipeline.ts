import calculateSlot from 'cluster-key-slot';
import type { Redis } from 'ioredis';
import { isCluster } from './connect.js';

/** A pipeline, as ioredis types it. */
export type Pipe = ReturnType<Redis['pipeline']>;

type Call = { name: string | symbol; args: unknown[] };

/**
 * The key a command of ours is about: its first argument, or, for a script whose first argument is its
 * number of keys (`tiApply`, `insCommit`), its second. Every key we write carries a hash tag, so this
 * picks the command's hash slot.
 */
function keyOf(args: readonly unknown[]): string {
  const k = typeof args[0] === 'number' ? args[1] : args[0];
  return typeof k === 'string' ? k : String(k);
}

/**
 * A pipeline that may span hash slots. On one server it is ioredis' own. On a cluster (where one
 * pipeline must keep to one node) the commands are recorded, sent as one pipeline per hash slot, in
 * parallel, and the answers put back in the order the commands were given. Commands on different slots
 * are on different keys, so only their relative order is lost, which no caller relies on; within a slot
 * the order holds.
 */
export function pipeline(redis: Redis): Pipe {
  if (!isCluster(redis)) return redis.pipeline();
  const calls: Call[] = [];
  const exec = async (): Promise<Array<[Error | null, unknown]>> => {
    const bySlot = new Map<number, number[]>();
    calls.forEach((c, i) => {
      const slot = calculateSlot(keyOf(c.args));
      let list = bySlot.get(slot);
      if (!list) bySlot.set(slot, (list = []));
      list.push(i);
    });
    const out: Array<[Error | null, unknown]> = new Array(calls.length);
    await Promise.all(
      [...bySlot.values()].map(async (idx) => {
        const p = redis.pipeline() as unknown as Record<string | symbol, (...a: unknown[]) => unknown>;
        for (const i of idx) p[calls[i]!.name]!(...calls[i]!.args);
        const res = ((await (p as unknown as Pipe).exec()) ?? []) as Array<[Error | null, unknown]>;
        idx.forEach((i, k) => (out[i] = res[k]!));
      }),
    );
    return out;
  };
  const proxy: Pipe = new Proxy({} as Pipe, {
    get(_t, prop) {
      if (prop === 'exec') return exec;
      if (prop === 'length') return calls.length;
      if (prop === 'then') return undefined;
      return (...args: unknown[]) => {
        calls.push({ name: prop, args });
        return proxy;
      };
    },
  });
  return proxy;
}
