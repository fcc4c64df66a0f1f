/**
 * Every webhook key lives under one hash tag `{<prefix>:h}`, so the Lua scripts that move a delivery
 * through its states (delivery, its group, its subscription, the log) touch a single slot; the scripts
 * build the keys they derive from a delivery's fields from `tag` (as BullMQ's scripts do).
 */
export interface NotifyKeys {
  /** `{<prefix>:h}:` — the scripts' key prefix */
  readonly tag: string;
  /** set of subscription ids */
  subs(): string;
  /** hash: one subscription, its secret and its delivery state */
  sub(id: string): string;
  /** hash: one delivery (one event for one subscription) */
  delivery(id: string): string;
  /** list: the last attempts of a delivery */
  attempts(id: string): string;
  /** sorted set: a subscription's deliveries by creation time (the delivery log) */
  log(subId: string): string;
  /** list: deliveries of one insight to one subscription, in event order; the head is the one in flight */
  group(subId: string, insightId: string): string;
  /** sorted set: non-empty groups by last activity (for the sweep) */
  groups(): string;
  /** string: an event's JSON, shared by its deliveries */
  event(key: string): string;
}

export function notifyKeys(prefix: string): NotifyKeys {
  const tag = `{${prefix}:h}:`;
  return {
    tag,
    subs: () => `${tag}subs`,
    sub: (id) => `${tag}sub:${id}`,
    delivery: (id) => `${tag}d:${id}`,
    attempts: (id) => `${tag}da:${id}`,
    log: (subId) => `${tag}dl:${subId}`,
    group: (subId, insightId) => `${tag}g:${subId}:${insightId}`,
    groups: () => `${tag}groups`,
    event: (key) => `${tag}ev:${key}`,
  };
}
