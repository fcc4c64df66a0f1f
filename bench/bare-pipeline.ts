import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { parseDocument } from '../src/ingest/parse.js';
import type { IngestJob, SlimDoc } from '../src/ingest/record.js';
import { ingestQueue } from '../src/queue/queues.js';
import { spawnNode, type Child } from './children.js';
import { startCpuMeter, type CpuUse } from './cpu-meter.js';
import type { NoopMessage } from './noop-worker.js';

const root = fileURLToPath(new URL('../', import.meta.url));
const noopWorker = fileURLToPath(new URL('./noop-worker.ts', import.meta.url));

export interface BareOptions {
  redisUrl: string;
  prefix: string;
  concurrency: number;
  /** documents per job */
  batchSize: number;
  cores: number;
  /** addBulk calls of this many jobs… */
  jobsPerAdd?: number;
  /** …with this many in flight */
  addsInFlight?: number;
  /** give up when no job completes for this long */
  stallMs?: number;
}

export interface BareResult {
  jobs: number;
  segments: number;
  seconds: number;
  perSecond: number;
  workerPeakRss?: number;
  cpu: CpuUse;
}

/** The ingest jobs the door would make of these documents: parsed, slimmed, in batches of `size`. */
export function buildJobs(texts: readonly string[], size: number, idPrefix: string): { jobs: IngestJob[]; segments: number } {
  const jobs: IngestJob[] = [];
  let docs: SlimDoc[] = [];
  let segments = 0;
  for (const text of texts) {
    const r = parseDocument(text);
    if (!r.ok) throw new Error(`bare pipeline: a generated document was refused: ${r.rejection.message}`);
    for (const d of r.docs) docs.push(d);
    segments += r.docs.length;
    if (docs.length >= size) {
      jobs.push({ id: `${idPrefix}-${jobs.length + 1}`, docs });
      docs = [];
    }
  }
  if (docs.length) jobs.push({ id: `${idPrefix}-${jobs.length + 1}`, docs });
  return { jobs, segments };
}

/**
 * The floor under the end-to-end figure: the same jobs through the same BullMQ queue (same options,
 * same retention) to a worker process whose processor does nothing. Times the first add to the last
 * completion.
 */
export async function runBare(jobs: readonly IngestJob[], segments: number, opts: BareOptions): Promise<BareResult> {
  const redis = new Redis(opts.redisUrl, { maxRetriesPerRequest: null });
  const queue = ingestQueue(redis, opts.prefix);
  const child: Child = spawnNode('noop-worker', ['--import', 'tsx'], [noopWorker], {
    REDIS_URL: opts.redisUrl,
    KEY_PREFIX: opts.prefix,
    WORKER_CONCURRENCY: String(opts.concurrency),
    BENCH_EXPECT_JOBS: String(jobs.length),
  }, { ipc: true, cwd: root });
  try {
    let lastProgress = Date.now();
    let onDone!: () => void;
    let onFail!: (err: Error) => void;
    const done = new Promise<void>((resolve, reject) => {
      onDone = resolve;
      onFail = reject;
    });
    let ready!: () => void;
    const isReady = new Promise<void>((r) => (ready = r));
    child.process.on('message', (m: NoopMessage) => {
      if (m.type === 'ready') ready();
      else {
        lastProgress = Date.now();
        if (m.type === 'done') {
          if (m.failed) onFail(new Error(`bare pipeline: ${m.failed} jobs failed`));
          else onDone();
        }
      }
    });
    void child.exited.then(({ code, signal }) => onFail(new Error(`noop worker exited (code ${code}, signal ${signal}):\n${child.output()}`)));
    await Promise.race([isReady, done]);
    const stall = setInterval(() => {
      if (Date.now() - lastProgress > (opts.stallMs ?? 60_000)) onFail(new Error('bare pipeline: no job completed for 60 s'));
    }, 1000);
    const meter = await startCpuMeter(redis, [child], opts.cores);
    const t0 = process.hrtime.bigint();
    const per = opts.jobsPerAdd ?? 20;
    let next = 0;
    const lane = async () => {
      for (;;) {
        const i = next;
        next += per;
        if (i >= jobs.length) return;
        await queue.addBulk(jobs.slice(i, i + per).map((data) => ({ name: 'batch', data, opts: { jobId: data.id } })));
      }
    };
    try {
      await Promise.all([Promise.all(Array.from({ length: opts.addsInFlight ?? 2 }, lane)), done]);
    } finally {
      clearInterval(stall);
    }
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpu = await meter.stop();
    return { jobs: jobs.length, segments, seconds, perSecond: segments / seconds, workerPeakRss: child.peakRss(), cpu };
  } finally {
    await child.stop();
    await queue.close().catch(() => undefined);
    redis.disconnect();
  }
}
