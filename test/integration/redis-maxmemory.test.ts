import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { killAll, spawnServer, spawnWorker, waitForWorkers, type WorkerProcess } from '../helpers/processes.js';
import { startPrivateRedis, type PrivateRedis } from '../helpers/private-redis.js';
import { uniquePrefix } from '../helpers/redis.js';
import { SHOP, traffic } from '../../src/sim/traffic.js';
import { Rng } from '../../src/sim/random.js';
import { QUEUE, bullPrefix } from '../../src/queue/queues.js';
import { keySpace, windowOf } from '../../src/aggregate/keys.js';
import { AggregateReader } from '../../src/aggregate/read.js';
import { parseMemoryInfo } from '../../src/redis/memory.js';

/**
 * Issue 12, part 2: Redis at maxmemory with noeviction. With no worker running, jobs pile up until the
 * doors refuse new documents for memory (ThrottledException, HTTP 429) — before Redis refuses any write
 * with OOM, the door's or a worker's. A worker then drains the queue; completed jobs go (retention), the
 * memory frees, the doors accept again, and the windows count exactly what was acknowledged.
 */

const WINDOW = 60;
const START = 1_790_000_000;
const MAXMEMORY_MB = 40;
const SHARE = 0.8;
const DOCS = 160_000;
const SENDERS = 4;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Outcome {
  status: number;
  errorType?: string;
  message?: string;
}

async function put(base: string, docs: readonly string[]): Promise<Outcome> {
  try {
    const r = await fetch(`${base}/TraceSegments`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ TraceSegmentDocuments: docs }),
      signal: AbortSignal.timeout(30_000),
    });
    const body = (await r.json()) as { UnprocessedTraceSegments?: unknown[]; message?: string };
    if (r.status === 200 && body.UnprocessedTraceSegments?.length) throw new Error(`refused as invalid: ${JSON.stringify(body.UnprocessedTraceSegments[0])}`);
    return { status: r.status, errorType: r.headers.get('x-amzn-errortype') ?? undefined, message: body.message };
  } catch (err) {
    return { status: 0, errorType: (err as Error).name, message: (err as Error).message };
  }
}

describe('Redis at maxmemory (noeviction)', () => {
  let redis: PrivateRedis | undefined;
  let queue: Queue | undefined;
  let check: Redis | undefined;
  afterAll(async () => {
    await killAll();
    await queue?.close().catch(() => undefined);
    check?.disconnect();
    await redis?.destroy();
  });

  it('sheds load before Redis refuses a write, loses nothing acknowledged, and accepts again once memory frees', async () => {
    const t0 = Date.now();
    redis = await startPrivateRedis({ maxmemory: `${MAXMEMORY_MB}mb` });
    check = new Redis(redis.url, { maxRetriesPerRequest: null });
    const keyPrefix = uniquePrefix('maxmem');
    // memory is the only guard here: the job count would never stop a 40 MB Redis in time
    const env = { REDIS_URL: redis.url, INGEST_MAX_BACKLOG_JOBS: '0', INGEST_MAX_MEMORY_SHARE: String(SHARE), INGEST_BACKLOG_POLL_MS: '100' };

    const gen = traffic({ seed: 4040, services: SHOP, entry: 'api-gateway', startTime: START, rate: 200 });
    const texts: string[] = [];
    let lastEnd = 0;
    while (texts.length < DOCS) {
      for (const d of gen.next().value!.docs) {
        texts.push(JSON.stringify(d));
        lastEnd = Math.max(lastEnd, d.end_time as number);
      }
    }
    const rng = new Rng(9);
    const requests: string[][] = [];
    for (let i = 0; i < texts.length; ) {
      const n = 100 + Math.floor(rng.next() * 401);
      requests.push(texts.slice(i, i + n));
      i += n;
    }

    const server = await spawnServer({ keyPrefix, role: 'server', windowSeconds: WINDOW, env });
    queue = new Queue(QUEUE.ingest, { connection: { url: redis.url, maxRetriesPerRequest: null }, prefix: bullPrefix(keyPrefix) });
    queue.on('error', () => undefined);
    const memory = async () => parseMemoryInfo(await check!.info('memory'));

    // --- senders: every request until it is acknowledged, backing off on 429 / 503 as the SDK does
    let next = 0;
    let acknowledged = 0;
    const outcomes: Array<Outcome & { at: number }> = [];
    let peakUsed = 0;
    const sender = async (id: number) => {
      const r = new Rng(500 + id);
      for (let i = next++; i < requests.length; i = next++) {
        for (let attempt = 0; ; attempt++) {
          const out = await put(server.baseUrl, requests[i]!);
          outcomes.push({ ...out, at: Date.now() });
          if (out.status === 200) {
            acknowledged += requests[i]!.length;
            break;
          }
          await sleep(Math.min(500, 25 * 2 ** attempt) * (0.5 + r.next()));
        }
      }
    };
    const sending = Promise.all(Array.from({ length: SENDERS }, (_, i) => sender(i)));
    sending.catch(() => undefined);
    const until = async (what: string, cond: () => Promise<boolean> | boolean, timeoutMs = 90_000) => {
      const deadline = Date.now() + timeoutMs;
      while (!(await cond())) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await sleep(50);
      }
    };
    const sampler = setInterval(() => void memory().then((m) => (peakUsed = Math.max(peakUsed, m.used)), () => undefined), 50);

    // --- no worker: the queue grows until the doors refuse for memory
    await until('the doors to throttle', () => outcomes.some((o) => o.status === 429));
    const tThrottled = Date.now();
    const firstRefusal = outcomes.find((o) => o.status === 429)!;
    expect(firstRefusal.errorType).toBe('ThrottledException');
    expect(firstRefusal.message).toMatch(/Redis memory is \d+ MB of its 40 MB maxmemory/);
    // they keep refusing while nothing drains, and Redis stays below its limit
    await sleep(2000);
    const ackedWhileThrottled = acknowledged;
    await sleep(1000);
    expect(acknowledged, 'nothing is acknowledged while throttling').toBe(ackedWhileThrottled);
    const atThrottle = await memory();
    expect(atThrottle.max).toBe(MAXMEMORY_MB * 1048576);
    expect(atThrottle.used).toBeLessThan(atThrottle.max);
    const waitingJobs = await queue.getJobCountByTypes('waiting');
    const metrics = await (await fetch(`${server.baseUrl}/metrics`)).text();
    expect(metrics).toMatch(/^trace_insights_ingest_throttling 1$/m);
    expect(metrics).toMatch(/^trace_insights_redis_maxmemory_bytes 41943040$/m);
    const ready = (await (await fetch(`${server.baseUrl}/readyz`)).json()) as { backlog?: { reason?: string } };
    expect(ready.backlog?.reason).toBe('memory');

    // --- a worker drains; completed jobs are removed, memory frees, the doors accept the rest
    const worker: WorkerProcess = spawnWorker({ keyPrefix, windowSeconds: WINDOW, concurrency: 4, env: { REDIS_URL: redis.url } });
    await waitForWorkers(queue, [worker]);
    const tWorker = Date.now();
    await sending;
    const tSent = Date.now();
    expect(acknowledged).toBe(texts.length);
    // the doors resumed (memory down to 80 % of the share) while the worker drained, and took the rest
    const acceptedAfterWorker = outcomes.filter((o) => o.status === 200 && o.at > tWorker).length;
    expect(acceptedAfterWorker, 'requests accepted once memory freed').toBeGreaterThan(0);

    const reader = new AggregateReader(check, keySpace(keyPrefix), WINDOW);
    const from = windowOf(START, WINDOW) - WINDOW;
    const to = windowOf(lastEnd, WINDOW) + 2 * WINDOW;
    const counted = async () => {
      let n = 0;
      for (const w of await reader.readWindows(from, to)) for (const s of w.nodes.values()) n += s.count;
      return n;
    };
    const busy = async () => Object.values(await queue!.getJobCounts('waiting', 'active', 'delayed', 'prioritized')).reduce((a, b) => a + b, 0);
    await until('the queue drained', async () => (await busy()) === 0 && (await counted()) >= texts.length).catch(async (err) => {
      throw new Error(`${(err as Error).message}: counted ${await counted()} of ${texts.length}, jobs ${JSON.stringify(await queue!.getJobCounts())}`);
    });
    clearInterval(sampler);
    const tDone = Date.now();

    // --- exactly what was acknowledged is counted; no write was ever refused for memory
    expect(await counted()).toBe(acknowledged);
    expect((await queue.getJobCounts('failed')).failed).toBe(0);
    expect(await check.llen(keySpace(keyPrefix).deadLetters())).toBe(0);
    const errorstats = await check.info('errorstats');
    expect(errorstats, 'Redis answered OOM to some command').not.toMatch(/errorstat_OOM/);
    expect(outcomes.filter((o) => o.status !== 200 && o.status !== 429), 'refusals other than ThrottledException').toEqual([]);
    expect(worker.output()).not.toMatch(/OOM/);
    expect(peakUsed).toBeLessThan(atThrottle.max);

    // --- retention lets the job memory go: at most keepCompletedJobs (10) finished jobs stay, and what is
    // left (mostly the dedupe sets: an hour of document ids) is below where the doors resume
    const after = await memory();
    expect(await queue.getJobCountByTypes('completed')).toBeLessThanOrEqual(10);
    expect(after.used).toBeLessThan(SHARE * 0.8 * after.max);
    expect((await put(server.baseUrl, texts.slice(0, 10))).status).toBe(200);

    console.log(
      JSON.stringify({
        acknowledged,
        throttled: outcomes.filter((o) => o.status === 429).length,
        waitingJobsAtThrottle: waitingJobs,
        usedMbAtThrottle: +(atThrottle.used / 1048576).toFixed(1),
        peakUsedMb: +(peakUsed / 1048576).toFixed(1),
        usedMbAfterDrain: +(after.used / 1048576).toFixed(1),
        secondsToThrottle: (tThrottled - t0) / 1000,
        secondsSendingWithWorker: (tSent - tWorker) / 1000,
        secondsDraining: (tDone - tSent) / 1000,
        secondsTotal: (Date.now() - t0) / 1000,
      }),
    );
  });
});
