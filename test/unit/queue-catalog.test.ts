import { describe, expect, it } from 'vitest';
import { CATALOG, readJob } from '../../src/queue/catalog.js';
import { QUEUE } from '../../src/queue/queues.js';

describe('queue catalog', () => {
  it('names every queue and the jobs each carries', () => {
    expect(Object.keys(CATALOG).sort()).toEqual(Object.values(QUEUE).sort());
    expect(Object.keys(CATALOG[QUEUE.ingest]).sort()).toEqual(['batch', 'raw']);
    expect(Object.keys(CATALOG[QUEUE.deliver]).sort()).toEqual(['deliver', 'sweep']);
  });

  it('reads a valid job, and says why another is refused', () => {
    const ok = readJob(QUEUE.traces, { name: 'documents', data: { id: 'b1', docs: ['{}'] } });
    expect(ok).toEqual({ ok: true, name: 'documents', data: { id: 'b1', docs: ['{}'] } });
    expect(readJob(QUEUE.traces, { name: 'other', data: {} })).toEqual({ ok: false, reason: 'unknown job name "other" on queue traces' });
    const bad = readJob(QUEUE.traces, { name: 'documents', data: { id: '', docs: 'x' } });
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.reason).toMatch(/^id: .*; docs: /);
    const raw = readJob(QUEUE.ingest, { name: 'raw', data: { id: 'r1' } });
    expect(!raw.ok && raw.reason).toMatch(/blob/);
  });
});
