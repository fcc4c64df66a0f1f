import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { checkTarget, classifyAddress, parseTargetUrl } from '../../src/notify/address-policy.js';
import { HttpSender } from '../../src/notify/http-sender.js';
import { renderBody, toEventBridge } from '../../src/notify/payload.js';
import { parseRetryAfter, retryDelayMs } from '../../src/notify/schedule.js';
import { deliveryId, eventKey, generateSecret, signatureHeader } from '../../src/notify/signing.js';
import { matches } from '../../src/notify/subscription.js';
import { loadConfig } from '../../src/config/load.js';
import { insightEvent } from '../helpers/webhooks.js';

describe('address policy', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['::1', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::127.0.0.1', 'loopback'],
    ['10.0.0.1', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'private'],
    ['fc00::1', 'private'],
    ['fd12:3456::1', 'private'],
    ['::ffff:10.0.0.1', 'private'],
    ['64:ff9b::a00:1', 'private'],
    ['2002:c0a8:101::1', 'private'],
    ['169.254.169.254', 'link-local'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['ff02::1', 'multicast'],
    ['255.255.255.255', 'reserved'],
    ['not-an-ip', 'reserved'],
    ['8.8.8.8', 'public'],
    ['172.32.0.1', 'public'],
    ['::ffff:8.8.8.8', 'public'],
    ['2606:4700:4700::1111', 'public'],
  ])('%s is %s', (addr, cls) => expect(classifyAddress(addr)).toBe(cls));

  const url = (u: string) => (parseTargetUrl(u) as { ok: true; url: URL }).url;

  it('refuses a host when any of its addresses is not public, and connects to a checked one', async () => {
    const mixed = async () => [{ address: '93.184.215.14', family: 4 }, { address: '10.0.0.5', family: 4 }];
    expect(await checkTarget(url('https://hooks.example.com/x'), false, mixed)).toMatchObject({ ok: false, code: 'target_refused' });
    expect(await checkTarget(url('https://hooks.example.com/x'), true, mixed)).toEqual({ ok: true, target: { address: '93.184.215.14', family: 4 } });
    const pub = async () => [{ address: '2606:4700::6810:84e5', family: 6 }];
    expect(await checkTarget(url('https://hooks.example.com/x'), false, pub)).toEqual({ ok: true, target: { address: '2606:4700::6810:84e5', family: 6 } });
    const failing = async () => {
      throw Object.assign(new Error('nope'), { code: 'ENOTFOUND' });
    };
    expect(await checkTarget(url('https://hooks.example.com/x'), false, failing)).toMatchObject({ ok: false, code: 'target_unresolvable' });
  });

  it('checks IP literals without DNS', async () => {
    const never = async (): Promise<never> => {
      throw new Error('looked up');
    };
    expect(await checkTarget(url('http://[::1]:8080/x'), false, never)).toMatchObject({ ok: false, code: 'target_refused' });
    expect(await checkTarget(url('http://0x7f.1/x'), false, never)).toMatchObject({ ok: false, code: 'target_refused' });
    expect(await checkTarget(url('http://8.8.8.8/x'), false, never)).toMatchObject({ ok: true });
  });

  it('accepts http(s) URLs without credentials or fragments only', () => {
    expect(parseTargetUrl('https://x.example/a?b=1').ok).toBe(true);
    for (const u of ['ftp://x.example/', 'file:///etc/passwd', 'http://a:b@x.example/', 'https://x.example/#f', 'nope']) expect(parseTargetUrl(u).ok, u).toBe(false);
  });
});

describe('signing', () => {
  it('produces signatures the standardwebhooks package verifies, one per secret', () => {
    const [a, b] = [generateSecret(), generateSecret()];
    const id = deliveryId('wh_1', 'k');
    const body = '{"type":"insight.opened"}';
    const ts = Math.floor(Date.now() / 1000);
    const headers = { 'webhook-id': id, 'webhook-timestamp': String(ts), 'webhook-signature': signatureHeader(id, ts, body, [a, b]) };
    expect(new Webhook(a).verify(body, headers)).toEqual({ type: 'insight.opened' });
    expect(new Webhook(b).verify(body, headers)).toEqual({ type: 'insight.opened' });
    expect(() => new Webhook(generateSecret()).verify(body, headers)).toThrow();
    expect(() => new Webhook(a).verify(body + ' ', headers)).toThrow();
    // same as the package's own signer
    expect(signatureHeader(id, ts, body, [a])).toBe(new Webhook(a).sign(id, new Date(ts * 1000), body));
  });

  it('gives stable ids: per (subscription, event), in the msg_ format', () => {
    const k = eventKey('{"a":1}');
    expect(deliveryId('wh_1', k)).toBe(deliveryId('wh_1', k));
    expect(deliveryId('wh_1', k)).not.toBe(deliveryId('wh_2', k));
    expect(deliveryId('wh_1', k)).toMatch(/^msg_[0-9a-f]{32}$/);
    expect(eventKey('{"a":1}')).not.toBe(eventKey('{"a":2}'));
  });
});

describe('retry schedule', () => {
  it('jitters each step by ±20 % and ends with the schedule', () => {
    const s = [5, 30];
    expect(retryDelayMs(s, 1, () => 0)).toBe(4000);
    expect(retryDelayMs(s, 1, () => 0.999999)).toBe(6000);
    expect(retryDelayMs(s, 2, () => 0.5)).toBe(30000);
    expect(retryDelayMs(s, 3)).toBeNull();
  });

  it('reads Retry-After as seconds or an HTTP date, capped at a day', () => {
    const now = Date.parse('2025-01-01T00:00:00Z');
    expect(parseRetryAfter('120', now)).toBe(120);
    expect(parseRetryAfter('Wed, 01 Jan 2025 00:01:00 GMT', now)).toBe(60);
    expect(parseRetryAfter('Tue, 31 Dec 2024 00:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('9999999', now)).toBe(86400);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });
});

describe('filters', () => {
  const e = insightEvent({ insightId: 'i', type: 'insight.opened', eventTime: 1, groupName: 'checkout', service: 'payments' });
  it.each([
    [{}, true],
    [{ eventTypes: [] }, true],
    [{ eventTypes: ['insight.opened' as const] }, true],
    [{ eventTypes: ['insight.closed' as const] }, false],
    [{ groups: ['checkout'] }, true],
    [{ groups: ['Default'] }, false],
    [{ categories: ['fault'] }, true],
    [{ categories: ['LATENCY'] }, false],
    [{ services: ['api-gateway'] }, true],
    [{ services: ['search'] }, false],
    [{ groups: ['checkout'], services: ['search'] }, false],
  ])('%j → %s', (f, want) => expect(matches(f, e)).toBe(want));
});

describe('payloads', () => {
  const e = insightEvent({ insightId: 'i-1', type: 'insight.closed', eventTime: 1_750_000_060 });
  it('insight-event is the stored JSON byte for byte', () => {
    const json = JSON.stringify(e);
    expect(renderBody('insight-event', json, 'msg_x', { account: '000000000000', region: 'local' })).toBe(json);
  });
  it('eventbridge carries the X-Ray envelope and detail, with a stable id', () => {
    const a = toEventBridge(e, 'msg_x', { account: '123456789012', region: 'eu-west-1' });
    expect(a).toMatchObject({ source: 'aws.xray', 'detail-type': 'AWS X-Ray Insight Update', account: '123456789012', region: 'eu-west-1', time: '2025-06-15T15:07:40Z' });
    expect(a.detail).toMatchObject({ InsightId: 'i-1', State: 'CLOSED', EndTime: 1_750_000_060, Categories: ['FAULT'] });
    expect(toEventBridge(e, 'msg_x', { account: '123456789012', region: 'x' }).id).toBe(a.id);
    expect(toEventBridge(e, 'msg_y', { account: '123456789012', region: 'x' }).id).not.toBe(a.id);
  });
});

describe('HTTP sender', () => {
  it('connects to the checked address, whatever the host name resolves to now', async () => {
    const seen: string[] = [];
    const server = http.createServer((req, res) => {
      seen.push(req.headers.host ?? '');
      res.writeHead(204).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const sender = new HttpSender();
    try {
      // .invalid never resolves: only the pinned address can have carried the request
      const r = await sender.send({ url: new URL(`http://hooks.invalid:${port}/x`), target: { address: '127.0.0.1', family: 4 }, headers: {}, body: '{}', timeoutMs: 2000 });
      expect(r).toMatchObject({ status: 204, error: null });
      expect(seen).toEqual([`hooks.invalid:${port}`]);
    } finally {
      sender.close();
      server.closeAllConnections();
      server.close();
    }
  });
});

describe('webhook settings', () => {
  it('reads API_KEYS, WEBHOOK_ALLOW_PRIVATE_TARGETS and the schedule from the environment', () => {
    const cfg = loadConfig({ env: { API_KEYS: 'aaaaaaaaaaaaaaaa, bbbbbbbbbbbbbbbb', WEBHOOK_ALLOW_PRIVATE_TARGETS: 'false', WEBHOOK_RETRY_SCHEDULE_SECONDS: '1,2.5,10' } });
    expect(cfg.apiKeys).toEqual(['aaaaaaaaaaaaaaaa', 'bbbbbbbbbbbbbbbb']);
    expect(cfg.webhooks.allowPrivateTargets).toBe(false);
    expect(cfg.webhooks.retryScheduleSeconds).toEqual([1, 2.5, 10]);
    expect(loadConfig({ env: { WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true' } }).webhooks.allowPrivateTargets).toBe(true);
    expect(loadConfig().apiKeys).toEqual([]);
    // the default schedule spans about a day
    const total = loadConfig().webhooks.retryScheduleSeconds.reduce((a, b) => a + b, 0);
    expect(total / 3600).toBeGreaterThan(20);
    expect(total / 3600).toBeLessThan(36);
  });

  it('refuses a short API key without echoing it', () => {
    expect(() => loadConfig({ env: { API_KEYS: 'short-key' } })).toThrow(/apiKeys.*at least 16 characters/);
    try {
      loadConfig({ env: { API_KEYS: 'short-key' } });
    } catch (err) {
      expect((err as Error).message).not.toContain('short-key');
    }
  });
});
