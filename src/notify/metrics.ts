import { Counter, Histogram, type Registry } from 'prom-client';

const byRegistry = new WeakMap<Registry, ReturnType<typeof create>>();

function create(registry: Registry) {
  return {
    enqueued: new Counter({ name: 'trace_insights_webhook_deliveries_enqueued_total', help: 'Deliveries recorded (one per event and matching subscription)', registers: [registry] }),
    attempts: new Counter({ name: 'trace_insights_webhook_attempts_total', help: 'Delivery attempts, by result', labelNames: ['result'] as const, registers: [registry] }),
    settled: new Counter({ name: 'trace_insights_webhook_deliveries_total', help: 'Deliveries settled, by outcome', labelNames: ['outcome'] as const, registers: [registry] }),
    disabled: new Counter({ name: 'trace_insights_webhook_subscriptions_disabled_total', help: 'Subscriptions disabled by delivery, by reason', labelNames: ['reason'] as const, registers: [registry] }),
    attemptSeconds: new Histogram({
      name: 'trace_insights_webhook_attempt_seconds',
      help: 'Duration of one delivery attempt (request to last response byte)',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
  };
}

/** The webhook metrics on a registry (created once per registry: server and worker may share one). */
export function notifyMetrics(registry: Registry) {
  let m = byRegistry.get(registry);
  if (!m) byRegistry.set(registry, (m = create(registry)));
  return m;
}

export type NotifyMetrics = ReturnType<typeof notifyMetrics>;
