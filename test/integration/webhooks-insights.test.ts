import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InsightStore } from '../../src/insights/store.js';
import { SAMPLE_ALL, type Scenario } from '../../src/sim/model.js';
import { shopServices } from '../../src/sim/scenarios/shop.js';
import { Simulation } from '../../src/sim/simulate.js';
import { Queue } from 'bullmq';
import { drainQueue } from '../helpers/stack.js';
import { QUEUE, bullPrefix } from '../../src/queue/queues.js';
import { dropPrefix, redisUrl, testRedis, bullConnection } from '../helpers/redis.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { startWebhookStack, type WebhookStack } from '../helpers/webhooks.js';

/**
 * End to end: an incident in traffic sent to PutTraceSegments → windows close → detection opens,
 * updates and closes an insight → the close processor's events reach a subscription, signed, in order,
 * each body the event exactly as the insight store recorded it.
 */

const W = 10;
// two hours back, so no timestamp is in the future; windows close on event time alone (huge idle)
const T0 = Math.floor((Date.now() / 1000 - 7200) / W) * W;

describe('insight events from live detection reach webhooks', () => {
  let stack: WebhookStack;
  let rx: Receiver;
  const redis = testRedis();

  beforeAll(async () => {
    stack = await startWebhookStack({ windowSeconds: W, allowedLatenessSeconds: 0, close: { tickSeconds: 1, idleSeconds: 100_000_000 } });
    rx = await startReceiver();
  });
  afterAll(async () => {
    await stack?.close();
    await rx?.close();
    if (stack) await dropPrefix(redis, stack.cfg.keyPrefix);
    redis.disconnect();
  });

  const put = async (docs: unknown[]) => {
    const r = await fetch(`${stack.base}/TraceSegments`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ TraceSegmentDocuments: docs.map((d) => JSON.stringify(d)) }) });
    expect(r.status).toBe(200);
  };
  /** every segment sent so far applied: only then may event time move past the incident */
  const drain = async () => {
    const q = new Queue(QUEUE.ingest, { connection: bullConnection(), prefix: bullPrefix(stack.cfg.keyPrefix) });
    await drainQueue(q, stack.server, 60_000).finally(() => q.close());
  };

  it('opened … closed, signed, in order, bodies as stored', async () => {
    const sub = (await stack.api('POST', '/v1/webhooks', { url: rx.url(), filters: { eventTypes: ['insight.opened', 'insight.updated', 'insight.closed'] } })).body;
    const scenario: Scenario = {
      name: 'webhook-e2e',
      description: 'the payment API fails half its calls for 40 s',
      seed: 7,
      start: T0,
      end: T0 + 150,
      services: shopServices(),
      traffic: { rate: 30, entries: [{ service: 'api-gateway', share: 1 }] },
      sampling: SAMPLE_ALL,
      incidents: [{ id: 'pay', kind: 'fault', target: 'api.payments.example.com', start: T0 + 80, end: T0 + 120, magnitude: 0.5 }],
    };
    let batch: unknown[] = [];
    for (const r of new Simulation(scenario).requests()) {
      batch.push(...r.docs);
      if (batch.length >= 400) {
        await put(batch);
        batch = [];
      }
    }
    if (batch.length) await put(batch);
    await drain();
    // quiet windows after the incident: one segment well later moves event time on, and the insight closes
    const last = [...new Simulation({ ...scenario, start: T0 + 400, end: T0 + 401, incidents: [] }).requests()][0]!;
    await put(last.docs);
    await drain();

    await rx.waitFor(1, 60_000, (r) => JSON.parse(r.body).type === 'insight.closed');
    const events = rx.received.map((r) => ({ r, e: JSON.parse(r.body) as { type: string; eventTime: number; insight: { id: string } } }));
    const wh = new Webhook(sub.secret);
    for (const { r } of events) expect(() => wh.verify(r.body, r.headers)).not.toThrow();
    const ids = new Set(events.map(({ e }) => e.insight.id));
    expect(ids.size).toBe(1);
    expect(events[0]!.e.type).toBe('insight.opened');
    expect(events.at(-1)!.e.type).toBe('insight.closed');
    const times = events.map(({ e }) => e.eventTime);
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    // byte for byte what the insight store (and so replay) recorded
    const stored = await new InsightStore(redis, stack.cfg.keyPrefix, 3600).events([...ids][0]!);
    expect(events.map(({ r }) => r.body)).toEqual(stored.map((e) => JSON.stringify(e)));
  });
});
