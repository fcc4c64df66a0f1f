import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { evalCli } from '../../src/eval/cli.js';
import { fmt } from '../../src/eval/format.js';
import { parseLabels } from '../../src/eval/labels.js';
import { poolScores, scoreCase, type CaseScore, type Tally } from '../../src/eval/score.js';
import type { InsightEvent } from '../../src/insights/model.js';
import { replay } from '../../src/replay/replay.js';
import { simulate } from '../../src/sim/simulate.js';
import { writeSimulation } from '../../src/sim/write.js';
import { dropPrefixAndReplays, redisUrl, testRedis, uniquePrefix } from '../helpers/redis.js';

/**
 * `eval` end to end on two small simulated cases (a short shop run with two incidents of different
 * kinds, and a half-hour control run with none, in a nested folder): the printed table, the JSON, and
 * the scorer applied directly to a plain replay of each file must all say the same.
 */

const dir = mkdtempSync(join(tmpdir(), 'ti-eval-'));
const sets = join(dir, 'sets');
const prefix = uniquePrefix('eval');
const redis = testRedis();
const cfg = loadConfig({ overrides: { logLevel: 'silent', keyPrefix: prefix, redisUrl } });
const configFile = join(dir, 'config.json');
const cases = {
  // the first two incidents (payment API faults, DynamoDB latency) after the 65-minute warm-up
  shop: { scenario: 'shop', opts: { hours: 1.8, rate: 5 }, dir: join(sets, 'shop') },
  ctl: { scenario: 'control', opts: { hours: 0.5, rate: 5 }, dir: join(sets, 'nested', 'ctl') },
};
const labels: Record<string, unknown> = {};

/** Runs evalCli in this process and returns its exit code and what it printed. */
async function runCli(dirs: string[], o: Parameters<typeof evalCli>[1]) {
  const out: string[] = [];
  const err: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  const error = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
  try {
    const code = await evalCli(dirs, o);
    return { code, stdout: out.join('\n'), stderr: err.join('\n') };
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
}

/** The rows of the table that starts with `header`: first cell → the other cells. */
function tableRows(text: string, header: string): Map<string, string[]> {
  const lines = text.split('\n');
  const at = lines.findIndex((l) => l.startsWith(header));
  expect(at, `no table "${header}" in:\n${text}`).toBeGreaterThanOrEqual(0);
  const rows = new Map<string, string[]>();
  for (const l of lines.slice(at + 1)) {
    if (!l.trim()) break;
    const [name, ...cells] = l.trim().split(/\s+/);
    rows.set(name!, cells);
  }
  return rows;
}

const tallyCells = (t: Tally, insightColumns = true) => [
  String(t.incidents),
  String(t.detected),
  fmt.rate(t.recall),
  ...(insightColumns ? [String(t.insights), String(t.falsePositives), fmt.rate(t.precision), fmt.perHour(t.falsePositivesPerHour)] : ['—', '—', '—', '—']),
  fmt.seconds(t.medianDelaySeconds),
  fmt.seconds(t.p90DelaySeconds),
  fmt.rate(t.ac1),
  fmt.rate(t.ac3),
];

beforeAll(async () => {
  for (const [name, c] of Object.entries(cases)) {
    const sim = simulate(c.scenario, c.opts);
    await writeSimulation(sim, { out: join(c.dir, 'segments.ndjson.gz'), labels: join(c.dir, 'labels.json') });
    labels[name] = sim.labels;
  }
  // a folder with no labels is no case
  mkdirSync(join(sets, 'nested', 'not-a-case'), { recursive: true });
  writeFileSync(join(sets, 'nested', 'not-a-case', 'segments.ndjson'), '');
  writeFileSync(configFile, JSON.stringify({ keyPrefix: prefix, redisUrl }));
});

afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await dropPrefixAndReplays(redis, prefix);
  redis.disconnect();
});

describe('trace-insights eval', () => {
  it('prints a table that agrees with its JSON and with scoring a plain replay of each case', async () => {
    const json = join(dir, 'eval.json');
    const r = await runCli([sets], { config: configFile, json, jobs: '2', workers: '0' });
    expect(r.code, r.stderr).toBe(0);
    console.log(r.stdout);
    const j = JSON.parse(readFileSync(json, 'utf8')) as {
      windowSeconds: number;
      documents: number;
      pooled: Tally;
      perKind: Record<string, Tally & { cases: number }>;
      cases: Array<CaseScore & { case: string; replay: { documents: number; refused: number } }>;
    };
    expect(j.cases.map((c) => c.case)).toEqual(['ctl', 'shop']);

    // the scorer applied directly to the events of a plain replay of each file
    const direct: Record<string, CaseScore> = {};
    for (const [name, c] of Object.entries(cases)) {
      const events: InsightEvent[] = [];
      await replay({ files: [join(c.dir, 'segments.ndjson.gz')], cfg, redisUrl, log: pino({ level: 'silent' }), onEvent: (e) => void events.push(e) });
      direct[name] = scoreCase(events, parseLabels(labels[name], name), cfg.windowSeconds);
    }
    for (const c of j.cases) {
      expect(c.replay.refused).toBe(0);
      expect({ tally: c.tally, incidents: c.incidents, insights: c.insights }).toEqual(direct[c.case]);
    }
    expect(j.pooled).toEqual(poolScores([direct.ctl!, direct.shop!]));
    // what the shop run is for: two incidents of two kinds, both found; the control has none to find
    expect(j.pooled.incidents).toBe(2);
    expect(j.pooled.hours).toBeCloseTo(2.3, 9);
    expect(Object.keys(j.perKind)).toEqual(['fault', 'latency']);

    // the printed tables say the same as the JSON
    const tallies = tableRows(r.stdout, 'scope ');
    expect(tallies.get('all')).toEqual(tallyCells(j.pooled));
    for (const [kind, t] of Object.entries(j.perKind)) expect(tallies.get(kind), kind).toEqual(tallyCells(t, t.cases > 0));
    const perCase = tableRows(r.stdout, 'case ');
    for (const c of j.cases.find((x) => x.case === 'shop')!.incidents) {
      expect(perCase.get(c.id)).toEqual([c.kind, c.detected ? 'yes' : 'no', fmt.seconds(c.delaySeconds), c.named ?? '—', c.ac1 ? 'hit' : 'miss', c.ac3 ? 'hit' : 'miss']);
    }
    const shop = j.cases.find((x) => x.case === 'shop')!.tally;
    expect(perCase.get('shop')).toEqual(['fault+latency', `${shop.detected}/2`, fmt.seconds(shop.medianDelaySeconds), '—', `${shop.ac1Hits}/2`, `${shop.ac3Hits}/2`, String(shop.insights), String(shop.falsePositives)]);
    expect(perCase.get('ctl')!.slice(-2)).toEqual([String(j.cases[0]!.tally.insights), String(j.cases[0]!.tally.falsePositives)]);
    expect(r.stdout).toMatch(new RegExp(`^2 cases, ${j.documents} documents`));
    expect(r.stdout).toMatch(/\nwall time \d+\.\d s \(--jobs 2, --workers 0\)$/);

    // every replay dropped its namespace
    const [, left] = await redis.scan('0', 'MATCH', `{${prefix}*`, 'COUNT', 100_000);
    expect(left).toEqual([]);
  });

  it('bad arguments and bad labels exit 2 with one line, before replaying anything', async () => {
    const bad = join(dir, 'bad', 'case-1');
    mkdirSync(bad, { recursive: true });
    writeFileSync(join(bad, 'segments.ndjson'), '');
    writeFileSync(join(bad, 'labels.json'), JSON.stringify({ start: 1, end: 2, incidents: [{ id: 'x', kind: 'fault', start: 1, end: 2, rootCause: 3 }] }));
    for (const [dirs, o, message] of [
      [[join(dir, 'nowhere')], {}, `eval: ${join(dir, 'nowhere')}: no such folder`],
      [[join(sets, 'nested', 'not-a-case')], {}, 'eval: no case folder'],
      [[sets], { jobs: '0' }, 'eval: --jobs must be an integer ≥ 1, got "0"'],
      [[sets], { workers: 'many' }, 'eval: --workers must be an integer ≥ 0, got "many"'],
      [[sets, join(dir, 'bad')], {}, `labels: ${join(bad, 'labels.json')}: incidents[0].rootCause: `],
    ] as const) {
      const r = await runCli([...dirs], { config: configFile, ...o });
      expect(r.code, message).toBe(2);
      expect(r.stderr).toContain(message);
      expect(r.stderr.split('\n')).toHaveLength(1);
      expect(r.stdout).toBe('');
    }
  });
});
