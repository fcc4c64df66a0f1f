import type { Redis } from 'ioredis';
import type { Insight, InsightEvent } from './model.js';
import { emptyLifecycle, type LifecycleState } from './lifecycle.js';

/**
 * Insights, their events and the detector's state, in Redis under one hash tag `{<prefix>:i}` so each
 * window's changes are written in one MULTI. Everything expires after the retention.
 */
export class InsightStore {
  private readonly tag: string;

  constructor(
    private readonly redis: Redis,
    prefix: string,
    private readonly retentionSeconds: number,
    /**
     * Also queue each committed event in an outbox, in the same MULTI, for a dispatcher to drain
     * (`outbox`, `outboxDone`): an event is then delivered even if the process dies right after the
     * commit. Live workers set it; replay has no subscribers and does not.
     */
    private readonly opts: { outbox?: boolean } = {},
  ) {
    this.tag = `{${prefix}:i}`;
  }

  private k(s: string): string {
    return `${this.tag}:${s}`;
  }

  async loadState(): Promise<LifecycleState> {
    const raw = await this.redis.get(this.k('state'));
    return raw ? (JSON.parse(raw) as LifecycleState) : emptyLifecycle();
  }

  /** Saves the state and applies the events (insight documents, per-insight event lists, the feed). */
  async commit(state: LifecycleState, events: readonly InsightEvent[]): Promise<void> {
    const ttl = this.retentionSeconds;
    const m = this.redis.multi();
    m.set(this.k('state'), JSON.stringify(state), 'EX', ttl);
    for (const e of events) {
      const id = e.insight.id;
      m.set(this.k(`ins:${id}`), JSON.stringify(e.insight), 'EX', ttl);
      m.zadd(this.k('idx'), e.insight.startTime, id);
      m.rpush(this.k(`ev:${id}`), JSON.stringify(e));
      m.expire(this.k(`ev:${id}`), ttl);
      m.rpush(this.k('feed'), JSON.stringify(e));
    }
    if (events.length && this.opts.outbox) {
      m.rpush(this.k('outbox'), ...events.map((e) => JSON.stringify(e)));
      m.expire(this.k('outbox'), ttl);
    }
    if (events.length) {
      m.ltrim(this.k('feed'), -10000, -1);
      m.expire(this.k('feed'), ttl);
      m.expire(this.k('idx'), ttl);
    }
    await m.exec();
  }

  /** The oldest events committed but not yet handed to delivery, in commit order. */
  async outbox(max = 200): Promise<InsightEvent[]> {
    return (await this.redis.lrange(this.k('outbox'), 0, max - 1)).map((x) => JSON.parse(x) as InsightEvent);
  }

  /** Removes the `n` oldest outbox events, once they are handed over. */
  async outboxDone(n: number): Promise<void> {
    await this.redis.ltrim(this.k('outbox'), n, -1);
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

  /** Every key this store owns (for replay cleanup). */
  pattern(): string {
    return `${this.tag}:*`;
  }
}
