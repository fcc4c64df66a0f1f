import { describe, expect, it } from 'vitest';
import { MAX_DOCUMENT_BYTES, parseDocument } from '../../src/ingest/parse.js';
import { certainlyValidIndependentSubsegment, certainlyValidSegment } from '../../src/xray/fast-check.js';
import { independentSubsegmentSchema, segmentSchema } from '../../src/xray/segment-schema.js';
import { Rng } from '../../src/sim/random.js';

/**
 * Where we differ from X-Ray on documents other software writes (issue 12): annotation values, string
 * causes and subsegment namespaces. Every document is written as JSON text and read back with
 * JSON.parse, as the doors do, so that `__proto__` is an ordinary own key (an object literal would set
 * the prototype instead). Three opinions must agree on each: the zod schema, the fast check, and the
 * rule as the reference states it (`expected` below), and parseDocument must refuse exactly the same.
 */

const TRACE = '1-6b069c79-f816772d7cdc462867807fa0';
const T = 1_700_000_000;

/** A JSON object from [key, raw JSON value] pairs: keys stay what they are, `__proto__` included. */
const obj = (pairs: ReadonlyArray<readonly [string, string]>) => `{${pairs.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`;
const j = (v: unknown) => JSON.stringify(v);

// ---- annotations: keys special to JavaScript objects, and values of every JSON type

const KEYS = ['tenant', 'order_total', '__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__', 'k'.repeat(500), 'k'.repeat(501), '😀'.repeat(500), '😀'.repeat(501), ''];
const keyOk = (k: string) => k.length > 0 && [...k].length <= 500;

interface Value {
  raw: string;
  ok: boolean;
}
const VALUES: Value[] = [
  { raw: j('acme'), ok: true },
  { raw: j(''), ok: true },
  { raw: j('x'.repeat(10_000)), ok: true },
  { raw: j('x'.repeat(10_001)), ok: false },
  // 10,002 UTF-16 units but 5,001 characters: within the limit, as zod counts
  { raw: j('😀'.repeat(5_001)), ok: true },
  { raw: j('😀'.repeat(10_001)), ok: false },
  { raw: '0', ok: true },
  { raw: '-1.5', ok: true },
  { raw: '1e308', ok: true },
  { raw: '1e999', ok: false }, // JSON.parse reads it as Infinity
  { raw: 'true', ok: true },
  { raw: 'false', ok: true },
  { raw: 'null', ok: false },
  { raw: '{}', ok: false },
  { raw: '{"a":1}', ok: false },
  { raw: '{"__proto__":"x"}', ok: false },
  { raw: '[]', ok: false },
  { raw: '[1]', ok: false },
  { raw: '["s"]', ok: false },
];

// ---- causes given as a string: any 16 characters; and near misses

const ALPHABETS = ['0123456789abcdef', '0123456789ABCDEF', 'ghijklmnopqrstuvwxyzGHIJKLMNOPQRSTUVWXYZ', ' -_.:/#@!?"\\{}[]', 'éüßøñ中文字', '😀🚀𝄞', '\u0000\u0001\n\t\u007f', '\ud800\udc00'];

/** `n` characters (code points) drawn from the alphabets; a lone surrogate counts as one. */
function chars(rng: Rng, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += rng.pick([...rng.pick(ALPHABETS)]);
  return s;
}

interface Cause {
  raw?: string;
  ok: boolean;
  label: string;
}
function causeOf(rng: Rng): Cause {
  const r = rng.next();
  if (r < 0.15) return { ok: true, label: 'none' };
  if (r < 0.5) {
    const s = chars(rng, 16);
    return { raw: j(s), ok: true, label: `16 chars ${j(s)}` };
  }
  if (r < 0.7) {
    const n = rng.pick([0, 1, 15, 17, 24, 32]);
    const s = chars(rng, n);
    return { raw: j(s), ok: false, label: `${n} chars ${j(s)}` };
  }
  if (r < 0.8) return rng.pick([{ raw: j('😀'.repeat(8)), ok: false, label: '8 emoji (16 units)' }, { raw: j('😀'.repeat(16)), ok: true, label: '16 emoji' }, { raw: j('\ud800'.repeat(16)), ok: true, label: '16 lone surrogates' }]);
  if (r < 0.9) return rng.pick([{ raw: '5', ok: false, label: 'number' }, { raw: 'null', ok: false, label: 'null' }, { raw: 'true', ok: false, label: 'boolean' }, { raw: '["a1b2c3d4e5f60718"]', ok: false, label: 'array' }]);
  const exId = rng.next() < 0.7 ? rng.hex(16) : chars(rng, 16);
  const hexId = /^[0-9a-fA-F]{16}$/.test(exId);
  return { raw: obj([['working_directory', j('/app')], ['exceptions', `[${obj([['id', j(exId)], ['message', j('boom')], ['cause', j(chars(rng, 16))]])}]`]]), ok: hexId, label: `exceptions[{id:${j(exId)}}]` };
}

// ---- namespaces

const NAMESPACES: Array<{ raw?: string; ok: boolean }> = [
  { ok: true },
  { raw: j('aws'), ok: true },
  { raw: j('remote'), ok: true },
  { raw: j('local'), ok: false },
  { raw: j('AWS'), ok: false },
  { raw: j('Remote'), ok: false },
  { raw: j(''), ok: false },
  { raw: j(' aws'), ok: false },
  { raw: 'null', ok: false },
  { raw: '1', ok: false },
  { raw: '{}', ok: false },
];

interface Case {
  text: string;
  /** the verdict the reference's rules give */
  ok: boolean;
  label: string;
}

interface Fields {
  annotations?: Array<[string, Value]>;
  cause?: Cause;
  namespace?: (typeof NAMESPACES)[number];
}

function entityPairs(id: string, f: Fields, withNamespace: boolean): Array<[string, string]> {
  const pairs: Array<[string, string]> = [
    ['id', j(id)],
    ['name', j('svc')],
    ['start_time', String(T)],
    ['end_time', String(T + 0.5)],
  ];
  if (withNamespace && f.namespace?.raw !== undefined) pairs.push(['namespace', f.namespace.raw]);
  if (f.cause?.raw !== undefined) pairs.push(['fault', 'true'], ['cause', f.cause.raw]);
  if (f.annotations) pairs.push(['annotations', obj(f.annotations.map(([k, v]) => [k, v.raw] as const))]);
  return pairs;
}

/** The fields on a segment, an independent subsegment, or a subsegment embedded one or two deep. */
function documentOf(rng: Rng, f: Fields, where: 'segment' | 'independent' | 'embedded' | 'deep'): string {
  const head: Array<[string, string]> = [['trace_id', j(TRACE)]];
  if (where === 'segment') return obj([...head, ...entityPairs(rng.hex(16), f, false)]);
  if (where === 'independent') return obj([...head, ['type', j('subsegment')], ['parent_id', j(rng.hex(16))], ...entityPairs(rng.hex(16), f, true)]);
  const inner = obj(entityPairs(rng.hex(16), f, true));
  const child = where === 'deep' ? obj([...entityPairs(rng.hex(16), {}, false), ['subsegments', `[${inner}]`]]) : inner;
  return obj([...head, ...entityPairs(rng.hex(16), {}, false), ['subsegments', `[${child}]`]]);
}

function verdictOf(f: Fields, where: string): boolean {
  // a key written twice: JSON.parse keeps the last value
  const last = new Map(f.annotations ?? []);
  const annOk = (f.annotations ?? []).every(([k]) => keyOk(k) && last.get(k)!.ok);
  const nsOk = where === 'segment' || f.namespace === undefined || f.namespace.ok;
  return annOk && (f.cause?.ok ?? true) && nsOk;
}

const WHERE = ['segment', 'independent', 'embedded', 'deep'] as const;

function randomCase(rng: Rng): Case {
  const where = rng.pick([...WHERE]);
  const f: Fields = {};
  const r = rng.next();
  if (r < 0.6) {
    const n = Math.floor(rng.next() * 4);
    f.annotations = Array.from({ length: n }, () => [rng.next() < 0.9 ? rng.pick(KEYS.slice(0, 9)) : rng.pick(KEYS), rng.pick(VALUES)]);
  }
  if (rng.next() < 0.5) f.cause = causeOf(rng);
  if (rng.next() < 0.6) f.namespace = rng.pick(NAMESPACES);
  const label = `${where} annotations=${j(f.annotations?.map(([k, v]) => [k.slice(0, 20), v.raw.slice(0, 20)]))} cause=${f.cause?.label} namespace=${f.namespace?.raw}`;
  return { text: documentOf(rng, f, where), ok: verdictOf(f, where), label };
}

/** Every listed key with every listed value, every namespace and cause kind, in every position. */
function tableCases(rng: Rng): Case[] {
  const out: Case[] = [];
  for (const where of WHERE) {
    for (const k of KEYS) for (const v of VALUES) out.push({ text: documentOf(rng, { annotations: [['tenant', VALUES[0]!], [k, v]] }, where), ok: keyOk(k) && v.ok, label: `${where} annotation ${k.slice(0, 20)}=${v.raw.slice(0, 20)}` });
    for (const ns of NAMESPACES) out.push({ text: documentOf(rng, { namespace: ns }, where), ok: where === 'segment' || ns.ok, label: `${where} namespace=${ns.raw}` });
    for (let i = 0; i < 40; i++) {
      const cause = causeOf(rng);
      out.push({ text: documentOf(rng, { cause }, where), ok: cause.ok, label: `${where} cause ${cause.label}` });
    }
  }
  return out;
}

/** The three verdicts on one document; throws, naming it, when they differ. */
function judge(c: Case): boolean {
  const d = JSON.parse(c.text) as Record<string, unknown>;
  const independent = d.type === 'subsegment';
  const fast = independent ? certainlyValidIndependentSubsegment(d) : certainlyValidSegment(d);
  const zod = (independent ? independentSubsegmentSchema : segmentSchema).safeParse(d);
  const parsed = parseDocument(c.text);
  const why = zod.success ? '' : ` (zod: ${zod.error.issues[0]!.path.join('.')}: ${zod.error.issues[0]!.message})`;
  // a few random combinations of long values pass X-Ray's 64 kB limit, which the door checks first
  const small = Buffer.byteLength(c.text) <= MAX_DOCUMENT_BYTES;
  if (fast !== zod.success || zod.success !== c.ok || parsed.ok !== (c.ok && small)) {
    throw new Error(`${c.label}: expected ${c.ok ? 'accepted' : 'refused'}, fast check ${fast}, zod ${zod.success}, parseDocument ${parsed.ok}${why}`);
  }
  if (!small) expect(parsed.ok || parsed.rejection.code, c.label).toBe('SegmentTooLarge');
  else if (!parsed.ok) {
    // refused with a reason that names where: a code and the field's path
    expect(parsed.rejection.code, c.label).toMatch(/^(InvalidSegment|InvalidId)$/);
    expect(parsed.rejection.message, c.label).toMatch(/(annotations|cause|namespace)/);
  }
  return c.ok;
}

describe('validation where we differ from X-Ray: zod, the fast check and the rules agree', () => {
  it('on every listed annotation key and value, namespace and cause, in every position', () => {
    const cases = tableCases(new Rng(12));
    const accepted = cases.filter(judge).length;
    expect(accepted).toBeGreaterThan(100);
    expect(cases.length - accepted).toBeGreaterThan(100);
  });

  it('on 6,000 random combinations (seeded)', () => {
    const rng = new Rng(2026);
    let accepted = 0;
    for (let i = 0; i < 6_000; i++) if (judge(randomCase(rng))) accepted++;
    expect(accepted).toBeGreaterThan(1_000);
    expect(6_000 - accepted).toBeGreaterThan(1_000);
  });

  it('refuses a non-scalar annotation under __proto__ and constructor, saying where', () => {
    for (const key of ['__proto__', 'constructor']) {
      for (const value of ['{}', '[]', 'null', '{"polluted":true}']) {
        const text = obj([['trace_id', j(TRACE)], ['id', j('643816e4dbb2d76e')], ['name', j('svc')], ['start_time', String(T)], ['end_time', String(T + 1)], ['annotations', obj([[key, value]])]]);
        const r = parseDocument(text);
        expect(r.ok, `${key}: ${value}`).toBe(false);
        if (!r.ok) expect(r.rejection).toEqual({ id: '643816e4dbb2d76e', code: 'InvalidSegment', message: `annotations.${key}: must be a string, number or boolean` });
      }
    }
    // and nothing leaked onto Object.prototype on the way
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('accepts any 16-character cause id and refuses a subsegment namespace other than aws or remote, saying why', () => {
    const seg = (extra: Array<[string, string]>) => obj([['trace_id', j(TRACE)], ['id', j('643816e4dbb2d76e')], ['name', j('svc')], ['start_time', String(T)], ['end_time', String(T + 1)], ...extra]);
    expect(parseDocument(seg([['fault', 'true'], ['cause', j('not-hex-at-all!!')]])).ok).toBe(true);
    expect(parseDocument(seg([['cause', j('exception-000001x')]]))).toMatchObject({ ok: false, rejection: { code: 'InvalidSegment', message: 'cause: must be a 16-character exception id' } });
    const sub = obj([['id', j('75d5c2bf16aa94f3')], ['name', j('cache')], ['start_time', String(T)], ['end_time', String(T + 0.1)], ['namespace', j('local')]]);
    expect(parseDocument(seg([['subsegments', `[${sub}]`]]))).toMatchObject({
      ok: false,
      rejection: { id: '643816e4dbb2d76e', code: 'InvalidSegment', message: 'subsegments.0.namespace: must be "aws" or "remote" (or absent, for local work)' },
    });
  });
});
