import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { QUEUE, bullPrefix } from '../src/queue/queues.js';
import { AppliedCounter } from './applied.js';
import { assertAlive, freePort, spawnNode, waitFor, type Child } from './children.js';
import type { Corpus } from './corpus.js';
import { startCpuMeter, type CpuUse } from './cpu-meter.js';
import { sendAll, type LoadResult } from './http-load.js';

const root = fileURLToPath(new URL('../', import.meta.url));
const bin = fileURLToPath(new URL('../bin/trace-insights.js', import.meta.url));

export interface EndToEndOptions {
  redisUrl: string;
  prefix: string;
  windowSeconds: number;
  workerConcurrency: number;
  batchMaxSegments: number;
  httpConcurrency: number;
  cores: number;
  /** write CPU profiles of both processes here (server/, worker/) */
  profileDir?: string;
  /** give up when nothing is applied for this long */
  stallMs?: number;
  /** more environment for both children (the trace store's settings, say) */
  env?: Record<string, string>;
  /**
   * Once every segment is applied, wait for this too before stopping the children (the trace store
   * holding every document, say); after the warm-up as well, so its work is not timed.
   */
  settle?: (phase: 'warm-up' | 'timed') => Promise<void>;
  log: (line: string) => void;
}

/** What the door's own metrics say about the jobs it made. */
export interface DoorBatches {
  jobs: number;
  documents: number;
}

export interface EndToEndResult {
  seconds: number;
  perSecond: number;
  /** from the first request until the last was acknowledged (every document queued) */
  doorSeconds: number;
  load: LoadResult;
  batches: DoorBatches;
  serverPeakRss?: number;
  workerPeakRss?: number;
  cpu: CpuUse;
  jobCounts: Record<string, number>;
  /** from the first request until `settle` returned, when there is one */
  settledSeconds?: number;
  /** the monotonic clock at start and end, µs, for cutting profiles to the timed interval */
  fromUs: number;
  toUs: number;
}

async function scrapeBatches(port: number): Promise<DoorBatches> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const get = (name: string) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? ([\\d.e+]+)$`, 'm').exec(text)?.[1] ?? NaN);
  return { jobs: get('trace_insights_batch_documents_count'), documents: get('trace_insights_batch_documents_sum') };
}

/** Sends a corpus and waits until the workers have applied every one of its segment documents. */
async function pushThrough(corpus: Corpus, port: number, counter: AppliedCounter, children: Child[], opts: EndToEndOptions, label: string) {
  const want = corpus.expected.segments;
  let acked = 0;
  let ackedAt: bigint | undefined;
  let sendError: unknown;
  const t0 = process.hrtime.bigint();
  const sending = sendAll(corpus.bodies, { port, concurrency: opts.httpConcurrency, onAck: (n) => (acked = n) }).then(
    (r) => {
      ackedAt = process.hrtime.bigint();
      return r;
    },
    (err) => {
      sendError = err;
      throw err;
    },
  );
  sending.catch(() => undefined);
  let applied = 0;
  let lastChange = Date.now();
  let lastLog = Date.now();
  const stallMs = opts.stallMs ?? 60_000;
  for (;;) {
    if (sendError) throw sendError;
    assertAlive(...children);
    const n = await counter.count();
    if (n !== applied) lastChange = Date.now();
    applied = n;
    if (applied >= want) break;
    if (Date.now() - lastChange > stallMs && ackedAt) throw new Error(`${label}: stalled at ${applied} of ${want} applied for ${stallMs / 1000} s`);
    if (Date.now() - lastLog >= 5000) {
      lastLog = Date.now();
      const s = Number(process.hrtime.bigint() - t0) / 1e9;
      opts.log(`  ${label} ${s.toFixed(1)} s: ${acked}/${corpus.bodies.length} requests acknowledged, ${applied}/${want} segments applied`);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  const t1 = process.hrtime.bigint();
  const load = await sending;
  if (applied !== want) throw new Error(`${label}: ${applied} segments applied, ${want} sent`);
  return { t0, t1, ackedAt: ackedAt ?? t1, load };
}

/**
 * The real thing: `trace-insights server` and `trace-insights worker` as two child processes on a fresh
 * prefix; a warm-up corpus first (windows of its own), then the timed corpus.
 */
export async function runEndToEnd(corpus: Corpus, warmup: Corpus | undefined, opts: EndToEndOptions): Promise<EndToEndResult> {
  const port = await freePort();
  const env = {
    REDIS_URL: opts.redisUrl,
    KEY_PREFIX: opts.prefix,
    LOG_LEVEL: 'warn',
    HOST: '127.0.0.1',
    PORT: String(port),
    UDP_PORT: '0',
    WINDOW_SECONDS: String(opts.windowSeconds),
    WORKER_CONCURRENCY: String(opts.workerConcurrency),
    BATCH_MAX_SEGMENTS: String(opts.batchMaxSegments),
    // the counters' pipeline alone, as the floors beside it: without this the processes would find the
    // machine's PostgreSQL, create a trace_insights database there and write every document to it (about
    // halving the rate on 2 cores). The store's own cost is bench:traces' (which turns it on, in a schema of its own).
    TRACES_ENABLED: 'false',
    ...opts.env,
  };
  const prof = (role: string) => {
    if (!opts.profileDir) return [];
    const dir = `${opts.profileDir}/${role}`;
    mkdirSync(dir, { recursive: true });
    return ['--cpu-prof', '--cpu-prof-dir', dir];
  };
  const server = spawnNode('server', prof('server'), [bin, 'server'], env, { cwd: root });
  const worker = spawnNode('worker', prof('worker'), [bin, 'worker'], env, { cwd: root });
  const children = [server, worker];
  const queueRedis = new Redis(opts.redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue(QUEUE.ingest, { connection: queueRedis, prefix: bullPrefix(opts.prefix) });
  const pollRedis = new Redis(opts.redisUrl, { maxRetriesPerRequest: null });
  try {
    await waitFor('server', async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).ok, children);
    await waitFor('worker', async () => (await queue.getWorkers()).length > 0, children);
    if (warmup) {
      const t = Date.now();
      await pushThrough(warmup, port, new AppliedCounter(pollRedis, opts.prefix, warmup.windows), children, opts, 'warm-up');
      await opts.settle?.('warm-up');
      opts.log(`  warm-up: ${warmup.expected.segments} segments in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    }
    const before = await scrapeBatches(port);
    const meter = await startCpuMeter(pollRedis, children, opts.cores);
    const run = await pushThrough(corpus, port, new AppliedCounter(pollRedis, opts.prefix, corpus.windows), children, opts, 'end to end');
    const cpu = await meter.stop();
    let settledSeconds: number | undefined;
    if (opts.settle) {
      await opts.settle('timed');
      settledSeconds = Number(process.hrtime.bigint() - run.t0) / 1e9;
    }
    const serverPeakRss = server.peakRss();
    const workerPeakRss = worker.peakRss();
    const after = await scrapeBatches(port);
    const jobCounts = await queue.getJobCounts('completed', 'failed', 'waiting', 'active', 'delayed', 'prioritized');
    const seconds = Number(run.t1 - run.t0) / 1e9;
    return {
      seconds,
      perSecond: corpus.expected.segments / seconds,
      doorSeconds: Number(run.ackedAt - run.t0) / 1e9,
      load: run.load,
      batches: { jobs: after.jobs - before.jobs, documents: after.documents - before.documents },
      serverPeakRss,
      workerPeakRss,
      cpu,
      jobCounts,
      settledSeconds,
      fromUs: Number(run.t0 / 1000n),
      toUs: Number(run.t1 / 1000n),
    };
  } finally {
    // SIGTERM: both shut down gracefully, which is also when --cpu-prof writes the profiles
    const stopped = await Promise.all(children.map((c) => c.stop()));
    stopped.forEach((s, i) => {
      if (s.signal === 'SIGKILL') opts.log(`  ${children[i]!.label} did not stop within 15 s and was killed (no profile)`);
    });
    await queue.close().catch(() => undefined);
    queueRedis.disconnect();
    pollRedis.disconnect();
  }
}
