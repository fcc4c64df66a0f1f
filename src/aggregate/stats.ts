import { F } from './fold.js';
import { TIMING_FIELDS as T } from './fold-timing.js';
import { addTo, quantiles, type Histogram } from './histogram.js';

/** Counters and latency histogram of a node or an edge over some time. */
export interface Stats {
  count: number;
  ok: number;
  /** 4xx, throttles included */
  error: number;
  throttle: number;
  fault: number;
  latencySeconds: number;
  /** faults that originated in the node's own code */
  ownFault: number;
  /** faults passed up from a downstream call */
  passedFault: number;
  /** time not spent waiting on downstream calls */
  ownTimeSeconds: number;
  histogram: Histogram;
  /** own time per request (nodes; see fold-timing.ts) */
  ownHistogram: Histogram;
  /** caller's view of a call minus the callee's (edges; see fold-timing.ts) */
  gapHistogram: Histogram;
  /**
   * Per operation (fold-timing.ts): on a node its requests and their response times (coarse buckets);
   * on an edge the calls made by requests of that operation (histogram empty).
   */
  operations: Map<string, { count: number; histogram: Histogram }>;
  /** requests that started in the second half of the window, and their faults and throttles */
  lateCount: number;
  lateFault: number;
  lateThrottle: number;
}

export function emptyStats(): Stats {
  return { count: 0, ok: 0, error: 0, throttle: 0, fault: 0, latencySeconds: 0, ownFault: 0, passedFault: 0, ownTimeSeconds: 0, histogram: new Map(), ownHistogram: new Map(), gapHistogram: new Map(), operations: new Map(), lateCount: 0, lateFault: 0, lateThrottle: 0 };
}

/** Reads a stats hash as stored by the apply script. */
export function statsFromHash(h: Record<string, string>): Stats {
  const s = emptyStats();
  for (const [k, v] of Object.entries(h)) {
    const n = Number(v);
    if (k.startsWith(F.bucketPrefix)) addTo(s.histogram, k.slice(F.bucketPrefix.length), n);
    else if (k === F.count) s.count = n;
    else if (k.length > 1 && k[0] === T.gapBucketPrefix) addTo(s.gapHistogram, k.slice(1), n);
    else if (k === F.ok) s.ok = n;
    else if (k === F.error) s.error = n;
    else if (k === F.throttle) s.throttle = n;
    else if (k === F.fault) s.fault = n;
    else if (k === F.latencyUs) s.latencySeconds = n / 1e6;
    else if (k === F.ownFault) s.ownFault = n;
    else if (k === F.passedFault) s.passedFault = n;
    else if (k === F.ownTimeUs) s.ownTimeSeconds = n / 1e6;
    else if (k === T.lateCount) s.lateCount = n;
    else if (k === T.lateFault) s.lateFault = n;
    else if (k === T.lateThrottle) s.lateThrottle = n;
    else if (k[0] === T.operationPrefix) {
      const bar = k.lastIndexOf('|');
      const op = operation(s, k.slice(1, bar));
      const part = k.slice(bar + 1);
      if (part === T.operationCount) op.count += n;
      else addTo(op.histogram, part, n);
    }
    // after the exact names: 'ok', 'of' and 'ot' start with the own-time prefix too
    else if (k.length > 1 && k[0] === T.ownBucketPrefix) addTo(s.ownHistogram, k.slice(1), n);
  }
  return s;
}

function operation(s: Stats, op: string): { count: number; histogram: Histogram } {
  let o = s.operations.get(op);
  if (!o) s.operations.set(op, (o = { count: 0, histogram: new Map() }));
  return o;
}

export function mergeStats(into: Stats, s: Stats): Stats {
  into.count += s.count;
  into.ok += s.ok;
  into.error += s.error;
  into.throttle += s.throttle;
  into.fault += s.fault;
  into.latencySeconds += s.latencySeconds;
  into.ownFault += s.ownFault;
  into.passedFault += s.passedFault;
  into.ownTimeSeconds += s.ownTimeSeconds;
  into.lateCount += s.lateCount;
  into.lateFault += s.lateFault;
  into.lateThrottle += s.lateThrottle;
  for (const [b, n] of s.histogram) addTo(into.histogram, b, n);
  for (const [b, n] of s.ownHistogram) addTo(into.ownHistogram, b, n);
  for (const [b, n] of s.gapHistogram) addTo(into.gapHistogram, b, n);
  for (const [op, x] of s.operations) {
    const o = operation(into, op);
    o.count += x.count;
    for (const [b, n] of x.histogram) addTo(o.histogram, b, n);
  }
  return into;
}

/** The per-window summary our own API returns. Rates are 0..1; latencies in milliseconds. */
export interface StatsSummary {
  count: number;
  okCount: number;
  errorCount: number;
  throttleCount: number;
  faultCount: number;
  faultRate: number | null;
  errorRate: number | null;
  throttleRate: number | null;
  ownFaultCount: number;
  passedFaultCount: number;
  meanMs: number | null;
  ownTimeMeanMs: number | null;
  p50Ms: number | null;
  p90Ms: number | null;
  p95Ms: number | null;
  p99Ms: number | null;
}

const round = (x: number, d = 3) => Math.round(x * 10 ** d) / 10 ** d;

export function summarize(s: Stats): StatsSummary {
  const rate = (n: number) => (s.count ? round(n / s.count, 6) : null);
  const [p50, p90, p95, p99] = quantiles(s.histogram, [0.5, 0.9, 0.95, 0.99]).map((v) => (Number.isNaN(v) ? null : round(v)));
  return {
    count: s.count,
    okCount: s.ok,
    errorCount: s.error,
    throttleCount: s.throttle,
    faultCount: s.fault,
    faultRate: rate(s.fault),
    errorRate: rate(s.error),
    throttleRate: rate(s.throttle),
    ownFaultCount: s.ownFault,
    passedFaultCount: s.passedFault,
    meanMs: s.count ? round((s.latencySeconds * 1000) / s.count) : null,
    ownTimeMeanMs: s.count && (s.ownTimeSeconds > 0 || s.latencySeconds > 0) ? round((s.ownTimeSeconds * 1000) / s.count) : null,
    p50Ms: p50 ?? null,
    p90Ms: p90 ?? null,
    p95Ms: p95 ?? null,
    p99Ms: p99 ?? null,
  };
}
