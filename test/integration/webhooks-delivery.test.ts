import { randomUUID } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { dropPrefix, testRedis } from '../helpers/redis.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { insightEvent, startWebhookStack, type WebhookStack } from '../helpers/webhooks.js';

/**
 * Delivery against real local receivers, real BullMQ and Redis: signatures checked with the
 * standardwebhooks package, retries, dead letters and redelivery, 410, the failure run, ordering, filters
 * and the EventBridge shape.
 */

const T = 1_750_000_000;

describe('webhook delivery', () => {
  let stack: WebhookStack;
  const receivers: Receiver[] = [];
  const redis = testRedis();

  const receiver = async (port?: number) => {
    const r = await startReceiver(port);
    receivers.push(r);
    return r;
  };
  const subscribe = async (url: string, extra: Record<string, unknown> = {}) => {
    const r = await stack.api('POST', '/v1/webhooks', { url, ...extra });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    return r.body as { id: string; secret: string };
  };
  /** Polls the delivery log until `pred` holds for the delivery. */
  const settled = async (subId: string, deliveryId: string, pred: (d: any) => boolean = (d) => d.status === 'delivered' || d.status === 'dead', timeoutMs = 20_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = await stack.api('GET', `/v1/webhooks/${subId}/deliveries/${deliveryId}`);
      if (r.status === 200 && pred(r.body)) return r.body;
      if (Date.now() > deadline) throw new Error(`delivery ${deliveryId} not settled: ${JSON.stringify(r.body)}`);
      await new Promise((res) => setTimeout(res, 50));
    }
  };
  const subscription = async (id: string) => (await stack.api('GET', `/v1/webhooks/${id}`)).body;

  beforeAll(async () => {
    // 1 s timeout so the hanging receiver below costs a second, not ten
    stack = await startWebhookStack({ webhooks: { disableAfterFailures: 3, timeoutMs: 1000 } });
  });
  afterEach(async () => {
    // each test sees only its own subscriptions
    for (const w of (await stack.api('GET', '/v1/webhooks')).body.webhooks) await stack.api('DELETE', `/v1/webhooks/${w.id}`);
    await Promise.all(receivers.splice(0).map((r) => r.close()));
  });
  afterAll(async () => {
    await stack?.close();
    if (stack) await dropPrefix(redis, stack.cfg.keyPrefix);
    redis.disconnect();
  });

  it('signs per Standard Webhooks; the body is the insight event JSON replay writes', async () => {
    const rx = await receiver();
    const sub = await subscribe(rx.url());
    const e = insightEvent({ insightId: randomUUID(), type: 'insight.opened', eventTime: T });
    const [id] = await stack.enqueue([e]);
    const [got] = await rx.waitFor(1);
    expect(got!.headers['webhook-id']).toBe(id);
    expect(got!.headers['content-type']).toBe('application/json');
    expect(got!.body).toBe(JSON.stringify(e));
    const verified = new Webhook(sub.secret).verify(got!.body, got!.headers);
    expect(verified).toEqual(e);
    // a wrong secret does not verify
    expect(() => new Webhook(`whsec_${Buffer.alloc(32, 7).toString('base64')}`).verify(got!.body, got!.headers)).toThrow();
    const d = await settled(sub.id, id!);
    expect(d).toMatchObject({ status: 'delivered', attempts: 1, lastResponseCode: 204, eventType: 'insight.opened', insightId: e.insight.id });
    expect(d.lastLatencyMs).toBeGreaterThan(0);
  });

  it('retries a receiver that fails 3 times, then succeeds: attempts = 4, the same webhook-id on each, each signed afresh', async () => {
    const rx = await receiver();
    rx.reply((r) => (r.n <= 3 ? { status: 500, body: 'boom' } : { status: 200, body: 'ok' }));
    const sub = await subscribe(rx.url());
    const [id] = await stack.enqueue([insightEvent({ insightId: randomUUID(), eventTime: T })]);
    const got = await rx.waitFor(4);
    const wh = new Webhook(sub.secret);
    for (const g of got) {
      expect(g.headers['webhook-id']).toBe(id);
      expect(() => wh.verify(g.body, g.headers)).not.toThrow();
    }
    const d = await settled(sub.id, id!);
    expect(d).toMatchObject({ status: 'delivered', attempts: 4, lastResponseCode: 200, lastError: null });
    expect(d.attemptLog.map((a: any) => a.status)).toEqual([500, 500, 500, 200]);
    expect(d.attemptLog.map((a: any) => a.attempt)).toEqual([1, 2, 3, 4]);
    expect(d.attemptLog[0].error).toBe('HTTP 500');
    // backoff: the retries are spaced by the (jittered) schedule 50, 100, 200 ms
    const gaps = got.slice(1).map((g, i) => g.at - got[i]!.at);
    expect(gaps[0]).toBeGreaterThanOrEqual(35);
    expect(gaps[2]).toBeGreaterThanOrEqual(150);
    expect((await subscription(sub.id)).consecutiveFailures).toBe(0);
  });

  it('dead-letters a delivery whose receiver is down for longer than the schedule; redelivery then works, same webhook-id', async () => {
    const down = await startReceiver();
    const port = down.port;
    await down.close(); // nothing listens there now: connection refused
    const sub = await subscribe(`http://127.0.0.1:${port}/hook`);
    const [a, b] = await stack.enqueue([insightEvent({ insightId: randomUUID(), eventTime: T }), insightEvent({ insightId: randomUUID(), eventTime: T })]);
    const da = await settled(sub.id, a!);
    await settled(sub.id, b!);
    expect(da).toMatchObject({ status: 'dead', attempts: 4, lastResponseCode: null });
    expect(da.deadReason).toMatch(/4 attempts failed; last: ECONNREFUSED/);
    expect(da.attemptLog).toHaveLength(4);
    const dead = await stack.api('GET', `/v1/webhooks/${sub.id}/deliveries?status=dead`);
    expect(dead.body.deliveries.map((d: any) => d.id).sort()).toEqual([a, b].sort());

    // the receiver comes back on the same port
    const rx = await receiver(port);
    const one = await stack.api('POST', `/v1/webhooks/${sub.id}/deliveries/${a}/redeliver`);
    expect(one.status).toBe(202);
    const [got] = await rx.waitFor(1);
    expect(got!.headers['webhook-id']).toBe(a);
    expect(() => new Webhook(sub.secret).verify(got!.body, got!.headers)).not.toThrow();
    expect(await settled(sub.id, a!, (d) => d.status === 'delivered')).toMatchObject({ status: 'delivered', attempts: 5 });
    // a delivered one is not "dead": the bulk redelivery takes only b
    const bulk = await stack.api('POST', `/v1/webhooks/${sub.id}/redeliver`);
    expect(bulk).toMatchObject({ status: 202, body: { queued: 1 } });
    const all = await rx.waitFor(2);
    expect(all[1]!.headers['webhook-id']).toBe(b);
    expect(await settled(sub.id, b!, (d) => d.status === 'delivered')).toMatchObject({ attempts: 5 });
    // a delivery in flight or unknown cannot be redelivered
    expect((await stack.api('POST', `/v1/webhooks/${sub.id}/deliveries/msg_${'0'.repeat(32)}/redeliver`)).status).toBe(404);
  });

  it('410 Gone disables the subscription: nothing more is queued for it until it is enabled again', async () => {
    const rx = await receiver();
    rx.reply(() => ({ status: 410 }));
    const sub = await subscribe(rx.url());
    const [id] = await stack.enqueue([insightEvent({ insightId: randomUUID(), eventTime: T })]);
    const d = await settled(sub.id, id!);
    expect(d).toMatchObject({ status: 'dead', attempts: 1, lastResponseCode: 410, deadReason: 'receiver answered 410 Gone' });
    const s = await subscription(sub.id);
    expect(s).toMatchObject({ enabled: false, disabledReason: 'gone' });
    expect(Date.parse(s.disabledAt)).toBeGreaterThan(Date.now() - 60_000);
    // disabled: a new event makes no delivery for it, a test event is refused
    const before = rx.received.length;
    const ids = await stack.enqueue([insightEvent({ insightId: randomUUID(), eventTime: T + 60 })]);
    expect(ids).toEqual([]);
    const log = await stack.api('GET', `/v1/webhooks/${sub.id}/deliveries`);
    expect(log.body.deliveries).toHaveLength(1);
    expect((await stack.api('POST', `/v1/webhooks/${sub.id}/test`)).status).toBe(409);
    // enabled again: deliveries flow
    rx.reply(() => ({ status: 204 }));
    const en = await stack.api('PATCH', `/v1/webhooks/${sub.id}`, { enabled: true });
    expect(en.body).toMatchObject({ enabled: true, disabledReason: null, disabledAt: null, consecutiveFailures: 0 });
    const [id2] = await stack.enqueue([insightEvent({ insightId: randomUUID(), eventTime: T + 120 })]);
    const ok = (await stack.api('GET', `/v1/webhooks/${sub.id}/deliveries`)).body.deliveries.find((x: any) => x.id === id2);
    expect(ok).toBeDefined();
    await settled(sub.id, id2!, (x) => x.status === 'delivered');
    expect(rx.received.length).toBe(before + 1);
  });

  it('disables a subscription after the configured run of dead-lettered deliveries, and records why', async () => {
    const rx = await receiver();
    rx.reply(() => ({ status: 500 }));
    const sub = await subscribe(rx.url());
    const [a, b] = await stack.enqueue([insightEvent({ insightId: randomUUID(), eventTime: T }), insightEvent({ insightId: randomUUID(), eventTime: T })]);
    await settled(sub.id, a!);
    await settled(sub.id, b!);
    expect(await subscription(sub.id)).toMatchObject({ enabled: true, consecutiveFailures: 2 });
    const [c] = await stack.enqueue([insightEvent({ insightId: randomUUID(), eventTime: T })]);
    expect(await settled(sub.id, c!)).toMatchObject({ status: 'dead', attempts: 4 });
    const s = await subscription(sub.id);
    expect(s).toMatchObject({ enabled: false, disabledReason: 'failures', consecutiveFailures: 3 });
    expect(s.disabledAt).not.toBeNull();
  });

  it('a success ends the failure run', async () => {
    const rx = await receiver();
    rx.reply((r) => (r.n <= 4 ? { status: 500 } : { status: 204 }));
    const sub = await subscribe(rx.url());
    const ins = randomUUID();
    // same insight: the second waits for the first to be dead-lettered, then succeeds
    const [a, b] = await stack.enqueue([insightEvent({ insightId: ins, eventTime: T }), insightEvent({ insightId: ins, eventTime: T + 60 })]);
    await settled(sub.id, a!);
    await settled(sub.id, b!);
    expect(await subscription(sub.id)).toMatchObject({ enabled: true, consecutiveFailures: 0 });
  });

  it('honours Retry-After on 429 and 503', async () => {
    const rx = await receiver();
    rx.reply((r) => (r.n === 1 ? { status: 429, headers: { 'retry-after': '1' } } : r.n === 2 ? { status: 503, headers: { 'retry-after': '1' } } : { status: 204 }));
    const sub = await subscribe(rx.url());
    const [id] = await stack.enqueue([insightEvent({ insightId: randomUUID(), eventTime: T })]);
    const got = await rx.waitFor(3);
    // the schedule alone would retry after ~50 and ~100 ms
    expect(got[1]!.at - got[0]!.at).toBeGreaterThanOrEqual(950);
    expect(got[2]!.at - got[1]!.at).toBeGreaterThanOrEqual(950);
    expect(await settled(sub.id, id!)).toMatchObject({ status: 'delivered', attempts: 3 });
  });

  it('times out a receiver that does not answer, and does not follow redirects', async () => {
    const rx = await receiver();
    rx.reply((r) => (r.path === '/elsewhere' ? { status: 204 } : r.n === 1 ? 'hang' : r.n === 2 ? { status: 302, headers: { location: '/elsewhere' } } : { status: 204 }));
    const sub = await subscribe(rx.url());
    const [id] = await stack.enqueue([insightEvent({ insightId: randomUUID(), eventTime: T })]);
    const d = await settled(sub.id, id!);
    expect(d).toMatchObject({ status: 'delivered', attempts: 3 });
    expect(d.attemptLog[0]).toMatchObject({ status: null, error: 'timed out after 1000 ms' });
    expect(d.attemptLog[0].latencyMs).toBeGreaterThanOrEqual(990);
    expect(d.attemptLog[1]).toMatchObject({ status: 302, error: 'redirect (302) not followed' });
    expect(rx.received.filter((r) => r.path === '/elsewhere')).toHaveLength(0);
  });

  it("delivers each insight's events to a subscription in order, one at a time, through failures", async () => {
    const rx = await receiver();
    const firstSeen = new Set<string>();
    // every third event's first attempt fails
    rx.reply((r) => {
      const e = JSON.parse(r.body) as { eventTime: number };
      const id = r.headers['webhook-id']!;
      const fresh = !firstSeen.has(id);
      firstSeen.add(id);
      return fresh && ((e.eventTime - T) / 60) % 3 === 0 ? { status: 500 } : { status: 204 };
    });
    await subscribe(rx.url());
    const insights = [randomUUID(), randomUUID(), randomUUID()];
    const events = [];
    for (let k = 0; k < 15; k++) for (const ins of insights) events.push(insightEvent({ insightId: ins, eventTime: T + k * 60, type: k === 0 ? 'insight.opened' : k === 14 ? 'insight.closed' : 'insight.updated' }));
    await stack.enqueue(events);
    await rx.waitFor(45 + 15, 30_000);
    for (const ins of insights) {
      const mine = rx.received.filter((r) => (JSON.parse(r.body) as { insight: { id: string } }).insight.id === ins);
      const times = mine.map((r) => (JSON.parse(r.body) as { eventTime: number }).eventTime);
      // attempts arrive in order: event k's first attempt after event k-1's last
      const expected: number[] = [];
      for (let k = 0; k < 15; k++) expected.push(...(k % 3 === 0 ? [T + k * 60, T + k * 60] : [T + k * 60]));
      expect(times).toEqual(expected);
    }
  });

  it('filters by event type, group, category and service', async () => {
    const rx = await receiver();
    const sub = await subscribe(rx.url(), { filters: { eventTypes: ['insight.opened', 'insight.closed'], groups: ['checkout'], categories: ['fault'], services: ['payments', 'ledger'] } });
    const ok = insightEvent({ insightId: randomUUID(), type: 'insight.opened', eventTime: T, groupName: 'checkout', service: 'ledger' });
    const events = [
      ok,
      insightEvent({ insightId: randomUUID(), type: 'insight.updated', eventTime: T, groupName: 'checkout' }),
      insightEvent({ insightId: randomUUID(), type: 'insight.opened', eventTime: T, groupName: 'Default' }),
      insightEvent({ insightId: randomUUID(), type: 'insight.opened', eventTime: T, groupName: 'checkout', categories: ['LATENCY'] }),
      insightEvent({ insightId: randomUUID(), type: 'insight.opened', eventTime: T, groupName: 'checkout', service: 'search' }),
    ];
    await stack.enqueue(events);
    const [got] = await rx.waitFor(1);
    await new Promise((r) => setTimeout(r, 300));
    expect(rx.received).toHaveLength(1);
    expect(JSON.parse(got!.body)).toEqual(ok);
    const log = await stack.api('GET', `/v1/webhooks/${sub.id}/deliveries`);
    expect(log.body.deliveries).toHaveLength(1);
  });

  it('sends the EventBridge event X-Ray emits when the subscription asks for it', async () => {
    const rx = await receiver();
    const sub = await subscribe(rx.url(), { format: 'eventbridge' });
    const e = insightEvent({ insightId: randomUUID(), type: 'insight.opened', eventTime: T });
    const [id] = await stack.enqueue([e]);
    const [got] = await rx.waitFor(1);
    const body = new Webhook(sub.secret).verify(got!.body, got!.headers) as any;
    expect(got!.headers['webhook-id']).toBe(id);
    expect(body).toMatchObject({
      version: '0',
      source: 'aws.xray',
      'detail-type': 'AWS X-Ray Insight Update',
      account: '000000000000',
      time: new Date(T * 1000).toISOString().replace('.000Z', 'Z'),
      detail: {
        InsightId: e.insight.id,
        GroupName: 'Default',
        State: 'ACTIVE',
        Categories: ['FAULT'],
        StartTime: e.insight.startTime,
        EndTime: null,
        Summary: e.insight.summary,
        RootCauseServiceId: { Name: 'payments', Names: ['payments'], AccountId: '000000000000', Type: 'AWS::EC2::Instance' },
        ClientRequestImpactStatistics: { FaultCount: 10, OkCount: 90, TotalCount: 100 },
        TopAnomalousServices: [{ ServiceId: { Name: 'payments', Type: 'AWS::EC2::Instance' } }],
        Event: { EventTime: T, Summary: e.insight.summary },
      },
    });
    expect(body.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});
