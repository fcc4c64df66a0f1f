import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { killAll, spawnServer, spawnWorker } from '../helpers/processes.js';
import { AggregateReader, buildGraph } from '../../src/aggregate/read.js';
import { keySpace } from '../../src/aggregate/keys.js';
import { uniquePrefix } from '../helpers/redis.js';
import { SHOP, traffic } from '../../src/sim/traffic.js';
import { freePort } from '../../src/util/net.js';

/** A private redis-server this test may kill: the shared one is never touched. */
async function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const r = new Redis(port, '127.0.0.1', { lazyConnect: true, retryStrategy: () => 100 });
  r.on('error', () => undefined);
  for (let i = 0; i < 100; i++) {
    try {
      await r.connect().catch(() => undefined);
      if ((await r.ping()) === 'PONG') break;
    } catch {
      await new Promise((res) => setTimeout(res, 50));
    }
  }
  r.disconnect();
  return child;
}

const post = (base: string, body: unknown) =>
  fetch(`${base}/TraceSegments`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(10_000) });

describe('Redis outage and graceful shutdown', () => {
  afterAll(killAll);

  it('answers 503 at once while Redis is down, recovers when it is back, and drains on SIGTERM', async () => {
    const port = await freePort();
    let redis = await startRedis(port);
    const url = `redis://127.0.0.1:${port}`;
    const keyPrefix = uniquePrefix('outage');
    const server = Object.assign(await spawnServer({ keyPrefix, env: { REDIS_URL: url } }), { keyPrefix });
    const gen = traffic({ seed: 4, services: SHOP, entry: 'api-gateway', startTime: 1_790_000_000, rate: 5 });
    const docs = () => Array.from({ length: 5 }, () => gen.next().value!.docs).flat().map((d) => JSON.stringify(d));

    const first = docs();
    expect((await post(server.baseUrl, { TraceSegmentDocuments: first })).status).toBe(200);
    // let the worker finish it: a job caught mid-way would finish on the restarted (empty) Redis
    const countIn = async (r: Redis) => {
      const g = buildGraph(await new AggregateReader(r, keySpace(server.keyPrefix), 60).readWindows(1_789_999_000, 1_790_010_000));
      return [...g.nodes.values()].filter((n) => !n.inferred && n.ref.type !== 'client').reduce((a, n) => a + n.stats.count, 0);
    };
    const before = new Redis(url);
    for (let i = 0; i < 200 && (await countIn(before)) < first.length; i++) await new Promise((r) => setTimeout(r, 50));
    expect(await countIn(before)).toBe(first.length);
    before.disconnect();

    redis.kill('SIGKILL');
    await new Promise((r) => redis.once('exit', r));
    // the request must come back (no hang) with a 503 the AWS SDK retries, not a 200 that loses data
    const refused = docs();
    const down = await post(server.baseUrl, { TraceSegmentDocuments: refused });
    expect(down.status).toBe(503);
    expect(down.headers.get('x-amzn-errortype')).toBe('ServiceUnavailableException');
    expect((await fetch(`${server.baseUrl}/readyz`, { signal: AbortSignal.timeout(10_000) })).status).toBe(503);
    expect((await fetch(`${server.baseUrl}/healthz`, { signal: AbortSignal.timeout(10_000) })).status).toBe(200);

    redis = await startRedis(port); // empty: it keeps nothing on disk
    let status = 0;
    let acceptedAfterRestart = 0;
    // a refused request is sent again, as the AWS SDK does: counted once whatever happened to the first try
    for (let i = 0; i < 100 && status !== 200; i++) {
      status = (await post(server.baseUrl, { TraceSegmentDocuments: refused })).status;
      if (status === 200) acceptedAfterRestart += refused.length;
      else await new Promise((r) => setTimeout(r, 100));
    }
    expect(status).toBe(200);

    // SIGTERM: stop accepting, flush open batches, finish active jobs, exit 0
    const accepted = docs();
    expect((await post(server.baseUrl, { TraceSegmentDocuments: accepted })).status).toBe(200);
    acceptedAfterRestart += accepted.length;
    server.child.kill('SIGTERM');
    const exit = await server.exited;
    expect(exit.code).toBe(0);

    // everything acknowledged is durable: a worker started afterwards counts all of it
    const worker = spawnWorker({ keyPrefix: server.keyPrefix, env: { REDIS_URL: url } });
    const check = new Redis(url);
    let counted = 0;
    for (let i = 0; i < 200 && counted < acceptedAfterRestart; i++) {
      counted = await countIn(check);
      if (counted < acceptedAfterRestart) await new Promise((r) => setTimeout(r, 100));
    }
    expect(counted).toBe(acceptedAfterRestart);
    check.disconnect();
    await worker.kill();
    redis.kill('SIGKILL');
  });
});
