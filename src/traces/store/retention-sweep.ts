import { decide, type CompiledRule } from '../retention.js';
import { qualified, type TraceStore } from './store.js';

export interface SweepOptions {
  /** Seconds without a new document after which a trace is complete. */
  completeSeconds: number;
  /** Traces decided per transaction. @defaultValue 500 */
  limit?: number;
}

export interface SweepResult {
  /** traces the rules decided on */
  decided: number;
  /** of which deleted */
  dropped: number;
}

/** Whether a rule list keeps every trace whatever it holds: then there is nothing to sweep. */
export function keepsEverything(rules: readonly CompiledRule[]): boolean {
  return rules.length > 0 && rules[0]!.match.trim() === '' && rules[0]!.keep >= 1;
}

/**
 * Applies the tail-based retention rules to one batch of complete, undecided traces: each is kept
 * (marked decided) or deleted with its documents. Sweepers take disjoint batches (row locks, skipping
 * locked rows), and each trace only under the per-trace advisory lock the writer takes before it
 * touches a document, tried without waiting: none decides a trace while its documents are being
 * written, and a sweeper never waits for a writer, so the two cannot deadlock.
 * The decision itself depends on nothing but the rules, the trace's documents and its id: whichever
 * worker sweeps, the same traces are kept.
 */
export async function sweepRetention(store: TraceStore, rules: readonly CompiledRule[], opts: SweepOptions): Promise<SweepResult> {
  const limit = opts.limit ?? 500;
  return store.sql.begin(async (tx) => {
    const traces = tx.unsafe(qualified(store, 'traces'));
    const documents = tx.unsafe(qualified(store, 'documents'));
    const candidates = await tx<{ trace_time: Date; trace_id: string }[]>`
      select trace_time, trace_id from ${traces}
      where not decided and updated_at < now() - make_interval(secs => ${opts.completeSeconds})
      order by updated_at limit ${limit}
      for update skip locked`;
    if (candidates.length === 0) return { decided: 0, dropped: 0 };
    const ids = [...new Set(candidates.map((c) => c.trace_id))];
    const locked = await tx<{ trace_id: string }[]>`
      select x as trace_id from (select x, hashtextextended(x, 0) as k from unnest(${ids}::text[]) x) s
      where pg_try_advisory_xact_lock(k)`;
    if (locked.length === 0) return { decided: 0, dropped: 0 };
    // read again under the locks: a writer may have added a document since the first look
    const ready = await tx<{ trace_time: Date; trace_id: string }[]>`
      select trace_time, trace_id from ${traces}
      where trace_id = any(${locked.map((l) => l.trace_id)}::text[]) and not decided
        and updated_at < now() - make_interval(secs => ${opts.completeSeconds})`;
    if (ready.length === 0) return { decided: 0, dropped: 0 };
    const times = ready.map((r) => r.trace_time.toISOString());
    const readyIds = ready.map((r) => r.trace_id);
    const docs = await tx<{ trace_id: string; doc: string }[]>`
      select d.trace_id, d.doc from ${documents} d
      join unnest(${times}::timestamptz[], ${readyIds}::text[]) as u(trace_time, trace_id)
        on d.trace_time = u.trace_time and d.trace_id = u.trace_id`;
    const byTrace = new Map<string, object[]>();
    for (const d of docs) {
      let list = byTrace.get(d.trace_id);
      if (!list) byTrace.set(d.trace_id, (list = []));
      list.push(JSON.parse(d.doc) as object);
    }
    const keep: number[] = [];
    const drop: number[] = [];
    ready.forEach((r, i) => (decide(rules, r.trace_id, byTrace.get(r.trace_id) ?? []).keep ? keep : drop).push(i));
    const pick = (idx: number[]) => ({ t: idx.map((i) => times[i]!), id: idx.map((i) => readyIds[i]!) });
    if (keep.length) {
      const k = pick(keep);
      await tx`update ${traces} t set decided = true
        from unnest(${k.t}::timestamptz[], ${k.id}::text[]) as u(trace_time, trace_id)
        where t.trace_time = u.trace_time and t.trace_id = u.trace_id`;
    }
    if (drop.length) {
      const d = pick(drop);
      await tx`delete from ${documents} x using unnest(${d.t}::timestamptz[], ${d.id}::text[]) as u(trace_time, trace_id)
        where x.trace_time = u.trace_time and x.trace_id = u.trace_id`;
      await tx`delete from ${traces} x using unnest(${d.t}::timestamptz[], ${d.id}::text[]) as u(trace_time, trace_id)
        where x.trace_time = u.trace_time and x.trace_id = u.trace_id`;
    }
    return { decided: ready.length, dropped: drop.length };
  });
}
