import { afterAll, describe, expect, it } from 'vitest';
import { closeWindow, dueWindows } from '../../src/aggregate/close.js';
import { CloseGenerations } from '../../src/aggregate/close-generations.js';
import { keySpace } from '../../src/aggregate/keys.js';
import { AggregateReader } from '../../src/aggregate/read.js';
import { AggregateStore } from '../../src/aggregate/store.js';
import { GraphCache } from '../../src/detect/graph-cache.js';
import { withDefaults } from '../../src/detect/options.js';
import { WindowDetector } from '../../src/detect/window-detector.js';
import { parseDocument } from '../../src/ingest/parse.js';
import type { SlimDoc } from '../../src/ingest/record.js';
import { dropPrefix, testRedis, uniquePrefix } from '../helpers/redis.js';

const W = 60;
const T = 1_785_000_000; // a window start (multiple of 60)

/**
 * Late data re-opens a closed window, and it is closed again. A detector that read the window before
 * (in this process or another) must read it anew, not judge with the graph it cached: each close bumps
 * the window's close generation in Redis, and the cache checks the generations of what it serves.
 */
describe('late data and the window graph cache', () => {
  const prefix = uniquePrefix('late');
  const keys = keySpace(prefix);
  const closeOpts = { windowSeconds: W, allowedLatenessSeconds: 0, retentionSeconds: 3600 };
  const redis = testRedis();
  // two processes: one judges (and caches), the other ingests and closes
  const judging = testRedis();
  const store = new AggregateStore(redis, keys, { windowSeconds: W, retentionSeconds: 3600, dedupeTtlSeconds: 3600, markerTtlSeconds: 3600 });
  afterAll(async () => {
    await dropPrefix(redis, prefix);
    redis.disconnect();
    judging.disconnect();
  });

  let seq = 0;
  /** `n` requests to `front`, in window `w`, as one batch. */
  const ingest = async (w: number, n: number) => {
    const docs: SlimDoc[] = [];
    for (let i = 0; i < n; i++) {
      const id = (++seq).toString(16).padStart(16, '0');
      const r = parseDocument(JSON.stringify({ trace_id: `1-${T.toString(16)}-${id.padStart(24, '0')}`, id, name: 'front', start_time: w + 1 + i / 100, end_time: w + 1.1 + i / 100 }));
      if (!r.ok) throw new Error(r.rejection.message);
      docs.push(...r.docs);
    }
    await store.applyBatch({ id: `b${seq}`, docs });
  };
  const closeDue = async () => {
    for (const w of await dueWindows(redis, keys, closeOpts, T + 100 * W)) await closeWindow(redis, keys, closeOpts, w);
  };

  it('a window closed again after late data is re-read, whichever process closed it', async () => {
    for (let k = 0; k < 4; k++) await ingest(T + k * W, 3);
    await closeDue();
    const reader = new AggregateReader(judging, keys, W);
    let reads = 0;
    const readRange = reader.readRange.bind(reader);
    reader.readRange = (from, to, max) => {
      reads++;
      return readRange(from, to, max);
    };
    const cache = new GraphCache(reader, new CloseGenerations(judging, keys));
    const count = async (w: number) => (await cache.get([T, T + W, T + 2 * W, T + 3 * W])).get(w)!.nodes.get('|front')!.stats.count;
    expect(await count(T + W)).toBe(3);
    expect(reads).toBe(1);
    // nothing changed: served from the cache
    expect(await count(T + W)).toBe(3);
    expect(reads).toBe(1);

    // late data for the closed window T + W: it re-opens; the other process closes it again
    await ingest(T + W, 2);
    expect(await dueWindows(redis, keys, closeOpts, T + 100 * W)).toEqual([T + W]);
    await closeDue();
    expect(await count(T + W)).toBe(5);
    // the windows around it were read again with it (their graphs take link evidence from it); none else
    expect(reads).toBe(2);
    expect(await count(T + 3 * W)).toBe(3);
    expect(reads).toBe(2);
  });

  it('a detector judging a window again after late data sees the late data', async () => {
    const w = T + 10 * W;
    await ingest(w, 4);
    await closeDue();
    const reader = new AggregateReader(judging, keys, W);
    const detector = new WindowDetector(reader, withDefaults(), new GraphCache(reader, new CloseGenerations(judging, keys)));
    expect((await detector.analyze(w)).graph.nodes.get('|front')!.stats.count).toBe(4);
    await ingest(w, 3);
    await closeDue();
    expect((await detector.analyze(w)).graph.nodes.get('|front')!.stats.count).toBe(7);
  });
});
