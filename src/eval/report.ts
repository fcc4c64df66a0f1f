import { formatCases, formatTallies, rulesLine } from './format.js';
import type { EvalResult } from './run.js';

/** The tables `eval` prints: pooled and per kind, then per case, then the wall time. */
export function formatEval(r: EvalResult): string {
  const kinds = Object.keys(r.perKind).length;
  return [
    `${r.cases.length} cases, ${r.documents} documents, ${kinds} incident kind${kinds === 1 ? '' : 's'}; ${rulesLine(r.windowSeconds)}`,
    '',
    ...formatTallies(r.pooled, r.perKind),
    '',
    ...formatCases(r.cases.map((c) => ({ name: c.name, score: c.score }))),
    '',
    `wall time ${r.seconds.toFixed(1)} s (--jobs ${r.jobs}, --workers ${r.workerProcesses})`,
  ].join('\n');
}

/** Everything as JSON: the pooled and per-kind tallies, and per case its replay, tally, incidents and insights. */
export function evalJson(r: EvalResult): unknown {
  return {
    windowSeconds: r.windowSeconds,
    jobs: r.jobs,
    workerProcesses: r.workerProcesses,
    seconds: Math.round(r.seconds * 100) / 100,
    documents: r.documents,
    pooled: r.pooled,
    perKind: r.perKind,
    cases: r.cases.map((c) => ({
      case: c.name,
      dir: c.dir,
      replay: {
        documents: c.replay.documents,
        accepted: c.replay.accepted,
        refused: c.replay.rejections.length,
        windowsClosed: c.replay.windowsClosed,
        events: c.replay.events,
        seconds: c.replay.seconds,
      },
      ...c.score,
    })),
  };
}
