import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Insight, InsightEvent } from '../../src/insights/model.js';
import { formatCaseScore } from '../../src/eval/format.js';
import { parseLabels, readLabels, type CaseLabels, type LabelsInput } from '../../src/eval/labels.js';
import { median, percentile, poolScores, scoreCase, scoresByKind } from '../../src/eval/score.js';

/** The eval scorer on hand-made labels and events; every figure below is worked out by hand. */

const W = 60;
const T = 1_790_812_800;
// one incident, 1000–1180 s into a one-hour case: the match range for startTime is [880, 1300], opening by 1480
const START = T + 1000;
const END = T + 1180;

const labels = (incidents: LabelsInput['incidents'], hours = 1): CaseLabels => parseLabels({ start: T, end: T + hours * 3600, incidents }, 'test');
const one = labels([{ id: 'a', kind: 'latency', start: START, end: END, rootCause: 'svc-x' }]);

function insight(id: string, startTime: number, names: string[]): Insight {
  return {
    id,
    groupName: 'Default',
    state: 'ACTIVE',
    categories: ['FAULT'],
    startTime,
    endTime: null,
    rootCauseCandidates: names.map((name, i) => ({ service: { name, type: '' }, score: 1 - i / 10, reason: `${name} did it` })),
    impactedServices: [],
    topAnomalousServices: [],
    clientRequestImpactStatistics: { faultCount: 0, okCount: 0, totalCount: 0 },
    rootCauseServiceRequestImpactStatistics: { faultCount: 0, okCount: 0, totalCount: 0 },
    summary: '',
    evidence: {},
    lastUpdateTime: startTime,
  };
}

const ev = (type: InsightEvent['type'], eventTime: number, i: Insight): InsightEvent => ({ type, eventTime, insight: { ...i, lastUpdateTime: eventTime } });
/** an insight opened at `openedAt`, starting at `startTime`, naming `names` */
const opened = (id: string, startTime: number, openedAt: number, names: string[] = ['svc-x']) => ev('insight.opened', openedAt, insight(id, startTime, names));

describe('eval score: the match rule', () => {
  it('startTime from start − 2W to end + 2W matches, one second outside does not', () => {
    for (const [startTime, match] of [
      [START - 2 * W, true],
      [START - 2 * W - 1, false],
      [END + 2 * W, true],
      [END + 2 * W + 1, false],
    ] as const) {
      const s = scoreCase([opened('i', startTime, END + 2 * W + 1)], one, W);
      expect(s.incidents[0]!.detected, `startTime ${startTime - T}`).toBe(match);
      expect(s.tally.falsePositives).toBe(match ? 0 : 1);
      expect(s.insights[0]!.falsePositive).toBe(!match);
    }
  });

  it('an insight opened after end + 5W is too late: a miss and a false positive', () => {
    const atBound = scoreCase([opened('i', START, END + 5 * W)], one, W);
    expect(atBound.incidents[0]).toMatchObject({ detected: true, delaySeconds: END + 5 * W - START, ac1: true });
    const late = scoreCase([opened('i', START, END + 5 * W + 1)], one, W);
    expect(late.incidents[0]).toMatchObject({ detected: false, delaySeconds: null, ac1: false, ac3: false, named: null });
    expect(late.tally).toMatchObject({ incidents: 1, detected: 0, recall: 0, insights: 1, falsePositives: 1, precision: 0, falsePositivesPerHour: 1, ac1: 0, ac3: 0 });
  });

  it("opening is the first event's time, whatever its type and wherever it sits in the list", () => {
    const i = insight('i', START, ['svc-x']);
    // the replay missed the opening (it began mid-insight): the first event is an update
    const s = scoreCase([ev('insight.closed', END + 10 * W, i), ev('insight.updated', START + W, i)], one, W);
    expect(s.incidents[0]).toMatchObject({ detected: true, delaySeconds: W });
    expect(s.insights[0]).toMatchObject({ openedAt: START + W, startTime: START });
  });

  it('delay is measured to the earliest matching opening, and may be negative', () => {
    const s = scoreCase([opened('late', START, START + 3 * W), opened('early', START - 2 * W, START - W)], one, W);
    expect(s.incidents[0]).toMatchObject({ insightId: 'early', delaySeconds: -W, matchedInsights: ['early', 'late'] });
    expect(s.tally).toMatchObject({ insights: 2, matchedInsights: 2, falsePositives: 0, precision: 1 });
  });
});

describe('eval score: incidents to ignore', () => {
  const mixed = labels([
    { id: 'a', kind: 'latency', start: START, end: END, rootCause: 'svc-x' },
    { id: 'deploy', kind: 'deploy', start: T + 2500, end: T + 2600, expect: 'ignore' },
  ]);

  it('excuse the insights they match, and count in neither incidents, recall nor AC@k', () => {
    const s = scoreCase([opened('i1', START, START + W), opened('i2', T + 2500, T + 2560)], mixed, W);
    expect(s.tally).toMatchObject({ incidents: 1, detected: 1, recall: 1, insights: 2, falsePositives: 0, precision: 1, ac1: 1, ac1Hits: 1 });
    expect(s.incidents[1]).toMatchObject({ id: 'deploy', expect: 'ignore', detected: true, rootCause: null });
    expect(s.insights.find((i) => i.id === 'i2')!.matches).toEqual(['deploy']);
  });

  it('need no detection: not raising one is no miss', () => {
    const s = scoreCase([opened('i1', START, START + W)], mixed, W);
    expect(s.tally).toMatchObject({ incidents: 1, detected: 1, recall: 1, ac1: 1, ac3: 1, medianDelaySeconds: W });
  });

  it('a detected ignore-incident adds no delay', () => {
    const s = scoreCase([opened('i1', START, START + 2 * W), opened('i2', T + 2500, T + 2500)], mixed, W);
    expect(s.tally).toMatchObject({ medianDelaySeconds: 2 * W, p90DelaySeconds: 2 * W });
  });
});

describe('eval score: AC@k', () => {
  it('reads the candidates of the first-opened matching insight as they stood at end + 5W, not later', () => {
    const i = insight('i', START, ['svc-y', 'svc-z', 'svc-w', 'svc-x']);
    const named = (names: string[]) => ({ ...i, rootCauseCandidates: insight('i', START, names).rootCauseCandidates });
    const base = [ev('insight.opened', START + W, i), ev('insight.updated', START + 2 * W, named(['svc-y', 'svc-x']))];
    // at end + 5W exactly the update counts; one second later it does not
    const atBound = scoreCase([...base, ev('insight.updated', END + 5 * W, named(['svc-x']))], one, W);
    expect(atBound.incidents[0]).toMatchObject({ ac1: true, ac3: true, rank: 1, named: 'svc-x', candidates: ['svc-x'] });
    const after = scoreCase([...base, ev('insight.updated', END + 5 * W + 1, named(['svc-x']))], one, W);
    expect(after.incidents[0]).toMatchObject({ ac1: false, ac3: true, rank: 2, named: 'svc-y', candidates: ['svc-y', 'svc-x'] });
    // as opened, the root cause was fourth: outside the top 3
    const asOpened = scoreCase([base[0]!], one, W);
    expect(asOpened.incidents[0]).toMatchObject({ ac1: false, ac3: false, rank: 4 });
  });

  it('another matching insight that names the root cause does not help the first-opened one', () => {
    const s = scoreCase([opened('wrong', START, START + W, ['svc-q']), opened('right', START + W, START + 2 * W, ['svc-x'])], one, W);
    expect(s.incidents[0]).toMatchObject({ insightId: 'wrong', named: 'svc-q', ac1: false, ac3: false, rank: null });
    expect(s.tally.falsePositives).toBe(0);
  });

  it('of insights opened by the same window, reads the one announced first', () => {
    const s = scoreCase([opened('zz-first', START - W, START + W, ['svc-x']), opened('aa-second', START - 2 * W, START + W, ['svc-q'])], one, W);
    expect(s.incidents[0]).toMatchObject({ insightId: 'zz-first', ac1: true, matchedInsights: ['zz-first', 'aa-second'] });
    expect(s.insights.map((i) => i.id)).toEqual(['zz-first', 'aa-second']);
  });

  it('compares service names case-insensitively', () => {
    const upper = labels([{ id: 'a', kind: 'latency', start: START, end: END, rootCause: { name: 'ProductCatalogService', type: 'AWS::EKS::Container' } }]);
    const s = scoreCase([opened('i', START, START + W, ['frontend', 'productcatalogservice'])], upper, W);
    expect(s.incidents[0]).toMatchObject({ ac1: false, ac3: true, rank: 2, rootCause: 'ProductCatalogService' });
  });

  it('counts a missed incident as a miss: the denominator is every incident to detect', () => {
    const two = labels(
      [
        { id: 'a', kind: 'latency', start: START, end: END, rootCause: 'svc-x' },
        { id: 'b', kind: 'fault', start: T + 5000, end: T + 5180, rootCause: 'svc-y' },
      ],
      2,
    );
    const s = scoreCase([opened('i', START, START + W)], two, W);
    expect(s.tally).toMatchObject({ incidents: 2, detected: 1, recall: 0.5, ac1Hits: 1, ac1: 0.5, ac3Hits: 1, ac3: 0.5, hours: 2 });
  });
});

describe('eval score: pooling', () => {
  it('sums counts and hours over cases, takes delays over the union, and splits by kind', () => {
    const fault = labels([{ id: 'b', kind: 'fault', start: START, end: END, rootCause: 'svc-y' }], 0.5);
    const a = scoreCase([opened('i1', START, START + W), opened('fp', T + 3000, T + 3060)], one, W);
    const b = scoreCase([opened('i2', START, START + 3 * W, ['svc-z', 'svc-y'])], fault, W);
    const c = scoreCase([], one, W);
    const pooled = poolScores([a, b, c]);
    expect(pooled).toMatchObject({ incidents: 3, detected: 2, insights: 3, matchedInsights: 2, falsePositives: 1, hours: 2.5, ac1Hits: 1, ac3Hits: 2, medianDelaySeconds: 2 * W, p90DelaySeconds: 3 * W });
    expect(pooled.recall).toBeCloseTo(2 / 3);
    expect(pooled.precision).toBeCloseTo(2 / 3);
    expect(pooled.falsePositivesPerHour).toBeCloseTo(0.4);
    const byKind = scoresByKind([a, b, c]);
    expect(Object.keys(byKind)).toEqual(['fault', 'latency']);
    expect(byKind.latency).toMatchObject({ cases: 2, incidents: 2, detected: 1, recall: 0.5, insights: 2, falsePositives: 1, hours: 2, ac1: 0.5, medianDelaySeconds: W });
    expect(byKind.fault).toMatchObject({ cases: 1, incidents: 1, detected: 1, insights: 1, falsePositives: 0, hours: 0.5, ac1: 0, ac3: 1, medianDelaySeconds: 3 * W });
  });

  it('median and nearest-rank p90', () => {
    expect(median([])).toBeNull();
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(percentile([], 90)).toBeNull();
    expect(percentile([5], 90)).toBe(5);
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90)).toBe(9);
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], 90)).toBe(10);
  });

  it('no insights and no incidents: rates are null, nothing is negative', () => {
    expect(scoreCase([], labels([]), W).tally).toMatchObject({ incidents: 0, recall: null, insights: 0, precision: null, falsePositivesPerHour: 0, ac1: null, medianDelaySeconds: null });
  });
});

describe('eval labels', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ti-labels-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("reads the simulator's and the dev set's formats into one shape", () => {
    const sim = parseLabels({ scenario: 's', seed: 1, start: T, end: T + 3600, incidents: [{ id: 'a', kind: 'fault', start: START, end: END, magnitude: 0.3, rootCause: { name: 'api.payments.example.com', type: 'remote' } }], nonIncidents: [] }, 'sim');
    expect(sim.incidents[0]).toEqual({ id: 'a', kind: 'fault', start: START, end: END, rootCause: 'api.payments.example.com', expect: 'detect' });
    const nezha = parseLabels({ scenario: 'ob', start: T, end: T + 1980, baselineEnd: T + 1800, incidents: [{ id: 'ob', start: START, end: END, kind: 'latency', rootCause: 'frontend', expect: 'detect', faultType: 'cpu_contention', pod: 'frontend-1-2' }], stats: {} }, 'ob');
    expect(nezha.incidents[0]).toEqual({ id: 'ob', kind: 'latency', start: START, end: END, rootCause: 'frontend', expect: 'detect' });
  });

  it('a bad labels file is one error line naming the file and the field', () => {
    const bad = join(dir, 'labels.json');
    writeFileSync(bad, JSON.stringify({ start: T, end: T + 60, incidents: [{ id: 'a', kind: 'fault', start: START, end: END, expect: 'maybe', rootCause: 'x' }] }));
    expect(() => readLabels(bad)).toThrow(new RegExp(`^labels: ${bad}: incidents\\[0\\]\\.expect: `));
    writeFileSync(bad, JSON.stringify({ start: T, end: T + 60, incidents: [{ id: 'a', kind: 'fault', start: START, end: END }] }));
    expect(() => readLabels(bad)).toThrow(`labels: ${bad}: incidents[0].rootCause: an incident to detect needs a rootCause`);
    writeFileSync(bad, '{"start":');
    expect(() => readLabels(bad)).toThrow(`labels: ${bad} is not JSON`);
    expect(() => readLabels(join(dir, 'none.json'))).toThrow(`labels: cannot read ${join(dir, 'none.json')}: ENOENT`);
    for (const f of [bad]) expect(() => readLabels(f)).not.toThrow(/\n/);
  });
});

describe('formatCaseScore (replay --labels)', () => {
  it('prints the figures and one line per incident', () => {
    const two = labels([
      { id: 'a', kind: 'latency', start: START, end: END, rootCause: 'svc-x' },
      { id: 'b', kind: 'fault', start: T + 2000, end: T + 2180, rootCause: 'svc-y' },
      { id: 'c', kind: 'fault', start: T + 3000, end: T + 3180, rootCause: 'svc-z' },
    ]);
    const s = scoreCase([opened('i1', START, START + 2 * W), opened('i2', T + 2000, T + 2180, ['svc-q', 'svc-y']), opened('fp', T + 100, T + 160, ['svc-q'])], two, W);
    const text = formatCaseScore(s, W);
    expect(text).toContain('incidents detected   2/3 (recall 0.667)');
    expect(text).toContain('insights             3 (false positives 1, 1.00/h over 1.00 h; precision 0.667)');
    expect(text).toContain('delay                median 150 s (2.5 windows), p90 180 s');
    expect(text).toContain('root cause AC@1      0.333 (1/3)');
    expect(text).toContain('root cause AC@3      0.667 (2/3)');
    expect(text).toMatch(/a\s+latency\s+detected after 120 s, named svc-x\n/);
    expect(text).toMatch(/b\s+fault\s+detected after 180 s, named svc-q \(right one at rank 2\)/);
    expect(text).toMatch(/c\s+fault\s+MISSED/);
    expect(text).toContain('false positive: insight fp');
  });
});
