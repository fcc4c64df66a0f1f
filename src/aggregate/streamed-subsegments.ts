import type { Redis } from 'ioredis';
import type { IngestJob, SlimDoc, SlimEntity } from '../ingest/record.js';
import { slimDocSchema } from '../ingest/record.js';
import { assemble } from './assemble.js';
import { memberOf } from './fold.js';
import type { KeySpace } from './keys.js';
import { nodeId, parseNodeId } from './graph-ids.js';
import type { Unit, UnitApplier } from './apply-unit.js';
import { pipeline, type Pipe } from '../redis/pipeline.js';
import { parkScript, unparkScript } from './scripts.js';

/** Parked subsegments are grouped in buckets of this many seconds of event time. */
export const ORPHAN_BUCKET_SECONDS = 600;
const ORPHAN_TTL_SECONDS = 3600;
/** How long a segment's skeleton is kept for a subsegment that comes after it. */
const SKELETON_TTL_SECONDS = 900;
/** How long after the last independent subsegment segments keep leaving skeletons. */
const STREAMING_TTL_SECONDS = 3600;

/** What a batch's parking step learnt, read from the answers of the pipeline it wrote into. */
export interface ParkingAnswer {
  /** Whether a subsegment was parked for one of the batch's traces meanwhile (another batch, now). */
  parkedSince: boolean;
}

/**
 * Independent (streamed) subsegments whose segment is in another batch. A subsegment that comes before
 * its segment is parked (per time bucket, trace id → NDJSON) until a batch holding the segment fetches
 * it and joins it in; a segment leaves a skeleton (while the traffic streams at all), so that a
 * subsegment coming after it can still be joined: the late join, applied as a unit of its own.
 */
export class StreamedSubsegments {
  /** Whether independent subsegments were in the traffic lately (learnt from Redis after each batch). */
  private streaming = false;

  constructor(
    private readonly redis: Redis,
    readonly keys: KeySpace,
    private readonly units: UnitApplier,
  ) {}

  /** Subsegments parked for the traces of a batch's segments. */
  async fetchParked(docs: readonly SlimDoc[]): Promise<SlimDoc[]> {
    const buckets = bucketsOf(docs);
    if (buckets.size === 0) return [];
    // Most of the time nothing is parked: ask how much is, before sending every trace id of the batch.
    const sizes = pipeline(this.redis);
    for (const b of buckets.keys()) sizes.hlen(this.keys.orphans(b));
    const counts = (await sizes.exec()) ?? [];
    [...buckets.keys()].forEach((b, i) => {
      const [err, n] = counts[i]!;
      if (err) throw err;
      if (n === 0) buckets.delete(b);
    });
    if (buckets.size === 0) return [];
    const pipe = pipeline(this.redis);
    const order: Array<string[]> = [];
    for (const [b, traces] of buckets) {
      const list = [...traces];
      order.push(list);
      pipe.hmget(this.keys.orphans(b), ...list);
    }
    const res = (await pipe.exec()) ?? [];
    const out: SlimDoc[] = [];
    const seen = new Set<string>();
    res.forEach(([err, values]) => {
      if (err) throw err;
      for (const v of values as Array<string | null>) {
        if (!v) continue;
        for (const line of v.split('\n')) {
          if (seen.has(line)) continue;
          seen.add(line);
          const parsed = slimDocSchema.safeParse(JSON.parse(line));
          if (parsed.success) out.push(parsed.data);
        }
      }
    });
    return out;
  }

  /**
   * Adds a batch's parking to its post-application pipeline: its leftovers parked, the parked
   * subsegments it joined unparked, the skeletons of its segments; then asks what was parked meanwhile.
   * Call `read` with the pipeline's answers.
   */
  park(post: Pipe, job: IngestJob, parts: { leftovers: readonly SlimDoc[]; parked: readonly SlimDoc[]; joinedParked: readonly SlimDoc[]; unit: Unit }): { read(res: Array<[Error | null, unknown]>): ParkingAnswer } {
    const { leftovers, parked, joinedParked, unit } = parts;
    for (const [b, pairs] of byOrphanBucket(leftovers)) parkScript.queue(post, { key: this.keys.orphans(b), ttl: ORPHAN_TTL_SECONDS, pairs });
    this.unpark(post, joinedParked, unit);
    // Skeletons cost a field per segment, so they are written only while the traffic has independent
    // subsegments at all (an hour after the last one seen by any worker).
    const loose = leftovers.length > 0 || parked.length > 0 || job.docs.some((d) => d.k === 'x');
    if (loose) post.set(this.keys.streaming(), '1', 'EX', STREAMING_TTL_SECONDS);
    if (loose || this.streaming) {
      for (const [b, fields] of skeletonsOf(job.docs)) {
        post.hset(this.keys.skeletons(b), fields);
        post.expire(this.keys.skeletons(b), SKELETON_TTL_SECONDS);
      }
    }
    const streamingAt = post.length;
    post.exists(this.keys.streaming());
    // what was parked in the meantime for these traces (another batch, at the same moment)
    const recheckFrom = post.length;
    for (const b of bucketsOf(job.docs).keys()) post.hlen(this.keys.orphans(b));
    return {
      read: (res) => {
        this.streaming = Number(res[streamingAt]![1]) === 1;
        return { parkedSince: res.slice(recheckFrom).some(([, n]) => Number(n) > 0) };
      },
    };
  }

  /**
   * Streamed subsegments and their segment in different batches, the other way round from the usual:
   * the segment was applied before its subsegment came (or at the same moment, in another batch).
   * Each side writes first and looks second — a batch parks its loose subsegments, then looks for the
   * skeletons of their segments; a batch records the skeletons of its segments, then looks at the
   * parking — so whichever way two batches interleave, at least one of them finds the other. Both may:
   * the join is claimed like anything else, so a subsegment counts once. The join is its own unit
   * (`<job>:late`, applied once per window like a batch), and leaves the parking only once applied.
   * Only the subsegment's own calls are counted then: its segment's counts were applied without it.
   */
  async lateJoin(job: IngestJob, leftovers: readonly SlimDoc[], parkedSince: boolean): Promise<Unit | undefined> {
    const pseudo = leftovers.length ? await this.segmentsOf(leftovers) : [];
    const parked = parkedSince ? await this.fetchParked(job.docs) : [];
    if (!pseudo.length && !parked.length) return undefined;
    // the loose subsegments (this batch's, and any parked for its traces) with every segment they may hang on
    const docs = [...job.docs.filter((d) => d.k === 's'), ...pseudo];
    const loose = [...leftovers, ...parked];
    const { segments, joinedParked } = assemble(docs, loose);
    if (!joinedParked.length) return undefined;
    const unit = await this.units.apply(`${job.id}:late`, segments);
    const post = pipeline(this.redis);
    this.units.bookkeeping(post, unit);
    this.unpark(post, joinedParked, unit);
    await exec(post);
    return unit;
  }

  /** Joined subsegments leave the parking, only those a claim of the unit covered; the rest wait on. */
  private unpark(post: Pipe, joined: readonly SlimDoc[], u: Unit): void {
    const covered = joined.filter((d) => u.claimed.has(memberOf(d.t, d.i)));
    for (const [b, pairs] of byOrphanBucket(covered)) unparkScript.queue(post, { key: this.keys.orphans(b), pairs });
  }

  /** Stand-ins for the segments that loose subsegments hang on, from the skeletons of applied segments. */
  private async segmentsOf(loose: readonly SlimDoc[]): Promise<SlimDoc[]> {
    const lookups = new Map<number, Set<string>>();
    /** member asked → a loose subsegment asking for it */
    const askers = new Map<string, SlimDoc>();
    for (const d of loose) {
      if (!d.p) continue;
      askers.set(memberOf(d.t, d.p), d);
      const b = Math.floor(d.s / ORPHAN_BUCKET_SECONDS);
      // the segment started before its subsegment: this bucket or the one before
      for (const x of [b, b - 1]) {
        let set = lookups.get(x);
        if (!set) lookups.set(x, (set = new Set()));
        set.add(memberOf(d.t, d.p));
      }
    }
    if (!lookups.size) return [];
    const pipe = pipeline(this.redis);
    const asked: string[][] = [];
    for (const [b, members] of lookups) {
      const list = [...members];
      asked.push(list);
      pipe.hmget(this.keys.skeletons(b), ...list);
    }
    const res = await exec(pipe);
    const out = new Map<string, SlimDoc>();
    res.forEach(([, values], k) => {
      (values as Array<string | null>).forEach((v, i) => {
        if (!v) return;
        const sk = parseSkeleton(v);
        const asker = askers.get(asked[k]![i]!);
        if (!sk || !asker) return;
        const key = `${asker.t}/${sk.segment}`;
        let seg = out.get(key);
        if (!seg) {
          seg = { k: 's', t: asker.t, i: sk.segment, n: sk.name, s: sk.start, e: sk.start };
          if (sk.type) seg.ty = sk.type;
          out.set(key, seg);
        }
        // a local subsegment of it that a loose one hangs on: a stand-in child, outside any call
        const entity = asker.p!;
        if (entity !== sk.segment && !seg.c?.some((c) => c.i === entity)) (seg.c ??= []).push({ i: entity, n: '', s: sk.start, e: sk.start });
      });
    });
    return [...out.values()];
  }
}

/** Runs a pipeline; the first failed command fails it. */
export async function exec(pipe: Pipe): Promise<Array<[Error | null, unknown]>> {
  const res = (await pipe.exec()) ?? [];
  for (const [err] of res) if (err) throw err;
  return res;
}

/** The parking buckets a batch's segments may have subsegments parked in, with their trace ids. */
function bucketsOf(docs: readonly SlimDoc[]): Map<number, Set<string>> {
  const out = new Map<number, Set<string>>();
  for (const d of docs) {
    if (d.k !== 's') continue;
    const lo = Math.floor(d.s / ORPHAN_BUCKET_SECONDS);
    const hi = Math.floor(d.e / ORPHAN_BUCKET_SECONDS);
    for (let b = lo; b <= hi; b++) {
      let set = out.get(b);
      if (!set) out.set(b, (set = new Set()));
      set.add(d.t);
    }
  }
  return out;
}

/** Parked subsegments as (trace, line) pairs per parking bucket. */
function byOrphanBucket(docs: readonly SlimDoc[]): Map<number, string[]> {
  const out = new Map<number, string[]>();
  for (const d of docs) {
    const b = Math.floor(d.s / ORPHAN_BUCKET_SECONDS);
    let list = out.get(b);
    if (!list) out.set(b, (list = []));
    list.push(d.t, JSON.stringify(d));
  }
  return out;
}

/**
 * Skeletons of a batch's segments, per time bucket of their start: for the segment and each local
 * subsegment (not a call, not inside one) — what a streamed subsegment could hang on and still have
 * its calls counted — member → `<segment id>\t<start>\t<node id>` (the member holds the entity id and
 * the end of the trace id; the subsegment that asks has the whole trace id).
 */
function skeletonsOf(docs: readonly SlimDoc[]): Map<number, Record<string, string>> {
  const out = new Map<number, Record<string, string>>();
  for (const d of docs) {
    if (d.k !== 's') continue;
    const b = Math.floor(d.s / ORPHAN_BUCKET_SECONDS);
    let fields = out.get(b);
    if (!fields) out.set(b, (fields = {}));
    const value = `${d.i}\t${d.s}\t${nodeId(d.ty ?? '', d.n)}`;
    const add = (e: SlimEntity) => {
      fields![memberOf(d.t, e.i)] = value;
      if (e.c) for (const c of e.c) if (!c.ns) add(c);
    };
    add(d);
  }
  return out;
}

function parseSkeleton(v: string): { segment: string; start: number; type: string; name: string } | undefined {
  const t1 = v.indexOf('\t');
  const t2 = v.indexOf('\t', t1 + 1);
  if (t1 < 1 || t2 < 0) return undefined;
  const start = Number(v.slice(t1 + 1, t2));
  if (!Number.isFinite(start)) return undefined;
  const { type, name } = parseNodeId(v.slice(t2 + 1));
  return { segment: v.slice(0, t1), start, type, name };
}
