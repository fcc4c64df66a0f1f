import type { Verdict } from './applied.js';
import type { BareResult } from './bare-pipeline.js';
import type { Corpus } from './corpus.js';
import type { EndToEndResult } from './end-to-end.js';
import type { HttpFloorResult } from './http-floor.js';
import type { BenchOptions } from './options.js';
import { perSegment } from './cpu-meter.js';
import type { Footprint } from './redis-footprint.js';

/** The acceptance targets of the ingest path. */
export const TARGETS = {
  segmentsPerSecond: 100_000,
  ratioToBare: 0.8,
  /** 4 kB, read strictly (1 kB = 1000 B) */
  bytesPerServiceWindow: 4000,
} as const;

export interface SummaryInput {
  opts: BenchOptions;
  corpus: Corpus;
  parse: { perSecond: number; othersCores: number };
  http?: HttpFloorResult;
  e2e: EndToEndResult;
  bare?: BareResult;
  verdict: Verdict;
  footprint: Footprint;
  meanBatch: number;
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const mb = (b: number | undefined) => (b === undefined ? '?' : `${(b / 1048576).toFixed(0)} MB`);
const verdictOf = (ok: boolean) => (ok ? 'PASS' : 'MISS');

/**
 * What no implementation of this pipeline can do better than on this machine, from three floors
 * measured in the same run, each a part of the end-to-end work that the others do not include:
 * moving the jobs through BullMQ (the bare pipeline: producer, no-op worker, Redis), JSON.parse of
 * every document (the door must parse a document to say whether it is refused), and carrying the
 * request bodies over HTTP (load generator and a server that reads them). Validation, aggregation
 * and the aggregates' Redis writes come on top. CPU-bound on `cores` cores, as every phase is here,
 * no pipeline passes cores ÷ floor; and so none reaches more than that over the bare pipeline's rate.
 * (JSON.parse stands for parsing: V8's is the fastest JSON parser a Node process has.)
 */
export function floors(s: Pick<SummaryInput, 'corpus' | 'parse' | 'http' | 'bare'>): { bareUs: number; parseUs: number; httpUs: number; totalUs: number; maxRatio: number; maxPerSecond: number } | undefined {
  if (!s.bare || !s.http) return undefined;
  const bareUs = perSegment(s.bare.cpu, s.bare.segments).totalUs;
  const h = perSegment(s.http.cpu, s.corpus.expected.segments).us;
  // the sink's Redis reading is whatever else used that Redis meanwhile: not HTTP's
  const httpUs = (h['http-sink'] ?? 0) + (h.bench ?? 0);
  const parseUs = 1e6 / s.parse.perSecond;
  const totalUs = bareUs + parseUs + httpUs;
  const maxPerSecond = (s.bare.cpu.cores * 1e6) / totalUs;
  return { bareUs, parseUs, httpUs, totalUs, maxRatio: maxPerSecond / s.bare.perSecond, maxPerSecond };
}

/** The table at the end of the run: the figures, the targets and PASS/MISS. */
export function printSummary(s: SummaryInput): void {
  const { corpus, e2e, bare, footprint: f } = s;
  const bytesPerSW = f.node.keys ? (f.node.bytes + f.edge.bytes + f.sets.bytes + f.links.bytes) / f.node.keys : NaN;
  const ratio = bare ? e2e.perSecond / bare.perSecond : NaN;
  const cost = perSegment(e2e.cpu, corpus.expected.segments);
  const costs = Object.entries(cost.us).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ');
  const rows: Array<[string, string, string, string]> = [
    ['segments', fmt(corpus.expected.segments), `${fmt(corpus.bodies.length)} requests of ≤${s.opts.docsPerRequest}; ${corpus.windows.length} windows of ${s.opts.windowSeconds} s`, ''],
    ['end to end, seconds', e2e.seconds.toFixed(2), 'first request → last segment applied', ''],
    ['end to end, segments/s', fmt(e2e.perSecond), `target ≥ ${fmt(TARGETS.segmentsPerSecond)}`, verdictOf(e2e.perSecond >= TARGETS.segmentsPerSecond)],
    ['door only, segments/s', fmt(corpus.expected.segments / e2e.doorSeconds), 'first request → last acknowledged (queued)', ''],
    ['JSON.parse only, segments/s', fmt(s.parse.perSecond), 'same documents, one core', ''],
    ['bare BullMQ, segments/s', bare ? fmt(bare.perSecond) : 'skipped', bare ? `${fmt(bare.jobs)} jobs of ${fmt(bare.segments / bare.jobs)}, no-op processor, concurrency ${s.opts.workerConcurrency}` : '', ''],
    ['end to end / bare', bare ? ratio.toFixed(2) : '-', `target ≥ ${TARGETS.ratioToBare}`, bare ? verdictOf(ratio >= TARGETS.ratioToBare) : ''],
    ['HTTP only, segments/s', s.http ? fmt(s.http.perSecond) : 'skipped', s.http ? 'same bodies to a server that reads them, parses nothing' : '', ''],
    ...floorRows(s),
    ['CPU µs per segment, e2e', cost.totalUs.toFixed(1), costs, ''],
    ['CPU-bound ceiling, seg/s', fmt(cost.coresCeiling), `${e2e.cpu.cores} cores ÷ total CPU per segment; ${cost.busiest} alone on one core: ${fmt(cost.threadCeiling)}`, ''],
    ['worker peak RSS', mb(e2e.workerPeakRss), 'VmHWM', ''],
    ['server peak RSS', mb(e2e.serverPeakRss), 'VmHWM', ''],
    ['Redis B per service-window', Number.isFinite(bytesPerSW) ? fmt(bytesPerSW) : '?', `target ≤ ${fmt(TARGETS.bytesPerServiceWindow)}; nodes+edges+sets+links / ${f.node.keys} service-windows`, verdictOf(bytesPerSW <= TARGETS.bytesPerServiceWindow)],
    ['Redis B per edge-window', f.edge.keys ? fmt(f.edge.bytes / f.edge.keys) : '?', `${f.edge.keys} edge-windows (included above)`, ''],
    ['totals', s.verdict.ok ? 'OK' : 'MISMATCH', 'per window, per service, faults, edges', ''],
  ];
  const w0 = Math.max(...rows.map((r) => r[0].length));
  const w1 = Math.max(...rows.map((r) => r[1].length));
  const w2 = Math.max(...rows.map((r) => r[2].length));
  const line = '─'.repeat(w0 + w1 + w2 + 12);
  console.log(`\nSUMMARY (WORKER_CONCURRENCY=${s.opts.workerConcurrency}, BATCH_MAX_SEGMENTS=${s.opts.batchMaxSegments}, mean job ${s.meanBatch.toFixed(0)} docs, ${s.opts.httpConcurrency} requests in flight)`);
  console.log(line);
  for (const [a, b, c, d] of rows) console.log(`${a.padEnd(w0)}  ${b.padStart(w1)}  ${c.padEnd(w2)}  ${d}`);
  console.log(line);
  const others = (u: { machine: number; bench: number; redis: number; children: Record<string, number>; wallSeconds: number }) =>
    Math.max(0, u.machine - u.bench - u.redis - Object.values(u.children).reduce((a, b) => a + b, 0)) / u.wallSeconds;
  // JSON.parse runs on one core: neighbours hurt it only once they want more than the other cores
  const parseLoss = s.parse.othersCores - (e2e.cpu.cores - 1);
  const busy = [['JSON.parse only', parseLoss, s.parse.othersCores] as const, ['end to end', others(e2e.cpu), others(e2e.cpu)] as const, ...(bare ? [['bare pipeline', others(bare.cpu), others(bare.cpu)] as const] : [])].filter(
    ([, loss]) => loss > 0.25,
  );
  for (const [phase, , c] of busy) console.log(`note: other processes used ${c.toFixed(2)} of ${e2e.cpu.cores} cores during the ${phase} run: its figure understates this code (the CPU µs per segment hold up better)`);
}

function floorRows(s: SummaryInput): Array<[string, string, string, string]> {
  const f = floors(s);
  if (!f) return [];
  return [
    ['floor, CPU µs per segment', f.totalUs.toFixed(1), `bare BullMQ ${f.bareUs.toFixed(1)} + JSON.parse ${f.parseUs.toFixed(1)} + HTTP ${f.httpUs.toFixed(1)}; no validation, no aggregation`, ''],
    ['best possible e2e, seg/s', fmt(f.maxPerSecond), `${s.bare!.cpu.cores} cores ÷ floor (target ${fmt(TARGETS.segmentsPerSecond)})`, f.maxPerSecond >= TARGETS.segmentsPerSecond ? '' : 'UNREACHABLE'],
    ['best possible e2e / bare', f.maxRatio.toFixed(2), `the line above ÷ bare BullMQ's rate (target ${TARGETS.ratioToBare})`, f.maxRatio >= TARGETS.ratioToBare ? '' : 'UNREACHABLE'],
  ];
}
