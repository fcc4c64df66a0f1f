import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The process's metrics; names are `trace_insights_*`, labels bounded. */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'trace_insights_' });
  const m = {
    registry,
    documentsReceived: new Counter({ name: 'trace_insights_documents_received_total', help: 'Segment documents received, by door', labelNames: ['door'] as const, registers: [registry] }),
    documentsAccepted: new Counter({ name: 'trace_insights_documents_accepted_total', help: 'Documents accepted and queued, by door', labelNames: ['door'] as const, registers: [registry] }),
    documentsRejected: new Counter({ name: 'trace_insights_documents_rejected_total', help: 'Documents refused, by door and reason', labelNames: ['door', 'code'] as const, registers: [registry] }),
    inProgress: new Counter({ name: 'trace_insights_documents_in_progress_total', help: 'In-progress placeholders accepted but not counted', labelNames: ['door'] as const, registers: [registry] }),
    datagramsDropped: new Counter({ name: 'trace_insights_udp_datagrams_dropped_total', help: 'UDP datagrams dropped before parsing, by reason', labelNames: ['reason'] as const, registers: [registry] }),
    batchesEnqueued: new Counter({ name: 'trace_insights_batches_enqueued_total', help: 'Ingest jobs added to the queue', registers: [registry] }),
    batchSize: new Histogram({ name: 'trace_insights_batch_documents', help: 'Documents per ingest job', buckets: [1, 10, 50, 100, 250, 500, 1000, 5000], registers: [registry] }),
    throttled: new Counter({ name: 'trace_insights_ingest_throttled_total', help: 'PutTraceSegments requests (door=http) and datagrams (door=udp) refused because the ingest backlog was over its limit', labelNames: ['door'] as const, registers: [registry] }),
    backlogJobs: new Gauge({ name: 'trace_insights_ingest_backlog_jobs', help: 'Ingest jobs waiting for a worker, as the doors last read it', registers: [registry] }),
    throttling: new Gauge({ name: 'trace_insights_ingest_throttling', help: '1 while the doors refuse new documents because the ingest backlog or Redis memory is over its limit', registers: [registry] }),
    redisMemoryUsed: new Gauge({ name: 'trace_insights_redis_used_memory_bytes', help: 'Redis used_memory as the doors last read it', registers: [registry] }),
    redisMemoryLimit: new Gauge({ name: 'trace_insights_redis_maxmemory_bytes', help: 'Redis maxmemory as the doors last read it (0: no limit; the doors then never refuse for memory)', registers: [registry] }),
    enqueueFailures: new Counter({ name: 'trace_insights_enqueue_failures_total', help: 'Batches that could not be queued (Redis unreachable)', registers: [registry] }),
    entitiesCounted: new Counter({ name: 'trace_insights_entities_counted_total', help: 'Segments and streamed subsegments counted by workers', registers: [registry] }),
    duplicates: new Counter({ name: 'trace_insights_duplicates_total', help: 'Entities dropped as already counted', registers: [registry] }),
    batchesReplayed: new Counter({ name: 'trace_insights_batches_already_applied_total', help: 'Window applications skipped because a retried job had applied them', registers: [registry] }),
    parked: new Counter({ name: 'trace_insights_subsegments_parked_total', help: 'Independent subsegments parked until their segment arrives', registers: [registry] }),
    deadLettered: new Counter({ name: 'trace_insights_jobs_dead_lettered_total', help: 'Jobs with invalid payloads, dead-lettered', labelNames: ['queue'] as const, registers: [registry] }),
    tracesQueued: new Counter({ name: 'trace_insights_traces_queued_total', help: 'Documents queued for the trace store', registers: [registry] }),
    tracesWritten: new Counter({ name: 'trace_insights_traces_written_total', help: 'Documents written to the trace store', registers: [registry] }),
    tracesDropped: new Counter({ name: 'trace_insights_traces_dropped_total', help: 'Documents not kept in the trace store, by reason: buffer_full (PostgreSQL away or slow for long), enqueue_failed (Redis away), refused (the store refused them: older than its retention, future ids), failed (a write failed for good)', labelNames: ['reason'] as const, registers: [registry] }),
    tracesPaused: new Gauge({ name: 'trace_insights_traces_paused', help: '1 while trace writes wait for PostgreSQL to come back', registers: [registry] }),
    tracesDiscarded: new Counter({ name: 'trace_insights_traces_discarded_total', help: 'Complete traces deleted by the tail-based retention rules', registers: [registry] }),
    watermark: new Gauge({ name: 'trace_insights_watermark_seconds', help: 'Largest event time applied by this worker', registers: [registry] }),
  };
  return m;
}

export type Metrics = ReturnType<typeof createMetrics>;
