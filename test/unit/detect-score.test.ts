import { describe, expect, it } from 'vitest';
import type { Insight, InsightEvent } from '../../src/insights/model.js';
import { formatScore, score, type Labels } from '../../src/replay/score.js';

/** The built-in scorer on hand-made labels and events; every figure below is worked out by hand. */

const W = 60;
const T = 1_790_812_800;

const labels: Labels = {
  scenario: 'hand',
  start: T,
  end: T + 3 * 3600,
  incidents: [
    { id: 'a', kind: 'fault', start: T + 1000, end: T + 1600, rootCause: { name: 'X', type: 'remote' } },
    { id: 'b', kind: 'latency', start: T + 5000, end: T + 5600, rootCause: { name: 'Y' } },
    { id: 'c', kind: 'throttle', start: T + 9000, end: T + 9300, rootCause: { name: 'Z' } },
  ],
};

function insight(idx: string, startTime: number, names: string[], endTime: number | null = null): Insight {
  return {
    id: idx,
    groupName: 'Default',
    state: endTime === null ? 'ACTIVE' : 'CLOSED',
    categories: ['FAULT'],
    startTime,
    endTime,
    rootCauseCandidates: names.map((name, i) => ({ service: { name, type: '' }, score: 1 - i / 10, reason: `${name} did it` })),
    impactedServices: [],
    topAnomalousServices: [],
    clientRequestImpactStatistics: { faultCount: 0, okCount: 0, totalCount: 0 },
    rootCauseServiceRequestImpactStatistics: { faultCount: 0, okCount: 0, totalCount: 0 },
    summary: '',
    evidence: {},
    lastUpdateTime: startTime + 2 * W,
  };
}

const ev = (type: InsightEvent['type'], eventTime: number, i: Insight): InsightEvent => ({ type, eventTime, insight: { ...i, lastUpdateTime: eventTime } });

// i1: incident a, opened 2 windows after its start, X named first → detected, delay 120 s, top-1
const i1 = insight('i1', T + 1000, ['X', 'P', 'Q']);
// i2: incident b, opened 3 windows after its start, Y named second → detected, delay 180 s, top-3 only;
//     a later update names Y first, but the root cause as first named is what counts
const i2 = insight('i2', T + 5060, ['P', 'Y', 'Q']);
// i3: nothing was labelled there → a false positive
const i3 = insight('i3', T + 7000, ['Q']);
const events: InsightEvent[] = [
  ev('insight.opened', T + 1120, i1),
  ev('insight.closed', T + 1840, { ...i1, state: 'CLOSED', endTime: T + 1660 }),
  ev('insight.opened', T + 5180, i2),
  ev('insight.updated', T + 5240, { ...i2, rootCauseCandidates: [{ service: { name: 'Y', type: '' }, score: 1, reason: 'Y did it' }] }),
  ev('insight.closed', T + 5900, { ...i2, state: 'CLOSED', endTime: T + 5660 }),
  ev('insight.opened', T + 7120, i3),
  ev('insight.closed', T + 7360, { ...i3, state: 'CLOSED', endTime: T + 7180 }),
];

describe('score', () => {
  it('detected, delay, top-1/top-3 and false positives, by hand', () => {
    const s = score(events, labels, W);
    expect(s).toMatchObject({
      incidents: 3,
      detected: 2, // a and b; c was missed
      insights: 3,
      falsePositives: 1, // i3
      hours: 3,
      falsePositivesPerHour: 0.33,
      precision: 0.667, // 2 of 3 insights match an incident
      recall: 0.667, // 2 of 3 incidents detected
      medianDelaySeconds: 150, // median of 120 and 180
      medianDelayWindows: 2.5,
      rootCauseTop1: 0.5, // a right, b not
      rootCauseTop3: 1, // both in the top 3
    });
    expect(s.perIncident).toEqual([
      { id: 'a', kind: 'fault', detected: true, delaySeconds: 120, insightId: 'i1', rootCauseTop1: true, rootCauseTop3: true, named: 'X' },
      { id: 'b', kind: 'latency', detected: true, delaySeconds: 180, insightId: 'i2', rootCauseTop1: false, rootCauseTop3: true, named: 'P' },
      { id: 'c', kind: 'throttle', detected: false, delaySeconds: null, insightId: null, rootCauseTop1: false, rootCauseTop3: false, named: null },
    ]);
  });

  it('no events: nothing detected, no false positives, no delay', () => {
    const s = score([], labels, W);
    expect(s).toMatchObject({ incidents: 3, detected: 0, insights: 0, falsePositives: 0, precision: null, recall: 0, medianDelaySeconds: null, rootCauseTop1: null, rootCauseTop3: null });
  });

  it('a control run: no incidents and no insights scores clean; any insight is a false positive', () => {
    const control: Labels = { start: T, end: T + 2 * 3600, incidents: [] };
    expect(score([], control, W)).toMatchObject({ incidents: 0, detected: 0, insights: 0, falsePositives: 0, recall: null, falsePositivesPerHour: 0 });
    expect(score(events.slice(0, 2), control, W)).toMatchObject({ insights: 1, falsePositives: 1, falsePositivesPerHour: 0.5, precision: 0 });
  });

  it('an insight may open up to two windows after the incident ends, not later', () => {
    const c = labels.incidents[2]!; // 9000–9300
    const justIn = insight('late-ok', c.end + 2 * W - 1, ['Z']);
    const tooLate = insight('late', c.end + 2 * W, ['Z']);
    expect(score([ev('insight.opened', justIn.startTime + 2 * W, justIn)], labels, W).perIncident[2]).toMatchObject({ detected: true, delaySeconds: 2 * W - 1 + 300 + 2 * W, rootCauseTop1: true });
    const s = score([ev('insight.opened', tooLate.startTime + 2 * W, tooLate)], labels, W);
    expect(s.perIncident[2]!.detected).toBe(false);
    expect(s.falsePositives).toBe(1);
  });

  it('an insight that closed before the incident started does not match it', () => {
    const before = insight('before', T + 800, ['X'], T + 1000);
    expect(score([ev('insight.closed', T + 1200, before)], labels, W).perIncident[0]!.detected).toBe(false);
  });

  it('of two insights overlapping an incident, the one naming its root cause is credited; neither is a false positive', () => {
    const wrong = insight('wrong', T + 1000, ['P']);
    const right = insight('right', T + 1060, ['X']);
    const s = score([ev('insight.opened', T + 1120, wrong), ev('insight.opened', T + 1180, right)], labels, W);
    expect(s.perIncident[0]).toMatchObject({ insightId: 'right', rootCauseTop1: true, delaySeconds: 180 });
    expect(s.falsePositives).toBe(0);
  });

  it('formatScore prints the table a person reads', () => {
    const text = formatScore(score(events, labels, W));
    expect(text).toContain('incidents detected   2/3');
    expect(text).toContain('insights             3 (false positives 1, 0.33/h over 3 h)');
    expect(text).toContain('median delay         150 s (2.5 windows)');
    expect(text).toContain('root cause top-1     50 %');
    expect(text).toMatch(/a\s+fault\s+detected after 120s, named X\n/);
    expect(text).toMatch(/b\s+latency\s+detected after 180s, named P \(right one in top 3\)/);
    expect(text).toMatch(/c\s+throttle\s+MISSED/);
  });
});
