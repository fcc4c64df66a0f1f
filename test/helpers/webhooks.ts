import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { createMetrics } from '../../src/obs/metrics.js';
import { createLogger } from '../../src/obs/log.js';
import { startServer, startWorker, type Running, type ServerHalf } from '../../src/runtime.js';
import type { InsightEvent, InsightEventType } from '../../src/insights/model.js';
import { redisUrl, testRedis, uniquePrefix } from './redis.js';
import { deliverQueue } from '../../src/queue/queues.js';
import { notifyKeys } from '../../src/notify/keys.js';
import { DeliveryStore } from '../../src/notify/delivery-store.js';
import { SubscriptionStore } from '../../src/notify/subscription-store.js';
import { Dispatcher, type DeliverableEvent } from '../../src/notify/dispatcher.js';
import { deliveryConfig } from '../../src/compose/delivery.js';

/** The management API key every webhook test uses. */
export const API_KEY = 'test-key-0123456789abcdef';

/** Short retry schedule for tests: three retries within a second. */
export const FAST_SCHEDULE = [0.05, 0.1, 0.2];

export interface WebhookStack {
  cfg: Config;
  server: ServerHalf;
  worker: Running;
  base: string;
  /** fetch against the API with the key */
  api(method: string, path: string, body?: unknown): Promise<{ status: number; body: any; headers: Headers }>;
  /** What the close processor's onEvents does: one delivery per (event, matching subscription). */
  enqueue(events: DeliverableEvent[]): Promise<string[]>;
  deliveries: DeliveryStore;
  close(): Promise<void>;
}

/** Server and worker in this process on a fresh prefix, webhooks to private targets allowed, a fast schedule. */
export async function startWebhookStack(overrides: Record<string, any> = {}, log?: Logger): Promise<WebhookStack> {
  const { webhooks, ...rest } = overrides;
  const cfg = loadConfig({
    overrides: {
      keyPrefix: uniquePrefix('wh'),
      port: 0,
      udpPort: 0,
      host: '127.0.0.1',
      logLevel: 'silent',
      apiKeys: [API_KEY],
      webhooks: { allowPrivateTargets: true, retryScheduleSeconds: FAST_SCHEDULE, sweepSeconds: 1, ...webhooks },
      worker: { lockDurationMs: 5000, stalledIntervalMs: 1000 },
      ...rest,
    },
  });
  const logger = log ?? pino({ level: 'silent' });
  const metrics = createMetrics();
  const server = await startServer(cfg, redisUrl, logger, metrics);
  const worker = await startWorker(cfg, redisUrl, logger, metrics);
  const base = `http://127.0.0.1:${server.httpPort}`;
  const redis = testRedis();
  const d = deliveryConfig(cfg);
  const keys = notifyKeys(cfg.keyPrefix);
  const deliveries = new DeliveryStore(redis, keys, { ttlSeconds: d.logRetentionSeconds, logMaxEntries: d.logMaxEntries, subscriptionTtlSeconds: d.subscriptionTtlSeconds, disableAfterFailures: d.disableAfterFailures });
  const queue = deliverQueue(redis, cfg.keyPrefix);
  const dispatcher = new Dispatcher({ subs: new SubscriptionStore(redis, keys, d.subscriptionTtlSeconds), deliveries, queue, log: logger });
  return {
    deliveries,
    enqueue: async (events) => (await dispatcher.enqueueEvents(events)).ids,
    cfg,
    server,
    worker,
    base,
    api: async (method, path, body) => {
      const r = await fetch(base + path, {
        method,
        headers: { authorization: `Bearer ${API_KEY}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await r.text();
      return { status: r.status, body: text ? JSON.parse(text) : null, headers: r.headers };
    },
    close: async () => {
      await server.close();
      await worker.close();
      await queue.close();
      redis.disconnect();
    },
  };
}

/** A logger writing every line (trace level, the project's redaction) into `lines`. */
export function capturingLogger(lines: string[]): Logger {
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      cb();
    },
  });
  return createLogger('trace', sink);
}

/** An insight event, shaped as the lifecycle builds them. */
export function insightEvent(o: { insightId: string; type?: InsightEventType; eventTime: number; groupName?: string; service?: string; categories?: string[]; faults?: number }): InsightEvent {
  const svc = { name: o.service ?? 'payments', type: 'AWS::EC2::Instance' };
  const impact = { faultCount: o.faults ?? 10, okCount: 90, totalCount: 100 + (o.faults ?? 10) - 10 };
  const type = o.type ?? 'insight.updated';
  return {
    type,
    eventTime: o.eventTime,
    insight: {
      id: o.insightId,
      groupName: o.groupName ?? 'Default',
      state: type === 'insight.closed' ? 'CLOSED' : 'ACTIVE',
      categories: o.categories ?? ['FAULT'],
      startTime: 1_700_000_000,
      endTime: type === 'insight.closed' ? o.eventTime : null,
      rootCauseCandidates: [{ service: svc, score: 0.9, reason: 'own faults' }],
      impactedServices: [svc, { name: 'api-gateway', type: 'AWS::EC2::Instance' }],
      topAnomalousServices: [svc],
      clientRequestImpactStatistics: impact,
      rootCauseServiceRequestImpactStatistics: impact,
      summary: `Fault anomaly rooted in ${svc.name}.`,
      evidence: { window: { start: o.eventTime - 60, end: o.eventTime } },
      lastUpdateTime: o.eventTime,
    },
  };
}
