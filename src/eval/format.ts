import { MATCH_AFTER_WINDOWS, MATCH_BEFORE_WINDOWS, OPEN_LIMIT_WINDOWS, type CaseScore, type IncidentResult, type KindTally, type Tally } from './score.js';

/** How the tables write a value; the integration test reads them back with the same rules. */
export const fmt = {
  /** rates: three decimals */
  rate: (x: number | null) => (x === null ? '—' : x.toFixed(3)),
  /** per hour: two decimals */
  perHour: (x: number | null) => (x === null ? '—' : x.toFixed(2)),
  /** seconds: whole unless fractional, then one decimal */
  seconds: (x: number | null) => (x === null ? '—' : Number.isInteger(x) ? String(x) : x.toFixed(1)),
};

/** Columns padded to their widest cell; the first `left` columns (or those flagged) left-aligned, the others right-aligned. */
export function columns(header: readonly string[], rows: ReadonlyArray<readonly string[]>, left: number | readonly boolean[] = 1): string[] {
  const all = [header, ...rows];
  const widths = header.map((_, c) => Math.max(...all.map((r) => (r[c] ?? '').length)));
  const isLeft = (c: number) => (typeof left === 'number' ? c < left : left[c] === true);
  return all.map((r) =>
    r
      .map((cell, c) => (isLeft(c) ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!)))
      .join('  ')
      .trimEnd(),
  );
}

const TALLY_HEADER = ['incidents', 'detected', 'recall', 'insights', 'FPs', 'precision', 'FP/h', 'delay_p50_s', 'delay_p90_s', 'AC@1', 'AC@3'];

function tallyCells(t: Tally, insightColumns = true): string[] {
  const i = (s: string) => (insightColumns ? s : '—');
  return [
    String(t.incidents),
    String(t.detected),
    fmt.rate(t.recall),
    i(String(t.insights)),
    i(String(t.falsePositives)),
    i(fmt.rate(t.precision)),
    i(fmt.perHour(t.falsePositivesPerHour)),
    fmt.seconds(t.medianDelaySeconds),
    fmt.seconds(t.p90DelaySeconds),
    fmt.rate(t.ac1),
    fmt.rate(t.ac3),
  ];
}

/** The pooled row (`all`), then one row per incident kind. */
export function formatTallies(pooled: Tally, perKind: Record<string, KindTally>): string[] {
  const rows = [['all', ...tallyCells(pooled)], ...Object.entries(perKind).map(([kind, t]) => [kind, ...tallyCells(t, t.cases > 0)])];
  return columns(['scope', ...TALLY_HEADER], rows);
}

const yesNo = (b: boolean) => (b ? 'yes' : 'no');
const hit = (b: boolean) => (b ? 'hit' : 'miss');
const ofN = (k: number, n: number) => `${k}/${n}`;

function incidentCells(p: IncidentResult): string[] {
  return [p.kind, yesNo(p.detected), fmt.seconds(p.delaySeconds), p.named ?? '—', hit(p.ac1), hit(p.ac3)];
}

/** One line per case; a case with several incidents to detect gets a summary line and one indented line per incident. */
export function formatCases(cases: ReadonlyArray<{ name: string; score: CaseScore }>): string[] {
  const rows: string[][] = [];
  for (const { name, score } of cases) {
    const scored = score.incidents.filter((i) => i.expect === 'detect');
    const t = score.tally;
    const tail = [String(t.insights), String(t.falsePositives)];
    if (scored.length === 1) {
      rows.push([name, ...incidentCells(scored[0]!), ...tail]);
      continue;
    }
    const kinds = [...new Set(scored.map((i) => i.kind))].join('+') || '—';
    rows.push([name, kinds, ofN(t.detected, t.incidents), fmt.seconds(t.medianDelaySeconds), '—', ofN(t.ac1Hits, t.incidents), ofN(t.ac3Hits, t.incidents), ...tail]);
    for (const p of scored) rows.push([`  ${p.id}`, ...incidentCells(p), '', '']);
  }
  return columns(['case', 'kind', 'detected', 'delay_s', 'named', 'AC@1', 'AC@3', 'insights', 'FPs'], rows, [true, true, false, false, true]);
}

/** The scoring rules in one line, with W's value filled in. */
export function rulesLine(windowSeconds: number): string {
  const W = windowSeconds;
  return `match: insight startTime in [start − ${MATCH_BEFORE_WINDOWS * W} s, end + ${MATCH_AFTER_WINDOWS * W} s], opened by end + ${OPEN_LIMIT_WINDOWS * W} s; AC@k from its candidates at end + ${OPEN_LIMIT_WINDOWS * W} s (W = ${W} s)`;
}

/** A single replay's score as `replay --labels` prints it: the figures, then one line per incident. */
export function formatCaseScore(s: CaseScore, windowSeconds: number): string {
  const t = s.tally;
  const delay =
    t.medianDelaySeconds === null ? 'n/a' : `median ${fmt.seconds(t.medianDelaySeconds)} s (${fmt.seconds(Math.round((t.medianDelaySeconds / windowSeconds) * 10) / 10)} windows), p90 ${fmt.seconds(t.p90DelaySeconds)} s`;
  const lines = [
    `incidents detected   ${t.detected}/${t.incidents} (recall ${fmt.rate(t.recall)})`,
    `insights             ${t.insights} (false positives ${t.falsePositives}, ${fmt.perHour(t.falsePositivesPerHour)}/h over ${fmt.perHour(t.hours)} h; precision ${fmt.rate(t.precision)})`,
    `delay                ${delay}`,
    `root cause AC@1      ${fmt.rate(t.ac1)} (${ofN(t.ac1Hits, t.incidents)})`,
    `root cause AC@3      ${fmt.rate(t.ac3)} (${ofN(t.ac3Hits, t.incidents)})`,
  ];
  for (const p of s.incidents) {
    const what = !p.detected
      ? p.expect === 'ignore'
        ? 'not raised (ignored)'
        : 'MISSED'
      : `detected after ${fmt.seconds(p.delaySeconds)} s, named ${p.named ?? 'nothing'}${p.expect === 'ignore' ? ' (ignored)' : p.ac1 ? '' : p.ac3 ? ` (right one at rank ${p.rank})` : ' (wrong)'}`;
    lines.push(`  ${p.id.padEnd(24)} ${p.kind.padEnd(9)} ${what}`);
  }
  for (const i of s.insights.filter((x) => x.falsePositive)) lines.push(`  false positive: insight ${i.id} from ${new Date(i.startTime * 1000).toISOString()}, named ${i.rootCause ?? 'nothing'}`);
  lines.push(rulesLine(windowSeconds));
  return lines.join('\n');
}
