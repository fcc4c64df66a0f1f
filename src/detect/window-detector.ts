import type { AggregateReader, Graph } from '../aggregate/read.js';
import { buildGraph } from '../aggregate/read.js';
import { CLIENT_TYPE } from '../aggregate/graph-ids.js';
import { emptyStats, type Stats } from '../aggregate/stats.js';
import { learnBaseline, type Baseline } from './baseline.js';
import { judgeNode } from './detect.js';
import type { DetectOptions } from './options.js';
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
 * then groups the anomalies by root cause. Window graphs are cached: closed windows do not change.
 */
export class WindowDetector {
  private cache = new Map<number, Graph>();

  constructor(
    private readonly reader: AggregateReader,
    private readonly opts: DetectOptions,
  ) {}

  private async graphs(starts: number[]): Promise<Map<number, Graph>> {
    const W = this.reader.windowSeconds;
    const missing = starts.filter((s) => !this.cache.has(s)).sort((a, b) => a - b);
    // read contiguous runs in one range each
    let i = 0;
    while (i < missing.length) {
      let j = i;
      while (j + 1 < missing.length && missing[j + 1]! - missing[j]! === W) j++;
      const { windows, evidence } = await this.reader.readRange(missing[i]!, missing[j]! + W);
      for (let s = missing[i]!; s <= missing[j]!; s += W) {
        const data = windows.find((x) => x.start === s);
        this.cache.set(s, buildGraph(data ? [data] : [], evidence));
      }
      i = j + 1;
    }
    const out = new Map<number, Graph>();
    for (const s of starts) out.set(s, this.cache.get(s)!);
    return out;
  }

  /** Forget cached windows older than needed for history (and all, when a window is re-read after late data). */
  private trim(w: number): void {
    const W = this.reader.windowSeconds;
    const oldestRecent = w - (this.opts.historyWindows + 2) * W;
    for (const s of this.cache.keys()) {
      const recent = s >= oldestRecent;
      const daily = w - s <= 7 * DAY + 3 * W && ((w - s) % DAY <= 2 * W || DAY - ((w - s) % DAY) <= 2 * W);
      if (!recent && !daily) this.cache.delete(s);
    }
  }

  async analyze(w: number): Promise<WindowAnalysis> {
    const W = this.reader.windowSeconds;
    this.cache.delete(w); // the window itself may have changed since it was last read (late data)
    const recent = Array.from({ length: this.opts.historyWindows }, (_, i) => w - (i + 1) * W);
    const daily: number[] = [];
    for (let d = 1; d <= 7; d++) for (let k = -2; k <= 2; k++) daily.push(w - d * DAY + k * W);
    const graphs = await this.graphs([w, ...recent, ...daily]);
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
    this.trim(w);
    return { window: w, graph: g, anomalous, groups: findRootCauses(g, anomalous), coldStart: coldStart.sort() };
  }
}
