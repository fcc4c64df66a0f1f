import { randomUUID } from 'node:crypto';
import type { Queue } from 'bullmq';
import { pino } from 'pino';
import { Webhook } from 'standardwebhooks';
import { afterAll, describe, expect, it } from 'vitest';
import { deliverQueue } from '../../src/queue/queues.js';
import { notifyKeys } from '../../src/notify/keys.js';
import { DeliveryStore } from '../../src/notify/delivery-store.js';
import { SubscriptionStore } from '../../src/notify/subscription-store.js';
import { Dispatcher } from '../../src/notify/dispatcher.js';
import { dropPrefix, testRedis, uniquePrefix } from '../helpers/redis.js';
import { killAll, spawnWorker, waitForWorkers } from '../helpers/processes.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { insightEvent } from '../helpers/webhooks.js';

/**
 * Acceptance: a worker process SIGKILLed while its request hangs at the receiver; another worker process
 * picks the delivery up once the lock lapses. The event arrives, with the same webhook-id on both
 * attempts, and the insight's next event only after it.
 */

const T = 1_750_000_000;
const ENV = {
  WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
  WEBHOOK_RETRY_SCHEDULE_SECONDS: '0.05,0.1,0.2',
  // the dead worker's job comes back ~3 s after its last lock renewal
  WORKER_LOCK_DURATION_MS: '3000',
  WORKER_STALLED_INTERVAL_MS: '1000',
};

describe('webhook delivery when a worker is killed mid-delivery', () => {
  const prefix = uniquePrefix('whkill');
  const redis = testRedis();
  let queue: Queue;
  let rx: Receiver;

  afterAll(async () => {
    await killAll();
    await queue?.close();
    await rx?.close();
    await dropPrefix(redis, prefix);
    redis.disconnect();
  });

  it('delivers the event after the worker holding it is SIGKILLed, with the same webhook-id', async () => {
    rx = await startReceiver();
    rx.reply((r) => (r.n === 1 ? 'hang' : { status: 204 }));
    const keys = notifyKeys(prefix);
    const subs = new SubscriptionStore(redis, keys, 3600);
    const deliveries = new DeliveryStore(redis, keys, { ttlSeconds: 3600, logMaxEntries: 1000, subscriptionTtlSeconds: 3600, disableAfterFailures: 20 });
    queue = deliverQueue(redis, prefix);
    const dispatcher = new Dispatcher({ subs, deliveries, queue, log: pino({ level: 'silent' }) });
    const sub = await subs.create({ url: rx.url() });

    const first = spawnWorker({ keyPrefix: prefix, env: ENV });
    await waitForWorkers(queue, [first]);
    const ins = randomUUID();
    const e1 = insightEvent({ insightId: ins, type: 'insight.opened', eventTime: T });
    const e2 = insightEvent({ insightId: ins, type: 'insight.updated', eventTime: T + 60 });
    const { ids } = await dispatcher.enqueueEvents([e1, e2]);
    const [id1, id2] = ids;

    // the first attempt is in flight at the receiver, which does not answer
    await rx.waitFor(1);
    expect((await deliveries.get(id1!))!.status).toBe('pending');
    await first.kill('SIGKILL');
    const second = spawnWorker({ keyPrefix: prefix, env: ENV });
    await waitForWorkers(queue, [second]);

    const got = await rx.waitFor(3, 60_000);
    expect(got.map((r) => r.headers['webhook-id'])).toEqual([id1, id1, id2]);
    const wh = new Webhook(sub.secret);
    expect(wh.verify(got[1]!.body, got[1]!.headers)).toEqual(e1);
    expect(wh.verify(got[2]!.body, got[2]!.headers)).toEqual(e2);
    expect(got[1]!.body).toBe(got[0]!.body);

    for (let i = 0; i < 100 && (await deliveries.get(id2!))!.status !== 'delivered'; i++) await new Promise((r) => setTimeout(r, 50));
    // the killed attempt counts: 2 attempts, the second delivered
    expect(await deliveries.get(id1!)).toMatchObject({ status: 'delivered', attempts: 2, lastResponseCode: 204 });
    expect(await deliveries.get(id2!)).toMatchObject({ status: 'delivered', attempts: 1 });
    expect(second.alive()).toBe(true);
  });
});
