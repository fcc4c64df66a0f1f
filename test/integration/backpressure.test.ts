import dgram from 'node:dgram';
import { PutTraceSegmentsCommand, XRayClient } from '@aws-sdk/client-xray';
import { Queue } from 'bullmq';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.js';
import { dropPrefix, redisUrl, testRedis } from '../helpers/redis.js';
import { startWorker, type Running } from '../../src/runtime.js';
import { createMetrics } from '../../src/obs/metrics.js';
import { QUEUE, bullPrefix } from '../../src/queue/queues.js';

/**
 * Load shedding: with no worker running, jobs pile up in the ingest queue; past the limit the doors
 * refuse new documents (PutTraceSegments with ThrottledException, as the official SDK names it; UDP
 * by dropping and counting) and nothing more is queued. Once a worker catches up they accept again,
 * and exactly the documents that were acknowledged are counted.
 */
const SERVICE = 'backlog-svc';
const T0 = 1_790_000_000;
let seq = 0;
function doc(): string {
  const n = ++seq;
  const hex = n.toString(16).padStart(16, '0');
  return JSON.stringify({ trace_id: `1-6a8c2e00-${hex.padStart(24, '0')}`, id: hex, name: SERVICE, start_time: T0 + n / 1000, end_time: T0 + n / 1000 + 0.05 });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('ingest backlog over its limit', () => {
  let stack: Stack;
  let xray: XRayClient;
  let queue: Queue;
  let worker: Running | undefined;
  const udp = dgram.createSocket('udp4');
  beforeAll(async () => {
    // jobs of 5 documents, flushed at once; refuse at 3 waiting jobs, read every 50 ms
    stack = await startStack({ batch: { maxSegments: 5, maxWaitMs: 10 }, queue: { maxBacklogJobs: 3, backlogPollMs: 50 }, windowSeconds: 60 }, { worker: false });
    xray = new XRayClient({ endpoint: stack.baseUrl, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' }, maxAttempts: 1 });
    queue = new Queue(QUEUE.ingest, { connection: { url: redisUrl }, prefix: bullPrefix(stack.cfg.keyPrefix) });
  });
  afterAll(async () => {
    udp.close();
    xray?.destroy();
    await queue?.close();
    await worker?.close();
    await stack?.close();
    const redis = testRedis();
    if (stack) await dropPrefix(redis, stack.cfg.keyPrefix);
    redis.disconnect();
  });

  const metric = async (name: string, labels = '') => {
    const text = await (await fetch(`${stack.baseUrl}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `));
    return line ? Number(line.split(' ')[1]) : 0;
  };

  it('refuses with ThrottledException and drops datagrams while the workers are behind, then accepts again', async () => {
    let acknowledged = 0;
    let refusal: (Error & { $metadata?: { httpStatusCode?: number } }) | undefined;
    for (let i = 0; i < 100 && !refusal; i++) {
      const docs = Array.from({ length: 5 }, doc);
      try {
        const out = await xray.send(new PutTraceSegmentsCommand({ TraceSegmentDocuments: docs }));
        expect(out.UnprocessedTraceSegments).toEqual([]);
        acknowledged += docs.length;
      } catch (err) {
        refusal = err as typeof refusal;
      }
      await sleep(20);
    }
    expect(refusal?.name).toBe('ThrottledException');
    expect(refusal?.$metadata?.httpStatusCode).toBe(429);
    expect(refusal?.message).toMatch(/ingest backlog is \d+ jobs \(limit 3\)/);
    expect(acknowledged).toBeGreaterThanOrEqual(15);
    const waiting = await queue.getJobCountByTypes('waiting', 'delayed', 'prioritized');
    expect(waiting).toBeGreaterThanOrEqual(3);

    // readiness is not taken away: every door shares this backlog
    const ready = (await (await fetch(`${stack.baseUrl}/readyz`)).json()) as { ready: boolean; backlog: { throttling: boolean; limit: number } };
    expect(ready).toMatchObject({ ready: true, backlog: { throttling: true, limit: 3 } });
    expect(await metric('trace_insights_ingest_throttling')).toBe(1);

    // UDP: dropped and counted, nothing queued
    const header = '{"format": "json", "version": 1}\n';
    for (let i = 0; i < 10; i++) {
      await new Promise<void>((resolve, reject) => udp.send(header + doc(), stack.server.udpPort, '127.0.0.1', (err) => (err ? reject(err) : resolve())));
    }
    await sleep(200);
    expect(await metric('trace_insights_ingest_throttled_total', '{door="udp"}')).toBe(10);
    expect(await metric('trace_insights_ingest_throttled_total', '{door="http"}')).toBe(1);
    expect(stack.server.batcher.size).toBe(0);
    expect(await queue.getJobCountByTypes('waiting', 'delayed', 'prioritized')).toBe(waiting);

    // a worker catches up: the same request is taken again
    worker = await startWorker(stack.cfg, redisUrl, pino({ level: 'silent' }), createMetrics(), { closes: false });
    const again = Array.from({ length: 5 }, doc);
    let accepted = false;
    for (let i = 0; i < 300 && !accepted; i++) {
      try {
        await xray.send(new PutTraceSegmentsCommand({ TraceSegmentDocuments: again }));
        accepted = true;
        acknowledged += again.length;
      } catch (err) {
        expect((err as Error).name).toBe('ThrottledException');
        await sleep(100);
      }
    }
    expect(accepted).toBe(true);
    expect(await metric('trace_insights_ingest_throttling')).toBe(0);

    // exactly what was acknowledged is counted: nothing refused, nothing lost
    await stack.drain();
    const r = await fetch(`${stack.baseUrl}/v1/services/${SERVICE}/windows?from=${T0 - 60}&to=${T0 + 120}`);
    const body = (await r.json()) as { windows: Array<{ count: number }> };
    expect(body.windows.reduce((a, w) => a + w.count, 0)).toBe(acknowledged);
  });
});
