import { createSocket } from 'node:dgram';
import type { Sql } from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatchGetTracesCommand, PutTraceSegmentsCommand, type XRayClient } from '@aws-sdk/client-xray';
import type { TraceStore } from '../../src/traces/store/store.js';
import { SAMPLE_ALL, type Scenario } from '../../src/sim/model.js';
import { shopServices } from '../../src/sim/scenarios/shop.js';
import { Simulation } from '../../src/sim/simulate.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { dropPrefix, testRedis } from '../helpers/redis.js';
import { openTestStore, xrayClient, type TestTraceStore } from '../helpers/trace-store.js';

/**
 * Ingest feeds the trace store: documents sent with @aws-sdk/client-xray's PutTraceSegments and over
 * the daemon's UDP protocol come back from BatchGetTraces exactly as sent, through the "traces" queue.
 */

const T0 = Math.floor(Date.now() / 1000 - 3600);

describe('ingest → traces queue → trace store', () => {
  const redis = testRedis();
  let db: TestTraceStore;
  let sql: Sql;
  let store: TraceStore;
  let stack: Stack;
  let xray: XRayClient;

  beforeAll(async () => {
    db = await openTestStore('ingest');
    ({ sql, store } = db);
    stack = await startStack({}, { traces: { store } });
    xray = xrayClient(stack.baseUrl);
  }, 60_000);

  afterAll(async () => {
    xray?.destroy();
    await stack?.close();
    await db?.drop();
    await dropPrefix(redis, stack.cfg.keyPrefix);
    await redis.quit();
  });

  it('keeps every accepted document whole, from HTTP and UDP alike, and refused ones not at all', async () => {
    const scenario: Scenario = {
      name: 'trace-ingest',
      description: 'a few seconds of shop traffic',
      seed: 11,
      start: T0,
      end: T0 + 4,
      services: shopServices(),
      traffic: { rate: 10, entries: [{ service: 'api-gateway', share: 1 }] },
      sampling: SAMPLE_ALL,
      incidents: [],
    };
    const requests = [...new Simulation(scenario).requests()];
    expect(requests.length).toBeGreaterThan(20);
    const sent = new Map<string, string[]>();
    const texts = (r: (typeof requests)[number]) => r.docs.map((d) => JSON.stringify(d));
    for (const r of requests) sent.set(String((r.docs[0] as { trace_id: string }).trace_id), texts(r));

    // half by PutTraceSegments (with one refused document among them), half by UDP datagrams
    const half = Math.floor(requests.length / 2);
    const http = requests.slice(0, half).flatMap(texts);
    const refused = JSON.stringify({ trace_id: 'not-a-trace-id', id: 'zz', name: 'bad', start_time: T0 });
    const put = await xray.send(new PutTraceSegmentsCommand({ TraceSegmentDocuments: [...http, refused] }));
    expect(put.UnprocessedTraceSegments).toHaveLength(1);
    const udp = createSocket('udp4');
    for (const text of requests.slice(half).flatMap(texts)) {
      await new Promise<void>((resolve, reject) =>
        udp.send(`{"format": "json", "version": 1}\n${text}`, stack.server.udpPort, '127.0.0.1', (err) => (err ? reject(err) : resolve())),
      );
    }
    udp.close();
    const total = [...sent.values()].reduce((a, d) => a + d.length, 0);
    for (let i = 0; i < 100 && (await stack.metrics.documentsAccepted.get()).values.reduce((a, v) => a + v.value, 0) < total; i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    await stack.drainTraces();

    const ids = [...sent.keys()];
    for (let i = 0; i < ids.length; i += 5) {
      const r = await xray.send(new BatchGetTracesCommand({ TraceIds: ids.slice(i, i + 5) }));
      expect(r.UnprocessedTraceIds).toEqual([]);
      for (const t of r.Traces!) {
        const got = t.Segments!.map((s) => JSON.parse(s.Document!)).sort((a, b) => (a.id < b.id ? -1 : 1));
        const want = sent.get(t.Id!)!.map((d) => JSON.parse(d)).sort((a, b) => (a.id < b.id ? -1 : 1));
        expect(got).toEqual(want);
      }
    }
    const [{ n }] = (await sql.unsafe(`select count(*)::int as n from "${db.schema}".documents`)) as unknown as [{ n: number }];
    expect(n).toBe(total);
    expect((await stack.metrics.tracesWritten.get()).values[0]!.value).toBe(total);
    expect((await stack.metrics.tracesDropped.get()).values.reduce((a, v) => a + v.value, 0)).toBe(0);
  });
});
