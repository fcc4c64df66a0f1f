import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consoleInsightUrl, withConsoleLinks } from '../../src/api/console-links.js';
import type { InsightEvent } from '../../src/insights/model.js';
import { SAMPLE_ALL, type Scenario } from '../../src/sim/model.js';
import { shopServices } from '../../src/sim/scenarios/shop.js';
import { Simulation } from '../../src/sim/simulate.js';
import { dropPrefix, testRedis } from '../helpers/redis.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { startWebhookStack, type WebhookStack } from '../helpers/webhooks.js';

/** With PUBLIC_URL set, webhook payloads and GetInsight link each insight's page in the console. */

const W = 10;
const T0 = Math.floor((Date.now() / 1000 - 7200) / W) * W;
const PUBLIC = 'https://traces.example.com/';

describe('links from insights to the console', () => {
  let stack: WebhookStack;
  let rx: Receiver;
  const redis = testRedis();

  beforeAll(async () => {
    stack = await startWebhookStack({ windowSeconds: W, allowedLatenessSeconds: 0, close: { tickSeconds: 1, idleSeconds: 100_000_000 }, publicUrl: PUBLIC });
    rx = await startReceiver();
  });
  afterAll(async () => {
    await stack?.close();
    await rx?.close();
    if (stack) await dropPrefix(redis, stack.cfg.keyPrefix);
    redis.disconnect();
  });

  it('builds one address per insight, and leaves events alone without a public address', () => {
    expect(consoleInsightUrl(PUBLIC, 'a-b')).toBe('https://traces.example.com/insights/a-b');
    const e = { type: 'insight.opened', eventTime: 1, insight: { id: 'x' } } as unknown as InsightEvent;
    expect(withConsoleLinks([e], null)[0]).toBe(e);
    expect(withConsoleLinks([e], PUBLIC)[0]!.insight.consoleUrl).toBe('https://traces.example.com/insights/x');
    expect(e.insight.consoleUrl).toBeUndefined();
  });

  it('webhook bodies and GetInsight carry the console page of the insight', async () => {
    await stack.api('POST', '/v1/webhooks', { url: rx.url() });
    const scenario: Scenario = {
      name: 'console-links',
      description: 'the payment API fails half its calls for 40 s',
      seed: 9,
      start: T0,
      end: T0 + 150,
      services: shopServices(),
      traffic: { rate: 20, entries: [{ service: 'api-gateway', share: 1 }] },
      sampling: SAMPLE_ALL,
      incidents: [{ id: 'pay', kind: 'fault', target: 'api.payments.example.com', start: T0 + 80, end: T0 + 120, magnitude: 0.5 }],
    };
    const docs = [...new Simulation(scenario).requests()].flatMap((r) => r.docs);
    docs.push(...[...new Simulation({ ...scenario, start: T0 + 400, end: T0 + 401, incidents: [] }).requests()][0]!.docs);
    for (let i = 0; i < docs.length; i += 400) {
      const r = await fetch(`${stack.base}/TraceSegments`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ TraceSegmentDocuments: docs.slice(i, i + 400).map((d) => JSON.stringify(d)) }) });
      expect(r.status).toBe(200);
    }
    await rx.waitFor(1, 60_000, (r) => JSON.parse(r.body).type === 'insight.opened');
    const opened = rx.received.map((r) => JSON.parse(r.body) as InsightEvent).find((e) => e.type === 'insight.opened')!;
    expect(opened.insight.consoleUrl).toBe(`https://traces.example.com/insights/${opened.insight.id}`);
    const got = await fetch(`${stack.base}/Insight`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ InsightId: opened.insight.id }) });
    expect(got.status).toBe(200);
    expect(((await got.json()) as { Insight: { ConsoleUrl?: string } }).Insight.ConsoleUrl).toBe(opened.insight.consoleUrl);
  });
});
