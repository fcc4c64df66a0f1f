import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import type { InsightEvent } from '../../src/insights/model.js';
import { replay } from '../../src/replay/replay.js';
import { Rng } from '../../src/sim/random.js';
import { dropPrefixAndReplays, redisUrl, testRedis, uniquePrefix } from '../helpers/redis.js';

/**
 * Latency and call structure per operation, through the real pipeline (replay: queue, worker, Redis
 * windows, detection, insights). A service `api` serves two operations: home pages (10 ms, no calls)
 * and checkouts (100 ms, one call to `payments` each). Traffic written here, seeded:
 * - 40 minutes half and half;
 * - 6 minutes where 90 % of requests are checkouts: `api` is much slower as a whole and calls `payments`
 *   far more per request, yet no operation changed: a shift in the mix, no insight;
 * - 10 minutes back to normal, then 6 minutes where home pages take three times as long (checkouts,
 *   the larger part of the latency, do not change): an insight rooted in `api`, whose evidence names
 *   the operation.
 */

const dir = mkdtempSync(join(tmpdir(), 'ti-operations-'));
const prefix = uniquePrefix('ops');
const cfg = loadConfig({ overrides: { logLevel: 'silent', keyPrefix: prefix } });
const redis = testRedis();
const START = 1_790_000_040; // a window boundary (multiple of 60)

afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await dropPrefixAndReplays(redis, prefix);
  redis.disconnect();
});

const hex = (r: () => number, n: number) => Array.from({ length: n }, () => Math.floor(r() * 16).toString(16)).join('');

function workload(): string {
  const gen = new Rng(42);
  const r = () => gen.next();
  const lines: string[] = [];
  const minutes = 62;
  for (let m = 0; m < minutes; m++) {
    const mixShift = m >= 40 && m < 46;
    const homeSlow = m >= 56;
    for (let i = 0; i < 60; i++) {
      const t = START + m * 60 + i + r() * 0.5;
      const checkout = r() < (mixShift ? 0.9 : 0.5);
      const jitter = () => 0.85 + 0.3 * r();
      const trace = `1-${Math.floor(t).toString(16)}-${hex(r, 24)}`;
      const id = hex(r, 16);
      const segment: Record<string, unknown> = {
        trace_id: trace,
        id,
        name: 'api',
        origin: 'AWS::EC2::Instance',
        start_time: t,
        http: { request: { method: checkout ? 'POST' : 'GET', url: checkout ? `https://shop.example.com/checkout/${1000 + i}` : 'https://shop.example.com/home' }, response: { status: 200 } },
      };
      if (checkout) {
        const call = hex(r, 16);
        const callStart = t + 0.01;
        const callEnd = callStart + 0.06 * jitter();
        segment.subsegments = [{ id: call, name: 'payments', namespace: 'remote', traced: true, start_time: callStart, end_time: callEnd, http: { request: { method: 'POST', url: 'http://payments/charge' }, response: { status: 200 } } }];
        segment.end_time = callEnd + 0.03 * jitter();
        lines.push(JSON.stringify({ trace_id: trace, id: hex(r, 16), parent_id: call, name: 'payments', origin: 'AWS::EC2::Instance', start_time: callStart + 0.0005, end_time: callEnd - 0.0005, http: { request: { method: 'POST', url: '/charge' }, response: { status: 200 } } }));
      } else segment.end_time = t + 0.01 * (homeSlow ? 3 : 1) * jitter();
      lines.push(JSON.stringify(segment));
    }
  }
  return lines.join('\n') + '\n';
}

describe('per operation', () => {
  it('a shift in the operation mix opens nothing; one operation three times slower opens an insight that names it', async () => {
    const file = join(dir, 'ops.ndjson');
    writeFileSync(file, workload());
    const events: InsightEvent[] = [];
    const r = await replay({ files: [file], cfg, redisUrl, log: pino({ level: 'silent' }), onEvent: (e) => void events.push(e) });
    expect(r.rejections).toEqual([]);

    const opened = events.filter((e) => e.type === 'insight.opened');
    // nothing during or after the mix shift (minutes 40–45)
    expect(opened.filter((e) => e.insight.startTime < START + 56 * 60)).toEqual([]);
    // the slow home pages (from minute 56): one insight, rooted in api, opened within two windows
    expect(opened).toHaveLength(1);
    const ins = opened[0]!.insight;
    expect(ins.rootCauseCandidates[0]!.service.name).toBe('api');
    expect(ins.categories).toContain('LATENCY');
    expect(ins.startTime).toBeGreaterThanOrEqual(START + 56 * 60);
    expect(opened[0]!.eventTime - (START + 56 * 60)).toBeLessThanOrEqual(120);
    const evidence = (ins.evidence as { anomalies: Array<{ service: { name: string }; evidence: Array<{ operation?: string; metric: string; impact: boolean }> }> }).anomalies;
    const api = evidence.find((a) => a.service.name === 'api')!;
    expect(api.evidence.some((e) => e.operation === 'GET /home' && e.metric === 'latencyMs' && e.impact)).toBe(true);
    expect(api.evidence.some((e) => e.operation === 'POST /checkout/{id}')).toBe(false);
  });
});
