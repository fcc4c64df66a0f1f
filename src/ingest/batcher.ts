import { randomUUID } from 'node:crypto';
import type { SlimDoc } from './record.js';

/** One batch as it is queued: a process-unique id and its documents. */
export interface Batch<D> {
  id: string;
  docs: D[];
}

export interface BatcherOptions<D = SlimDoc> {
  /** Flush when a batch holds this many documents. */
  maxSegments: number;
  /** Flush a non-empty batch at most this long after its first document. */
  maxWaitMs: number;
  /** Queues one batch durably; rejects if it could not. */
  enqueue: (job: Batch<D>) => Promise<void>;
  /** Prefix of batch ids (unique per process); defaults to a random UUID. */
  idPrefix?: string;
}

interface Pending<D> {
  docs: D[];
  /** Settles when this batch is queued (or failed to be). */
  done: Promise<void>;
  settle: (err?: unknown) => void;
  timer?: NodeJS.Timeout;
  /** a caller asked for the batch to go as soon as the one in flight is queued */
  eager?: boolean;
}

function newPending<D>(): Pending<D> {
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
export class Batcher<D = SlimDoc> {
  private pending: Pending<D> = newPending();
  private seq = 0;
  private readonly idPrefix: string;
  private inFlight = new Set<Promise<void>>();
  private closed = false;

  constructor(private readonly opts: BatcherOptions<D>) {
    this.idPrefix = opts.idPrefix ?? randomUUID();
  }

  /**
   * Adds documents; resolves when the batch holding them is queued. With `eager`, the batch goes out at
   * once when no other batch is being queued (group commit): a lone request waits for nothing, while
   * under load requests pile into the batch that is waiting, so jobs stay large.
   */
  add(docs: readonly D[], opts: { eager?: boolean } = {}): Promise<void> {
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
    else if (opts.eager) {
      if (this.inFlight.size === 0) void this.flush();
      else this.pending.eager = true;
    }
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
    const job: Batch<D> = { id: `${this.idPrefix}-${++this.seq}`, docs: batch.docs };
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
    void p.finally(() => {
      this.inFlight.delete(p);
      if (this.inFlight.size === 0 && this.pending.eager && this.pending.docs.length) void this.flush();
    });
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
