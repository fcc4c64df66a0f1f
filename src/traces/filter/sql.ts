import type { PendingQuery, Row, Sql } from 'postgres';
import type { AnnotationNode, Expr, FilterAst, FlagNode, NodeTarget, NumberNode, NumberOp, StringNode, StringOp } from './ast.js';

/** A parameterised SQL condition on `traces t`: literals travel as bind parameters, never in the text. */
export type SqlCondition = PendingQuery<Row[]>;

/**
 * A filter expression as conditions on the trace summary row (alias `t`). `where` is necessary: every
 * trace `matches()` accepts satisfies it. `sure` is sufficient: a row satisfying it matches for certain.
 * Where they coincide for the whole expression, `exact` is true and `matches()` need not run; else only
 * the rows with `where` and not `sure` need their documents checked.
 */
export interface CompiledFilter {
  where: SqlCondition;
  sure: SqlCondition;
  exact: boolean;
}

/** What compileFilter needs from the store: the client (to build fragments) and the schema of `documents`. */
export interface SqlTarget {
  sql: Sql;
  schema: string;
}

// A node's bounds. NOT swaps them (not-sure is necessary for the negation, not-possible sufficient),
// which is why a superset alone would not do: NOT of a superset is a subset.
interface Bounds {
  may: SqlCondition;
  must: SqlCondition;
  exact: boolean;
}

/**
 * Compiles a parsed filter (reference §7.2 semantics, as evaluate.ts runs them) to SQL on `traces t`.
 * Exact: user, annotation.KEY. Decided in SQL wherever the summary has a root segment (and, for the
 * times, no unfinished document): ok/error/fault/throttle, http.*, responsetime, duration (assuming
 * nested subsegments lie within their document's span). service("name") is sure when a segment has the
 * name. Only bounded (the caller runs `matches()`): partial, inferred, service()/edge() with braces or
 * id(), inferred nodes, rootcause.*.
 */
export function compileFilter(ast: FilterAst, target: SqlTarget): CompiledFilter {
  const { sql } = target;
  if (ast.kind === 'all') return { where: sql`true`, sure: sql`true`, exact: true };
  const b = new Compiler(target).expr(ast);
  return { where: b.may, sure: b.must, exact: b.exact };
}

class Compiler {
  private readonly sql: Sql;
  private readonly documents: SqlCondition;

  constructor(target: SqlTarget) {
    this.sql = target.sql;
    if (!/^[a-z_][a-z0-9_]{0,47}$/.test(target.schema)) throw new Error(`bad schema name: ${target.schema}`);
    this.documents = this.sql.unsafe(`"${target.schema}"."documents"`);
  }

  expr(e: Expr): Bounds {
    const sql = this.sql;
    switch (e.kind) {
      case 'and':
      case 'or': {
        const parts = e.operands.map((o) => this.expr(o));
        const join = (xs: SqlCondition[]) => xs.reduce((acc, x) => (e.kind === 'and' ? sql`${acc} and ${x}` : sql`${acc} or ${x}`));
        return {
          may: sql`(${join(parts.map((p) => p.may))})`,
          must: sql`(${join(parts.map((p) => p.must))})`,
          exact: parts.every((p) => p.exact),
        };
      }
      case 'not': {
        const p = this.expr(e.operand);
        return { may: sql`(not ${p.must})`, must: sql`(not ${p.may})`, exact: p.exact };
      }
      case 'flag':
        return this.flag(e);
      case 'number':
        return this.number(e);
      case 'string':
        return this.string(e);
      case 'annotation': {
        const c = this.sql`coalesce((${annotation(sql, e)}), false)`;
        // A containment test ANDed in front lets the planner use the traces_annotations GIN index
        // (jsonb_path_ops) instead of reading every summary in the range; it is implied by the test itself.
        const indexed = annotationContainment(sql, e);
        const cond = indexed ? sql`(${indexed} and ${c})` : c;
        return { may: cond, must: cond, exact: true };
      }
      case 'service': {
        const named = this.node(e.target);
        // bare service("name") is exact when a segment names it; an inferred node can only be confirmed
        if (!e.filter && e.target?.kind === 'name') return { may: named.may, must: named.must, exact: false };
        return this.bounded(named.may);
      }
      case 'edge':
        return this.bounded(sql`(${this.node(e.source).may} and ${this.node(e.destination).may})`);
      case 'rootcause':
        return this.bounded(sql`true`);
    }
  }

  private exact(cond: SqlCondition): Bounds {
    const c = this.sql`coalesce((${cond}), false)`;
    return { may: c, must: c, exact: true };
  }

  private bounded(may: SqlCondition): Bounds {
    return { may, must: this.sql`false`, exact: false };
  }

  // Exact when `known` holds (the summary row describes what matches() reads); unknown otherwise.
  private knownWhen(known: SqlCondition, cond: SqlCondition): Bounds {
    const sql = this.sql;
    const c = sql`coalesce((${cond}), false)`;
    return { may: sql`(not (${known}) or ${c})`, must: sql`((${known}) and ${c})`, exact: false };
  }

  private flag(e: FlagNode): Bounds {
    const sql = this.sql;
    const want = e.value ? sql`` : sql`not`;
    if (e.keyword === 'ok' || e.keyword === 'error' || e.keyword === 'fault' || e.keyword === 'throttle') {
      // the summary's root is a segment without parent_id; matches() may still elect one whose caller is missing
      return this.knownWhen(sql`t.root_id is not null`, sql`${want} coalesce(${this.rootOutcome(e.keyword)}, false)`);
    }
    if (e.keyword === 'partial') {
      // an unfinished document makes the trace partial; an unfinished nested subsegment only the documents show
      const unfinished = sql`exists (select 1 from ${this.documents} d
        where d.trace_time = t.trace_time and d.trace_id = t.trace_id and (d.in_progress or d.end_time is null))`;
      return e.value ? { may: sql`true`, must: unfinished, exact: false } : { may: sql`(not ${unfinished})`, must: sql`false`, exact: false };
    }
    // inferred reads the call graph
    return this.bounded(sql`true`);
  }

  private number(e: NumberNode): Bounds {
    const sql = this.sql;
    const cmp = (col: SqlCondition) => compareNumber(sql, col, e.op, e.value);
    // Rounded to the microsecond as entity.ts does; a partial trace may hide an unfinished root or nested entity.
    const rounded = (col: SqlCondition) => sql`floor(greatest(0::float8, ${col}) * 1000000::float8 + 0.5::float8) / 1000000::float8`;
    const complete = sql`t.root_id is not null and not t.is_partial`;
    switch (e.keyword) {
      case 'http.status':
        return this.knownWhen(sql`t.root_id is not null`, cmp(sql`t.http_status`));
      case 'responsetime':
        return this.knownWhen(complete, cmp(rounded(sql`t.response_time`)));
      case 'duration':
        return this.knownWhen(complete, cmp(rounded(sql`t.duration`)));
      default:
        return this.bounded(sql`true`);
    }
  }

  private string(e: StringNode): Bounds {
    const sql = this.sql;
    const col = ROOT_COLUMNS[e.keyword];
    if (col) {
      const c: SqlCondition = sql`${sql.unsafe(`t.${col}`)}`;
      const cond = e.compare ? compareString(sql, c, e.compare.op, e.compare.value) : sql`${c} is not null`;
      return this.knownWhen(sql`t.root_id is not null`, cond);
    }
    if (e.keyword === 'user') {
      if (!e.compare) return this.exact(sql`jsonb_array_length(t.users) > 0`);
      const cond = compareString(sql, sql`u->>'user'`, e.compare.op, e.compare.value);
      return this.exact(sql`exists (select 1 from jsonb_array_elements(t.users) u where ${cond})`);
    }
    return this.bounded(sql`true`);
  }

  // Sure: a segment has the name. Possible: also a call inside some document names it (an inferred node).
  private node(target: NodeTarget | undefined): { may: SqlCondition; must: SqlCondition } {
    const sql = this.sql;
    const name = target?.name;
    if (name === undefined) return { may: sql`true`, must: sql`false` };
    const segment = sql`(${name}::text = any(t.service_names))`;
    // `offset 0` keeps this a per-row probe of the trace's own documents (by primary key), asked only
    // when no segment has the name. Without it PostgreSQL may hash the subquery instead: parse every
    // document of the whole partition as jsonb once per statement (seconds, and growing all day).
    const call = sql`exists (select 1 from ${this.documents} d
      where d.trace_time = t.trace_time and d.trace_id = t.trace_id
        and jsonb_path_exists(d.doc::jsonb, '$.**.name ? (@ == $n)', jsonb_build_object('n', ${name}::text)) offset 0)`;
    return { may: sql`(${segment} or ${call})`, must: segment };
  }

  /**
   * The root segment's outcome (entity.ts outcomeOf). The document row folds the status into its flags,
   * so when the status alone could have set a flag the row cannot tell and the root document is read.
   */
  private rootOutcome(k: 'ok' | 'error' | 'fault' | 'throttle'): SqlCondition {
    const sql = this.sql;
    const j = (f: string) => sql.unsafe(`((r.doc::jsonb)->'${f}' = 'true'::jsonb)`);
    const pick = {
      fault: [sql`r.fault`, sql`true`, sql`false`, sql`r.http_status >= 500`, j('fault')],
      error: [sql`(r.error or r.throttle)`, sql`false`, sql`true`, sql`r.http_status < 500`, sql`(${j('error')} or ${j('throttle')})`],
      throttle: [sql`r.throttle`, sql`false`, sql`false`, sql`r.http_status = 429`, j('throttle')],
    } as const;
    const one = (f: 'fault' | 'error' | 'throttle') => {
      const [row, if5xx, if4xx, byStatus, flagged] = pick[f];
      return sql`case
        when r.http_status is null or r.http_status not between 400 and 599 then ${row}
        when r.http_status >= 500 and not r.error and not r.throttle then ${if5xx}
        when r.http_status < 500 and r.http_status <> 429 and not r.fault and not r.throttle then ${if4xx}
        when ${j('fault')} or ${j('error')} or ${j('throttle')} then ${flagged}
        else ${byStatus} end`;
    };
    const value = k === 'ok' ? sql`not (${one('fault')}) and not (${one('error')}) and not (${one('throttle')})` : one(k);
    return sql`(select ${value} from ${this.documents} r
      where r.trace_time = t.trace_time and r.trace_id = t.trace_id and r.id = t.root_id)`;
  }
}

const ROOT_COLUMNS: Partial<Record<StringNode['keyword'], string>> = {
  'http.url': 'http_url',
  'http.method': 'http_method',
  'http.useragent': 'user_agent',
  'http.clientip': 'client_ip',
};

const NUMBER_OPS: Record<NumberOp, string> = { '=': '=', '!=': '<>', '<': '<', '<=': '<=', '>': '>', '>=': '>=' };

function compareNumber(sql: Sql, col: SqlCondition, op: NumberOp, value: number): SqlCondition {
  return sql`(${col})::float8 ${sql.unsafe(NUMBER_OPS[op])} ${value}::float8`;
}

function compareString(sql: Sql, col: SqlCondition, op: StringOp, value: string): SqlCondition {
  switch (op) {
    case '=':
      return sql`${col} = ${value}::text`;
    case '!=':
      return sql`${col} <> ${value}::text`;
    case 'CONTAINS':
      return sql`strpos(${col}, ${value}::text) > 0`;
    case 'BEGINSWITH':
      return sql`starts_with(${col}, ${value}::text)`;
    case 'ENDSWITH':
      return sql`right(${col}, length(${value}::text)) = ${value}::text`;
  }
}

/**
 * `annotation.KEY = "s"` (or = true/false) as `t.annotations @> {KEY: [{value: …}]}`: true exactly when
 * some value of KEY is that JSON string or boolean, which is what annotation() tests. Numbers are left
 * out: jsonb compares them as numeric, the filter as float8, and the two can disagree.
 */
function annotationContainment(sql: Sql, e: AnnotationNode): SqlCondition | undefined {
  const c = e.compare;
  if (!c || c.op !== '=') return undefined;
  if (typeof c.value === 'string') return sql`t.annotations @> jsonb_build_object(${e.key}::text, jsonb_build_array(jsonb_build_object('value', ${c.value}::text)))`;
  if (typeof c.value === 'boolean') return sql`t.annotations @> jsonb_build_object(${e.key}::text, jsonb_build_array(jsonb_build_object('value', ${c.value}::boolean)))`;
  return undefined;
}

// t.annotations is {key: [{value, services}]}; types must agree, as in evaluate.ts.
function annotation(sql: Sql, e: AnnotationNode): SqlCondition {
  const values = sql`jsonb_array_elements(coalesce(t.annotations -> ${e.key}::text, '[]'::jsonb)) a`;
  const c = e.compare;
  if (!c) return sql`exists (select 1 from ${values} where a->'value' <> 'false'::jsonb)`;
  const v = sql`(a->'value')`;
  let cond: SqlCondition;
  if (typeof c.value === 'string') {
    cond = sql`jsonb_typeof(${v}) = 'string' and ${compareString(sql, sql`(a->>'value')`, c.op as StringOp, c.value)}`;
  } else if (typeof c.value === 'number') {
    cond = sql`jsonb_typeof(${v}) = 'number' and ${compareNumber(sql, sql`(a->>'value')`, c.op as NumberOp, c.value)}`;
  } else if (c.op === '=' || c.op === '!=') {
    cond = sql`jsonb_typeof(${v}) = 'boolean' and (a->>'value')::boolean ${sql.unsafe(c.op === '=' ? '=' : '<>')} ${c.value}::boolean`;
  } else {
    cond = sql`false`;
  }
  return sql`exists (select 1 from ${values} where ${cond})`;
}
