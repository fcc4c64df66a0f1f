import { describe, expect, it } from 'vitest';
import { formatDuration, linearScale, parseRange, rangeQuery, tickLabel, tickStep, timeTicks } from '../../src/console/lib/time-axis.js';

describe('console time axis', () => {
  it('ticks fall on round UTC multiples within the range, at most maxTicks of them', () => {
    const from = Date.UTC(2026, 11, 7, 8, 3, 17) / 1000;
    const to = from + 900;
    const ticks = timeTicks(from, to, 8);
    expect(tickStep(from, to, 8)).toBe(120);
    expect(ticks.length).toBeLessThanOrEqual(8);
    expect(ticks.every((t) => t % 120 === 0 && t >= from && t <= to)).toBe(true);
    expect(tickLabel(ticks[0]!, 120)).toBe('08:04');
    expect(tickLabel(from, 10)).toBe('08:03:17');
    expect(tickLabel(from, 86400)).toBe('2026-12-07');
    expect(tickStep(0, 7 * 86400, 8)).toBe(86400);
    expect(tickStep(0, 100 * 86400, 8)).toBe(13 * 86400);
  });

  it('a scale maps the domain onto the range, a degenerate domain to the middle', () => {
    const s = linearScale(100, 200, 0, 500);
    expect(s(100)).toBe(0);
    expect(s(150)).toBe(250);
    expect(s(200)).toBe(500);
    expect(linearScale(5, 5, 0, 10)(99)).toBe(5);
  });

  it('ranges: live by default (last 15 min), fixed from from/to, and round-trip through the query', () => {
    expect(parseRange('', 1000)).toEqual({ from: 100, to: 1000, live: true, last: 900 });
    expect(parseRange('?last=3600', 5000)).toEqual({ from: 1400, to: 5000, live: true, last: 3600 });
    expect(parseRange('from=10&to=20', 5000)).toEqual({ from: 10, to: 20, live: false });
    expect(parseRange('from=20&to=10', 5000).live).toBe(true);
    expect(parseRange('last=-5', 1000).last).toBe(900);
    expect(rangeQuery({ from: 10.5, to: 20.2, live: false })).toBe('from=10&to=21');
    expect(rangeQuery(parseRange('last=300', 1000))).toBe('last=300');
  });

  it('durations read as people say them', () => {
    expect(formatDuration(45)).toBe('45 s');
    expect(formatDuration(900)).toBe('15 min');
    expect(formatDuration(150)).toBe('2 min 30 s');
    expect(formatDuration(9000)).toBe('2 h 30 min');
    expect(formatDuration(3 * 86400)).toBe('3 d');
  });
});

describe('console trace time axis', () => {
  it('round steps of 1, 2 or 5 × 10^k, and durations from µs to s', async () => {
    const { niceStep, formatMillis } = await import('../../src/console/lib/time-axis.js');
    expect(niceStep(405, 8)).toBe(100);
    expect(niceStep(1000, 8)).toBe(200);
    expect(niceStep(0.9, 8)).toBe(0.2);
    expect(niceStep(0, 8)).toBe(1);
    expect(formatMillis(0)).toBe('0 ms');
    expect(formatMillis(0.25)).toBe('250 µs');
    expect(formatMillis(3.456)).toBe('3.46 ms');
    expect(formatMillis(405.2)).toBe('405 ms');
    expect(formatMillis(1250)).toBe('1.25 s');
  });
});
