import type { Insight, InsightEvent } from '../insights/model.js';
import type { ReplayResult } from './replay.js';
import { formatCaseScore } from '../eval/format.js';
import type { CaseScore } from '../eval/score.js';

const iso = (t: number | null) => (t === null ? '—' : new Date(t * 1000).toISOString().replace('.000Z', 'Z'));

/** A Markdown report of a replay: what was read, every insight with its root cause, and the score. */
export function markdownReport(files: readonly string[], r: ReplayResult, events: readonly InsightEvent[], scored?: { score: CaseScore; windowSeconds: number }): string {
  const latest = new Map<string, Insight>();
  for (const e of events) latest.set(e.insight.id, e.insight);
  const lines = [
    '# trace-insights replay',
    '',
    `Files: ${files.join(', ')}`,
    '',
    `Documents read: ${r.documents} (accepted ${r.accepted}, refused ${r.rejections.length}); windows closed: ${r.windowsClosed}; insight events: ${r.events}; ${r.seconds} s.`,
    '',
    '## Insights',
    '',
    '| start | end | state | categories | root cause (score) | summary |',
    '|---|---|---|---|---|---|',
  ];
  for (const i of [...latest.values()].sort((a, b) => a.startTime - b.startTime || (a.id < b.id ? -1 : 1))) {
    const rc = i.rootCauseCandidates[0];
    lines.push(`| ${iso(i.startTime)} | ${iso(i.endTime)} | ${i.state} | ${i.categories.join(', ')} | ${rc ? `${rc.service.name} (${rc.score})` : '—'} | ${i.summary.replace(/\|/g, '\\|')} |`);
  }
  if (!latest.size) lines.push('| — | — | — | — | — | no insight |');
  if (scored) lines.push('', '## Score against the labels', '', '```', formatCaseScore(scored.score, scored.windowSeconds), '```');
  if (r.rejections.length) {
    lines.push('', '## Refused documents (first 20)', '');
    for (const x of r.rejections.slice(0, 20)) lines.push(`- ${x.source}: ${x.code}: ${x.message}`);
  }
  return lines.join('\n') + '\n';
}
