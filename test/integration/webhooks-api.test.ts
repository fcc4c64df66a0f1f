import { randomUUID } from 'node:crypto';
import { Hono } from 'hono';
import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { webhookRoutes, type WebhookApiDeps } from '../../src/api/webhooks.js';
import { notifyKeys } from '../../src/notify/keys.js';
import { SubscriptionStore } from '../../src/notify/subscription-store.js';
import { dropPrefix, testRedis } from '../helpers/redis.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { API_KEY, insightEvent, startWebhookStack, type WebhookStack } from '../helpers/webhooks.js';

/** The management API: every route behind the key, the subscription lifecycle, secrets shown once, SSRF refusals. */

const T = 1_750_000_000;

/** Every route webhookRoutes defines, as [method, path]: a new route is covered by the 401 test without editing it. */
function managementRoutes(): Array<[string, string]> {
  const app = new Hono();
  webhookRoutes(app, { apiKeys: [] } as unknown as WebhookApiDeps);
  return app.routes.filter((r) => r.method !== 'ALL').map((r) => [r.method, r.path]);
}

describe('webhook management API', () => {
  let stack: WebhookStack;
  let strict: WebhookStack;
  const receivers: Receiver[] = [];
  const redis = testRedis();
  const receiver = async () => {
    const r = await startReceiver();
    receivers.push(r);
    return r;
  };

  beforeAll(async () => {
    stack = await startWebhookStack();
    strict = await startWebhookStack({ webhooks: { allowPrivateTargets: false } });
  });
  afterEach(async () => {
    await Promise.all(receivers.splice(0).map((r) => r.close()));
  });
  afterAll(async () => {
    for (const s of [stack, strict]) {
      await s?.close();
      if (s) await dropPrefix(redis, s.cfg.keyPrefix);
    }
    redis.disconnect();
  });

  it('answers 401 on every management route without a valid key', async () => {
    const rx = await receiver();
    const sub = (await stack.api('POST', '/v1/webhooks', { url: rx.url() })).body;
    const routes = managementRoutes();
    expect(routes.length).toBeGreaterThanOrEqual(11);
    const attempts: Array<Record<string, string>> = [
      {},
      { authorization: 'Bearer wrong-key-0123456789abcdef' },
      { authorization: `Bearer ${API_KEY}x` },
      { authorization: `Basic ${Buffer.from(`user:${API_KEY}`).toString('base64')}` },
      { authorization: API_KEY },
      { authorization: 'Bearer ' },
    ];
    for (const [method, pattern] of routes) {
      const path = pattern.replace(':id', sub.id).replace(':deliveryId', `msg_${'a'.repeat(32)}`);
      for (const headers of attempts) {
        const r = await fetch(stack.base + path, { method, headers: { ...headers, 'content-type': 'application/json' }, body: method === 'GET' ? undefined : JSON.stringify({ url: rx.url() }) });
        expect(r.status, `${method} ${path} with ${JSON.stringify(headers)}`).toBe(401);
        expect(r.headers.get('www-authenticate')).toMatch(/^Bearer/);
        expect(await r.json()).toMatchObject({ error: { code: 'unauthorized' } });
      }
    }
    // nothing changed behind the refusals
    expect((await stack.api('GET', `/v1/webhooks/${sub.id}`)).body).toMatchObject({ id: sub.id, enabled: true });
    expect(rx.received).toHaveLength(0);
  });

  it('answers 401 on every route when no API key is configured at all', async () => {
    const app = new Hono();
    webhookRoutes(app, { apiKeys: [] } as unknown as WebhookApiDeps);
    for (const [method, pattern] of managementRoutes()) {
      const r = await app.request(pattern.replace(':id', 'wh_x').replace(':deliveryId', 'msg_x'), { method, headers: { authorization: 'Bearer ' } });
      expect(r.status, `${method} ${pattern}`).toBe(401);
      expect(((await r.json()) as any).error.message).toMatch(/no API_KEYS/);
    }
  });

  it('creates, lists, gets, updates and deletes subscriptions; the secret is shown at creation only', async () => {
    const rx = await receiver();
    const created = await stack.api('POST', '/v1/webhooks', { url: rx.url(), description: 'ops', filters: { eventTypes: ['insight.opened'] } });
    expect(created.status).toBe(201);
    expect(created.headers.get('cache-control')).toBe('no-store');
    const { id, secret } = created.body;
    expect(id).toMatch(/^wh_[0-9a-f]{24}$/);
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(created.body).toMatchObject({ url: rx.url(), description: 'ops', format: 'insight-event', enabled: true, filters: { eventTypes: ['insight.opened'] }, consecutiveFailures: 0 });

    const got = await stack.api('GET', `/v1/webhooks/${id}`);
    expect(got.status).toBe(200);
    expect(JSON.stringify(got.body)).not.toContain(secret.slice(6, 20));
    expect(got.body.secret).toBeUndefined();
    const list = await stack.api('GET', '/v1/webhooks');
    expect(list.body.webhooks.map((w: any) => w.id)).toContain(id);
    expect(JSON.stringify(list.body)).not.toContain(secret.slice(6, 20));

    const upd = await stack.api('PATCH', `/v1/webhooks/${id}`, { description: 'ops team', format: 'eventbridge', filters: {}, enabled: false });
    expect(upd.body).toMatchObject({ description: 'ops team', format: 'eventbridge', filters: {}, enabled: false, disabledReason: 'manual' });
    expect(upd.body.secret).toBeUndefined();
    expect(Date.parse(upd.body.updatedAt)).toBeGreaterThanOrEqual(Date.parse(upd.body.createdAt));

    expect((await stack.api('DELETE', `/v1/webhooks/${id}`)).status).toBe(204);
    expect((await stack.api('GET', `/v1/webhooks/${id}`)).status).toBe(404);
    expect((await stack.api('PATCH', `/v1/webhooks/${id}`, { description: 'x' })).status).toBe(404);
    expect((await stack.api('DELETE', `/v1/webhooks/${id}`)).status).toBe(404);
    expect((await stack.api('POST', `/v1/webhooks/${id}/rotate-secret`)).status).toBe(404);
  });

  it('refuses bad bodies and URLs with 400', async () => {
    const bad = [
      {},
      { url: 'ftp://127.0.0.1/x' },
      { url: 'not a url' },
      { url: 'http://user:pw@127.0.0.1/x' },
      { url: 'http://127.0.0.1/x', format: 'xml' },
      { url: 'http://127.0.0.1/x', filters: { eventTypes: ['insight.exploded'] } },
      { url: 'http://127.0.0.1/x', extra: 1 },
    ];
    for (const b of bad) expect((await stack.api('POST', '/v1/webhooks', b)).status, JSON.stringify(b)).toBe(400);
    const raw = await fetch(`${stack.base}/v1/webhooks`, { method: 'POST', headers: { authorization: `Bearer ${API_KEY}` }, body: '{nope' });
    expect(raw.status).toBe(400);
  });

  it('rotates the secret: shown once; the old one keeps signing alongside during the grace period', async () => {
    const rx = await receiver();
    const { id, secret: old } = (await stack.api('POST', '/v1/webhooks', { url: rx.url() })).body;
    const rot = await stack.api('POST', `/v1/webhooks/${id}/rotate-secret`);
    expect(rot.status).toBe(200);
    expect(rot.headers.get('cache-control')).toBe('no-store');
    const fresh = rot.body.secret as string;
    expect(fresh).toMatch(/^whsec_/);
    expect(fresh).not.toBe(old);
    expect(JSON.stringify((await stack.api('GET', `/v1/webhooks/${id}`)).body)).not.toContain(fresh.slice(6, 20));
    const t = await stack.api('POST', `/v1/webhooks/${id}/test`);
    expect(t.status).toBe(202);
    const [got] = await rx.waitFor(1);
    expect(got!.headers['webhook-id']).toBe(t.body.deliveryId);
    expect(got!.headers['webhook-signature']!.split(' ')).toHaveLength(2);
    expect(new Webhook(fresh).verify(got!.body, got!.headers)).toMatchObject({ type: 'webhook.test' });
    expect(new Webhook(old).verify(got!.body, got!.headers)).toMatchObject({ type: 'webhook.test' });
    await stack.api('DELETE', `/v1/webhooks/${id}`);
  });

  it('sends a test event through the normal path and logs it', async () => {
    const rx = await receiver();
    const { id, secret } = (await stack.api('POST', '/v1/webhooks', { url: rx.url() })).body;
    const t = await stack.api('POST', `/v1/webhooks/${id}/test`);
    expect(t).toMatchObject({ status: 202, body: { status: 'pending' } });
    const [got] = await rx.waitFor(1);
    const body = new Webhook(secret).verify(got!.body, got!.headers) as any;
    expect(body.type).toBe('webhook.test');
    expect(body.insight.summary).toMatch(/Test event/);
    for (let i = 0; i < 100; i++) {
      const d = await stack.api('GET', `/v1/webhooks/${id}/deliveries/${t.body.deliveryId}`);
      if (d.body.status === 'delivered') {
        expect(d.body).toMatchObject({ test: true, attempts: 1, lastResponseCode: 204, eventType: 'webhook.test' });
        break;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    await stack.api('DELETE', `/v1/webhooks/${id}`);
  });

  it('pages through the delivery log, newest first', async () => {
    const rx = await receiver();
    const { id } = (await stack.api('POST', '/v1/webhooks', { url: rx.url(), filters: { groups: ['paging'] } })).body;
    const ins = randomUUID();
    await stack.enqueue(Array.from({ length: 5 }, (_, k) => insightEvent({ insightId: ins, eventTime: T + k * 60, groupName: 'paging' })));
    await rx.waitFor(5);
    const seen: number[] = [];
    let cursor: number | null = 0;
    while (cursor !== null) {
      const page = await stack.api('GET', `/v1/webhooks/${id}/deliveries?limit=2&cursor=${cursor}`);
      expect(page.status).toBe(200);
      seen.push(...page.body.deliveries.map((d: any) => d.eventTime));
      cursor = page.body.nextCursor;
    }
    expect(seen).toHaveLength(5);
    expect(new Set(seen).size).toBe(5);
    expect((await stack.api('GET', `/v1/webhooks/${id}/deliveries?limit=0`)).status).toBe(400);
    expect((await stack.api('GET', `/v1/webhooks/wh_${'0'.repeat(24)}/deliveries`)).status).toBe(404);
    await stack.api('DELETE', `/v1/webhooks/${id}`);
  });

  it('refuses targets that resolve to loopback, private or link-local addresses unless allowed', async () => {
    const refused = ['http://127.0.0.1:9/x', 'http://localhost:9/x', 'http://[::1]:9/x', 'http://[::ffff:127.0.0.1]:9/x', 'http://169.254.169.254/latest/meta-data', 'http://10.1.2.3/x', 'http://192.168.0.1/x', 'http://172.16.5.4/x', 'http://0.0.0.0:9/x', 'http://2130706433/x', 'http://[fd00::1]/x', 'http://[fe80::1]/x'];
    for (const url of refused) {
      const r = await strict.api('POST', '/v1/webhooks', { url });
      expect(r.status, url).toBe(422);
      expect(r.body.error.code).toBe('target_refused');
    }
    const unresolvable = await strict.api('POST', '/v1/webhooks', { url: 'http://no-such-host.invalid/x' });
    expect(unresolvable).toMatchObject({ status: 400, body: { error: { code: 'target_unresolvable' } } });
    // a public address is accepted (nothing is sent at creation)
    const ok = await strict.api('POST', '/v1/webhooks', { url: 'https://93.184.215.14/hook' });
    expect(ok.status).toBe(201);
    const patched = await strict.api('PATCH', `/v1/webhooks/${ok.body.id}`, { url: 'http://127.0.0.1/x' });
    expect(patched.status).toBe(422);
    expect((await strict.api('GET', `/v1/webhooks/${ok.body.id}`)).body.url).toBe('https://93.184.215.14/hook');
    await strict.api('DELETE', `/v1/webhooks/${ok.body.id}`);
  });

  it('checks the address again at delivery time: a subscription that now points at a private address gets nothing', async () => {
    const rx = await receiver();
    // stored as if it had been public when created (or DNS changed since)
    const subs = new SubscriptionStore(redis, notifyKeys(strict.cfg.keyPrefix), 3600);
    const s = await subs.create({ url: rx.url() });
    const [id] = await strict.enqueue([insightEvent({ insightId: randomUUID(), eventTime: T })]);
    let d: any;
    for (let i = 0; i < 200; i++) {
      d = (await strict.api('GET', `/v1/webhooks/${s.id}/deliveries/${id}`)).body;
      if (d.status === 'dead') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(d).toMatchObject({ status: 'dead', attempts: 4, lastResponseCode: null });
    expect(d.lastError).toMatch(/loopback address .*private targets are not allowed/);
    expect(rx.received).toHaveLength(0);
    await subs.remove(s.id);
  });
});
