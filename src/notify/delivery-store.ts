import type { Redis } from 'ioredis';
import type { NotifyKeys } from './keys.js';
import type { FinishInput, FinishResult, Head, NewDelivery } from './delivery-types.js';
import { enqueueScript, finishScript, redeliverScript, sweepScript, withNotifyScripts } from './scripts.js';
import { pipeline } from '../redis/pipeline.js';

/**
 * Deliveries (one event for one subscription) and their log, in Redis. A delivery moves
 * pending → (retrying)* → delivered | dead; each attempt's outcome is recorded by one Lua script, so a
 * worker that dies mid-attempt leaves a state the next attempt carries on from.
 *
 * Ordering: deliveries of one insight to one subscription form a group (a Redis list, in event order).
 * Only the group's head has a BullMQ job; when it is settled (delivered or dead-lettered) the same script
 * pops it and names the next head, whose job the worker then adds. So event n is never sent before event
 * n-1 is settled, with one list push and pop per delivery and no polling.
 */

export type DeliveryStatus = 'pending' | 'retrying' | 'delivered' | 'dead';

export type { FinishInput, FinishResult, Head, NewDelivery, Outcome } from './delivery-types.js';

export interface DeliveryView {
  id: string;
  subscriptionId: string;
  insightId: string;
  eventType: string;
  eventTime: number;
  test: boolean;
  status: DeliveryStatus;
  attempts: number;
  lastResponseCode: number | null;
  lastLatencyMs: number | null;
  lastError: string | null;
  nextAttemptAt: string | null;
  deadReason: string | null;
  createdAt: string;
  updatedAt: string;
  deliveredAt: string | null;
}

export interface AttemptRecord {
  attempt: number;
  at: number;
  status: number | null;
  latencyMs: number | null;
  error: string | null;
}

export interface StoreTimes {
  /** how long deliveries, attempts and events are kept */
  ttlSeconds: number;
  logMaxEntries: number;
  subscriptionTtlSeconds: number;
  disableAfterFailures: number;
}

const iso = (v: string | undefined) => (v ? new Date(Number(v)).toISOString() : null);
const n = (v: string | undefined) => (v === undefined || v === '' ? null : Number(v));

export class DeliveryStore {
  constructor(
    private readonly redis: Redis,
    readonly keys: NotifyKeys,
    private readonly times: StoreTimes,
    private readonly now: () => number = Date.now,
  ) {
    withNotifyScripts(redis);
  }

  /**
   * Records deliveries (and the events they carry, once each) in one pipeline; returns the ones that head
   * their group (their jobs must be added). Deliveries already recorded are left alone: a re-run adds nothing.
   */
  async enqueue(events: ReadonlyMap<string, string>, deliveries: readonly NewDelivery[]): Promise<Head[]> {
    if (!deliveries.length) return [];
    const t = this.now();
    const ttl = this.times.ttlSeconds;
    const p = pipeline(this.redis);
    for (const [key, json] of events) p.set(this.keys.event(key), json, 'EX', ttl);
    const answers = deliveries.map((delivery) => enqueueScript.queue(p, { keys: this.keys, delivery, now: t, ttl, logMaxEntries: this.times.logMaxEntries }));
    const res = (await p.exec()) ?? [];
    const heads: Head[] = [];
    res.slice(events.size).forEach(([err, r], i) => {
      if (err) throw err;
      const d = deliveries[i]!;
      if (answers[i]!(r) === 'head') heads.push({ id: d.id, round: 0, subscriptionId: d.subscriptionId, eventKey: d.eventKey });
    });
    return heads;
  }

  /** The event JSON a delivery carries (null once expired). */
  async event(key: string): Promise<string | null> {
    return this.redis.get(this.keys.event(key));
  }

  /** Where a delivery stands (a cheap check before re-sending after a restart). */
  async state(id: string): Promise<{ status: DeliveryStatus; round: number } | null> {
    const [st, round] = await this.redis.hmget(this.keys.delivery(id), 'st', 'round');
    return st ? { status: st as DeliveryStatus, round: Number(round) } : null;
  }

  async finish(id: string, f: FinishInput): Promise<FinishResult> {
    const t = this.times;
    return finishScript.run(this.redis, { keys: this.keys, id, finish: f, now: this.now(), ttl: t.ttlSeconds, disableAfterFailures: t.disableAfterFailures, subscriptionTtl: t.subscriptionTtlSeconds });
  }

  /** Queues a settled delivery again (same webhook id, fresh schedule). */
  async redeliver(id: string): Promise<{ ok: true; head: Head | null } | { ok: false; reason: 'missing' | 'busy' | 'expired' }> {
    const r = await redeliverScript.run(this.redis, { keys: this.keys, id, now: this.now(), ttl: this.times.ttlSeconds });
    if (r.kind === 'head') return { ok: true, head: r.head };
    if (r.kind === 'queued') return { ok: true, head: null };
    return { ok: false, reason: r.kind };
  }

  /** Heads of groups idle for `idleMs`: their jobs are re-added in case one was lost. */
  async sweep(idleMs: number, limit = 1000): Promise<Head[]> {
    const t = this.now();
    return sweepScript.run(this.redis, { keys: this.keys, idleSince: t - idleMs, now: t, limit });
  }

  async get(id: string): Promise<DeliveryView | null> {
    if (!/^msg_[0-9a-f]{32}$/.test(id)) return null;
    const h = await this.redis.hgetall(this.keys.delivery(id));
    return h.sub ? toView(id, h) : null;
  }

  async attempts(id: string): Promise<AttemptRecord[]> {
    return (await this.redis.lrange(this.keys.attempts(id), 0, -1)).map((x) => JSON.parse(x) as AttemptRecord);
  }

  /** A page of a subscription's log, newest first; `cursor` is an offset. */
  async list(subId: string, opts: { limit: number; cursor?: number; status?: DeliveryStatus }): Promise<{ deliveries: DeliveryView[]; nextCursor: number | null }> {
    const start = opts.cursor ?? 0;
    const ids = await this.redis.zrevrange(this.keys.log(subId), start, start + opts.limit - 1);
    const views = await this.views(ids);
    return {
      deliveries: views.filter((v) => !opts.status || v.status === opts.status),
      nextCursor: ids.length === opts.limit ? start + ids.length : null,
    };
  }

  /** Ids of a subscription's dead-lettered deliveries created at or after `sinceMs`, oldest first. */
  async deadIds(subId: string, sinceMs = 0): Promise<string[]> {
    const out: string[] = [];
    for (let start = 0; ; start += 1000) {
      const ids = await this.redis.zrangebyscore(this.keys.log(subId), sinceMs, '+inf', 'LIMIT', start, 1000);
      const p = pipeline(this.redis);
      for (const id of ids) p.hget(this.keys.delivery(id), 'st');
      const st = (await p.exec()) ?? [];
      ids.forEach((id, i) => st[i]?.[1] === 'dead' && out.push(id));
      if (ids.length < 1000) return out;
    }
  }

  private async views(ids: string[]): Promise<DeliveryView[]> {
    if (!ids.length) return [];
    const p = pipeline(this.redis);
    for (const id of ids) p.hgetall(this.keys.delivery(id));
    const res = (await p.exec()) ?? [];
    const out: DeliveryView[] = [];
    res.forEach(([err, h], i) => {
      if (err) throw err;
      const hash = h as Record<string, string>;
      if (hash.sub) out.push(toView(ids[i]!, hash));
    });
    return out;
  }
}

function toView(id: string, h: Record<string, string>): DeliveryView {
  return {
    id,
    subscriptionId: h.sub!,
    insightId: h.ins!,
    eventType: h.type!,
    eventTime: Number(h.et),
    test: h.test === '1',
    status: h.st as DeliveryStatus,
    attempts: Number(h.att ?? 0),
    lastResponseCode: n(h.code),
    lastLatencyMs: n(h.ms),
    lastError: h.err || null,
    nextAttemptAt: iso(h.next),
    deadReason: h.st === 'dead' ? h.reason || null : null,
    createdAt: iso(h.ca)!,
    updatedAt: iso(h.ua)!,
    deliveredAt: iso(h.da),
  };
}
