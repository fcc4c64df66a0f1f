import { describe, expect, it } from 'vitest';
import { MAX_ANNOTATIONS, MAX_DEPTH, MAX_DOCUMENT_BYTES, parseDocument, type RejectCode } from '../../src/ingest/parse.js';
import { FLAG_ERROR, FLAG_FAULT, FLAG_THROTTLE } from '../../src/ingest/record.js';

const TRACE = '1-6b069c79-f816772d7cdc462867807fa0';
const NOW = 1_795_595_400;

function segment(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { trace_id: TRACE, id: '643816e4dbb2d76e', name: 'OrderService', start_time: NOW - 1, end_time: NOW - 0.5, ...extra };
}

function sub(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { type: 'subsegment', trace_id: TRACE, parent_id: '643816e4dbb2d76e', id: '75d5c2bf16aa94f3', name: 'db', start_time: NOW - 1, end_time: NOW - 0.9, ...extra };
}

function rejected(text: string, opts = {}) {
  const r = parseDocument(text, opts);
  if (r.ok) throw new Error(`expected a rejection, got ${JSON.stringify(r)}`);
  expect(r.rejection.message.length).toBeGreaterThan(0);
  expect(r.rejection.message).not.toContain('\n');
  return r.rejection;
}

const reject = (doc: unknown, opts = {}) => rejected(JSON.stringify(doc), opts);

function nested(depth: number): Record<string, unknown> {
  let node: Record<string, unknown> = { id: 'aaaaaaaaaaaaaaaa', name: 'leaf', start_time: NOW - 1, end_time: NOW - 0.9 };
  for (let i = 1; i < depth; i++) node = { id: i.toString(16).padStart(16, '0'), name: `n${i}`, start_time: NOW - 1, end_time: NOW - 0.9, subsegments: [node] };
  return segment({ subsegments: [node] });
}

describe('parseDocument refuses bad input with a code and a reason', () => {
  const seen = new Set<RejectCode>();
  const expectCode = (r: { code: RejectCode }, code: RejectCode) => {
    expect(r.code).toBe(code);
    seen.add(code);
  };

  it('InvalidJson, keeping an id it can find', () => {
    const r = rejected('{"id":"643816e4dbb2d76e","name": oops}');
    expectCode(r, 'InvalidJson');
    expect(r.id).toBe('643816e4dbb2d76e');
    expect(r.message).toMatch(/JSON/);
    expectCode(rejected(''), 'InvalidJson');
  });

  it('SegmentTooLarge, counting bytes rather than characters', () => {
    const big = JSON.stringify(segment({ metadata: { default: { pad: 'x'.repeat(MAX_DOCUMENT_BYTES) } } }));
    const r = rejected(big);
    expectCode(r, 'SegmentTooLarge');
    expect(r.id).toBe('643816e4dbb2d76e');
    expect(r.message).toContain(String(MAX_DOCUMENT_BYTES));
    // 30,000 three-byte characters: under the limit in characters, over it in bytes
    const wide = JSON.stringify(segment({ metadata: { default: { pad: '€'.repeat(30_000) } } }));
    expect(wide.length).toBeLessThan(MAX_DOCUMENT_BYTES);
    expectCode(rejected(wide), 'SegmentTooLarge');
  });

  it('MissingId', () => {
    const { id: _id, ...noId } = segment();
    const r = reject(noId);
    expectCode(r, 'MissingId');
    expect(r.id).toBeUndefined();
    expect(r.message).toMatch(/id/);
  });

  it('InvalidId, for the document, its parent and its subsegments', () => {
    let r = reject(segment({ id: 'xyz' }));
    expectCode(r, 'InvalidId');
    expect(r.message).toMatch(/^id: /);
    r = reject(segment({ parent_id: '123' }));
    expectCode(r, 'InvalidId');
    expect(r.message).toMatch(/parent_id/);
    r = reject(segment({ subsegments: [{ id: 'short', name: 'x', start_time: NOW - 1, end_time: NOW - 1 }] }));
    expectCode(r, 'InvalidId');
    expect(r.message).toMatch(/subsegments\.0\.id/);
    expectCode(reject(segment({ id: 12 })), 'InvalidId');
  });

  it('InvalidTraceId, also when a streamed subsegment names none', () => {
    let r = reject(segment({ trace_id: '1-123-abc' }));
    expectCode(r, 'InvalidTraceId');
    expect(r.message).toMatch(/trace_id/);
    expect(r.id).toBe('643816e4dbb2d76e');
    const { trace_id: _t, ...noTrace } = sub();
    r = reject(noTrace);
    expectCode(r, 'InvalidTraceId');
  });

  it('InvalidTimestamp: milliseconds, end before start, no end while complete, far future', () => {
    let r = reject(segment({ start_time: (NOW - 1) * 1000, end_time: NOW * 1000 }));
    expectCode(r, 'InvalidTimestamp');
    expect(r.message).toMatch(/start_time/);
    r = reject(segment({ start_time: NOW, end_time: NOW - 5 }));
    expectCode(r, 'InvalidTimestamp');
    expect(r.message).toMatch(/before start_time/);
    const { end_time: _e, ...open } = segment();
    r = reject(open);
    expectCode(r, 'InvalidTimestamp');
    expect(r.message).toMatch(/in_progress/);
    r = reject(segment({ start_time: NOW + 3600, end_time: NOW + 3601 }), { now: NOW });
    expectCode(r, 'InvalidTimestamp');
    expect(r.message).toMatch(/future/);
    // in replay (no clock) the same document is fine, and a small skew is tolerated live
    expect(parseDocument(JSON.stringify(segment({ start_time: NOW + 3600, end_time: NOW + 3601 }))).ok).toBe(true);
    expect(parseDocument(JSON.stringify(segment({ start_time: NOW + 60, end_time: NOW + 61 })), { now: NOW }).ok).toBe(true);
    expectCode(reject(segment({ start_time: '1795595399' })), 'InvalidTimestamp');
  });

  it(`TooDeep past ${MAX_DEPTH} levels, but not at ${MAX_DEPTH}`, () => {
    expect(parseDocument(JSON.stringify(nested(MAX_DEPTH))).ok).toBe(true);
    const r = reject(nested(MAX_DEPTH + 1));
    expectCode(r, 'TooDeep');
    expect(r.message).toContain(String(MAX_DEPTH));
  });

  it(`TooManyAnnotations past ${MAX_ANNOTATIONS} in one document, subsegments included`, () => {
    const many = (n: number, from = 0) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`a${i + from}`, i]));
    expect(parseDocument(JSON.stringify(segment({ annotations: many(MAX_ANNOTATIONS) }))).ok).toBe(true);
    const r = reject(
      segment({
        annotations: many(MAX_ANNOTATIONS - 10),
        subsegments: [{ id: '75d5c2bf16aa94f3', name: 'db', start_time: NOW - 1, end_time: NOW - 0.9, annotations: many(11) }],
      }),
    );
    expectCode(r, 'TooManyAnnotations');
    expect(r.message).toContain(String(MAX_ANNOTATIONS + 1));
  });

  it('InvalidSegment: not an object, empty name, bad field types, empty or mixed arrays', () => {
    for (const doc of [42, 'text', null, true]) expectCode(reject(doc), 'InvalidSegment');
    let r = reject(segment({ name: '' }));
    expectCode(r, 'InvalidSegment');
    expect(r.message).toMatch(/^name: /);
    r = reject(segment({ http: { response: { status: 'ok' } } }));
    expectCode(r, 'InvalidSegment');
    expect(r.message).toMatch(/http\.response\.status/);
    expectCode(reject(segment({ annotations: { k: { nested: true } } })), 'InvalidSegment');
    // JSON.parse makes "__proto__" an ordinary key: its value is judged like any other's
    r = rejected(JSON.stringify(segment()).replace(/}$/, ',"annotations":{"__proto__":{"nested":true}}}'));
    expectCode(r, 'InvalidSegment');
    expect(r.message).toBe('annotations.__proto__: must be a string, number or boolean');
    r = reject(segment({ annotations: { constructor: null } }));
    expect(r.message).toBe('annotations.constructor: must be a string, number or boolean');
    r = reject(segment({ fault: true, cause: 'a1b2c3d4e5f6071' }));
    expectCode(r, 'InvalidSegment');
    expect(r.message).toMatch(/^cause: .*16-character exception id/);
    r = reject(sub({ namespace: 'local' }));
    expectCode(r, 'InvalidSegment');
    expect(r.message).toMatch(/^namespace: must be "aws" or "remote"/);
    expectCode(reject([]), 'InvalidSegment');
    r = reject([sub(), segment()]);
    expectCode(r, 'InvalidSegment');
    expect(r.message).toMatch(/independent subsegments/);
  });

  it('covers every RejectCode', () => {
    const all: RejectCode[] = ['InvalidJson', 'SegmentTooLarge', 'MissingId', 'InvalidId', 'InvalidTraceId', 'InvalidTimestamp', 'TooDeep', 'TooManyAnnotations', 'InvalidSegment'];
    expect([...seen].sort()).toEqual([...all].sort());
  });
});

describe('parseDocument accepts what X-Ray accepts', () => {
  it('an array of independent subsegments, counting in-progress ones', () => {
    const r = parseDocument(JSON.stringify([sub(), sub({ id: '2911c93e58a6a60b', in_progress: true, end_time: undefined })]));
    expect(r).toMatchObject({ ok: true, inProgress: 1 });
    if (r.ok) expect(r.docs.map((d) => [d.k, d.i, d.p])).toEqual([['x', '75d5c2bf16aa94f3', '643816e4dbb2d76e']]);
  });

  it('upper-case hex, normalised to lower case', () => {
    const r = parseDocument(JSON.stringify(segment({ trace_id: TRACE.toUpperCase(), id: '643816E4DBB2D76E', parent_id: 'ABCDEF0123456789' })));
    expect(r).toMatchObject({ ok: true, docs: [{ t: TRACE, i: '643816e4dbb2d76e', p: 'abcdef0123456789' }] });
  });

  it('a cause naming its exception by any 16 characters, hex or not', () => {
    for (const cause of ['a1b2c3d4e5f60718', 'not-hex-at-all!!', 'ÉXCEPTION-ÜNÏQUE', '😀'.repeat(16)]) {
      expect(parseDocument(JSON.stringify(segment({ fault: true, cause }))).ok, cause).toBe(true);
      expect(parseDocument(JSON.stringify(sub({ fault: true, cause }))).ok, cause).toBe(true);
    }
  });

  it('subsegment namespaces aws and remote, or none (local work)', () => {
    for (const namespace of ['aws', 'remote', undefined]) expect(parseDocument(JSON.stringify(sub({ namespace }))).ok).toBe(true);
  });

  it('Java-style exponent timestamps', () => {
    const r = parseDocument(`{"trace_id":"${TRACE}","id":"643816e4dbb2d76e","name":"svc","start_time":1.478293361271E9,"end_time":1.478293361449E9}`);
    expect(r).toMatchObject({ ok: true, docs: [{ s: 1478293361.271, e: 1478293361.449 }] });
  });

  it('unknown fields, kept out of the slim record', () => {
    const r = parseDocument(JSON.stringify(segment({ my_field: { a: 1 } })));
    expect(r.ok).toBe(true);
    if (r.ok) expect(Object.keys(r.docs[0]!).sort()).toEqual(['e', 'i', 'k', 'n', 's', 't']);
  });

  it('status-only producers classified as the SDKs would (429 throttle, 4xx error, 5xx fault)', () => {
    const flags = (status: number) => {
      const r = parseDocument(JSON.stringify(segment({ http: { response: { status } } })));
      return r.ok ? r.docs[0]!.f : 'rejected';
    };
    expect(flags(200)).toBeUndefined();
    expect(flags(404)).toBe(FLAG_ERROR);
    expect(flags(429)).toBe(FLAG_ERROR | FLAG_THROTTLE);
    expect(flags(503)).toBe(FLAG_FAULT);
    // explicit flags win over the status
    const r = parseDocument(JSON.stringify(segment({ error: true, http: { response: { status: 503 } } })));
    expect(r.ok && r.docs[0]!.f).toBe(FLAG_ERROR);
  });

  it('in-progress subsegments inside a complete segment are left out and counted', () => {
    const r = parseDocument(JSON.stringify(segment({ subsegments: [{ id: '75d5c2bf16aa94f3', name: 'db', start_time: NOW - 1, in_progress: true }] })));
    expect(r).toMatchObject({ ok: true, inProgress: 1 });
    if (r.ok) expect(r.docs[0]!.c).toBeUndefined();
  });

  it('never throws, whatever the text', () => {
    for (const text of ['{', '[1,2]', '[{}]', '{"id":null}', '\u0000', '{"id":"643816e4dbb2d76e","subsegments":' + '[{"subsegments":'.repeat(3000) + '[]' + '}]'.repeat(3000) + '}']) {
      expect(() => parseDocument(text)).not.toThrow();
      expect(parseDocument(text).ok).toBe(false);
    }
  });
});
