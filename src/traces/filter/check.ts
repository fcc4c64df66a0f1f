import type { Expr, FilterAst, RootCauseNode, Span } from './ast.js';

/**
 * Where each keyword may appear. The grammar accepts every keyword everywhere (so that its errors stay
 * about syntax); this pass then refuses what X-Ray's docs give no meaning to in that place: `coverage`
 * outside response-time root-cause entities, `name` outside root causes, annotations or nested
 * service()/edge() inside braces (the docs: annotations "can't be used in combination with service or
 * edge").
 */

interface Context {
  // how a message names the place
  where: string;
  keywords: ReadonlySet<string>;
  // annotation.KEY, service(), edge() and rootcause.*
  complex: boolean;
}

const TRACE: Context = {
  where: 'at the top level',
  keywords: new Set([
    'ok', 'error', 'throttle', 'fault', 'partial', 'inferred',
    'responsetime', 'duration', 'http.status',
    'http.url', 'http.method', 'http.useragent', 'http.clientip', 'user', 'availabilityzone', 'instance.id', 'resource.arn',
  ]),
  complex: true,
};

const NODE_KEYWORDS = [
  'ok', 'error', 'throttle', 'fault', 'partial', 'inferred', 'root',
  'responsetime', 'duration', 'http.status',
  'http.url', 'http.method', 'http.useragent', 'http.clientip', 'user', 'availabilityzone', 'instance.id', 'resource.arn',
];

const ROOT_CAUSE_KEYWORDS: Record<RootCauseNode['level'], string[]> = {
  service: ['first', 'last', 'index', 'inferred', 'name', 'type', 'account.id'],
  entity: ['first', 'last', 'index', 'remote', 'name'],
  exception: ['first', 'last', 'index', 'name', 'message'],
};

function rootCauseContext(n: RootCauseNode): Context {
  const keywords = [...ROOT_CAUSE_KEYWORDS[n.level]];
  if (n.category === 'responsetime' && n.level === 'entity') keywords.push('coverage');
  return { where: `inside rootcause.${n.category}.${n.level} { }`, keywords: new Set(keywords), complex: false };
}

export interface Misplaced {
  span: Span;
  expected: string[];
  message: string;
}

/** The first keyword used where it has no meaning, or undefined when every one is in its place. */
export function checkContexts(ast: FilterAst): Misplaced | undefined {
  return ast.kind === 'all' ? undefined : visit(ast, TRACE);
}

function visit(e: Expr, ctx: Context): Misplaced | undefined {
  switch (e.kind) {
    case 'and':
    case 'or':
      for (const o of e.operands) {
        const m = visit(o, ctx);
        if (m) return m;
      }
      return undefined;
    case 'not':
      return visit(e.operand, ctx);
    case 'flag':
    case 'number':
    case 'string':
      return ctx.keywords.has(e.keyword) ? undefined : misplaced(e.span, e.keyword, ctx);
    case 'annotation':
      return ctx.complex ? undefined : misplaced(e.span, `annotation.${e.key}`, ctx);
    case 'service':
    case 'edge':
      if (!ctx.complex) return misplaced(e.span, `${e.kind}()`, ctx);
      return e.filter && visit(e.filter, { where: `inside ${e.kind}() { }`, keywords: new Set(NODE_KEYWORDS), complex: false });
    case 'rootcause':
      if (!ctx.complex) return misplaced(e.span, `rootcause.${e.category}.${e.level}`, ctx);
      return e.filter && visit(e.filter, rootCauseContext(e));
  }
}

function misplaced(span: Span, found: string, ctx: Context): Misplaced {
  const expected = [...ctx.keywords];
  if (ctx.complex) expected.push('annotation.KEY', 'service()', 'edge()', 'rootcause.*');
  const list = `${expected.slice(0, -1).join(', ')} or ${expected[expected.length - 1]}`;
  return { span, expected, message: `"${found}" cannot be used ${ctx.where}: expected ${list}` };
}
