import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { inject } from 'vitest';
import type { ConnectionOptions } from 'bullmq';
import { connect } from '../../src/redis/connect.js';
import { dropNamespace } from '../../src/redis/namespace.js';
import { clusterNodesOf } from '../../src/redis/target.js';

/**
 * The Redis tests use: in the `cluster` project, the cluster its set-up started (test/cluster/setup.ts);
 * else TEST_REDIS_URL, else REDIS_URL, else the developer/CI default.
 */
export const redisUrl = (process.env.TEST_ON_CLUSTER ? inject('clusterTarget') : undefined) ?? process.env.TEST_REDIS_URL ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/**
 * The environment that points a child process (`trace-insights start`, `replay`, …) at the tests'
 * Redis: REDIS_URL for one server, REDIS_CLUSTER_NODES for a cluster.
 */
export function redisEnv(target: string = redisUrl): Record<string, string> {
  const nodes = clusterNodesOf(target);
  return nodes ? { REDIS_URL: '', REDIS_CLUSTER_NODES: nodes.map((n) => `${n.host}:${n.port}`).join(',') } : { REDIS_URL: target };
}

/**
 * A BullMQ connection to the tests' Redis: options BullMQ connects (and closes) by itself for one
 * server; a cluster client for a cluster (BullMQ cannot make one from a URL).
 */
export function bullConnection(): ConnectionOptions {
  return clusterNodesOf(redisUrl) ? connect(redisUrl, 'worker') : { url: redisUrl };
}

/** A key prefix no other test (or deployment) uses. */
export function uniquePrefix(label = 't'): string {
  return `test-${label}-${randomBytes(4).toString('hex')}`;
}

export function testRedis(): Redis {
  return connect(redisUrl, 'worker');
}

/** Deletes the keys of one prefix: ours (`{prefix:…}`) and BullMQ's (`{prefix}:…`), nothing else. */
export function dropPrefix(redis: Redis, prefix: string): Promise<number> {
  return dropNamespace(redis, prefix);
}

/**
 * Deletes a prefix and the replay namespaces under it (`<prefix>-replay-<random>`): replay drops its own
 * namespace, so these only exist when a run died half-way.
 */
export async function dropPrefixAndReplays(redis: Redis, prefix: string): Promise<void> {
  await dropNamespace(redis, prefix, { alsoReplays: true });
}
