import { Rng } from '../../src/sim/random.js';

/**
 * Malformed and hostile segment documents, each with the one defect it carries and the refusal it must
 * earn (reference: X-Ray's UnprocessedTraceSegments; our codes in src/ingest/parse.ts). Every document
 * is named HOSTILE_NAME, so one that slips through shows up as a node of that name.
 */
export const HOSTILE_NAME = 'hostile-probe';

export interface HostileDoc {
  /** what is wrong with it, for failure messages */
  label: string;
  text: string;
  /** the ErrorCode it must be refused with */
  code: string;
  /** the Id the refusal must carry, when the document has a readable one */
  id?: string;
}

/** Seconds since the epoch at which good (old) test traffic lives. */
const T = 1_700_000_000;

/**
 * `count` hostile documents, cycling through every kind below with fresh ids. `now` is the wall clock
 * (epoch seconds) for far-future timestamps. `maxBytes` leaves out documents larger than that (UDP).
 */
export function hostileDocs(count: number, opts: { seed: number; now: number; maxBytes?: number }): HostileDoc[] {
  const rng = new Rng(opts.seed);
  const kinds = makeKinds(opts.now).filter((k) => opts.maxBytes === undefined || !k.big);
  const out: HostileDoc[] = [];
  for (let i = 0; out.length < count; i++) {
    const kind = kinds[i % kinds.length]!;
    const id = rng.hex(16);
    const base = { trace_id: `1-${T.toString(16)}-${rng.hex(24)}`, id, name: HOSTILE_NAME, start_time: T + 1 + (i % 50), end_time: T + 1.25 + (i % 50) };
    const made = kind.make(base, rng);
    if (opts.maxBytes !== undefined && Buffer.byteLength(made.text) > opts.maxBytes) continue;
    out.push({ label: kind.label, code: kind.code, ...made });
  }
  return out;
}

type Base = { trace_id: string; id: string; name: string; start_time: number; end_time: number };
interface Kind {
  label: string;
  code: string;
  /** over the UDP datagram limit */
  big?: boolean;
  make(base: Base, rng: Rng): { text: string; id?: string };
}

/** A valid document with one field changed (or removed, with `undefined`). */
const patched = (label: string, code: string, patch: Record<string, unknown>, withId = true): Kind => ({
  label,
  code,
  make: (b) => {
    const doc: Record<string, unknown> = { ...b, ...patch };
    for (const [k, v] of Object.entries(patch)) if (v === undefined) delete doc[k];
    return { text: JSON.stringify(doc), id: withId ? (doc.id as string) : undefined };
  },
});

const raw = (label: string, code: string, text: (b: Base) => string, id?: (b: Base) => string): Kind => ({
  label,
  code,
  make: (b) => ({ text: text(b), id: id?.(b) }),
});

function nested(depth: number, leaf: (d: number) => Record<string, unknown>): Record<string, unknown>[] {
  let subs: Record<string, unknown>[] = [];
  for (let d = depth; d >= 1; d--) subs = [{ ...leaf(d), ...(subs.length ? { subsegments: subs } : {}) }];
  return subs;
}

function makeKinds(now: number): Kind[] {
  const sub = (b: Base, id: string) => ({ id, name: 'child', start_time: b.start_time, end_time: b.end_time });
  return [
    // wrong types
    patched('name is a number', 'InvalidSegment', { name: 12345 }),
    patched('name is empty', 'InvalidSegment', { name: '' }),
    patched('name over 250 characters', 'InvalidSegment', { name: 'n'.repeat(251) }),
    patched('start_time is a string', 'InvalidTimestamp', { start_time: String(T) }),
    patched('end_time is a boolean', 'InvalidTimestamp', { end_time: true }),
    patched('start_time is null', 'InvalidTimestamp', { start_time: null }),
    patched('fault is a string', 'InvalidSegment', { fault: 'yes' }),
    patched('error is a number', 'InvalidSegment', { error: 1 }),
    patched('http status is a string', 'InvalidSegment', { http: { response: { status: '500' } } }),
    patched('http is a string', 'InvalidSegment', { http: 'GET /' }),
    patched('annotations is an array', 'InvalidSegment', { annotations: [1, 2, 3] }),
    patched('annotation value is an object', 'InvalidSegment', { annotations: { nested: { a: 1 } } }),
    patched('annotation value is null', 'InvalidSegment', { annotations: { tenant: null } }),
    patched('annotation value is an array', 'InvalidSegment', { annotations: { tags: ['a', 'b'] } }),
    patched('annotation "constructor" is an object', 'InvalidSegment', { annotations: { constructor: { a: 1 } } }),
    // written as text: in an object literal `__proto__` would set the prototype instead of a key
    raw('annotation "__proto__" is an object', 'InvalidSegment', (b) => JSON.stringify(b).replace(/}$/, ',"annotations":{"ok":1,"__proto__":{"polluted":true}}}'), (b) => b.id),
    raw('annotation "__proto__" is null', 'InvalidSegment', (b) => JSON.stringify(b).replace(/}$/, ',"annotations":{"__proto__":null}}'), (b) => b.id),
    raw('a subsegment\'s annotation "__proto__" is an array', 'InvalidSegment', (b) => JSON.stringify({ ...b, subsegments: [sub(b, `${b.id.slice(0, 15)}0`)] }).replace(/}]}$/, ',"annotations":{"__proto__":[1]}}]}'), (b) => b.id),
    patched('cause id has 15 characters', 'InvalidSegment', { fault: true, cause: 'abcdef012345678' }),
    patched('cause id has 17 characters', 'InvalidSegment', { fault: true, cause: 'not-hex-at-all!!!' }),
    patched('cause is a number', 'InvalidSegment', { fault: true, cause: 42 }),
    raw('a subsegment namespace "local"', 'InvalidSegment', (b) => JSON.stringify({ ...b, subsegments: [{ ...sub(b, `${b.id.slice(0, 15)}0`), namespace: 'local' }] }), (b) => b.id),
    raw('a subsegment namespace "AWS"', 'InvalidSegment', (b) => JSON.stringify({ ...b, subsegments: [{ ...sub(b, `${b.id.slice(0, 15)}0`), namespace: 'AWS' }] }), (b) => b.id),
    raw('a subsegment namespace ""', 'InvalidSegment', (b) => JSON.stringify({ ...b, subsegments: [{ ...sub(b, `${b.id.slice(0, 15)}0`), namespace: '' }] }), (b) => b.id),
    patched('independent subsegment namespace "local"', 'InvalidSegment', { type: 'subsegment', parent_id: 'abcdef0123456789', namespace: 'local' }),
    patched('subsegments is a string', 'InvalidSegment', { subsegments: 'none' }),
    patched('subsegment is a number', 'InvalidSegment', { subsegments: [42] }),
    patched('trace_id is a number', 'InvalidTraceId', { trace_id: 42 }),
    patched('id is a number', 'InvalidId', { id: 12345 }, false),
    patched('id is null', 'InvalidId', { id: null }, false),
    patched('parent_id is a number', 'InvalidId', { parent_id: 7 }),
    patched('origin is a number', 'InvalidSegment', { origin: 5 }),
    patched('service is a string', 'InvalidSegment', { service: 'v1' }),
    patched('in_progress is a string', 'InvalidSegment', { in_progress: 'yes' }),
    raw('a JSON string', 'InvalidSegment', () => '"just a string"'),
    raw('JSON null', 'InvalidSegment', () => 'null'),
    raw('a JSON number', 'InvalidSegment', () => '42'),
    raw('JSON true', 'InvalidSegment', () => 'true'),
    raw('an empty array', 'InvalidSegment', () => '[]'),
    raw('an array holding a segment', 'InvalidSegment', (b) => JSON.stringify([b]), (b) => b.id),
    // bad ids
    patched('id is not hex', 'InvalidId', { id: 'xyz' }),
    patched('id has 15 characters', 'InvalidId', { id: 'abcdef012345678' }),
    patched('id has 17 characters', 'InvalidId', { id: 'abcdef0123456789a' }),
    patched('id has a non-hex letter', 'InvalidId', { id: 'abcdef012345678g' }),
    patched('id is empty', 'InvalidId', { id: '' }),
    patched('id is 16 non-ASCII letters', 'InvalidId', { id: 'é'.repeat(16) }),
    patched('trace_id has short parts', 'InvalidTraceId', { trace_id: '1-abc-def' }),
    patched('trace_id has version 2', 'InvalidTraceId', { trace_id: `2-${T.toString(16)}-${'a'.repeat(24)}` }),
    patched('trace_id is missing', 'InvalidTraceId', { trace_id: undefined }),
    patched('parent_id is not hex', 'InvalidId', { parent_id: 'zz' }),
    raw('a subsegment id is bad', 'InvalidId', (b) => JSON.stringify({ ...b, subsegments: [sub(b, 'nope')] }), (b) => b.id),
    patched('id is missing', 'MissingId', { id: undefined }, false),
    patched('independent subsegment without parent_id', 'InvalidId', { type: 'subsegment' }),
    // too large
    { ...patched('70 kB of metadata', 'SegmentTooLarge', { metadata: { blob: 'x'.repeat(70_000) } }), big: true },
    { ...patched('33k two-byte characters (66 kB in UTF-8)', 'SegmentTooLarge', { metadata: { blob: 'é'.repeat(33_000) } }), big: true },
    {
      ...patched('10,000 annotations', 'SegmentTooLarge', { annotations: Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`a${i}`, i])) }),
      big: true,
    },
    patched('1,500 annotations', 'TooManyAnnotations', { annotations: Object.fromEntries(Array.from({ length: 1500 }, (_, i) => [`k${i}`, true])) }),
    raw(
      '1,200 annotations over 12 subsegments',
      'TooManyAnnotations',
      (b) =>
        JSON.stringify({
          ...b,
          subsegments: Array.from({ length: 12 }, (_, s) => ({ ...sub(b, `${b.id.slice(0, 14)}${s.toString(16).padStart(2, '0')}`), annotations: Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`k${i}`, i])) })),
        }),
      (b) => b.id,
    ),
    // nesting
    raw('subsegments nested 100 deep', 'TooDeep', (b) => JSON.stringify({ ...b, subsegments: nested(100, (d) => sub(b, `${b.id.slice(0, 13)}${d.toString(16).padStart(3, '0')}`)) }), (b) => b.id),
    raw('subsegments nested 33 deep', 'TooDeep', (b) => JSON.stringify({ ...b, subsegments: nested(33, (d) => sub(b, `${b.id.slice(0, 13)}${d.toString(16).padStart(3, '0')}`)) }), (b) => b.id),
    // too deep for JSON.stringify to write (V8's stack), not for JSON.parse to read
    raw('bare subsegment objects nested 3,000 deep', 'TooDeep', (b) => `${JSON.stringify(b).slice(0, -1)},"subsegments":[${'{"subsegments":['.repeat(2999)}{}${']}'.repeat(2999)}]}`, (b) => b.id),
    // timestamps
    raw('NaN literal', 'InvalidJson', (b) => JSON.stringify(b).replace(/"start_time":[0-9.]+/, '"start_time":NaN'), (b) => b.id),
    raw('start_time overflows to Infinity', 'InvalidTimestamp', (b) => JSON.stringify(b).replace(/"start_time":[0-9.]+/, '"start_time":1e999'), (b) => b.id),
    patched('start_time is "NaN"', 'InvalidTimestamp', { start_time: 'NaN' }),
    patched('start_time in milliseconds', 'InvalidTimestamp', { start_time: T * 1000, end_time: T * 1000 + 5 }),
    patched('start_time negative', 'InvalidTimestamp', { start_time: -1 }),
    patched('ten days in the future', 'InvalidTimestamp', { start_time: now + 864_000, end_time: now + 864_001 }),
    patched('after the year 2100', 'InvalidTimestamp', { start_time: 5_000_000_000, end_time: 5_000_000_001 }),
    patched('end before start', 'InvalidTimestamp', { start_time: T + 10, end_time: T + 9 }),
    patched('no end_time and not in progress', 'InvalidTimestamp', { end_time: undefined }),
    // not JSON
    raw('truncated JSON', 'InvalidJson', (b) => JSON.stringify(b).slice(0, 90), (b) => b.id),
    raw('empty document', 'InvalidJson', () => ''),
    raw('single quotes', 'InvalidJson', (b) => JSON.stringify(b).replace(/"/g, "'")),
    raw('trailing comma', 'InvalidJson', (b) => JSON.stringify(b).replace(/}$/, ',}'), (b) => b.id),
    raw('a JavaScript object literal', 'InvalidJson', (b) => `{id: "${b.id}", name: "x"}`),
  ];
}
