import { afterAll, describe, expect, it } from 'vitest';
import { GetInsightSummariesCommand, XRayClient, type InsightSummary } from '@aws-sdk/client-xray';
import { killAll, spawnServer, type ServerProcess } from '../helpers/processes.js';
import { dropPrefix, testRedis, uniquePrefix } from '../helpers/redis.js';
import { startShop, type ShopMessage, type ShopProcess } from '../../scripts/demo/shop-process.js';

/**
 * Live, end to end, on the wall clock: `trace-insights start` with 10-second windows, and the demo shop
 * (four services traced by aws-xray-sdk-core, sending UDP datagrams) as its traffic. After a quiet
 * baseline the external payment API starts failing half its calls; an insight naming it as root cause
 * must be open within 30 s.
 */

const WINDOW = 10;
const BASELINE_SECONDS = 60;
const DEADLINE_SECONDS = 30;
const PAYMENTS = 'api.payments.example.com';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('live: npm start, 10-second windows, faults sent through aws-xray-sdk-core over UDP', () => {
  const redis = testRedis();
  const prefix = uniquePrefix('live');
  const traffic: Array<Extract<ShopMessage, { type: 'traffic' }>> = [];
  let server: ServerProcess | undefined;
  let shop: ShopProcess | undefined;
  let xray: XRayClient | undefined;

  afterAll(async () => {
    xray?.destroy();
    await shop?.stop();
    await server?.kill('SIGTERM');
    await killAll();
    await dropPrefix(redis, prefix);
    redis.disconnect();
  });

  it('an insight naming the failing dependency opens within 30 s of the fault surge', async () => {
    server = await spawnServer({
      keyPrefix: prefix,
      windowSeconds: WINDOW,
      env: { ALLOWED_LATENESS_SECONDS: '2', CLOSE_TICK_SECONDS: '1', CLOSE_IDLE_SECONDS: '3', DETECT_MIN_HISTORY_WINDOWS: '3' },
    });
    xray = new XRayClient({ endpoint: server.baseUrl, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' }, maxAttempts: 1 });
    // 12 requests/s through 4 services: 48 segments/s, ~1.5 % of requests failing at random
    shop = await startShop({ daemonAddress: `127.0.0.1:${server.udpPort}`, rate: 12, reportSeconds: WINDOW, onMessage: (m) => m.type === 'traffic' && traffic.push(m) });
    const trafficStart = Date.now() / 1000;
    const summaries = async (): Promise<InsightSummary[]> =>
      (await xray!.send(new GetInsightSummariesCommand({ StartTime: new Date((trafficStart - 60) * 1000), EndTime: new Date(Date.now() + 60_000) }))).InsightSummaries ?? [];

    // the surge starts just after a window boundary, so the first faulty window is all faults
    const surgeAt = (Math.floor((trafficStart + BASELINE_SECONDS) / WINDOW) + 1) * WINDOW + 0.2;
    await sleep((surgeAt - Date.now() / 1000) * 1000);
    expect(await summaries(), 'no insight from the baseline alone').toEqual([]);
    const incident = await shop.fault(PAYMENTS, 0.5);

    let opened: InsightSummary | undefined;
    let seenAfter = Infinity;
    while (Date.now() / 1000 < incident.at + DEADLINE_SECONDS + 5) {
      opened = (await summaries()).find((s) => s.State === 'ACTIVE');
      if (opened) {
        seenAfter = Date.now() / 1000 - incident.at;
        break;
      }
      await sleep(250);
    }
    const context = `server output:\n${server.output().slice(-4000)}\nshop traffic: ${JSON.stringify(traffic)}\nshop stderr: ${shop.errors()}`;
    expect(opened, `no insight within ${DEADLINE_SECONDS + 5} s of the surge\n${context}`).toBeDefined();
    console.log(`insight opened ${seenAfter.toFixed(1)} s after the fault surge began: ${opened!.Summary}`);
    expect(seenAfter).toBeLessThanOrEqual(DEADLINE_SECONDS);
    expect(opened!.RootCauseServiceId).toMatchObject({ Name: PAYMENTS, Type: 'remote' });
    expect(opened!.Categories).toContain('FAULT');
    // it starts at the first faulty window, not before the surge
    expect(opened!.StartTime!.getTime() / 1000).toBeGreaterThanOrEqual(Math.floor(incident.at / WINDOW) * WINDOW);
    expect(opened!.StartTime!.getTime() / 1000).toBeLessThanOrEqual(incident.at + WINDOW);
    // the impact it reports is what the clients saw: many faults, from the surge's windows
    expect(opened!.ClientRequestImpactStatistics!.FaultCount).toBeGreaterThan(20);
    expect(opened!.TopAnomalousServices!.map((a) => a.ServiceId?.Name)).toEqual(expect.arrayContaining([PAYMENTS, 'PaymentService', 'OrderService', 'storefront']));
    // the baseline really was a baseline: steady traffic with few faults
    const before = traffic.filter((t) => t.to / 1000 <= incident.at);
    expect(before.length).toBeGreaterThanOrEqual(5);
    const sent = before.reduce((a, t) => a + t.requests, 0);
    const faults = before.reduce((a, t) => a + t.faults, 0);
    expect(sent).toBeGreaterThan(500);
    expect(faults / sent).toBeLessThan(0.05);
  });
});
