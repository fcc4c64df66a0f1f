import { describe, expect, it } from 'vitest';
import { judge, keyKind, type Reading } from '../../scripts/soak/readings.js';

const run = (minutes: number, at: (m: number) => Omit<Reading, 'minute'>): Reading[] => Array.from({ length: minutes }, (_, i) => ({ minute: i + 1, ...at(i + 1) }));
const opts = { fromMinute: 10, minMinutes: 15, limitPct: 10 };

describe('soak verdict', () => {
  it('passes flat figures and fails one that grows more than the limit from minute 10 on', () => {
    const flat = run(30, (m) => ({ rssBytes: 160e6, usedMemory: m < 10 ? m * 1e6 : 8e6, keys: 2300 }));
    expect(judge(flat, opts)).toMatchObject({ meaningful: true, ok: true, grew: [] });
    const leaking = run(30, (m) => ({ rssBytes: 160e6, usedMemory: 8e6, keys: 2300 + 60 * m }));
    const v = judge(leaking, opts);
    expect(v.ok).toBe(false);
    expect(v.grew).toEqual(['keys']);
    expect(v.growth.keys).toBeCloseTo((100 * 60 * 20) / (2300 + 600), 6);
  });

  it('does not judge a run shorter than the minimum', () => {
    const short = run(12, (m) => ({ rssBytes: m * 1e6, usedMemory: m * 1e6, keys: m * 100 }));
    expect(judge(short, opts)).toMatchObject({ meaningful: false, ok: true });
  });
});

describe('key kinds', () => {
  it('fold windows, node names, ids and numbers', () => {
    expect(keyKind('{soak:w1765100000}:x:remote|api.payments.example.com')).toBe('{P:w#}:x:<node>');
    expect(keyKind('{soak:w1765100010}:seen')).toBe('{P:w#}:seen');
    expect(keyKind('{soak:i}:ev:cc0e69af-b20a-5196-b20b-7e0f6d7c447d')).toBe('{P:i}:ev:<uuid>');
    expect(keyKind('{soak}:ingest:events')).toBe('{P}:ingest:events');
    expect(keyKind('{soak:m}:gen:1765065600')).toBe('{P:m}:gen:#');
  });
});
