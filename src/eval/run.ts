import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { InsightEvent } from '../insights/model.js';
import { replay, type ReplayResult } from '../replay/replay.js';
import type { CaseFolder } from './cases.js';
import type { CaseLabels } from './labels.js';
import { poolScores, scoreCase, scoresByKind, type CaseScore, type KindTally, type Tally } from './score.js';

/** A case folder with its labels read and validated. */
export interface EvalCase extends CaseFolder {
  parsedLabels: CaseLabels;
}

export interface EvalOptions {
  cases: readonly EvalCase[];
  cfg: Config;
  redisUrl: string;
  log: Logger;
  /** cases replayed at once @defaultValue 2 */
  jobs?: number;
  /** worker processes of each replay; 0 aggregates in this process @defaultValue 0 */
  workerProcesses?: number;
  /** stops the evaluation: running replays stop and drop their namespaces, and it throws */
  signal?: AbortSignal;
  onProgress?: (p: EvalProgress) => void;
  /** called as each case finishes, in finishing order */
  onCase?: (c: CaseRun, done: number) => void;
}

export interface EvalProgress {
  done: number;
  total: number;
  /** documents read so far, over all cases */
  documents: number;
  /** the cases being replayed */
  running: string[];
}

/** One case: its replay and its score. */
export interface CaseRun {
  name: string;
  dir: string;
  replay: ReplayResult;
  score: CaseScore;
}

export interface EvalResult {
  windowSeconds: number;
  jobs: number;
  workerProcesses: number;
  /** in the order of `cases`, whatever order they finished in */
  cases: CaseRun[];
  pooled: Tally;
  perKind: Record<string, KindTally>;
  documents: number;
  /** wall time of the whole evaluation */
  seconds: number;
}

/**
 * Replays every case through `replay()` (each in a namespace of its own, so cases running at once cannot
 * see each other) and scores it with {@link scoreCase}. Replay is deterministic, so neither `jobs` nor
 * `workerProcesses` changes the scores, only the wall time. The first failing case stops the others.
 */
export async function runEval(o: EvalOptions): Promise<EvalResult> {
  const started = performance.now();
  const jobs = Math.max(1, Math.min(o.jobs ?? 2, o.cases.length || 1));
  const workerProcesses = o.workerProcesses ?? 0;
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  o.signal?.addEventListener('abort', onAbort);
  const runs: Array<CaseRun | undefined> = new Array(o.cases.length);
  const read = new Map<string, number>();
  let finishedDocuments = 0;
  let done = 0;
  const progress = () =>
    o.onProgress?.({ done, total: o.cases.length, documents: finishedDocuments + [...read.values()].reduce((a, b) => a + b, 0), running: [...read.keys()] });

  const one = async (c: EvalCase): Promise<CaseRun> => {
    const events: InsightEvent[] = [];
    read.set(c.name, 0);
    progress();
    try {
      const r = await replay({
        files: [c.segments],
        cfg: o.cfg,
        redisUrl: o.redisUrl,
        log: o.log,
        workerProcesses,
        signal: stop.signal,
        onEvent: (e) => void events.push(e),
        onProgress: (p) => {
          read.set(c.name, p.documents);
          progress();
        },
      });
      finishedDocuments += r.documents;
      return { name: c.name, dir: c.dir, replay: r, score: scoreCase(events, c.parsedLabels, o.cfg.windowSeconds) };
    } catch (err) {
      throw new Error(`${c.name}: ${(err as Error).message}`, { cause: err });
    } finally {
      read.delete(c.name);
    }
  };

  let next = 0;
  const lane = async () => {
    while (next < o.cases.length && !stop.signal.aborted) {
      const i = next++;
      const run = await one(o.cases[i]!);
      runs[i] = run;
      done++;
      o.onCase?.(run, done);
      progress();
    }
  };
  // the first failure stops the other lanes' replays (their "interrupted" is not the news), then is thrown
  let failure: { err: unknown } | undefined;
  try {
    await Promise.all(
      Array.from({ length: jobs }, () =>
        lane().catch((err: unknown) => {
          failure ??= { err };
          stop.abort();
        }),
      ),
    );
  } finally {
    o.signal?.removeEventListener('abort', onAbort);
  }
  if (o.signal?.aborted) throw new Error('interrupted');
  if (failure) throw failure.err;
  const cases = runs as CaseRun[];
  const scores = cases.map((c) => c.score);
  return {
    windowSeconds: o.cfg.windowSeconds,
    jobs,
    workerProcesses,
    cases,
    pooled: poolScores(scores),
    perKind: scoresByKind(scores),
    documents: cases.reduce((n, c) => n + c.replay.documents, 0),
    seconds: (performance.now() - started) / 1000,
  };
}
