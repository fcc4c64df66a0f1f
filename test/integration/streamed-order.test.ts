import { afterAll, describe, expect, it } from 'vitest';
import { keySpace, windowOf } from '../../src/aggregate/keys.js';
import { AggregateReader } from '../../src/aggregate/read.js';
import { edgeId, nodeId } from '../../src/aggregate/graph-ids.js';
import { AggregateStore } from '../../src/aggregate/store.js';
import { parseDocument } from '../../src/ingest/parse.js';
import type { SlimDoc } from '../../src/ingest/record.js';
import { withScripts } from '../../src/redis/scripts.js';
import { Rng } from '../../src/sim/random.js';
import { dropPrefix, testRedis, uniquePrefix } from '../helpers/redis.js';

/**
 * Streamed (independent) subsegments count once, with their calls on their segment's edges, whatever
 * the order their batches are applied in: before their segment, after it, or at the same moment on
 * another connection — the SDK for Node.js removes a streamed subsegment from its segment, so the
 * subsegment document is the only place its call is recorded.
 */
const WINDOW = 60;
const T = windowOf(1_700_000_000, WINDOW) + 5;
const opts = { windowSeconds: WINDOW, retentionSeconds: 3600, dedupeTtlSeconds: 3600, markerTtlSeconds: 3600 };

const hex = (rng: Rng, n: number) => Array.from({ length: n }, () => Math.floor(rng.next() * 16).toString(16)).join('');
const slim = (doc: object): SlimDoc[] => {
  const r = parseDocument(JSON.stringify(doc));
  if (!r.ok) throw new Error(r.rejection.message);
  return r.docs;
};

/**
 * One request: segment `front` with a local subsegment; a streamed remote call (child of the segment)
 * and a streamed DynamoDB call (child of the local subsegment), sent as their own documents.
 */
function request(rng: Rng, i: number): { segment: SlimDoc[]; subs: SlimDoc[] } {
  const trace = `1-${Math.floor(T).toString(16)}-${hex(rng, 24)}`;
  const [seg, local, ext, ddb] = [hex(rng, 16), hex(rng, 16), hex(rng, 16), hex(rng, 16)];
  const s = T + i * 0.01;
  return {
    segment: slim({ trace_id: trace, id: seg, name: 'front', origin: 'AWS::EC2::Instance', start_time: s, end_time: s + 0.5, subsegments: [{ id: local, name: 'render', start_time: s + 0.01, end_time: s + 0.4 }] }),
    subs: [
      ...slim({ type: 'subsegment', trace_id: trace, parent_id: seg, id: ext, name: 'ext-api', namespace: 'remote', start_time: s + 0.02, end_time: s + 0.1 }),
      ...slim({ type: 'subsegment', trace_id: trace, parent_id: local, id: ddb, name: 'DynamoDB', namespace: 'aws', aws: { operation: 'GetItem', table_name: 'items' }, start_time: s + 0.1, end_time: s + 0.2 }),
    ],
  };
}

const front = nodeId('AWS::EC2::Instance', 'front');
const EXT = edgeId(front, nodeId('remote', 'ext-api'));
const DDB = edgeId(front, nodeId('AWS::DynamoDB::Table', 'DynamoDB'));

describe('streamed subsegments in any order', () => {
  const redis = withScripts(testRedis());
  const other = withScripts(testRedis());
  const prefixes: string[] = [];
  afterAll(async () => {
    for (const p of prefixes) await dropPrefix(redis, p);
    redis.disconnect();
    other.disconnect();
  });

  const setup = async () => {
    const prefix = uniquePrefix('streamed');
    prefixes.push(prefix);
    const keys = keySpace(prefix);
    const a = new AggregateStore(redis, keys, opts);
    const b = new AggregateStore(other, keys, opts);
    // traffic with independent subsegments was seen before: segments leave skeletons from here on
    const warm = request(new Rng(1), 0);
    await a.applyBatch({ id: 'warm-1', docs: [...warm.subs] });
    await b.applyBatch({ id: 'warm-2', docs: [...warm.subs] });
    const counts = async () => {
      const [w] = await new AggregateReader(redis, keys, WINDOW).readWindows(windowOf(T, WINDOW), windowOf(T, WINDOW) + WINDOW);
      const c = (id: string) => w?.edges.get(id)?.count ?? 0;
      return { ext: c(EXT), ddb: c(DDB), front: w?.nodes.get(front)?.count ?? 0 };
    };
    return { a, b, counts };
  };

  it('segment first, its subsegments in a later batch', async () => {
    const { a, counts } = await setup();
    const rng = new Rng(2);
    const reqs = Array.from({ length: 20 }, (_, i) => request(rng, i + 1));
    await a.applyBatch({ id: 'segs', docs: reqs.flatMap((r) => r.segment) });
    await a.applyBatch({ id: 'subs', docs: reqs.flatMap((r) => r.subs) });
    // and again, as a resend: nothing counts twice
    await a.applyBatch({ id: 'subs-again', docs: reqs.flatMap((r) => r.subs) });
    expect(await counts()).toEqual({ ext: 20, ddb: 20, front: 20 });
  });

  it('subsegments first, their segment in a later batch (parked, then joined)', async () => {
    const { a, counts } = await setup();
    const rng = new Rng(3);
    const reqs = Array.from({ length: 20 }, (_, i) => request(rng, i + 1));
    await a.applyBatch({ id: 'subs', docs: reqs.flatMap((r) => r.subs) });
    await a.applyBatch({ id: 'segs', docs: reqs.flatMap((r) => r.segment) });
    expect(await counts()).toEqual({ ext: 20, ddb: 20, front: 20 });
  });

  it('segment and subsegments in batches applied at the same moment on two connections, many times', async () => {
    const { a, b, counts } = await setup();
    const rng = new Rng(4);
    const N = 200;
    for (let i = 0; i < N; i++) {
      const r = request(rng, i + 1);
      // other traffic in the subsegments' batch makes it claim and apply before it parks: the segment's
      // batch may by then have looked at the parking and found nothing
      const filler = Array.from({ length: 1 + (i % 40) }, (_, j) => request(rng, i + 1).segment.map((d) => ({ ...d, n: `filler-${j % 3}`, c: undefined })))
        .flat()
        .map(({ c: _c, ...d }) => d as SlimDoc);
      // some rounds also resend the subsegments in a third batch
      const runs = [a.applyBatch({ id: `seg-${i}`, docs: r.segment }), b.applyBatch({ id: `sub-${i}`, docs: [...filler, ...r.subs] })];
      if (i % 5 === 0) runs.push(a.applyBatch({ id: `sub-again-${i}`, docs: r.subs }));
      await Promise.all(i % 2 ? runs : runs.reverse());
    }
    expect(await counts()).toEqual({ ext: N, ddb: N, front: N });
  });
});
