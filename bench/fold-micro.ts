/**
 * Micro-benchmark of the aggregation worker's in-memory part of a batch: claimables + fold + encodeApply
 * (no Redis). Builds the seeded SHOP corpus, parses it to slim documents, assembles batches of 460, and
 * times the three steps over all batches, several rounds after a warm-up.
 *
 *   node --import tsx bench/fold-micro.ts [--segments 200000] [--rounds 7]
 */
import { buildCorpus } from './corpus.js';
import { parseDocument } from '../src/ingest/parse.js';
import type { SlimDoc } from '../src/ingest/record.js';
import { assemble } from '../src/aggregate/assemble.js';
import { claimables, fold } from '../src/aggregate/fold.js';
import { encodeApply, type AggregateOptions } from '../src/aggregate/store.js';
import { keySpace } from '../src/aggregate/keys.js';

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const SEGMENTS = arg('segments', 200_000);
const ROUNDS = arg('rounds', 7);
const BATCH = 460;
const WINDOW = 60;

const corpus = buildCorpus({ segments: SEGMENTS, seed: 42, rate: 500, startTime: 1_700_000_040, windowSeconds: WINDOW, docsPerRequest: 200 });
const docs: SlimDoc[] = [];
for (const t of corpus.texts) {
  const r = parseDocument(t);
  if (r.ok) docs.push(...r.docs);
}
// assemble once, outside the timed part (it clones documents when subsegments are loose)
const batches: SlimDoc[][] = [];
for (let i = 0; i < docs.length; i += BATCH) batches.push(assemble(docs.slice(i, i + BATCH), []).segments);
const keys = keySpace('x');
const opts: AggregateOptions = { windowSeconds: WINDOW, retentionSeconds: 600, dedupeTtlSeconds: 600, markerTtlSeconds: 600 };
let sink = 0;

function round(): { total: number; claim: number; fold: number; encode: number } {
  let claim = 0n;
  let foldT = 0n;
  let encode = 0n;
  for (let b = 0; b < batches.length; b++) {
    const segments = batches[b]!;
    const t0 = process.hrtime.bigint();
    const byWindow = claimables(segments, WINDOW);
    const t1 = process.hrtime.bigint();
    // the claim's answer (not timed: the store does this): every member is owned, as when nothing was
    // resent; the Set holds the very strings claimables() built, as the store's does
    const owned = new Set<string>();
    for (const ms of byWindow.values()) for (const m of ms) owned.add(m);
    const t2 = process.hrtime.bigint();
    const deltas = fold(segments, owned, WINDOW);
    const t3 = process.hrtime.bigint();
    for (const [w, d] of deltas) sink += encodeApply(keys, w, `job-${b}`, d, opts).length;
    const t4 = process.hrtime.bigint();
    claim += t1 - t0;
    foldT += t3 - t2;
    encode += t4 - t3;
  }
  const us = (ns: bigint) => Number(ns) / 1000 / docs.length;
  return { total: us(claim + foldT + encode), claim: us(claim), fold: us(foldT), encode: us(encode) };
}

for (let i = 0; i < 3; i++) round(); // warm-up
const results = [];
for (let i = 0; i < ROUNDS; i++) results.push(round());
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (x: number) => x.toFixed(3);
console.log(`docs ${docs.length}, batches ${batches.length} of ${BATCH}, rounds ${ROUNDS} (median, µs per document)`);
console.log(`  claimables   ${fmt(median(results.map((r) => r.claim)))}`);
console.log(`  fold         ${fmt(median(results.map((r) => r.fold)))}`);
console.log(`  encodeApply  ${fmt(median(results.map((r) => r.encode)))}`);
console.log(`  total        ${fmt(median(results.map((r) => r.total)))}   (min ${fmt(Math.min(...results.map((r) => r.total)))})`);
if (sink === 0) console.log('');
