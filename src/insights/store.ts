import type { Redis } from 'ioredis';
import type { Insight, InsightEvent } from './model.js';
import { emptyLifecycle, type LifecycleState } from './lifecycle.js';
import { commitScript, outboxDoneScript, withInsightScripts } from './scripts.js';
import { namespaceTags } from '../redis/namespace.js';

/** Events the feed keeps (the newest). */
const FEED_LENGTH = 10000;

/**
 * Insights, their events and the detector's state, in Redis under one hash tag `{<prefix>:i}` so each
 * window's changes are written in one atomic script. Everything expires after the retention.
 */
export class InsightStore {
  private readonly tag: string;

  constructor(
    private readonly redis: Redis,
    prefix: string,
    private readonly retentionSeconds: number,
    /**
     * Also queue each committed event in an outbox, in the same atomic commit, for a dispatcher to
     * drain (`drainOutbox`): an event is then delivered even if the process dies right after the
     * commit. Live workers set it; replay has no subscribers and does not.
     */
    private readonly opts: { outbox?: boolean } = {},
  ) {
    this.tag = namespaceTags(prefix).insights;
    withInsightScripts(redis);
  }

  private k(s: string): string {
    return `${this.tag}:${s}`;
  }

  async loadState(): Promise<LifecycleState> {
    const raw = await this.redis.get(this.k('state'));
    return raw ? (JSON.parse(raw) as LifecycleState) : emptyLifecycle();
  }

  /**
   * Saves the state and applies the events (insight documents, per-insight event lists, the feed, the
   * outbox), all or nothing, and only if the stored state's `lastWindow` is still `base`, the one of the
   * state this progress was computed from. Returns false when it is not (another closer committed these
   * windows: a worker whose lock expired, or a second closer racing it): then nothing is written, and the
   * caller must not hand its events to anyone.
   */
  async commit(state: LifecycleState, events: readonly InsightEvent[], base: number | null): Promise<boolean> {
    return commitScript.run(this.redis, {
      state: this.k('state'),
      index: this.k('idx'),
      feed: this.k('feed'),
      outbox: this.k('outbox'),
      base,
      ttl: this.retentionSeconds,
      stateJson: JSON.stringify(state),
      queue: this.opts.outbox === true,
      feedLength: FEED_LENGTH,
      events: events.map((e) => ({
        insightKey: this.k(`ins:${e.insight.id}`),
        eventsKey: this.k(`ev:${e.insight.id}`),
        insightId: e.insight.id,
        insightStart: e.insight.startTime,
        insightJson: JSON.stringify(e.insight),
        eventJson: JSON.stringify(e),
      })),
    });
  }

  /** The oldest events committed but not yet handed to delivery, in commit order. */
  async outbox(max = 200): Promise<InsightEvent[]> {
    return (await this.redis.lrange(this.k('outbox'), 0, max - 1)).map((x) => JSON.parse(x) as InsightEvent);
  }

  /**
   * Hands the outbox to `deliver`, oldest first, `batch` events at a time; each batch leaves the outbox
   * once `deliver` returns (at least once: a crash in between hands it over again). Stops when the outbox
   * is empty or `more()` says so. Safe alongside another drainer: it removes only what it handed over.
   * @returns how many events were handed over
   */
  async drainOutbox(deliver: (events: InsightEvent[]) => Promise<void>, opts: { batch?: number; more?: () => Promise<boolean> } = {}): Promise<number> {
    let n = 0;
    for (;;) {
      const raws = await this.redis.lrange(this.k('outbox'), 0, (opts.batch ?? 200) - 1);
      if (!raws.length) return n;
      await deliver(raws.map((x) => JSON.parse(x) as InsightEvent));
      await outboxDoneScript.run(this.redis, { outbox: this.k('outbox'), handed: raws });
      n += raws.length;
      if (opts.more && !(await opts.more())) return n;
    }
  }

  async get(id: string): Promise<Insight | null> {
    const raw = await this.redis.get(this.k(`ins:${id}`));
    return raw ? (JSON.parse(raw) as Insight) : null;
  }

  async events(id: string): Promise<InsightEvent[]> {
    return (await this.redis.lrange(this.k(`ev:${id}`), 0, -1)).map((x) => JSON.parse(x) as InsightEvent);
  }

  /** Insights that started in [from, to) or were still active in it, oldest first. */
  async list(from: number, to: number): Promise<Insight[]> {
    // an insight may start before `from` and still overlap; look back a day
    const ids = await this.redis.zrangebyscore(this.k('idx'), from - 86400, `(${to}`);
    if (!ids.length) return [];
    const docs = await this.redis.mget(...ids.map((id) => this.k(`ins:${id}`)));
    return docs
      .filter((d): d is string => d !== null)
      .map((d) => JSON.parse(d) as Insight)
      .filter((i) => i.startTime < to && (i.endTime === null || i.endTime > from));
  }

  /** All events ever recorded (newest 10,000), oldest first. */
  async feed(): Promise<InsightEvent[]> {
    return (await this.redis.lrange(this.k('feed'), 0, -1)).map((x) => JSON.parse(x) as InsightEvent);
  }

  /** Whether commits queue their events in the outbox. */
  get hasOutbox(): boolean {
    return this.opts.outbox === true;
  }

  /** Every key this store owns (for replay cleanup). */
  pattern(): string {
    return `${this.tag}:*`;
  }
}
