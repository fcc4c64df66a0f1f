import { Rng } from '../../src/sim/random.js';
import { describe, expect, it } from 'vitest';
import {
  compileRules,
  decide,
  NO_RULE,
  retentionRulesSchema,
  traceFraction,
  type CompiledRule,
  type RetentionRule,
} from '../../src/traces/retention.js';

const T0 = 1714489900;

// the simulator's seeded generator (mulberry32), so the synthetic traffic is the same on every run
function rng(seed: number): () => number {
  const r = new Rng(seed);
  return () => r.next();
}

function hex(r: () => number, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += Math.floor(r() * 16).toString(16);
  return s;
}

type Kind = 'ok' | 'fault' | 'error' | 'throttle';

function traceId(r: () => number, i: number): string {
  return `1-${(T0 + i).toString(16)}-${hex(r, 24)}`;
}

/** A minimal X-Ray root segment with the flags X-Ray sets for each outcome. */
function rootDocument(id: string, kind: Kind, r: () => number): object {
  const status = { ok: 200, fault: 502, error: 404, throttle: 429 }[kind];
  return {
    trace_id: id,
    id: hex(r, 16),
    name: 'orders-api',
    start_time: T0,
    end_time: T0 + 0.05 + r() * 0.2,
    ...(kind === 'fault' ? { fault: true } : {}),
    ...(kind === 'error' || kind === 'throttle' ? { error: true } : {}),
    ...(kind === 'throttle' ? { throttle: true } : {}),
    http: { request: { method: 'GET', url: 'https://orders.example.com/api/orders' }, response: { status } },
  };
}

function compiled(rules: RetentionRule[]): readonly CompiledRule[] {
  const c = compileRules(rules);
  if (!c.ok) throw new Error(c.error.message);
  return c.rules;
}

describe('retention rules', () => {
  const r = rng(7);
  const okTrace = { id: traceId(r, 0), docs: [] as object[] };
  okTrace.docs = [rootDocument(okTrace.id, 'ok', r)];
  const faultTrace = { id: traceId(r, 1), docs: [] as object[] };
  faultTrace.docs = [rootDocument(faultTrace.id, 'fault', r)];

  it('defaults to one rule that keeps every trace', () => {
    const rules = retentionRulesSchema.parse(undefined);
    expect(rules).toEqual([{ match: '', keep: 1 }]);
    const c = compiled(rules);
    const g = rng(1);
    for (let i = 0; i < 500; i++) {
      const id = traceId(g, i);
      expect(decide(c, id, [rootDocument(id, i % 2 ? 'ok' : 'fault', g)])).toEqual({ keep: true, rule: 0 });
    }
  });

  it('refuses a keep fraction outside 0..1', () => {
    expect(retentionRulesSchema.safeParse([{ match: '', keep: 1.5 }]).success).toBe(false);
    expect(retentionRulesSchema.safeParse([{ match: '', keep: -0.1 }]).success).toBe(false);
  });

  it('applies the first matching rule, and keeps a trace no rule matches', () => {
    const c = compiled([
      { match: 'fault', keep: 0 },
      { match: 'fault OR error', keep: 1 },
    ]);
    expect(decide(c, faultTrace.id, faultTrace.docs)).toEqual({ keep: false, rule: 0 });
    expect(decide(c, okTrace.id, okTrace.docs)).toEqual({ keep: true, rule: NO_RULE });
    const errorDocs = [rootDocument(okTrace.id, 'error', rng(3))];
    expect(decide(c, okTrace.id, errorDocs)).toEqual({ keep: true, rule: 1 });
  });

  it('names the rule, position and expectation of a bad filter', () => {
    const c = compileRules([
      { match: 'fault', keep: 1 },
      { match: 'fault OR', keep: 0.5 },
    ]);
    expect(c.ok).toBe(false);
    if (c.ok) return;
    expect(c.error.rule).toBe(1);
    expect(c.error.filter.position).toBe(8);
    expect(c.error.filter.expected.length).toBeGreaterThan(0);
    expect(c.error.message).toMatch(/^rule 1 \("fault OR"\): at 1:9: expected /);
  });

  it('keeps nothing at 0 and everything at 1', () => {
    const none = compiled([{ match: '', keep: 0 }]);
    const all = compiled([{ match: '', keep: 1 }]);
    const g = rng(11);
    for (let i = 0; i < 2000; i++) {
      const id = traceId(g, i);
      const docs = [rootDocument(id, 'ok', g)];
      expect(decide(none, id, docs).keep).toBe(false);
      expect(decide(all, id, docs).keep).toBe(true);
    }
  });

  it('keeps every faulty trace and 5 % of the rest, the same on three workers', () => {
    const rules: RetentionRule[] = [
      { match: 'fault OR error OR throttle', keep: 1 },
      { match: '', keep: 0.05 },
    ];
    // each worker compiles its own copy, as separate processes would
    const workers = [compiled(rules), compiled(structuredClone(rules)), compiled(structuredClone(rules))];
    const g = rng(42);
    const kinds: Kind[] = ['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'fault', 'error', 'throttle'];
    let rest = 0;
    let restKept = 0;
    const seen = new Set<Kind>();
    for (let i = 0; i < 20_000; i++) {
      const kind = kinds[Math.floor(g() * kinds.length)] ?? 'ok';
      seen.add(kind);
      const id = traceId(g, i);
      const docs = [rootDocument(id, kind, g)];
      const [a, b, c] = workers.map((w) => decide(w, id, docs));
      expect(b).toEqual(a);
      expect(c).toEqual(a);
      if (kind === 'ok') {
        rest++;
        if (a?.keep) restKept++;
        expect(a?.rule).toBe(1);
      } else {
        expect(a).toEqual({ keep: true, rule: 0 });
      }
    }
    expect(seen.size).toBe(4);
    expect(rest).toBeGreaterThan(10_000);
    expect(Math.abs(restKept / rest - 0.05)).toBeLessThanOrEqual(0.01);
  });

  it('hashes trace ids to a uniform fraction', () => {
    const g = rng(99);
    const n = 20_000;
    const deciles = new Array<number>(10).fill(0);
    for (let i = 0; i < n; i++) {
      const f = traceFraction(traceId(g, i));
      expect(f).toBeGreaterThanOrEqual(0);
      expect(f).toBeLessThan(1);
      deciles[Math.floor(f * 10)]!++;
    }
    for (const count of deciles) expect(Math.abs(count / n - 0.1)).toBeLessThanOrEqual(0.01);
    expect(traceFraction('1-66310a2c-5b1e8c0f2a4d6e7f8091a2b3')).toBe(traceFraction('1-66310a2c-5b1e8c0f2a4d6e7f8091a2b3'));
  });
});
