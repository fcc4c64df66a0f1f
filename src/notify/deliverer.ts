import type { Logger } from 'pino';
import { checkTarget, parseTargetUrl, type Lookup } from './address-policy.js';
import type { DeliveryStore, FinishInput, FinishResult, Head } from './delivery-store.js';
import type { DeliverJobData } from './dispatcher.js';
import type { AttemptResult, HttpSender } from './http-sender.js';
import type { NotifyMetrics } from './metrics.js';
import type { DeliveryConfig } from './options.js';
import { renderBody } from './payload.js';
import { retryDelayMs } from './schedule.js';
import { signatureHeader } from './signing.js';
import type { DeliveryCache } from './subscription-cache.js';

export type DeliverResult =
  | { outcome: 'delivered' | 'dead'; attempts: number | null }
  | { outcome: 'retrying'; attempts: number | null; retryAt: number }
  /** nothing was sent: the job is stale, or its delivery was already settled */
  | { outcome: 'skipped' };

export interface DelivererDeps {
  deliveries: DeliveryStore;
  cache: DeliveryCache;
  sender: HttpSender;
  /** adds the jobs of the heads a settled delivery hands over to; `check`: look before sending */
  addJobs: (heads: readonly Head[], check?: boolean) => Promise<void>;
  cfg: DeliveryConfig;
  log: Logger;
  metrics?: NotifyMetrics;
  /** DNS (tests) */
  lookup?: Lookup;
  now?: () => number;
  random?: () => number;
}

const USER_AGENT = 'trace-insights-webhooks/1';

/**
 * One attempt of one delivery: check the target again (DNS may have changed since the subscription was
 * created), sign, POST, record the outcome and settle or schedule the next attempt. Never logs the
 * secret, the signature or the target URL (URLs often carry tokens).
 */
export class Deliverer {
  private readonly now: () => number;
  /** parsed target URLs by text (a handful of subscriptions, thousands of deliveries) */
  private readonly urls = new Map<string, ReturnType<typeof parseTargetUrl>>();

  constructor(private readonly deps: DelivererDeps) {
    this.now = deps.now ?? Date.now;
  }

  /**
   * @param attempt the attempt number within the job's round (BullMQ's attemptsStarted: a start that a
   * killed worker never finished counts too)
   */
  async run(job: DeliverJobData, attempt: number): Promise<DeliverResult> {
    const { cfg, cache } = this.deps;
    const id = job.d;
    // a restart (or a job re-added by the sweep) may find its delivery settled meanwhile: no second send
    if (attempt > 1 || job.c) {
      const st = await this.deps.deliveries.state(id);
      if (!st || st.round !== job.r || st.status === 'delivered' || st.status === 'dead') {
        if (st) await this.settle(id, { outcome: 'skip', round: job.r });
        return { outcome: 'skipped' };
      }
    }
    let sub = await cache.subscription(job.s);
    if (!sub || sub.status !== 'active') sub = await cache.subscription(job.s, true);
    if (!sub) return this.settle(id, { outcome: 'skip', round: job.r, reason: 'subscription deleted' });
    if (sub.status !== 'active') return this.settle(id, { outcome: 'skip', round: job.r, reason: 'subscription disabled' });
    const eventJson = await cache.event(job.e);
    if (eventJson === null) return this.settle(id, { outcome: 'skip', round: job.r, reason: 'event expired' });

    let parsed = this.urls.get(sub.url);
    if (!parsed) {
      if (this.urls.size >= 10_000) this.urls.clear();
      this.urls.set(sub.url, (parsed = parseTargetUrl(sub.url)));
    }
    if (!parsed.ok) return this.settle(id, { outcome: 'dead', round: job.r, attempt, error: parsed.message, reason: parsed.message });
    const check = await checkTarget(parsed.url, cfg.allowPrivateTargets, this.deps.lookup);
    let res: AttemptResult;
    if (!check.ok) {
      res = { status: null, latencyMs: 0, error: check.message };
      this.deps.metrics?.attempts.inc({ result: 'refused' });
    } else {
      const t = this.now();
      const body = renderBody(sub.format, eventJson, id, cfg.eventBridge);
      const ts = Math.floor(t / 1000);
      const secrets = sub.previousSecret && (sub.previousSecretUntil ?? 0) > t ? [sub.secret, sub.previousSecret] : [sub.secret];
      res = await this.deps.sender.send({
        url: parsed.url,
        target: check.target,
        body,
        timeoutMs: cfg.timeoutMs,
        headers: {
          'content-type': 'application/json',
          'user-agent': USER_AGENT,
          'webhook-id': id,
          'webhook-timestamp': String(ts),
          'webhook-signature': signatureHeader(id, ts, body, secrets),
        },
      });
      this.deps.metrics?.attempts.inc({ result: res.error === null ? 'ok' : 'failed' });
      this.deps.metrics?.attemptSeconds.observe(res.latencyMs / 1000);
    }
    const seen = { round: job.r, attempt, status: res.status, latencyMs: res.latencyMs, error: res.error };

    if (res.error === null) return this.settle(id, { outcome: 'delivered', ...seen });
    if (res.status === 410) return this.settle(id, { outcome: 'gone', ...seen, reason: 'receiver answered 410 Gone' });
    const scheduled = retryDelayMs(cfg.retryScheduleSeconds, attempt, this.deps.random);
    if (scheduled === null) return this.settle(id, { outcome: 'dead', ...seen, reason: `${attempt} attempts failed; last: ${res.error}` });
    const delay = res.retryAfterSeconds !== undefined ? res.retryAfterSeconds * 1000 : scheduled;
    const retryAt = this.now() + delay;
    const r = await this.deps.deliveries.finish(id, { outcome: 'retry', ...seen, nextAttemptAt: retryAt });
    if (r.state !== 'retrying') return this.handOver(id, r);
    this.deps.log.info({ deliveryId: id, attempt, status: res.status, error: res.error, retryInMs: delay }, 'webhook attempt failed; will retry');
    return { outcome: 'retrying', attempts: r.attempts, retryAt };
  }

  private async settle(id: string, f: FinishInput): Promise<DeliverResult> {
    const r = await this.deps.deliveries.finish(id, f);
    if (r.state === 'delivered' || r.state === 'dead') {
      this.deps.metrics?.settled.inc({ outcome: r.state });
      if (r.state === 'delivered') this.deps.log.debug({ deliveryId: id, attempts: r.attempts, status: f.status, latencyMs: f.latencyMs }, 'webhook delivered');
      else this.deps.log.warn({ deliveryId: id, subscriptionId: r.subscriptionId, attempts: r.attempts, status: f.status, reason: f.reason }, 'webhook delivery dead-lettered');
    }
    if (r.disabled) {
      this.deps.metrics?.disabled.inc({ reason: r.disabled });
      this.deps.log.warn({ deliveryId: id, subscriptionId: r.subscriptionId, reason: r.disabled }, 'webhook subscription disabled');
    }
    return this.handOver(id, r);
  }

  /**
   * Adds the job of the group's next head; reports what happened to this delivery. After a restart that
   * found its delivery settled, the next head's job may have run already: the re-added one checks first.
   * A stale job (an older round) leaves the group to the current round's job.
   */
  private async handOver(_id: string, r: FinishResult): Promise<DeliverResult> {
    if (r.next && r.state !== 'stale') await this.deps.addJobs([r.next], r.state === 'done');
    if (r.state === 'delivered' || r.state === 'dead') return { outcome: r.state, attempts: r.attempts };
    return { outcome: 'skipped' };
  }
}
