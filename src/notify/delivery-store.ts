import type { Redis } from 'ioredis';
import type { NotifyKeys } from './keys.js';
import { withNotifyScripts } from './scripts.js';
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

export interface NewDelivery {
  id: string;
  subscriptionId: string;
  insightId: string;
  eventKey: string;
  eventType: string;
  eventTime: number;
  test?: boolean;
}

/** A job to add: the head of a group, its round (redeliveries get a new one, so a new job id), what it carries. */
export interface Head {
  id: string;
  round: number;
  subscriptionId: string;
  eventKey: string;
}

export type Outcome = 'delivered' | 'retry' | 'dead' | 'gone' | 'skip';

export interface FinishInput {
  outcome: Outcome;
  /** the job's round: a job of an older round records nothing */
  round: number;
  /** the attempt number within the round (BullMQ's attemptsStarted), when a request was made */
  attempt?: number;
  status?: number | null;
  latencyMs?: number;
  error?: string | null;
  nextAttemptAt?: number;
  reason?: string;
}

export interface FinishResult {
  /** stale: the job's round is not the delivery's; done: it was settled already (nothing recorded) */
  state: 'retrying' | 'delivered' | 'dead' | 'missing' | 'stale' | 'done';
  /** set when this delivery disabled its subscription */
  disabled: 'gone' | 'failures' | null;
  /** attempts of the delivery so far, all rounds */
  attempts: number | null;
  next: Head | null;
  subscriptionId: string | null;
}

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
    for (const d of deliveries) {
      p.whEnqueue(this.keys.delivery(d.id), this.keys.tag, d.id, d.subscriptionId, d.insightId, t, ttl, this.times.logMaxEntries, 'ev', d.eventKey, 'type', d.eventType, 'et', d.eventTime, 'test', d.test ? 1 : 0);
    }
    const res = (await p.exec()) ?? [];
    const heads: Head[] = [];
    res.slice(events.size).forEach(([err, r], i) => {
      if (err) throw err;
      const d = deliveries[i]!;
      if (r === 1) heads.push({ id: d.id, round: 0, subscriptionId: d.subscriptionId, eventKey: d.eventKey });
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
    const r = (await this.redis.whFinish(
      this.keys.delivery(id),
      this.keys.tag,
      id,
      f.round,
      f.outcome,
      this.now(),
      f.attempt ?? '',
      f.status ?? '',
      f.latencyMs ?? '',
      f.error ?? '',
      f.nextAttemptAt ?? '',
      t.ttlSeconds,
      t.disableAfterFailures,
      t.subscriptionTtlSeconds,
      f.reason ?? '',
    )) as Array<string | number>;
    const sub = String(r[2] ?? '');
    const head = String(r[4] ?? '');
    return {
      state: r[0] as FinishResult['state'],
      disabled: (r[1] || null) as FinishResult['disabled'],
      subscriptionId: sub || null,
      attempts: r[3] === '' || r[3] === undefined ? null : Number(r[3]),
      next: head ? { id: head, round: Number(r[5] ?? 0), subscriptionId: sub, eventKey: String(r[6]) } : null,
    };
  }

  /** Queues a settled delivery again (same webhook id, fresh schedule). */
  async redeliver(id: string): Promise<{ ok: true; head: Head | null } | { ok: false; reason: 'missing' | 'busy' | 'expired' }> {
    const [kind, round, sub, ev] = await this.redis.whRedeliver(this.keys.delivery(id), this.keys.tag, id, this.now(), this.times.ttlSeconds);
    if (kind === 'head') return { ok: true, head: { id, round: Number(round), subscriptionId: sub!, eventKey: ev! } };
    if (kind === 'queued') return { ok: true, head: null };
    return { ok: false, reason: kind as 'missing' | 'busy' | 'expired' };
  }

  /** Heads of groups idle for `idleMs`: their jobs are re-added in case one was lost. */
  async sweep(idleMs: number, limit = 1000): Promise<Head[]> {
    const t = this.now();
    const r = await this.redis.whSweep(this.keys.groups(), this.keys.tag, t - idleMs, t, limit);
    const out: Head[] = [];
    for (let i = 0; i + 3 < r.length; i += 4) out.push({ id: r[i]!, round: Number(r[i + 1] ?? 0), subscriptionId: r[i + 2]!, eventKey: r[i + 3]! });
    return out;
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
