import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.js';
import { dropPrefix, redisUrl, testRedis, uniquePrefix, bullConnection } from '../helpers/redis.js';
import { killAll, spawnWorker, waitForWorkers, type WorkerProcess } from '../helpers/processes.js';
import { traffic, SHOP } from '../../src/sim/traffic.js';
import { Rng } from '../../src/sim/random.js';
import { QUEUE, bullPrefix } from '../../src/queue/queues.js';
import { keySpace, windowOf } from '../../src/aggregate/keys.js';
import { AggregateReader } from '../../src/aggregate/read.js';
import { nodeId } from '../../src/aggregate/graph-ids.js';
import { AggregateStore, claimAnswer, encodeApply } from '../../src/aggregate/store.js';
import { assemble } from '../../src/aggregate/assemble.js';
import { claimables, fold } from '../../src/aggregate/fold.js';
import { parseDocument } from '../../src/ingest/parse.js';
import type { SlimDoc } from '../../src/ingest/record.js';
import { expectGraph, expectedGraph, type Doc } from '../helpers/expected-graph.js';

/**
 * Acceptance: ≥ 200k segments through 2 worker processes, one SIGKILLed mid-stream and replaced; the
 * final totals equal the input exactly (resent documents count nothing).
 */

const WINDOW = 60;
const START = 1_700_000_000;
const UNIQUE_DOCS = 200_000;
const CONCURRENCY = 4;
// short locks so the killed worker's jobs come back in seconds, not BullMQ's default minute
const WORKER_ENV = { WORKER_LOCK_DURATION_MS: '10000', WORKER_STALLED_INTERVAL_MS: '2000' };

const post = async (base: string, path: string, body: unknown) => {
  const r = await fetch(base + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: r.status, body: (await r.json()) as any };
};

describe('exactly once across worker processes, one of them SIGKILLed', () => {
  let stack: Stack;
  let queue: Queue;
  const redis = testRedis();

  beforeAll(async () => {
    stack = await startStack({ windowSeconds: WINDOW, queue: { keepCompletedJobs: 100_000 } }, { worker: false });
    queue = new Queue(QUEUE.ingest, { connection: bullConnection(), prefix: bullPrefix(stack.cfg.keyPrefix) });
  });
  afterAll(async () => {
    await killAll();
    await stack?.close();
    await queue?.close();
    if (stack) await dropPrefix(redis, stack.cfg.keyPrefix);
    redis.disconnect();
  });

  it('counts ≥ 200k segments exactly once, resends included, after a worker is killed mid-stream', async () => {
    // --- input: seeded shop traffic, then resends mixed in
    const gen = traffic({ seed: 20261125, services: SHOP, entry: 'api-gateway', startTime: START, rate: 200 });
    const docs: Doc[] = [];
    while (docs.length < UNIQUE_DOCS) docs.push(...gen.next().value!.docs);
    const texts = docs.map((d) => JSON.stringify(d));
    const rng = new Rng(4242);
    const requests: string[][] = [];
    let resent = 0;
    for (let i = 0; i < texts.length; ) {
      const n = 50 + Math.floor(rng.next() * 451);
      const batch = texts.slice(i, i + n);
      i += n;
      // the daemon resends what it is unsure about: some of an earlier request, and the odd document twice in one
      if (requests.length > 10 && rng.next() < 0.3) {
        const old = requests[Math.floor(rng.next() * requests.length)]!;
        const k = Math.floor(rng.next() * 20);
        for (let j = 0; j < k; j++) batch.splice(Math.floor(rng.next() * batch.length), 0, old[Math.floor(rng.next() * old.length)]!);
        resent += k;
      }
      if (rng.next() < 0.1) {
        batch.push(batch[0]!);
        resent++;
      }
      requests.push(batch);
    }
    // resends of documents in the request itself and of ones already sent: unique ids count once
    expect(resent).toBeGreaterThan(1000);
    expect(new Set(docs.map((d) => `${d.trace_id}/${d.id}`)).size).toBe(docs.length);
    expect(docs.length).toBeGreaterThanOrEqual(200_000);
    const want = expectedGraph(docs);
    const lastEnd = docs.reduce((m, d) => Math.max(m, d.end_time as number), 0);
    const from = windowOf(START, WINDOW) - WINDOW;
    const to = windowOf(lastEnd, WINDOW) + 2 * WINDOW;

    // --- producer: the server half's intake (what PutTraceSegments calls after reading the body), with
    // its batcher and queue; up to 4 requests waiting for their batches to be durable at a time
    let submitted = 0;
    const producer = (async () => {
      const waiting: Array<Promise<void>> = [];
      for (const batch of requests) {
        const r = stack.server.intake.submit('http', batch);
        if (r.rejections.length) throw new Error(`refused: ${JSON.stringify(r.rejections[0])}`);
        waiting.push(r.queued);
        if (waiting.length >= 4) await waiting.shift();
        submitted++;
        await new Promise((r) => setImmediate(r));
      }
      await Promise.all(waiting);
    })();
    producer.catch(() => undefined);
    const until = async (what: string, cond: () => Promise<boolean> | boolean, detail: () => Promise<unknown> = async () => '', timeoutMs = 120_000) => {
      const deadline = Date.now() + timeoutMs;
      while (!(await cond())) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(await detail())}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };

    // --- two worker processes come up to a backlog while traffic keeps coming, so each is busy. The
    // queue is paused until both are up: one process starting seconds before the other could otherwise
    // count the whole backlog alone before anyone looks (seen on the cluster: 200k counted at the first look)
    await until('a backlog', () => submitted >= 0.35 * requests.length);
    await queue.pause();
    const spawn = () => spawnWorker({ keyPrefix: stack.cfg.keyPrefix, windowSeconds: WINDOW, concurrency: CONCURRENCY, env: WORKER_ENV });
    const victim = spawn();
    const survivor = spawn();
    await waitForWorkers(queue, [victim, survivor]);
    await queue.resume();

    // --- SIGKILL one once ≥ 30 % of the segments are counted, while it holds jobs
    const reader = new AggregateReader(redis, keySpace(stack.cfg.keyPrefix), WINDOW);
    const countedSoFar = async () => {
      let n = 0;
      for (const w of await reader.readWindows(from, to)) for (const s of w.nodes.values()) n += s.count;
      return n;
    };
    const heldBy = async (w: WorkerProcess) => (await queue.getActive()).filter((j) => j.processedBy === w.name).map((j) => j.id!);
    const progress = async () => ({ counted: await countedSoFar(), of: docs.length, submitted, requests: requests.length, jobs: await queue.getJobCounts('active', 'waiting', 'completed'), by: (await queue.getCompleted(0, -1)).reduce<Record<string, number>>((m, j) => ((m[j.processedBy ?? '?'] = (m[j.processedBy ?? '?'] ?? 0) + 1), m), {}), victim: victim.name });
    await until('30 % counted', async () => (await countedSoFar()) >= 0.3 * docs.length, progress);
    await until('the victim holding jobs', async () => (await heldBy(victim)).length > 0, progress);
    await victim.kill('SIGKILL');
    // what it held at its death: active, locked by a process that is gone; only the stalled check frees them
    const orphans = await heldBy(victim);
    expect(orphans.length, 'jobs the victim was processing when killed').toBeGreaterThan(0);
    const atKill = await countedSoFar();
    expect(atKill).toBeLessThan(docs.length);
    const replacement = spawn();
    await waitForWorkers(queue, [survivor, replacement]);

    await producer;
    await stack.drain(150_000);

    // --- nothing failed or was dead-lettered; the victim's jobs were finished by the others
    const counts = await queue.getJobCounts('completed', 'failed', 'active', 'waiting', 'delayed');
    expect(counts.failed).toBe(0);
    expect((counts.active ?? 0) + (counts.waiting ?? 0) + (counts.delayed ?? 0)).toBe(0);
    expect(await redis.llen(keySpace(stack.cfg.keyPrefix).deadLetters())).toBe(0);
    for (const id of orphans) {
      const j = await queue.getJob(id);
      expect(j, `job ${id}`).toBeDefined();
      expect(await j!.getState()).toBe('completed');
      expect(j!.stalledCounter, `job ${id} came back through the stalled check`).toBe(1);
      expect([survivor.name, replacement.name]).toContain(j!.processedBy);
    }
    expect(survivor.alive()).toBe(true);
    expect(replacement.alive()).toBe(true);

    // --- a queue that delivers a batch twice (same batch id, another job): the second delivery counts nothing
    const again = (await queue.getCompleted(0, 9)).filter((j) => j.name === 'batch');
    expect(again.length).toBe(10);
    for (const j of again) await queue.add('batch', j.data, { jobId: `${j.id}-again` });
    await stack.drain(60_000);
    for (const j of again) {
      const r = (await queue.getJob(`${j.id}-again`))!;
      expect(await r.getState()).toBe('completed');
      expect(r.returnvalue.counted, `redelivered ${j.id}`).toBe(0);
    }

    // --- the X-Ray service graph over the whole range: every node and edge exactly
    const g = await post(stack.baseUrl, '/ServiceGraph', { StartTime: from, EndTime: to });
    expect(g.status).toBe(200);
    expectGraph(g.body.Services, want);

    // --- the Redis hashes themselves: summed latency (µs) and histogram mass, exactly
    const keys = keySpace(stack.cfg.keyPrefix);
    const instrumented = new Set(docs.map((d) => d.name as string)); // inferred nodes have no hash of their own
    for (const name of instrumented) {
      const e = want.nodes.get(name)!;
      const type = want.types.get(name)!;
      let lt = 0;
      let hist = 0;
      for (let w = from; w < to; w += WINDOW) {
        const h = await redis.hgetall(keys.node(w, nodeId(type, name)));
        for (const [f, v] of Object.entries(h)) {
          if (f === 'lt') lt += Number(v);
          else if (f.startsWith('h')) hist += Number(v);
        }
      }
      expect(lt, `${name} latency µs`).toBe(e.latencyUs);
      expect(hist, `${name} histogram mass`).toBe(e.count);
    }
  });
});

describe('a job whose worker died between two windows of one batch', () => {
  const redis = testRedis();
  const prefix = uniquePrefix('half');
  afterAll(async () => {
    await dropPrefix(redis, prefix);
    redis.disconnect();
  });

  it('is retried without losing what the unapplied window was owed', async () => {
    const keys = keySpace(prefix);
    const opts = { windowSeconds: WINDOW, retentionSeconds: 3600, dedupeTtlSeconds: 3600, markerTtlSeconds: 3600 };
    const w0 = windowOf(START, WINDOW);
    // a segment that starts just before a window boundary and calls a dependency just after it
    const parsed = parseDocument(
      JSON.stringify({
        trace_id: `1-${w0.toString(16)}-${'ab'.repeat(12)}`,
        id: 'a1b2c3d4e5f60718',
        name: 'edge-of-window',
        origin: 'AWS::EC2::Instance',
        start_time: w0 + WINDOW - 0.1,
        end_time: w0 + WINDOW + 0.5,
        subsegments: [{ id: '1a2b3c4d5e6f7081', name: 'ledger', namespace: 'remote', start_time: w0 + WINDOW + 0.1, end_time: w0 + WINDOW + 0.4 }],
      }),
    );
    if (!parsed.ok) throw new Error(parsed.rejection.message);
    const job = { id: 'half-applied-1', docs: parsed.docs as SlimDoc[] };

    // the first run, as AggregateStore.applyBatch does it, up to the first window's application: then
    // the process dies (SIGKILL while its pipeline was on the way)
    const { segments } = assemble(job.docs);
    const owned = new Set<string>();
    for (const [w, members] of claimables(segments, WINDOW)) {
      const { flags, members: claimed } = claimAnswer(String(await redis.tiClaim(keys.seen(w), keys.claim(w, job.id), 3600, 3600, ...members)), members);
      claimed.forEach((m, i) => flags[i] === '1' && owned.add(m));
    }
    const deltas = fold(segments, owned, WINDOW);
    expect([...deltas.keys()].sort()).toEqual([w0, w0 + WINDOW]);
    const [n, ...rest] = encodeApply(keys, w0, job.id, deltas.get(w0)!, opts);
    expect(await redis.tiApply(n as number, ...rest)).toBe(1);

    // the retry: the first window is not applied again, the second gets its call
    const r = await new AggregateStore(redis, keys, opts).applyBatch(job);
    expect(r.windowsAlreadyApplied).toBe(1);
    const [first, second] = await new AggregateReader(redis, keys, WINDOW).readWindows(w0, w0 + 2 * WINDOW);
    expect([...first!.nodes.values()].map((s) => s.count)).toEqual([1]);
    expect([...second!.edges].map(([id, s]) => [id, s.count])).toEqual([[`${nodeId('AWS::EC2::Instance', 'edge-of-window')}>${nodeId('remote', 'ledger')}`, 1]]);
    // and nothing of the batch is left behind once it is applied
    expect(await redis.exists(keys.claim(w0, job.id))).toBe(0);
  });
});
