import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { Logger } from 'pino';
import type { Redis } from 'ioredis';
import type { Intake } from '../ingest/intake.js';
import type { AggregateReader } from '../aggregate/read.js';
import type { Metrics } from '../obs/metrics.js';
import { awsError } from './aws-error.js';
import { putTraceSegmentsRoute } from './put-trace-segments.js';
import { graphRoutes } from './xray-graph.js';
import { servicesRoutes } from './services.js';
import { samplingRoutes } from './sampling.js';
import { webhookRoutes, type WebhookApiDeps } from './webhooks.js';
import { insightRoutes } from './xray-insights.js';
import { groupRoutes, type GroupIdentity } from './xray-groups.js';
import { traceRoutes, type TraceApiOptions } from './xray-traces.js';
import type { InsightStore } from '../insights/store.js';
import { doorThrottle, type Backlog } from '../ingest/backlog.js';
import { consoleRoutes } from './console.js';

export interface AppDeps {
  intake: Intake;
  reader: AggregateReader;
  /** Request-path Redis connection (fails fast). */
  redis: Redis;
  /** True when both the queue's and the reader's connections are ready. */
  ready: () => boolean;
  metrics: Metrics;
  log: Logger;
  bodyLimitBytes: number;
  now?: () => number;
  /** The webhook management API (/v1/webhooks); absent: not mounted. */
  webhooks?: WebhookApiDeps;
  /** The insight store behind GetInsightSummaries & co; absent: those operations are not mounted. */
  insights?: InsightStore;
  /** The ingest backlog the doors shed load by; absent: they never do. */
  backlog?: Backlog;
  /** Region and account in group ARNs and service ids. @defaultValue us-east-1, 000000000000 */
  xray?: GroupIdentity;
  /** The trace store behind BatchGetTraces and GetTraceSummaries; absent: those operations answer 503. */
  traces?: TraceApiOptions;
  /** The service's public address: GetInsight links each insight's console page. */
  publicUrl?: string | null;
  /** Why there is no trace store (the trace API's 503 says it). */
  tracesOff?: string;
}

/** The HTTP API: X-Ray-compatible operations, our own JSON API, health and metrics. */
export function createApp(deps: AppDeps): Hono {
  const now = deps.now ?? (() => Date.now() / 1000);
  const app = new Hono();
  app.use(
    '*',
    bodyLimit({
      maxSize: deps.bodyLimitBytes,
      onError: (c) => awsError(c, 413, 'RequestEntityTooLargeException', `request body is larger than ${deps.bodyLimitBytes} bytes`),
    }),
  );
  app.onError((err, c) => {
    const redisDown = /Connection is closed|Stream isn't writeable|ECONNREFUSED|enableOfflineQueue|Command timed out|MaxRetriesPerRequest/i.test(err.message);
    if (redisDown) return awsError(c, 503, 'ServiceUnavailableException', 'Redis is unreachable; retry later');
    deps.log.error({ err, path: c.req.path }, 'request failed');
    return awsError(c, 500, 'InternalFailure', 'internal error');
  });
  putTraceSegmentsRoute(app, { intake: deps.intake, ready: deps.ready, log: deps.log, ...doorThrottle(deps.backlog, deps.metrics, 'http') });
  graphRoutes(app, { reader: deps.reader, ready: deps.ready });
  servicesRoutes(app, { redis: deps.redis, reader: deps.reader, ready: deps.ready, now });
  samplingRoutes(app, now);
  if (deps.webhooks) webhookRoutes(app, deps.webhooks);
  const xray = deps.xray ?? { region: 'us-east-1', accountId: '000000000000' };
  groupRoutes(app, xray);
  traceRoutes(app, deps.traces, deps.tracesOff);
  if (deps.insights) insightRoutes(app, { store: deps.insights, reader: deps.reader, ready: deps.ready, group: xray, publicUrl: deps.publicUrl ?? null });
  app.get('/healthz', (c) => c.json({ ok: true }));
  // Refusing documents for a while is not being unready: every door shares the one backlog, so taking
  // them all out of a balancer would turn throttled requests into refused connections.
  const backlog = () => (deps.backlog && (deps.backlog.current.limit > 0 || (deps.backlog.current.memory?.max ?? 0) > 0) ? { backlog: deps.backlog.current } : {});
  app.get('/readyz', (c) => (deps.ready() ? c.json({ ready: true, ...backlog() }) : c.json({ ready: false, reason: 'Redis is unreachable' }, 503)));
  app.get('/metrics', async (c) => c.text(await deps.metrics.registry.metrics(), 200, { 'content-type': deps.metrics.registry.contentType }));
  consoleRoutes(app, deps);
  app.notFound((c) => awsError(c, 404, 'UnknownOperationException', `no operation at ${c.req.method} ${c.req.path}`));
  return app;
}
