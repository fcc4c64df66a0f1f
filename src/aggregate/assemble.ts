import type { SlimDoc, SlimEntity } from '../ingest/record.js';

/**
 * Puts independent subsegments back into the tree of the segment they belong to (the SDK streams
 * closed subsegments before their segment). A joined subsegment is marked `st` so it is de-duplicated
 * against an embedded copy of itself. Subsegments whose segment is not here are left over, to be parked.
 */
export interface Assembled {
  /** Segment documents, with every joinable subsegment attached. */
  segments: SlimDoc[];
  /** Batch subsegments whose segment is not in reach: to be parked until it comes. */
  leftovers: SlimDoc[];
  /** Parked subsegments that found their segment here: to be removed from the parking. */
  joinedParked: SlimDoc[];
}

function indexTree(trace: string, e: SlimEntity, index: Map<string, SlimEntity>): void {
  index.set(`${trace}/${e.i}`, e);
  if (e.c) for (const c of e.c) indexTree(trace, c, index);
}

export function assemble(docs: readonly SlimDoc[], parked: readonly SlimDoc[] = []): Assembled {
  const subsInBatch = docs.filter((d) => d.k === 'x');
  if (subsInBatch.length === 0 && parked.length === 0) {
    return { segments: docs.filter((d) => d.k === 's'), leftovers: [], joinedParked: [] };
  }
  // Work on copies: a retried job must assemble again from the same untouched input.
  const segments = docs.filter((d) => d.k === 's').map((s) => structuredClone(s));
  const loose = [
    ...subsInBatch.map((d) => ({ orig: d, doc: structuredClone(d), parked: false })),
    ...parked.map((d) => ({ orig: d, doc: structuredClone(d), parked: true })),
  ];
  const index = new Map<string, SlimEntity>();
  const owner = new Map<SlimEntity, 'segment' | SlimDoc>();
  const own = (e: SlimEntity, o: 'segment' | SlimDoc) => {
    owner.set(e, o);
    if (e.c) for (const c of e.c) own(c, o);
  };
  for (const s of segments) {
    indexTree(s.t, s, index);
    own(s, 'segment');
  }
  for (const l of loose) {
    indexTree(l.doc.t, l.doc, index);
    own(l.doc, l.doc);
  }
  const parentOf = (d: SlimDoc) => (d.p ? index.get(`${d.t}/${d.p}`) : undefined);
  const reachesSegment = (d: SlimDoc): boolean => {
    const seen = new Set<SlimDoc>();
    let cur: SlimDoc | undefined = d;
    while (cur && !seen.has(cur)) {
      seen.add(cur);
      const p = parentOf(cur);
      if (!p) return false;
      const o = owner.get(p);
      if (o === 'segment') return true;
      cur = o;
    }
    return false;
  };
  const reach = loose.map((l) => reachesSegment(l.doc));
  const leftovers: SlimDoc[] = [];
  const joinedParked: SlimDoc[] = [];
  loose.forEach((l, n) => {
    if (!reach[n]) {
      if (!l.parked) leftovers.push(l.orig);
      return;
    }
    const parent = parentOf(l.doc)!;
    const child = l.doc as SlimEntity & Partial<Pick<SlimDoc, 'k' | 't' | 'p'>>;
    delete child.k;
    delete child.t;
    delete child.p;
    child.st = 1;
    (parent.c ??= []).push(child);
    if (l.parked) joinedParked.push(l.orig);
  });
  return { segments, leftovers, joinedParked };
}
