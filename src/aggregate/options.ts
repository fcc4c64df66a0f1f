/** How the aggregation applies batches: window width and how long each kind of key is kept. */
export interface AggregateOptions {
  windowSeconds: number;
  /** TTL of window aggregates. */
  retentionSeconds: number;
  /** TTL of the de-duplication sets. */
  dedupeTtlSeconds: number;
  /** TTL of applied markers and claims. */
  markerTtlSeconds: number;
  /** TTL of link evidence waiting to be matched (pending callers/callees); default 1 h past lateness. */
  pendingTtlSeconds?: number;
}
