import type { Job } from 'bullmq';
import { afterAll, describe, expect, it } from 'vitest';
import { closeProcessor } from '../../jobs/close.js';
import { keySpace } from '../../src/aggregate/keys.js';
import { emptyLifecycle } from '../../src/insights/lifecycle.js';
import type { InsightEvent } from '../../src/insights/model.js';
import { InsightStore } from '../../src/insights/store.js';
import { withScripts } from '../../src/redis/scripts.js';
import { dropPrefix, testRedis, uniquePrefix } from '../helpers/redis.js';

/**
 * Insight events go to webhooks through an outbox written in the same MULTI as the insight itself: a
 * worker that dies between committing an insight and queueing its deliveries loses nothing, since the
 * next close tick (on any worker) hands the stranded events over first, in order.
 */
describe('insight event outbox', () => {
  const redis = withScripts(testRedis());
  const prefix = uniquePrefix('outbox');
  afterAll(async () => {
    await dropPrefix(redis, prefix);
    redis.disconnect();
  });

  const event = (n: number): InsightEvent => ({ type: n === 1 ? 'insight.opened' : 'insight.updated', eventTime: 1_700_000_000 + 60 * n, insight: { id: 'i-1', summary: `step ${n}` } }) as unknown as InsightEvent;

  it('hands over what a dead tick committed, once, in order, and keeps it while delivery fails', async () => {
    const store = new InsightStore(redis, prefix, 3600, { outbox: true });
    // a tick committed two events and died before queueing their deliveries
    await store.commit(emptyLifecycle(), [event(1), event(2)]);

    const tick = (onEvents: (e: InsightEvent[]) => Promise<void>) =>
      closeProcessor({
        redis,
        keys: keySpace(prefix),
        opts: { windowSeconds: 60, allowedLatenessSeconds: 0, retentionSeconds: 3600 },
        outbox: { peek: (n) => store.outbox(n), done: (n) => store.outboxDone(n) },
        onEvents,
      })({} as Job);

    // the delivery side is down: the tick fails and the events stay
    await expect(tick(() => Promise.reject(new Error('Redis hiccup')))).rejects.toThrow('Redis hiccup');
    expect((await store.outbox()).map((e) => e.insight.summary)).toEqual(['step 1', 'step 2']);

    const got: string[] = [];
    await tick(async (events) => {
      got.push(...events.map((e) => e.insight.summary));
    });
    expect(got).toEqual(['step 1', 'step 2']);
    expect(await store.outbox()).toEqual([]);

    // nothing is handed over twice
    await tick(async (events) => {
      got.push(...events.map((e) => e.insight.summary));
    });
    expect(got).toEqual(['step 1', 'step 2']);
  });

  it('is not written when nobody drains it (replay)', async () => {
    const store = new InsightStore(redis, `${prefix}-r`, 3600);
    await store.commit(emptyLifecycle(), [event(1)]);
    expect(await store.outbox()).toEqual([]);
    await dropPrefix(redis, `${prefix}-r`);
  });
});
