import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import calculateSlot from 'cluster-key-slot';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { clusterNodesOf } from '../../src/redis/target.js';
import { luaSource } from '../../src/redis/lua.js';
import { notifyLuaFragments } from '../../src/notify/scripts.js';
import { CloseLock } from '../../src/insights/close-lock.js';
import { keySpace } from '../../src/aggregate/keys.js';
import { SAMPLE_ALL, type Scenario } from '../../src/sim/model.js';
import { shopServices } from '../../src/sim/scenarios/shop.js';
import { Simulation } from '../../src/sim/simulate.js';
import { dropPrefix, redisUrl, testRedis } from '../helpers/redis.js';
import { startReceiver } from '../helpers/receiver.js';
import { startWebhookStack } from '../helpers/webhooks.js';

/**
 * Every Lua script of ours, enumerated from the source folders, is run against a real Redis Cluster by
 * the product doing its work (ingest with streamed subsegments and callers and callees in different
 * batches, window close, insights, webhook subscriptions, deliveries, redelivery, the sweep), while
 * MONITOR on every master records each script call (EVALSHA, or EVAL the first time). Each script must be seen, and every call's keys must
 * share one hash slot (a cluster would refuse the call otherwise, and a test on one server would not
 * notice).
 */

const root = fileURLToPath(new URL('../../src/', import.meta.url));
const scripts = new Map<string, string>(); // sha1 → folder/file
for (const folder of ['aggregate', 'insights', 'notify']) {
  for (const f of readdirSync(`${root}${folder}/lua`)) {
    // as sent: `--!include` lines expanded (lua.ts), with the fragments generated at load time
    const text = () => luaSource(new URL(`../../src/${folder}/lua/`, import.meta.url), f, folder === 'notify' ? notifyLuaFragments : {});
    if (f.endsWith('.lua')) scripts.set(createHash('sha1').update(text()).digest('hex'), `${folder}/${f}`);
  }
}

/** MONITOR prints arguments C-escaped (`\n`, `\"`, `\\`, `\xHH`): the script as it was sent. */
function unescapeMonitor(s: string): string {
  return s.replace(/\\(x[0-9a-fA-F]{2}|.)/g, (_m, e: string) => {
    if (e.length === 3) return String.fromCharCode(parseInt(e.slice(1), 16));
    return ({ n: '\n', r: '\r', t: '\t', a: '\x07', b: '\b' } as Record<string, string>)[e] ?? e;
  });
}

/** KEYS of a script call as MONITOR shows it: `evalsha <sha> <numkeys> <key>… <arg>…` (or `eval <script> …`). */
function keysOf(args: string[]): string[] {
  const n = Number(args[2]);
  return args.slice(3, 3 + n);
}

const W = 10;
const T0 = Math.floor((Date.now() / 1000 - 7200) / W) * W;

describe.skipIf(!process.env.TEST_ON_CLUSTER)('our Lua scripts on Redis Cluster', () => {
  const monitors: Redis[] = [];
  const cleanup: Array<() => Promise<unknown>> = [];
  afterAll(async () => {
    for (const m of monitors) m.disconnect();
    for (const c of cleanup.reverse()) await c().catch(() => undefined);
  });

  it('are all run by the product, each call within one hash slot', async () => {
    expect(redisUrl.startsWith('redis-cluster://')).toBe(true);
    const calls: Array<{ script: string; keys: string[] }> = [];
    for (const n of clusterNodesOf(redisUrl)!) {
      const m = await new Redis(n.port, n.host).monitor();
      m.on('monitor', (_time: string, args: string[]) => {
        const cmd = String(args[0]).toLowerCase();
        // ioredis sends EVALSHA, and the script itself (EVAL) the first time a node does not know it
        const sha = cmd === 'evalsha' ? String(args[1]) : cmd === 'eval' ? createHash('sha1').update(unescapeMonitor(String(args[1]))).digest('hex') : undefined;
        const script = sha && scripts.get(sha);
        if (script) calls.push({ script, keys: keysOf(args.map(String)) });
      });
      monitors.push(m as unknown as Redis);
    }

    const stack = await startWebhookStack({ windowSeconds: W, allowedLatenessSeconds: 0, close: { tickSeconds: 1, idleSeconds: 100_000_000 } }, pino({ level: process.env.DEBUG_LOG ? 'debug' : 'silent' }));
    const rx = await startReceiver();
    const redis = testRedis();
    cleanup.push(async () => {
      await stack.close();
      await rx.close();
      await dropPrefix(redis, stack.cfg.keyPrefix);
      redis.disconnect();
    });
    const put = async (docs: unknown[]) => {
      const r = await fetch(`${stack.base}/TraceSegments`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ TraceSegmentDocuments: docs.map((d) => JSON.stringify(d)) }) });
      expect(r.status).toBe(200);
    };
    const settle = () => new Promise((r) => setTimeout(r, 700));

    // a subscription, changed once
    const sub = (await stack.api('POST', '/v1/webhooks', { url: rx.url() })).body as { id: string };
    expect((await stack.api('PATCH', `/v1/webhooks/${sub.id}`, { description: 'cluster' })).status).toBe(200);

    const scenario: Scenario = {
      name: 'cluster-scripts',
      description: 'the payment API fails half its calls for 40 s',
      seed: 5,
      start: T0,
      end: T0 + 150,
      services: shopServices(),
      traffic: { rate: 20, entries: [{ service: 'api-gateway', share: 1 }] },
      sampling: SAMPLE_ALL,
      incidents: [{ id: 'pay', kind: 'fault', target: 'api.payments.example.com', start: T0 + 60, end: T0 + 100, magnitude: 0.5 }],
    };
    const requests = [...new Simulation(scenario).requests()];
    // a few requests come apart: a streamed subsegment before its segment (parked, then joined), and
    // a callee's segment a batch before its caller's (linked in Redis, resolved when the window closes)
    const early: unknown[] = [];
    const late: unknown[] = [];
    for (const r of requests.slice(0, 10)) {
      const [callee, ...rest] = r.docs as Array<Record<string, unknown> & { subsegments?: Array<Record<string, unknown>> }>;
      if (rest.length) {
        early.push(callee);
        late.push(...rest);
      } else late.push(callee);
      const seg = (rest.at(-1) ?? callee)!;
      const sub0 = seg.subsegments?.[0];
      if (sub0) {
        seg.subsegments = seg.subsegments!.slice(1);
        early.push({ ...sub0, trace_id: seg.trace_id, parent_id: seg.id, type: 'subsegment' });
      }
    }
    await put(early);
    await settle();
    await put(late);
    for (let i = 10; i < requests.length; i += 50) await put(requests.slice(i, i + 50).flatMap((r) => r.docs));
    await settle();
    // later traffic moves event time on: the windows close, the insight opens and closes
    await put([...new Simulation({ ...scenario, start: T0 + 400, end: T0 + 401, incidents: [] }).requests()][0]!.docs);
    await rx.waitFor(1, 60_000, (r) => JSON.parse(r.body).type === 'insight.closed');

    // a delivery sent again, and the sweep's tick
    const log = (await stack.api('GET', `/v1/webhooks/${sub.id}/deliveries`)).body as { deliveries: Array<{ id: string }> };
    expect((await stack.api('POST', `/v1/webhooks/${sub.id}/deliveries/${log.deliveries[0]!.id}/redeliver`)).status).toBeLessThan(300);
    // a close lease held long enough to be renewed (a tick's run is shorter than a third of its ttl)
    const lock = new CloseLock(redis, keySpace(stack.cfg.keyPrefix).closeLock(), { ttlMs: 300 });
    let lease = await lock.acquire();
    for (let i = 0; i < 100 && !lease; i++) lease = await new Promise((r) => setTimeout(r, 20)).then(() => lock.acquire());
    await new Promise((r) => setTimeout(r, 150));
    expect(await lease!.renew()).toBe(true);
    await lease!.release();
    const seen = () => new Set(calls.map((c) => c.script));
    for (let i = 0; i < 100 && seen().size < scripts.size; i++) await new Promise((r) => setTimeout(r, 100));

    expect([...scripts.values()].filter((s) => !seen().has(s)).sort()).toEqual([]);
    for (const c of calls) {
      const slots = new Set(c.keys.map((k) => calculateSlot(k)));
      expect(slots.size, `${c.script} ${c.keys.join(' ')}`).toBeLessThanOrEqual(1);
    }
  });
});
