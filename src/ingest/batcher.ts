import { randomUUID } from 'node:crypto';
import type { SlimDoc, IngestJob } from './record.js';

export interface BatcherOptions {
  /** Flush when a batch holds this many documents. */
  maxSegments: number;
  /** Flush a non-empty batch at most this long after its first document. */
  maxWaitMs: number;
  /** Queues one batch durably; rejects if it could not. */
  enqueue: (job: IngestJob) => Promise<void>;
  /** Prefix of batch ids (unique per process); defaults to a random UUID. */
  idPrefix?: string;
}

interface Pending {
  docs: SlimDoc[];
  /** Settles when this batch is queued (or failed to be). */
  done: Promise<void>;
  settle: (err?: unknown) => void;
  timer?: NodeJS.Timeout;
}

function newPending(): Pending {
  let settle!: (err?: unknown) => void;
  const done = new Promise<void>((resolve, reject) => {
    settle = (err?: unknown) => (err === undefined ? resolve() : reject(err));
  });
  // A batch nobody awaits (all its waiters already failed elsewhere) must not crash the process.
  done.catch(() => undefined);
  return { docs: [], done, settle };
}

/**
 * Gathers documents from any number of callers into ingest jobs of hundreds of documents, flushed on
 * size or time. `add` resolves once the documents are queued in Redis, so a caller can acknowledge only
 * what is durable.
 */
export class Batcher {
  private pending: Pending = newPending();
  private seq = 0;
  private readonly idPrefix: string;
  private inFlight = new Set<Promise<void>>();
  private closed = false;

  constructor(private readonly opts: BatcherOptions) {
    this.idPrefix = opts.idPrefix ?? randomUUID();
  }

  /** Adds documents; resolves when the batch holding them is queued. */
  add(docs: readonly SlimDoc[]): Promise<void> {
    if (this.closed) return Promise.reject(new Error('batcher is closed'));
    if (docs.length === 0) return Promise.resolve();
    // Every batch the documents land in must be queued before the caller hears "done".
    const touched: Array<Promise<void>> = [this.pending.done];
    for (const d of docs) {
      this.pending.docs.push(d);
      if (this.pending.docs.length >= this.opts.maxSegments) {
        void this.flush();
        touched.push(this.pending.done);
      }
    }
    if (this.pending.docs.length > 0 && !this.pending.timer) {
      this.pending.timer = setTimeout(() => this.flush(), this.opts.maxWaitMs);
    }
    if (this.pending.docs.length === 0) touched.pop();
    return touched.length === 1 ? touched[0]! : Promise.all(touched).then(() => undefined);
  }

  /** Sends the current batch now (no-op when empty). */
  flush(): Promise<void> {
    const batch = this.pending;
    this.pending = newPending();
    if (batch.timer) clearTimeout(batch.timer);
    if (batch.docs.length === 0) {
      batch.settle();
      return Promise.resolve();
    }
    const job: IngestJob = { id: `${this.idPrefix}-${++this.seq}`, docs: batch.docs };
    let p: Promise<void>;
    try {
      p = this.opts.enqueue(job).then(
        () => batch.settle(),
        (err) => batch.settle(err ?? new Error('enqueue failed')),
      );
    } catch (err) {
      batch.settle(err ?? new Error('enqueue failed'));
      p = Promise.resolve();
    }
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
    return p;
  }

  /** Documents waiting for the next flush. */
  get size(): number {
    return this.pending.docs.length;
  }

  /** Flushes what is pending and waits for every batch in flight. */
  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
    await Promise.allSettled([...this.inFlight]);
  }
}
