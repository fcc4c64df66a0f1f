import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropPrefix, testRedis } from '../helpers/redis.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { API_KEY, capturingLogger, insightEvent, startWebhookStack, type WebhookStack } from '../helpers/webhooks.js';

/**
 * No secret in any log line: server and worker log at trace level into a buffer while a subscription is
 * created, delivered to (with retries, a dead letter and a disabling), rotated and tested; neither
 * secret, nor the API key, nor a signature may appear in what was written.
 */

const T = 1_750_000_000;

describe('webhook secrets never reach the logs', () => {
  const lines: string[] = [];
  let stack: WebhookStack;
  let rx: Receiver;
  const redis = testRedis();

  beforeAll(async () => {
    stack = await startWebhookStack({ logLevel: 'trace', webhooks: { disableAfterFailures: 1 } }, capturingLogger(lines));
    rx = await startReceiver();
  });
  afterAll(async () => {
    await stack?.close();
    await rx?.close();
    if (stack) await dropPrefix(redis, stack.cfg.keyPrefix);
    redis.disconnect();
  });

  it('through create, delivery, retries, dead letter, rotation and a test event', async () => {
    const secrets: string[] = [];
    rx.reply((r) => (r.n === 1 ? { status: 500 } : { status: 204 }));
    const created = await stack.api('POST', '/v1/webhooks', { url: rx.url() });
    expect(created.status).toBe(201);
    secrets.push(created.body.secret);
    const id = created.body.id as string;
    await stack.enqueue([insightEvent({ insightId: randomUUID(), eventTime: T })]);
    await rx.waitFor(2);

    const rot = await stack.api('POST', `/v1/webhooks/${id}/rotate-secret`);
    secrets.push(rot.body.secret);
    await stack.api('POST', `/v1/webhooks/${id}/test`);
    await rx.waitFor(3);

    // now a dead letter, which disables the subscription (disableAfterFailures: 1)
    rx.reply(() => ({ status: 500 }));
    await stack.enqueue([insightEvent({ insightId: randomUUID(), eventTime: T + 60 })]);
    for (let i = 0; i < 200 && (await stack.api('GET', `/v1/webhooks/${id}`)).body.enabled; i++) await new Promise((r) => setTimeout(r, 50));
    expect((await stack.api('GET', `/v1/webhooks/${id}`)).body).toMatchObject({ enabled: false, disabledReason: 'failures' });
    // and a request with a wrong key
    await fetch(`${stack.base}/v1/webhooks`, { headers: { authorization: `Bearer ${API_KEY}-wrong` } });

    const signatures = rx.received.flatMap((r) => r.headers['webhook-signature']!.split(' ').map((s) => s.slice(3)));
    // the logging really happened, at every step
    const text = lines.join('\n');
    for (const msg of ['webhook created', 'webhook delivered', 'webhook attempt failed; will retry', 'webhook secret rotated', 'webhook delivery dead-lettered', 'webhook subscription disabled']) expect(text).toContain(msg);
    const forbidden = [...secrets, ...secrets.map((s) => s.slice('whsec_'.length)), ...secrets.map((s) => s.slice(6, 26)), API_KEY, ...signatures];
    for (const f of forbidden) expect(text.includes(f), `a log line contains ${f.slice(0, 10)}…`).toBe(false);
  });

  it("the project's logger redacts secret fields even if one is passed by mistake", () => {
    const mine: string[] = [];
    const log = capturingLogger(mine);
    log.info({ secret: 'whsec_AAAA', sub: { secret: 'whsec_BBBB', previousSecret: 'whsec_CCCC' }, req: { headers: { authorization: 'Bearer DDDD' } } }, 'oops');
    const out = mine.join('\n');
    for (const s of ['whsec_AAAA', 'whsec_BBBB', 'whsec_CCCC', 'Bearer DDDD']) expect(out).not.toContain(s);
    expect(out).toContain('[redacted]');
  });
});
