import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import { freePort, spawnNode, waitFor } from './children.js';
import type { Corpus } from './corpus.js';
import { startCpuMeter, type CpuUse } from './cpu-meter.js';
import { sendAll } from './http-load.js';

const root = fileURLToPath(new URL('../', import.meta.url));
const sink = fileURLToPath(new URL('./http-sink.ts', import.meta.url));

export interface HttpFloorResult {
  seconds: number;
  perSecond: number;
  cpu: CpuUse;
}

/**
 * The HTTP floor: the same request bodies, the same load generator and concurrency, to a server that
 * reads each body and answers without parsing it. The door does all of this and more.
 */
export async function runHttpFloor(corpus: Corpus, redis: Redis, opts: { httpConcurrency: number; cores: number }): Promise<HttpFloorResult> {
  const port = await freePort();
  const child = spawnNode('http-sink', ['--import', 'tsx'], [sink], { PORT: String(port) }, { cwd: root });
  try {
    await waitFor('http sink', async () => child.output().includes('listening'), [child]);
    // warm both ends: the first requests pay for the JIT, which the door's warm-up also pays apart
    await sendAll(corpus.bodies.slice(0, 100), { port, concurrency: opts.httpConcurrency });
    const meter = await startCpuMeter(redis, [child], opts.cores);
    const t0 = process.hrtime.bigint();
    await sendAll(corpus.bodies, { port, concurrency: opts.httpConcurrency });
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpu = await meter.stop();
    return { seconds, perSecond: corpus.expected.segments / seconds, cpu };
  } finally {
    await child.stop();
  }
}
