/**
 * `npm run bench:webhooks` — insight events → deliveries → BullMQ deliver workers → a local HTTP receiver,
 * with the real signing, ordering and delivery log. By default 10,000 events (500 insights × 20 events) to
 * 20 subscriptions: 200,000 signed POSTs, all enqueued at once. Prints deliveries/s and the enqueue →
 * received latency (p50, p99) of that burst (mostly time spent queued), then the latency at a steady half
 * of the measured rate, next to two floors measured in the same run: the same receiver and HTTP client
 * without Redis or BullMQ, and BullMQ moving as many jobs through a no-op processor without HTTP.
 *
 *   npm run bench:webhooks
 *   npm run bench:webhooks -- --events 2000 --workers 1 --concurrency 64
 *
 * Flags (or BENCH_WH_<NAME> variables): --events, --subs, --insights, --workers (deliver worker processes,
 * 0 = in this process), --concurrency (per worker), --chunk (events per enqueue call, like one close tick),
 * --paced-seconds (length of the steady-rate latency phase), --quiet-wait (seconds to wait for an idle
 * machine), --redis-url (default: a private redis-server, so a shared Redis's other users do not skew it). Exits 1 unless every delivery arrived exactly as
 * signed; deletes every key it made.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { Webhook } from 'standardwebhooks';
import { z } from 'zod';
import { loadConfig } from '../src/config/load.js';
import type { InsightEvent } from '../src/insights/model.js';
import { createMetrics } from '../src/obs/metrics.js';
import { withScripts } from '../src/redis/scripts.js';
import { deliverQueue } from '../src/queue/queues.js';
import { DeliveryStore } from '../src/notify/delivery-store.js';
import { Dispatcher } from '../src/notify/dispatcher.js';
import { HttpSender } from '../src/notify/http-sender.js';
import { notifyKeys } from '../src/notify/keys.js';
import { deliveryConfig, startDelivery, type DeliveryHalf } from '../src/compose/delivery.js';
import { SubscriptionStore } from '../src/notify/subscription-store.js';
import { cpuSecondsOf, freePort, killAll, spawnNode, waitForQuiet, type Child } from './children.js';
import { dropPrefix } from './redis-footprint.js';

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const optionsSchema = z.object({
  events: int(1, 1_000_000).default(10_000),
  subs: int(1, 1000).default(20),
  insights: int(1, 1_000_000).default(500),
  workers: int(0, 16).default(1),
  concurrency: int(1, 1000).default(128),
  chunk: int(1, 100_000).default(100),
  quietWait: int(0, 3600).default(30),
  /** length of the steady-rate latency phase */
  pacedSeconds: int(1, 600).default(10),
  /** write a CPU profile of each worker process under .tmp/ */
  cpuProf: z.coerce.boolean().default(false),
  /** Redis to use; unset: a private redis-server of its own, so other users of a shared Redis do not skew the figures */
  redisUrl: z.string().optional(),
});

function parseArgs(argv: string[]) {
  const raw: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (k.startsWith('BENCH_WH_') && v) raw[k.slice(9).toLowerCase().replace(/_(\w)/g, (_, c: string) => c.toUpperCase())] = v;
  for (let i = 0; i < argv.length; i++) {
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(argv[i]!);
    if (!m) continue;
    raw[m[1]!.replace(/-(\w)/g, (_, c: string) => c.toUpperCase())] = m[2] ?? argv[++i]!;
  }
  return optionsSchema.parse(raw);
}

const root = fileURLToPath(new URL('..', import.meta.url));
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const quantile = (sorted: Float64Array, q: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? NaN;

/** The receiver: records each delivery's first arrival; verifies one signature in 100 with standardwebhooks. */
async function startReceiver(secrets: Map<string, string>) {
  const first = new Map<string, number>();
  let requests = 0;
  let badSignatures = 0;
  let verified = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const at = performance.now();
      requests++;
      const id = req.headers['webhook-id'] as string;
      if (!first.has(id)) first.set(id, at);
      if (requests % 100 === 1) {
        const secret = secrets.get(req.url!.slice(1));
        try {
          new Webhook(secret!).verify(Buffer.concat(chunks), req.headers as Record<string, string>);
          verified++;
        } catch {
          badSignatures++;
        }
      }
      res.writeHead(204).end();
    });
  });
  server.keepAliveTimeout = 60_000;
  server.maxRequestsPerSocket = 0;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    first,
    stats: () => ({ requests, badSignatures, verified }),
    reset: () => {
      first.clear();
      requests = badSignatures = verified = 0;
    },
    close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
}

function events(n: number, insights: number, t0: number): InsightEvent[] {
  const ids = Array.from({ length: insights }, () => randomUUID());
  const perInsight = Math.ceil(n / insights);
  const out: InsightEvent[] = [];
  for (let k = 0; out.length < n; k++) {
    for (const id of ids) {
      if (out.length >= n) break;
      const type = k === 0 ? 'insight.opened' : k === perInsight - 1 ? 'insight.closed' : 'insight.updated';
      const svc = { name: `svc-${id.slice(0, 4)}`, type: 'AWS::EC2::Instance' };
      const impact = { faultCount: 10 + k, okCount: 990, totalCount: 1000 + k };
      out.push({
        type,
        eventTime: t0 + k * 60,
        insight: {
          id,
          groupName: 'Default',
          state: type === 'insight.closed' ? 'CLOSED' : 'ACTIVE',
          categories: ['FAULT'],
          startTime: t0,
          endTime: type === 'insight.closed' ? t0 + k * 60 : null,
          rootCauseCandidates: [{ service: svc, score: 0.9, reason: 'own faults: 3.1× its baseline rate' }],
          impactedServices: [svc, { name: 'api-gateway', type: 'AWS::EC2::Instance' }],
          topAnomalousServices: [svc],
          clientRequestImpactStatistics: impact,
          rootCauseServiceRequestImpactStatistics: impact,
          summary: `Fault anomaly rooted in ${svc.name}, impacting 1 other service; ${impact.faultCount} of ${impact.totalCount} client requests faulted.`,
          evidence: { window: { start: t0 + k * 60 - 60, end: t0 + k * 60 } },
          lastUpdateTime: t0 + k * 60,
        },
      });
    }
  }
  return out;
}

/** The floor: the same HTTP client and receiver, `total` POSTs at the same concurrency, nothing else. */
async function bareHttp(port: number, total: number, concurrency: number): Promise<number> {
  const sender = new HttpSender();
  const url = new URL(`http://127.0.0.1:${port}/floor`);
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        const i = next++;
        await sender.send({ url, target: { address: '127.0.0.1', family: 4 }, headers: { 'webhook-id': `floor_${i}`, 'content-type': 'application/json' }, body: '{"type":"insight.updated"}', timeoutMs: 10_000 });
      }
    }),
  );
  sender.close();
  return total / ((performance.now() - t0) / 1000);
}

/** A throw-away redis-server on a free port (no persistence), stopped at the end. */
async function privateRedis(): Promise<{ url: string; stop: () => void }> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'bench-wh-redis-'));
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction', '--dir', dir], { stdio: 'ignore' });
  const url = `redis://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    r.on('error', () => undefined);
    const ok = await r.connect().then(() => true, () => false);
    r.disconnect();
    if (ok) break;
    await new Promise((res) => setTimeout(res, 100));
  }
  process.once('exit', () => child.kill('SIGKILL'));
  return { url, stop: () => (child.kill('SIGTERM'), rmSync(dir, { recursive: true, force: true })) };
}

/**
 * The other floor: BullMQ alone, `total` jobs like ours (added one by one, as settled deliveries add the
 * next) through a no-op processor at the same concurrency, on the same Redis.
 */
async function bareBullmq(redisUrl: string, prefix: string, total: number, concurrency: number): Promise<number> {
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null, enableAutoPipelining: true });
  const queue = new Queue('floor', { connection, prefix: `{${prefix}}`, defaultJobOptions: { removeOnComplete: true } });
  const e = 'f'.repeat(32);
  for (let i = 0; i < total; i += 1000) await queue.addBulk(Array.from({ length: Math.min(1000, total - i) }, (_, k) => ({ name: 'deliver', data: { d: `msg_${String(i + k).padStart(32, '0')}`, r: 0, s: 'wh_x', e }, opts: { jobId: `f${i + k}-0` } })));
  let done = 0;
  const t0 = performance.now();
  let worker: Worker | undefined;
  await new Promise<void>((resolve) => {
    worker = new Worker('floor', async () => (++done === total ? resolve() : undefined, 'delivered'), { connection: new Redis(redisUrl, { maxRetriesPerRequest: null, enableAutoPipelining: true }), prefix: `{${prefix}}`, concurrency });
  });
  const rate = total / ((performance.now() - t0) / 1000);
  await worker!.close();
  await queue.close();
  connection.disconnect();
  return rate;
}

async function main(): Promise<number> {
  const o = parseArgs(process.argv.slice(2));
  const own = o.redisUrl ? undefined : await privateRedis();
  const redisUrl = o.redisUrl ?? own!.url;
  const prefix = `bench-wh-${randomBytes(4).toString('hex')}`;
  const redis = withScripts(new Redis(redisUrl, { maxRetriesPerRequest: null }));
  const cfg = loadConfig({ overrides: { keyPrefix: prefix, logLevel: 'warn', webhooks: { allowPrivateTargets: true, concurrency: o.concurrency } } });
  const d = deliveryConfig(cfg);
  const keys = notifyKeys(prefix);
  const subs = new SubscriptionStore(redis, keys, 3600);
  const deliveries = new DeliveryStore(redis, keys, { ttlSeconds: 3600, logMaxEntries: d.logMaxEntries, subscriptionTtlSeconds: 3600, disableAfterFailures: d.disableAfterFailures });
  const queue = deliverQueue(redis, prefix);
  const log = pino({ level: 'warn' });
  const dispatcher = new Dispatcher({ subs, deliveries, queue, log });
  const secrets = new Map<string, string>();
  const rx = await startReceiver(secrets);
  const workers: Child[] = [];
  let inline: DeliveryHalf | undefined;
  const cleanup = async () => {
    await inline?.close();
    await Promise.all(workers.map((w) => w.stop()));
    await killAll();
    await queue.close();
    await rx.close();
    const n = await dropPrefix(redis, prefix);
    console.log(`cleanup: deleted ${fmt(n)} keys of ${prefix}`);
    redis.disconnect();
    own?.stop();
  };
  try {
    const total = o.events * o.subs;
    console.log(`redis: ${own ? `a private redis-server (${redisUrl})` : redisUrl}`);
    console.log(`bench:webhooks — ${fmt(o.events)} events (${fmt(o.insights)} insights) × ${o.subs} subscriptions = ${fmt(total)} deliveries; ${o.workers || 'in-process'} worker${o.workers === 1 ? '' : 's'} × concurrency ${o.concurrency}`);
    const quiet = await waitForQuiet(o.quietWait);
    console.log(`machine: ${quiet.busyCores.toFixed(2)} cores busy with other work before the run`);

    const floor = await bareHttp(rx.port, 20_000, o.concurrency * Math.max(1, o.workers));
    console.log(`floor: bare HTTP POSTs, same client and receiver, no Redis/BullMQ: ${fmt(floor)}/s`);
    const bull = await bareBullmq(redisUrl, prefix, 20_000, o.concurrency);
    console.log(`floor: bare BullMQ, same Redis and concurrency, no-op processor, no HTTP: ${fmt(bull)} jobs/s`);
    rx.reset();

    for (let i = 0; i < o.subs; i++) {
      const s = await subs.create({ url: `http://127.0.0.1:${rx.port}/sub${i}` });
      secrets.set(`sub${i}`, s.secret);
    }
    if (o.workers === 0) {
      inline = await startDelivery(cfg, redisUrl, withScripts(new Redis(redisUrl, { maxRetriesPerRequest: null })), log, createMetrics());
    } else {
      for (let i = 0; i < o.workers; i++) {
        workers.push(
          spawnNode(`worker-${i}`, o.cpuProf ? ['--cpu-prof', '--cpu-prof-dir=.tmp'] : [], ['bin/trace-insights.js', 'worker'], { REDIS_URL: redisUrl, KEY_PREFIX: prefix, LOG_LEVEL: 'warn', WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true', WEBHOOK_CONCURRENCY: String(o.concurrency), WORKER_CONCURRENCY: '1' }, { cwd: root }),
        );
      }
      // ready when each has registered on the deliver queue
      for (let t = 0; (await queue.getWorkers()).length < o.workers; t++) {
        if (t > 600) throw new Error(`workers not ready:\n${workers.map((w) => w.output()).join('\n')}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }

    const redisPid = Number(/process_id:(\d+)/.exec(await redis.info('server'))?.[1]);
    const cpu = () => ({ bench: process.cpuUsage(), workers: workers.map((w) => w.cpuSeconds() ?? 0), redis: cpuSecondsOf(redisPid) ?? NaN });
    /**
     * Enqueues `evs` in chunks (at most `pace` deliveries/s when given) and waits until the receiver has
     * every delivery; returns when each was enqueued and first received.
     */
    const phase = async (evs: InsightEvent[], pace?: number, chunk = o.chunk) => {
      rx.reset();
      const want = evs.length * o.subs;
      const enqueuedAt = new Map<string, number>();
      const t0 = performance.now();
      let enqueueDone = 0;
      const enqueue = (async () => {
        for (let i = 0; i < evs.length; i += chunk) {
          if (pace) {
            const due = t0 + ((i * o.subs) / pace) * 1000;
            if (due > performance.now()) await new Promise((r) => setTimeout(r, due - performance.now()));
          }
          const at = performance.now();
          const { ids } = await dispatcher.enqueueEvents(evs.slice(i, i + chunk));
          for (const id of ids) enqueuedAt.set(id, at);
        }
        enqueueDone = performance.now();
      })();
      let last = -1;
      let lastChange = performance.now();
      for (;;) {
        await new Promise((r) => setTimeout(r, process.env.BENCH_WH_TRACE ? 1000 : 100));
        const n = rx.first.size;
        if (n >= want) break;
        if (n !== last) [last, lastChange] = [n, performance.now()];
        if (process.env.BENCH_WH_TRACE) console.log(`  t=${((performance.now() - t0) / 1000).toFixed(1)}s received ${fmt(n)}`);
        if (performance.now() - lastChange > 30_000) throw new Error(`stalled at ${fmt(n)} of ${fmt(want)} deliveries`);
        for (const w of workers) if (!w.alive()) throw new Error(`${w.label} exited:\n${w.output()}`);
      }
      await enqueue;
      let t1 = 0;
      const lat = new Float64Array(rx.first.size);
      let i = 0;
      for (const [id, at] of rx.first) {
        lat[i++] = at - enqueuedAt.get(id)!;
        if (at > t1) t1 = at;
      }
      lat.sort();
      return { want, seconds: (t1 - t0) / 1000, enqueueSeconds: (enqueueDone - t0) / 1000, lat, st: rx.stats(), ids: [...rx.first.keys()] };
    };

    const commandStats = async () => {
      const m = new Map<string, { calls: number; usec: number }>();
      for (const line of (await redis.info('commandstats')).split('\n')) {
        const x = /^cmdstat_(\S+):calls=(\d+),usec=(\d+)/.exec(line);
        if (x) m.set(x[1]!, { calls: Number(x[2]), usec: Number(x[3]) });
      }
      return m;
    };
    // 1. throughput: every event at once (10,000 events ≈ 70 close ticks' worth, in chunks of --chunk)
    const stats0 = await commandStats();
    const cpu0 = cpu();
    const burst = await phase(events(o.events, o.insights, 1_750_000_000));
    const cpu1 = cpu();
    const stats1 = await commandStats();
    const rate = burst.want / burst.seconds;
    console.log(`enqueue: ${fmt(o.events)} events → ${fmt(total)} deliveries recorded in ${burst.enqueueSeconds.toFixed(1)} s`);
    console.log(`delivered: ${fmt(burst.ids.length)} of ${fmt(total)} (${fmt(burst.st.requests - burst.ids.length)} repeated requests) in ${burst.seconds.toFixed(1)} s`);
    console.log(`throughput: ${fmt(rate)} deliveries/s (target ≥ 2,000/s: ${rate >= 2000 ? 'met' : 'NOT met'}); ${(rate / floor).toFixed(2)}× the bare-HTTP floor, ${(rate / bull).toFixed(2)}× the bare-BullMQ floor`);
    const q = (lat: Float64Array) => `p50 ${quantile(lat, 0.5).toFixed(0)} ms, p99 ${quantile(lat, 0.99).toFixed(0)} ms, max ${quantile(lat, 1).toFixed(0)} ms`;
    console.log(`latency enqueue → received, all at once (mostly queueing): ${q(burst.lat)}`);
    const perK = (sec: number) => ((sec * 1000) / total).toFixed(3);
    const benchCpu = (cpu1.bench.user + cpu1.bench.system - cpu0.bench.user - cpu0.bench.system) / 1e6;
    const workerCpu = cpu1.workers.reduce((a, b) => a + b, 0) - cpu0.workers.reduce((a, b) => a + b, 0);
    console.log(`CPU per delivery: worker${o.workers === 1 ? '' : 's'} ${o.workers ? perK(workerCpu) : '(in bench)'} ms, Redis ${perK(cpu1.redis - cpu0.redis)} ms, bench process (enqueue + receiver${o.workers ? '' : ' + worker'}) ${perK(benchCpu)} ms`);
    if (own) {
      const top = [...stats1]
        .map(([k, v]) => ({ k, calls: v.calls - (stats0.get(k)?.calls ?? 0), usec: v.usec - (stats0.get(k)?.usec ?? 0) }))
        .sort((a, b) => b.usec - a.usec)
        .slice(0, 5)
        .map((c) => `${c.k} ${(c.calls / total).toFixed(1)}× ${(c.usec / total).toFixed(0)} µs`);
      console.log(`Redis commands per delivery (count, time inside Redis): ${top.join(', ')}`);
    }
    // the log agrees: a sample of deliveries is recorded delivered
    const sample = burst.ids.filter((_, k) => k % 997 === 0);
    const views = await Promise.all(sample.map((id) => deliveries.get(id)));
    const logOk = sample.length > 0 && views.every((v) => v?.status === 'delivered');
    const ok1 = burst.ids.length === total && burst.st.badSignatures === 0 && logOk;

    // 2. latency at a steady half of that rate (what a live system sees)
    const paceRate = Math.max(100, Math.round(rate / 2));
    const pacedEvents = Math.max(o.subs > 0 ? Math.ceil((paceRate * o.pacedSeconds) / o.subs) : 0, 1);
    // one event (one delivery per subscription) at a time, as close ticks produce them
    const paced = await phase(events(pacedEvents, Math.min(o.insights, pacedEvents), 1_760_000_000), paceRate, 1);
    console.log(`latency enqueue → received at a steady ${fmt(paceRate)} deliveries/s (${fmt(paced.want)} deliveries): ${q(paced.lat)}`);
    const st = { verified: burst.st.verified + paced.st.verified, bad: burst.st.badSignatures + paced.st.badSignatures };
    console.log(`signatures: ${fmt(st.verified)} verified with standardwebhooks, ${st.bad} bad; delivery log sample (${sample.length}): ${logOk ? 'all delivered' : 'MISMATCH'}`);
    const ok = ok1 && paced.ids.length === paced.want && paced.st.badSignatures === 0;
    console.log(ok ? 'result: all delivered' : 'result: FAILED');
    return ok ? 0 : 1;
  } finally {
    await cleanup();
  }
}

main().then(
  (code) => process.exit(code),
  async (err) => {
    console.error(err);
    await killAll();
    process.exit(1);
  },
);
