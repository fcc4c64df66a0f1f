import { randomUUID } from 'node:crypto';
import type { Queue } from 'bullmq';
import type { Logger } from 'pino';
import type { Insight, InsightEvent } from '../insights/model.js';
import type { DeliveryStore, Head, NewDelivery } from './delivery-store.js';
import type { NotifyMetrics } from './metrics.js';
import { deliveryId, eventKey } from './signing.js';
import { matches, type Subscription } from './subscription.js';
import type { SubscriptionStore } from './subscription-store.js';
import { addJob, addJobs } from '../queue/catalog.js';
import { QUEUE } from '../queue/queues.js';

/** A synthetic event sent by `POST /v1/webhooks/{id}/test`: an insight event with its own type. */
export interface TestEvent {
  type: 'webhook.test';
  eventTime: number;
  insight: Insight;
}

export type DeliverableEvent = InsightEvent | TestEvent;

/** What a deliver job carries: delivery (webhook id), round, subscription, event key; `c`: check before sending. */
export interface DeliverJobData {
  d: string;
  r: number;
  s: string;
  e: string;
  c?: 1;
}

/** The job of a group's head; a redelivery's new round gives it a new id. */
export const jobIdOf = (h: Head) => `${h.id}-${h.round}`;

/** Deliveries recorded per pipeline. */
const CHUNK = 5000;

export interface DispatcherDeps {
  subs: SubscriptionStore;
  deliveries: DeliveryStore;
  /** the "deliver" queue */
  queue: Queue;
  log: Logger;
  metrics?: NotifyMetrics;
}

/** Turns events into deliveries: one per matching, enabled subscription, and adds the jobs that may run now. */
export class Dispatcher {
  constructor(private readonly deps: DispatcherDeps) {}

  /** Records one delivery per (event, matching enabled subscription), in event order. Safe to call again with the same events. */
  async enqueueEvents(events: readonly DeliverableEvent[], only?: Subscription): Promise<{ deliveries: number; ids: string[] }> {
    if (!events.length) return { deliveries: 0, ids: [] };
    const subs = only ? [only] : (await this.deps.subs.list()).filter((s) => s.status === 'active');
    if (!subs.length) return { deliveries: 0, ids: [] };
    let jsons = new Map<string, string>();
    let batch: NewDelivery[] = [];
    const ids: string[] = [];
    const flush = async () => {
      const heads = await this.deps.deliveries.enqueue(jsons, batch);
      await this.addJobs(heads);
      jsons = new Map();
      batch = [];
    };
    for (const e of events) {
      const json = JSON.stringify(e);
      const key = eventKey(json);
      for (const s of subs) {
        if (!only && !matches(s.filters, e as InsightEvent)) continue;
        jsons.set(key, json);
        const id = deliveryId(s.id, key);
        ids.push(id);
        batch.push({ id, subscriptionId: s.id, insightId: e.insight.id, eventKey: key, eventType: e.type, eventTime: e.eventTime, test: e.type === 'webhook.test' });
      }
      if (batch.length >= CHUNK) await flush();
    }
    if (batch.length) await flush();
    this.deps.metrics?.enqueued.inc(ids.length);
    return { deliveries: ids.length, ids };
  }

  /** Sends a synthetic event to one subscription through the normal path (signed, logged, retried). */
  async enqueueTest(sub: Subscription, nowMs = Date.now()): Promise<string> {
    const t = Math.floor(nowMs / 1000);
    const svc = { name: 'example-service', type: 'AWS::EC2::Instance' };
    const impact = { faultCount: 12, okCount: 188, totalCount: 200 };
    const event: TestEvent = {
      type: 'webhook.test',
      eventTime: t,
      insight: {
        id: randomUUID(),
        groupName: 'Default',
        state: 'ACTIVE',
        categories: ['FAULT'],
        startTime: t - 120,
        endTime: null,
        rootCauseCandidates: [{ service: svc, score: 1, reason: 'test event' }],
        impactedServices: [svc],
        topAnomalousServices: [svc],
        clientRequestImpactStatistics: impact,
        rootCauseServiceRequestImpactStatistics: impact,
        summary: 'Test event from trace-insights: this webhook is reachable and signed.',
        evidence: null,
        lastUpdateTime: t,
      },
    };
    const { ids } = await this.enqueueEvents([event], sub);
    return ids[0]!;
  }

  /**
   * Adds the jobs of group heads. `check`: the job first looks whether its delivery is still owed (the
   * sweep may re-add a head that is being settled at that moment).
   */
  async addJobs(heads: readonly Head[], check = false): Promise<void> {
    if (!heads.length) return;
    const data = (h: Head): DeliverJobData => ({ d: h.id, r: h.round, s: h.subscriptionId, e: h.eventKey, ...(check ? { c: 1 as const } : {}) });
    // one job (the usual case: a settled delivery hands over to the next) without addBulk's MULTI
    if (heads.length === 1) await addJob(this.deps.queue, QUEUE.deliver, 'deliver', data(heads[0]!), { jobId: jobIdOf(heads[0]!) });
    else await addJobs(this.deps.queue, QUEUE.deliver, 'deliver', heads.map((h) => ({ data: data(h), opts: { jobId: jobIdOf(h) } })));
  }

  /** Queues a settled delivery again. */
  async redeliver(id: string) {
    const r = await this.deps.deliveries.redeliver(id);
    if (r.ok && r.head) await this.addJobs([r.head]);
    return r;
  }

  /** Queues every dead-lettered delivery of a subscription again, oldest first (so each insight's order holds). */
  async redeliverDead(subId: string, sinceMs = 0): Promise<number> {
    let n = 0;
    for (const id of await this.deps.deliveries.deadIds(subId, sinceMs)) if ((await this.redeliver(id)).ok) n++;
    return n;
  }

  /** Re-adds the jobs of groups idle for `idleMs` (a job lost between recording and adding). */
  async sweep(idleMs: number): Promise<number> {
    let total = 0;
    for (;;) {
      const heads = await this.deps.deliveries.sweep(idleMs);
      await this.addJobs(heads, true);
      total += heads.length;
      if (heads.length < 1000) return total;
    }
  }
}
