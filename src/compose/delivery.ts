import { hostname } from 'node:os';
import { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { Metrics } from '../obs/metrics.js';
import { connect } from '../redis/connect.js';
import { keySpace } from '../aggregate/keys.js';
import { QUEUE, bullPrefix, deliverQueue } from '../queue/queues.js';
import type { JobName } from '../queue/catalog.js';
import { deliverProcessor } from '../../jobs/deliver.js';
import { redisDeadLetter } from '../queue/dead-letter.js';
import type { WebhookApiDeps } from '../api/webhooks.js';
import type { Lookup } from '../notify/address-policy.js';
import { Deliverer } from '../notify/deliverer.js';
import { DeliveryStore } from '../notify/delivery-store.js';
import { Dispatcher } from '../notify/dispatcher.js';
import { HttpSender } from '../notify/http-sender.js';
import { notifyKeys } from '../notify/keys.js';
import { notifyMetrics } from '../notify/metrics.js';
import { withDefaults, type DeliveryConfig } from '../notify/options.js';
import { SubscriptionStore } from '../notify/subscription-store.js';
import { DeliveryCache } from '../notify/subscription-cache.js';

/** The delivery settings of a configuration. */
export function deliveryConfig(cfg: Config): DeliveryConfig {
  return withDefaults(cfg.webhooks);
}

function stores(cfg: Config, redis: Redis) {
  const d = deliveryConfig(cfg);
  const keys = notifyKeys(cfg.keyPrefix);
  const subs = new SubscriptionStore(redis, keys, d.subscriptionTtlSeconds);
  const deliveries = new DeliveryStore(redis, keys, {
    ttlSeconds: d.logRetentionSeconds,
    logMaxEntries: d.logMaxEntries,
    subscriptionTtlSeconds: d.subscriptionTtlSeconds,
    disableAfterFailures: d.disableAfterFailures,
  });
  return { d, subs, deliveries };
}

/** The management API's dependencies (server half): request-path connections, fail fast. */
export function webhookApi(cfg: Config, readRedis: Redis, queueRedis: Redis, log: Logger, metrics: Metrics) {
  const { d, subs, deliveries } = stores(cfg, readRedis);
  const queue = deliverQueue(queueRedis, cfg.keyPrefix);
  const dispatcher = new Dispatcher({ subs, deliveries, queue, log, metrics: notifyMetrics(metrics.registry) });
  const deps: WebhookApiDeps = { subs, deliveries, dispatcher, apiKeys: cfg.apiKeys, allowPrivateTargets: d.allowPrivateTargets, secretGraceSeconds: d.secretGraceSeconds, log };
  return { deps, close: () => queue.close() };
}

export interface DeliveryHalf {
  dispatcher: Dispatcher;
  worker: Worker;
  close(): Promise<void>;
}

/**
 * The deliver worker (worker half): takes delivery jobs, and a scheduler's sweep ticks. `redis` is the
 * worker's own connection (waits for Redis rather than failing).
 */
export async function startDelivery(cfg: Config, redisUrl: string, redis: Redis, log: Logger, metrics: Metrics, opts: { lookup?: Lookup } = {}): Promise<DeliveryHalf> {
  // Each delivery makes a few small Redis calls of ours; with dozens in flight, auto-pipelining sends
  // those of one event-loop turn in one write (a syscall per command was a large cost per delivery).
  // A connection of its own, without BullMQ's scripts (ioredis copies every script onto each pipeline).
  // BullMQ's connections stay plain: auto-pipelining under Bull/BullMQ has been reported to lose jobs
  // ("Job is not in the active list", empty job data), and measured no faster here.
  const fast = connect(redisUrl, 'worker', { enableAutoPipelining: true }, { scripts: false });
  const jobs = connect(redisUrl, 'worker');
  for (const c of [fast, jobs]) c.on('error', (err) => log.debug({ err: err.message }, 'delivery redis error'));
  const { d, subs, deliveries } = stores(cfg, fast);
  const m = notifyMetrics(metrics.registry);
  const queue = deliverQueue(jobs, cfg.keyPrefix);
  const dispatcher = new Dispatcher({ subs, deliveries, queue, log, metrics: m });
  const sender = new HttpSender();
  const cache = new DeliveryCache({ subscription: (id) => subs.get(id), event: (key) => deliveries.event(key) });
  const deliverer = new Deliverer({ deliveries, cache, sender, addJobs: (h, check) => dispatcher.addJobs(h, check), cfg: d, log, metrics: m, lookup: opts.lookup });
  const worker = new Worker(
    QUEUE.deliver,
    deliverProcessor({
      deliverer,
      sweep: () => dispatcher.sweep(Math.max(2 * d.sweepSeconds * 1000, 60_000)),
      deadLetter: redisDeadLetter(redis, keySpace(cfg.keyPrefix).deadLetters(), cfg.retentionSeconds),
    }),
    {
      connection: connect(redisUrl, 'worker'),
      prefix: bullPrefix(cfg.keyPrefix),
      concurrency: d.concurrency,
      lockDuration: cfg.worker.lockDurationMs,
      stalledInterval: cfg.worker.stalledIntervalMs,
      // a delivery whose worker died is attempted again, not failed
      maxStalledCount: 20,
      name: `${hostname()}:${process.pid}`,
    },
  );
  worker.on('failed', (job, err) => log.warn({ jobId: job?.id, err: err.message, attempts: job?.attemptsMade }, 'deliver job failed'));
  worker.on('error', (err) => log.error({ err: err.message }, 'deliver worker error'));
  await worker.waitUntilReady();
  await queue.upsertJobScheduler('deliver-sweep', { every: d.sweepSeconds * 1000 }, { name: 'sweep' satisfies JobName<typeof QUEUE.deliver>, opts: { removeOnComplete: { count: 10 }, removeOnFail: { count: 100 } } });
  let closing: Promise<void> | undefined;
  return {
    dispatcher,
    worker,
    close: () =>
      (closing ??= (async () => {
        for (const step of [() => worker.close(), () => queue.close(), () => sender.close(), ...[fast, jobs].map((c) => () => c.quit().catch(() => c.disconnect()))]) {
          try {
            await step();
          } catch (err) {
            log.warn({ err: (err as Error).message }, 'delivery shutdown step failed');
          }
        }
      })()),
  };
}
