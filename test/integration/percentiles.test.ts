import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.js';
import { dropPrefix, redisUrl, testRedis } from '../helpers/redis.js';
import { killAll, spawnWorker, waitForWorkers } from '../helpers/processes.js';
import { Rng } from '../../src/sim/random.js';
import { QUEUE, bullPrefix } from '../../src/queue/queues.js';
import { keySpace, windowOf } from '../../src/aggregate/keys.js';
import { nodeId } from '../../src/aggregate/graph-ids.js';

/**
 * Acceptance: p50/p95/p99 within 2 % of the exact values over 100k log-normal latencies, also when the
 * segments are split across 3 worker processes; merging is exact, so one in-process worker gives the
 * very same histogram.
 */

const WINDOW = 60;
const W0 = windowOf(1_700_000_000, WINDOW);
const N = 100_000;
const SERVICE = 'checkout';
const ORIGIN = 'AWS::EC2::Instance';
const QS = [0.5, 0.95, 0.99] as const;

interface Run {
  stack: Stack;
  /** the node's hash: counters and histogram buckets */
  hash: Record<string, string>;
  window: { count: number; p50Ms: number; p95Ms: number; p99Ms: number };
}

/** 100k segments of one service in one window; durations log-normal (median 40 ms, σ 0.8). */
function latencyDocs(): { texts: string[]; exactMs: number[] } {
  const rng = new Rng(99);
  const texts: string[] = [];
  const ms: number[] = [];
  const round6 = (x: number) => Math.round(x * 1e6) / 1e6;
  for (let i = 0; i < N; i++) {
    const start = round6(W0 + 1 + (i * 55) / N);
    const end = round6(start + rng.logNormal(40, 0.8) / 1000);
    texts.push(
      JSON.stringify({
        trace_id: `1-${W0.toString(16)}-${rng.hex(24)}`,
        id: rng.hex(16),
        name: SERVICE,
        origin: ORIGIN,
        start_time: start,
        end_time: end,
        http: { request: { method: 'POST', url: 'http://checkout/pay' }, response: { status: 200 } },
      }),
    );
    // what a worker measures: end - start of the numbers it parsed, in ms
    ms.push((end - start) * 1000);
  }
  return { texts, exactMs: ms };
}

/** Nearest rank: the smallest value with at least q·n values at or below it. */
function nearestRank(sorted: readonly number[], q: number): number {
  return sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1]!;
}

async function putAll(stack: Stack, texts: readonly string[]): Promise<void> {
  const chunks: string[][] = [];
  for (let i = 0; i < texts.length; i += 2500) chunks.push(texts.slice(i, i + 2500));
  let next = 0;
  await Promise.all(
    [0, 1].map(async () => {
      while (next < chunks.length) {
        const body = JSON.stringify({ TraceSegmentDocuments: chunks[next++] });
        const r = await fetch(`${stack.baseUrl}/TraceSegments`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
        const json = (await r.json()) as { UnprocessedTraceSegments?: unknown[] };
        if (r.status !== 200 || json.UnprocessedTraceSegments?.length) throw new Error(`PutTraceSegments ${r.status}: ${JSON.stringify(json).slice(0, 300)}`);
      }
    }),
  );
}

async function readRun(stack: Stack): Promise<Run> {
  const redis = testRedis();
  try {
    const hash = await redis.hgetall(keySpace(stack.cfg.keyPrefix).node(W0, nodeId(ORIGIN, SERVICE)));
    const r = await fetch(`${stack.baseUrl}/v1/services/${SERVICE}/windows?from=${W0}&to=${W0 + WINDOW}`);
    expect(r.status).toBe(200);
    const body = (await r.json()) as { windows: Run['window'][] };
    expect(body.windows).toHaveLength(1);
    return { stack, hash, window: body.windows[0]! };
  } finally {
    redis.disconnect();
  }
}

const buckets = (h: Record<string, string>) => Object.fromEntries(Object.entries(h).filter(([k]) => k.startsWith('h')));

describe('percentiles from mergeable histograms', () => {
  const redis = testRedis();
  const stacks: Stack[] = [];
  let input: ReturnType<typeof latencyDocs>;
  let exact: number[];

  beforeAll(() => {
    input = latencyDocs();
    const sorted = [...input.exactMs].sort((a, b) => a - b);
    exact = QS.map((q) => nearestRank(sorted, q));
  });
  afterAll(async () => {
    await killAll();
    for (const s of stacks) {
      await s.close();
      await dropPrefix(redis, s.cfg.keyPrefix);
    }
    redis.disconnect();
  });

  let split: Run;

  it('p50/p95/p99 of 100k log-normal latencies split across 3 worker processes are within 2 % of exact', async () => {
    const stack = await startStack({ windowSeconds: WINDOW, queue: { keepCompletedJobs: 100_000 } }, { worker: false });
    stacks.push(stack);
    const queue = new Queue(QUEUE.ingest, { connection: { url: redisUrl }, prefix: bullPrefix(stack.cfg.keyPrefix) });
    try {
      const workers = [1, 2, 3].map(() => spawnWorker({ keyPrefix: stack.cfg.keyPrefix, windowSeconds: WINDOW, concurrency: 1 }));
      await waitForWorkers(queue, workers);
      await putAll(stack, input.texts);
      await stack.drain(120_000);
      expect((await queue.getJobCounts('failed')).failed).toBe(0);
      // the work really was split: every process applied some of the batches
      const done = await queue.getCompleted(0, -1);
      const by = new Map<string, number>();
      for (const j of done) by.set(j.processedBy ?? '?', (by.get(j.processedBy ?? '?') ?? 0) + j.data.docs.length);
      for (const w of workers) expect(by.get(w.name) ?? 0, `documents applied by worker ${w.pid}`).toBeGreaterThan(0);
      expect([...by.values()].reduce((a, b) => a + b, 0)).toBe(N);
    } finally {
      await queue.close();
      await killAll();
    }

    split = await readRun(stack);
    expect(split.window.count).toBe(N);
    expect(Object.values(buckets(split.hash)).reduce((a, b) => a + Number(b), 0)).toBe(N);
    const got = [split.window.p50Ms, split.window.p95Ms, split.window.p99Ms];
    QS.forEach((q, i) => {
      const rel = Math.abs(got[i]! - exact[i]!) / exact[i]!;
      expect(rel, `p${q * 100}: got ${got[i]} ms, exact ${exact[i]} ms`).toBeLessThanOrEqual(0.02);
    });
  });

  it('one in-process worker gives the identical histogram and percentiles', async () => {
    expect(split, 'the 3-process run').toBeDefined();
    const stack = await startStack({ windowSeconds: WINDOW });
    stacks.push(stack);
    await putAll(stack, input.texts);
    await stack.drain(120_000);
    const single = await readRun(stack);
    expect(buckets(single.hash)).toEqual(buckets(split.hash));
    expect(single.hash.c).toBe(String(N));
    expect(single.hash.lt).toBe(split.hash.lt);
    expect(single.window).toEqual(split.window);
  });
});
