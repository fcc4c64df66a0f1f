import { describe, expect, it } from 'vitest';
import type { Graph } from '../../src/aggregate/read.js';
import type { Category } from '../../src/detect/detect.js';
import type { Group } from '../../src/detect/root-cause.js';
import { emptyLifecycle, flushLifecycle, stepLifecycle, type LifecycleOptions, type LifecycleState } from '../../src/insights/lifecycle.js';
import { insightId, type InsightEvent } from '../../src/insights/model.js';
import { graphOf, id, type StatsSpec } from '../helpers/window-stats.js';

/**
 * The insight state machine, window by window, with hand-made groups: which window opens, updates
 * and closes an insight, the times and impact it carries, and how its root-cause candidates are ranked.
 */

/** X-Ray's InsightId pattern. */
const INSIGHT_ID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-5][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}$/;

const W = 60;
const T0 = 1_790_816_400; // 2026-10-01T01:00:00Z, a window start
const O: LifecycleOptions = { groupName: 'Default', windowSeconds: W, closeAfterWindows: 3 };

const GW = id('AWS::ApiGateway::Stage', 'api-gateway');
const ORDER = id('AWS::ECS::Container', 'OrderService');
const INV = id('AWS::Lambda::Function', 'InventoryService');
const PAY = id('AWS::EC2::Instance', 'PaymentService');

/** Each window: 100 client requests at the gateway, `faults` of them faulted (passed up from OrderService). */
function shopGraph(faults: number): Graph {
  return graphOf(
    GW,
    [
      { id: GW, stats: { count: 100, fault: faults, passedFault: faults } },
      { id: ORDER, stats: { count: 100, fault: faults } },
      { id: INV, stats: { count: 100 } },
      { id: PAY, stats: { count: 80 } },
    ],
    [
      { from: GW, to: ORDER },
      { from: ORDER, to: INV },
      { from: ORDER, to: PAY },
    ],
  );
}
/** 2 client faults a window: too few for the impact to grow by the 10 faults an update needs within these tests */
const graph = shopGraph(2);

/** The same services with OrderService's and PaymentService's requests given; the client side stays at 2 faults of 100. */
function countsGraph(order: StatsSpec, pay: StatsSpec): Graph {
  return graphOf(
    GW,
    [
      { id: GW, stats: { count: 100, fault: 2, passedFault: 2 } },
      { id: ORDER, stats: order },
      { id: INV, stats: { count: 100 } },
      { id: PAY, stats: pay },
    ],
    [
      { from: GW, to: ORDER },
      { from: ORDER, to: INV },
      { from: ORDER, to: PAY },
    ],
  );
}

interface GroupSpec {
  categories?: Category[];
  strong?: boolean;
  /** candidate blame by node id @defaultValue 0.9 for the source, 0.1 for every other member */
  scores?: Record<string, number>;
  /** reason of every candidate @defaultValue `<id>: why` */
  why?: string;
}

function group(source: string, members: string[] = [source], o: GroupSpec = {}): Group {
  const all = [...new Set([source, ...members])].sort();
  const score = (m: string) => o.scores?.[m] ?? (m === source ? 0.9 : 0.1);
  return {
    source,
    categories: o.categories ?? ['FAULT'],
    members: all,
    candidates: all.map((m) => ({ id: m, score: score(m), reason: `${m}: ${o.why ?? 'why'}` })).sort((a, b) => b.score - a.score),
    strong: o.strong ?? false,
  };
}

/** What each window looks like: `null` for a normal window, else its groups. */
type Window = Group[] | null;

/** Steps through the windows from T0 (over one graph, or one graph a window); returns the events of each step and the last state. */
function run(windows: Window[], o: LifecycleOptions = O, g: Graph | readonly Graph[] = graph): { perWindow: InsightEvent[][]; events: InsightEvent[]; state: LifecycleState } {
  let state = emptyLifecycle();
  const perWindow: InsightEvent[][] = [];
  windows.forEach((groups, i) => {
    const r = stepLifecycle(state, T0 + i * W, groups ?? [], Array.isArray(g) ? g[i]! : (g as Graph), [], o);
    state = r.state;
    perWindow.push(r.events);
  });
  return { perWindow, events: perWindow.flat(), state };
}

const orderFaults = () => [group(ORDER, [GW, ORDER])];
const types = (evs: InsightEvent[]) => evs.map((e) => e.type);

describe('stepLifecycle: open', () => {
  it('one anomalous window opens nothing', () => {
    const r = run([orderFaults(), null, null, null, null]);
    expect(r.events).toEqual([]);
    expect(r.state.active).toEqual([]);
    expect(r.state.pending).toEqual([]);
  });

  it('the first anomalous window is only pending', () => {
    const r = run([orderFaults()]);
    expect(r.events).toEqual([]);
    expect(r.state.pending).toHaveLength(1);
    expect(r.state.lastWindow).toBe(T0);
  });

  it('two anomalous windows with a normal one between them open nothing', () => {
    expect(run([orderFaults(), null, orderFaults(), null, null]).events).toEqual([]);
  });

  it('two consecutive anomalous windows open an insight at the end of the second, starting at the first', () => {
    const r = run([orderFaults(), orderFaults()]);
    expect(r.perWindow[0]).toEqual([]);
    expect(types(r.perWindow[1]!)).toEqual(['insight.opened']);
    const e = r.perWindow[1]![0]!;
    expect(e.eventTime).toBe(T0 + 2 * W);
    expect(e.insight).toMatchObject({
      id: insightId('Default', ORDER, T0),
      groupName: 'Default',
      state: 'ACTIVE',
      categories: ['FAULT'],
      startTime: T0,
      endTime: null,
      lastUpdateTime: T0 + 2 * W,
      impactedServices: [
        { type: 'AWS::ApiGateway::Stage', name: 'api-gateway' },
        { type: 'AWS::ECS::Container', name: 'OrderService' },
      ],
      // blame summed over the two windows: 0.9 + 0.9 and 0.1 + 0.1
      rootCauseCandidates: [
        { service: { type: 'AWS::ECS::Container', name: 'OrderService' }, score: 1.8, reason: `${ORDER}: why` },
        { service: { type: 'AWS::ApiGateway::Stage', name: 'api-gateway' }, score: 0.2, reason: `${GW}: why` },
      ],
    });
    expect(e.insight.id).toMatch(INSIGHT_ID);
    expect(e.insight.evidence).toMatchObject({ window: { start: T0 + W, end: T0 + 2 * W } });
    expect(e.insight.summary).toBe('Fault anomaly rooted in OrderService, impacting 1 other service; 4 of 200 client requests faulted.');
    expect(r.state.active).toHaveLength(1);
  });

  it('the opened insight counts the client requests of both anomalous windows it spans', () => {
    const e = run([orderFaults(), orderFaults()]).perWindow[1]![0]!;
    // 100 client requests, 2 faulted, in each of the two windows from startTime to eventTime
    expect(e.insight.clientRequestImpactStatistics).toEqual({ faultCount: 4, okCount: 196, totalCount: 200 });
    // OrderService, the root cause: 100 requests, 2 faults a window
    expect(e.insight.rootCauseServiceRequestImpactStatistics).toEqual({ faultCount: 4, okCount: 196, totalCount: 200 });
  });

  it('the two windows may name the root cause differently if their services overlap: the most blame over both wins', () => {
    // gateway 0.9 then 0.1 (1.0) against OrderService 0.9 in the second window only
    const r = run([[group(GW, [GW])], orderFaults()]);
    expect(types(r.events)).toEqual(['insight.opened']);
    expect(r.events[0]!.insight.startTime).toBe(T0);
    expect(r.events[0]!.insight.id).toBe(insightId('Default', GW, T0));
    expect(r.events[0]!.insight.rootCauseCandidates.map((c) => [c.service.name, c.score])).toEqual([
      ['api-gateway', 1],
      ['OrderService', 0.9],
    ]);
    // OrderService with 1.5 in the second window: 1.5 against 1.0
    const r2 = run([[group(GW, [GW])], [group(ORDER, [GW, ORDER], { scores: { [ORDER]: 1.5 } })]]);
    expect(r2.events[0]!.insight.id).toBe(insightId('Default', ORDER, T0));
  });

  it('two unrelated groups open two insights', () => {
    const both = () => [group(ORDER, [GW, ORDER]), group(INV, [INV], { categories: ['THROTTLE'] })];
    const r = run([both(), both()]);
    expect(types(r.events)).toEqual(['insight.opened', 'insight.opened']);
    expect(new Set(r.events.map((e) => e.insight.id)).size).toBe(2);
  });
});

describe('stepLifecycle: strong groups', () => {
  const strongOrder = () => [group(ORDER, [GW, ORDER], { strong: true })];

  it('a strong group opens in its first window, starting there, with that window\'s impact only', () => {
    const r = run([strongOrder()]);
    expect(r.perWindow.map(types)).toEqual([['insight.opened']]);
    const e = r.events[0]!;
    expect(e.eventTime).toBe(T0 + W);
    expect(e.insight).toMatchObject({
      id: insightId('Default', ORDER, T0),
      state: 'ACTIVE',
      startTime: T0,
      lastUpdateTime: T0 + W,
      // one window: 100 client requests, 2 faulted; OrderService the same
      clientRequestImpactStatistics: { faultCount: 2, okCount: 98, totalCount: 100 },
      rootCauseServiceRequestImpactStatistics: { faultCount: 2, okCount: 98, totalCount: 100 },
    });
    expect(e.insight.rootCauseCandidates.map((c) => [c.service.name, c.score])).toEqual([
      ['OrderService', 0.9],
      ['api-gateway', 0.1],
    ]);
    expect(r.state.pending).toEqual([]);
  });

  it('a strong single window, then normal ones: opened, and closed after closeAfterWindows, ending where the window ended', () => {
    const r = run([strongOrder(), null, null, null]);
    expect(r.perWindow.map(types)).toEqual([['insight.opened'], [], [], ['insight.closed']]);
    expect(r.perWindow[3]![0]!.insight).toMatchObject({ state: 'CLOSED', startTime: T0, endTime: T0 + W });
  });

  it('a strong window after a pending one opens the insight at the pending window, with both windows\' impact', () => {
    const r = run([orderFaults(), strongOrder()]);
    expect(r.perWindow.map(types)).toEqual([[], ['insight.opened']]);
    expect(r.events[0]!.insight).toMatchObject({ startTime: T0, clientRequestImpactStatistics: { faultCount: 4, okCount: 196, totalCount: 200 } });
  });

  it('a non-strong group needs two consecutive windows: a blip opens nothing', () => {
    expect(run([orderFaults(), null, null, null]).events).toEqual([]);
    expect(types(run([orderFaults(), orderFaults()]).perWindow[1]!)).toEqual(['insight.opened']);
  });
});

describe('stepLifecycle: root cause ranked by blame summed over the insight\'s windows', () => {
  const members = [GW, ORDER, PAY];
  const order = () => [group(ORDER, members, { scores: { [ORDER]: 0.9, [PAY]: 0.2, [GW]: 0.1 }, why: 'first' })];

  it('a later window with another top candidate, but less blame, does not reorder them (and is no update)', () => {
    // windows 0 and 1: OrderService 0.9, PaymentService 0.2, gateway 0.1; window 2: PaymentService on top with 0.6
    const later = [group(PAY, members, { scores: { [PAY]: 0.6, [ORDER]: 0.3, [GW]: 0.1 }, why: 'later' })];
    const r = run([order(), order(), later]);
    expect(r.perWindow.map(types)).toEqual([[], ['insight.opened'], []]);
    const ins = r.state.active[0]!.insight;
    // OrderService 0.9 + 0.9 + 0.3 = 2.1; PaymentService 0.2 + 0.2 + 0.6 = 1.0; gateway 0.3
    expect(ins.rootCauseCandidates.map((c) => [c.service.name, c.score])).toEqual([
      ['OrderService', 2.1],
      ['PaymentService', 1],
      ['api-gateway', 0.3],
    ]);
    expect(ins.id).toBe(insightId('Default', ORDER, T0));
    expect(ins.summary).toMatch(/^Fault anomaly rooted in OrderService/);
    // each candidate carries its latest reason
    expect(ins.rootCauseCandidates[0]!.reason).toBe(`${ORDER}: later`);
  });

  it('once its summed blame is the larger, the new top candidate is the root cause: an update', () => {
    // window 2: PaymentService 0.2 + 0.2 + 1.6 = 2.0 against OrderService 0.9 + 0.9 + 0.1 = 1.9: it takes over
    // window 3: 1.6 more → 3.6 against 2.0: still on top, nothing else changed, no event
    const pay = () => [group(PAY, members, { scores: { [PAY]: 1.6, [ORDER]: 0.1, [GW]: 0.1 } })];
    const r = run([order(), order(), pay(), pay()]);
    expect(r.perWindow.map(types)).toEqual([[], ['insight.opened'], ['insight.updated'], []]);
    expect(r.perWindow[2]![0]!.insight.rootCauseCandidates.map((c) => [c.service.name, c.score])).toEqual([
      ['PaymentService', 2],
      ['OrderService', 1.9],
      ['api-gateway', 0.3],
    ]);
    expect(r.state.active[0]!.insight.rootCauseCandidates.map((c) => [c.service.name, c.score])).toEqual([
      ['PaymentService', 3.6],
      ['OrderService', 2],
      ['api-gateway', 0.4],
    ]);
    // the insight keeps the id it opened with
    expect(r.state.active[0]!.insight.id).toBe(insightId('Default', ORDER, T0));
  });
});

describe('stepLifecycle: the root cause\'s request impact is its own requests over all the insight\'s windows', () => {
  const members = [GW, ORDER, PAY];
  const order = () => [group(ORDER, members, { scores: { [ORDER]: 0.9, [PAY]: 0.2, [GW]: 0.1 } })];
  // OrderService and PaymentService requests (faults) per window:
  //   window 0: 100 (2) and 80 (0); window 1: 120 (5) and 90 (1); window 2: 150 (10) and 60 (30); window 3: 110 (3) and 70 (20)
  const graphs = [
    countsGraph({ count: 100, fault: 2 }, { count: 80 }),
    countsGraph({ count: 120, fault: 5 }, { count: 90, fault: 1 }),
    countsGraph({ count: 150, fault: 10 }, { count: 60, fault: 30 }),
    countsGraph({ count: 110, fault: 3 }, { count: 70, fault: 20 }),
  ];

  it('the summed-blame root stays OrderService while a later window\'s top candidate is PaymentService: OrderService\'s requests only', () => {
    const later = [group(PAY, members, { scores: { [PAY]: 0.6, [ORDER]: 0.3, [GW]: 0.1 } })];
    const r = run([order(), order(), later], O, graphs);
    expect(r.perWindow.map(types)).toEqual([[], ['insight.opened'], []]);
    // opened after window 1: OrderService 100 + 120 requests, 2 + 5 faults
    expect(r.events[0]!.insight.rootCauseServiceRequestImpactStatistics).toEqual({ faultCount: 7, okCount: 213, totalCount: 220 });
    const ins = r.state.active[0]!.insight;
    // OrderService 2.1 against PaymentService 1.0: still the root cause
    expect(ins.rootCauseCandidates[0]!.service.name).toBe('OrderService');
    // window 2 adds OrderService's 150 (10 faults), not PaymentService's 60 (30): 370 requests, 17 faults, 353 ok
    expect(ins.rootCauseServiceRequestImpactStatistics).toEqual({ faultCount: 17, okCount: 353, totalCount: 370 });
  });

  it('when the root changes to PaymentService, its statistics are PaymentService\'s over all the insight\'s windows', () => {
    // window 2: PaymentService 0.2 + 0.2 + 1.6 = 2.0 against OrderService 0.9 + 0.9 + 0.1 = 1.9: the new root
    const pay = () => [group(PAY, members, { scores: { [PAY]: 1.6, [ORDER]: 0.1, [GW]: 0.1 } })];
    const r = run([order(), order(), pay(), pay()], O, graphs);
    expect(r.perWindow.map(types)).toEqual([[], ['insight.opened'], ['insight.updated'], []]);
    expect(r.events[0]!.insight.rootCauseServiceRequestImpactStatistics).toEqual({ faultCount: 7, okCount: 213, totalCount: 220 });
    // the update: PaymentService in windows 0–2, from the start of the insight: 80 + 90 + 60 = 230 requests, 0 + 1 + 30 = 31 faults
    const updated = r.perWindow[2]![0]!.insight;
    expect(updated.rootCauseCandidates[0]!.service.name).toBe('PaymentService');
    expect(updated.rootCauseServiceRequestImpactStatistics).toEqual({ faultCount: 31, okCount: 199, totalCount: 230 });
    // window 3 adds its 70 requests, 20 faults: 300 and 51
    expect(r.state.active[0]!.insight.rootCauseServiceRequestImpactStatistics).toEqual({ faultCount: 51, okCount: 249, totalCount: 300 });
  });
});

describe('stepLifecycle: update and close', () => {
  it('closes after closeAfterWindows normal windows, ending at the end of the last anomalous window', () => {
    // A A A N N N: opened at the end of window 1, closed at the end of window 5
    const r = run([orderFaults(), orderFaults(), orderFaults(), null, null, null, null]);
    expect(r.perWindow.map(types)).toEqual([[], ['insight.opened'], [], [], [], ['insight.closed'], []]);
    const closed = r.perWindow[5]![0]!;
    expect(closed.eventTime).toBe(T0 + 6 * W);
    expect(closed.insight).toMatchObject({ id: insightId('Default', ORDER, T0), state: 'CLOSED', startTime: T0, endTime: T0 + 3 * W, lastUpdateTime: T0 + 6 * W });
    expect(r.state.active).toEqual([]);
  });

  it('a gap shorter than closeAfterWindows does not close it; the count starts again', () => {
    // A A N N A N N N: the anomaly returns in window 4, so it closes after windows 5–7, ending at window 4's end
    const r = run([orderFaults(), orderFaults(), null, null, orderFaults(), null, null, null]);
    expect(types(r.events)).toEqual(['insight.opened', 'insight.closed']);
    expect(r.perWindow[7]!.map((e) => [e.type, e.eventTime, e.insight.endTime])).toEqual([['insight.closed', T0 + 8 * W, T0 + 5 * W]]);
  });

  it('closeAfterWindows = 1 closes at the first normal window', () => {
    const r = run([orderFaults(), orderFaults(), null], { ...O, closeAfterWindows: 1 });
    expect(r.perWindow.map(types)).toEqual([[], ['insight.opened'], ['insight.closed']]);
    expect(r.events[1]!.insight.endTime).toBe(T0 + 2 * W);
  });

  it('updates when a new service is impacted, and not while nothing changes', () => {
    const wider = () => [group(ORDER, [GW, ORDER, INV])];
    const r = run([orderFaults(), orderFaults(), orderFaults(), wider(), wider()]);
    expect(r.perWindow.map(types)).toEqual([[], ['insight.opened'], [], ['insight.updated'], []]);
    const u = r.perWindow[3]![0]!;
    expect(u.eventTime).toBe(T0 + 4 * W);
    expect(u.insight.id).toBe(r.events[0]!.insight.id);
    expect(u.insight.lastUpdateTime).toBe(T0 + 4 * W);
    expect(u.insight.startTime).toBe(T0);
    expect(u.insight.impactedServices.map((s) => s.name)).toEqual(['api-gateway', 'OrderService', 'InventoryService']);
  });

  it('updates when the client impact grows by half (and by at least 10 faults) since the last event', () => {
    // 40 client faults a window: 80 when opened, 120 after the next window (≥ 1.5 × 80): update; 160 < 1.5 × 120: none
    const r = run([orderFaults(), orderFaults(), orderFaults(), orderFaults(), orderFaults()], O, shopGraph(40));
    expect(r.perWindow.map(types)).toEqual([[], ['insight.opened'], ['insight.updated'], [], ['insight.updated']]);
    expect(r.events.map((e) => e.insight.clientRequestImpactStatistics.faultCount)).toEqual([80, 120, 200]);
  });

  it('updates when the root cause or the categories change', () => {
    // PaymentService takes over with 3.0 in window 2: 3.0 against OrderService's 0.9 + 0.9 + 0.1
    const pay = (categories: Category[]) => [group(PAY, [GW, ORDER, PAY], { categories, scores: { [PAY]: 3 } })];
    const r = run([orderFaults(), orderFaults(), pay(['FAULT']), pay(['FAULT', 'LATENCY'])]);
    expect(r.perWindow.map(types)).toEqual([[], ['insight.opened'], ['insight.updated'], ['insight.updated']]);
    expect(r.perWindow[2]![0]!.insight.rootCauseCandidates[0]!.service.name).toBe('PaymentService');
    expect(r.perWindow[3]![0]!.insight.categories).toEqual(['FAULT', 'LATENCY']);
    // still the same insight: its id is fixed when it opens
    expect(new Set(r.events.map((e) => e.insight.id))).toEqual(new Set([insightId('Default', ORDER, T0)]));
  });

  it('flushLifecycle closes what is still active at the end of the input', () => {
    const r = run([orderFaults(), orderFaults(), orderFaults()]);
    const f = flushLifecycle(r.state, T0 + 2 * W, O);
    expect(f.events.map((e) => [e.type, e.eventTime, e.insight.state, e.insight.endTime])).toEqual([['insight.closed', T0 + 3 * W, 'CLOSED', T0 + 3 * W]]);
    expect(f.state.active).toEqual([]);
  });
});

describe('insight ids', () => {
  it('are deterministic: the same windows give the same events, ids included', () => {
    const ws = [orderFaults(), orderFaults(), null, null, null];
    expect(JSON.stringify(run(ws).events)).toBe(JSON.stringify(run(ws).events));
  });

  it('follow X-Ray InsightId pattern and depend on group, root cause and start', () => {
    const ids = new Set<string>();
    for (const g of ['Default', 'checkout', 'a|b']) {
      for (const s of [ORDER, PAY, id('remote', 'api.payments.example.com')]) {
        for (const t of [0, T0, T0 + W, 4_102_444_800]) {
          const x = insightId(g, s, t);
          expect(x).toMatch(INSIGHT_ID);
          expect(insightId(g, s, t)).toBe(x);
          ids.add(x);
        }
      }
    }
    expect(ids.size).toBe(3 * 3 * 4);
  });

  it('many ids: the version nibble is 5 and the variant 8–b', () => {
    for (let i = 0; i < 2000; i++) {
      const x = insightId('Default', `svc-${i}`, T0 + i * W);
      expect(x[14]).toBe('5');
      expect('89ab').toContain(x[19]);
    }
  });
});
