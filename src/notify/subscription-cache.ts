import type { Subscription } from './subscription.js';

/**
 * What a deliver worker knows of subscriptions and events without asking Redis on every attempt.
 * An active subscription is trusted for `ttlMs` (so a change — new URL, rotated secret, disabling,
 * deletion — reaches the workers within that time); a missing or disabled one is always read again
 * before a delivery is skipped for it, so re-enabling takes effect at once. Events never change and are
 * kept in a small LRU (each is sent to every matching subscription at about the same time).
 */
export class DeliveryCache {
  private readonly subs = new Map<string, { sub: Subscription | null; at: number; loading?: Promise<Subscription | null> }>();
  private readonly events = new Map<string, string>();
  private readonly loadingEvents = new Map<string, Promise<string | null>>();

  constructor(
    private readonly load: { subscription(id: string): Promise<Subscription | null>; event(key: string): Promise<string | null> },
    private readonly ttlMs = 1000,
    private readonly maxEvents = 5000,
    private readonly now: () => number = Date.now,
  ) {}

  /** The subscription; `fresh` reads Redis whatever the cache says. */
  async subscription(id: string, fresh = false): Promise<Subscription | null> {
    const hit = this.subs.get(id);
    if (!fresh && hit && this.now() - hit.at < this.ttlMs) return hit.loading ?? hit.sub;
    if (!fresh && hit?.loading) return hit.loading;
    const loading = this.load.subscription(id);
    this.subs.set(id, { sub: hit?.sub ?? null, at: hit?.at ?? 0, loading });
    try {
      const sub = await loading;
      if (this.subs.size > 10_000) this.subs.clear();
      this.subs.set(id, { sub, at: this.now() });
      return sub;
    } catch (err) {
      this.subs.delete(id);
      throw err;
    }
  }

  async event(key: string): Promise<string | null> {
    const hit = this.events.get(key);
    if (hit !== undefined) return hit;
    // the event's deliveries to every subscription tend to start together: one read for all of them
    let loading = this.loadingEvents.get(key);
    if (!loading) {
      loading = this.load.event(key).finally(() => this.loadingEvents.delete(key));
      this.loadingEvents.set(key, loading);
    }
    const json = await loading;
    if (json !== null && !this.events.has(key)) {
      if (this.events.size >= this.maxEvents) this.events.delete(this.events.keys().next().value!);
      this.events.set(key, json);
    }
    return json;
  }
}
