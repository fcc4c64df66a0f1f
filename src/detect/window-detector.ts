import type { AggregateReader, Graph } from '../aggregate/read.js';
import { CLIENT_TYPE } from '../aggregate/graph-ids.js';
import { emptyStats, type Stats } from '../aggregate/stats.js';
import { learnBaseline, type Baseline } from './baseline.js';
import { judgeNode } from './detect.js';
import type { DetectOptions } from './options.js';
import type { GraphCache } from './graph-cache.js';
import { findRootCauses, type AnomalousNode, type Group } from './root-cause.js';

const DAY = 86400;

export interface WindowAnalysis {
  window: number;
  graph: Graph;
  anomalous: AnomalousNode[];
  groups: Group[];
  /** nodes with too little history to judge */
  coldStart: string[];
}

/**
 * Judges a closed window: each node's stats against a baseline learned from its history (the previous
 * `historyWindows` windows, or the same time on previous days once `minSeasonalDays` of them exist),
 * then groups the anomalies by root cause. Window graphs come from a cache that re-reads a window
 * closed again since (late data), whichever process closed it.
 */
export class WindowDetector {
  constructor(
    private readonly reader: AggregateReader,
    private readonly opts: DetectOptions,
    private readonly cache: GraphCache,
  ) {}

  async analyze(w: number): Promise<WindowAnalysis> {
    const W = this.reader.windowSeconds;
    const recent = Array.from({ length: this.opts.historyWindows }, (_, i) => w - (i + 1) * W);
    const daily: number[] = [];
    for (let d = 1; d <= 7; d++) for (let k = -2; k <= 2; k++) daily.push(w - d * DAY + k * W);
    const graphs = await this.cache.get([w, ...recent, ...daily]);
    const g = graphs.get(w)!;
    const statsIn = (s: number, id: string): Stats => graphs.get(s)?.nodes.get(id)?.stats ?? emptyStats();

    const anomalous: AnomalousNode[] = [];
    const coldStart: string[] = [];
    for (const [id, node] of g.nodes) {
      if (node.ref.type === CLIENT_TYPE || node.stats.count === 0) continue;
      let baseline: Baseline = learnBaseline(recent.map((s) => statsIn(s, id)));
      const days = new Set<number>();
      for (const s of daily) if (statsIn(s, id).count > 0) days.add(Math.round((w - s) / DAY));
      if (days.size >= this.opts.minSeasonalDays) baseline = learnBaseline(daily.map((s) => statsIn(s, id)), 'daily');
      const verdict = judgeNode(node.stats, baseline, this.opts);
      if (verdict.coldStart) coldStart.push(id);
      if (verdict.anomalies.length) anomalous.push({ id, node, evidence: verdict.anomalies, baseline });
    }
    anomalous.sort((a, b) => (a.id < b.id ? -1 : 1));
    return { window: w, graph: g, anomalous, groups: findRootCauses(g, anomalous), coldStart: coldStart.sort() };
  }
}
