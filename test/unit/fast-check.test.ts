import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { certainlyValidIndependentSubsegment, certainlyValidSegment } from '../../src/xray/fast-check.js';
import { independentSubsegmentSchema, segmentSchema } from '../../src/xray/segment-schema.js';
import { Rng } from '../../src/sim/random.js';
import { SHOP, traffic } from '../../src/sim/traffic.js';
import { capturesDir } from '../helpers/captures.js';


function captureDocs(): Array<Record<string, unknown>> {
  return readFileSync(resolve(capturesDir, 'udp-all-datagrams.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.includes('"raw"'))
    .map((l) => {
      const raw = (JSON.parse(l) as { raw: string }).raw;
      return JSON.parse(raw.slice(raw.indexOf('\n') + 1)) as Record<string, unknown>;
    });
}

const WEIRD: unknown[] = [null, 0, -1, 1.5, 1e12, 'x', '', 'ABCDEF0123456789', 'z'.repeat(300), 'q'.repeat(10_001), true, false, [], [1], {}, { a: 1 }, 1795595385.1];

/** Every path to a value inside an object tree. */
function paths(v: unknown, prefix: Array<string | number> = [], out: Array<Array<string | number>> = []): Array<Array<string | number>> {
  if (v && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      const p = [...prefix, Array.isArray(v) ? Number(k) : k];
      out.push(p);
      paths(x, p, out);
    }
  }
  return out;
}

function mutate(doc: Record<string, unknown>, rng: Rng, where: (path: Array<string | number>) => boolean = () => true): Record<string, unknown> {
  const copy = structuredClone(doc);
  const all = paths(copy).filter(where);
  const n = 1 + Math.floor(rng.next() * 3);
  for (let i = 0; i < n && all.length; i++) {
    const p = rng.pick(all);
    let parent: any = copy;
    for (const k of p.slice(0, -1)) parent = parent?.[k];
    if (!parent || typeof parent !== 'object') continue;
    const last = p[p.length - 1]!;
    const r = rng.next();
    if (r < 0.15) delete parent[last];
    else if (r < 0.25) parent[`extra_${i}`] = rng.pick(WEIRD);
    else parent[last] = rng.pick(WEIRD);
  }
  return copy;
}

/**
 * 20,000 mutations of the seeds (where `where` allows): throws on the first one the fast check vouches
 * for and zod rejects; counts how many it vouched for and how many zod rejected.
 */
function differential(seeds: Array<Record<string, unknown>>, rng: Rng, where?: (path: Array<string | number>) => boolean): { vouched: number; rejected: number } {
  let vouched = 0;
  let rejected = 0;
  for (let i = 0; i < 20_000; i++) {
    const d = mutate(rng.pick(seeds), rng, where);
    const independent = d.type === 'subsegment';
    const fastOk = independent ? certainlyValidIndependentSubsegment(d) : certainlyValidSegment(d);
    const zod = (independent ? independentSubsegmentSchema : segmentSchema).safeParse(d);
    if (!zod.success) rejected++;
    if (fastOk) {
      vouched++;
      if (!zod.success) throw new Error(`fast check accepted what zod rejects: ${JSON.stringify(zod.error.issues[0])} in ${JSON.stringify(d).slice(0, 800)}`);
    }
  }
  return { vouched, rejected };
}

describe('fast structural check vs the zod schemas (differential)', () => {
  it('accepts the SDK captures and simulated traffic, as zod does', () => {
    const gen = traffic({ seed: 3, services: SHOP, entry: 'api-gateway', startTime: 1_790_000_000, rate: 50 });
    const docs = [...captureDocs()];
    for (let i = 0; i < 200; i++) docs.push(...gen.next().value!.docs);
    let fast = 0;
    for (const d of docs) {
      const independent = d.type === 'subsegment';
      const zodOk = (independent ? independentSubsegmentSchema : segmentSchema).safeParse(d).success;
      expect(zodOk).toBe(true);
      if (independent ? certainlyValidIndependentSubsegment(d) : certainlyValidSegment(d)) fast++;
    }
    // the fast path must actually carry the common case, or it is not worth having
    expect(fast / docs.length).toBeGreaterThan(0.9);
  });

  it('never vouches for a document zod rejects (20,000 random mutations)', () => {
    const rng = new Rng(42);
    const gen = traffic({ seed: 5, services: SHOP, entry: 'api-gateway', startTime: 1_790_000_000, rate: 50 });
    const seeds = [...captureDocs()];
    for (let i = 0; i < 100; i++) seeds.push(...gen.next().value!.docs);
    const { vouched, rejected } = differential(seeds, rng);
    // the mutations must exercise both sides
    expect(vouched).toBeGreaterThan(1000);
    expect(rejected).toBeGreaterThan(1000);
  });

  it('judges causes, SQL details, precursor ids and AWS details as zod does (20,000 mutations inside them)', () => {
    const rng = new Rng(7);
    const gen = traffic({ seed: 11, services: SHOP, entry: 'api-gateway', startTime: 1_790_000_000, rate: 50 });
    const hasCause = (d: unknown): boolean => JSON.stringify(d).includes('"cause"');
    const seeds = captureDocs().filter(hasCause);
    while (seeds.length < 40) for (const d of gen.next().value!.docs) if (hasCause(d)) seeds.push(d);
    // the other shapes a cause may take: an exception id, paths, a nested exception's id, null lines
    const first = structuredClone(seeds.find((d) => d.type !== 'subsegment' && typeof d.cause === 'object')!) as any;
    seeds.push({ ...first, cause: 'a1b2c3d4e5f60718' });
    seeds.push({ ...first, cause: { ...first.cause, paths: ['/srv/app/a.js', '/srv/app/b.js'], exceptions: first.cause.exceptions.map((x: any) => ({ ...x, remote: true, truncated: 2, skipped: 1, cause: 'a1b2c3d4e5f60718', stack: [{ path: 'p', line: null, label: 'l' }] })) } });
    // a database call as the SQL patchers record it, with the retries before it
    const withSubs = structuredClone(seeds.find((d) => d.type !== 'subsegment' && Array.isArray(d.subsegments))!) as any;
    withSubs.subsegments[0].sql = { url: 'postgresql://db:5432/shop', sanitized_query: 'SELECT * FROM orders WHERE id = $1', database_type: 'PostgreSQL', database_version: '15.4', driver_version: 'node-postgres 8.11', user: 'shop', preparation: 'statement', custom: 1 };
    withSubs.subsegments[0].precursor_ids = ['0123456789abcdef', 'fedcba9876543210'];
    const streamed = structuredClone(captureDocs().find((d) => d.type === 'subsegment')!) as any;
    streamed.sql = { ...withSubs.subsegments[0].sql };
    streamed.precursor_ids = ['0123456789abcdef'];
    // the rarer AWS details: batch operations' tables, Beanstalk and CloudWatch Logs plugins
    const beanstalk = structuredClone(withSubs);
    beanstalk.aws = { ...(beanstalk.aws ?? {}), elastic_beanstalk: { environment_name: 'shop-prod', version_label: 'v42', deployment_id: 17 }, cloudwatch_logs: [{ log_group: '/shop/app', arn: 'arn:aws:logs:us-east-1:123456789012:log-group:/shop/app' }] };
    beanstalk.subsegments[0].aws = { operation: 'BatchGetItem', table_names: ['orders', 'items'], resource_names: ['orders'] };
    // weighted, so that about a third of the mutations land in these
    for (let i = 0; i < 8; i++) seeds.push(withSubs, streamed, beanstalk);
    let fast = 0;
    for (const d of seeds) {
      const independent = d.type === 'subsegment';
      expect((independent ? independentSubsegmentSchema : segmentSchema).safeParse(d).success).toBe(true);
      if (independent ? certainlyValidIndependentSubsegment(d) : certainlyValidSegment(d)) fast++;
    }
    // faulting documents take the fast path too
    expect(fast / seeds.length).toBeGreaterThan(0.9);
    const { vouched, rejected } = differential(seeds, rng, (p) => p.includes('cause') || p.includes('sql') || p.includes('precursor_ids') || p.includes('aws'));
    expect(vouched).toBeGreaterThan(1000);
    expect(rejected).toBeGreaterThan(1000);
  });
});
