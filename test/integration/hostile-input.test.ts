import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropPrefix, redisUrl, testRedis, uniquePrefix } from '../helpers/redis.js';
import { drainQueue } from '../helpers/stack.js';
import { killAll, spawnServer, type ServerProcess } from '../helpers/processes.js';
import { expectGraph, expectedGraph, type Doc } from '../helpers/expected-graph.js';
import { HOSTILE_NAME, hostileDocs, type HostileDoc } from '../helpers/hostile-docs.js';
import { traffic, SHOP } from '../../src/sim/traffic.js';
import { Rng } from '../../src/sim/random.js';
import { QUEUE, bullPrefix } from '../../src/queue/queues.js';
import { windowOf } from '../../src/aggregate/keys.js';

/**
 * Acceptance: ≥ 1,000 malformed or hostile documents mixed into good traffic, through PutTraceSegments
 * and the UDP daemon protocol, against a real `trace-insights start` process: it stays up, every good
 * document is counted, every refusal has a reason (in the answer) and a counter (in /metrics).
 */

const WINDOW = 60;
const START = 1_700_000_000;
const HEADER = '{"format": "json", "version": 1}\n';

interface BadDatagram {
  label: string;
  bytes: Buffer;
  reason: 'missing_header' | 'bad_header' | 'invalid_utf8' | 'empty_body';
}

/** Datagrams the UDP door must drop before any parsing, each with the reason it must count. */
function badDatagrams(perKind: number, rng: Rng): BadDatagram[] {
  const doc = () => JSON.stringify({ trace_id: `1-${START.toString(16)}-${rng.hex(24)}`, id: rng.hex(16), name: HOSTILE_NAME, start_time: START + 1, end_time: START + 2 });
  const b = (...parts: Array<string | number[] | Buffer>) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : Buffer.from(p))));
  const garbage = (n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(rng.next() * 256)));
  const noNewline = (buf: Buffer) => Buffer.from(buf.map((x) => (x === 0x0a ? 0x0b : x)));
  const kinds: Array<[BadDatagram['reason'], string, () => Buffer]> = [
    ['missing_header', 'a document without the header line', () => b(doc())],
    ['missing_header', 'binary garbage without a newline', () => noNewline(garbage(1 + Math.floor(rng.next() * 1400)))],
    ['missing_header', '60 kB of binary garbage without a newline', () => noNewline(garbage(60_000))],
    ['bad_header', 'header is not JSON', () => b('hello\n', doc())],
    ['bad_header', 'header is empty', () => b('\n', doc())],
    ['bad_header', 'format xml', () => b('{"format":"xml","version":1}\n', doc())],
    ['bad_header', 'version 2', () => b('{"format":"json","version":2}\n', doc())],
    ['bad_header', 'version "1" as a string', () => b('{"format":"json","version":"1"}\n', doc())],
    ['bad_header', 'no version', () => b('{"format":"json"}\n', doc())],
    ['bad_header', 'header is null', () => b('null\n', doc())],
    ['bad_header', 'header is an array', () => b('[]\n', doc())],
    ['invalid_utf8', '0xff in the document', () => b(HEADER, `{"name":"${HOSTILE_NAME}`, [0xff], '"}')],
    ['invalid_utf8', 'overlong encoding in the document', () => b(HEADER, '{"name":"', [0xc0, 0xaf], '"}')],
    ['invalid_utf8', 'UTF-16 surrogate encoded in the document', () => b(HEADER, '{"name":"', [0xed, 0xa0, 0x80], '"}')],
    ['invalid_utf8', 'document ends inside a character', () => b(HEADER, doc(), [0xe2, 0x82])],
    ['invalid_utf8', 'invalid bytes in the header', () => b('{"format":"json","version":1,"x":"', [0xc3, 0x28], '"}\n', doc())],
    ['invalid_utf8', 'binary garbage with a newline', () => b([0xff], garbage(200), '\n', garbage(300))],
    ['empty_body', 'header only', () => b(HEADER)],
    ['empty_body', 'header and whitespace', () => b(HEADER, '  \t\r\n  ')],
  ];
  const out: BadDatagram[] = [];
  for (let i = 0; i < perKind; i++) for (const [reason, label, make] of kinds) out.push({ reason, label, bytes: make() });
  return out;
}

/**
 * Documents that look hostile but are valid, and must be counted like any other: keys and names that
 * are special to JavaScript objects, names with the characters our ids use as separators, upper-case
 * ids, a cause given as a non-hex exception id, and metadata nested 20,000 deep (opaque to us, and
 * deeper than JSON.stringify can write).
 */
function oddButValid(rng: Rng): Array<{ doc: Doc; text: string }> {
  const base = (name: string): Doc => ({ trace_id: `1-${START.toString(16)}-${rng.hex(24)}`, id: rng.hex(16), name, start_time: START + 5, end_time: START + 5.02 });
  const plain = (doc: Doc) => ({ doc, text: JSON.stringify(doc) });
  const proto = base('proto-key');
  const protoAnn = base('proto-annotation');
  const deep = base('deep-metadata');
  const upper = base('upper-case-ids');
  // a cause that names an exception by an id other software chose: 16 characters, not hex
  const cause = { ...base('string-cause'), fault: true, cause: 'exc:not-hex-0001' };
  return [
    { doc: proto, text: JSON.stringify(proto).replace('{', '{"__proto__":{"polluted":true},') },
    { doc: protoAnn, text: JSON.stringify(protoAnn).replace(/}$/, ',"annotations":{"__proto__":"x","constructor":"y","prototype":1,"toString":false}}') },
    plain(cause),
    plain(base('__proto__')),
    plain(base('constructor')),
    plain(base('a|b>c %7C %25 d')),
    { doc: deep, text: JSON.stringify(deep).replace(/}$/, `,"metadata":{"x":${'['.repeat(20_000)}${']'.repeat(20_000)}}}`) },
    { doc: upper, text: JSON.stringify({ ...upper, id: upper.id.toUpperCase(), trace_id: upper.trace_id.toUpperCase() }) },
  ];
}

function shuffle<T>(xs: T[], rng: Rng): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    [xs[i], xs[j]] = [xs[j]!, xs[i]!];
  }
  return xs;
}

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

async function scrape(base: string): Promise<Sample[]> {
  const r = await fetch(`${base}/metrics`);
  expect(r.status).toBe(200);
  const out: Sample[] = [];
  for (const line of (await r.text()).split('\n')) {
    const m = /^(trace_insights_\w+?)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

/** Non-zero values of a counter, keyed by the given labels joined with '/'. */
function counter(samples: Sample[], name: string, labels: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of samples) if (s.name === name && s.value > 0) out[labels.map((l) => s.labels[l]).join('/')] = s.value;
  return out;
}

function tally<T>(xs: readonly T[], key: (x: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of xs) out[key(x)] = (out[key(x)] ?? 0) + 1;
  return out;
}

function udpRcvbufErrors(): string {
  try {
    const lines = readFileSync('/proc/net/snmp', 'utf8').split('\n').filter((l) => l.startsWith('Udp:'));
    const [head, vals] = [lines[0]!.split(/\s+/), lines[1]!.split(/\s+/)];
    return `UDP RcvbufErrors=${vals[head.indexOf('RcvbufErrors')]}`;
  } catch {
    return '';
  }
}

describe('hostile input through both doors of a running trace-insights', () => {
  const keyPrefix = uniquePrefix('hostile');
  const redis = testRedis();
  let server: ServerProcess;
  let queue: Queue;

  beforeAll(async () => {
    server = await spawnServer({ keyPrefix, windowSeconds: WINDOW });
    queue = new Queue(QUEUE.ingest, { connection: { url: redisUrl }, prefix: bullPrefix(keyPrefix) });
  });
  afterAll(async () => {
    await killAll();
    await queue?.close();
    await dropPrefix(redis, keyPrefix);
    redis.disconnect();
  });

  it('stays up, counts every good document, and refuses every bad one with a reason and a counter', async () => {
    const rng = new Rng(1234);
    const now = Date.now() / 1000;

    // --- good traffic, each request's documents through one door
    const gen = traffic({ seed: 5150, services: SHOP, entry: 'api-gateway', startTime: START, rate: 50 });
    const goodHttp: Doc[] = [];
    const goodUdp: Doc[] = [];
    for (let i = 0; i < 2000; i++) (rng.next() < 0.8 ? goodHttp : goodUdp).push(...gen.next().value!.docs);
    const texts = new Map<Doc, string>();
    for (const door of [goodHttp, goodUdp]) {
      for (const { doc, text } of oddButValid(rng)) {
        texts.set(doc, text);
        door.push(doc);
      }
    }
    const textOf = (d: Doc) => texts.get(d) ?? JSON.stringify(d);

    // --- the hostile: documents for each door, and datagrams that are not even that
    const badHttp = hostileDocs(900, { seed: 1, now });
    // (an empty document over UDP is an empty datagram body: dropped, among the datagrams below)
    const badUdp = hostileDocs(160, { seed: 2, now, maxBytes: 60_000 }).filter((d) => d.text.trim() !== '');
    const badDgrams = badDatagrams(12, rng);
    expect(badHttp.length + badUdp.length + badDgrams.length).toBeGreaterThanOrEqual(1000);
    expect(new Set(badHttp.map((d) => d.label)).size).toBeGreaterThanOrEqual(60); // every kind, many times

    // --- PutTraceSegments: good and bad shuffled together, 20–120 documents a request
    type Item = { text: string; bad?: HostileDoc };
    const items: Item[] = shuffle([...goodHttp.map((d) => ({ text: textOf(d) })), ...badHttp.map((bad) => ({ text: bad.text, bad }))], rng);
    const requests: Item[][] = [];
    for (let i = 0; i < items.length; ) {
      const n = 20 + Math.floor(rng.next() * 101);
      requests.push(items.slice(i, i + n));
      i += n;
    }
    let next = 0;
    await Promise.all(
      [0, 1].map(async () => {
        while (next < requests.length) {
          const req = requests[next++]!;
          const r = await fetch(`${server.baseUrl}/TraceSegments`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ TraceSegmentDocuments: req.map((x) => x.text) }),
          });
          expect(r.status).toBe(200);
          const body = (await r.json()) as { UnprocessedTraceSegments: Array<{ Id?: string; ErrorCode: string; Message: string }> };
          const want = req.filter((x) => x.bad).map((x) => x.bad!);
          const got = body.UnprocessedTraceSegments;
          // one entry per bad document, in order: its Id when it has one, its code, and a reason
          expect(got.map(({ Id, ErrorCode }) => ({ Id, ErrorCode }))).toEqual(want.map((w) => ({ Id: w.id, ErrorCode: w.code })));
          got.forEach((g, i) => expect(g.Message.length, `${want[i]!.label}: message`).toBeGreaterThan(5));
        }
      }),
    );

    // --- requests that are not even a list of documents: refused whole, nothing counted
    const refuse = async (body: string, status: number) => {
      const r = await fetch(`${server.baseUrl}/TraceSegments`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      expect(r.status, body.slice(0, 60)).toBe(status);
      expect(((await r.json()) as { message?: string }).message).toBeTruthy();
    };
    await refuse('{"TraceSegmentDocuments": ', 400);
    await refuse('{"TraceSegmentDocuments": "not a list"}', 400);
    await refuse('{"TraceSegmentDocuments": [1, 2, 3]}', 400);
    await refuse('{"TraceSegmentDocuments": []}', 400);
    await refuse(JSON.stringify({ TraceSegmentDocuments: ['x'.repeat(7 * 1024 * 1024)] }), 413);

    // --- the UDP daemon protocol: good documents, bad documents and bad datagrams, shuffled, paced so
    // the kernel's receive buffer never overflows
    const datagrams = shuffle(
      [
        ...goodUdp.map((d) => Buffer.from(HEADER + textOf(d))),
        ...badUdp.map((d) => Buffer.from(HEADER + d.text)),
        ...badDgrams.map((d) => d.bytes),
      ],
      rng,
    );
    const sock = dgram.createSocket('udp4');
    try {
      for (let i = 0; i < datagrams.length; i++) {
        await new Promise<void>((resolve, reject) => sock.send(datagrams[i]!, server.udpPort, '127.0.0.1', (err) => (err ? reject(err) : resolve())));
        if (i % 50 === 49) await new Promise((r) => setTimeout(r, 5));
      }
    } finally {
      sock.close();
    }

    // --- every datagram is accounted for: parsed as a document, or dropped with a reason
    const deadline = Date.now() + 30_000;
    for (;;) {
      const m = await scrape(server.baseUrl);
      const seen = (counter(m, 'trace_insights_documents_received_total', ['door']).udp ?? 0) + Object.values(counter(m, 'trace_insights_udp_datagrams_dropped_total', ['reason'])).reduce((a, b) => a + b, 0);
      const accepted = counter(m, 'trace_insights_documents_accepted_total', ['door']).udp ?? 0;
      if (seen === datagrams.length && accepted === goodUdp.length) break;
      if (Date.now() > deadline) throw new Error(`UDP: ${seen} of ${datagrams.length} datagrams seen, ${accepted} of ${goodUdp.length} accepted; ${udpRcvbufErrors()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    await drainQueue(queue, undefined, 60_000);

    // --- counters: every refusal counted under its door and reason, nothing else refused or dropped
    const m = await scrape(server.baseUrl);
    expect(counter(m, 'trace_insights_documents_rejected_total', ['door', 'code'])).toEqual({
      ...Object.fromEntries(Object.entries(tally(badHttp, (d) => d.code)).map(([c, n]) => [`http/${c}`, n])),
      ...Object.fromEntries(Object.entries(tally(badUdp, (d) => d.code)).map(([c, n]) => [`udp/${c}`, n])),
    });
    expect(counter(m, 'trace_insights_udp_datagrams_dropped_total', ['reason'])).toEqual(tally(badDgrams, (d) => d.reason));
    expect(counter(m, 'trace_insights_documents_received_total', ['door'])).toEqual({ http: goodHttp.length + badHttp.length, udp: goodUdp.length + badUdp.length });
    expect(counter(m, 'trace_insights_documents_accepted_total', ['door'])).toEqual({ http: goodHttp.length, udp: goodUdp.length });
    expect(counter(m, 'trace_insights_jobs_dead_lettered_total', ['queue'])).toEqual({});
    expect((await queue.getJobCounts('failed')).failed).toBe(0);

    // --- every good document counted, exactly; nothing of the hostile ones (no HOSTILE_NAME node)
    const good = [...goodHttp, ...goodUdp];
    const lastEnd = good.reduce((x, d) => Math.max(x, d.end_time as number), 0);
    const g = await fetch(`${server.baseUrl}/ServiceGraph`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ StartTime: windowOf(START, WINDOW) - WINDOW, EndTime: windowOf(lastEnd, WINDOW) + 2 * WINDOW }),
    });
    expect(g.status).toBe(200);
    expectGraph(((await g.json()) as { Services: any[] }).Services, expectedGraph(good));

    // --- and the process is still up and healthy
    expect(server.alive(), server.output()).toBe(true);
    const h = await fetch(`${server.baseUrl}/healthz`);
    expect(h.status).toBe(200);
    expect(await h.json()).toEqual({ ok: true });
    expect((await fetch(`${server.baseUrl}/readyz`)).status).toBe(200);
  });
});
