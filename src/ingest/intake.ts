import type { Batcher } from './batcher.js';
import { parseDocument, type Rejection } from './parse.js';
import type { SlimDoc } from './record.js';
import type { Metrics } from '../obs/metrics.js';

export type Door = 'http' | 'udp' | 'file';

export interface IntakeOptions {
  /** Wall clock (epoch seconds) for refusing far-future timestamps; undefined disables the check (replay). */
  now?: () => number;
  maxFutureSeconds?: number;
  /** Where accepted documents go, whole, for the trace store; never fails a submission. */
  traces?: { add(texts: readonly string[]): Promise<void> };
}

export interface IntakeResult {
  /** Resolves when every accepted document is queued; rejects if the queue is unreachable. */
  queued: Promise<void>;
  accepted: number;
  /** largest start_time among the accepted documents (0 when none): replay's reading position in event time */
  maxStartTime: number;
  /** each refusal, with the position of its document in the submitted list */
  rejections: Array<Rejection & { index: number }>;
}

/** The one path every door shares: validate each document, count and explain refusals, batch the rest. */
export class Intake {
  constructor(
    private readonly batcher: Batcher,
    private readonly metrics: Metrics | undefined,
    private readonly opts: IntakeOptions = {},
  ) {}

  submit(door: Door, texts: readonly string[]): IntakeResult {
    const now = this.opts.now?.();
    const docs: SlimDoc[] = [];
    const rejections: IntakeResult['rejections'] = [];
    let inProgress = 0;
    let maxStartTime = 0;
    const kept: string[] | undefined = this.opts.traces ? [] : undefined;
    for (let index = 0; index < texts.length; index++) {
      const r = parseDocument(texts[index]!, { now, maxFutureSeconds: this.opts.maxFutureSeconds });
      if (r.ok) {
        for (const d of r.docs) {
          docs.push(d);
          if (d.s > maxStartTime) maxStartTime = d.s;
        }
        inProgress += r.inProgress;
        kept?.push(texts[index]!);
      } else {
        rejections.push({ ...r.rejection, index });
        this.metrics?.documentsRejected.inc({ door, code: r.rejection.code });
      }
    }
    this.metrics?.documentsReceived.inc({ door }, texts.length);
    if (inProgress) this.metrics?.inProgress.inc({ door }, inProgress);
    const accepted = texts.length - rejections.length;
    // A request/response door waits for its documents to be durable: queue them without delay when idle.
    const counted = this.batcher.add(docs, { eager: door === 'http' }).then(() => {
      this.metrics?.documentsAccepted.inc({ door }, accepted);
    });
    // the store's copy is queued alongside; it settles either way, so only the counters' queue can fail a submission
    const queued = kept?.length ? Promise.all([counted, this.opts.traces!.add(kept)]).then(() => undefined) : counted;
    return { queued, accepted, rejections, maxStartTime };
  }
}
