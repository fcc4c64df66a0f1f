import { z } from 'zod';
import { compileRules } from '../traces/retention.js';

const positiveInt = z.coerce.number().int().positive();

/** A list from JSON, or from an environment variable as comma-separated values. */
const csv = <T extends z.ZodTypeAny>(item: T) =>
  z.preprocess((v) => (typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter(Boolean) : v), z.array(item));

/** A boolean from JSON, or 'true'/'false'/'1'/'0' from the environment (z.coerce.boolean reads 'false' as true). */
const flag = z.preprocess((v) => (typeof v === 'string' ? /^(true|1|yes)$/i.test(v.trim()) : v), z.boolean());

/** The one schema for every setting; defaults live in config/default.json. */
export const configSchema = z
  .object({
    /** Redis to use; null means 127.0.0.1:6379, else a private redis-server (see src/redis/resolve.ts). */
    redisUrl: z.string().url().nullable(),
    /** Seed nodes (`host:port`) of a Redis Cluster; when set, every process runs on the cluster and redisUrl is not used. */
    redisClusterNodes: csv(z.string().regex(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'host:port')),
    /**
     * How long start, server and worker wait for Redis at start-up (warning every few seconds) before they
     * exit with status 1. Replay, a batch command, waits a few seconds only.
     */
    redisConnectTimeoutSeconds: positiveInt.max(86400),
    /** HTTP port: the X-Ray API (PutTraceSegments, GetServiceGraph, …) and our own API. */
    port: z.coerce.number().int().min(0).max(65535),
    /** UDP port for the X-Ray daemon protocol. */
    udpPort: z.coerce.number().int().min(0).max(65535),
    /** Address both listeners bind to. */
    host: z.string().min(1),
    /** Namespace of every key and queue, so deployments and tests can share one Redis. */
    keyPrefix: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, _ . - only (1-64 chars)'),
    /** Aggregation window length. */
    windowSeconds: positiveInt.max(86400),
    /** How long after a window's end late segments are still expected before it closes. */
    allowedLatenessSeconds: z.coerce.number().int().min(0).max(86400),
    /** How long window aggregates are kept. */
    retentionSeconds: positiveInt,
    /** How long a (trace_id, id) is remembered to drop resent documents. */
    dedupeTtlSeconds: positiveInt,
    /** How long "batch applied" markers live; must outlast any job retry. */
    markerTtlSeconds: positiveInt,
    batch: z.object({
      /** Flush a batch at this many documents. */
      maxSegments: positiveInt.max(10000),
      /** Flush a partial batch after this long. */
      maxWaitMs: positiveInt.max(10000),
    }),
    worker: z.object({
      concurrency: positiveInt.max(256),
      /** How long a job's lock lasts without renewal (BullMQ lockDuration); a dead worker's jobs come back after it. */
      lockDurationMs: positiveInt,
      /** How often workers look for jobs whose lock expired (BullMQ stalledInterval). */
      stalledIntervalMs: positiveInt,
    }),
    close: z.object({
      /** How often due windows are looked for. */
      tickSeconds: positiveInt.max(3600),
      /** When traffic stops, event time is assumed to follow the wall clock this long after. */
      idleSeconds: positiveInt,
    }),
    /** Anomaly detection (see src/detect/options.ts for what each one means). */
    detect: z.object({
      alpha: z.coerce.number().gt(0).lt(0.5),
      historyWindows: positiveInt.max(10080),
      minHistoryWindows: z.coerce.number().int().min(0),
      minCount: z.coerce.number().int().min(1),
      minRateIncrease: z.coerce.number().min(0).max(1),
      alphaStrong: z.coerce.number().gt(0).lt(0.5),
      strongShare: z.coerce.number().min(0).max(1),
      minLatencyRatio: z.coerce.number().min(1),
      minLatencyDeltaMs: z.coerce.number().min(0),
      minLatencySamples: positiveInt,
      minCallsRatio: z.coerce.number().min(1),
      minSeasonalDays: positiveInt.max(7),
    }),
    insights: z.object({
      /** Normal windows in a row that close an insight. */
      closeAfterWindows: positiveInt.max(1000),
      /** How long insights and their events are kept. */
      retentionSeconds: positiveInt,
    }),
    queue: z.object({
      /** Completed ingest jobs kept for inspection (each holds its whole batch, up to ~300 kB of Redis memory; the counts are in the windows). */
      keepCompletedJobs: z.coerce.number().int().min(0),
      /**
       * Ingest jobs waiting (workers behind) at which the live doors refuse new documents until the
       * workers catch up: PutTraceSegments answers ThrottledException, UDP drops and counts. 0: never.
       */
      maxBacklogJobs: z.coerce.number().int().min(0),
      /** How often the doors read the backlog. */
      backlogPollMs: positiveInt.max(60_000),
      /**
       * Share of Redis' maxmemory at which the doors refuse new documents (ThrottledException) until it is
       * down to 80 % of that share, so that Redis (noeviction) never refuses a worker's write. 0: never; no
       * effect when Redis has no maxmemory.
       */
      maxMemoryShare: z.coerce.number().min(0).max(1),
    }),
    /** The trace store (PostgreSQL): every accepted document kept whole, for the trace API. */
    traces: z.object({
      /** false: run without a trace store (the trace API answers 503 saying so). */
      enabled: flag,
      /** PostgreSQL to use; null: 127.0.0.1:5432, else a private server, else none (src/traces/store/resolve.ts). */
      databaseUrl: z.string().min(1).nullable(),
      /** PostgreSQL schema of the store's tables. */
      schema: z.string().regex(/^[a-z_][a-z0-9_]{0,47}$/, 'lower-case letters, digits and _ (1-48 chars)'),
      /** How long documents are kept; whole daily partitions are dropped after it. */
      retentionSeconds: positiveInt,
      /** Seconds without a new segment after which a trace is complete and the retention rules decide on it. */
      completeSeconds: positiveInt.max(86400),
      /** Tail-based retention, first match wins: `[{match: "<filter expression>", keep: 0..1}]`; JSON in the environment. */
      retentionRules: z.preprocess(
        (v) => (typeof v === 'string' ? JSON.parse(v) : v),
        z
          .array(z.object({ match: z.string().max(2000), keep: z.coerce.number().min(0).max(1) }).strict())
          .min(1)
          .superRefine((rules, ctx) => {
            const r = compileRules(rules);
            if (!r.ok) ctx.addIssue({ code: 'custom', message: r.error.message, path: [r.error.rule, 'match'] });
          }),
      ),
      /** Trace-write jobs waiting (PostgreSQL slow or away) at which new documents are shed from the store, counted. */
      maxBufferedJobs: positiveInt,
    }),
    http: z.object({ bodyLimitBytes: positiveInt }),
    udp: z.object({ receiveBufferBytes: positiveInt }),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    /** The address people reach this service at (e.g. https://traces.example.com): insights link to their console page. */
    publicUrl: z.string().url().nullable(),
    /** Where the X-Ray API says it runs: the region and account in group ARNs and service ids. */
    xray: z.object({ region: z.string().regex(/^[a-z0-9-]{1,32}$/), accountId: z.string().regex(/^\d{12}$/) }),
    /** Bearer keys of the management API (/v1/webhooks); empty: that API answers 401 to everyone. */
    apiKeys: csv(z.string().min(16, 'API keys must be at least 16 characters')),
    /** Webhook delivery of insight events (see src/notify/options.ts for what each one means). */
    webhooks: z.object({
      allowPrivateTargets: flag,
      timeoutMs: positiveInt.max(60_000),
      retryScheduleSeconds: csv(z.coerce.number().min(0).max(7 * 86400)),
      disableAfterFailures: positiveInt,
      concurrency: positiveInt.max(1000),
      logRetentionSeconds: positiveInt,
      subscriptionTtlSeconds: positiveInt,
      secretGraceSeconds: z.coerce.number().int().min(0),
      sweepSeconds: positiveInt.max(3600),
      eventBridge: z.object({ account: z.string().regex(/^\d{12}$/), region: z.string().min(1) }),
    }),
  })
  .strict();

export type Config = Readonly<z.infer<typeof configSchema>>;

/** Environment variables and the config path each one sets. */
export const envMap: Record<string, string> = {
  REDIS_URL: 'redisUrl',
  REDIS_CLUSTER_NODES: 'redisClusterNodes',
  REDIS_CONNECT_TIMEOUT_SECONDS: 'redisConnectTimeoutSeconds',
  PORT: 'port',
  UDP_PORT: 'udpPort',
  HOST: 'host',
  KEY_PREFIX: 'keyPrefix',
  WINDOW_SECONDS: 'windowSeconds',
  ALLOWED_LATENESS_SECONDS: 'allowedLatenessSeconds',
  RETENTION_SECONDS: 'retentionSeconds',
  DEDUPE_TTL_SECONDS: 'dedupeTtlSeconds',
  MARKER_TTL_SECONDS: 'markerTtlSeconds',
  BATCH_MAX_SEGMENTS: 'batch.maxSegments',
  BATCH_MAX_WAIT_MS: 'batch.maxWaitMs',
  WORKER_CONCURRENCY: 'worker.concurrency',
  QUEUE_KEEP_COMPLETED_JOBS: 'queue.keepCompletedJobs',
  INGEST_MAX_BACKLOG_JOBS: 'queue.maxBacklogJobs',
  INGEST_BACKLOG_POLL_MS: 'queue.backlogPollMs',
  INGEST_MAX_MEMORY_SHARE: 'queue.maxMemoryShare',
  CLOSE_TICK_SECONDS: 'close.tickSeconds',
  DETECT_ALPHA: 'detect.alpha',
  DETECT_HISTORY_WINDOWS: 'detect.historyWindows',
  DETECT_MIN_HISTORY_WINDOWS: 'detect.minHistoryWindows',
  INSIGHTS_CLOSE_AFTER_WINDOWS: 'insights.closeAfterWindows',
  INSIGHTS_RETENTION_SECONDS: 'insights.retentionSeconds',
  CLOSE_IDLE_SECONDS: 'close.idleSeconds',
  WORKER_LOCK_DURATION_MS: 'worker.lockDurationMs',
  WORKER_STALLED_INTERVAL_MS: 'worker.stalledIntervalMs',
  HTTP_BODY_LIMIT_BYTES: 'http.bodyLimitBytes',
  TRACES_ENABLED: 'traces.enabled',
  DATABASE_URL: 'traces.databaseUrl',
  TRACE_SCHEMA: 'traces.schema',
  TRACE_RETENTION_SECONDS: 'traces.retentionSeconds',
  TRACE_COMPLETE_SECONDS: 'traces.completeSeconds',
  TRACE_RETENTION_RULES: 'traces.retentionRules',
  TRACE_MAX_BUFFERED_JOBS: 'traces.maxBufferedJobs',
  UDP_RECEIVE_BUFFER_BYTES: 'udp.receiveBufferBytes',
  LOG_LEVEL: 'logLevel',
  PUBLIC_URL: 'publicUrl',
  XRAY_REGION: 'xray.region',
  XRAY_ACCOUNT_ID: 'xray.accountId',
  API_KEYS: 'apiKeys',
  WEBHOOK_ALLOW_PRIVATE_TARGETS: 'webhooks.allowPrivateTargets',
  WEBHOOK_TIMEOUT_MS: 'webhooks.timeoutMs',
  WEBHOOK_RETRY_SCHEDULE_SECONDS: 'webhooks.retryScheduleSeconds',
  WEBHOOK_DISABLE_AFTER_FAILURES: 'webhooks.disableAfterFailures',
  WEBHOOK_CONCURRENCY: 'webhooks.concurrency',
};
