import { describe, expect, it } from 'vitest';
import type { Graph } from '../../src/aggregate/read.js';
import { REMOTE_TYPE } from '../../src/aggregate/graph-ids.js';
import type { Category, Evidence, Metric } from '../../src/detect/detect.js';
import { findRootCauses, type AnomalousEdge, type AnomalousNode, type Group } from '../../src/detect/root-cause.js';
import { clientOf, graphOf, id, type NodeSpec } from '../helpers/window-stats.js';

/**
 * Root cause on hand-built one-window graphs with hand-made evidence. Each piece of evidence has a
 * strength of min(score, 20)/20 (score 10 → 0.5, score 20 → 1), and the blame it puts on a node is
 * worked out in each test from the rules in src/detect/root-cause.ts:
 * own time at X → X (×1 when it matters, ×0.5 when not); X slower → X ×0.1 when a callee is slower or a
 * gap grew below it, ×0.5 when not; X ends early → X ×0.3; a gap on X → Y → split between Y and X by the
 * share of each one's tested calls that show it; calls per request on X → Y → X; faults at X → X for its
 * own share, its faulting callees for the share passed up; an uninstrumented node → itself.
 */

const A = id('AWS::ECS::Container', 'A');
const B = id('AWS::ECS::Container', 'B');
const C = id('AWS::ECS::Container', 'C');
const D = id('AWS::ECS::Container', 'D');
const E = id('AWS::ECS::Container', 'E');
const F = id('AWS::ECS::Container', 'F');

interface EvidenceSpec {
  score?: number;
  impact?: boolean;
  strong?: boolean;
  direction?: 'up' | 'down';
  /** the observed value and the top of the expected range (a shift matters when observed > high) */
  observed?: number;
  high?: number;
}

/** Evidence as judge*() returns it, with only what root cause reads made to vary. */
function ev(metric: Metric, o: EvidenceSpec = {}): Evidence {
  const direction = o.direction ?? 'up';
  const score = o.score ?? 10;
  const category: Category =
    metric === 'faultRate' || metric === 'callsPerRequest' || (metric === 'latencyMs' && direction === 'down') ? 'FAULT' : metric === 'throttleRate' ? 'THROTTLE' : 'LATENCY';
  const rate = metric === 'faultRate' || metric === 'throttleRate';
  return {
    category,
    metric,
    direction,
    observed: o.observed ?? (rate ? 0.1 : 30),
    expected: { low: 0, high: o.high ?? (rate ? 0.015 : 15) },
    baseline: rate ? 0.005 : 10,
    test: 'hand-made',
    pValue: 10 ** -score,
    score,
    sampleSize: 1000,
    count: 100,
    phi: 1,
    share: 0.5,
    baselineWindows: 10,
    baselineSource: 'recent',
    impact: o.impact ?? metric !== 'ownTimeMs',
    strong: o.strong ?? false,
  };
}

const at = (g: Graph, nid: string, ...evidence: Evidence[]): AnomalousNode => ({ id: nid, node: g.nodes.get(nid)!, evidence });
const on = (from: string, to: string, ...evidence: Evidence[]): AnomalousEdge => ({ id: `${from}>${to}`, from, to, evidence });
const node = (nid: string, count = 1000, extra: Partial<NodeSpec['stats']> = {}, inferred = false): NodeSpec => ({ id: nid, stats: { count, ...extra }, inferred });

/** Runs findRootCauses and checks what holds for every group: the source is the top candidate, every candidate is a member with a reason. */
function analyse(g: Graph, nodes: AnomalousNode[], edges: AnomalousEdge[] = [], tested: string[] = []): Group[] {
  const groups = findRootCauses(g, nodes, edges, new Set(tested));
  for (const grp of groups) {
    expect(grp.candidates[0]!.id).toBe(grp.source);
    expect(grp.members).not.toContain(clientOf(A));
    for (const c of grp.candidates) {
      expect(grp.members).toContain(c.id);
      expect(c.reason.length).toBeGreaterThan(0);
    }
  }
  return groups;
}

const scores = (grp: Group) => grp.candidates.map((c) => [c.id, c.score]);

describe('findRootCauses: latency', () => {
  it("own time grew at the callee B: B ranks above its caller A, whose response time rose with B's", () => {
    const g = graphOf(A, [node(A), node(B)], [{ from: A, to: B }]);
    const groups = analyse(g, [at(g, A, ev('latencyMs')), at(g, B, ev('latencyMs'), ev('ownTimeMs'))]);
    expect(groups).toHaveLength(1);
    const [grp] = groups;
    // B: slower with no slower callee 0.5·0.5 + own time that matters (30 > 15) 1·0.5 = 0.75
    // A: slower, explained by the slower B, 0.1·0.5 = 0.05
    expect(scores(grp!)).toEqual([
      [B, 0.75],
      [A, 0.05],
    ]);
    expect(grp).toMatchObject({ source: B, categories: ['LATENCY'], members: [A, B], strong: false });
    expect(grp!.candidates[0]!.reason).toContain('own time up to 30.0 ms from 10.0 ms');
    expect(grp!.candidates[0]!.reason).toContain('time in its own code, which no callee explains');
    expect(grp!.candidates[1]!.reason).toContain('explained by slower calls to B (AWS::ECS::Container)');
  });

  it('a gap on A → B, where A is B’s only tested caller and only one of A’s three tested callees shows it: B ranks first', () => {
    const g = graphOf(A, [node(A), node(B), node(C), node(D)], [{ from: A, to: B }, { from: A, to: C }, { from: A, to: D }]);
    const groups = analyse(g, [at(g, A, ev('latencyMs'))], [on(A, B, ev('gapMs', { score: 20 }))], [`${A}>${B}`, `${A}>${C}`, `${A}>${D}`]);
    expect(groups).toHaveLength(1);
    // the gap (strength 1): B's tested callers that see it 1/1, A's tested calls 1/3 → B 1/(4/3) = 0.75, A 0.25;
    // A's slower response is explained by the gap below it: 0.1·0.5 = 0.05
    expect(scores(groups[0]!)).toEqual([
      [B, 0.75],
      [A, 0.3],
    ]);
    expect(groups[0]).toMatchObject({ source: B, members: [A, B], categories: ['LATENCY'] });
    expect(groups[0]!.candidates[0]!.reason).toContain('100 % of its tested callers see it');
  });

  it('a gap on every tested call of A, while B and C have other callers that see none: A ranks first (a starved client)', () => {
    const g = graphOf(A, [node(A), node(B), node(C), node(E), node(F)], [{ from: A, to: B }, { from: A, to: C }, { from: E, to: B }, { from: F, to: C }]);
    const groups = analyse(g, [], [on(A, B, ev('gapMs', { score: 20 })), on(A, C, ev('gapMs', { score: 20 }))], [`${A}>${B}`, `${A}>${C}`, `${E}>${B}`, `${F}>${C}`]);
    expect(groups).toHaveLength(1);
    // each gap: A's calls that see it 2/2, the callee's callers 1/2 → A 1/1.5 = 2/3, the callee 1/3; A twice
    expect(scores(groups[0]!)).toEqual([
      [A, 1.333],
      [B, 0.333],
      [C, 0.333],
    ]);
    expect(groups[0]).toMatchObject({ source: A, members: [A, B, C] });
    expect(groups[0]!.candidates[0]!.reason).toContain('100 % of its tested calls see it');
  });
});

describe('findRootCauses: what requests do, and how they end', () => {
  it('calls per request changed on A → B (A stopped calling B, its requests end early): A is blamed', () => {
    const g = graphOf(A, [node(A), node(B)], [{ from: A, to: B }]);
    const groups = analyse(g, [at(g, A, ev('latencyMs', { direction: 'down', observed: 2, high: Infinity }))], [on(A, B, ev('callsPerRequest'))]);
    expect(groups).toHaveLength(1);
    // calls per request 0.5 (where the path changed) + requests end early 0.3·0.5 = 0.65; B nothing
    expect(scores(groups[0]!)).toEqual([
      [A, 0.65],
      [B, 0],
    ]);
    expect(groups[0]).toMatchObject({ source: A, categories: ['FAULT'], members: [A, B] });
    expect(groups[0]!.candidates[0]!.reason).toContain("where the requests' path changed");
    expect(groups[0]!.candidates[1]!.reason).toBe('B (AWS::ECS::Container): involved, but none of the evidence starts here.');
  });

  it('A stops calling C after its calls to B fail: most of the change of path is blamed on B, and the insight is B\'s', () => {
    // A calls B (which faults, and A's calls to B carry the faults: all passed up) and C (calls per request fell)
    const g = graphOf(A, [node(A, 1000, { fault: 50, passedFault: 50 }), node(B, 1000, { fault: 100 }), node(C)], [{ from: A, to: B, stats: { count: 1000, fault: 100 } }, { from: A, to: C }]);
    const groups = analyse(g, [at(g, A, ev('faultRate', { score: 20 })), at(g, B, ev('faultRate', { score: 20 }))], [on(A, C, ev('callsPerRequest'))]);
    expect(groups).toHaveLength(1);
    // A's faults (strength 1, all passed up): 1 to B; B's own: 1 to B; the path change on A → C (0.5):
    // 0.25·0.5 = 0.125 to A, 0.75·0.5 = 0.375 to B, the callee whose failures explain it
    expect(scores(groups[0]!)).toEqual([
      [B, 2.375],
      [A, 0.125],
      [C, 0],
    ]);
    expect(groups[0]).toMatchObject({ source: B, categories: ['FAULT'], members: [A, B, C] });
    expect(groups[0]!.candidates[1]!.reason).toContain('after failed calls to B (AWS::ECS::Container)');
  });

  it('a service that throttles: its requests end early and skip their calls, and the insight is a THROTTLE one', () => {
    const g = graphOf(A, [node(A, 1000, { throttle: 300 }), node(B)], [{ from: A, to: B }]);
    const groups = analyse(g, [at(g, A, ev('throttleRate', { score: 20 }), ev('latencyMs', { direction: 'down', observed: 2, high: Infinity }))], [on(A, B, ev('callsPerRequest'))]);
    expect(groups).toHaveLength(1);
    expect(groups[0]).toMatchObject({ source: A, categories: ['THROTTLE'] });
  });

  it('faults passed up from the callee B: B gets the passed-up share, A its own 25 %', () => {
    // A: 40 faults, 10 its own, 30 passed up; B faults on its own, and A's calls to B carry its faults
    const g = graphOf(A, [node(A, 1000, { fault: 40, passedFault: 30 }), node(B, 1000, { fault: 100 })], [{ from: A, to: B }]);
    const groups = analyse(g, [at(g, A, ev('faultRate', { score: 20 })), at(g, B, ev('faultRate', { score: 20 }))]);
    expect(groups).toHaveLength(1);
    // A's evidence (strength 1): 0.25 to A, 0.75 to B; B's own (no faulting callee): 1 to B
    expect(scores(groups[0]!)).toEqual([
      [B, 1.75],
      [A, 0.25],
    ]);
    expect(groups[0]).toMatchObject({ source: B, categories: ['FAULT'], members: [A, B] });
    expect(groups[0]!.candidates[0]!.reason).toContain('faults passed up to A (AWS::ECS::Container)');
    expect(groups[0]!.candidates[1]!.reason).toContain('25 % of its faults originated in its own code');
  });

  it('an uninstrumented dependency faulting, its caller passing every fault up: the dependency ranks first', () => {
    const R = id(REMOTE_TYPE, 'api.payments.example.com');
    const g = graphOf(A, [node(A, 1000, { fault: 100, passedFault: 100 }), node(R, 1000, { fault: 100 }, true)], [{ from: A, to: R }]);
    const groups = analyse(g, [at(g, A, ev('faultRate', { score: 20 })), at(g, R, ev('faultRate', { score: 20 }))]);
    // R: passed up from A 1 + its own (uninstrumented) 1; A: 0 % own
    expect(scores(groups[0]!)).toEqual([
      [R, 2],
      [A, 0],
    ]);
    expect(groups[0]!.candidates[0]!.reason).toContain('an uninstrumented dependency, seen by its callers');
  });

  it('throttles seen by A come from the callee B that throttles', () => {
    const g = graphOf(A, [node(A, 1000, { throttle: 100 }), node(B, 1000, { throttle: 100 })], [{ from: A, to: B }]);
    const groups = analyse(g, [at(g, A, ev('throttleRate')), at(g, B, ev('throttleRate'))]);
    // A's throttles 0.5 to B, B's own 0.5 (it throttles requests itself)
    expect(scores(groups[0]!)).toEqual([[B, 1], [A, 0]]);
    expect(groups[0]).toMatchObject({ source: B, categories: ['THROTTLE'] });
  });
});

describe('findRootCauses: groups', () => {
  it('own-time evidence alone (impact = false) forms no group', () => {
    const g = graphOf(A, [node(A), node(B)], [{ from: A, to: B }]);
    expect(analyse(g, [at(g, B, ev('ownTimeMs', { observed: 12 }))])).toEqual([]);
    expect(analyse(g, [at(g, A, ev('latencyMs', { impact: false, observed: 12 }))])).toEqual([]);
  });

  it('but it joins the group it touches, as a candidate: here the top one', () => {
    const g = graphOf(A, [node(A), node(B)], [{ from: A, to: B }]);
    // B: own time that does not matter (12 ≤ 15) 0.5·0.5 = 0.25; A: slower, B below it is slower, 0.05
    const groups = analyse(g, [at(g, A, ev('latencyMs')), at(g, B, ev('ownTimeMs', { observed: 12 }))]);
    expect(groups).toHaveLength(1);
    expect(scores(groups[0]!)).toEqual([
      [B, 0.25],
      [A, 0.05],
    ]);
    expect(groups[0]).toMatchObject({ source: B, members: [A, B], categories: ['LATENCY'] });
  });

  it('two independent anomalies in disconnected parts: two groups, each with its own source; strong only where its evidence is', () => {
    // A → B (B faults, A passes them up); C → D (D slower, C slower because of it; D's shift is strong)
    const g = graphOf(A, [node(A, 1000, { fault: 100, passedFault: 100 }), node(B, 1000, { fault: 100 }), node(C), node(D)], [{ from: A, to: B }, { from: C, to: D }]);
    const groups = analyse(g, [at(g, A, ev('faultRate', { score: 20 })), at(g, B, ev('faultRate', { score: 20 })), at(g, C, ev('latencyMs')), at(g, D, ev('latencyMs', { strong: true }))]);
    expect(groups.map((x) => [x.source, x.categories, x.members, x.strong])).toEqual([
      [B, ['FAULT'], [A, B], false],
      [D, ['LATENCY'], [C, D], true],
    ]);
    // C: 0.1·0.5 explained by D; D: 0.5·0.5 with nothing below it
    expect(scores(groups[1]!)).toEqual([
      [D, 0.25],
      [C, 0.05],
    ]);
  });

  it('strong evidence on an edge makes its group strong too', () => {
    const g = graphOf(A, [node(A), node(B)], [{ from: A, to: B }]);
    const [grp] = analyse(g, [], [on(A, B, ev('callsPerRequest', { strong: true }))]);
    expect(grp).toMatchObject({ source: A, strong: true });
  });

  it('a quiet window: no evidence, no groups', () => {
    const g = graphOf(A, [node(A), node(B)], [{ from: A, to: B }]);
    expect(analyse(g, [])).toEqual([]);
  });
});
