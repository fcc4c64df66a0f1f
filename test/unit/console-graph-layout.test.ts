import { describe, expect, it } from 'vitest';
import { edgePath, layoutGraph, midpoint } from '../../src/console/lib/graph-layout.js';

const box = (id: string) => ({ id, width: 120, height: 80 });

describe('console graph layout', () => {
  it('lays callers left of callees, clients first, and routes every edge between its ends', () => {
    const nodes = ['client|web', 'svc|gateway', 'svc|orders', 'svc|payments', 'remote|bank'].map(box);
    const edges = [
      { id: 'client|web>svc|gateway', from: 'client|web', to: 'svc|gateway' },
      { id: 'svc|gateway>svc|orders', from: 'svc|gateway', to: 'svc|orders' },
      { id: 'svc|orders>svc|payments', from: 'svc|orders', to: 'svc|payments' },
      { id: 'svc|payments>remote|bank', from: 'svc|payments', to: 'remote|bank' },
      { id: 'svc|orders>svc|orders', from: 'svc|orders', to: 'svc|orders' },
      { id: 'svc|orders>svc|missing', from: 'svc|orders', to: 'svc|missing' },
    ];
    const l = layoutGraph({ nodes, edges });
    const x = (id: string) => l.nodes.get(id)!.x;
    expect(x('client|web')).toBeLessThan(x('svc|gateway'));
    expect(x('svc|gateway')).toBeLessThan(x('svc|orders'));
    expect(x('svc|payments')).toBeLessThan(x('remote|bank'));
    expect([...l.edges.keys()].sort()).toEqual(edges.slice(0, 4).map((e) => e.id).sort());
    for (const [id, pts] of l.edges) {
      const [from, to] = id.split('>') as [string, string];
      expect(pts.length).toBeGreaterThanOrEqual(2);
      expect(pts[0]!.x).toBeGreaterThanOrEqual(x(from));
      expect(pts[pts.length - 1]!.x).toBeLessThanOrEqual(x(to));
    }
    for (const n of nodes) {
      const p = l.nodes.get(n.id)!;
      expect(p.x + 60).toBeLessThanOrEqual(l.width);
      expect(p.y + 40).toBeLessThanOrEqual(l.height);
    }
  });

  it('the same graph in another order gets the same picture', () => {
    const nodes = ['a', 'b', 'c', 'd'].map(box);
    const edges = [
      { id: 'a>b', from: 'a', to: 'b' },
      { id: 'a>c', from: 'a', to: 'c' },
      { id: 'c>d', from: 'c', to: 'd' },
    ];
    const one = layoutGraph({ nodes, edges });
    const two = layoutGraph({ nodes: [...nodes].reverse(), edges: [...edges].reverse() });
    expect([...two.nodes.entries()].sort()).toEqual([...one.nodes.entries()].sort());
  });

  it('50 services with 120 calls lay out quickly', () => {
    const nodes = Array.from({ length: 50 }, (_, i) => box(`s${i}`));
    const edges = Array.from({ length: 120 }, (_, k) => {
      const a = k % 40;
      const b = Math.min(49, a + 1 + ((k * 7) % 10));
      return { id: `s${a}>s${b}#${k}`, from: `s${a}`, to: `s${b}` };
    });
    const t0 = performance.now();
    const l = layoutGraph({ nodes, edges });
    expect(performance.now() - t0).toBeLessThan(1500);
    expect(l.nodes.size).toBe(50);
  });

  it('paths and label points follow the polyline', () => {
    expect(edgePath([])).toBe('');
    expect(edgePath([{ x: 0, y: 0 }, { x: 10, y: 5 }])).toBe('M0,0L10,5');
    expect(edgePath([{ x: 0, y: 0 }, { x: 10, y: 0 }, { x: 10, y: 10 }])).toBe('M0,0Q10,0 10,10');
    expect(midpoint([{ x: 0, y: 0 }, { x: 10, y: 0 }, { x: 10, y: 10 }])).toEqual({ x: 10, y: 0 });
    expect(midpoint([{ x: 0, y: 0 }, { x: 4, y: 0 }])).toEqual({ x: 2, y: 0 });
  });
});
