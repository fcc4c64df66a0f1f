import { describe, expect, it } from 'vitest';
import { collectExemplars, exemplarFaulted, exemplarScore, mergeExemplars, EXEMPLARS_PER_WINDOW } from '../../src/aggregate/exemplars.js';
import { nodeId } from '../../src/aggregate/graph-ids.js';
import { FLAG_ERROR, FLAG_FAULT, type SlimDoc } from '../../src/ingest/record.js';
import { traceFilterOf } from '../../src/insights/exemplars.js';

const seg = (t: string, s: number, e: number, f?: number, c?: SlimDoc['c']): SlimDoc => ({ k: 's', t, i: `${t}-s`, n: 'orders', ty: 'AWS::EC2::Instance', s, e, ...(f ? { f } : {}), ...(c ? { c } : {}) });

describe('exemplars', () => {
  it('rank faulty first, then errors, then the slowest', () => {
    expect(exemplarScore(FLAG_FAULT, 0.01)).toBeGreaterThan(exemplarScore(FLAG_ERROR, 30));
    expect(exemplarScore(FLAG_ERROR, 0.01)).toBeGreaterThan(exemplarScore(undefined, 900));
    expect(exemplarScore(undefined, 2)).toBeGreaterThan(exemplarScore(undefined, 1));
    expect(exemplarFaulted(exemplarScore(FLAG_FAULT, 1))).toBe(true);
    expect(exemplarFaulted(exemplarScore(FLAG_ERROR, 1))).toBe(false);
  });

  it('are collected per window and node, for segments and for the dependencies their calls name', () => {
    const call = { i: 'c1', n: 'api.pay.example', s: 61, e: 61.5, ns: 'r' as const, f: FLAG_FAULT };
    const ex = collectExemplars([seg('T1', 59, 59.2), seg('T2', 60.5, 62, FLAG_FAULT, [call])], 60);
    expect([...ex.keys()].sort()).toEqual([0, 60]);
    const orders = nodeId('AWS::EC2::Instance', 'orders');
    expect([...ex.get(0)!.get(orders)!.keys()]).toEqual(['T1']);
    expect(ex.get(60)!.get(nodeId('remote', 'api.pay.example'))!.get('T2')).toBe(exemplarScore(FLAG_FAULT, 0.5));
  });

  it('merge to the best score per trace and keep the top 20, ties by trace id as Redis keeps them', () => {
    const a = Array.from({ length: 30 }, (_, i) => [`t${String(i).padStart(2, '0')}`, i % 5] as [string, number]);
    const merged = mergeExemplars([a, [['t00', 100]]]);
    expect(merged).toHaveLength(EXEMPLARS_PER_WINDOW);
    expect(merged[0]).toEqual(['t00', 100]);
    // among equal scores the greater id first (ZREVRANGE order)
    expect(merged.slice(1, 4).map(([t]) => t)).toEqual(['t29', 't24', 't19']);
  });

  it('give a trace filter on the root cause, narrowed to failures unless latency is in question', () => {
    const node = nodeId('remote', 'api.pay.example');
    expect(traceFilterOf({ categories: ['FAULT'], startTime: 60 }, node, 180)).toEqual({ filterExpression: 'service(id(name: "api.pay.example", type: "remote")) { fault }', startTime: 60, endTime: 180 });
    expect(traceFilterOf({ categories: ['FAULT', 'LATENCY'], startTime: 60 }, node, 180).filterExpression).toBe('service(id(name: "api.pay.example", type: "remote"))');
    expect(traceFilterOf({ categories: ['THROTTLE'], startTime: 0 }, node, 60).filterExpression).toMatch(/\{ throttle \}$/);
  });
});
