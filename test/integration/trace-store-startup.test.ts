import { afterAll, describe, expect, it } from 'vitest';
import { resolvePostgres } from '../../src/traces/store/resolve.js';
import { killAll, spawnServer } from '../helpers/processes.js';
import { dropPrefix, testRedis, uniquePrefix } from '../helpers/redis.js';

/**
 * Where the trace store runs, as npm start finds it: DATABASE_URL, else local, else private, else none
 * (said in one line). PostgreSQL missing or not up never stops ingest: the trace API says why it
 * cannot answer (503) while PutTraceSegments goes on.
 */

const post = (base: string, path: string, body: unknown) =>
  fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(10_000) });

describe('trace store at start-up', () => {
  const redis = testRedis();
  const prefixes: string[] = [];
  afterAll(async () => {
    await killAll();
    for (const p of prefixes) await dropPrefix(redis, p);
    redis.disconnect();
  });

  it('resolves DATABASE_URL as given, and without a local server or binaries says how to get one', async () => {
    const given = await resolvePostgres({ configured: 'postgres://u@db.example:5432/t', fromEnv: true, dataDir: '/nonexistent' });
    expect(given).toMatchObject({ url: 'postgres://u@db.example:5432/t', source: 'DATABASE_URL' });
    const none = await resolvePostgres({ configured: null, fromEnv: false, dataDir: '/nonexistent', local: 'postgres://postgres@127.0.0.1:1', binaries: null });
    expect('reason' in none && none.reason).toMatch(/no PostgreSQL at 127\.0\.0\.1:5432 .*no initdb\/pg_ctl installed: running without the trace store; set DATABASE_URL/);
  });

  it('runs without traces when PostgreSQL does not answer: ingest goes on, the trace API answers 503 saying why', async () => {
    const keyPrefix = uniquePrefix('pgdown');
    prefixes.push(keyPrefix);
    const server = await spawnServer({ keyPrefix, env: { TRACES_ENABLED: 'true', DATABASE_URL: 'postgres://postgres@127.0.0.1:1/nowhere' } });
    const now = Date.now() / 1000;
    const doc = { trace_id: `1-${Math.floor(now).toString(16)}-0123456789abcdef01234567`, id: '0123456789abcdef', name: 'front', start_time: now - 1, end_time: now };
    const put = await post(server.baseUrl, '/TraceSegments', { TraceSegmentDocuments: [JSON.stringify(doc)] });
    expect(put.status).toBe(200);
    expect(await put.json()).toEqual({ UnprocessedTraceSegments: [] });
    const get = await post(server.baseUrl, '/Traces', { TraceIds: [doc.trace_id] });
    expect(get.status).toBe(503);
    expect(get.headers.get('x-amzn-errortype')).toBe('ServiceUnavailableException');
    expect(((await get.json()) as { message: string }).message).toMatch(/trace store is not ready: PostgreSQL at postgres:\/\/\*\*\*@127\.0\.0\.1:1\/nowhere is not usable yet/);
    expect(server.output()).toMatch(/trace store not ready/);

    const off = uniquePrefix('pgoff');
    prefixes.push(off);
    const plain = await spawnServer({ keyPrefix: off, env: { TRACES_ENABLED: 'false' } });
    const res = await post(plain.baseUrl, '/TraceSummaries', { StartTime: now - 60, EndTime: now });
    expect(res.status).toBe(503);
    expect(((await res.json()) as { message: string }).message).toMatch(/keeps no traces: the trace store is turned off/);
    expect(plain.output()).toMatch(/running without the trace store/);
  }, 60_000);
});
