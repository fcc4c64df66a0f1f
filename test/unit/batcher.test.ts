import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Batcher } from '../../src/ingest/batcher.js';
import type { IngestJob, SlimDoc } from '../../src/ingest/record.js';

const doc = (n: number): SlimDoc => ({ k: 's', t: '1-6b069c79-f816772d7cdc462867807fa0', i: n.toString(16).padStart(16, '0'), n: 'svc', s: 1, e: 2 });
const docs = (from: number, count: number) => Array.from({ length: count }, (_, i) => doc(from + i));

/** A fake queue: records jobs; each enqueue waits until the test releases or fails it. */
function fakeQueue(opts: { manual?: boolean } = {}) {
  const jobs: IngestJob[] = [];
  const waiting: Array<{ job: IngestJob; resolve: () => void; reject: (e: unknown) => void }> = [];
  const enqueue = vi.fn((job: IngestJob) => {
    jobs.push(job);
    if (!opts.manual) return Promise.resolve();
    return new Promise<void>((resolve, reject) => waiting.push({ job, resolve, reject }));
  });
  return { jobs, waiting, enqueue };
}

/** Whether a promise has settled once the microtask queue has run (timers are not advanced). */
async function state(p: Promise<unknown>): Promise<'pending' | 'resolved' | 'rejected'> {
  let s: 'pending' | 'resolved' | 'rejected' = 'pending';
  p.then(
    () => (s = 'resolved'),
    () => (s = 'rejected'),
  );
  for (let i = 0; i < 20; i++) await Promise.resolve();
  return s;
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('Batcher', () => {
  it('flushes as soon as a batch reaches maxSegments, with unique stable ids', async () => {
    const q = fakeQueue();
    const b = new Batcher({ maxSegments: 3, maxWaitMs: 1000, enqueue: q.enqueue, idPrefix: 'p' });
    const first = b.add(docs(0, 2));
    expect(q.enqueue).not.toHaveBeenCalled();
    const second = b.add(docs(2, 2));
    expect(q.enqueue).toHaveBeenCalledTimes(1);
    expect(q.jobs[0]!.docs.map((d) => d.i)).toEqual(docs(0, 3).map((d) => d.i));
    expect(q.jobs[0]!.id).toBe('p-1');
    await expect(first).resolves.toBeUndefined();
    // the second caller's last document is still waiting for its batch
    expect(await state(second)).toBe('pending');
    expect(b.size).toBe(1);
    await vi.advanceTimersByTimeAsync(1000);
    await expect(second).resolves.toBeUndefined();
    expect(q.jobs.map((j) => j.id)).toEqual(['p-1', 'p-2']);
    expect(q.jobs[1]!.docs).toEqual([doc(3)]);
  });

  it('flushes a partial batch maxWaitMs after its first document', async () => {
    const q = fakeQueue();
    const b = new Batcher({ maxSegments: 100, maxWaitMs: 200, enqueue: q.enqueue });
    const p1 = b.add(docs(0, 1));
    await vi.advanceTimersByTimeAsync(150);
    const p2 = b.add(docs(1, 1));
    expect(q.enqueue).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(49);
    expect(q.enqueue).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(q.enqueue).toHaveBeenCalledTimes(1);
    expect(q.jobs[0]!.docs).toHaveLength(2);
    await expect(Promise.all([p1, p2])).resolves.toEqual([undefined, undefined]);
    // nothing pending: no further jobs, ever
    await vi.advanceTimersByTimeAsync(10_000);
    expect(q.enqueue).toHaveBeenCalledTimes(1);
  });

  it('resolves a caller whose documents span two batches only when both are queued', async () => {
    vi.useRealTimers();
    const q = fakeQueue({ manual: true });
    const b = new Batcher({ maxSegments: 4, maxWaitMs: 60_000, enqueue: q.enqueue });
    void b.add(docs(0, 2));
    const spanning = b.add(docs(2, 6)); // fills batch 1 (2 docs) and batch 2 (4 docs)
    expect(q.waiting).toHaveLength(2);
    expect(q.jobs.map((j) => j.docs.length)).toEqual([4, 4]);
    q.waiting[1]!.resolve();
    await new Promise((r) => setTimeout(r, 5));
    expect(await state(spanning)).toBe('pending');
    q.waiting[0]!.resolve();
    await expect(spanning).resolves.toBeUndefined();
    expect(b.size).toBe(0);
  });

  it('does not make a caller wait for an empty batch it merely completed', async () => {
    const q = fakeQueue();
    const b = new Batcher({ maxSegments: 2, maxWaitMs: 60_000, enqueue: q.enqueue });
    await expect(b.add(docs(0, 4))).resolves.toBeUndefined();
    expect(q.jobs.map((j) => j.docs.length)).toEqual([2, 2]);
    expect(b.size).toBe(0);
  });

  it('rejects every caller of a batch that could not be queued, and goes on afterwards', async () => {
    const q = fakeQueue({ manual: true });
    const b = new Batcher({ maxSegments: 10, maxWaitMs: 100, enqueue: q.enqueue });
    const a = b.add(docs(0, 1));
    const c = b.add(docs(1, 1));
    await vi.advanceTimersByTimeAsync(100);
    q.waiting[0]!.reject(new Error('Redis is down'));
    await expect(a).rejects.toThrow('Redis is down');
    await expect(c).rejects.toThrow('Redis is down');
    const later = b.add(docs(2, 1));
    await vi.advanceTimersByTimeAsync(100);
    q.waiting[1]!.resolve();
    await expect(later).resolves.toBeUndefined();
  });

  it('rejects a caller when any of its two batches fails', async () => {
    const q = fakeQueue({ manual: true });
    const b = new Batcher({ maxSegments: 2, maxWaitMs: 100, enqueue: q.enqueue });
    const p = b.add(docs(0, 3));
    q.waiting[0]!.resolve();
    await vi.advanceTimersByTimeAsync(100);
    q.waiting[1]!.reject(new Error('boom'));
    await expect(p).rejects.toThrow('boom');
  });

  it('turns an enqueue that throws synchronously into a rejection', async () => {
    const b = new Batcher({
      maxSegments: 1,
      maxWaitMs: 100,
      enqueue: () => {
        throw new Error('sync failure');
      },
    });
    await expect(b.add(docs(0, 1))).rejects.toThrow('sync failure');
  });

  it('eager (group commit): flushes at once when nothing is in flight', async () => {
    const q = fakeQueue();
    const b = new Batcher({ maxSegments: 500, maxWaitMs: 60_000, enqueue: q.enqueue });
    const p = b.add(docs(0, 3), { eager: true });
    expect(q.enqueue).toHaveBeenCalledTimes(1);
    await expect(p).resolves.toBeUndefined();
  });

  it('eager under load: requests pile into one batch that goes when the one in flight is queued', async () => {
    const q = fakeQueue({ manual: true });
    const b = new Batcher({ maxSegments: 500, maxWaitMs: 60_000, enqueue: q.enqueue });
    const first = b.add(docs(0, 1), { eager: true });
    const second = b.add(docs(1, 2), { eager: true });
    const third = b.add(docs(3, 3), { eager: true });
    expect(q.enqueue).toHaveBeenCalledTimes(1);
    q.waiting[0]!.resolve();
    await expect(first).resolves.toBeUndefined();
    await vi.advanceTimersByTimeAsync(0);
    expect(q.enqueue).toHaveBeenCalledTimes(2);
    expect(q.jobs[1]!.docs).toHaveLength(5);
    q.waiting[1]!.resolve();
    await expect(Promise.all([second, third])).resolves.toEqual([undefined, undefined]);
  });

  it('non-eager callers wait for size or time even when idle', async () => {
    const q = fakeQueue();
    const b = new Batcher({ maxSegments: 500, maxWaitMs: 200, enqueue: q.enqueue });
    void b.add(docs(0, 3));
    await vi.advanceTimersByTimeAsync(0);
    expect(q.enqueue).not.toHaveBeenCalled();
  });

  it('resolves an empty add at once without a job', async () => {
    const q = fakeQueue();
    const b = new Batcher({ maxSegments: 5, maxWaitMs: 100, enqueue: q.enqueue });
    await expect(b.add([])).resolves.toBeUndefined();
    await vi.advanceTimersByTimeAsync(1000);
    expect(q.enqueue).not.toHaveBeenCalled();
  });

  it('close() flushes what is pending, waits for it, and refuses more', async () => {
    const q = fakeQueue();
    const b = new Batcher({ maxSegments: 100, maxWaitMs: 60_000, enqueue: q.enqueue });
    const p = b.add(docs(0, 2));
    await b.close();
    await expect(p).resolves.toBeUndefined();
    expect(q.jobs).toHaveLength(1);
    await expect(b.add(docs(2, 1))).rejects.toThrow(/closed/);
  });
});
