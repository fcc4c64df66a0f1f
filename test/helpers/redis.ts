import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { withScripts } from '../../src/redis/scripts.js';

/** The Redis tests use: TEST_REDIS_URL, else REDIS_URL, else the developer/CI default. */
export const redisUrl = process.env.TEST_REDIS_URL ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A key prefix no other test (or deployment) uses. */
export function uniquePrefix(label = 't'): string {
  return `test-${label}-${randomBytes(4).toString('hex')}`;
}

export function testRedis(): Redis {
  return withScripts(new Redis(redisUrl, { maxRetriesPerRequest: null }));
}

/** Deletes the keys of one prefix: ours (`{prefix:…}`) and BullMQ's (`{prefix}:…`), nothing else. */
export async function dropPrefix(redis: Redis, prefix: string): Promise<number> {
  let n = 0;
  for (const pattern of [`{${prefix}:*`, `{${prefix}}:*`]) {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      if (keys.length) n += await redis.unlink(...keys);
    } while (cursor !== '0');
  }
  return n;
}

/**
 * Deletes a prefix and the replay namespaces under it (`<prefix>-replay-<random>`): replay drops its own
 * namespace, so these only exist when a run died half-way.
 */
export async function dropPrefixAndReplays(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `{${prefix}-replay-*`, 'COUNT', 2000);
    cursor = next;
    if (keys.length) await redis.unlink(...keys);
  } while (cursor !== '0');
  await dropPrefix(redis, prefix);
}
