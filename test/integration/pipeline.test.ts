import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.js';
import { dropPrefix, testRedis } from '../helpers/redis.js';
import { traffic, SHOP } from '../../src/sim/traffic.js';

const post = (base: string, path: string, body: unknown) =>
  fetch(base + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));

describe('HTTP door → queue → worker → windows', () => {
  let stack: Stack;
  const redis = testRedis();
  beforeAll(async () => {
    stack = await startStack({ windowSeconds: 60 });
  });
  afterAll(async () => {
    await stack.close();
    await dropPrefix(redis, stack.cfg.keyPrefix);
    redis.disconnect();
  });

  it('counts every node and edge of simulated shop traffic exactly, even when sent twice', async () => {
    const start = 1_790_000_000;
    const gen = traffic({ seed: 7, services: SHOP, entry: 'api-gateway', startTime: start, rate: 20 });
    const docs: Array<Record<string, any>> = [];
    for (let i = 0; i < 400; i++) docs.push(...gen.next().value!.docs);
    const texts = docs.map((d) => JSON.stringify(d));
    for (let i = 0; i < texts.length; i += 50) {
      const r = await post(stack.baseUrl, '/TraceSegments', { TraceSegmentDocuments: texts.slice(i, i + 50) });
      expect(r.status).toBe(200);
      expect(r.body.UnprocessedTraceSegments).toEqual([]);
    }
    // the daemon resends: the same documents again count nothing
    await post(stack.baseUrl, '/TraceSegments', { TraceSegmentDocuments: texts.slice(0, 50) });
    await stack.drain();

    const end = Math.ceil(Math.max(...docs.map((d) => d.end_time)) / 60) * 60 + 60;
    const g = await post(stack.baseUrl, '/ServiceGraph', { StartTime: start - 60, EndTime: end });
    expect(g.status).toBe(200);
    const byName = new Map<string, any>(g.body.Services.filter((s: any) => s.Type !== 'client').map((s: any) => [s.Name, s]));
    for (const name of ['api-gateway', 'OrderService', 'PaymentService', 'InventoryService']) {
      const mine = docs.filter((d) => d.name === name);
      const s = byName.get(name);
      expect(s, name).toBeDefined();
      expect(s.SummaryStatistics.TotalCount).toBe(mine.length);
      expect(s.SummaryStatistics.FaultStatistics.TotalCount).toBe(mine.filter((d) => d.fault).length);
      expect(s.SummaryStatistics.ErrorStatistics.ThrottleCount).toBe(mine.filter((d) => d.throttle && !d.fault).length);
    }
    // traced calls resolve to the callee's own node; untraced ones are inferred nodes
    const order = byName.get('OrderService');
    const targets = order.Edges.map((e: any) => g.body.Services[e.ReferenceId].Name).sort();
    expect(targets).toEqual(['InventoryService', 'PaymentService']);
    const payments = byName.get('api.payments.example.com');
    expect(payments.Type).toBe('remote');
    const paymentCalls = docs.filter((d) => d.name === 'PaymentService').flatMap((d) => d.subsegments ?? []);
    expect(payments.SummaryStatistics.TotalCount).toBe(paymentCalls.length);
    const dynamo = byName.get('DynamoDB');
    expect(dynamo.Type).toBe('AWS::DynamoDB::Table');
    const client = g.body.Services.find((s: any) => s.Type === 'client');
    expect(client.Name).toBe('api-gateway');
    expect(byName.get('api-gateway').Root).toBe(true);
  });
});
