import { describe, expect, it } from 'vitest';
import { parseDocument } from '../../src/ingest/parse.js';
import { splitDatagram } from '../../src/ingest/udp.js';
import { FLAG_ERROR, FLAG_FAULT, FLAG_THROTTLE, type SlimDoc, type SlimEntity } from '../../src/ingest/record.js';
import { allDatagrams, datagramFiles, type CapturedDatagram } from '../helpers/captures.js';

function bodyOf(d: CapturedDatagram): string {
  const split = splitDatagram(d.bytes);
  if ('drop' in split) throw new Error(`${d.name}: dropped (${split.drop})`);
  return split.body;
}

function parsed(d: CapturedDatagram) {
  const r = parseDocument(bodyOf(d));
  if (!r.ok) throw new Error(`${d.name}: ${r.rejection.code} ${r.rejection.message}`);
  return r;
}

function flatten(e: SlimEntity): SlimEntity[] {
  return [e, ...(e.c ?? []).flatMap(flatten)];
}

const all = allDatagrams();
const files = datagramFiles();
const byFile = (prefix: string) => files.find((f) => f.name.startsWith(prefix))!;

describe('golden captures from aws-xray-sdk-core 3.12.0', () => {
  it('are all there', () => {
    expect(all.length).toBe(16);
    expect(files.map((f) => f.name)).toEqual([
      'udp-1-segment-embedded-subsegments.txt',
      'udp-2-streamed-subsegment-fault-exception.txt',
      'udp-3-streamed-subsegment-auto-http-remote.txt',
      'udp-4-segment-with-upstream-parent-id.txt',
      'udp-5-in-progress-segment.txt',
    ]);
  });

  it.each([...files, ...all].map((d) => [d.name, d] as const))('%s splits and parses', (_name, d) => {
    const r = parsed(d);
    const raw = JSON.parse(bodyOf(d)) as { id: string; in_progress?: boolean };
    if (raw.in_progress) {
      expect(r.docs).toEqual([]);
      expect(r.inProgress).toBe(1);
    } else {
      expect(r.docs).toHaveLength(1);
      expect(r.docs[0]!.i).toBe(raw.id);
    }
  });

  it('reads a segment with embedded subsegments, flags and inferred AWS types', () => {
    const { docs, inProgress } = parsed(byFile('udp-1-'));
    expect(inProgress).toBe(0);
    const doc = docs[0]!;
    expect(doc).toMatchObject({ k: 's', t: '1-6b069c79-f816772d7cdc462867807fa0', i: '643816e4dbb2d76e', n: 'OrderService', s: 1795595385.1 });
    expect(doc.p).toBeUndefined();
    expect(doc.f).toBeUndefined();
    expect(doc.c).toHaveLength(6);
    const raw = JSON.parse(bodyOf(byFile('udp-1-'))) as { end_time: number; subsegments: Array<Record<string, any>> };
    expect(doc.e).toBe(raw.end_time);
    for (const [i, sub] of raw.subsegments.entries()) {
      const slim = doc.c![i]!;
      expect(slim.i).toBe(sub.id);
      expect(slim.n).toBe(sub.name);
      expect(slim.st).toBeUndefined();
      const want = (sub.error ? FLAG_ERROR : 0) | (sub.throttle ? FLAG_THROTTLE : 0) | (sub.fault ? FLAG_FAULT : 0);
      expect(slim.f ?? 0, sub.name).toBe(want);
      expect(slim.ns).toBe(sub.namespace === 'remote' ? 'r' : sub.namespace === 'aws' ? 'a' : undefined);
      if (sub.namespace === 'aws') expect(slim.ty).toBe(`AWS::${sub.name}`);
      if (sub.traced) expect(slim.tr).toBe(1);
    }
    const inventory = doc.c!.find((c) => c.n === 'InventoryDB')!;
    expect(inventory).toMatchObject({ ns: 'a', ty: 'AWS::InventoryDB', f: FLAG_FAULT });
  });

  it('reads a segment called from upstream with its parent_id', () => {
    const doc = parsed(byFile('udp-4-')).docs[0]!;
    expect(doc).toMatchObject({ k: 's', i: '73d7008fd84d1b26', p: '53995c3f42cd8ad8', n: 'OrderService' });
  });

  it('reads streamed subsegments as independent documents naming their parent', () => {
    const fault = parsed(byFile('udp-2-')).docs[0]!;
    expect(fault).toMatchObject({ k: 'x', t: '1-6b069c7a-6814e77f1446edb784ef4972', i: '0ca391f63eb280f4', p: 'ced2a341dcf6bbb5', n: 'InventoryDB', ns: 'a', f: FLAG_FAULT });
    expect(fault.st).toBeUndefined();
    const http = parsed(byFile('udp-3-')).docs[0]!;
    expect(http).toMatchObject({ k: 'x', i: '2b234ef1115fa02c', p: 'ced2a341dcf6bbb5', n: '127.0.0.1', ns: 'r', tr: 1 });
    expect(http.f).toBeUndefined();
    expect(http.st).toBeUndefined();
  });

  it('the stream scenario: every streamed subsegment is k:x with p set, and the segment keeps the rest', () => {
    const stream = all.filter((d) => d.scenario === 'stream').flatMap((d) => parsed(d).docs);
    const subs = stream.filter((d) => d.k === 'x');
    const segs = stream.filter((d) => d.k === 's');
    expect(subs).toHaveLength(5);
    expect(segs).toHaveLength(1);
    const seg = segs[0]!;
    for (const s of subs) {
      expect(s.p).toBe(seg.i);
      expect(s.t).toBe(seg.t);
    }
    expect(seg.c?.map((c) => c.i)).toEqual(['c6c6aebcd0232583']);
    const streamedIds = new Set(subs.map((s) => s.i));
    expect(flatten(seg).some((e) => streamedIds.has(e.i))).toBe(false);
  });

  it('the in-progress scenario: placeholders count as in progress, and the embedded copy of a streamed subsegment carries st:1', () => {
    const results = all.filter((d) => d.scenario === 'inprogress').map(parsed);
    expect(results.map((r) => [r.docs.length, r.inProgress])).toEqual([
      [0, 1],
      [0, 1],
      [1, 0],
      [1, 0],
    ]);
    const streamed = results[2]!.docs[0]!;
    const final = results[3]!.docs[0]!;
    expect(streamed).toMatchObject({ k: 'x', n: 'dynamodb-query' });
    expect(streamed.p).toBe(final.i);
    expect(final).toMatchObject({ k: 's', n: 'CheckoutLambda', ty: 'AWS::Lambda::Function', p: '1111222233334444' });
    const embedded = final.c!.find((c) => c.i === streamed.i)!;
    expect(embedded.st).toBe(1);
    expect(embedded.s).toBe(streamed.s);
    expect(embedded.e).toBe(streamed.e);
  });

  it('the in-progress segment file is a placeholder', () => {
    expect(parsed(byFile('udp-5-'))).toEqual({ ok: true, docs: [], inProgress: 1 });
  });

  it('produces job records that survive a JSON round trip unchanged', () => {
    const docs: SlimDoc[] = all.flatMap((d) => parsed(d).docs);
    expect(JSON.parse(JSON.stringify(docs))).toEqual(docs);
  });
});
