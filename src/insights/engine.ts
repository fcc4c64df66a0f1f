import type { WindowDetector } from '../detect/window-detector.js';
import { stepLifecycle, type LifecycleOptions, type LifecycleState } from './lifecycle.js';
import type { InsightEvent } from './model.js';
import type { InsightStore } from './store.js';

/**
 * Runs detection and the insight lifecycle for closed windows, in window order. Windows between the last
 * one processed and the one closed now are processed too (a window without traffic is a normal window
 * for the insights it may close). Callers serialize calls (one engine at a time per namespace).
 */
export class InsightEngine {
  constructor(
    private readonly detector: WindowDetector,
    private readonly store: InsightStore,
    private readonly opts: LifecycleOptions,
  ) {}

  /**
   * Processes every window up to and including `w`; returns the events produced.
   * @param from the first window to process when nothing was processed before (default `w`)
   */
  async advanceTo(w: number, from?: number, state?: LifecycleState): Promise<{ events: InsightEvent[]; state: LifecycleState }> {
    const W = this.opts.windowSeconds;
    let st = state ?? (await this.store.loadState());
    if (st.lastWindow !== null && w <= st.lastWindow) return { events: [], state: st };
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
    for (let x = next; x <= w; x += W) {
      const a = await this.detector.analyze(x);
      const r = stepLifecycle(st, x, a.groups, a.graph, a.anomalous, this.opts);
      st = r.state;
      events.push(...r.events);
    }
    await this.store.commit(st, events);
    return { events, state: st };
  }
}
