import type { WindowDetector } from '../detect/window-detector.js';
import { stepLifecycle, type LifecycleOptions, type LifecycleState } from './lifecycle.js';
import type { InsightEvent } from './model.js';
import type { InsightStore } from './store.js';
import { attachExemplars, type ExemplarReader } from './exemplars.js';

export interface Advance {
  /** the events committed, in order */
  events: InsightEvent[];
  /** the state committed (or, fenced out, the one loaded) */
  state: LifecycleState;
  /** another closer committed first: nothing was written */
  fenced: boolean;
  /** every window up to the target is processed */
  done: boolean;
}

/**
 * Runs detection and the insight lifecycle for closed windows, in window order. Windows between the last
 * one processed and the one closed now are processed too (a window without traffic is a normal window
 * for the insights it may close). Callers should serialize calls (one closer at a time per namespace,
 * under a lock); when they do not, the fenced commit keeps every event recorded once.
 */
export class InsightEngine {
  constructor(
    private readonly detector: WindowDetector,
    private readonly store: InsightStore,
    private readonly opts: LifecycleOptions,
    /** Where insights take their exemplar traces from; without it they carry none. */
    private readonly exemplars?: ExemplarReader,
  ) {}

  /**
   * Processes the windows after the last one processed, up to and including `w` (at most `maxWindows` of
   * them), and commits the new state with their events, fenced: if another closer committed meanwhile
   * (this one's lock expired, or two raced), nothing is written and `fenced` is set; the events returned
   * are only ever committed ones. `done` is false when `maxWindows` stopped it short of `w`.
   * @param from the first window to process when nothing was processed before (default `w`)
   */
  async advanceTo(w: number, from?: number, opts: { maxWindows?: number } = {}): Promise<Advance> {
    const W = this.opts.windowSeconds;
    const base = await this.store.loadState();
    if (base.lastWindow !== null && w <= base.lastWindow) return { events: [], state: base, fenced: false, done: true };
    let st = base;
    const events: InsightEvent[] = [];
    let next = st.lastWindow === null ? Math.min(from ?? w, w) : st.lastWindow + W;
    // after a very long silence (beyond any history the baseline uses), only closing what is open matters
    if (w - next > 7 * 86400) {
      for (let q = next; q < next + (this.opts.closeAfterWindows + 1) * W; q += W) {
        const r = stepLifecycle(st, q, [], { nodes: new Map(), edges: new Map() }, [], this.opts);
        st = r.state;
        events.push(...r.events);
      }
      next = w;
    }
    const until = Math.min(w, next + ((opts.maxWindows ?? Infinity) - 1) * W);
    for (let x = next; x <= until; x += W) {
      const a = await this.detector.analyze(x);
      const r = stepLifecycle(st, x, a.groups, a.graph, a.anomalous, this.opts, a.anomalousEdges);
      st = r.state;
      if (this.exemplars) await attachExemplars(st, x, W, r.events, this.exemplars);
      events.push(...r.events);
    }
    if (!(await this.store.commit(st, events, base.lastWindow))) return { events: [], state: base, fenced: true, done: false };
    return { events, state: st, fenced: false, done: until >= w };
  }
}
