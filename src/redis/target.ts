/**
 * Where Redis is, as one string every part of the service passes around: a `redis://` URL for one
 * server, or `redis-cluster://host:port,host:port,…` for a Redis Cluster (its seed nodes). Only
 * connect.ts and this module read it.
 */
export const CLUSTER_SCHEME = 'redis-cluster://';

export interface ClusterNode {
  host: string;
  port: number;
}

/** The target string of a cluster's seed nodes (`host:port` each). */
export function clusterTarget(nodes: readonly string[]): string {
  return CLUSTER_SCHEME + nodes.map((n) => n.trim()).join(',');
}

/** A cluster target's seed nodes; undefined for a single server's URL. */
export function clusterNodesOf(target: string): ClusterNode[] | undefined {
  if (!target.startsWith(CLUSTER_SCHEME)) return undefined;
  return target
    .slice(CLUSTER_SCHEME.length)
    .split(',')
    .filter(Boolean)
    .map((hp) => {
      const i = hp.lastIndexOf(':');
      return { host: hp.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(hp.slice(i + 1)) };
    });
}

/** The Redis a configuration names: its cluster nodes when set, else its URL (null: find one). */
export function configuredTarget(cfg: { redisUrl: string | null; redisClusterNodes: readonly string[] }): string | null {
  return cfg.redisClusterNodes.length ? clusterTarget(cfg.redisClusterNodes) : cfg.redisUrl;
}

/** How the Redis in use was found (for start-up lines and messages). */
export type RedisSource = 'REDIS_URL' | 'config' | 'local' | 'private' | 'REDIS_CLUSTER_NODES';
