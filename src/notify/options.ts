/** How webhooks are delivered; `withDefaults` resolves these into a frozen {@link DeliveryConfig}. */
export interface DeliveryOptions {
  /** Deliver to loopback, private and link-local addresses too (tests, a trusted network). @defaultValue false */
  allowPrivateTargets?: boolean;
  /** Whole-request timeout of one attempt (connect to last body byte). @defaultValue 10000 */
  timeoutMs?: number;
  /**
   * Seconds before each retry (the first attempt is immediate); each is jittered by ±20 %. An event is
   * dead-lettered after the last one fails. @defaultValue [5, 30, 120, 600, 1800, 3600, 7200, 14400, 28800, 43200] (≈ 27.5 h)
   */
  retryScheduleSeconds?: readonly number[];
  /** Dead-lettered deliveries in a row (no success between) that disable a subscription. @defaultValue 20 */
  disableAfterFailures?: number;
  /** Deliveries one worker process has in flight. @defaultValue 50 */
  concurrency?: number;
  /** How long deliveries, their attempts and events are kept. @defaultValue 604800 (7 days) */
  logRetentionSeconds?: number;
  /** Deliveries kept in one subscription's log (oldest dropped from the index first). @defaultValue 100000 */
  logMaxEntries?: number;
  /**
   * TTL of a subscription, refreshed on every change and every successful delivery: our rule is that every
   * key expires, and a subscription nobody changed and nothing was delivered to for this long is dead.
   * @defaultValue 34560000 (400 days)
   */
  subscriptionTtlSeconds?: number;
  /** After a rotation, the old secret still signs (a second signature) for this long. @defaultValue 86400 */
  secretGraceSeconds?: number;
  /** How often groups without progress are checked for a lost job. @defaultValue 60 */
  sweepSeconds?: number;
  /** Envelope values of the EventBridge-shaped payload. @defaultValue { account: '000000000000', region: 'local' } */
  eventBridge?: { account: string; region: string };
}

export type DeliveryConfig = Readonly<Required<DeliveryOptions>>;

export const DEFAULT_RETRY_SCHEDULE = Object.freeze([5, 30, 120, 600, 1800, 3600, 7200, 14400, 28800, 43200]);

export function withDefaults(o: DeliveryOptions = {}): DeliveryConfig {
  return Object.freeze({
    allowPrivateTargets: o.allowPrivateTargets ?? false,
    timeoutMs: o.timeoutMs ?? 10_000,
    retryScheduleSeconds: Object.freeze([...(o.retryScheduleSeconds ?? DEFAULT_RETRY_SCHEDULE)]),
    disableAfterFailures: o.disableAfterFailures ?? 20,
    concurrency: o.concurrency ?? 50,
    logRetentionSeconds: o.logRetentionSeconds ?? 7 * 86400,
    logMaxEntries: o.logMaxEntries ?? 100_000,
    subscriptionTtlSeconds: o.subscriptionTtlSeconds ?? 400 * 86400,
    secretGraceSeconds: o.secretGraceSeconds ?? 86400,
    sweepSeconds: o.sweepSeconds ?? 60,
    eventBridge: Object.freeze({ ...(o.eventBridge ?? { account: '000000000000', region: 'local' }) }),
  });
}
