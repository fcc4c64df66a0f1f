/**
 * The bare pipeline's consumer (a child process of bench/ingest.ts): a BullMQ worker on the ingest
 * queue, configured like the real one (src/runtime.ts), whose processor does nothing. It reports over
 * IPC when it is ready and when it has finished the number of jobs it was told to expect.
 *
 * env: REDIS_URL, KEY_PREFIX, WORKER_CONCURRENCY, BENCH_EXPECT_JOBS
 */
import { Worker } from 'bullmq';
import { connect } from '../src/redis/connect.js';
import { QUEUE, bullPrefix } from '../src/queue/queues.js';

export type NoopMessage =
  | { type: 'ready' }
  | { type: 'progress'; completed: number; failed: number }
  | { type: 'done'; completed: number; failed: number };

const send = (m: NoopMessage) => process.send?.(m);
const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = process.env.KEY_PREFIX;
const concurrency = Number(process.env.WORKER_CONCURRENCY ?? 4);
const expect = Number(process.env.BENCH_EXPECT_JOBS ?? Infinity);
if (!prefix) throw new Error('KEY_PREFIX is required');

let completed = 0;
let failed = 0;
const worker = new Worker(QUEUE.ingest, async () => undefined, { connection: connect(url, 'worker'), prefix: bullPrefix(prefix), concurrency });
const check = () => {
  if (completed + failed === expect) send({ type: 'done', completed, failed });
};
worker.on('completed', () => {
  completed++;
  check();
});
worker.on('failed', () => {
  failed++;
  check();
});
worker.on('error', (err) => console.error(`noop worker: ${err.message}`));
const ticker = setInterval(() => send({ type: 'progress', completed, failed }), 1000);
await worker.waitUntilReady();
send({ type: 'ready' });

const stop = async () => {
  clearInterval(ticker);
  await worker.close().catch(() => undefined);
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
process.on('disconnect', () => void stop());
