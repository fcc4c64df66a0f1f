import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  GetGroupCommand,
  GetGroupsCommand,
  GetInsightCommand,
  GetInsightEventsCommand,
  GetInsightImpactGraphCommand,
  GetInsightSummariesCommand,
  InvalidRequestException,
  XRayClient,
  paginateGetInsightEvents,
  paginateGetInsightSummaries,
  type InsightSummary,
  type InsightEvent as XrayInsightEvent,
} from '@aws-sdk/client-xray';
import { loadConfig } from '../../src/config/load.js';
import { replay } from '../../src/replay/replay.js';
import { simulate } from '../../src/sim/simulate.js';
import { writeSimulation } from '../../src/sim/write.js';
import { shopServices, shopTraffic } from '../../src/sim/scenarios/shop.js';
import { SAMPLE_ALL, type Scenario } from '../../src/sim/model.js';
import type { InsightEvent } from '../../src/insights/model.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { dropPrefix, redisUrl, testRedis, uniquePrefix } from '../helpers/redis.js';

/**
 * After a replayed incident, @aws-sdk/client-xray reads the insights back from our API: a short seeded
 * shop run with three incidents (two over, one still going when the input ends) is replayed into the
 * namespace a server then serves, and the official client lists, pages and opens them.
 */

const PAYMENTS = 'api.payments.example.com';

/** 40 minutes of the shop, every request sampled, one incident after another. */
function scenario(start: number): Scenario {
  const m = (x: number) => start + x * 60;
  return {
    name: 'insights-compat',
    description: 'payment API faults, then OrderService faults, then InventoryService throttling until the end',
    seed: 4242,
    start,
    end: m(39),
    services: shopServices(),
    traffic: { ...shopTraffic(5), amplitude: 0, noise: 0 },
    sampling: SAMPLE_ALL,
    incidents: [
      { id: 'payments', kind: 'fault', target: PAYMENTS, start: m(10), end: m(15), magnitude: 0.4 },
      { id: 'orders', kind: 'fault', target: 'OrderService', start: m(22), end: m(27), magnitude: 0.3 },
      { id: 'inventory', kind: 'throttle', target: 'InventoryService', start: m(34), end: m(50), magnitude: 0.3 },
    ],
  };
}

const rootName = (s: InsightSummary) => s.RootCauseServiceId?.Name;

describe('compat: @aws-sdk/client-xray reads insights after a replayed incident', () => {
  const redis = testRedis();
  const prefix = uniquePrefix('insights');
  const dir = mkdtempSync(join(tmpdir(), 'ti-insights-'));
  // a recent, whole hour: what a user would ask about ("the last few hours")
  const start = Math.floor(Date.now() / 3_600_000) * 3600 - 3 * 3600;
  const range = { StartTime: new Date((start - 3600) * 1000), EndTime: new Date((start + 2 * 3600) * 1000) };
  const replayed: InsightEvent[] = [];
  let stack: Stack;
  let xray: XRayClient;
  let summaries: InsightSummary[];

  beforeAll(async () => {
    const file = join(dir, 'shop.ndjson');
    await writeSimulation(simulate(scenario(start)), { out: file });
    const cfg = loadConfig({ overrides: { keyPrefix: prefix, logLevel: 'silent' } });
    await replay({ files: [file], cfg, redisUrl, log: pino({ level: 'silent' }), namespace: prefix, keep: true, onEvent: (e) => void replayed.push(e) });
    stack = await startStack({ keyPrefix: prefix }, { worker: false });
    xray = new XRayClient({ endpoint: stack.baseUrl, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' }, maxAttempts: 1 });
    summaries = (await xray.send(new GetInsightSummariesCommand({ ...range, GroupName: 'Default' }))).InsightSummaries ?? [];
  }, 120_000);

  afterAll(async () => {
    xray?.destroy();
    await stack?.close();
    await dropPrefix(redis, prefix);
    redis.disconnect();
    rmSync(dir, { recursive: true, force: true });
  });

  it('GetInsightSummaries lists each incident once, newest first, with Dates and the right root causes', () => {
    expect(summaries.map(rootName)).toEqual(['InventoryService', 'OrderService', PAYMENTS]);
    expect(summaries.map((s) => s.State)).toEqual(['ACTIVE', 'CLOSED', 'CLOSED']);
    expect(summaries.map((s) => s.Categories)).toEqual([['THROTTLE'], ['FAULT'], ['FAULT']]);
    expect(summaries.map((s) => s.RootCauseServiceId?.Type)).toEqual(['AWS::Lambda::Function', 'AWS::ECS::Container', 'remote']);
    const ids = new Set(replayed.map((e) => e.insight.id));
    expect(new Set(summaries.map((s) => s.InsightId))).toEqual(ids);
    for (const s of summaries) {
      expect(s.StartTime).toBeInstanceOf(Date);
      expect(s.LastUpdateTime).toBeInstanceOf(Date);
      expect(s.GroupName).toBe('Default');
      expect(s.GroupARN).toMatch(/^arn:aws:xray:us-east-1:000000000000:group\/Default\/[0-9A-F]{24}$/);
      expect(s.RootCauseServiceId?.AccountId).toBe('000000000000');
      expect(s.Summary).toContain(rootName(s));
      // the rest of the total are errors (4xx, throttles): neither ok nor faults
      const client = s.ClientRequestImpactStatistics!;
      expect(client.TotalCount).toBeGreaterThanOrEqual(client.FaultCount! + client.OkCount!);
      expect(s.TopAnomalousServices!.map((a) => a.ServiceId?.Name)).toContain(rootName(s));
      // the incident started no earlier than the scenario said, and was seen within two windows of it
      const incident = scenario(start).incidents.find((i) => i.target === rootName(s))!;
      expect(s.StartTime!.getTime() / 1000).toBeGreaterThanOrEqual(incident.start);
      expect(s.StartTime!.getTime() / 1000).toBeLessThanOrEqual(incident.start + 120);
    }
    const [active, ...closed] = summaries;
    expect(active!.EndTime).toBeUndefined();
    for (const s of closed) {
      expect(s.EndTime).toBeInstanceOf(Date);
      expect(s.EndTime!.getTime()).toBeGreaterThan(s.StartTime!.getTime());
      expect(s.LastUpdateTime!.getTime()).toBeGreaterThanOrEqual(s.EndTime!.getTime());
    }
    // the payment API's faults reached the clients through three callers
    const payments = summaries.find((s) => rootName(s) === PAYMENTS)!;
    expect(payments.ClientRequestImpactStatistics!.FaultCount).toBeGreaterThan(100);
    expect(payments.RootCauseServiceRequestImpactStatistics!.FaultCount).toBeGreaterThan(100);
  });

  it('pages with MaxResults 1 through opaque NextTokens, and the States filter', async () => {
    const pages: InsightSummary[][] = [];
    const tokens: string[] = [];
    for await (const page of paginateGetInsightSummaries({ client: xray, pageSize: 1 }, { ...range, GroupName: 'Default' })) {
      pages.push(page.InsightSummaries ?? []);
      if (page.NextToken) tokens.push(page.NextToken);
    }
    expect(pages.map((p) => p.length)).toEqual([1, 1, 1]);
    expect(pages.flat().map((s) => s.InsightId)).toEqual(summaries.map((s) => s.InsightId));
    expect(tokens).toHaveLength(2);
    for (const t of tokens) expect(t).toMatch(/^[A-Za-z0-9_-]+$/);

    const closed = await xray.send(new GetInsightSummariesCommand({ ...range, States: ['CLOSED'], MaxResults: 1 }));
    expect(closed.InsightSummaries!.map(rootName)).toEqual(['OrderService']);
    const rest = await xray.send(new GetInsightSummariesCommand({ ...range, States: ['CLOSED'], MaxResults: 1, NextToken: closed.NextToken }));
    expect(rest.InsightSummaries!.map(rootName)).toEqual([PAYMENTS]);
    expect(rest.NextToken).toBeUndefined();
    const active = await xray.send(new GetInsightSummariesCommand({ ...range, States: ['ACTIVE'] }));
    expect(active.InsightSummaries!.map(rootName)).toEqual(['InventoryService']);

    // a time range before the incidents has none of them; a token from another query is refused
    const before = await xray.send(new GetInsightSummariesCommand({ StartTime: range.StartTime, EndTime: new Date((start + 5 * 60) * 1000) }));
    expect(before.InsightSummaries).toEqual([]);
    const wrong = await xray.send(new GetInsightSummariesCommand({ ...range, States: ['ACTIVE'], NextToken: closed.NextToken })).catch((e: unknown) => e);
    expect(wrong).toBeInstanceOf(InvalidRequestException);
  });

  it('GetInsight returns the insight as its summary has it, without LastUpdateTime', async () => {
    for (const s of summaries) {
      const { Insight: ins } = await xray.send(new GetInsightCommand({ InsightId: s.InsightId }));
      const { LastUpdateTime, ...rest } = s;
      expect(LastUpdateTime).toBeInstanceOf(Date);
      expect(ins).toEqual(rest);
      expect(ins).not.toHaveProperty('LastUpdateTime');
    }
  });

  it('GetInsightEvents returns the timeline in order, paging with MaxResults 1', async () => {
    const payments = summaries.find((s) => rootName(s) === PAYMENTS)!;
    const want = replayed.filter((e) => e.insight.id === payments.InsightId);
    expect(want.map((e) => e.type)[0]).toBe('insight.opened');
    expect(want.map((e) => e.type).at(-1)).toBe('insight.closed');
    const events: XrayInsightEvent[] = [];
    let pages = 0;
    for await (const page of paginateGetInsightEvents({ client: xray, pageSize: 1 }, { InsightId: payments.InsightId })) {
      pages++;
      events.push(...(page.InsightEvents ?? []));
    }
    expect(pages).toBe(want.length);
    expect(events.map((e) => e.EventTime!.getTime() / 1000)).toEqual(want.map((e) => e.eventTime));
    for (let i = 1; i < events.length; i++) expect(events[i]!.EventTime!.getTime()).toBeGreaterThan(events[i - 1]!.EventTime!.getTime());
    expect(events.map((e) => e.ClientRequestImpactStatistics?.FaultCount)).toEqual(want.map((e) => e.insight.clientRequestImpactStatistics.faultCount));
    expect(events[0]!.Summary).toBe(want[0]!.insight.summary);
    expect(events.at(-1)!.Summary).toMatch(/^Resolved: /);
    expect(events.at(-1)!.EventTime!.getTime()).toBe(payments.LastUpdateTime!.getTime());
    for (const e of events) expect(e.TopAnomalousServices!.map((a) => a.ServiceId?.Name)).toContain(PAYMENTS);

    const all = await xray.send(new GetInsightEventsCommand({ InsightId: payments.InsightId }));
    expect(all.InsightEvents).toEqual(events);
    expect(all.NextToken).toBeUndefined();
  });

  it('GetInsightImpactGraph draws the impacted services and the calls among them', async () => {
    const payments = summaries.find((s) => rootName(s) === PAYMENTS)!;
    const g = await xray.send(new GetInsightImpactGraphCommand({ InsightId: payments.InsightId, StartTime: payments.StartTime, EndTime: payments.EndTime }));
    expect(g.InsightId).toBe(payments.InsightId);
    expect(g.StartTime).toEqual(payments.StartTime);
    expect(g.EndTime).toEqual(payments.EndTime);
    expect(g.ServiceGraphStartTime).toBeInstanceOf(Date);
    expect(g.ServiceGraphEndTime).toBeInstanceOf(Date);
    expect(g.ServiceGraphStartTime!.getTime()).toBeLessThanOrEqual(payments.StartTime!.getTime());
    expect(g.ServiceGraphEndTime!.getTime()).toBeGreaterThanOrEqual(payments.EndTime!.getTime());
    const byRef = new Map((g.Services ?? []).map((s) => [s.ReferenceId, s]));
    const nodes = (g.Services ?? []).map((s) => `${s.Type ?? ''}|${s.Name}`).sort();
    expect(nodes).toEqual(['AWS::ApiGateway::Stage|api-gateway', 'AWS::EC2::Instance|PaymentService', 'AWS::ECS::Container|OrderService', `remote|${PAYMENTS}`]);
    const edges = (g.Services ?? []).flatMap((s) => (s.Edges ?? []).map((e) => `${s.Name} -> ${byRef.get(e.ReferenceId)!.Name}`)).sort();
    expect(edges).toEqual(['OrderService -> PaymentService', 'PaymentService -> api.payments.example.com', 'api-gateway -> OrderService']);
    for (const s of g.Services ?? []) {
      expect(s.Names).toEqual([s.Name]);
      expect(s.AccountId).toBe('000000000000');
    }
  });

  it('GetGroups and GetGroup describe the Default group the insights belong to', async () => {
    const { Groups } = await xray.send(new GetGroupsCommand({}));
    expect(Groups).toEqual([{ GroupName: 'Default', GroupARN: summaries[0]!.GroupARN, InsightsConfiguration: { InsightsEnabled: true, NotificationsEnabled: true } }]);
    const byName = await xray.send(new GetGroupCommand({ GroupName: 'Default' }));
    const byArn = await xray.send(new GetGroupCommand({ GroupARN: summaries[0]!.GroupARN }));
    expect(byName.Group).toEqual(Groups![0]);
    expect(byArn.Group).toEqual(Groups![0]);
    const viaArn = await xray.send(new GetInsightSummariesCommand({ ...range, GroupARN: summaries[0]!.GroupARN }));
    expect(viaArn.InsightSummaries!.map((s) => s.InsightId)).toEqual(summaries.map((s) => s.InsightId));
  });

  it('unknown insights, groups and bad input come back as InvalidRequestException', async () => {
    const unknown = '00000000-0000-5000-8000-000000000000';
    const fail = (p: Promise<unknown>) => p.then(() => new Error('no error'), (e: unknown) => e);
    for (const err of [
      await fail(xray.send(new GetInsightCommand({ InsightId: unknown }))),
      await fail(xray.send(new GetInsightEventsCommand({ InsightId: unknown }))),
      await fail(xray.send(new GetInsightImpactGraphCommand({ InsightId: unknown, ...range }))),
      await fail(xray.send(new GetInsightSummariesCommand({ ...range, GroupName: 'checkout' }))),
      await fail(xray.send(new GetGroupCommand({ GroupName: 'checkout' }))),
      await fail(xray.send(new GetInsightSummariesCommand({ StartTime: range.EndTime, EndTime: range.StartTime }))),
      await fail(xray.send(new GetInsightSummariesCommand({ ...range, MaxResults: 101 }))),
      await fail(xray.send(new GetInsightSummariesCommand({ ...range, NextToken: 'not-a-token' }))),
    ]) {
      expect(err).toBeInstanceOf(InvalidRequestException);
      expect((err as InvalidRequestException).$fault).toBe('client');
    }
  });
});
