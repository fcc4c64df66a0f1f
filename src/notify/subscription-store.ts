import type { Redis } from 'ioredis';
import type { NotifyKeys } from './keys.js';
import { hsetIfExistsScript, withNotifyScripts } from './scripts.js';
import { generateSecret, subscriptionId } from './signing.js';
import type { CreateBody, DisabledReason, Filters, Format, Subscription, UpdateBody } from './subscription.js';
import { pipeline } from '../redis/pipeline.js';

/**
 * Subscriptions: one hash each (the secret in it, since signing needs it) and a set of ids. Every write
 * refreshes the hash's TTL (`subscriptionTtlSeconds`, 400 days by default), and so does every successful
 * delivery: every key of ours expires, and a subscription that was neither changed nor delivered to for
 * that long is taken to be abandoned.
 */
export class SubscriptionStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: NotifyKeys,
    private readonly ttlSeconds: number,
    private readonly now: () => number = Date.now,
  ) {
    withNotifyScripts(redis);
  }

  async create(body: CreateBody): Promise<Subscription> {
    const t = this.now();
    const s: Subscription = {
      id: subscriptionId(),
      url: body.url,
      description: body.description ?? '',
      filters: body.filters ?? {},
      format: body.format ?? 'insight-event',
      status: body.enabled === false ? 'disabled' : 'active',
      disabledReason: body.enabled === false ? 'manual' : null,
      disabledAt: body.enabled === false ? t : null,
      consecutiveFailures: 0,
      secret: generateSecret(),
      previousSecret: null,
      previousSecretUntil: null,
      createdAt: t,
      updatedAt: t,
    };
    const key = this.keys.sub(s.id);
    await this.redis
      .multi()
      .hset(key, toHash(s))
      .expire(key, this.ttlSeconds)
      .sadd(this.keys.subs(), s.id)
      .expire(this.keys.subs(), this.ttlSeconds)
      .exec();
    return s;
  }

  async get(id: string): Promise<Subscription | null> {
    if (!/^wh_[0-9a-f]{24}$/.test(id)) return null;
    const h = await this.redis.hgetall(this.keys.sub(id));
    return h.id ? fromHash(h) : null;
  }

  /** Every subscription, oldest first (ids of expired ones are dropped from the set on the way). */
  async list(): Promise<Subscription[]> {
    const ids = await this.redis.smembers(this.keys.subs());
    if (!ids.length) return [];
    const p = pipeline(this.redis);
    for (const id of ids) p.hgetall(this.keys.sub(id));
    const res = (await p.exec()) ?? [];
    const out: Subscription[] = [];
    const gone: string[] = [];
    res.forEach(([err, h], i) => {
      if (err) throw err;
      const hash = h as Record<string, string>;
      if (hash.id) out.push(fromHash(hash));
      else gone.push(ids[i]!);
    });
    if (gone.length) await this.redis.srem(this.keys.subs(), ...gone);
    return out.sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
  }

  /** Applies a change; re-enabling clears the failure run. Null when there is no such subscription. */
  async update(id: string, body: UpdateBody): Promise<Subscription | null> {
    const cur = await this.get(id);
    if (!cur) return null;
    const t = this.now();
    const fields: Record<string, string | number> = { updatedAt: t };
    if (body.url !== undefined) fields.url = body.url;
    if (body.description !== undefined) fields.description = body.description;
    if (body.filters !== undefined) fields.filters = JSON.stringify(body.filters);
    if (body.format !== undefined) fields.format = body.format;
    if (body.enabled === true && cur.status !== 'active') Object.assign(fields, { status: 'active', disabledReason: '', disabledAt: '', failures: 0 });
    if (body.enabled === false && cur.status === 'active') Object.assign(fields, { status: 'disabled', disabledReason: 'manual', disabledAt: t });
    const ok = await hsetIfExistsScript.run(this.redis, { key: this.keys.sub(id), ttl: this.ttlSeconds, fields });
    return ok ? this.get(id) : null;
  }

  /** A new secret; the old one keeps signing (a second signature) for `graceSeconds`. */
  async rotate(id: string, graceSeconds: number): Promise<Subscription | null> {
    const cur = await this.get(id);
    if (!cur) return null;
    const t = this.now();
    const secret = generateSecret();
    const fields = graceSeconds > 0 ? { secret, prevSecret: cur.secret, prevSecretUntil: t + graceSeconds * 1000, updatedAt: t } : { secret, prevSecret: '', prevSecretUntil: '', updatedAt: t };
    const ok = await hsetIfExistsScript.run(this.redis, { key: this.keys.sub(id), ttl: this.ttlSeconds, fields });
    return ok ? this.get(id) : null;
  }

  async remove(id: string): Promise<boolean> {
    const res = await this.redis.multi().del(this.keys.sub(id)).srem(this.keys.subs(), id).exec();
    return res?.[0]?.[1] === 1;
  }
}

function toHash(s: Subscription): Record<string, string | number> {
  return {
    id: s.id,
    url: s.url,
    description: s.description,
    filters: JSON.stringify(s.filters),
    format: s.format,
    status: s.status,
    disabledReason: s.disabledReason ?? '',
    disabledAt: s.disabledAt ?? '',
    failures: s.consecutiveFailures,
    secret: s.secret,
    prevSecret: s.previousSecret ?? '',
    prevSecretUntil: s.previousSecretUntil ?? '',
    createdAt: s.createdAt,
    updatedAt: s.updatedAt,
  };
}

const num = (v: string | undefined) => (v ? Number(v) : null);

function fromHash(h: Record<string, string>): Subscription {
  return {
    id: h.id!,
    url: h.url!,
    description: h.description ?? '',
    filters: JSON.parse(h.filters || '{}') as Filters,
    format: (h.format || 'insight-event') as Format,
    status: h.status === 'active' ? 'active' : 'disabled',
    disabledReason: (h.disabledReason || null) as DisabledReason | null,
    disabledAt: num(h.disabledAt),
    consecutiveFailures: Number(h.failures ?? 0),
    secret: h.secret!,
    previousSecret: h.prevSecret || null,
    previousSecretUntil: num(h.prevSecretUntil),
    createdAt: Number(h.createdAt),
    updatedAt: Number(h.updatedAt),
  };
}
