import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeProcessor } from '../../jobs/close.js';
import { dueWindows } from '../../src/aggregate/close.js';
import { keySpace } from '../../src/aggregate/keys.js';
import { AggregateStore } from '../../src/aggregate/store.js';
import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { parseDocument } from '../../src/ingest/parse.js';
import type { SlimDoc } from '../../src/ingest/record.js';
import { createInsights } from '../../src/insights/build.js';
import { CloseAndJudge } from '../../src/insights/close-and-judge.js';
import { CloseLock } from '../../src/insights/close-lock.js';
import type { InsightEvent } from '../../src/insights/model.js';
import { SAMPLE_ALL, type Scenario } from '../../src/sim/model.js';
import { shopServices } from '../../src/sim/scenarios/shop.js';
import { Simulation } from '../../src/sim/simulate.js';
import { dropPrefix, testRedis, uniquePrefix } from '../helpers/redis.js';

/**
 * A closer whose lock expired mid-run (a long catch-up, a pause), or two closers racing over the same
 * windows, cannot record or hand over an insight event twice: the insight store's commit is fenced on
 * the lifecycle state it started from. Each run is compared with one closer alone on the same data.
 */

const W = 10;
const T0 = 1_785_000_000;
const scenario: Scenario = {
  name: 'close-fencing',
  description: 'the payment API fails half its calls for 40 s',
  seed: 7,
  start: T0,
  end: T0 + 150,
  services: shopServices(),
  traffic: { rate: 30, entries: [{ service: 'api-gateway', share: 1 }] },
  sampling: SAMPLE_ALL,
  incidents: [{ id: 'pay', kind: 'fault', target: 'api.payments.example.com', start: T0 + 80, end: T0 + 120, magnitude: 0.5 }],
};

/** The scenario's documents in batches of about 500, and one segment well later that moves event time on. */
function batches(): SlimDoc[][] {
  const out: SlimDoc[][] = [[]];
  const add = (docs: unknown[]) => {
    for (const d of docs) {
      const r = parseDocument(JSON.stringify(d));
      if (!r.ok) throw new Error(r.rejection.message);
      out.at(-1)!.push(...r.docs);
    }
    if (out.at(-1)!.length >= 500) out.push([]);
  };
  for (const r of new Simulation(scenario).requests()) add(r.docs);
  add([...new Simulation({ ...scenario, start: T0 + 400, end: T0 + 401, incidents: [] }).requests()][0]!.docs);
  return out.filter((b) => b.length);
}

const asText = (events: readonly InsightEvent[]) => events.map((e) => JSON.stringify(e));

describe('fenced close-and-judge', () => {
  const redis = testRedis();
  const others: Redis[] = [];
  const prefixes: string[] = [];
  const data = batches();
  let reference: string[];

  /** A namespace holding the scenario's aggregates, nothing closed yet. */
  const namespace = async (label: string): Promise<Config> => {
    const prefix = uniquePrefix(label);
    prefixes.push(prefix);
    const cfg = loadConfig({ overrides: { keyPrefix: prefix, windowSeconds: W, allowedLatenessSeconds: 0, logLevel: 'silent' } });
    const store = new AggregateStore(redis, keySpace(prefix), { windowSeconds: W, retentionSeconds: 3600, dedupeTtlSeconds: 3600, markerTtlSeconds: 3600 });
    for (const [i, docs] of data.entries()) await store.applyBatch({ id: `b${i}`, docs });
    return cfg;
  };
  /** A closer as another process has it: its own connection, detector cache and engine. */
  const process = (cfg: Config) => {
    const conn = testRedis();
    others.push(conn);
    return { redis: conn, ...createInsights(conn, cfg, { outbox: true }) };
  };

  beforeAll(async () => {
    const cfg = await namespace('fence-ref');
    const p = process(cfg);
    const r = await p.closer.run({ bound: await p.closer.liveBound(0) });
    expect(r.stopped).toBeUndefined();
    reference = asText(await p.store.feed());
    // the scenario's incident opens an insight and closes it again
    expect(reference.length).toBeGreaterThanOrEqual(2);
    expect(asText(await p.store.outbox(1000))).toEqual(reference);
  });

  afterAll(async () => {
    for (const p of prefixes) await dropPrefix(redis, p);
    for (const c of others) c.disconnect();
    redis.disconnect();
  });

  it('a closer whose lock was taken over mid-run commits nothing and hands nothing over', async () => {
    const cfg = await namespace('fence-takeover');
    const keys = keySpace(cfg.keyPrefix);
    const a = process(cfg);
    const b = process(cfg);
    // A pauses in its first window's detection, after closing every window, until B is done
    let paused!: () => void;
    let resume!: () => void;
    const atPause = new Promise<void>((r) => (paused = r));
    const gate = new Promise<void>((r) => (resume = r));
    const analyze = a.detector.analyze.bind(a.detector);
    let first = true;
    a.detector.analyze = async (w) => {
      if (first) {
        first = false;
        paused();
        await gate;
      }
      return analyze(w);
    };
    const deliveredA: InsightEvent[] = [];
    const deliveredB: InsightEvent[] = [];
    const tick = (p: typeof a, out: InsightEvent[]) => closeProcessor({ closer: p.closer, lock: new CloseLock(p.redis, keys.closeLock()), onEvents: async (e) => void out.push(...e) })({} as Job);

    const runA = tick(a, deliveredA);
    await atPause;
    expect(await tick(b, deliveredB)).toMatchObject({ skipped: 'another worker is closing windows' });
    // A's lock expires (deleted here): B takes over, finds every window closed, and judges them all
    await redis.del(keys.closeLock());
    const rB = await tick(b, deliveredB);
    expect(rB.closed).toEqual([]);
    expect(rB.stopped).toBeUndefined();
    resume();
    const rA = await runA;
    expect(rA.stopped).toBe('fenced');
    expect(rA.events).toBe(0);

    expect(asText(await a.store.feed())).toEqual(reference);
    expect(await a.store.outbox()).toEqual([]);
    expect(asText(deliveredB)).toEqual(reference);
    expect(deliveredA).toEqual([]);
    // a later tick of A has nothing left to do
    expect((await tick(a, deliveredA)).events).toBe(0);
    expect(deliveredA).toEqual([]);
    expect(asText(await a.store.feed())).toEqual(reference);
  });

  it('two closers racing over the same windows without a lock record each event once', async () => {
    const cfg = await namespace('fence-race');
    const closers = [process(cfg), process(cfg)].map((p) => new CloseAndJudge({ redis: p.redis, keys: keySpace(cfg.keyPrefix), engine: p.engine, store: p.store }, { windowSeconds: W, allowedLatenessSeconds: 0, retentionSeconds: 3600, commitEveryWindows: 2 }));
    const bound = await closers[0]!.liveBound(0);
    let fenced = 0;
    for (let i = 0; i < 100; i++) {
      const rs = await Promise.all(closers.map((c) => c.run({ bound })));
      fenced += rs.filter((r) => r.stopped === 'fenced').length;
      if (rs.every((r) => r.stopped === undefined)) break;
    }
    // they did race: some commits were fenced out
    expect(fenced).toBeGreaterThan(0);
    const { store } = process(cfg);
    expect(asText(await store.feed())).toEqual(reference);
    // nobody drained it: the outbox holds each event once, in order
    expect(asText(await store.outbox(1000))).toEqual(reference);
  });

  it('closers whose locks expire all the time (5 ms) still hand each event over, and record it once', async () => {
    const cfg = await namespace('fence-tiny');
    const keys = keySpace(cfg.keyPrefix);
    const delivered: string[] = [];
    let fenced = 0;
    const ticks = [process(cfg), process(cfg)].map((p) => {
      // judging a chunk of windows outlasts the lock: the other closer takes over meanwhile
      const analyze = p.detector.analyze.bind(p.detector);
      p.detector.analyze = async (w) => {
        await new Promise((r) => setTimeout(r, 3));
        return analyze(w);
      };
      const closer = new CloseAndJudge({ redis: p.redis, keys, engine: p.engine, store: p.store }, { windowSeconds: W, allowedLatenessSeconds: 0, retentionSeconds: 3600, commitEveryWindows: 3 });
      return closeProcessor({ closer, lock: new CloseLock(p.redis, keys.closeLock(), { ttlMs: 5 }), onEvents: async (e) => void delivered.push(...asText(e)) });
    });
    const { store } = process(cfg);
    const last = (await dueWindows(redis, keys, { windowSeconds: W, allowedLatenessSeconds: 0, retentionSeconds: 3600 }, Number(await redis.get(keys.watermark())))).at(-1);
    // each closer ticks on its own, as workers do
    const done = async () => (await store.loadState()).lastWindow === last && !(await store.outbox()).length;
    const loop = async (tick: (typeof ticks)[number]) => {
      for (let i = 0; i < 2000 && !(await done()); i++) {
        const r = await tick({} as Job);
        if (r.stopped === 'fenced') fenced++;
        if (r.skipped) await new Promise((res) => setTimeout(res, 1));
      }
    };
    await Promise.all(ticks.map(loop));
    expect(fenced).toBeGreaterThan(0);
    expect(asText(await store.feed())).toEqual(reference);
    expect(await store.outbox()).toEqual([]);
    // at least once, in order: every event, in the reference order of first appearance
    expect([...new Set(delivered)]).toEqual(reference);
  });
});
