import type { Redis } from 'ioredis';
import { masters } from './connect.js';
import { pipeline } from './pipeline.js';

/**
 * Every hash tag a namespace's keys live under, by what they hold. Keys that one atomic script touches
 * together share a tag (one slot on Redis Cluster); the key layouts under each tag are owned by
 * aggregate/keys.ts, insights/store.ts, notify/keys.ts and BullMQ.
 */
export function namespaceTags(prefix: string) {
  return {
    /** one aggregation window: its node and edge stats, claims, markers, links, exemplars */
    window: (start: number) => `{${prefix}:w${start}}`,
    /** watermark, closed windows, catalog, close lock, dead letters, rejections */
    meta: `{${prefix}:m}`,
    /** streamed subsegments waiting for their segment, and segment skeletons */
    parking: `{${prefix}:o}`,
    /** replay's raw batches (claim checks) */
    blobs: `{${prefix}:b}`,
    /** insights, their events, the lifecycle state and the outbox */
    insights: `{${prefix}:i}`,
    /** webhook subscriptions and deliveries */
    webhooks: `{${prefix}:h}`,
    /** BullMQ's queues (its `prefix` option) */
    queues: `{${prefix}}`,
  } as const;
}

/**
 * A namespace is everything one key prefix owns: our keys, each under a hash tag `{<prefix>:<part>}`
 * (windows, meta, parking, blobs, insights, webhooks), and BullMQ's, under `{<prefix>}:<queue>:…`. These
 * patterns match exactly those and nothing of another prefix (`{ti:…` does not match `{ti2:…`).
 */
export function namespacePatterns(prefix: string): string[] {
  return [`{${prefix}:*`, `{${prefix}}:*`];
}

/**
 * Deletes a namespace: replay's at its end, the demo's, each test's. Scans every master of a cluster
 * (or the one server) and unlinks what matches, key by key in slot-grouped pipelines, so it works the
 * same on Redis Cluster. `alsoReplays` takes the replay namespaces under the prefix too
 * (`<prefix>-replay-<random>`, left behind by a run that died). Returns how many keys went.
 */
export async function dropNamespace(redis: Redis, prefix: string, opts: { alsoReplays?: boolean } = {}): Promise<number> {
  const patterns = [...namespacePatterns(prefix), ...(opts.alsoReplays ? [`{${prefix}-replay-*`] : [])];
  let n = 0;
  for (const node of masters(redis)) {
    for (const pattern of patterns) {
      let cursor = '0';
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        cursor = next;
        if (keys.length) {
          const p = pipeline(redis);
          for (const k of keys) p.unlink(k);
          for (const [err, r] of (await p.exec()) ?? []) {
            if (err) throw err;
            n += Number(r);
          }
        }
      } while (cursor !== '0');
    }
  }
  return n;
}
