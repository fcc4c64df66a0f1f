import { describe, expect, it } from 'vitest';
import { formatTraceHeader, parseTraceHeader } from '../../src/xray/trace-header.js';

const ROOT = '1-5759e988-bd862e3fe1be46a994272793';
const PARENT = '53995c3f42cd8ad8';

describe('parseTraceHeader', () => {
  it('reads the header the SDKs send', () => {
    expect(parseTraceHeader(`Root=${ROOT};Parent=${PARENT};Sampled=1`)).toEqual({ root: ROOT, parent: PARENT, sampled: true, extra: [] });
  });

  it('returns an empty header for missing or empty input', () => {
    expect(parseTraceHeader(undefined)).toEqual({ extra: [] });
    expect(parseTraceHeader(null)).toEqual({ extra: [] });
    expect(parseTraceHeader('')).toEqual({ extra: [] });
    expect(parseTraceHeader(';;;')).toEqual({ extra: [] });
  });

  it('ignores spaces around keys, values and separators', () => {
    expect(parseTraceHeader(` Root = ${ROOT} ; Parent=${PARENT} ;  Sampled = 0 `)).toEqual({ root: ROOT, parent: PARENT, sampled: false, extra: [] });
  });

  it('matches keys case-insensitively and normalises ids to lower case', () => {
    const h = parseTraceHeader(`root=${ROOT.toUpperCase()};PARENT=${PARENT.toUpperCase()};sAmPlEd=1`);
    expect(h).toEqual({ root: ROOT, parent: PARENT, sampled: true, extra: [] });
  });

  it('does not care about order, and reads the ALB form with Self first', () => {
    const self = '1-67891234-12456789abcdef012345678';
    const h = parseTraceHeader(`Self=${self};Root=${ROOT};Parent=${PARENT};Sampled=1`);
    expect(h).toEqual({ root: ROOT, parent: PARENT, sampled: true, self, extra: [] });
    expect(parseTraceHeader(`Sampled=1;Parent=${PARENT};Root=${ROOT}`)).toEqual({ root: ROOT, parent: PARENT, sampled: true, extra: [] });
  });

  it('reads Sampled=? as "the callee decides" and anything odd as absent', () => {
    expect(parseTraceHeader(`Root=${ROOT};Sampled=?`).sampled).toBe('?');
    expect(parseTraceHeader(`Root=${ROOT};Sampled=yes`).sampled).toBeUndefined();
    expect(parseTraceHeader(`Root=${ROOT}`).sampled).toBeUndefined();
  });

  it('keeps Lineage and unknown keys, in order and as written', () => {
    const h = parseTraceHeader(`Root=${ROOT};Lineage=a87bd80c:1|68fd508a:5;Foo=bar;x-Custom=Baz=1`);
    expect(h.lineage).toBe('a87bd80c:1|68fd508a:5');
    // the value is everything after the first '='
    expect(h.extra).toEqual([
      ['Foo', 'bar'],
      ['x-Custom', 'Baz=1'],
    ]);
  });

  it('drops a malformed Root or Parent instead of propagating it', () => {
    expect(parseTraceHeader('Root=1-abc-def;Parent=xyz;Sampled=1')).toEqual({ sampled: true, extra: [] });
    expect(parseTraceHeader(`Root=${ROOT}0;Parent=${PARENT}0`)).toEqual({ extra: [] });
    expect(parseTraceHeader(`Root=2-5759e988-bd862e3fe1be46a994272793`).root).toBeUndefined();
  });

  it('skips parts without "=" or with an empty key or value', () => {
    expect(parseTraceHeader(`garbage;=x;Foo=;Root=${ROOT}`)).toEqual({ root: ROOT, extra: [] });
  });
});

describe('formatTraceHeader', () => {
  it('writes Root, Parent, Sampled, Lineage, then the rest, and never Self', () => {
    const s = formatTraceHeader({ extra: [['Foo', 'bar']], lineage: 'l:1', sampled: true, parent: PARENT, root: ROOT, self: 'x' });
    expect(s).toBe(`Root=${ROOT};Parent=${PARENT};Sampled=1;Lineage=l:1;Foo=bar`);
  });

  it('writes the three Sampled states and leaves out what is absent', () => {
    expect(formatTraceHeader({ root: ROOT, sampled: false, extra: [] })).toBe(`Root=${ROOT};Sampled=0`);
    expect(formatTraceHeader({ root: ROOT, sampled: '?', extra: [] })).toBe(`Root=${ROOT};Sampled=?`);
    expect(formatTraceHeader({ extra: [] })).toBe('');
  });

  it.each([
    `Root=${ROOT};Parent=${PARENT};Sampled=1`,
    `Root=${ROOT};Sampled=?`,
    `Root=${ROOT};Parent=${PARENT};Sampled=0;Lineage=a87bd80c:1;Foo=bar;Baz=q=1`,
  ])('round-trips %s', (header) => {
    expect(formatTraceHeader(parseTraceHeader(header))).toBe(header);
    const h = parseTraceHeader(header);
    expect(parseTraceHeader(formatTraceHeader(h))).toEqual(h);
  });

  it('normalises a messy header into the canonical form', () => {
    expect(formatTraceHeader(parseTraceHeader(` sampled=1 ; PARENT=${PARENT.toUpperCase()};Self=s; root=${ROOT}`))).toBe(
      `Root=${ROOT};Parent=${PARENT};Sampled=1`,
    );
  });
});
