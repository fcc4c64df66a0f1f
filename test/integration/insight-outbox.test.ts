import type { Job } from 'bullmq';
import { afterAll, describe, expect, it } from 'vitest';
import { closeProcessor } from '../../jobs/close.js';
import { keySpace } from '../../src/aggregate/keys.js';
import { loadConfig } from '../../src/config/load.js';
import { createInsights } from '../../src/insights/build.js';
import { CloseLock } from '../../src/insights/close-lock.js';
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

  const event = (n: number): InsightEvent => ({ type: n === 1 ? 'insight.opened' : 'insight.updated', eventTime: 1_700_000_000 + 60 * n, insight: { id: 'i-1', startTime: 1_700_000_000, summary: `step ${n}` } }) as unknown as InsightEvent;

  it('hands over what a dead tick committed, once, in order, and keeps it while delivery fails', async () => {
    const cfg = loadConfig({ overrides: { keyPrefix: prefix, windowSeconds: 60, allowedLatenessSeconds: 0, logLevel: 'silent' } });
    const { store, closer } = createInsights(redis, cfg, { outbox: true });
    // a tick committed two events and died before queueing their deliveries
    expect(await store.commit(emptyLifecycle(), [event(1), event(2)], null)).toBe(true);

    const tick = (onEvents: (e: InsightEvent[]) => Promise<void>) => closeProcessor({ closer, lock: new CloseLock(redis, keySpace(prefix).closeLock()), onEvents })({} as Job);

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

  it('two drainers taking the same events remove only those, never events committed meanwhile', async () => {
    const store = new InsightStore(redis, `${prefix}-d`, 3600, { outbox: true });
    await store.commit(emptyLifecycle(), [event(1), event(2)], null);
    const got: string[] = [];
    let finish: (() => void) | undefined;
    // the first drainer is slow: the second hands over the same two, then a tick commits two more
    const slow = store.drainOutbox(
      async (events) => {
        got.push(...events.map((e) => `slow ${e.insight.summary}`));
        await new Promise<void>((resolve) => (finish = resolve));
      },
      { more: async () => false },
    );
    await new Promise((r) => setTimeout(r, 50));
    await store.drainOutbox(async (events) => void got.push(...events.map((e) => `fast ${e.insight.summary}`)));
    const s = emptyLifecycle();
    expect(await store.commit({ ...s, lastWindow: 60 }, [event(3), event(4)], null)).toBe(true);
    finish!();
    await slow;
    expect(got).toEqual(['slow step 1', 'slow step 2', 'fast step 1', 'fast step 2']);
    expect((await store.outbox()).map((e) => e.insight.summary)).toEqual(['step 3', 'step 4']);
    await dropPrefix(redis, `${prefix}-d`);
  });

  it('is not written when nobody drains it (replay)', async () => {
    const store = new InsightStore(redis, `${prefix}-r`, 3600);
    await store.commit(emptyLifecycle(), [event(1)], null);
    expect(await store.outbox()).toEqual([]);
    await dropPrefix(redis, `${prefix}-r`);
  });
});
