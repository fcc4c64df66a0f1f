import type { ServiceRef } from '../../src/insights/model.js';
import type { SeenEvent } from './insight-feed.js';

const color = Boolean(process.stdout.isTTY) && !process.env.NO_COLOR;
export const tty = {
  bold: (s: string) => (color ? `\x1b[1m${s}\x1b[22m` : s),
  dim: (s: string) => (color ? `\x1b[2m${s}\x1b[22m` : s),
};

/** `[mm:ss] text`, the time since the demo started. */
export function makeSay(t0: number): (text: string) => void {
  return (text) => {
    const s = Math.floor((Date.now() - t0) / 1000);
    console.log(`[${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}] ${text}`);
  };
}

const clock = (epochSeconds: number) => new Date(epochSeconds * 1000).toTimeString().slice(0, 8);
const ratio = (r: { faultCount: number; totalCount: number }) => `${r.faultCount} of ${r.totalCount} faulted`;

const HEADLINE: Record<SeenEvent['type'], string> = {
  'insight.opened': 'INSIGHT OPENED',
  'insight.updated': 'insight updated',
  'insight.closed': 'INSIGHT CLOSED',
};

/** The lines that tell a person what an insight event says; the first is the headline. */
export function describeEvent(e: SeenEvent, expectedRoot: ServiceRef): string[] {
  const via = e.via === 'webhook' ? 'webhook, signature verified' : 'from the X-Ray API';
  const lines = [tty.bold(`${HEADLINE[e.type]}`) + ` (${via}) ${tty.dim(e.insightId)}`, e.summary];
  if (e.type === 'insight.opened') {
    const r = e.rootCause;
    const ok = r?.name === expectedRoot.name && r.type === expectedRoot.type;
    lines.push(`root cause: ${r ? `${r.name} (${r.type || 'service'})` : 'none'}${ok ? '  ✓ the dependency that was made to fail' : `  ✗ expected ${expectedRoot.name}`}`);
    lines.push(`category: ${e.categories.join(', ')}; anomalous since ${clock(e.startTime)}; most affected: ${e.topAnomalous.join(', ')}`);
  }
  if (e.type !== 'insight.closed') lines.push(`impact so far: client requests ${ratio(e.client)}; calls to the root cause ${ratio(e.rootCauseImpact)}`);
  else lines.push(`anomalous from ${clock(e.startTime)} to ${e.endTime !== null ? clock(e.endTime) : '?'}; in all, client requests ${ratio(e.client)}`);
  return lines;
}

/** `a → b, b → c` from GetInsightImpactGraph's Services. */
export function describeImpactGraph(services: ReadonlyArray<{ ReferenceId: number; Name: string; Edges: ReadonlyArray<{ ReferenceId: number }> }>): string {
  const byRef = new Map(services.map((s) => [s.ReferenceId, s]));
  // callers before callees: start from the services nothing in the graph calls
  const called = new Set(services.flatMap((s) => s.Edges.map((e) => e.ReferenceId)));
  const queue = services.filter((s) => !called.has(s.ReferenceId));
  const visited = new Set(queue.map((s) => s.ReferenceId));
  const edges: string[] = [];
  for (let i = 0; i < queue.length; i++) {
    const s = queue[i]!;
    for (const e of s.Edges) {
      const to = byRef.get(e.ReferenceId);
      if (!to) continue;
      edges.push(`${s.Name} → ${to.Name}`);
      if (!visited.has(to.ReferenceId)) {
        visited.add(to.ReferenceId);
        queue.push(to);
      }
    }
  }
  return edges.length ? edges.join(', ') : services.map((s) => s.Name).join(', ') || '(empty)';
}
