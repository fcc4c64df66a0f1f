import { SHOP, traffic } from '../src/sim/traffic.js';
import { windowOf } from '../src/aggregate/keys.js';
import { machineCpu } from './children.js';

/** What the aggregates must say once every document of a corpus is applied. */
export interface Expected {
  segments: number;
  /** window start → segment documents starting in it */
  perWindow: Map<number, number>;
  /** service name → segment documents */
  perService: Map<string, number>;
  /** service name → documents with fault: true */
  faultsPerService: Map<string, number>;
  /** client → root edges plus one per outermost downstream call */
  edgeRequests: number;
}

/** Pre-generated input: the documents, and the PutTraceSegments bodies carrying them. */
export interface Corpus {
  /** every segment document, serialized, in the order sent */
  texts: string[];
  /** request bodies, `{"TraceSegmentDocuments":[…]}`, each `docsPerRequest` documents (the last fewer) */
  bodies: Buffer[];
  /** total length of the document strings */
  docBytes: number;
  bodyBytes: number;
  expected: Expected;
  /** window starts holding segments, ascending */
  windows: number[];
  /** event time the traffic covers, seconds */
  eventSeconds: number;
}

export interface CorpusOptions {
  segments: number;
  seed: number;
  rate: number;
  startTime: number;
  windowSeconds: number;
  docsPerRequest: number;
  /** changes a request's documents before they are serialized (`n`: the request's number, from 0) */
  decorate?: (docs: Array<Record<string, unknown>>, n: number) => void;
}

type Entity = { namespace?: unknown; subsegments?: Entity[] };

/** Downstream calls (namespace remote/aws) not inside another call: one edge request each. */
function outermostCalls(e: Entity): number {
  let n = 0;
  for (const sub of e.subsegments ?? []) n += sub.namespace === 'remote' || sub.namespace === 'aws' ? 1 : outermostCalls(sub);
  return n;
}

const bump = <K>(m: Map<K, number>, k: K, n = 1) => m.set(k, (m.get(k) ?? 0) + n);

/** Seeded SHOP traffic until at least `segments` documents (whole traces), serialized once. */
export function buildCorpus(opts: CorpusOptions): Corpus {
  const gen = traffic({ seed: opts.seed, services: SHOP, entry: 'api-gateway', startTime: opts.startTime, rate: opts.rate });
  const texts: string[] = [];
  const bodies: Buffer[] = [];
  const expected: Expected = { segments: 0, perWindow: new Map(), perService: new Map(), faultsPerService: new Map(), edgeRequests: 0 };
  let docBytes = 0;
  let bodyBytes = 0;
  let lastTime = opts.startTime;
  let chunk: string[] = [];
  const flush = () => {
    if (!chunk.length) return;
    const body = Buffer.from(JSON.stringify({ TraceSegmentDocuments: chunk }));
    bodyBytes += body.length;
    bodies.push(body);
    chunk = [];
  };
  let requests = 0;
  while (texts.length < opts.segments) {
    const req = gen.next().value!;
    opts.decorate?.(req.docs, requests++);
    lastTime = req.time;
    for (const doc of req.docs) {
      const text = JSON.stringify(doc);
      texts.push(text);
      docBytes += text.length;
      chunk.push(text);
      if (chunk.length >= opts.docsPerRequest) flush();
      // the completion check counts node requests: every document must be one complete segment
      if (doc.type === 'subsegment' || doc.in_progress) throw new Error('the simulator sent a subsegment or in-progress document; bench/corpus.ts counts only whole segments');
      const name = doc.name as string;
      expected.segments++;
      bump(expected.perWindow, windowOf(doc.start_time as number, opts.windowSeconds));
      bump(expected.perService, name);
      if (doc.fault) bump(expected.faultsPerService, name);
      if (!doc.parent_id) expected.edgeRequests++;
      expected.edgeRequests += outermostCalls(doc);
    }
  }
  flush();
  return {
    texts,
    bodies,
    docBytes,
    bodyBytes,
    expected,
    windows: [...expected.perWindow.keys()].sort((a, b) => a - b),
    eventSeconds: lastTime - opts.startTime,
  };
}

/**
 * JSON.parse of every document string, nothing else: the floor under any door that reads JSON.
 * One untimed warm-up pass over a slice, then one timed pass over all.
 */
export function jsonParseRate(texts: readonly string[]): { seconds: number; perSecond: number; othersCores: number } {
  let sink = 0;
  const warm = Math.min(texts.length, 20_000);
  for (let i = 0; i < warm; i++) sink += (JSON.parse(texts[i]!) as { id: string }).id.length;
  const m0 = machineCpu();
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < texts.length; i++) sink += (JSON.parse(texts[i]!) as { id: string }).id.length;
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const c = process.cpuUsage(c0);
  const othersCores = Math.max(0, machineCpu().busy - m0.busy - (c.user + c.system) / 1e6) / seconds;
  if (sink === 0) throw new Error('unreachable: documents without ids');
  return { seconds, perSecond: texts.length / seconds, othersCores };
}
