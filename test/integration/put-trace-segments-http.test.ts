import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.js';
import { dropPrefix, testRedis } from '../helpers/redis.js';

/**
 * PutTraceSegments is served straight on node:http by startServer (the ingest hot path), apart from
 * the Hono app that serves everything else. These pin what that path must share with the rest: the
 * body limit however the body is framed, AWS-shaped errors, and that other routes still reach Hono.
 */
const LIMIT = 64 * 1024;

function post(port: number, body: string, opts: { chunked?: boolean; path?: string } = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; json: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: opts.path ?? '/TraceSegments', headers: { 'content-type': 'application/json', ...(opts.chunked ? {} : { 'content-length': Buffer.byteLength(body) }) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, json: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown> }));
    });
    // the server may answer and close before the whole of an oversized body is written
    req.on('error', (err) => (err as NodeJS.ErrnoException).code === 'EPIPE' || (err as NodeJS.ErrnoException).code === 'ECONNRESET' ? undefined : reject(err));
    if (opts.chunked) {
      for (let i = 0; i < body.length; i += 8192) req.write(body.slice(i, i + 8192));
      req.end();
    } else req.end(body);
  });
}

describe('PutTraceSegments on node:http', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ http: { bodyLimitBytes: LIMIT } }, { worker: false });
  });
  afterAll(async () => {
    await stack?.close();
    if (stack) {
      const redis = testRedis();
      await dropPrefix(redis, stack.cfg.keyPrefix);
      redis.disconnect();
    }
  });

  const doc = JSON.stringify({ trace_id: '1-5f84c7a1-7c2b9a4d3e1f0a9b8c7d6e5f', id: '70de5b6f19ff9a0a', name: 'svc', start_time: 1_700_000_000, end_time: 1_700_000_000.2 });

  it('accepts documents and reports the bad ones, with a chunked body too', async () => {
    const body = JSON.stringify({ TraceSegmentDocuments: [doc, '{"id":"zz"}'] });
    for (const chunked of [false, true]) {
      const r = await post(stack.server.httpPort, body, { chunked });
      expect(r.status).toBe(200);
      expect(r.json.UnprocessedTraceSegments).toEqual([expect.objectContaining({ Id: 'zz', ErrorCode: expect.any(String), Message: expect.any(String) })]);
    }
  });

  it('refuses a body over the limit with 413, whether its length is declared or not', async () => {
    const big = JSON.stringify({ TraceSegmentDocuments: ['x'.repeat(LIMIT + 10)] });
    for (const chunked of [false, true]) {
      const r = await post(stack.server.httpPort, big, { chunked });
      expect(r.status, `chunked ${chunked}`).toBe(413);
      expect(r.headers['x-amzn-errortype']).toBe('RequestEntityTooLargeException');
      expect(r.json.__type).toBe('RequestEntityTooLargeException');
    }
    // and the server still serves the next request
    const ok = await post(stack.server.httpPort, JSON.stringify({ TraceSegmentDocuments: [doc] }));
    expect(ok.status).toBe(200);
  });

  it('answers malformed requests in the shape the AWS SDK names', async () => {
    for (const body of ['{"TraceSegmentDocuments": ', '{"TraceSegmentDocuments": [1]}', '{}']) {
      const r = await post(stack.server.httpPort, body);
      expect(r.status).toBe(400);
      expect(r.headers['x-amzn-errortype']).toBe('InvalidRequestException');
      expect(String(r.json.message).length).toBeGreaterThan(5);
    }
  });

  it('leaves every other route to the Hono app', async () => {
    const r = await post(stack.server.httpPort, '{}', { path: '/TraceSegments?x=1' });
    // a query string makes it another path for this fast path; Hono routes it to the same operation
    expect(r.status).toBe(400);
    const health = await fetch(`${stack.baseUrl}/healthz`);
    expect(await health.json()).toEqual({ ok: true });
    const unknown = await post(stack.server.httpPort, '{}', { path: '/NoSuchOperation' });
    expect(unknown.status).toBe(404);
  });
});
