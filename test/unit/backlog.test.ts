import { describe, expect, it } from 'vitest';
import { Backlog, type BacklogState } from '../../src/ingest/backlog.js';

describe('Backlog (load shedding by the ingest queue)', () => {
  it('refuses from the limit on and accepts again only at 80 % of it', () => {
    const changes: BacklogState[] = [];
    const b = new Backlog(async () => 0, { maxJobs: 100, pollMs: 1000 }, (s) => changes.push(s));
    const seen = [10, 99, 100, 150, 95, 81, 80, 79, 99, 100].map((jobs) => {
      b.apply(jobs);
      return b.current.throttling;
    });
    expect(seen).toEqual([false, false, true, true, true, true, false, false, false, true]);
    // told on each change only, with the reading that made it
    expect(changes.map((c) => [c.jobs, c.throttling])).toEqual([
      [100, true],
      [80, false],
      [100, true],
    ]);
  });

  it('says why while refusing, with the backlog and the limit', () => {
    const b = new Backlog(async () => 0, { maxJobs: 20, pollMs: 1000 });
    expect(b.refusal()).toBeUndefined();
    b.apply(27);
    expect(b.refusal()).toBe('the ingest backlog is 27 jobs (limit 20): the workers are behind; retry later');
  });

  it('never refuses without a limit', () => {
    const b = new Backlog(async () => 0, { maxJobs: 0, pollMs: 1000 });
    b.apply(1_000_000);
    expect(b.current.throttling).toBe(false);
    expect(b.refusal()).toBeUndefined();
  });

  it('keeps the last reading when the queue cannot be read', async () => {
    let fail = false;
    const b = new Backlog(
      async () => {
        if (fail) throw new Error('Connection is closed');
        return 5;
      },
      { maxJobs: 5, pollMs: 1000 },
    );
    await b.poll();
    expect(b.current).toEqual({ jobs: 5, limit: 5, throttling: true });
    fail = true;
    await b.poll();
    expect(b.current).toEqual({ jobs: 5, limit: 5, throttling: true });
  });
});
