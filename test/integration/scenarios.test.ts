import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import type { InsightEvent } from '../../src/insights/model.js';
import { replay } from '../../src/replay/replay.js';
import { formatCaseScore } from '../../src/eval/format.js';
import { parseLabels } from '../../src/eval/labels.js';
import { scoreCase } from '../../src/eval/score.js';
import { SCENARIOS } from '../../src/sim/scenarios/index.js';
import { simulate } from '../../src/sim/simulate.js';
import { writeSimulation } from '../../src/sim/write.js';
import { dropPrefixAndReplays, redisUrl, testRedis, uniquePrefix } from '../helpers/redis.js';

/**
 * Acceptance, by the scorer `eval` uses (src/eval/score.ts), on every shipped scenario at its default settings: every
 * labelled incident detected; no insight on the control; root cause top-1 right for ≥ 95 % of the
 * incidents, precision ≥ 95 %; median detection delay ≤ 90 s. Each scenario is simulated into a temp dir and
 * replayed through the real pipeline (queue, worker, Redis windows, detection, insights).
 */

const dir = mkdtempSync(join(tmpdir(), 'ti-scenarios-'));
const prefix = uniquePrefix('scn');
const cfg = loadConfig({ overrides: { logLevel: 'silent', keyPrefix: prefix } });
const log = pino({ level: 'silent' });
const redis = testRedis();
/** as the CLI does: validation and aggregation in worker processes, reading and detection here */
const WORKER_PROCESSES = Math.max(1, Math.min(availableParallelism(), 4));

afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await dropPrefixAndReplays(redis, prefix);
  redis.disconnect();
});

/** For each wanted trace: the names of the services and called dependencies its documents show. */
async function servicesOfTraces(file: string, wanted: ReadonlySet<string>): Promise<Map<string, Set<string>>> {
  const out = new Map<string, Set<string>>();
  const names = (e: { name?: string; namespace?: string; subsegments?: unknown[] }, into: Set<string>, top: boolean) => {
    if (e.name && (top || e.namespace === 'remote' || e.namespace === 'aws')) into.add(e.name);
    for (const c of (e.subsegments ?? []) as Array<typeof e>) names(c, into, false);
  };
  for await (const line of createInterface({ input: createReadStream(file).pipe(createGunzip()) })) {
    const m = /"trace_id":"([^"]+)"/.exec(line);
    if (!m || !wanted.has(m[1]!)) continue;
    const doc = JSON.parse(line) as { trace_id: string; type?: string; name?: string };
    let set = out.get(doc.trace_id);
    if (!set) out.set(doc.trace_id, (set = new Set()));
    names(doc, set, doc.type !== 'subsegment');
  }
  return out;
}

describe('shipped scenarios, scored', () => {
  it('the simulator ships shop, mesh and control', () => {
    expect(SCENARIOS.map((s) => s.name)).toEqual(['shop', 'mesh', 'control']);
  });

  for (const def of SCENARIOS) {
    it(`${def.name}: every incident found, AC@1 ≥ 0.95, precision ≥ 0.95, median delay ≤ 90 s, no insight on a control`, async () => {
      const sim = simulate(def.name);
      const out = join(dir, `${def.name}.ndjson.gz`);
      const written = await writeSimulation(sim, { out });
      const events: InsightEvent[] = [];
      const r = await replay({ files: [out], cfg, redisUrl, log, workerProcesses: WORKER_PROCESSES, onEvent: (e) => void events.push(e) });
      const scored = scoreCase(events, parseLabels(sim.labels, def.name), cfg.windowSeconds);
      const s = scored.tally;

      const d = def.defaults;
      console.log(
        [
          `── ${def.name} (seed ${d.seed}, ${d.hours} h at ${d.rate} req/s): ${r.documents} documents, ${r.windowsClosed} windows, ${r.events} events; simulated in ${written.seconds.toFixed(1)} s, replayed in ${r.seconds} s`,
          formatCaseScore(scored, cfg.windowSeconds),
        ].join('\n'),
      );

      expect(r.documents).toBe(written.stats.documents);
      expect(r.rejections).toEqual([]);
      expect(r.namespace.startsWith(`${prefix}-replay-`)).toBe(true);
      // the run covers the whole scenario: one window per minute of it
      expect(r.windowsClosed).toBe((d.hours * 3600) / cfg.windowSeconds);

      if (sim.labels.incidents.length === 0) {
        // the control: traffic surges and a harmless deploy must not raise anything
        expect(s.insights).toBe(0);
        expect(events).toEqual([]);
        return;
      }
      const missed = scored.incidents.filter((p) => !p.detected).map((p) => p.id);
      expect(missed).toEqual([]);
      expect(s.detected).toBe(s.incidents);
      expect(s.ac1).toBeGreaterThanOrEqual(0.95);
      expect(s.precision).toBeGreaterThanOrEqual(0.95);
      expect(s.medianDelaySeconds).not.toBeNull();
      // 60 s windows: a median within a window and a half means most incidents open after one window
      expect(s.medianDelaySeconds!).toBeLessThanOrEqual(90);

      // every insight event names exemplar traces, and each of them touches its first root-cause candidate
      const wanted = new Set(events.flatMap((e) => e.insight.exemplarTraceIds ?? []));
      const touched = await servicesOfTraces(out, wanted);
      for (const e of events) {
        const ids = e.insight.exemplarTraceIds ?? [];
        expect(ids.length, `${e.type} ${e.insight.summary}`).toBeGreaterThan(0);
        expect(ids.length).toBeLessThanOrEqual(20);
        const root = e.insight.rootCauseCandidates[0]!.service.name;
        for (const id of ids) expect(touched.get(id), `${id} on ${root}`).toContain(root);
        expect(e.insight.traceFilter?.filterExpression).toContain(JSON.stringify(root));
      }
    });
  }
});
