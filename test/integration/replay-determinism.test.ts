import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InsightEvent } from '../../src/insights/model.js';
import { simulate } from '../../src/sim/simulate.js';
import { writeSimulation } from '../../src/sim/write.js';
import { redisUrl, testRedis, uniquePrefix, redisEnv } from '../helpers/redis.js';

/**
 * Acceptance: two replays of the same file give byte-identical event files — also when one runs
 * with other worker processes, worker concurrency and batch size, which change the order jobs are
 * taken and applied in, but must not change what is detected or when.
 */

const bin = fileURLToPath(new URL('../../bin/trace-insights.js', import.meta.url));
const root = fileURLToPath(new URL('../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'ti-determinism-'));
const redis = testRedis();
const file = join(dir, 'shop.ndjson.gz');

interface CliRun {
  code: number | null;
  stderr: string;
  seconds: number;
}

/** `trace-insights replay --out OUT FILE` with the given settings; resolves when it exits. */
function replayCli(out: string, prefix: string, env: Record<string, string>, workers: number): Promise<CliRun> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...redisEnv(), KEY_PREFIX: prefix, LOG_LEVEL: 'warn', ...env };
  // vitest's own variables would make the child think it is a test worker
  for (const k of Object.keys(childEnv)) if (k.startsWith('VITEST')) delete childEnv[k];
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, 'replay', '--out', out, '--workers', String(workers), file], { cwd: root, env: childEnv, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (b: Buffer) => (stderr = (stderr + b.toString('utf8')).slice(-65536)));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stderr, seconds: (performance.now() - started) / 1000 }));
  });
}

async function keysUnder(prefix: string): Promise<number> {
  let n = 0;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `{${prefix}*`, 'COUNT', 2000);
    cursor = next;
    n += keys.length;
  } while (cursor !== '0');
  return n;
}

describe('replay determinism', () => {
  let incidents = 0;

  beforeAll(async () => {
    // the shop scenario: four incidents (fault, latency, throttle, fault) after its warm-up
    const sim = simulate('shop');
    await writeSimulation(sim, { out: file });
    incidents = sim.labels.incidents.length;
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
    redis.disconnect();
  });

  it('two replays of the same file, with different workers, concurrency and batch size, give byte-identical event files', async () => {
    const runs = [
      { out: join(dir, 'a.ndjson'), prefix: uniquePrefix('det-a'), env: { WORKER_CONCURRENCY: '8', BATCH_MAX_SEGMENTS: '1000' }, workers: 2 },
      { out: join(dir, 'b.ndjson'), prefix: uniquePrefix('det-b'), env: { WORKER_CONCURRENCY: '1', BATCH_MAX_SEGMENTS: '100' }, workers: 1 },
    ];
    const results: CliRun[] = [];
    // one after the other: on a small machine, two replays at once would only slow each other down
    for (const r of runs) results.push(await replayCli(r.out, r.prefix, r.env, r.workers));
    results.forEach((r, i) => {
      expect(r.code, `run ${i} exited ${r.code}:\n${r.stderr}`).toBe(0);
      console.log(`replay ${i} (${JSON.stringify(runs[i]!.env)}, --workers ${runs[i]!.workers}) in ${r.seconds.toFixed(1)} s: ${r.stderr.trim().split('\n').at(-1)}`);
    });

    const a = readFileSync(runs[0]!.out);
    const b = readFileSync(runs[1]!.out);
    expect(a.length).toBeGreaterThan(0);
    expect(a.equals(b)).toBe(true);

    const events = a
      .toString('utf8')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as InsightEvent);
    const opened = events.filter((e) => e.type === 'insight.opened');
    const closed = events.filter((e) => e.type === 'insight.closed');
    expect(opened.length).toBeGreaterThanOrEqual(incidents);
    expect(closed.length).toBe(opened.length);
    expect(new Set(closed.map((e) => e.insight.id))).toEqual(new Set(opened.map((e) => e.insight.id)));
    // events come in event-time order
    expect(events.map((e) => e.eventTime)).toEqual([...events.map((e) => e.eventTime)].sort((x, y) => x - y));

    // each replay ran in a namespace of its own and left nothing behind
    for (const r of runs) expect(await keysUnder(r.prefix)).toBe(0);
  });
});
