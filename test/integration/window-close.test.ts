import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { dropPrefix, redisUrl, testRedis, uniquePrefix } from '../helpers/redis.js';
import { keySpace } from '../../src/aggregate/keys.js';
import { AggregateStore } from '../../src/aggregate/store.js';
import { AggregateReader, buildGraph } from '../../src/aggregate/read.js';
import { closeWindow, dueWindows } from '../../src/aggregate/close.js';
import { parseDocument } from '../../src/ingest/parse.js';
import type { SlimDoc } from '../../src/ingest/record.js';

const W = 60;
const T = 1_785_000_000; // a window start (multiple of 60)

function slim(doc: object): SlimDoc[] {
  const r = parseDocument(JSON.stringify(doc));
  if (!r.ok) throw new Error(r.rejection.message);
  return r.docs;
}

describe('window close: link evidence across batches becomes durable link counts', () => {
  const prefix = uniquePrefix('close');
  const redis = testRedis();
  const keys = keySpace(prefix);
  const opts = { windowSeconds: W, retentionSeconds: 3600, dedupeTtlSeconds: 3600, markerTtlSeconds: 3600 };
  const closeOpts = { windowSeconds: W, allowedLatenessSeconds: 10, retentionSeconds: 3600 };
  const store = new AggregateStore(redis, keys, opts);
  const reader = new AggregateReader(redis, keys, W);
  afterAll(async () => {
    await dropPrefix(redis, prefix);
    redis.disconnect();
  });

  it('resolves a traced call to its callee even when they came in different batches and windows', async () => {
    const trace = `1-${T.toString(16)}-0123456789abcdef01234567`;
    // caller's call starts at the end of window T; the callee's segment starts in the next window
    const caller = { trace_id: trace, id: 'aaaaaaaaaaaaaaaa', name: 'front', start_time: T + 59.5, end_time: T + 60.5, subsegments: [{ id: 'bbbbbbbbbbbbbbbb', name: 'back.internal', namespace: 'remote', traced: true, start_time: T + 59.9, end_time: T + 60.4 }] };
    const callee = { trace_id: trace, id: 'cccccccccccccccc', name: 'back', parent_id: 'bbbbbbbbbbbbbbbb', start_time: T + 60.0, end_time: T + 60.3 };
    await store.applyBatch({ id: 'b1', docs: slim(callee) });
    await store.applyBatch({ id: 'b2', docs: slim(caller) });

    const before = await reader.readRange(T - W, T + 2 * W);
    const g1 = buildGraph(before.windows, before.evidence);
    expect([...g1.edges.values()].map((e) => `${e.from}>${e.to}`)).toContain('|front>|back');

    // event time passed both windows' end plus lateness
    const due = await dueWindows(redis, keys, closeOpts, T + 2 * W + 10);
    expect(due).toEqual([T, T + W]);
    let resolved = 0;
    for (const w of due) resolved += (await closeWindow(redis, keys, closeOpts, w)).linksResolved;
    expect(resolved).toBe(1);
    // closing twice resolves nothing twice
    expect((await closeWindow(redis, keys, closeOpts, T + W)).linksResolved).toBe(0);
    expect(await redis.hlen(keys.pendingCallees(T + W))).toBe(0);
    expect(await redis.hlen(keys.pendingCallers(T))).toBe(0);
    expect(await dueWindows(redis, keys, closeOpts, T + 10 * W)).toEqual([]);

    const after = await reader.readRange(T - W, T + 2 * W);
    const g2 = buildGraph(after.windows, after.evidence);
    const edge = [...g2.edges.values()].find((e) => e.from === '|front');
    expect(edge?.to).toBe('|back');
    expect(edge?.aliases).toEqual([{ type: 'remote', name: 'back.internal' }]);
    expect(edge?.stats.count).toBe(1);
    expect([...g2.nodes.keys()]).not.toContain('remote|back.internal');
  });

  it('a late segment re-opens its window, which closes again', async () => {
    const trace = `1-${T.toString(16)}-0123456789abcdef01234568`;
    await store.applyBatch({ id: 'late', docs: slim({ trace_id: trace, id: 'dddddddddddddddd', name: 'front', start_time: T + 1, end_time: T + 2 }) });
    expect(await dueWindows(redis, keys, closeOpts, T + 10 * W)).toEqual([T]);
    await closeWindow(redis, keys, closeOpts, T);
    const { windows } = await reader.readRange(T, T + W);
    expect(windows[0]!.nodes.get('|front')!.count).toBe(2);
  });
});
