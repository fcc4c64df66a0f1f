import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { AggregateReader, buildGraph } from '../../src/aggregate/read.js';
import { keySpace } from '../../src/aggregate/keys.js';
import { loadConfig } from '../../src/config/load.js';
import { createMetrics } from '../../src/obs/metrics.js';
import { connect } from '../../src/redis/connect.js';
import { dropNamespace } from '../../src/redis/namespace.js';
import { startServer, startWorker, type Running } from '../../src/runtime.js';
import { SHOP, traffic } from '../../src/sim/traffic.js';
import { canStartCluster, startCluster } from '../helpers/cluster.js';
import { uniquePrefix } from '../helpers/redis.js';
import { bullPrefix } from '../../src/queue/queues.js';

/** The port of the master serving a slot, read from CLUSTER NODES. */
function masterOf(nodes: string, slot: number): number {
  for (const line of nodes.split('\n')) {
    const f = line.split(' ');
    if (!f[2]?.includes('master') || f[2].includes('fail')) continue;
    const serves = f.slice(8).some((range) => {
      const [a, b] = range.split('-').map(Number);
      return slot >= a! && slot <= (b ?? a)!;
    });
    if (serves) return Number(/:(\d+)@/.exec(f[1]!)![1]);
  }
  throw new Error(`no master serves slot ${slot}`);
}

/**
 * Redis Cluster with a replica per master: a master is SIGKILLed in the middle of a stream and its
 * replica promoted. Redis replicates asynchronously, so writes the master acknowledged and had not yet
 * sent to its replica are lost with it; this measures how many acknowledged segments that is (printed,
 * and stated in the README), and checks what is promised: the service carries on by itself after the
 * failover and never counts a segment twice.
 */

const START = 1_790_100_000;
const TOTAL = 30_000;
const KILL_AT = 12_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// The master killed is the one holding the queues' slot, the hardest case: every acknowledgement waits
// on it. (Runs before 2026-12-07 that never recovered had killed a master whose replica had not finished
// its first sync, and such a replica refuses to take over: startCluster now waits for every replica.)
describe.skipIf(!process.env.TEST_ON_CLUSTER || !canStartCluster())('a master killed and its replica promoted', () => {
  const cleanup: Array<() => Promise<unknown>> = [];
  afterAll(async () => {
    // each step bounded: a client may still be retrying the dead node
    for (const c of cleanup.reverse()) {
      const t = Date.now();
      await Promise.race([c().catch(() => undefined), sleep(10_000)]);
      if (process.env.DEBUG_FAILOVER) console.log(`[failover] clean-up step took ${Date.now() - t} ms`);
    }
  }, 120_000);

  it('goes on by itself and counts nothing twice; what is lost is measured', async () => {
    const say = (m: string) => process.env.DEBUG_FAILOVER && console.log(`[failover ${new Date().toISOString().slice(11, 19)}] ${m}`);
    say('starting the cluster');
    const cluster = await startCluster(3, { replicas: 1 });
    say('cluster up');
    cleanup.push(() => cluster.stop());
    const keyPrefix = uniquePrefix('failover');
    const cfg = loadConfig({ overrides: { keyPrefix, port: 0, udpPort: 0, host: '127.0.0.1', logLevel: 'silent', windowSeconds: 60 } });
    const log = pino({ level: 'silent' });
    const metrics = createMetrics();
    const server = await startServer(cfg, cluster.target, log, metrics);
    say('server up');
    const worker: Running = await startWorker(cfg, cluster.target, log, metrics);
    say('worker up');
    const redis = connect(cluster.target, 'worker');
    cleanup.push(async () => {
      redis.disconnect();
    });
    cleanup.push(() => dropNamespace(redis, keyPrefix));
    cleanup.push(() => worker.close());
    cleanup.push(() => server.close());

    const gen = traffic({ seed: 12, services: SHOP, entry: 'api-gateway', startTime: START, rate: 50 });
    let acknowledged = 0;
    let refused = 0;
    let killedAt = 0;
    let stallMs = 0;
    let killed: { port: number; slot: number } | undefined;
    while (acknowledged < TOTAL) {
      const docs = Array.from({ length: 40 }, () => gen.next().value!.docs).flat().filter((d) => (d as { type?: string }).type !== 'subsegment');
      const body = JSON.stringify({ TraceSegmentDocuments: docs.map((d) => JSON.stringify(d)) });
      // resent until acknowledged, as the SDKs do
      const sent = Date.now();
      for (;;) {
        const r = await fetch(`http://127.0.0.1:${server.httpPort}/TraceSegments`, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(15_000) }).catch(() => undefined);
        if (r?.status === 200) break;
        refused++;
        if (process.env.DEBUG_FAILOVER) console.log(`refused after ${Date.now() - sent} ms: ${r?.status ?? 'no answer'} ${r ? (await r.text()).slice(0, 200) : ''}`);
        await sleep(200);
      }
      if (killedAt) stallMs = Math.max(stallMs, Date.now() - sent);
      acknowledged += docs.length;
      if (!killedAt && acknowledged >= KILL_AT) {
        // the master holding the queues' slot: every acknowledgement waits on it
        const slot = Number(await redis.cluster('KEYSLOT', `${bullPrefix(keyPrefix)}:x`));
        const port = masterOf(String(await redis.cluster('NODES')), slot);
        cluster.nodes.find((n) => n.port === port)!.child.kill('SIGKILL');
        killedAt = Date.now();
        killed = { port, slot };
        say(`killed the master on ${port}`);
      }
    }
    // the workers catch up: wait until the count stops changing, read through a client that learns the
    // slots afresh once the cluster says it is whole again
    const killedPort = cluster.nodes.find((n) => n.child.exitCode !== null || n.child.signalCode !== null)?.port;
    const survivor = new Redis(cluster.nodes.find((n) => n.port !== killedPort)!.port, '127.0.0.1', { maxRetriesPerRequest: 1 });
    for (let i = 0; i < 100 && !String(await survivor.cluster('INFO')).includes('cluster_state:ok'); i++) await sleep(200);
    const promoted = masterOf(String(await survivor.cluster('NODES')), killed!.slot);
    survivor.disconnect();
    const fresh = connect(cluster.target, 'request', { commandTimeout: 10_000 });
    cleanup.push(async () => fresh.disconnect());
    const reader = new AggregateReader(fresh, keySpace(keyPrefix), 60);
    const countedNow = async () => {
      const g = buildGraph(await reader.readWindows(START - 60, START + 7200));
      return [...g.nodes.values()].filter((n) => !n.inferred && n.ref.type !== 'client').reduce((a, n) => a + n.stats.count, 0);
    };
    let counted = -1;
    for (let i = 0, last = -2; i < 120 && (counted < 0 || counted !== last); i++) {
      last = counted;
      await sleep(2000);
      counted = await countedNow().catch(() => -1);
    }
    const lost = acknowledged - counted;
    console.log(
      [
        `── failover: 3 masters + 3 replicas; a master SIGKILLed after ${killedAt ? KILL_AT : 0} of ${acknowledged} acknowledged segments, its replica promoted`,
        `   refused during the failover (503, sent again): ${refused}; longest wait for an acknowledgement after the kill ${(stallMs / 1000).toFixed(1)} s`,
        `   counted ${counted} of ${acknowledged} acknowledged: ${lost} lost (${((100 * lost) / acknowledged).toFixed(2)} %)`,
      ].join('\n'),
    );
    expect(killedAt).toBeGreaterThan(0);
    // the queues' slot is served by another master now: the replica took over, and ingest followed it
    expect(promoted).not.toBe(killed!.port);
    // the service carried on by itself, and nothing was counted twice
    expect(counted).toBeGreaterThan(0);
    expect(counted).toBeLessThanOrEqual(acknowledged);
  }, 240_000);
});
