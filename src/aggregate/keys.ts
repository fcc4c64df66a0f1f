import { namespaceTags } from '../redis/namespace.js';

/**
 * Every Redis key the aggregation owns. Keys of one window share the hash tag `{<prefix>:w<start>}`,
 * so one window's update is a single-slot, atomic script (Redis Cluster safe).
 */
export interface KeySpace {
  readonly prefix: string;
  /** Hash tag of a window. */
  tag(windowStart: number): string;
  /** Node stats of a window: counters and histogram buckets. */
  node(windowStart: number, nodeId: string): string;
  /** Edge stats of a window. */
  edge(windowStart: number, edgeId: string): string;
  /** Set of node ids with stats in the window. */
  nodes(windowStart: number): string;
  /** Set of edge ids with stats in the window. */
  edges(windowStart: number): string;
  /** Entities (trace_id, id) already counted in the window. */
  seen(windowStart: number): string;
  /** Outcome of a batch's claim in the window, kept until the batch is applied. */
  claim(windowStart: number, batchId: string): string;
  /** Marker: the batch's deltas for the window are applied. */
  applied(windowStart: number, batchId: string): string;
  /** Traced calls not yet matched with the callee's segment: sub id → edge id. */
  pendingCallers(windowStart: number): string;
  /** Segments whose caller is not yet known: parent_id → node id. */
  pendingCallees(windowStart: number): string;
  /** Resolved caller→alias→callee link counts: `edgeId>calleeNodeId` → count. */
  links(windowStart: number): string;
  /** A node's exemplar trace ids in the window (sorted set; exemplars.ts). */
  exemplars(windowStart: number, nodeId: string): string;
  /** Independent subsegments waiting for their segment, by time bucket: trace id → NDJSON. */
  orphans(bucket: number): string;
  /** Segments applied recently, by time bucket of their start: member of an entity → its segment. */
  skeletons(bucket: number): string;
  /** Present while independent subsegments are in the traffic (then segments leave skeletons). */
  streaming(): string;
  /** Largest event time seen (epoch seconds). */
  watermark(): string;
  /** Start of the newest closed window. */
  closedThrough(): string;
  /** Start of the first window closed (within the retention): where judging starts in a new namespace. */
  closedFrom(): string;
  /** Windows with data not yet closed (sorted set, score = window start); late data re-opens one. */
  openWindows(): string;
  /** Every node ever seen → last window start (for listing services). */
  catalog(): string;
  /** Raw documents of a replay batch (claim check), and the marker that it was applied. */
  blob(batchId: string): string;
  blobDone(batchId: string): string;
  /** Documents refused inside raw (replay) jobs: `<job>:<index>` → JSON with source, code and message. */
  rejected(): string;
  /** Held by the one process closing windows and running detection. */
  closeLock(): string;
  /** How many times each window of a day (start of the day, epoch seconds) was closed: window start → count. */
  closeGenerations(day: number): string;
  /** Jobs whose payload was invalid, with the reason. */
  deadLetters(): string;
}

export function keySpace(prefix: string): KeySpace {
  const tags = namespaceTags(prefix);
  const t = tags.window;
  return {
    prefix,
    tag: t,
    node: (w, id) => `${t(w)}:n:${id}`,
    edge: (w, id) => `${t(w)}:e:${id}`,
    nodes: (w) => `${t(w)}:N`,
    edges: (w) => `${t(w)}:E`,
    seen: (w) => `${t(w)}:seen`,
    claim: (w, b) => `${t(w)}:claim:${b}`,
    applied: (w, b) => `${t(w)}:done:${b}`,
    pendingCallers: (w) => `${t(w)}:pc`,
    pendingCallees: (w) => `${t(w)}:pe`,
    links: (w) => `${t(w)}:lk`,
    exemplars: (w, id) => `${t(w)}:x:${id}`,
    orphans: (b) => `${tags.parking}:${b}`,
    skeletons: (b) => `${tags.parking}:g:${b}`,
    streaming: () => `${tags.parking}:streaming`,
    watermark: () => `${tags.meta}:wm`,
    closedThrough: () => `${tags.meta}:closed`,
    closedFrom: () => `${tags.meta}:closed-from`,
    openWindows: () => `${tags.meta}:open`,
    catalog: () => `${tags.meta}:catalog`,
    deadLetters: () => `${tags.meta}:dead`,
    closeLock: () => `${tags.meta}:close-lock`,
    closeGenerations: (d) => `${tags.meta}:gen:${d}`,
    rejected: () => `${tags.meta}:rejected`,
    blob: (b) => `${tags.blobs}:${b}`,
    blobDone: (b) => `${tags.blobs}:done:${b}`,
  };
}

export function windowOf(epochSeconds: number, windowSeconds: number): number {
  return Math.floor(epochSeconds / windowSeconds) * windowSeconds;
}
