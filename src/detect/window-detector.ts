import type { AggregateReader, Graph } from '../aggregate/read.js';
import { CLIENT_TYPE } from '../aggregate/graph-ids.js';
import { emptyStats, type Stats } from '../aggregate/stats.js';
import { judgeCalls, judgeRate, judgeShift, judgeStratifiedCalls, judgeStratifiedShift, type Evidence } from './detect.js';
import type { DetectOptions } from './options.js';
import type { GraphCache } from './graph-cache.js';
import { callsByOperation, histogramsByOperation, judgeOperationCalls, judgeOperationLatency, servesOperations } from './operations.js';
import { findRootCauses, type AnomalousEdge, type AnomalousNode, type Group } from './root-cause.js';

const DAY = 86400;

export interface WindowAnalysis {
  window: number;
  graph: Graph;
  anomalous: AnomalousNode[];
  anomalousEdges: AnomalousEdge[];
  groups: Group[];
  /** nodes with too little history to judge */
  coldStart: string[];
}

const histogramTotal = (h: Map<string, number>) => {
  let n = 0;
  for (const c of h.values()) n += c;
  return n;
};

/**
 * Judges a closed window: every node and every call edge against its own history (the previous
 * `historyWindows` windows, or the same time on previous days once `minSeasonalDays` of them exist),
 * where the time is added (a node's own time, the gap on each call, the response time both ways), what
 * requests do (calls per request on each edge) and how they end (fault and throttle rates); then groups
 * the anomalies and ranks root causes. Window graphs come from a cache that re-reads a window closed
 * again since (late data), whichever process closed it.
 */
export class WindowDetector {
  constructor(
    private readonly reader: AggregateReader,
    private readonly opts: DetectOptions,
    private readonly cache: GraphCache,
  ) {}

  async analyze(w: number): Promise<WindowAnalysis> {
    const o = this.opts;
    const W = this.reader.windowSeconds;
    const recent = Array.from({ length: o.historyWindows }, (_, i) => w - (i + 1) * W);
    const daily: number[] = [];
    for (let d = 1; d <= 7; d++) for (let k = -2; k <= 2; k++) daily.push(w - d * DAY + k * W);
    const graphs = await this.cache.get([w, ...recent, ...daily]);
    const g = graphs.get(w)!;
    const nodeIn = (s: number, id: string): Stats => graphs.get(s)?.nodes.get(id)?.stats ?? emptyStats();
    const edgeIn = (s: number, key: string): Stats => graphs.get(s)?.edges.get(key)?.stats ?? emptyStats();

    // which history a node (and the calls it makes) is judged against
    const historyOf = new Map<string, { windows: number[]; source: Evidence['baselineSource'] }>();
    const history = (id: string) => {
      let h = historyOf.get(id);
      if (!h) {
        const days = new Set<number>();
        for (const s of daily) if (nodeIn(s, id).count > 0) days.add(Math.round((w - s) / DAY));
        h = days.size >= o.minSeasonalDays ? { windows: daily, source: 'daily' } : { windows: recent, source: 'recent' };
        historyOf.set(id, h);
      }
      return h;
    };

    const anomalous: AnomalousNode[] = [];
    const coldStart: string[] = [];
    for (const [id, node] of g.nodes) {
      if (node.ref.type === CLIENT_TYPE || node.stats.count === 0) continue;
      const { windows, source } = history(id);
      const past = windows.map((s) => nodeIn(s, id)).filter((s) => s.count > 0);
      if (past.length < o.minHistoryWindows) {
        coldStart.push(id);
        continue;
      }
      const st = node.stats;
      const byOperation = !node.inferred && servesOperations(st, past);
      const latency = (direction: 'up' | 'down') =>
        byOperation
          ? judgeStratifiedShift(direction, histogramsByOperation(st), past.map(histogramsByOperation), source, o)
          : judgeShift('latencyMs', direction, st.histogram, past.map((s) => s.histogram), source, o);
      const evidence = [
        judgeRate('FAULT', { k: st.fault, n: st.count, late: { k: st.lateFault, n: st.lateCount } }, past.map((s) => ({ k: s.fault, n: s.count })), source, o),
        judgeRate('THROTTLE', { k: st.throttle, n: st.count, late: { k: st.lateThrottle, n: st.lateCount } }, past.map((s) => ({ k: s.throttle, n: s.count })), source, o),
        latency('up'),
        node.inferred ? undefined : latency('down'),
        node.inferred || !histogramTotal(st.ownHistogram) ? undefined : judgeShift('ownTimeMs', 'up', st.ownHistogram, past.map((s) => s.ownHistogram), source, o),
        ...(byOperation ? judgeOperationLatency(st, past, source, o) : []),
      ].filter((e): e is Evidence => e !== undefined);
      if (evidence.length) anomalous.push({ id, node, evidence });
    }

    const cold = new Set(coldStart);
    const anomalousEdges: AnomalousEdge[] = [];
    const testedGapEdges = new Set<string>();
    for (const [key, edge] of g.edges) {
      const caller = g.nodes.get(edge.from);
      if (!caller || caller.ref.type === CLIENT_TYPE || caller.stats.count === 0 || cold.has(edge.from)) continue;
      const { windows, source } = history(edge.from);
      const evidence: Evidence[] = [];
      if (histogramTotal(edge.stats.gapHistogram) >= o.minLatencySamples) {
        testedGapEdges.add(key);
        const past = windows.map((s) => edgeIn(s, key).gapHistogram).filter((h) => h.size > 0);
        if (past.length >= o.minHistoryWindows) {
          const e = judgeShift('gapMs', 'up', edge.stats.gapHistogram, past, source, o);
          if (e) evidence.push(e);
        }
      }
      const calls = windows.map((s) => ({ k: edgeIn(s, key).count, n: nodeIn(s, edge.from).count })).filter((c) => c.n > 0);
      if (calls.length >= o.minHistoryWindows) {
        const byOperation = servesOperations(caller.stats, windows.map((s) => nodeIn(s, edge.from)));
        const e = byOperation
          ? judgeStratifiedCalls(callsByOperation(edge.stats, caller.stats), windows.map((s) => callsByOperation(edgeIn(s, key), nodeIn(s, edge.from))), source, o)
          : judgeCalls({ k: edge.stats.count, n: caller.stats.count }, calls, source, o);
        if (e) evidence.push(e);
        if (byOperation) evidence.push(...judgeOperationCalls(edge.stats, caller.stats, windows.map((s) => ({ edge: edgeIn(s, key), caller: nodeIn(s, edge.from) })), source, o));
      }
      if (evidence.length) anomalousEdges.push({ id: key, from: edge.from, to: edge.to, evidence });
    }

    anomalous.sort((a, b) => (a.id < b.id ? -1 : 1));
    anomalousEdges.sort((a, b) => (a.id < b.id ? -1 : 1));
    const groups = findRootCauses(g, anomalous, anomalousEdges, testedGapEdges);
    return { window: w, graph: g, anomalous, anomalousEdges, groups, coldStart: coldStart.sort() };
  }
}
