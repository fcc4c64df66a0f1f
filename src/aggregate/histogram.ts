/**
 * Mergeable latency histogram: OpenTelemetry's base-2 exponential mapping at scale 5.
 * Bucket i holds values in (2^(i/32), 2^((i+1)/32)] milliseconds; reporting the bucket's geometric
 * midpoint is within 2^(1/64) - 1 ≈ 1.09 % of any value in it. Buckets are plain counters, so adding
 * two histograms (or HINCRBY-ing a Redis hash) merges them exactly.
 */
export const HISTOGRAM_SCALE = 5;
const SCALE_FACTOR = 2 ** HISTOGRAM_SCALE;
/** Values at or below this (ms) go to the zero bucket. */
export const ZERO_THRESHOLD_MS = 0.001;
export const ZERO_BUCKET = 'z';
export const MAX_RELATIVE_ERROR = 2 ** (1 / (2 * SCALE_FACTOR)) - 1;

/** Bucket key for a latency in milliseconds. */
export function bucketOf(ms: number): string {
  return bucketName(bucketIndex(ms));
}

/** Bucket of a latency in milliseconds as a number: -Infinity for the zero bucket (bucketOf without the string). */
export function bucketIndex(ms: number): number {
  if (!(ms > ZERO_THRESHOLD_MS)) return -Infinity;
  return Math.ceil(Math.log2(ms) * SCALE_FACTOR) - 1;
}

/** Bucket key of a bucketIndex() answer: bucketOf(ms) === bucketName(bucketIndex(ms)). */
export function bucketName(index: number): string {
  return index === -Infinity ? ZERO_BUCKET : String(index);
}

/** Representative value (ms) of a bucket: its geometric midpoint. */
export function bucketValue(bucket: string): number {
  if (bucket === ZERO_BUCKET) return 0;
  const i = Number(bucket);
  return 2 ** ((i + 0.5) / SCALE_FACTOR);
}

export type Histogram = Map<string, number>;

export function addTo(h: Histogram, bucket: string, n = 1): void {
  h.set(bucket, (h.get(bucket) ?? 0) + n);
}

export function mergeInto(target: Histogram, src: Iterable<[string, number]>): void {
  for (const [b, n] of src) addTo(target, b, n);
}

function sortedBuckets(h: Histogram): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const [b, n] of h) if (n > 0) out.push([b === ZERO_BUCKET ? -Infinity : Number(b), n]);
  return out.sort((a, b) => a[0] - b[0]);
}

/**
 * Nearest-rank quantiles (ms) for each q in qs (0 < q ≤ 1). Returns NaN for an empty histogram.
 * The true nearest-rank value lies in the returned bucket, so the error is at most MAX_RELATIVE_ERROR.
 */
export function quantiles(h: Histogram, qs: readonly number[]): number[] {
  const buckets = sortedBuckets(h);
  const total = buckets.reduce((s, [, n]) => s + n, 0);
  if (total === 0) return qs.map(() => NaN);
  return qs.map((q) => {
    const rank = Math.max(1, Math.ceil(q * total));
    let seen = 0;
    for (const [i, n] of buckets) {
      seen += n;
      if (seen >= rank) return i === -Infinity ? 0 : 2 ** ((i + 0.5) / SCALE_FACTOR);
    }
    const last = buckets[buckets.length - 1]![0];
    return 2 ** ((last + 0.5) / SCALE_FACTOR);
  });
}

/** Coarse view for the X-Ray API: [{Value (seconds), Count}] per non-empty bucket, ascending. */
export function toXrayHistogram(h: Histogram): Array<{ Value: number; Count: number }> {
  return sortedBuckets(h).map(([i, n]) => ({
    Value: i === -Infinity ? 0 : Number((2 ** ((i + 0.5) / SCALE_FACTOR) / 1000).toPrecision(6)),
    Count: n,
  }));
}
