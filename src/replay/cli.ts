import { createWriteStream, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { availableParallelism } from 'node:os';
import cliProgress from 'cli-progress';
import { loadConfig } from '../config/load.js';
import { resolveRedisForBatch } from '../redis/resolve.js';
import { interruptible } from '../util/interrupt.js';
import { createLogger } from '../obs/log.js';
import { AppError } from '../util/errors.js';
import { replay } from './replay.js';
import { readLabels, type CaseLabels } from '../eval/labels.js';
import { scoreCase } from '../eval/score.js';
import { formatCaseScore } from '../eval/format.js';
import { markdownReport } from './report.js';
import type { InsightEvent } from '../insights/model.js';
import { configuredTarget } from '../redis/target.js';

export interface ReplayCliOptions {
  config?: string;
  out?: string;
  report?: string;
  labels?: string;
  keep?: boolean;
  /** worker processes (default: one per core, at most 4) */
  workers?: number;
}

/** `trace-insights replay`: the composition root of a replay run. Returns the exit code. */
export async function replayCli(files: string[], o: ReplayCliOptions): Promise<number> {
  let cfg;
  let labels: CaseLabels | undefined;
  try {
    cfg = loadConfig({ file: o.config, env: process.env, overrides: { logLevel: process.env.LOG_LEVEL ?? 'warn' } });
    if (o.labels) labels = readLabels(o.labels);
  } catch (err) {
    console.error(err instanceof AppError ? err.message : `replay: ${(err as Error).message}`);
    return 2;
  }
  const log = createLogger(cfg.logLevel);
  const redis = await resolveRedisForBatch(configuredTarget(cfg));
  if (typeof redis === 'number') return redis;
  const out = o.out ? createWriteStream(o.out) : process.stdout;
  const events: InsightEvent[] = [];
  const tty = Boolean(process.stderr.isTTY);
  const bar = tty ? new cliProgress.SingleBar({ format: 'replay | {documents} documents | event time {time} | {insights} insights', stream: process.stderr, hideCursor: true }, cliProgress.Presets.shades_classic) : undefined;
  bar?.start(1, 0, { documents: 0, time: '—', insights: 0 });
  // Ctrl-C / SIGTERM: stop reading, stop the workers, drop the namespace, exit 130; a second one exits at once.
  const abort = interruptible('replay');
  try {
    const r = await replay({
      signal: abort.signal,
      files,
      cfg,
      redisUrl: redis.url,
      log,
      keep: o.keep,
      workerProcesses: o.workers ?? Math.max(1, Math.min(availableParallelism(), 4)),
      onEvent: async (e) => {
        events.push(e);
        if (!out.write(JSON.stringify(e) + '\n')) await once(out, 'drain');
      },
      onProgress: (p) => bar?.update(0, { documents: p.documents, time: p.eventTime ? new Date(p.eventTime * 1000).toISOString() : '—', insights: p.insights }),
    });
    bar?.stop();
    if (o.out) await new Promise<void>((resolve) => (out as ReturnType<typeof createWriteStream>).end(resolve));
    const s = labels ? scoreCase(events, labels, cfg.windowSeconds) : undefined;
    const rate = r.seconds ? Math.round(r.accepted / r.seconds) : 0;
    console.error(`replay: ${r.documents} documents (${r.rejections.length} refused), ${r.windowsClosed} windows, ${r.events} insight events in ${r.seconds} s (${rate} segments/s)`);
    if (s) console.error(formatCaseScore(s, cfg.windowSeconds));
    if (o.report) writeFileSync(o.report, markdownReport(files, r, events, s && { score: s, windowSeconds: cfg.windowSeconds }));
    return 0;
  } catch (err) {
    bar?.stop();
    if (abort.signal.aborted) return 130;
    console.error(`replay failed: ${(err as Error).message}`);
    return 1;
  } finally {
    abort.release();
    await redis.stop();
  }
}
