/**
 * The syntax tree of an X-Ray filter expression (reference §7). The grammar (grammar.peggy) builds it,
 * check.ts validates where each keyword may appear and evaluate.ts runs it on a trace; it is
 * also what a SQL compiler would translate. Keywords are stored lower case; string operators upper case.
 */

/** Where a node came from: 0-based offsets into the expression, and the 1-based line/column of `start`. */
export interface Span {
  start: number;
  end: number;
  line: number;
  column: number;
}

/** Keywords that are true or false, by themselves or compared with `= true` / `!= false`. */
export const FLAG_KEYWORDS = ['ok', 'error', 'throttle', 'fault', 'partial', 'inferred', 'root', 'first', 'last', 'remote'] as const;
/** Keywords compared with numbers (seconds for times). */
export const NUMBER_KEYWORDS = ['responsetime', 'duration', 'http.status', 'index', 'coverage'] as const;
/** Keywords compared with strings; bare, they test that the field is set. */
export const STRING_KEYWORDS = [
  'http.url',
  'http.method',
  'http.useragent',
  'http.clientip',
  'user',
  'name',
  'type',
  'account.id',
  'message',
  'availabilityzone',
  'instance.id',
  'resource.arn',
] as const;

export type FlagKeyword = (typeof FLAG_KEYWORDS)[number];
export type NumberKeyword = (typeof NUMBER_KEYWORDS)[number];
export type StringKeyword = (typeof STRING_KEYWORDS)[number];

export type NumberOp = '=' | '!=' | '<' | '<=' | '>' | '>=';
export type StringOp = '=' | '!=' | 'CONTAINS' | 'BEGINSWITH' | 'ENDSWITH';

/** The expression `""` (or only blanks): every trace matches. */
export interface AllNode {
  kind: 'all';
  span: Span;
}

export interface AndNode {
  kind: 'and';
  operands: Expr[];
  span: Span;
}

export interface OrNode {
  kind: 'or';
  operands: Expr[];
  span: Span;
}

/** `!x` or `NOT x`. */
export interface NotNode {
  kind: 'not';
  operand: Expr;
  span: Span;
}

/** `fault`, `ok = false`, `partial != true`: the keyword must have `value`. */
export interface FlagNode {
  kind: 'flag';
  keyword: FlagKeyword;
  value: boolean;
  span: Span;
}

export interface NumberNode {
  kind: 'number';
  keyword: NumberKeyword;
  op: NumberOp;
  value: number;
  span: Span;
}

/** `http.url CONTAINS "/api"`; without `compare` (`http.url`), the field is set. */
export interface StringNode {
  kind: 'string';
  keyword: StringKeyword;
  compare?: { op: StringOp; value: string };
  span: Span;
}

/**
 * `annotation.KEY`, bare (set, and not `false`) or compared. The grammar pairs operators with value
 * types: order operators with numbers, CONTAINS/BEGINSWITH/ENDSWITH with strings, `=`/`!=` with any.
 */
export interface AnnotationNode {
  kind: 'annotation';
  key: string;
  compare?: { op: NumberOp | StringOp; value: string | number | boolean };
  span: Span;
}

/** A service-graph node: `"name"` or `id(name: …, type: …, account.id: …)` (at least one of them). */
export type NodeTarget =
  | { kind: 'name'; name: string; span: Span }
  | { kind: 'id'; name?: string; type?: string; accountId?: string; span: Span };

/** `service(target) { filter }`; no target = any node, no filter = the node is in the trace. */
export interface ServiceNode {
  kind: 'service';
  target?: NodeTarget;
  filter?: Expr;
  span: Span;
}

/** `edge(source, destination) { filter }`: a call from one node to the other. */
export interface EdgeNode {
  kind: 'edge';
  source: NodeTarget;
  destination: NodeTarget;
  filter?: Expr;
  span: Span;
}

export type RootCauseCategory = 'fault' | 'error' | 'responsetime';
export type RootCauseLevel = 'service' | 'entity' | 'exception';

/** `rootcause.fault.service { filter }`: some element of a root-cause path matches `filter`. */
export interface RootCauseNode {
  kind: 'rootcause';
  category: RootCauseCategory;
  level: RootCauseLevel;
  filter?: Expr;
  span: Span;
}

export type Expr =
  | AndNode
  | OrNode
  | NotNode
  | FlagNode
  | NumberNode
  | StringNode
  | AnnotationNode
  | ServiceNode
  | EdgeNode
  | RootCauseNode;

/** What parseFilter returns on success. */
export type FilterAst = AllNode | Expr;
