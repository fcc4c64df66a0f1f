import { describe, expect, it } from 'vitest';
import { formatShare, healthShares, healthText, ringSegments, worstHealth } from '../../src/console/lib/health.js';

const counts = (count: number, errorCount: number, throttleCount: number, faultCount: number) => ({ count, okCount: count - errorCount - faultCount, errorCount, throttleCount, faultCount });

describe('console health colouring', () => {
  it('splits requests into ok, 4xx, 429 and 5xx; throttles are not counted twice as errors', () => {
    const s = healthShares(counts(100, 10, 4, 5));
    expect(s).toEqual({ ok: 0.85, error: 0.06, throttle: 0.04, fault: 0.05 });
    expect(s.ok + s.error + s.throttle + s.fault).toBeCloseTo(1, 12);
    expect(worstHealth(s)).toBe('fault');
    expect(healthText(s)).toBe('5.0 % 5xx · 4.0 % 429 · 6.0 % 4xx');
  });

  it('no requests: all zero, said in words', () => {
    const s = healthShares(counts(0, 0, 0, 0));
    expect(s).toEqual({ ok: 0, error: 0, throttle: 0, fault: 0 });
    expect(worstHealth(s)).toBe('none');
    expect(healthText(s)).toBe('no requests');
    expect(ringSegments(s, 100)).toEqual([]);
    expect(healthText(healthShares(counts(7, 0, 0, 0)))).toBe('all OK');
  });

  it('a ring covers the circle once, in order, and one fault in ten thousand stays visible', () => {
    const c = 2 * Math.PI * 20;
    const segs = ringSegments(healthShares(counts(10_000, 0, 0, 1)), c);
    expect(segs.map((s) => s.kind)).toEqual(['ok', 'fault']);
    const lengths = segs.map((s) => Number(s.dashArray.split(' ')[0]));
    expect(lengths[1]).toBeGreaterThanOrEqual(2);
    expect(lengths[0]! + lengths[1]!).toBeCloseTo(c, 2);
    // the second arc starts where the first ends
    expect(segs[0]!.dashOffset - segs[1]!.dashOffset).toBeCloseTo(lengths[0]!, 2);
    expect(ringSegments(healthShares(counts(50, 0, 0, 0)), c)).toEqual([{ kind: 'ok', dashArray: `${Math.round(c * 1000) / 1000} 0`, dashOffset: Math.round((c / 4) * 1000) / 1000 }]);
  });

  it('shares read as percentages', () => {
    expect(formatShare(0)).toBe('0 %');
    expect(formatShare(0.0004)).toBe('<0.1 %');
    expect(formatShare(0.056)).toBe('5.6 %');
    expect(formatShare(0.5)).toBe('50 %');
  });
});
