import { describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { EXEMPLAR_TTL_SECONDS, collectExemplars, exemplarTtlSeconds, writeExemplars } from '../../src/aggregate/exemplars.js';
import { keySpace } from '../../src/aggregate/keys.js';
import type { SlimDoc } from '../../src/ingest/record.js';

/** A pipeline that records the commands it is given. */
function recorder(): { pipe: ReturnType<Redis['pipeline']>; calls: Array<[string, ...unknown[]]> } {
  const calls: Array<[string, ...unknown[]]> = [];
  const pipe = new Proxy({}, { get: (_, name: string) => (...args: unknown[]) => calls.push([name, ...args]) }) as ReturnType<Redis['pipeline']>;
  return { pipe, calls };
}

const seg = (t: string, s: number): SlimDoc => ({ k: 's', t, i: `${t}-s`, n: 'orders', ty: 'AWS::EC2::Instance', s, e: s + 0.2 });

describe('exemplar TTL', () => {
  it('is two hours, or the aggregates’ retention when that is shorter', () => {
    expect(exemplarTtlSeconds(7 * 86400)).toBe(EXEMPLAR_TTL_SECONDS);
    expect(exemplarTtlSeconds(300)).toBe(300);
  });

  it('is what the exemplar keys expire after; two hours when none is given', () => {
    const batch = collectExemplars([seg('T1', 61), seg('T2', 125)], 60);
    const given = recorder();
    writeExemplars(given.pipe, keySpace('t'), batch, 300);
    const expires = given.calls.filter((c) => c[0] === 'expire');
    expect(expires).toHaveLength(2);
    for (const e of expires) expect(e[2]).toBe(300);
    const byDefault = recorder();
    writeExemplars(byDefault.pipe, keySpace('t'), batch);
    for (const e of byDefault.calls.filter((c) => c[0] === 'expire')) expect(e[2]).toBe(EXEMPLAR_TTL_SECONDS);
  });
});
