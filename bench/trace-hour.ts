import type { Sql } from 'postgres';
import { SHOP, traffic } from '../src/sim/traffic.js';
import type { TraceStore } from '../src/traces/store/store.js';
import { writeDocuments } from '../src/traces/store/writer.js';
import { decorateRequest } from './trace-decorate.js';

export interface StoreHourOptions {
  seed: number;
  /** client requests (traces) per second of event time */
  rate: number;
  /** epoch seconds of the first request */
  start: number;
  /** event time stored, seconds (3600 = the whole hour) */
  seconds: number;
  /** documents per writeDocuments call */
  docsPerCall: number;
  /** writeDocuments calls in flight */
  concurrency: number;
  log: (line: string) => void;
}

export interface StoredHour {
  traces: number;
  documents: number;
  /** total UTF-8 length of the documents' JSON */
  docBytes: number;
  /** event time actually covered, [start, end) */
  start: number;
  end: number;
  writeSeconds: number;
}

/**
 * Seeded SHOP traffic (decorated with customers, users and URLs) written straight to the store with
 * writeDocuments, whole requests per call, generated while earlier calls are in flight.
 */
export async function storeHour(store: TraceStore, opts: StoreHourOptions): Promise<StoredHour> {
  const gen = traffic({ seed: opts.seed, services: SHOP, entry: 'api-gateway', startTime: opts.start, rate: opts.rate });
  const end = opts.start + opts.seconds;
  let traces = 0;
  let documents = 0;
  let docBytes = 0;
  let done = false;
  const t0 = Date.now();
  let lastLog = t0;
  const nextCall = (): { text: string }[] | undefined => {
    if (done) return undefined;
    const docs: { text: string }[] = [];
    while (docs.length < opts.docsPerCall) {
      const req = gen.next().value!;
      if (req.time >= end) {
        done = true;
        break;
      }
      decorateRequest(req.docs, traces++);
      for (const d of req.docs) {
        const text = JSON.stringify(d);
        docBytes += Buffer.byteLength(text);
        docs.push({ text });
      }
    }
    return docs.length ? docs : undefined;
  };
  const lane = async () => {
    for (let docs = nextCall(); docs; docs = nextCall()) {
      const r = await writeDocuments(store, docs);
      if (r.rejected.length) throw new Error(`writeDocuments refused ${r.rejected.length} documents: ${r.rejected[0]!.reason}`);
      documents += r.written;
      if (Date.now() - lastLog >= 10_000) {
        lastLog = Date.now();
        opts.log(`  stored ${documents.toLocaleString('en-US')} documents of ${traces.toLocaleString('en-US')} traces so far (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
      }
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, lane));
  return { traces, documents, docBytes, start: opts.start, end, writeSeconds: (Date.now() - t0) / 1000 };
}

/** pg_total_relation_size (heap, TOAST, indexes) of a partitioned table and all its partitions. */
export async function tableBytes(sql: Sql, schema: string, table: string): Promise<number> {
  const [row] = (await sql.unsafe(
    `select coalesce(sum(pg_total_relation_size(p.relid)), 0)::float8 as bytes from pg_partition_tree($1::regclass) p`,
    [`"${schema}"."${table}"`],
  )) as unknown as [{ bytes: number }];
  return row.bytes;
}
