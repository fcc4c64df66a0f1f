import { describe, expect, it } from 'vitest';
import { anomalousSpans, chartSeries } from '../../src/console/lib/chart-data.js';
import { eventChanges, evidenceFor, formatMetricValue, formatP, insightOrder } from '../../src/console/lib/insight-view.js';
import type { Evidence, Insight, WindowPoint } from '../../src/console/lib/types.js';
import { nodeIdOf } from '../../src/console/lib/types.js';

const pay = { name: 'api.payments.example.com', type: 'remote' };
const svc = { name: 'PaymentService', type: 'AWS::EC2::Instance' };
const gw = { name: 'api-gateway', type: 'AWS::ApiGateway::Stage' };

const ev = (score: number, metric = 'faultRate'): Evidence => ({ category: 'FAULT', metric, direction: 'up', observed: 0.5, expected: { low: 0, high: 0.02 }, baseline: 0.004, test: 'quasi-binomial', pValue: 10 ** -score, score, sampleSize: 300, count: 150, phi: 1, share: 0.5, baselineWindows: 8, baselineSource: 'recent', impact: true, strong: false });

function insight(over: Partial<Insight> = {}): Insight {
  return {
    id: '00000000-0000-5000-8000-000000000001',
    groupName: 'Default',
    state: 'ACTIVE',
    categories: ['FAULT'],
    startTime: 1000,
    endTime: null,
    rootCauseCandidates: [{ service: pay, score: 9, reason: 'faults at the payment API' }, { service: svc, score: 4, reason: 'passed up' }],
    impactedServices: [svc],
    topAnomalousServices: [pay],
    clientRequestImpactStatistics: { faultCount: 10, okCount: 90, totalCount: 100 },
    rootCauseServiceRequestImpactStatistics: { faultCount: 10, okCount: 20, totalCount: 30 },
    summary: 'Fault anomaly rooted in api.payments.example.com.',
    evidence: { window: { start: 1010, end: 1020 }, rootCause: { service: pay, reason: 'x' }, anomalies: [{ service: pay, evidence: [ev(3), ev(9)] }, { service: svc, evidence: [ev(5)] }], calls: [{ from: svc, to: pay, evidence: [ev(7, 'callsPerRequest')] }] },
    lastUpdateTime: 1020,
    ...over,
  };
}

describe('console insight views', () => {
  it('says what each event changed', () => {
    const a = insight();
    expect(eventChanges(undefined, { type: 'insight.opened', eventTime: 1020, insight: a })).toEqual(['opened: FAULT rooted in api.payments.example.com (remote)']);
    const b = insight({ categories: ['FAULT', 'LATENCY'], impactedServices: [svc, gw], clientRequestImpactStatistics: { faultCount: 40, okCount: 160, totalCount: 200 }, rootCauseCandidates: [{ service: svc, score: 12, reason: '' }] });
    expect(eventChanges(a, { type: 'insight.updated', eventTime: 1030, insight: b })).toEqual([
      'root cause: api.payments.example.com (remote) → PaymentService (AWS::EC2::Instance)',
      'categories: +LATENCY',
      'now impacting api-gateway (AWS::ApiGateway::Stage)',
      'client requests faulted: 10 of 100 → 40 of 200',
    ]);
    expect(eventChanges(b, { type: 'insight.closed', eventTime: 1060, insight: { ...b, state: 'CLOSED', endTime: 1050 } })).toEqual(['closed: the services are back to normal']);
    expect(eventChanges(a, { type: 'insight.updated', eventTime: 1030, insight: a })).toEqual(['updated']);
  });

  it("a candidate's evidence: its own and its calls', strongest first", () => {
    const rows = evidenceFor(insight(), pay);
    expect(rows.map((r) => [r.where, r.evidence.score])).toEqual([
      ['api.payments.example.com (remote)', 9],
      ['PaymentService (AWS::EC2::Instance) → api.payments.example.com (remote)', 7],
      ['api.payments.example.com (remote)', 3],
    ]);
    expect(evidenceFor(insight(), gw)).toEqual([]);
    expect(evidenceFor(insight({ evidence: null }), pay)).toEqual([]);
  });

  it('orders active first, then newest start; formats values by metric', () => {
    const list = [insight({ id: 'a', state: 'CLOSED', startTime: 3000 }), insight({ id: 'b', startTime: 1000 }), insight({ id: 'c', startTime: 2000 })];
    expect(list.sort(insightOrder).map((i) => i.id)).toEqual(['c', 'b', 'a']);
    expect(formatMetricValue('faultRate', 0.0123)).toBe('1.23 %');
    expect(formatMetricValue('latencyMs', 350.4)).toBe('350 ms');
    expect(formatMetricValue('gapMs', 2.25)).toBe('2.3 ms');
    expect(formatMetricValue('callsPerRequest', 1.5)).toBe('1.50');
    expect(formatP(1e-12)).toBe('1.0e-12');
    expect(formatP(0.02)).toBe('0.020');
    expect(formatP(0)).toBe('< 1e-300');
    expect(nodeIdOf({ name: 'a|b>c', type: 'remote' })).toBe('remote|a%7Cb%3Ec');
  });

  it('chart series: observed, band and the windows outside it; shaded spans merge and clip', () => {
    const pt = (start: number, v: number | null, band: [number, number] | null): WindowPoint => ({
      start, count: 10, faultRate: v, errorRate: null, throttleRate: null, p50Ms: null, p90Ms: null, p99Ms: null, baselineWindows: 5,
      expected: band ? { count: [0, 20], faultRate: band, errorRate: null, throttleRate: null, p50Ms: null, p90Ms: null, p99Ms: null } : null,
    });
    const s = chartSeries([pt(0, 0.01, null), pt(10, 0.01, [0, 0.02]), pt(20, 0.3, [0, 0.02]), pt(30, null, [0, 0.02])], 'faultRate');
    expect(s).toEqual({ x: [0, 10, 20, 30], observed: [0.01, 0.01, 0.3, null], low: [null, 0, 0, 0], high: [null, 0.02, 0.02, 0.02], outside: [2] });
    const spans = anomalousSpans(
      [
        { startTime: 100, endTime: 150, lastUpdateTime: 150 },
        { startTime: 140, endTime: 200, lastUpdateTime: 200 },
        { startTime: 500, endTime: null, lastUpdateTime: 510 },
        { startTime: 0, endTime: 20, lastUpdateTime: 20 },
      ],
      50,
      600,
      10,
    );
    // the active one lasts to the end of the chart; the one before the chart is left out
    expect(spans).toEqual([[100, 200], [500, 600]]);
  });
});

describe('console marks and routes', () => {
  it('active insights mark their services, the root cause distinctly; closed ones mark nothing', async () => {
    const { activeMarks } = await import('../../src/console/lib/insight-view.js');
    const m = activeMarks([insight(), insight({ id: 'x', state: 'CLOSED', rootCauseCandidates: [{ service: gw, score: 1, reason: '' }], impactedServices: [gw] })]);
    expect([...m.rootCause]).toEqual(['remote|api.payments.example.com']);
    expect([...m.inInsight].sort()).toEqual(['AWS::EC2::Instance|PaymentService', 'remote|api.payments.example.com']);
    expect(activeMarks(undefined).rootCause.size).toBe(0);
  });

  it('routes: the map at /, insights, traces, and a clear not-found', async () => {
    const { matchRoute } = await import('../../src/console/router.js');
    expect(matchRoute('/')).toEqual({ page: 'map' });
    expect(matchRoute('/insights/')).toEqual({ page: 'insights' });
    expect(matchRoute('/insights/00000000-0000-5000-8000-000000000001')).toEqual({ page: 'insight', id: '00000000-0000-5000-8000-000000000001' });
    expect(matchRoute('/traces')).toEqual({ page: 'traces' });
    expect(matchRoute('/traces/1-6a9f1c00-0123456789abcdef01234567')).toEqual({ page: 'trace', id: '1-6a9f1c00-0123456789abcdef01234567' });
    expect(matchRoute('/insights/nope')).toEqual({ page: 'not-found', path: '/insights/nope' });
  });
});
