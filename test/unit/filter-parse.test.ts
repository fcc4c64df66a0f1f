import { describe, expect, it } from 'vitest';
import type { FilterAst } from '../../src/traces/filter/ast.js';
import { invalidFilterError, parseFilter, type FilterError } from '../../src/traces/filter/parse.js';

/** The tree without its spans, for structural expectations (spans have tests of their own). */
function tree(text: string): unknown {
  const r = parseFilter(text);
  if (!r.ok) throw new Error(`expected ${JSON.stringify(text)} to parse: ${r.error.message}`);
  return strip(r.ast);
}

function strip(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(strip);
  if (v && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).filter(([k]) => k !== 'span').map(([k, x]) => [k, strip(x)]));
  }
  return v;
}

function fail(text: string): FilterError {
  const r = parseFilter(text);
  if (r.ok) throw new Error(`expected ${JSON.stringify(text)} to be refused`);
  return r.error;
}

function ast(text: string): FilterAst {
  const r = parseFilter(text);
  if (!r.ok) throw new Error(r.error.message);
  return r.ast;
}

const flag = (keyword: string, value = true) => ({ kind: 'flag', keyword, value });
const TERM_START = ['"!"', '"("', 'a keyword', 'NOT'];

describe('parseFilter: empty expressions', () => {
  it('matches everything when empty or blank', () => {
    expect(tree('')).toEqual({ kind: 'all' });
    expect(tree('  \n\t ')).toEqual({ kind: 'all' });
  });
});

describe('parseFilter: boolean keywords', () => {
  it.each(['ok', 'error', 'throttle', 'fault', 'partial', 'inferred'])('%s alone is true', (k) => {
    expect(tree(k)).toEqual(flag(k));
  });

  it('compares with true and false, = and !=', () => {
    expect(tree('ok = true')).toEqual(flag('ok', true));
    expect(tree('ok = false')).toEqual(flag('ok', false));
    expect(tree('fault != true')).toEqual(flag('fault', false));
    expect(tree('fault != false')).toEqual(flag('fault', true));
  });

  it('reads keywords, operators and true/false in any case', () => {
    expect(tree('OK = FALSE')).toEqual(flag('ok', false));
    expect(tree('Fault')).toEqual(flag('fault'));
  });
});

describe('parseFilter: number keywords', () => {
  it.each([
    ['responsetime > 5', 'responsetime', '>', 5],
    ['duration >= 5', 'duration', '>=', 5],
    ['duration <= 8', 'duration', '<=', 8],
    ['duration <3', 'duration', '<', 3],
    ['http.status != 200', 'http.status', '!=', 200],
    ['http.status = 429', 'http.status', '=', 429],
    ['responseTime > 2.5', 'responsetime', '>', 2.5],
    ['responsetime > .25', 'responsetime', '>', 0.25],
    ['responsetime > -1', 'responsetime', '>', -1],
    ['responsetime < 1e3', 'responsetime', '<', 1000],
  ])('%s', (text, keyword, op, value) => {
    expect(tree(text)).toEqual({ kind: 'number', keyword, op, value });
  });
});

describe('parseFilter: string keywords', () => {
  it.each(['http.url', 'http.method', 'http.useragent', 'http.clientip', 'user', 'availabilityzone', 'instance.id', 'resource.arn'])(
    '%s takes = and, bare, tests that the field is set',
    (k) => {
      expect(tree(`${k} = "x"`)).toEqual({ kind: 'string', keyword: k, compare: { op: '=', value: 'x' } });
      expect(tree(k)).toEqual({ kind: 'string', keyword: k });
    },
  );

  it.each([
    ['http.url CONTAINS "/api/game/"', 'CONTAINS', '/api/game/'],
    ['http.url contains "/v2/"', 'CONTAINS', '/v2/'],
    ['http.url BEGINSWITH "http://api.example.com/"', 'BEGINSWITH', 'http://api.example.com/'],
    ['http.url EndsWith ".json"', 'ENDSWITH', '.json'],
    ['http.url != "x"', '!=', 'x'],
  ])('%s', (text, op, value) => {
    expect(tree(text)).toEqual({ kind: 'string', keyword: 'http.url', compare: { op, value } });
  });

  it('reads escapes in strings', () => {
    expect(tree('user = "a\\"b\\\\c\\n\\u0041\\/"')).toEqual({ kind: 'string', keyword: 'user', compare: { op: '=', value: 'a"b\\c\nA/' } });
    expect(tree('user CONTAINS ""')).toEqual({ kind: 'string', keyword: 'user', compare: { op: 'CONTAINS', value: '' } });
  });

  it('keeps the case of string values', () => {
    expect(tree('http.method = "Post"')).toEqual({ kind: 'string', keyword: 'http.method', compare: { op: '=', value: 'Post' } });
  });
});

describe('parseFilter: annotations', () => {
  it('takes strings, numbers and booleans, or nothing', () => {
    expect(tree('annotation.gameid = "817DL6VO"')).toEqual({ kind: 'annotation', key: 'gameid', compare: { op: '=', value: '817DL6VO' } });
    expect(tree('annotation.age > 29')).toEqual({ kind: 'annotation', key: 'age', compare: { op: '>', value: 29 } });
    expect(tree('annotation.age = -1.5')).toEqual({ kind: 'annotation', key: 'age', compare: { op: '=', value: -1.5 } });
    expect(tree('annotation.vip = true')).toEqual({ kind: 'annotation', key: 'vip', compare: { op: '=', value: true } });
    expect(tree('annotation.vip != false')).toEqual({ kind: 'annotation', key: 'vip', compare: { op: '!=', value: false } });
    expect(tree('annotation.name_2 BEGINSWITH "a"')).toEqual({ kind: 'annotation', key: 'name_2', compare: { op: 'BEGINSWITH', value: 'a' } });
    expect(tree('annotation.age')).toEqual({ kind: 'annotation', key: 'age' });
    expect(tree('!annotation.age')).toEqual({ kind: 'not', operand: { kind: 'annotation', key: 'age' } });
  });

  it('pairs operators with the value types they make sense for', () => {
    expect(fail('annotation.age > "x"')).toMatchObject({ position: 17, expected: ['a number'] });
    expect(fail('annotation.tag CONTAINS 5')).toMatchObject({ position: 24, expected: ['a string'] });
    expect(fail('annotation.vip < true')).toMatchObject({ position: 17, expected: ['a number'] });
  });
});

describe('parseFilter: AND, OR, NOT, juxtaposition', () => {
  it('binds AND tighter than OR', () => {
    expect(tree('ok OR error AND fault')).toEqual({ kind: 'or', operands: [flag('ok'), { kind: 'and', operands: [flag('error'), flag('fault')] }] });
    expect(tree('ok AND error OR fault')).toEqual({ kind: 'or', operands: [{ kind: 'and', operands: [flag('ok'), flag('error')] }, flag('fault')] });
  });

  it('binds ! tighter than AND, and NOT is !', () => {
    expect(tree('!ok AND fault')).toEqual({ kind: 'and', operands: [{ kind: 'not', operand: flag('ok') }, flag('fault')] });
    expect(tree('NOT ok and fault')).toEqual(tree('!ok AND fault'));
    expect(tree('not(ok)')).toEqual({ kind: 'not', operand: flag('ok') });
    expect(tree('!!ok')).toEqual({ kind: 'not', operand: { kind: 'not', operand: flag('ok') } });
    expect(tree('!http.status = 200')).toEqual({ kind: 'not', operand: { kind: 'number', keyword: 'http.status', op: '=', value: 200 } });
  });

  it('reads juxtaposed terms as AND, at AND precedence', () => {
    expect(tree('ok !partial duration <3')).toEqual({
      kind: 'and',
      operands: [flag('ok'), { kind: 'not', operand: flag('partial') }, { kind: 'number', keyword: 'duration', op: '<', value: 3 }],
    });
    expect(tree('fault OR ok error')).toEqual({ kind: 'or', operands: [flag('fault'), { kind: 'and', operands: [flag('ok'), flag('error')] }] });
    expect(tree('(ok)(fault)')).toEqual({ kind: 'and', operands: [flag('ok'), flag('fault')] });
  });

  it('groups with parentheses, at any depth', () => {
    expect(tree('(ok OR error) AND fault')).toEqual({ kind: 'and', operands: [{ kind: 'or', operands: [flag('ok'), flag('error')] }, flag('fault')] });
    expect(tree('((( ok )))')).toEqual(flag('ok'));
    expect(tree('!(ok OR (error AND !throttle))')).toEqual({
      kind: 'not',
      operand: { kind: 'or', operands: [flag('ok'), { kind: 'and', operands: [flag('error'), { kind: 'not', operand: flag('throttle') }] }] },
    });
  });

  it('chains three or more operands into one node', () => {
    expect(tree('ok OR error OR fault')).toEqual({ kind: 'or', operands: [flag('ok'), flag('error'), flag('fault')] });
  });

  it('does not read AND/OR/NOT inside longer words', () => {
    expect(fail('ok ANDfault').position).toBe(3);
    expect(fail('okay').position).toBe(0);
  });
});

describe('parseFilter: service(), edge(), id()', () => {
  it('reads service with a name, an id(), or nothing, with and without braces', () => {
    expect(tree('service("api.example.com") { fault }')).toEqual({ kind: 'service', target: { kind: 'name', name: 'api.example.com' }, filter: flag('fault') });
    expect(tree('service() { fault }')).toEqual({ kind: 'service', filter: flag('fault') });
    expect(tree('service("api")')).toEqual({ kind: 'service', target: { kind: 'name', name: 'api' } });
    expect(tree('service(id(name: "random-name", type: "AWS::Lambda::Function")) { error }')).toEqual({
      kind: 'service',
      target: { kind: 'id', name: 'random-name', type: 'AWS::Lambda::Function' },
      filter: flag('error'),
    });
    expect(tree('service(id(type:"AWS::Lambda::Function"))')).toEqual({ kind: 'service', target: { kind: 'id', type: 'AWS::Lambda::Function' } });
    expect(tree('service(id(account.id: "123456789012"))')).toEqual({ kind: 'service', target: { kind: 'id', accountId: '123456789012' } });
  });

  it('reads the braces as a full expression', () => {
    expect(tree('service("api.example.com") { fault = true OR responsetime > 2.5 } AND annotation.account = "12345"')).toEqual({
      kind: 'and',
      operands: [
        {
          kind: 'service',
          target: { kind: 'name', name: 'api.example.com' },
          filter: { kind: 'or', operands: [flag('fault'), { kind: 'number', keyword: 'responsetime', op: '>', value: 2.5 }] },
        },
        { kind: 'annotation', key: 'account', compare: { op: '=', value: '12345' } },
      ],
    });
    expect(tree('service("data-plane") {root = true and fault = true}')).toEqual({
      kind: 'service',
      target: { kind: 'name', name: 'data-plane' },
      filter: { kind: 'and', operands: [flag('root'), flag('fault')] },
    });
  });

  it('negates a service', () => {
    expect(tree('http.url BEGINSWITH "http://api.example.com/" AND !service("api.example.com")')).toEqual({
      kind: 'and',
      operands: [
        { kind: 'string', keyword: 'http.url', compare: { op: 'BEGINSWITH', value: 'http://api.example.com/' } },
        { kind: 'not', operand: { kind: 'service', target: { kind: 'name', name: 'api.example.com' } } },
      ],
    });
  });

  it('reads edges between names or ids', () => {
    expect(tree('edge("api.example.com", "backend.example.com") { error }')).toEqual({
      kind: 'edge',
      source: { kind: 'name', name: 'api.example.com' },
      destination: { kind: 'name', name: 'backend.example.com' },
      filter: flag('error'),
    });
    expect(tree('edge(id(name: "one", type: "t1"), id(name: "two", type: "t2"))')).toEqual({
      kind: 'edge',
      source: { kind: 'id', name: 'one', type: 't1' },
      destination: { kind: 'id', name: 'two', type: 't2' },
    });
  });
});

describe('parseFilter: root causes', () => {
  it('reads each category and level', () => {
    expect(tree('rootcause.fault.service { name = "Auth" }')).toEqual({
      kind: 'rootcause',
      category: 'fault',
      level: 'service',
      filter: { kind: 'string', keyword: 'name', compare: { op: '=', value: 'Auth' } },
    });
    expect(tree('rootcause.responsetime.service { last and type = "AWS::DynamoDB" }')).toEqual({
      kind: 'rootcause',
      category: 'responsetime',
      level: 'service',
      filter: { kind: 'and', operands: [flag('last'), { kind: 'string', keyword: 'type', compare: { op: '=', value: 'AWS::DynamoDB' } }] },
    });
    expect(tree('rootcause.responsetime.entity { remote and coverage > 0.7 }')).toEqual({
      kind: 'rootcause',
      category: 'responsetime',
      level: 'entity',
      filter: { kind: 'and', operands: [flag('remote'), { kind: 'number', keyword: 'coverage', op: '>', value: 0.7 }] },
    });
    expect(tree('rootcause.fault.exception { last and message = "denied" }')).toEqual({
      kind: 'rootcause',
      category: 'fault',
      level: 'exception',
      filter: { kind: 'and', operands: [flag('last'), { kind: 'string', keyword: 'message', compare: { op: '=', value: 'denied' } }] },
    });
    expect(tree('rootcause.error.service { index > 5 }')).toEqual({
      kind: 'rootcause',
      category: 'error',
      level: 'service',
      filter: { kind: 'number', keyword: 'index', op: '>', value: 5 },
    });
    expect(tree('RootCause.Fault.Entity')).toEqual({ kind: 'rootcause', category: 'fault', level: 'entity' });
  });
});

describe('parseFilter: positions', () => {
  it('gives every node its offsets, line and column', () => {
    const a = ast('ok AND\n  fault');
    expect(a).toMatchObject({ kind: 'and', span: { start: 0, end: 14, line: 1, column: 1 } });
    if (a.kind !== 'and') throw new Error('and expected');
    expect(a.operands[1]).toEqual({ kind: 'flag', keyword: 'fault', value: true, span: { start: 9, end: 14, line: 2, column: 3 } });
  });

  it('places targets and braces', () => {
    const s = ast('service("a") { fault }');
    if (s.kind !== 'service') throw new Error('service expected');
    expect(s.span).toEqual({ start: 0, end: 22, line: 1, column: 1 });
    expect(s.target?.span).toEqual({ start: 8, end: 11, line: 1, column: 9 });
    expect(s.filter?.span).toEqual({ start: 15, end: 20, line: 1, column: 16 });
  });
});

describe('parseFilter: bad expressions', () => {
  it('names the position and the expected token', () => {
    expect(fail('responsetime foo')).toEqual({
      position: 13,
      line: 1,
      column: 14,
      expected: ['a comparison operator'],
      message: 'at 1:14: expected a comparison operator, found "foo"',
    });
  });

  it('lists every way an expression could go on', () => {
    expect(fail('ok AND')).toEqual({
      position: 6,
      line: 1,
      column: 7,
      expected: TERM_START,
      message: 'at 1:7: expected "!", "(", a keyword or NOT, found end of expression',
    });
    expect(fail(')')).toMatchObject({ position: 0, expected: [...TERM_START, 'end of expression'] });
    expect(fail('ok OR OR fault')).toMatchObject({ position: 6, expected: TERM_START, message: 'at 1:7: expected "!", "(", a keyword or NOT, found "OR"' });
    expect(fail('(ok')).toMatchObject({ position: 3, expected: ['"!"', '"("', '")"', '= or !=', 'a keyword', 'AND', 'NOT', 'OR'] });
    expect(fail('http.url > "x"')).toMatchObject({
      position: 9,
      expected: ['"!"', '"("', 'a keyword', 'a string operator', 'AND', 'NOT', 'OR', 'end of expression'],
    });
  });

  it('reports the value a comparison needs', () => {
    expect(fail('ok = maybe')).toMatchObject({ position: 5, expected: ['true or false'], message: 'at 1:6: expected true or false, found "maybe"' });
    expect(fail('responsetime > "5"')).toMatchObject({ position: 15, expected: ['a number'], message: 'at 1:16: expected a number, found "5"' });
    expect(fail('http.url CONTAINS 5')).toMatchObject({ position: 18, expected: ['a string'] });
    expect(fail('http.status = 5s')).toMatchObject({ position: 14, expected: ['a number'], message: 'at 1:15: expected a number, found "5s"' });
    expect(fail('user = alice')).toMatchObject({ position: 7, expected: ['a string'] });
  });

  it('reports unknown keywords where they start', () => {
    expect(fail('okay')).toMatchObject({ position: 0, message: 'at 1:1: expected "!", "(", a keyword, NOT or end of expression, found "okay"' });
    expect(fail('ok AND foo.bar = 1')).toMatchObject({ position: 7, expected: TERM_START });
    expect(fail('rootcause.fault.servic')).toMatchObject({ position: 16, expected: ['"entity"', '"exception"', '"service"'] });
  });

  it('counts lines and columns across newlines', () => {
    expect(fail('ok AND\n  fault >')).toMatchObject({ position: 15, line: 2, column: 9 });
  });

  it('reports malformed service(), edge() and id()', () => {
    expect(fail('service(foo)')).toMatchObject({ position: 8, expected: ['")"', 'a string', 'id(…)'], message: 'at 1:9: expected ")", a string or id(…), found "foo"' });
    expect(fail('service(id())')).toMatchObject({ position: 11, expected: ['"account.id"', '"name"', '"type"'] });
    expect(fail('edge("a")')).toMatchObject({ position: 8, expected: ['","'], message: 'at 1:9: expected ",", found ")"' });
    expect(fail('service("a") { fault')).toMatchObject({ position: 20, expected: ['"!"', '"("', '"}"', '= or !=', 'a keyword', 'AND', 'NOT', 'OR'] });
    expect(fail('service("a") { }')).toMatchObject({ position: 15, expected: TERM_START });
    expect(fail('service(id(name: "a", name: "b"))')).toMatchObject({ position: 22, expected: [], message: 'at 1:23: id() names name twice' });
  });

  it('reports broken strings', () => {
    expect(fail('user = "abc')).toMatchObject({ position: 7, expected: [], message: 'at 1:8: unterminated string: expected a closing "' });
    expect(fail('user = "a\\qb"')).toMatchObject({ position: 10, message: 'at 1:11: invalid escape \\q in a string' });
  });

  it('refuses keywords where X-Ray gives them no meaning', () => {
    const top = fail('coverage > 0.5');
    expect(top).toMatchObject({ position: 0, line: 1, column: 1 });
    expect(top.message).toMatch(/^at 1:1: "coverage" cannot be used at the top level: expected ok, error, .* or rootcause\.\*$/);
    expect(fail('name = "x"').expected).toContain('annotation.KEY');
    expect(fail('service() { annotation.x }')).toMatchObject({ position: 12, column: 13 });
    expect(fail('service() { annotation.x }').message).toMatch(/^at 1:13: "annotation\.x" cannot be used inside service\(\) \{ \}/);
    expect(fail('edge("a", "b") { service("c") }').position).toBe(17);
    expect(fail('service() { rootcause.fault.service }').position).toBe(12);
    expect(fail('rootcause.fault.service { coverage > 1 }')).toMatchObject({
      position: 26,
      expected: ['first', 'last', 'index', 'inferred', 'name', 'type', 'account.id'],
    });
    expect(fail('rootcause.fault.entity { coverage > 0.5 }').position).toBe(25);
    expect(fail('rootcause.responsetime.exception')).toMatchObject({ position: 0, expected: [] });
    expect(fail('rootcause.fault.exception { type = "x" }').position).toBe(28);
    // the places where these keywords do mean something
    expect(parseFilter('rootcause.responsetime.entity { coverage > 0.5 }').ok).toBe(true);
    expect(parseFilter('service("a") { root AND inferred }').ok).toBe(true);
  });

  it('turns into the API error X-Ray answers', () => {
    const e = invalidFilterError(fail('responsetime foo'));
    expect(e.code).toBe('InvalidRequestException');
    expect(e.retryable).toBe(false);
    expect(e.message).toBe('Invalid filter expression at 1:14: expected a comparison operator, found "foo"');
  });
});
