import madge from 'madge';
import { describe, expect, it } from 'vitest';

/**
 * The module graph (madge over src/ and jobs/): no import cycles, and the stages keep to their side of
 * the data flow — notify, the stores and the protocol modules never reach into jobs/ (processors) or
 * the HTTP API; only the composition (src/runtime.ts, src/compose/, src/main.ts, src/cli.ts) wires
 * processors to queues.
 */
describe('imports', () => {
  it('have no cycles and keep stages apart', async () => {
    const graph = await madge(['src', 'jobs'], { fileExtensions: ['ts'], tsConfig: 'tsconfig.json', excludeRegExp: [/^src\/console\//] });
    expect(graph.circular()).toEqual([]);
    const deps = graph.obj();
    expect(Object.keys(deps).length).toBeGreaterThan(100);
    const wiring = /^(src\/runtime\.ts|src\/main\.ts|src\/cli\.ts|src\/compose\/|src\/replay\/|src\/eval\/|jobs\/)/;
    const offenders = Object.entries(deps).flatMap(([from, to]) =>
      to.filter((t) => (t.startsWith('jobs/') && !wiring.test(from)) || (from.startsWith('src/notify/') && t.startsWith('src/api/'))).map((t) => `${from} → ${t}`),
    );
    expect(offenders).toEqual([]);
  }, 60_000);
});
