import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import { withScripts } from './scripts.js';
import { clusterNodesOf } from './target.js';

export type Role = 'worker' | 'request';

/** Options of a connection for a role (for a cluster: of each node's connection). */
function roleOptions(role: Role, extra: RedisOptions): RedisOptions {
  return role === 'worker'
    ? { maxRetriesPerRequest: null, enableReadyCheck: true, ...extra }
    : // a command caught by a dropped connection fails too, rather than being re-sent after the HTTP
      // caller was told 503 (it would be counted although the caller will send it again)
      { maxRetriesPerRequest: 0, enableOfflineQueue: false, connectTimeout: 2000, commandTimeout: 5000, ...extra };
}

/**
 * A connection for a role: workers wait for Redis forever (BullMQ requires maxRetriesPerRequest null);
 * request paths fail fast so an HTTP caller gets a 503 instead of a hang. A `redis-cluster://` target
 * (target.ts) gives an ioredis Cluster client, typed as a Redis: the commands we use are the same, and
 * MOVED/ASK redirections, failovers and slot migrations are the client's business. Pipelines that span
 * hash slots go through pipeline.ts.
 */
export function connect(target: string, role: Role, extra: RedisOptions = {}, opts: { scripts?: boolean } = {}): Redis {
  const scripts = opts.scripts === false ? (r: Redis) => r : withScripts;
  const nodes = clusterNodesOf(target);
  if (!nodes) return scripts(new Redis(target, { lazyConnect: false, ...roleOptions(role, extra) }));
  const redisOptions = roleOptions(role, extra);
  const options: ClusterOptions = {
    redisOptions,
    enableReadyCheck: true,
    // a request path fails fast while the cluster is unreachable; a worker queues and waits
    enableOfflineQueue: redisOptions.enableOfflineQueue !== false,
    maxRedirections: 32,
    retryDelayOnFailover: 200,
    retryDelayOnTryAgain: 200,
    retryDelayOnClusterDown: 500,
    slotsRefreshTimeout: 2000,
    ...(extra.enableAutoPipelining ? { enableAutoPipelining: true } : {}),
  };
  return scripts(new Cluster(nodes, options) as unknown as Redis);
}

/** Whether a connection is a cluster client. */
export function isCluster(redis: Redis): boolean {
  return (redis as unknown as { isCluster?: boolean }).isCluster === true;
}

/**
 * The servers to scan or inspect: every master of a cluster, or the one server. Each is a plain Redis
 * connection the caller must not close (a cluster's are its own).
 */
export function masters(redis: Redis): Redis[] {
  return isCluster(redis) ? (redis as unknown as Cluster).nodes('master') : [redis];
}
