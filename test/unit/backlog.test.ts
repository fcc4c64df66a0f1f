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

describe('Backlog (load shedding by Redis memory)', () => {
  const MB = 1048576;
  const mem = (usedMb: number, maxMb = 100) => ({ used: usedMb * MB, max: maxMb * MB });

  it('refuses from maxMemoryShare of maxmemory on, and accepts again at 80 % of that share', () => {
    const changes: BacklogState[] = [];
    const b = new Backlog(async () => 0, { maxJobs: 1000, pollMs: 1000, maxMemoryShare: 0.8 }, (s) => changes.push(s));
    const seen = [10, 79, 80, 90, 70, 64.1, 64, 60, 79, 80].map((mb) => {
      b.apply(3, mem(mb));
      return b.current.throttling;
    });
    expect(seen).toEqual([false, false, true, true, true, true, false, false, false, true]);
    expect(changes.map((c) => [c.memory!.used / MB, c.throttling, c.reason])).toEqual([
      [80, true, 'memory'],
      [64, false, undefined],
      [80, true, 'memory'],
    ]);
  });

  it('says it is memory, with the figures, while refusing for it', () => {
    const b = new Backlog(async () => 0, { maxJobs: 1000, pollMs: 1000, maxMemoryShare: 0.8 });
    b.apply(3, mem(52, 64));
    expect(b.refusal()).toBe('Redis memory is 52 MB of its 64 MB maxmemory (refusing above 80 %): the workers are behind or Redis is too small; retry later');
  });

  it('never refuses for memory without a maxmemory, or with a share of 0', () => {
    const noLimit = new Backlog(async () => 0, { maxJobs: 1000, pollMs: 1000, maxMemoryShare: 0.8 });
    noLimit.apply(3, { used: 10 ** 12, max: 0 });
    expect(noLimit.current.throttling).toBe(false);
    const off = new Backlog(async () => 0, { maxJobs: 1000, pollMs: 1000, maxMemoryShare: 0 });
    off.apply(3, mem(99));
    expect(off.current.throttling).toBe(false);
  });

  it('refuses while either limit holds, and names memory first', () => {
    const b = new Backlog(async () => 0, { maxJobs: 10, pollMs: 1000, maxMemoryShare: 0.8 });
    b.apply(10, mem(90));
    expect(b.current).toMatchObject({ throttling: true, reason: 'memory' });
    b.apply(10, mem(50));
    expect(b.current).toMatchObject({ throttling: true, reason: 'jobs' });
    expect(b.refusal()).toMatch(/ingest backlog is 10 jobs/);
    b.apply(8, mem(50));
    expect(b.current.throttling).toBe(false);
  });

  it('polls memory even when the job count is not limited', async () => {
    const b = new Backlog(async () => ({ jobs: 0, memory: mem(95) }), { maxJobs: 0, pollMs: 60_000, maxMemoryShare: 0.8 });
    await b.start();
    b.stop();
    expect(b.current).toMatchObject({ throttling: true, reason: 'memory' });
  });
});
