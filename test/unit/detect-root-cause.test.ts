import { describe, expect, it } from 'vitest';
import { REMOTE_TYPE } from '../../src/aggregate/graph-ids.js';
import { findRootCauses, type Group } from '../../src/detect/root-cause.js';
import { fixture, id, judgeAll, type NodeSpec } from '../helpers/window-stats.js';

/**
 * Root cause on hand-built one-window graphs shaped like the shop scenario:
 *   client → api-gateway → OrderService → InventoryService → DynamoDB (inferred)
 *                                       → PaymentService   → api.payments.example.com (inferred)
 * 1,000 requests a window at the gateway; 80 % of orders are charged. Nodes are judged with judgeNode
 * against baselines of ten normal windows, exactly as the window detector does.
 */

const GW = id('AWS::ApiGateway::Stage', 'api-gateway');
const ORDER = id('AWS::ECS::Container', 'OrderService');
const INV = id('AWS::Lambda::Function', 'InventoryService');
const DDB = id('AWS::DynamoDB::Table', 'DynamoDB');
const PAY = id('AWS::EC2::Instance', 'PaymentService');
const PAYAPI = id(REMOTE_TYPE, 'api.payments.example.com');

const SHOP_EDGES = [
  { from: GW, to: ORDER },
  { from: ORDER, to: INV },
  { from: INV, to: DDB },
  { from: ORDER, to: PAY },
  { from: PAY, to: PAYAPI },
];

/** Normal windows of every shop node (latency: gateway ≈ order + 5 ms ≈ own 20 + inventory 20 + 80 %·payment ≈ 370). */
const NORMAL: Record<string, NodeSpec['normal']> = {
  [GW]: { count: 1000, fault: 1, latencies: [[60, 200], [410, 700], [490, 100]], ownMs: 5 },
  [ORDER]: { count: 1000, fault: 2, latencies: [[55, 200], [400, 700], [480, 100]], ownMs: 20 },
  [INV]: { count: 1000, fault: 1, throttle: 2, latencies: [[20, 900], [30, 100]], ownMs: 10 },
  [DDB]: { count: 1000, fault: 1, latencies: [[8, 900], [12, 100]] },
  [PAY]: { count: 800, fault: 1, latencies: [[365, 720], [450, 80]], ownMs: 15 },
  [PAYAPI]: { count: 800, fault: 3, latencies: [[350, 720], [435, 80]] },
};

/** The shop in one window: every node normal unless `now` says otherwise. */
function shop(now: Record<string, NodeSpec['now']>) {
  const nodes: NodeSpec[] = Object.entries(NORMAL).map(([nid, normal]) => ({ id: nid, normal, now: now[nid] ?? normal, inferred: nid === DDB || nid === PAYAPI }));
  return fixture(GW, nodes, SHOP_EDGES);
}

function analyse(f: ReturnType<typeof fixture>): Group[] {
  const groups = findRootCauses(f.graph, judgeAll(f));
  for (const g of groups) {
    expect(g.candidates.length).toBeGreaterThan(0);
    expect(g.candidates[0]!.id).toBe(g.source);
    for (const c of g.candidates) {
      expect(c.reason.trim().length).toBeGreaterThan(0);
      expect(g.members).toContain(c.id);
    }
  }
  return groups;
}

describe('findRootCauses', () => {
  it('a quiet window: no anomalies, no groups', () => {
    const f = shop({});
    expect(judgeAll(f)).toEqual([]);
    expect(findRootCauses(f.graph, [])).toEqual([]);
  });

  it('the remote payment API faulting, its callers passing the faults up: the dependency is top-1', () => {
    const f = shop({
      [PAYAPI]: { ...NORMAL[PAYAPI]!, fault: 240 },
      [PAY]: { ...NORMAL[PAY]!, fault: 240, passedFault: 240 },
      [ORDER]: { ...NORMAL[ORDER]!, fault: 240, passedFault: 240 },
      [GW]: { ...NORMAL[GW]!, fault: 240, passedFault: 240 },
    });
    expect(judgeAll(f).map((a) => a.id)).toEqual([GW, ORDER, PAY, PAYAPI].sort());
    const groups = analyse(f);
    expect(groups).toHaveLength(1);
    const [g] = groups;
    expect(g!.source).toBe(PAYAPI);
    expect(g!.categories).toEqual(['FAULT']);
    expect(g!.members).toEqual([GW, ORDER, PAY, PAYAPI].sort());
    expect(g!.candidates[0]!.reason).toMatch(/^api\.payments\.example\.com \(remote\): fault rate 30 % .*n = 800.*uninstrumented dependency/);
    const pay = g!.candidates.find((c) => c.id === PAY)!;
    expect(pay.reason).toContain('100 % of its faults were passed up from calls to api.payments.example.com (remote)');
    expect(pay.score).toBeLessThan(g!.candidates[0]!.score);
  });

  it('OrderService faulting in its own code: it is top-1 although its callees are fine', () => {
    const f = shop({
      [ORDER]: { ...NORMAL[ORDER]!, fault: 200 },
      [GW]: { ...NORMAL[GW]!, fault: 200, passedFault: 200 },
    });
    expect(judgeAll(f).map((a) => a.id)).toEqual([GW, ORDER].sort());
    const groups = analyse(f);
    expect(groups).toHaveLength(1);
    expect(groups[0]!.source).toBe(ORDER);
    expect(groups[0]!.members).toEqual([GW, ORDER].sort());
    expect(groups[0]!.candidates[0]!.reason).toContain('100 % of its faults originated in its own code');
  });

  it('own faults and a callee with faults of its own: two sources, OrderService still top-1 of its group', () => {
    // PaymentService has a fault surge of its own (40 of 800); OrderService passes only 10 of its 200 faults up
    const f = shop({
      [ORDER]: { ...NORMAL[ORDER]!, fault: 200, passedFault: 10 },
      [PAY]: { ...NORMAL[PAY]!, fault: 40 },
      [GW]: { ...NORMAL[GW]!, fault: 200, passedFault: 200 },
    });
    const groups = analyse(f);
    expect(groups.map((g) => g.source).sort()).toEqual([ORDER, PAY].sort());
    const order = groups.find((g) => g.source === ORDER)!;
    expect(order.members).toEqual([GW, ORDER].sort());
    expect(order.candidates[0]!.reason).toContain('95 % of its faults originated in its own code');
    const pay = groups.find((g) => g.source === PAY)!;
    expect(pay.candidates[0]!.reason).toContain('100 % of its faults originated in its own code and no anomalous callee explains them');
  });

  it('latency: OrderService and the gateway wait longer but their own time is unchanged; PaymentService own time grew → PaymentService', () => {
    const f = shop({
      [PAY]: { count: 800, fault: 1, latencies: [[1200, 720], [1500, 80]], ownMs: 850 },
      [ORDER]: { count: 1000, fault: 2, latencies: [[55, 200], [1250, 720], [1550, 80]], ownMs: 20 },
      [GW]: { count: 1000, fault: 1, latencies: [[60, 200], [1260, 720], [1560, 80]], ownMs: 5 },
    });
    const anomalous = judgeAll(f);
    expect(anomalous.map((a) => [a.id, a.evidence.map((e) => e.category)])).toEqual(
      [GW, ORDER, PAY].sort().map((n) => [n, ['LATENCY']]),
    );
    const groups = analyse(f);
    expect(groups).toHaveLength(1);
    const [g] = groups;
    expect(g!.source).toBe(PAY);
    expect(g!.categories).toEqual(['LATENCY']);
    expect(g!.members).toEqual([GW, ORDER, PAY].sort());
    expect(g!.candidates[0]!.reason).toContain('its own time (not waiting on calls) grew to 850 ms from 15.0 ms');
    const order = g!.candidates.find((c) => c.id === ORDER)!;
    expect(order.reason).toContain('its own time is unchanged (20.0 ms vs 20.0 ms); it waits on PaymentService (AWS::EC2::Instance)');
  });

  it('latency two hops down: InventoryService waits on a 5× slower DynamoDB → DynamoDB', () => {
    const f = shop({
      [DDB]: { count: 1000, fault: 1, latencies: [[40, 900], [60, 100]] },
      [INV]: { count: 1000, fault: 1, latencies: [[55, 900], [75, 100]], ownMs: 10 },
    });
    const groups = analyse(f);
    expect(groups).toHaveLength(1);
    expect(groups[0]!.source).toBe(DDB);
    expect(groups[0]!.members).toEqual([DDB, INV].sort());
    expect(groups[0]!.candidates.find((c) => c.id === INV)!.reason).toContain('it waits on DynamoDB (AWS::DynamoDB::Table)');
  });

  it('throttling passed up: InventoryService throttles, OrderService passes the 429 on → InventoryService', () => {
    const f = shop({
      [INV]: { ...NORMAL[INV]!, throttle: 300 },
      [ORDER]: { ...NORMAL[ORDER]!, throttle: 300 },
    });
    const groups = analyse(f);
    expect(groups).toHaveLength(1);
    expect(groups[0]!.source).toBe(INV);
    expect(groups[0]!.categories).toEqual(['THROTTLE']);
    expect(groups[0]!.candidates[0]!.reason).toContain('it throttles requests itself');
  });

  it('two independent sources in different subtrees: two groups, each with its own root cause', () => {
    // client → web-bff → shipping-service → api.carrier.example.com (faults)
    //                  → search-service   → search.es.internal (6× slower)
    const BFF = id('AWS::ECS::Container', 'web-bff');
    const SHIP = id('AWS::ECS::Container', 'shipping-service');
    const CARRIER = id(REMOTE_TYPE, 'api.carrier.example.com');
    const SEARCH = id('AWS::ECS::Container', 'search-service');
    const ES = id(REMOTE_TYPE, 'search.es.internal');
    const nodes: NodeSpec[] = [
      {
        id: BFF,
        normal: { count: 800, fault: 1, latencies: [[50, 450], [70, 50], [220, 300]], ownMs: 5 },
        now: { count: 800, fault: 150, passedFault: 150, latencies: [[200, 450], [290, 50], [220, 300]], ownMs: 5 },
      },
      { id: SHIP, normal: { count: 300, fault: 1, latencies: [[210, 300]], ownMs: 10 }, now: { count: 300, fault: 150, passedFault: 150, latencies: [[210, 300]], ownMs: 10 } },
      { id: CARRIER, inferred: true, normal: { count: 300, fault: 1, latencies: [[200, 300]] }, now: { count: 300, fault: 150, latencies: [[200, 300]] } },
      { id: SEARCH, normal: { count: 500, latencies: [[40, 450], [60, 50]], ownMs: 8 }, now: { count: 500, latencies: [[190, 450], [280, 50]], ownMs: 8 } },
      { id: ES, inferred: true, normal: { count: 500, latencies: [[30, 450], [45, 50]] }, now: { count: 500, latencies: [[180, 450], [270, 50]] } },
    ];
    const f = fixture(BFF, nodes, [
      { from: BFF, to: SHIP },
      { from: SHIP, to: CARRIER },
      { from: BFF, to: SEARCH },
      { from: SEARCH, to: ES },
    ]);
    const groups = analyse(f);
    expect(groups.map((g) => [g.source, g.categories, g.members])).toEqual(
      [
        [CARRIER, ['FAULT'], [BFF, CARRIER, SHIP].sort()],
        [ES, ['LATENCY'], [ES, SEARCH].sort()],
      ].sort((a, b) => ((a[0] as string) < (b[0] as string) ? -1 : 1)),
    );
  });
});
