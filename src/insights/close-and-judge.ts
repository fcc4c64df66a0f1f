import type { Redis } from 'ioredis';
import { closeWindow, dueWindows, type CloseOptions, type WindowCloseResult } from '../aggregate/close.js';
import type { KeySpace } from '../aggregate/keys.js';
import type { Lease } from './close-lock.js';
import type { InsightEngine } from './engine.js';
import type { InsightEvent } from './model.js';
import type { InsightStore } from './store.js';

/**
 * Close and judge: closes the windows event time has passed, then runs detection and the insight
 * lifecycle over them and commits the events, fenced. The one path for live workers (the close queue's
 * processor, under the close lock) and for replay (and so eval): what replay measures is what
 * production does.
 */
export interface CloseAndJudgeOptions extends CloseOptions {
  /**
   * Windows judged per commit: a long catch-up commits, and hands its events over, as it goes, so a
   * closer that loses its lock midway has not lost its work. @defaultValue 60
   */
  commitEveryWindows?: number;
}

export interface CloseAndJudgeDeps {
  redis: Redis;
  keys: KeySpace;
  engine: InsightEngine;
  store: InsightStore;
}

export interface CloseAndJudgeRun {
  /** Closes the windows whose end plus the allowed lateness is at or before this (epoch seconds). */
  bound: number;
  /**
   * Judges every window through this one; by default the newest closed window, whoever closed it (a
   * closer that died or lost its lock after closing windows left them to be judged).
   */
  through?: number;
  /** The close lock's hold (live): renewed as the run goes, which stops once it is lost. */
  lease?: Lease;
  /**
   * Receives insight events for delivery, in commit order. With an outbox: what the outbox holds (what
   * this run committed, and what an earlier run committed and died before handing over), which leaves
   * it once this returns. Without one: what this run committed, chunk by chunk.
   */
  onEvents?: (events: InsightEvent[]) => Promise<void>;
}

export interface CloseAndJudgeResult {
  closed: WindowCloseResult[];
  /** insight events this run committed */
  events: number;
  /**
   * Why the run stopped short: its lease was lost, or another closer committed these windows first
   * (this run's last chunk was then not written, and its events went nowhere).
   */
  stopped?: 'lease lost' | 'fenced';
}

export class CloseAndJudge {
  private readonly opts: Readonly<Required<CloseAndJudgeOptions>>;

  constructor(
    private readonly deps: CloseAndJudgeDeps,
    opts: CloseAndJudgeOptions,
  ) {
    this.opts = Object.freeze({ commitEveryWindows: 60, ...opts });
  }

  /** How far a live closer may close: the watermark, or after `idleSeconds` without traffic the wall clock. */
  async liveBound(nowSeconds: number, idleSeconds?: number): Promise<number> {
    const wm = Number((await this.deps.redis.get(this.deps.keys.watermark())) ?? 0);
    return idleSeconds === undefined ? wm : Math.max(wm, nowSeconds - idleSeconds);
  }

  async run(o: CloseAndJudgeRun): Promise<CloseAndJudgeResult> {
    const { redis, keys, engine, store } = this.deps;
    const held = async () => !o.lease || (await o.lease.renew());
    const handOver = async (events: InsightEvent[]) => {
      if (!o.onEvents) return;
      if (store.hasOutbox) await store.drainOutbox(o.onEvents, { more: held });
      else if (events.length) await o.onEvents(events);
    };
    // first what an earlier run committed and did not hand over (it died), so order is kept
    await handOver([]);
    const closed: WindowCloseResult[] = [];
    for (const w of await dueWindows(redis, keys, this.opts, o.bound)) {
      if (!(await held())) return { closed, events: 0, stopped: 'lease lost' };
      closed.push(await closeWindow(redis, keys, this.opts, w));
    }
    const [newest, first] = await redis.mget(keys.closedThrough(), keys.closedFrom());
    const through = o.through ?? (newest === null ? undefined : Number(newest));
    if (through === undefined) return { closed, events: 0 };
    // where a new namespace's judging starts, though the closer that closed its first windows died
    const from = first === null ? through : Math.min(Number(first), through);
    let events = 0;
    for (;;) {
      const r = await engine.advanceTo(through, from, { maxWindows: this.opts.commitEveryWindows });
      if (r.fenced) return { closed, events, stopped: 'fenced' };
      events += r.events.length;
      await handOver(r.events);
      if (r.done) return { closed, events };
      if (!(await held())) return { closed, events, stopped: 'lease lost' };
    }
  }
}
