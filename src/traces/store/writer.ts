import { dayOf, ensurePartitions, forgetPartitions } from './partitions.js';
import { DOCUMENT_COLUMNS, replaces, toDocumentRow, type DocumentRow } from './document-row.js';
import { lockTraces, recomputeSummaries, type TraceKey } from './summaries.js';
import { qualified, type TraceStore } from './store.js';

/** A document as accepted by ingest: its JSON text exactly as sent. */
export interface StoredDocumentInput {
  text: string;
}

export interface WriteOptions {
  /** Epoch seconds the retention is measured from. @defaultValue the wall clock */
  now?: number;
}

/** What writeDocuments did; bad documents are reported, not thrown. */
export interface WriteResult {
  /** rows written (after collapsing copies of one document within the call) */
  written: number;
  /** documents not stored, by index in the input, with the reason */
  rejected: { index: number; reason: string }[];
}

// SQLSTATE of "no partition of relation … found for row": another process dropped a partition
// this one believed it had.
const NO_PARTITION = '23514';

/**
 * Stores documents whole, hundreds per INSERT, and refreshes the summaries of the traces they touch.
 * Idempotent: a document sent again (same trace_id and id) replaces its earlier copy, except that an
 * in-progress placeholder never replaces a complete document.
 */
export async function writeDocuments(
  store: TraceStore,
  docs: readonly StoredDocumentInput[],
  options: WriteOptions = {},
): Promise<WriteResult> {
  const now = options.now ?? Date.now() / 1000;
  const oldestDay = dayOf(now - store.options.retentionSeconds);
  const newestDay = dayOf(now) + 1;
  const rejected: WriteResult['rejected'] = [];
  const byKey = new Map<string, DocumentRow>();
  docs.forEach((d, index) => {
    const row = toDocumentRow(d.text);
    if ('reason' in row) return void rejected.push({ index, reason: row.reason });
    // such a row would go to a partition retention drops (or has already dropped)
    const day = dayOf(row.trace_time.getTime() / 1000);
    if (day < oldestDay) return void rejected.push({ index, reason: 'older than the retention' });
    // a far-future trace id would make a partition retention cannot drop for years
    if (day > newestDay) return void rejected.push({ index, reason: 'trace id time is in the future' });
    const key = `${row.trace_id}/${row.id}`;
    const prev = byKey.get(key);
    // one INSERT … ON CONFLICT cannot touch a row twice, so copies are collapsed here first
    if (!prev || replaces(row, prev)) byKey.set(key, row);
  });
  // A fixed order makes concurrent writers take row locks in the same order (no deadlocks).
  const rows = [...byKey.values()].sort(
    (a, b) => a.trace_time.getTime() - b.trace_time.getTime() || cmp(a.trace_id, b.trace_id) || cmp(a.id, b.id),
  );
  for (let i = 0; i < rows.length; i += store.options.batchSize) {
    const chunk = rows.slice(i, i + store.options.batchSize);
    try {
      await writeChunk(store, chunk);
    } catch (err) {
      if ((err as { code?: string }).code !== NO_PARTITION) throw err;
      forgetPartitions(store);
      await writeChunk(store, chunk);
    }
  }
  return { written: rows.length, rejected };
}

async function writeChunk(store: TraceStore, chunk: DocumentRow[]): Promise<void> {
  // The next day too, so the DDL for midnight's partition happens a day early, off the hot path.
  await ensurePartitions(store, chunk.flatMap((r) => [dayOf(r.trace_time.getTime() / 1000), dayOf(r.trace_time.getTime() / 1000) + 1]));
  const keys = new Map<string, TraceKey>();
  for (const r of chunk) keys.set(r.trace_id, { trace_time: r.trace_time, trace_id: r.trace_id });
  const updates = DOCUMENT_COLUMNS.filter((c) => c !== 'trace_time' && c !== 'trace_id' && c !== 'id')
    .map((c) => `${c} = excluded.${c}`)
    .join(', ');
  await store.sql.begin(async (tx) => {
    // the traces' locks before any row: the retention sweep takes the same ones (without waiting) before
    // it deletes a trace's rows, so it never waits on rows this transaction holds
    await lockTraces(tx, [...keys.keys()]);
    await tx`
      insert into ${tx.unsafe(qualified(store, 'documents'))} ${tx(chunk, DOCUMENT_COLUMNS)}
      on conflict (trace_time, trace_id, id) do update set ${tx.unsafe(updates)}, received_at = now()
      where not (excluded.in_progress and not documents.in_progress)`;
    await recomputeSummaries(tx, store, [...keys.values()]);
  });
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
