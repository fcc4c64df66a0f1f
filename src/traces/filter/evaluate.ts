import type { AnnotationNode, EdgeNode, Expr, FilterAst, NodeTarget, NumberOp, RootCauseNode, ServiceNode, StringOp } from './ast.js';
import { asObject, type Entity } from './entity.js';
import { rootCausesOf, type RootCause } from './root-causes.js';
import {
  entityScope,
  rootCauseEntityScope,
  rootCauseExceptionScope,
  rootCauseServiceScope,
  traceScope,
  type Scope,
} from './scopes.js';
import { buildTraceModel, type GraphNode, type TraceModel } from './trace-model.js';

/** One trace as stored: its segment documents and independent subsegments, as JSON objects. */
export interface TraceDocuments {
  documents: object[];
}

/**
 * Whether a trace matches a parsed filter expression, with X-Ray's semantics (reference §7.2):
 * trace-level keywords read the root segment, service()/edge() braces one segment or call at a time,
 * annotations any entity of the trace. A comparison with a value that is absent, or of another type
 * than the annotation's, does not match (so `!` of it does).
 */
export function matches(ast: FilterAst, trace: TraceDocuments): boolean {
  if (ast.kind === 'all') return true;
  const t = new TraceContext(buildTraceModel(trace.documents));
  return evaluate(ast, traceScope(t.model), t);
}

type AnnotationValue = string | number | boolean;

// root causes and the annotation index cost a walk of the trace: only when an expression asks
class TraceContext {
  private annotationIndex: Map<string, AnnotationValue[]> | undefined;
  private readonly rootCauses = new Map<RootCauseNode['category'], RootCause[]>();

  constructor(readonly model: TraceModel) {}

  annotations(key: string): AnnotationValue[] {
    if (!this.annotationIndex) this.annotationIndex = indexAnnotations(this.model.entities);
    return this.annotationIndex.get(key) ?? [];
  }

  causes(category: RootCauseNode['category']): RootCause[] {
    let list = this.rootCauses.get(category);
    if (!list) {
      list = rootCausesOf(this.model, category);
      this.rootCauses.set(category, list);
    }
    return list;
  }
}

function evaluate(e: Expr, scope: Scope, t: TraceContext): boolean {
  switch (e.kind) {
    case 'and':
      return e.operands.every((o) => evaluate(o, scope, t));
    case 'or':
      return e.operands.some((o) => evaluate(o, scope, t));
    case 'not':
      return !evaluate(e.operand, scope, t);
    case 'flag':
      return scope.flag(e.keyword) === e.value;
    case 'number': {
      const v = scope.number(e.keyword);
      return v !== undefined && compareNumbers(v, e.op, e.value);
    }
    case 'string': {
      const values = scope.strings(e.keyword);
      const c = e.compare;
      return c ? values.some((v) => compareStrings(v, c.op, c.value)) : values.length > 0;
    }
    case 'annotation':
      return annotationMatches(e, t.annotations(e.key));
    case 'service':
      return serviceMatches(e, t);
    case 'edge':
      return edgeMatches(e, t);
    case 'rootcause':
      return rootCauseMatches(e, t);
  }
}

function compareNumbers(a: number, op: NumberOp, b: number): boolean {
  switch (op) {
    case '=':
      return a === b;
    case '!=':
      return a !== b;
    case '<':
      return a < b;
    case '<=':
      return a <= b;
    case '>':
      return a > b;
    case '>=':
      return a >= b;
  }
}

function compareStrings(a: string, op: StringOp, b: string): boolean {
  switch (op) {
    case '=':
      return a === b;
    case '!=':
      return a !== b;
    case 'CONTAINS':
      return a.includes(b);
    case 'BEGINSWITH':
      return a.startsWith(b);
    case 'ENDSWITH':
      return a.endsWith(b);
  }
}

// Bare, the key must be set and not `false`: the docs say a boolean complex keyword "evaluates to the
// boolean value". Types must agree: an annotation is stored as a string, a number or a boolean, and
// `annotation.age = "30"` asks for the string.
function annotationMatches(e: AnnotationNode, values: AnnotationValue[]): boolean {
  const c = e.compare;
  if (!c) return values.some((v) => v !== false);
  return values.some((v) => {
    if (typeof v !== typeof c.value) return false;
    if (typeof v === 'string') return compareStrings(v, c.op as StringOp, c.value as string);
    if (typeof v === 'number') return compareNumbers(v, c.op as NumberOp, c.value as number);
    return c.op === '=' ? v === c.value : c.op === '!=' ? v !== c.value : false;
  });
}

function indexAnnotations(entities: Entity[]): Map<string, AnnotationValue[]> {
  const index = new Map<string, AnnotationValue[]>();
  for (const e of entities) {
    const a = asObject(e.doc.annotations);
    if (!a) continue;
    for (const [k, v] of Object.entries(a)) {
      if (typeof v !== 'string' && typeof v !== 'boolean' && !(typeof v === 'number' && Number.isFinite(v))) continue;
      const list = index.get(k);
      if (list) list.push(v);
      else index.set(k, [v]);
    }
  }
  return index;
}

function targets(node: GraphNode, target: NodeTarget | undefined): boolean {
  if (!target) return true;
  if (target.kind === 'name') return node.name === target.name;
  return (
    (target.name === undefined || node.name === target.name) &&
    (target.type === undefined || node.type === target.type) &&
    (target.accountId === undefined || node.accountId === target.accountId)
  );
}

function serviceMatches(e: ServiceNode, t: TraceContext): boolean {
  return t.model.nodes.some((n) => {
    if (!targets(n, e.target)) return false;
    const filter = e.filter;
    return !filter || n.entities.some((x) => evaluate(filter, entityScope(x, n, t.model), t));
  });
}

function edgeMatches(e: EdgeNode, t: TraceContext): boolean {
  return t.model.calls.some((c) => {
    if (!targets(c.from, e.source) || !targets(c.to, e.destination)) return false;
    return !e.filter || evaluate(e.filter, entityScope(c.entity, c.to, t.model), t);
  });
}

function rootCauseMatches(e: RootCauseNode, t: TraceContext): boolean {
  return t.causes(e.category).some((cause) => {
    const scopes = elementScopes(cause, e.level);
    const filter = e.filter;
    return filter ? scopes.some((s) => evaluate(filter, s, t)) : scopes.length > 0;
  });
}

function elementScopes(cause: RootCause, level: RootCauseNode['level']): Scope[] {
  if (level === 'service') return cause.services.map((s, i, all) => rootCauseServiceScope(s, i, all.length));
  const entities = cause.services.flatMap((s) => s.entityPath);
  if (level === 'entity') return entities.map((x, i, all) => rootCauseEntityScope(x, i, all.length));
  const exceptions = entities.flatMap((x) => x.exceptions);
  return exceptions.map((x, i, all) => rootCauseExceptionScope(x, i, all.length));
}
