import type { Redis } from 'ioredis';
import { masters } from './connect.js';
import { pipeline } from './pipeline.js';

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
