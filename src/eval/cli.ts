import { writeFileSync } from 'node:fs';
import cliProgress from 'cli-progress';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { createLogger } from '../obs/log.js';
import { resolveRedisForBatch } from '../redis/resolve.js';
import { interruptible } from '../util/interrupt.js';
import { AppError } from '../util/errors.js';
import { findCases } from './cases.js';
import { readLabels } from './labels.js';
import { evalJson, formatEval } from './report.js';
import { runEval, type EvalCase } from './run.js';
import { configuredTarget } from '../redis/target.js';

/**
 * Defaults measured on the 2-core machine with the Nezha dev set (15 cases, 476k documents) while other
 * work shared the cores (load 3–5): two cases at once, each aggregating in this process, 38 s; one at a
 * time 43 s; three or four at once 47 s. Worker processes cost more than they give back here (2 jobs ×
 * 1 worker 57 s, 1 × 1 65 s, 1 × 2 108 s). Under heavier load one and two cases at once were within the
 * noise of each other. Every setting gave the same table: replay is deterministic.
 */
export const EVAL_DEFAULTS = Object.freeze({ jobs: 2, workers: 0 });

export interface EvalCliOptions {
  config?: string;
  json?: string;
  /** as typed: checked here, so a bad value exits 2 with one line */
  jobs?: string;
  workers?: string;
}

function count(name: string, v: string | undefined, fallback: number, min: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (v.trim() === '' || !Number.isInteger(n) || n < min) throw new AppError('eval_args', `eval: --${name} must be an integer ≥ ${min}, got "${v}"`);
  return n;
}

/** `trace-insights eval DIR...`: the composition root of an evaluation. Returns the exit code. */
export async function evalCli(dirs: string[], o: EvalCliOptions): Promise<number> {
  let cfg: Config;
  let cases: EvalCase[];
  let jobs: number;
  let workers: number;
  try {
    cfg = loadConfig({ file: o.config, env: process.env, overrides: { logLevel: process.env.LOG_LEVEL ?? 'warn' } });
    jobs = count('jobs', o.jobs, EVAL_DEFAULTS.jobs, 1);
    workers = count('workers', o.workers, EVAL_DEFAULTS.workers, 0);
    const found = findCases(dirs);
    if (!found.length) throw new AppError('eval_args', `eval: no case folder (labels.json with segments.ndjson[.gz]) under ${dirs.join(', ')}`);
    // every labels file is checked before the first replay: a typo should not cost a long run
    cases = found.map((c) => ({ ...c, parsedLabels: readLabels(c.labels) }));
  } catch (err) {
    console.error(err instanceof AppError ? err.message : `eval: ${(err as Error).message}`);
    return 2;
  }
  const log = createLogger(cfg.logLevel);
  const redis = await resolveRedisForBatch(configuredTarget(cfg));
  if (typeof redis === 'number') return redis;
  const tty = Boolean(process.stderr.isTTY);
  const bar = tty
    ? new cliProgress.SingleBar({ format: 'eval |{bar}| {value}/{total} cases | {documents} documents | {duration_formatted} | {running}', stream: process.stderr, hideCursor: true }, cliProgress.Presets.shades_classic)
    : undefined;
  bar?.start(cases.length, 0, { documents: 0, running: '' });
  // Ctrl-C / SIGTERM: stop the replays, drop their namespaces, exit 130; a second one exits at once.
  const abort = interruptible('eval', () => bar?.stop());
  try {
    const r = await runEval({
      cases,
      cfg,
      redisUrl: redis.url,
      log,
      jobs,
      workerProcesses: workers,
      signal: abort.signal,
      onProgress: (p) => bar?.update(p.done, { documents: p.documents, running: p.running.join(' ') }),
      onCase: (c, done) => {
        if (tty) return;
        const t = c.score.tally;
        console.error(`eval: [${done}/${cases.length}] ${c.name}: ${c.replay.documents} documents in ${c.replay.seconds} s; detected ${t.detected}/${t.incidents}, ${t.insights} insight${t.insights === 1 ? '' : 's'}, ${t.falsePositives} false positive${t.falsePositives === 1 ? '' : 's'}`);
      },
    });
    bar?.stop();
    console.log(formatEval(r));
    if (o.json) writeFileSync(o.json, JSON.stringify(evalJson(r), null, 2) + '\n');
    return 0;
  } catch (err) {
    bar?.stop();
    if (abort.signal.aborted) return 130;
    console.error(`eval failed: ${(err as Error).message}`);
    return 1;
  } finally {
    abort.release();
    await redis.stop();
  }
}
